/*
 * log.c: the daemon's shared state and its log, on stderr with a "ddmfs: "
 * prefix, one line per message.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "ddmfs.h"

struct ddmfs dfs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.epfd = -1,
	.wakefd = -1,
	.ctl_fd = -1,
};

static void
vlog(const char *fmt, va_list ap)
{
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
	vlog(fmt, ap);
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
	vlog(fmt, ap);
	va_end(ap);
}
