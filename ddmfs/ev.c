/*
 * ev.c: the event thread.
 *
 * One thread waits on one epoll set for everything the drivers do: per
 * driver a socket (replies, HELLO, NOTIFY), a pidfd (the exit) and a
 * timerfd (backoff, HELLO and kill deadlines; drv.c), plus an eventfd
 * that other threads write to wake it.  It hands each readiness to
 * drv.c's supervision or, for a reply, to fwd.c, and answers the
 * requests failed meanwhile (dfs.failed) once it has dropped dfs.lock.
 *
 * The deadlines that are not timerfds (the heartbeat, the wait of queued
 * opens, the grace time after an interrupt, the end of a drv_log()
 * window) are checked by tick(), which also says when the next one is
 * due: epoll_wait() sleeps until then, or without a bound when nothing is
 * due.  A change that can bring a deadline nearer (a driver changing
 * state, a ping answered, an open queued, an interrupt sent) calls
 * ev_recheck(), so tick() runs again after the current batch.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ddmfs.h"

#define EV_BATCH   32 /* epoll events per wait */
#define RECV_BATCH 64 /* messages read per socket event, for fairness */

static pthread_t ev_thread;
static int ev_running;
static int ev_quit;               /* ev_stop() called (lock held) */
static atomic_int recheck;        /* run tick() after this batch */
static __thread int on_ev_thread; /* this is the event thread */
static struct evsrc ev_wake = { EV_WAKE, NULL };

/* Wakes the event thread (lock held), to answer dfs.failed, recheck the
 * deadlines or quit. */
static void
wake(void)
{
	uint64_t one = 1;

	if (write(dfs.wakefd, &one, sizeof(one)) < 0)
		logmsg("eventfd: %s", strerror(errno));
}

/* Clears the wake-up eventfd; returns ev_quit (lock held). */
static int
woken(void)
{
	uint64_t n;

	if (read(dfs.wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		logmsg("eventfd: %s", strerror(errno));
	return ev_quit;
}

/*
 * Makes the event thread check the deadlines after its current batch, and
 * answer dfs.failed.  From another thread (lock held) it also wakes the
 * event thread; on the event thread the lock need not be held.
 */
void
ev_recheck(void)
{
	atomic_store(&recheck, 1);
	if (!on_ev_thread && dfs.wakefd >= 0)
		wake();
}

/* One message from d's driver (lock held); -EPROTO breaks the driver. */
static int
message(struct drv *d, const struct ddm_msg *m, const void *payload, char *why,
        size_t whylen)
{
	int r;

	switch (m->op) {
	case DDM_HELLO:
		return drv_hello(d, m, why, whylen);
	case DDM_NOTIFY:
		for (struct handle *h = d->handles; h != NULL; h = h->next)
			if (h->fh == m->fh && h->gen == d->gen && h->ph != NULL)
				fuse_lowlevel_notify_poll(h->ph);
		return 0;
	case DDM_REPLY:
		pthread_mutex_unlock(&dfs.lock);
		r = fwd_reply(d, m, payload, why, whylen);
		pthread_mutex_lock(&dfs.lock);
		return r;
	default:
		snprintf(why, whylen, "unexpected %s message",
		         ddm_op_name(m->op));
		return -EPROTO;
	}
}

/* Reads what d's driver sent (lock held). */
static void
readable(struct drv *d)
{
	static char buf[DDM_MSG_MAX + 1];
	struct chan *ch = d->chan;
	char why[160];

	if (ch == NULL)
		return;
	ch->refs++;
	for (int i = 0; i < RECV_BATCH && d->chan == ch; i++) {
		struct ddm_msg m;
		const void *payload;
		ssize_t n = recv(ch->fd, buf, sizeof(buf),
		                 MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			drv_hangup(d);
			break;
		}
		if ((size_t)n > DDM_MSG_MAX ||
		    ddm_msg_unpack(buf, (size_t)n, &m, &payload) < 0) {
			drv_fault(d, "malformed message");
			break;
		}
		d->heard_ms = now_ms();
		if (message(d, &m, payload, why, sizeof(why)) < 0) {
			if (d->chan == ch)
				drv_fault(d, why);
			break;
		}
	}
	chan_put(ch);
}

/*
 * Checks every deadline that is not a timerfd (lock held) and returns the
 * time the next one is due, NO_DEADLINE if none is.
 */
static int64_t
tick(int64_t now)
{
	int64_t next = pend_expire(now);

	for (size_t i = 0; i < dfs.n_nodes; i++) {
		struct drv *d = dfs.nodes[i].drv;
		int64_t due;

		if (d == NULL)
			continue;
		due = drv_deadlines(d, now);
		if (due < next)
			next = due;
	}
	return next;
}

/* The epoll_wait() timeout in ms until due: -1 (no bound) for none. */
static int
timeout_to(int64_t due)
{
	int64_t left;

	if (due == NO_DEADLINE)
		return -1;
	left = due - now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * The event thread.  Requests failed during a batch (dfs.failed) are
 * answered after it, once dfs.lock is released, and before quitting.
 */
static void *
ev_loop(void *arg)
{
	struct epoll_event evs[EV_BATCH];
	int64_t due = 0; /* check the deadlines at once */
	struct pend *failed;
	int quit = 0;

	on_ev_thread = 1;
	while (!quit) {
		int n = epoll_wait(dfs.epfd, evs, EV_BATCH, timeout_to(due));

		if (n < 0 && errno != EINTR) {
			logmsg("epoll_wait: %s", strerror(errno));
			return NULL;
		}
		pthread_mutex_lock(&dfs.lock);
		for (int i = 0; i < n && !quit; i++) {
			struct evsrc *src = evs[i].data.ptr;

			switch (src->kind) {
			case EV_WAKE:
				quit = woken();
				break;
			case EV_SOCK:
				readable(src->drv);
				break;
			case EV_PID:
				drv_gone(src->drv);
				break;
			case EV_TIMER:
				drv_timer_fired(src->drv);
				break;
			}
		}
		if (!quit && (atomic_exchange(&recheck, 0) || now_ms() >= due))
			due = tick(now_ms());
		failed = dfs.failed;
		dfs.failed = NULL;
		pthread_mutex_unlock(&dfs.lock);
		pend_fail_list(failed);
	}
	return NULL;
}

int
ev_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ev_wake };

	dfs.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dfs.epfd < 0)
		return -errno;
	dfs.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dfs.wakefd < 0 ||
	    epoll_ctl(dfs.epfd, EPOLL_CTL_ADD, dfs.wakefd, &ev) < 0)
		return -errno;
	return 0;
}

int
ev_start(void)
{
	int r = pthread_create(&ev_thread, NULL, ev_loop, NULL);

	if (r != 0)
		return -r;
	ev_running = 1;
	return 0;
}

/* Stops the event thread; drivers must be stopped first. */
void
ev_stop(void)
{
	if (!ev_running)
		return;
	pthread_mutex_lock(&dfs.lock);
	ev_quit = 1;
	wake();
	pthread_mutex_unlock(&dfs.lock);
	pthread_join(ev_thread, NULL);
	ev_running = 0;
}
