/*
 * log.c: the daemon's log (log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool to_syslog;  /* journald or syslog */
static bool to_journal; /* journald, with fields */
static bool to_stderr = true;
static bool verbose;

/* Sends one finished line to journald or syslog, and to stderr. */
static void
emit(int prio, const char *node, const char *driver, pid_t pid,
     const char *line)
{
	if (to_journal && node != NULL) {
		sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", prio,
		                "SYSLOG_IDENTIFIER=ddmfs", "NODE=%s", node,
		                "DRIVER=%s", driver, "PID=%d", (int)pid, NULL);
	} else if (to_journal) {
		sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", prio,
		                "SYSLOG_IDENTIFIER=ddmfs", NULL);
	} else if (to_syslog) {
		syslog(prio, "%s", line);
	}
	if (to_stderr && (prio != LOG_INFO || verbose))
		fprintf(stderr, "ddmfs: %s\n", line);
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	emit(prio, NULL, NULL, 0, line);
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
log_time(char *buf, size_t n, const struct timespec *t)
{
	struct tm tm;

	gmtime_r(&t->tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, t->tv_nsec / 1000000);
}

void
log_fields(struct log_ring *ring, int prio, const char *node,
           const char *driver, pid_t pid, const char *fmt, va_list ap)
{
	char line[1024], when[32];
	struct timespec t;

	vsnprintf(line, sizeof(line), fmt, ap);
	emit(prio, node, driver != NULL ? driver : "", pid, line);
	if (ring == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &t);
	log_time(when, sizeof(when), &t);
	if (snprintf(ring->line[ring->next], LOG_LINE_MAX, "%s %s", when,
	             line) >= LOG_LINE_MAX)
		strcpy(ring->line[ring->next] + LOG_LINE_MAX - 4, "...");
	ring->next = (ring->next + 1) % LOG_RING_LINES;
	if (ring->n < LOG_RING_LINES)
		ring->n++;
}

void
log_ring_each(const struct log_ring *ring,
              void (*fn)(const char *line, void *arg), void *arg)
{
	unsigned int first =
	        (ring->next + LOG_RING_LINES - ring->n) % LOG_RING_LINES;

	for (unsigned int i = 0; i < ring->n; i++)
		fn(ring->line[(first + i) % LOG_RING_LINES], arg);
}

void
log_set_verbose(bool on)
{
	verbose = on;
}

void
log_open_syslog(void)
{
	if (access(JOURNAL_SOCKET, W_OK) == 0)
		to_journal = true;
	else
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
