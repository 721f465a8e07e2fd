/*
 * records.h: what a ddmfs remembers of the drivers it started, so that
 * after a crash the next ddmfs can adopt them.
 *
 * <state_dir>/running (root's, 0600) holds the boot id and one line per
 * live driver process, "NODE PID STARTTIME", STARTTIME being field 22 of
 * /proc/PID/stat.  A pid alone could have been reused; with the start
 * time and the boot id it names one process.  The file is replaced
 * atomically, without fsync: a reboot voids it anyway.
 */
#ifndef DDMFS_RECORDS_H
#define DDMFS_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RECORDS_FILE "running"

struct record {
	char *node;
	pid_t pid;
	uint64_t start; /* /proc/PID/stat starttime */
};

/* Writes records[0..n) to dfd/running: 0 or -errno. */
int records_save(int dfd, const struct record *records, size_t n);
/*
 * Reads dfd/running.  A missing file, one from another boot, or lines
 * that do not parse give fewer (or no) records.  0 or -errno (ENOMEM).
 */
int records_load(int dfd, struct record **ret, size_t *ret_n);
void records_free(struct record *records, size_t n);
/* The start time of pid, from /proc: 0 or -errno (ESRCH: gone). */
int records_start_time(pid_t pid, uint64_t *ret);

#endif /* DDMFS_RECORDS_H */
