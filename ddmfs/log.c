/*
 * log.c: the daemon's log (log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static bool to_syslog;
static bool to_stderr = true;
static bool verbose;

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

void
logdbg(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_set_verbose(bool on)
{
	verbose = on;
}

void
log_open_syslog(void)
{
	openlog("ddmfs", LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

void
log_close_stderr(void)
{
	to_stderr = !to_syslog;
}

bool
log_uses_syslog(void)
{
	return to_syslog;
}
