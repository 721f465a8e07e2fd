/*
 * log.h: the daemon's log, one line per message: on stderr with a
 * "ddmfs: " prefix, and once ddmfs daemonizes on syslog (ident "ddmfs",
 * LOG_DAEMON), then on syslog alone after stderr is gone.
 */
#ifndef DDMFS_LOG_H
#define DDMFS_LOG_H

#include <stdbool.h>

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs only with -d. */
void logdbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_verbose(bool on);
/* From now on lines go to syslog too, and drivers get --syslog. */
void log_open_syslog(void);
/* Stops writing to stderr (the daemon pointed it at /dev/null). */
void log_close_stderr(void);
bool log_uses_syslog(void);

#endif /* DDMFS_LOG_H */
