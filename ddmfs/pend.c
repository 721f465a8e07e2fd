/*
 * pend.c: the pending-request table and the lifecycle of its requests.
 *
 * A worker thread records each request it forwards in the table (id ->
 * FUSE request) before sending it (fwd.c).  A request only becomes
 * answerable by others once its interrupt hook is set ("armed"), so no
 * request is answered twice: until then its worker owns it, and others
 * only mark it (failed, intr) for the worker to answer.
 *
 * FUSE is never answered with dfs.lock held, so workers queueing new
 * requests do not wait while a reply is written to /dev/fuse.  Whoever
 * answers an armed request first takes it out of the table under the lock:
 * from then on no other thread can reach it (on_interrupt() and a late
 * DDM_REPLY look it up by id and find nothing, and its worker only ever
 * looks it up by id once it is armed), so the taker answers it exactly
 * once and frees it, without the lock.  Requests failed while the lock is
 * held (pend_fail_drv()) wait on dfs.failed for the event thread.  Poll
 * notifications (drv.c, ev.c) are still sent under the lock: a pollhandle
 * stays on its handle for later notifications, and a worker may replace
 * or free it as soon as the lock is dropped.
 *
 * The event thread also ends requests on their deadlines: an open queued
 * while its driver comes up fails after DRV_OPEN_WAIT_MS (pend_queued()),
 * and an interrupted request its driver leaves unanswered for
 * DRV_INTERRUPT_GRACE_MS is answered EINTR by ddmfs (pend_expire()).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddmfs.h"

static struct pend **
bucket(uint64_t id)
{
	return &dfs.pend[id % PEND_BUCKETS];
}

/* A new pending request for d, in the table but not armed (lock held). */
struct pend *
pend_new(struct drv *d, fuse_req_t req, enum ddm_op op)
{
	struct pend *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->id = ++dfs.next_id;
	p->req = req;
	p->op = op;
	p->drv = d;
	p->next = *bucket(p->id);
	*bucket(p->id) = p;
	return p;
}

/* Request id if it is still in the table, else NULL (lock held). */
struct pend *
pend_find(uint64_t id)
{
	for (struct pend *p = *bucket(id); p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/*
 * Takes request id out of the table (lock held): for a reply from driver
 * d, only one d was sent (armed, not queued); with d NULL, any.
 */
struct pend *
pend_take(uint64_t id, const struct drv *d)
{
	for (struct pend **pp = bucket(id); *pp != NULL; pp = &(*pp)->next) {
		struct pend *p = *pp;

		if (p->id != id)
			continue;
		if (d != NULL && (p->drv != d || !p->armed || p->queued))
			return NULL;
		*pp = p->next;
		return p;
	}
	return NULL;
}

/* Answers p (already out of the table) with err (-errno) and frees it. */
void
pend_fail(struct pend *p, int err)
{
	fuse_reply_err(p->req, -err);
	if (p->op == DDM_OPEN)
		free(p->h);
	free(p);
}

/* Puts p, already out of the table, on dfs.failed to be answered err
 * (-errno) by the event thread (lock held). */
static void
fail_later(struct pend *p, int err)
{
	p->failed = err;
	p->next = dfs.failed;
	dfs.failed = p;
}

/*
 * Fails every request of d with err, -errno (lock held).  Requests not
 * armed yet are only marked; their worker answers them.  Armed ones go
 * from the table onto dfs.failed, for the event thread to answer once it
 * has dropped the lock (pend_fail_list()).  Queued opens are left alone:
 * they wait for the next instance (pend_queued()).
 */
void
pend_fail_drv(struct drv *d, int err)
{
	for (size_t b = 0; b < PEND_BUCKETS; b++) {
		struct pend **pp = &dfs.pend[b];

		while (*pp != NULL) {
			struct pend *p = *pp;

			if (p->drv != d || p->queued) {
				pp = &p->next;
			} else if (!p->armed) {
				p->failed = err;
				pp = &p->next;
			} else {
				*pp = p->next;
				fail_later(p, err);
			}
		}
	}
}

/* Answers with p->failed and frees each request of list, a chain taken
 * off dfs.failed under the lock (called without it). */
void
pend_fail_list(struct pend *list)
{
	while (list != NULL) {
		struct pend *p = list;

		list = p->next;
		pend_fail(p, p->failed);
	}
}

/*
 * The event thread's part of d's queued opens (lock held): forwards them
 * once d runs, and fails them with -ENXIO once d will not come back or
 * with -EIO once DRV_OPEN_WAIT_MS is over.  Never blocks.  Returns the
 * deadline of the first one still waiting, NO_DEADLINE if none is.
 */
int64_t
pend_queued(struct drv *d, int64_t now)
{
	int gone = d->state == DRV_STOPPED || d->state == DRV_FAILED ||
	           (d->state == DRV_STOPPING && !d->restart_now);
	int up = d->state == DRV_RUNNING && d->chan != NULL;
	int64_t next = NO_DEADLINE;

	for (size_t b = 0; b < PEND_BUCKETS; b++) {
		struct pend **pp = &dfs.pend[b];

		while (*pp != NULL) {
			struct pend *p = *pp;
			int err = 0;

			if (p->drv != d || !p->queued || !p->armed) {
				pp = &p->next;
				continue;
			}
			if (up) {
				p->queued = 0;
				err = fwd_open_now(d, p);
			} else if (gone) {
				err = -ENXIO;
			} else if (now >= p->deadline_ms) {
				err = -EIO;
			} else if (p->deadline_ms < next) {
				next = p->deadline_ms;
			}
			if (err == 0) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			fail_later(p, err);
		}
	}
	return next;
}

/*
 * Answers EINTR to each interrupted request whose driver let
 * DRV_INTERRUPT_GRACE_MS pass without answering it, and restarts that
 * driver: it does not honour interrupts (event thread, lock held).
 * Returns when the next grace time ends, NO_DEADLINE if none runs.
 */
int64_t
pend_expire(int64_t now)
{
	int64_t next;
	char why[96];
	int again;

	snprintf(why, sizeof(why),
	         "left an interrupted request unanswered for %d ms",
	         DRV_INTERRUPT_GRACE_MS);
	do {
		again = 0;
		next = NO_DEADLINE;
		for (size_t b = 0; b < PEND_BUCKETS && !again; b++) {
			for (struct pend **pp = &dfs.pend[b]; *pp != NULL;
			     pp = &(*pp)->next) {
				struct pend *p = *pp;
				int64_t end =
				        p->intr_ms + DRV_INTERRUPT_GRACE_MS;

				if (!p->armed || p->intr_ms == 0)
					continue;
				if (now < end) {
					if (end < next)
						next = end;
					continue;
				}
				*pp = p->next;
				fail_later(p, -EINTR);
				/* the fault changes the table: rescan */
				if (p->drv->chan != NULL)
					drv_fault(p->drv, why);
				again = 1;
				break;
			}
		}
	} while (again);
	return next;
}
