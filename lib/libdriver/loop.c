/*
 * loop.c: libdriver's event loop.  One thread waits in epoll on the
 * transport, the driver's watched fds (ddm_fd_watch()) and a signalfd for
 * SIGTERM and SIGINT; the wait's timeout comes from the nearest timer
 * (ddm_timer_add(), CLOCK_MONOTONIC, kept in a sorted list).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "driver_impl.h"

#define LOOP_EVENTS_MAX 16 /* epoll events taken per wait */

struct watch {
	int fd;
	ddm_fd_fn *fn;
	void *arg;
	bool dead; /* unwatched; freed once the current batch is done */
	struct watch *next;
};

struct timer {
	int id;
	uint64_t due_ns; /* CLOCK_MONOTONIC */
	uint64_t seq;    /* creation order: timers made while firing wait */
	ddm_timer_fn *fn;
	void *arg;
	struct timer *next;
};

static sigset_t saved_mask;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
ddm_now_us(void)
{
	return now_ns() / 1000;
}

static struct watch *
find_watch(struct ddm_dev *dev, int fd)
{
	struct watch *w;

	for (w = dev->watches; w != NULL; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int
ddm_fd_watch(struct ddm_dev *dev, int fd, unsigned int events, ddm_fd_fn *fn,
             void *arg)
{
	struct epoll_event ev = { .events = events };
	struct watch *w;

	if (fd < 0 || fn == NULL)
		return -EINVAL;
	if (find_watch(dev, fd) != NULL)
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .fn = fn, .arg = arg };
	ev.data.ptr = w;
	if (epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	w->next = dev->watches;
	dev->watches = w;
	return 0;
}

void
ddm_fd_unwatch(struct ddm_dev *dev, int fd)
{
	struct watch *w = find_watch(dev, fd);

	if (w == NULL)
		return;
	epoll_ctl(dev->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;
}

/* Frees unwatched entries; only between batches, when no event points in. */
static void
reap_watches(struct ddm_dev *dev)
{
	struct watch **pw = &dev->watches, *w;

	while ((w = *pw) != NULL) {
		if (w->dead) {
			*pw = w->next;
			free(w);
		} else {
			pw = &w->next;
		}
	}
}

static bool
timer_id_used(struct ddm_dev *dev, int id)
{
	struct timer *t;

	for (t = dev->timers; t != NULL; t = t->next)
		if (t->id == id)
			return true;
	return false;
}

int
ddm_timer_add(struct ddm_dev *dev, uint64_t delay_us, ddm_timer_fn *fn,
              void *arg)
{
	struct timer *t, **pt;
	uint64_t now = now_ns();

	if (fn == NULL)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	do {
		if (dev->last_timer_id == INT_MAX)
			dev->last_timer_id = 0;
		t->id = ++dev->last_timer_id;
	} while (timer_id_used(dev, t->id));
	if (delay_us > (UINT64_MAX - now) / 1000)
		t->due_ns = UINT64_MAX;
	else
		t->due_ns = now + delay_us * 1000;
	t->seq = dev->timer_seq++;
	t->fn = fn;
	t->arg = arg;
	for (pt = &dev->timers; *pt != NULL && (*pt)->due_ns <= t->due_ns;
	     pt = &(*pt)->next)
		;
	t->next = *pt;
	*pt = t;
	return t->id;
}

void
ddm_timer_cancel(struct ddm_dev *dev, int id)
{
	struct timer **pt, *t;

	for (pt = &dev->timers; (t = *pt) != NULL; pt = &t->next) {
		if (t->id == id) {
			*pt = t->next;
			free(t);
			return;
		}
	}
}

/*
 * Fires every timer due now.  Timers added by a callback wait for the next
 * round even with a zero delay, so a timer re-arming itself cannot starve
 * the loop.
 */
static void
run_timers(struct ddm_dev *dev)
{
	uint64_t now, seq_end = dev->timer_seq;
	struct timer *t;

	if (dev->timers == NULL)
		return; /* no clock read per wake-up of a timerless driver */
	now = now_ns();
	while ((t = dev->timers) != NULL && t->due_ns <= now &&
	       t->seq < seq_end && !dev->quit) {
		dev->timers = t->next;
		t->fn(dev, t->arg);
		free(t);
	}
}

/* Milliseconds until the nearest timer, rounded up; -1 when none. */
static int
next_timeout(struct ddm_dev *dev)
{
	uint64_t now, ms;

	if (dev->timers == NULL)
		return -1;
	now = now_ns();
	if (dev->timers->due_ns <= now)
		return 0;
	ms = (dev->timers->due_ns - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Whether tp holds requests its fd will not announce. */
static bool
tp_pending(struct ddm_transport *tp)
{
	return tp->ops->pending != NULL && tp->ops->pending(tp);
}

/* Whether any transport does. */
static bool
pending(struct ddm_dev *dev)
{
	for (unsigned int i = 0; i < dev->n_tps; i++)
		if (tp_pending(dev->tps[i]))
			return true;
	return false;
}

static void
on_signal(struct ddm_dev *dev, int fd, unsigned int events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		loop_quit(dev, 0);
}

static void
on_transport(struct ddm_dev *dev, int fd, unsigned int events, void *arg)
{
	dispatch_ready(dev, arg);
}

int
loop_watch_transport(struct ddm_dev *dev, struct ddm_transport *tp)
{
	return ddm_fd_watch(dev, tp->fd, EPOLLIN, on_transport, tp);
}

void
loop_unwatch_transport(struct ddm_dev *dev, struct ddm_transport *tp)
{
	ddm_fd_unwatch(dev, tp->fd);
}

/* Blocks SIGTERM/SIGINT into a signalfd and ignores SIGPIPE. */
int
loop_init(struct ddm_dev *dev)
{
	sigset_t mask;
	int err;

	signal(SIGPIPE, SIG_IGN);
	dev->sigfd = -1;
	dev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dev->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, &saved_mask) < 0) {
		err = -errno;
		goto close_epoll;
	}
	dev->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (dev->sigfd < 0) {
		err = -errno;
		goto restore_mask;
	}
	err = ddm_fd_watch(dev, dev->sigfd, EPOLLIN, on_signal, NULL);
	if (err < 0)
		goto close_sigfd;
	return 0;

close_sigfd:
	close(dev->sigfd);
	dev->sigfd = -1;
restore_mask:
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
close_epoll:
	close(dev->epfd);
	dev->epfd = -1;
	return err;
}

int
loop_run(struct ddm_dev *dev)
{
	struct epoll_event evs[LOOP_EVENTS_MAX];
	int err, i, n;

	for (i = 0; i < (int)dev->n_tps; i++) {
		err = loop_watch_transport(dev, dev->tps[i]);
		if (err < 0) {
			ddm_log(dev, "cannot watch the %s transport: %s",
			        dev->tps[i]->ops->name, strerror(-err));
			return 1;
		}
	}
	while (!dev->quit) {
		run_timers(dev);
		if (dev->quit)
			break;
		n = epoll_wait(dev->epfd, evs, LOOP_EVENTS_MAX,
		               pending(dev) ? 0 : next_timeout(dev));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ddm_log(dev, "epoll_wait: %s", strerror(errno));
			loop_quit(dev, 1);
			break;
		}
		for (i = 0; i < n && !dev->quit; i++) {
			struct watch *w = evs[i].data.ptr;

			if (!w->dead)
				w->fn(dev, w->fd, evs[i].events, w->arg);
		}
		reap_watches(dev);
		for (i = 0; i < (int)dev->n_tps && !dev->quit; i++)
			if (tp_pending(dev->tps[i]))
				dispatch_ready(dev, dev->tps[i]);
	}
	return dev->status;
}

void
loop_quit(struct ddm_dev *dev, int status)
{
	if (!dev->quit)
		dev->status = status;
	dev->quit = true;
}

/* Frees timers and watches (the watched fds stay open) and restores the
 * signal mask. */
void
loop_fini(struct ddm_dev *dev)
{
	struct timer *t;
	struct watch *w;

	while ((t = dev->timers) != NULL) {
		dev->timers = t->next;
		free(t);
	}
	while ((w = dev->watches) != NULL) {
		dev->watches = w->next;
		free(w);
	}
	/*
	 * SIGTERM and SIGINT stay blocked: ddmfs hangs up and then signals,
	 * so one may be pending right now, and unblocking it would turn this
	 * clean exit into a kill.  The process exits next anyway.
	 */
	if (dev->sigfd >= 0)
		close(dev->sigfd);
	if (dev->epfd >= 0)
		close(dev->epfd);
	dev->sigfd = -1;
	dev->epfd = -1;
}
