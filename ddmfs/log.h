/*
 * log.h: the daemon's log, one line per message.  Lines go to stderr
 * with a "ddmfs: " prefix; once ddmfs daemonizes they go to journald
 * when /run/systemd/journal/socket exists (with the structured fields
 * NODE=, DRIVER= and PID= for lines about a driver instance), else to
 * syslog (ident "ddmfs", LOG_DAEMON), and then there alone once stderr
 * is gone.
 *
 * Lines about a driver instance also go to that instance's ring of
 * recent lines (struct log_ring), which `ddmctl status` shows.
 */
#ifndef DDMFS_LOG_H
#define DDMFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define LOG_RING_LINES 10  /* recent lines kept per driver instance */
#define LOG_LINE_MAX   256 /* a kept line is cut at this length */

/* The last LOG_RING_LINES lines of one instance, each with its time
 * ("2026-12-06T20:10:00.123Z message"); the owner locks it. */
struct log_ring {
	char line[LOG_RING_LINES][LOG_LINE_MAX];
	unsigned int next; /* where the next line goes */
	unsigned int n;    /* lines kept */
};

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs only with -d. */
void logdbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs a line about a driver instance (node: its path, driver: its
 * binary's name, pid: 0 for none) and keeps it in ring (may be NULL).
 * prio LOG_INFO: routine news, on stderr only with -d. */
void log_fields(struct log_ring *ring, int prio, const char *node,
                const char *driver, pid_t pid, const char *fmt, va_list ap)
        __attribute__((format(printf, 6, 0)));
/* Calls fn on ring's lines, oldest first. */
void log_ring_each(const struct log_ring *ring,
                   void (*fn)(const char *line, void *arg), void *arg);
/* Writes t (CLOCK_REALTIME) as "2026-12-06T20:10:00.123Z" to buf. */
void log_time(char *buf, size_t n, const struct timespec *t);
void log_set_verbose(bool on);
/* From now on lines go to journald or syslog too, and drivers get
 * --syslog. */
void log_open_syslog(void);
/* Stops writing to stderr (the daemon pointed it at /dev/null). */
void log_close_stderr(void);
bool log_uses_syslog(void);

#endif /* DDMFS_LOG_H */
