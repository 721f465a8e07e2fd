/*
 * monitor.h: the event bus behind `ddmctl monitor`.
 *
 * Whoever changes something ddmctl shows (a node added or removed, a
 * driver started, exited, restarted or failed, a permission changed, an
 * upgrade) calls monitor_emit().  Each connected monitor has a bounded
 * queue of its own: emitting only appends to every queue under a short
 * lock and never blocks nor touches a socket; when a queue is full the
 * event is counted as lost for that monitor.  The monitor's own thread
 * (ctl.c) takes what queued and sends it, so a monitor that never reads
 * slows nobody but itself.
 *
 * An event travels as one text line of tab-separated fields:
 *     TIME EVENT NODE DETAIL [KEY=VALUE...]
 * TIME is ISO-8601 UTC with milliseconds, EVENT one of add, remove,
 * start, exit, restart, failed, perm, upgrade, lost; the KEY=VALUE
 * fields repeat the detail's numbers for JSON (pid=, status=, signal=,
 * count=, mode=, uid=, gid=).  No field holds a tab or a newline.
 */
#ifndef DDMFS_MONITOR_H
#define DDMFS_MONITOR_H

#include <stddef.h>

#define MON_QUEUE_MAX 256 /* events queued per monitor; more are lost */
#define MON_LINE_MAX  320 /* an event line is cut at this length */
#define MON_MAX       32  /* monitors at once */

struct monitor;

/* Queues an event for every monitor.  extra: "key=value" fields joined
 * by tabs, or NULL; the detail is printf-formatted.  Never blocks. */
void monitor_emit(const char *event, const char *node, const char *extra,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A new monitor: 0, -EBUSY (MON_MAX reached) or -ENOMEM. */
int monitor_open(struct monitor **ret);
/* Removes m from the bus and frees it; NULL is fine. */
void monitor_close(struct monitor *m);
/*
 * Waits up to ms for m's events and takes them all: *ret_text gets
 * their lines (malloc'd, NULL when none), ended by a "lost" line when
 * some were lost since the last take.  0, or -ESHUTDOWN once
 * monitor_shutdown() was called (*ret_text still holds what was left).
 */
int monitor_take(struct monitor *m, int ms, char **ret_text);
/* Wakes every monitor for good: their takes return -ESHUTDOWN. */
void monitor_shutdown(void);
/* Lets monitors connect again (after a failed upgrade). */
void monitor_resume(void);

#endif /* DDMFS_MONITOR_H */
