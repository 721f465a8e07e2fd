/*
 * log.c: the daemon's shared state and its log, one line per message: on
 * stderr with a "ddmfs: " prefix, and once ddmfs daemonizes on syslog
 * (ident "ddmfs", LOG_DAEMON) too, then on syslog alone after stderr is
 * gone.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "ddmfs.h"

struct ddmfs dfs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.epfd = -1,
	.wakefd = -1,
	.ctl_fd = -1,
};

static int to_syslog;
static int to_stderr = 1;

static void
vlog(int prio, const char *fmt, va_list ap)
{
	va_list copy;

	if (to_syslog) {
		va_copy(copy, ap);
		vsyslog(prio, fmt, copy);
		va_end(copy);
	}
	if (!to_stderr)
		return;
	flockfile(stderr);
	fputs("ddmfs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

/* Logs only with -d. */
void
logdbg(const char *fmt, ...)
{
	va_list ap;

	if (!dfs.verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* From now on lines go to syslog too, and drivers get --syslog. */
void
log_open_syslog(void)
{
	openlog("ddmfs", LOG_PID, LOG_DAEMON);
	to_syslog = 1;
}

/* Stops writing to stderr (the daemon pointed it at /dev/null). */
void
log_close_stderr(void)
{
	to_stderr = !to_syslog;
}

int
log_uses_syslog(void)
{
	return to_syslog;
}
