/*
 * atomic.h: replacing a small file atomically, as the permission store and
 * the CUSE number store save themselves.
 */
#ifndef DDMFS_ATOMIC_H
#define DDMFS_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Replaces file with the len bytes at buf, with permission bits mode: a
 * temp file next to it ("FILE.tmp.XXXXXX") is written, fsynced and renamed
 * over file, then the directory is fsynced.  Returns 0 or -errno; on
 * failure file is untouched and no temp file is left behind.
 */
int atomic_write(const char *file, const char *buf, size_t len, mode_t mode);
/*
 * The same for file (a name) in directory dfd, without the fsyncs when
 * durable is false: the file then survives a crash of ddmfs but not of
 * the machine, as for records that a reboot makes void anyway.
 */
int atomic_write_at(int dfd, const char *file, const char *buf, size_t len,
                    mode_t mode, bool durable);
/* Writes all len bytes at buf to fd, through short writes and EINTR:
 * 0 or -errno. */
int write_all(int fd, const char *buf, size_t len);

#endif /* DDMFS_ATOMIC_H */
