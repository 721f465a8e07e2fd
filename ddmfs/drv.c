/*
 * drv.c: driver supervision.
 *
 * Each leaf has one struct drv that outlives its driver processes.  The
 * event thread (ev.c) hands this file, per driver, what its socket, its
 * pidfd (the exit) and its timerfd (backoff, HELLO and kill deadlines)
 * report; the decisions are taken here.
 *
 *   stopped -> starting -(HELLO)-> running -(exit)-> backoff -> starting
 *   too many quick failures in a row: failed;  ddmctl stop: stopping ->
 *   stopped;  ddmctl start/restart reset the failure count.
 *
 * The deadlines that are not timerfds are checked when the event thread
 * asks (drv_deadlines()): a running driver silent for
 * DRV_PING_INTERVAL_MS is pinged and one that then stays silent for
 * DRV_PING_TIMEOUT_MS restarted (a hook that blocks, a loop that hangs, a
 * socket left unread); the opens queued while a driver comes up are
 * served or failed (pend.c).  Every state change calls ev_recheck(), so
 * the event thread reconsiders them at once.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddmfs.h"

static const char *
drv_name(const struct drv *d)
{
	return dfs.conf->buses[d->node->bus].devices[d->node->dev].driver;
}

const char *
drv_state_name(enum drv_state s)
{
	switch (s) {
	case DRV_STARTING:
		return "starting";
	case DRV_RUNNING:
		return "running";
	case DRV_BACKOFF:
		return "backoff";
	case DRV_FAILED:
		return "failed";
	default:
		return "stopped";
	}
}

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time ms from now on CLOCK_MONOTONIC, dfs.cond's clock. */
static struct timespec
deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Waits on dfs.cond for at most ms (lock held). */
static void
timed_wait(int ms)
{
	struct timespec ts = deadline(ms);

	pthread_cond_timedwait(&dfs.cond, &dfs.lock, &ts);
}

/* Tells the waiters on dfs.cond and the event thread that a driver
 * changed state (lock held). */
static void
changed(void)
{
	pthread_cond_broadcast(&dfs.cond);
	ev_recheck();
}

/* Starts a new drv_log() window for d once the last one is over, saying
 * how many lines it suppressed (event thread). */
static void
log_window(struct drv *d, int64_t now)
{
	if (now - d->log_ms < DRV_LOG_WINDOW_MS)
		return;
	if (d->log_dropped > 0)
		logmsg("%s: %lu similar lines suppressed", d->node->path,
		       d->log_dropped);
	d->log_ms = now;
	d->log_lines = 0;
	d->log_dropped = 0;
}

/* Logs what driver d did wrong, at most DRV_LOG_BURST lines per
 * DRV_LOG_WINDOW_MS per driver (event thread). */
void
drv_log(struct drv *d, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	log_window(d, now_ms());
	if (d->log_lines >= DRV_LOG_BURST) {
		/* the window's end is now a deadline: it logs the count */
		if (d->log_dropped++ == 0)
			ev_recheck();
		return;
	}
	d->log_lines++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logmsg("%s", line);
}

static void
arm(struct drv *d, enum drv_timer t, unsigned int ms)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	d->timer = ms > 0 ? t : TIMER_NONE;
	timerfd_settime(d->timerfd, 0, &its, NULL);
}

int
drv_init(struct drv *d, struct node *n, const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN };

	memset(d, 0, sizeof(*d));
	d->node = n;
	d->path = strdup(path);
	if (d->path == NULL)
		return -ENOMEM;
	d->pidfd = -1;
	d->ev_sock = (struct evsrc){ EV_SOCK, d };
	d->ev_pid = (struct evsrc){ EV_PID, d };
	d->ev_timer = (struct evsrc){ EV_TIMER, d };
	d->timerfd =
	        timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timerfd < 0)
		goto free_path;
	ev.data.ptr = &d->ev_timer;
	if (epoll_ctl(dfs.epfd, EPOLL_CTL_ADD, d->timerfd, &ev) < 0)
		goto close_timer;
	n->drv = d;
	return 0;

close_timer:
	close(d->timerfd);
free_path:
	free(d->path);
	return -errno;
}

/* Frees a driver object whose process is gone; NULL is fine. */
void
drv_free(struct drv *d)
{
	if (d == NULL)
		return;
	while (d->handles != NULL)
		handle_unlink(d->handles);
	if (d->timerfd >= 0)
		close(d->timerfd);
	free(d->path);
	free(d);
}

/* Ends the current instance's channel: its requests fail with EIO and its
 * handles go stale (lock held). */
static void
close_chan(struct drv *d)
{
	if (d->chan == NULL)
		return;
	epoll_ctl(dfs.epfd, EPOLL_CTL_DEL, d->chan->fd, NULL);
	chan_close(d->chan);
	d->chan = NULL;
	d->gen++;
	d->ping_id = 0;
	/* the event thread answers them after its batch; changed() wakes
	 * it from other threads */
	pend_fail_drv(d, -EIO);
	for (struct handle *h = d->handles; h != NULL; h = h->next)
		if (h->ph != NULL)
			fuse_lowlevel_notify_poll(h->ph);
	changed();
}

/* Counts a failure and schedules the restart, or gives up (lock held). */
static void
failed_once(struct drv *d)
{
	unsigned int ms;

	if (d->started_once && now_ms() - (int64_t)d->started.tv_sec * 1000 -
	                                       d->started.tv_nsec / 1000000 >=
	                               DRV_STABLE_MS)
		d->fails = 0;
	d->fails++;
	if (d->fails >= DRV_FAIL_MAX) {
		d->state = DRV_FAILED;
		logmsg("%s: driver %s failed %u times in a row; not restarting "
		       "it (ddmctl start %s)",
		       d->node->path, drv_name(d), d->fails, d->node->path);
	} else {
		ms = DRV_BACKOFF_MIN_MS << (d->fails - 1);
		if (ms > DRV_BACKOFF_MAX_MS)
			ms = DRV_BACKOFF_MAX_MS;
		d->state = DRV_BACKOFF;
		arm(d, TIMER_RESTART, ms);
		logdbg("%s: restarting in %u ms", d->node->path, ms);
	}
	changed();
}

/* Starts a new instance now (lock held). */
static void
spawn(struct drv *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sock, pidfd, r;

	arm(d, TIMER_NONE, 0);
	if (d->started_once)
		d->restarts++;
	r = drv_spawn(d, &sock, &pidfd);
	d->started_once = 1;
	clock_gettime(CLOCK_MONOTONIC, &d->started);
	if (r < 0) {
		logmsg("%s: cannot start %s: %s", d->node->path, d->path,
		       strerror(-r));
		failed_once(d);
		return;
	}
	d->chan = chan_new(sock);
	if (d->chan == NULL) {
		close(sock);
		kill(d->pid, SIGKILL);
	}
	d->pidfd = pidfd;
	ev.data.ptr = &d->ev_pid;
	epoll_ctl(dfs.epfd, EPOLL_CTL_ADD, pidfd, &ev);
	if (d->chan != NULL) {
		ev.data.ptr = &d->ev_sock;
		epoll_ctl(dfs.epfd, EPOLL_CTL_ADD, sock, &ev);
	}
	d->state = DRV_STARTING;
	d->heard_ms = now_ms();
	d->ping_id = 0;
	d->bogus = 0;
	arm(d, TIMER_HELLO, DRV_HELLO_MS);
	logdbg("%s: started %s (pid %d)", d->node->path, d->path, (int)d->pid);
	changed();
}

/* Starts d unless it runs or is coming up (lock held); resets failures. */
void
drv_start(struct drv *d)
{
	d->fails = 0;
	switch (d->state) {
	case DRV_STOPPING:
		d->restart_now = 1;
		break;
	case DRV_STOPPED:
	case DRV_FAILED:
	case DRV_BACKOFF:
		spawn(d);
		break;
	default:
		break;
	}
}

/* SIGTERM, then SIGKILL after DRV_STOP_MS; requests fail now (lock held). */
void
drv_stop(struct drv *d)
{
	d->restart_now = 0;
	arm(d, TIMER_NONE, 0);
	if (d->pid == 0) {
		d->state = DRV_STOPPED;
		changed();
		return;
	}
	d->state = DRV_STOPPING;
	close_chan(d);
	kill(d->pid, SIGTERM);
	arm(d, TIMER_KILL, DRV_STOP_MS);
}

void
drv_restart(struct drv *d)
{
	drv_stop(d);
	drv_start(d);
}

/* Ends the instance of d: its requests fail, the exit restarts it. */
static void
kill_instance(struct drv *d)
{
	close_chan(d);
	if (d->pid != 0)
		kill(d->pid, SIGKILL);
}

/* Kills the instance of d for breaking the protocol (lock held). */
void
drv_fault(struct drv *d, const char *why)
{
	logmsg("%s: driver %s (pid %d): %s; restarting it", d->node->path,
	       drv_name(d), (int)d->pid, why);
	kill_instance(d);
}

/*
 * The heartbeat of running d (event thread, lock held): a ping after
 * DRV_PING_INTERVAL_MS of silence, a restart when it stays unanswered and
 * the driver silent for DRV_PING_TIMEOUT_MS.  Returns when it is next due.
 */
static int64_t
heartbeat(struct drv *d, int64_t now)
{
	int64_t last = d->heard_ms;

	if (d->state != DRV_RUNNING || d->chan == NULL)
		return NO_DEADLINE;
	if (d->ping_id == 0) {
		if (now - last < DRV_PING_INTERVAL_MS)
			return last + DRV_PING_INTERVAL_MS;
		d->ping_ms = now;
		fwd_ping(d);
	}
	if (d->ping_ms > last)
		last = d->ping_ms;
	if (now - last < DRV_PING_TIMEOUT_MS)
		return last + DRV_PING_TIMEOUT_MS;
	logmsg("%s: driver %s (pid %d) did not answer for %d s; restarting",
	       d->node->path, drv_name(d), (int)d->pid,
	       DRV_PING_TIMEOUT_MS / 1000);
	kill_instance(d);
	return NO_DEADLINE;
}

/*
 * Acts on the deadlines of d that are not timerfds (event thread, lock
 * held): the heartbeat, its queued opens, the end of its drv_log()
 * window.  Returns the time the next one is due, NO_DEADLINE for none.
 */
int64_t
drv_deadlines(struct drv *d, int64_t now)
{
	int64_t next = heartbeat(d, now), due;

	due = pend_queued(d, now);
	if (due < next)
		next = due;
	log_window(d, now);
	due = d->log_dropped > 0 ? d->log_ms + DRV_LOG_WINDOW_MS : NO_DEADLINE;
	return due < next ? due : next;
}

/*
 * Waits (lock held) up to ms for d to be running.  Returns 0, -EIO if it
 * did not come up in time, -ENXIO if it is stopped or failed.
 */
int
drv_wait_running(struct drv *d, int ms)
{
	struct timespec ts = deadline(ms);
	int old, r = 0;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	while (r == 0 && (d->state == DRV_STARTING || d->state == DRV_BACKOFF ||
	                  (d->state == DRV_STOPPING && d->restart_now)))
		r = pthread_cond_timedwait(&dfs.cond, &dfs.lock, &ts);
	pthread_setcancelstate(old, NULL);
	if (d->state == DRV_RUNNING && d->chan != NULL)
		return 0;
	if (d->state == DRV_STOPPED || d->state == DRV_FAILED ||
	    d->state == DRV_STOPPING)
		return -ENXIO;
	return -EIO;
}

/* Waits (lock held) up to ms for a stopping d to be stopped: 0 or -EIO. */
int
drv_wait_stopped(struct drv *d, int ms)
{
	int64_t deadline = now_ms() + ms;
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	while (d->state == DRV_STOPPING && now_ms() < deadline)
		timed_wait(100);
	pthread_setcancelstate(old, NULL);
	return d->state == DRV_STOPPING ? -EIO : 0;
}

/* The process of d is gone: reap, log, and decide what next (event
 * thread, lock held). */
void
drv_gone(struct drv *d)
{
	int st, early = d->state == DRV_STARTING;
	pid_t pid = d->pid;

	if (pid == 0 || waitpid(pid, &st, WNOHANG) != pid)
		return;
	if (WIFSIGNALED(st))
		logmsg("%s: driver %s (pid %d) killed by signal %d",
		       d->node->path, drv_name(d), (int)pid, WTERMSIG(st));
	else
		logmsg("%s: driver %s (pid %d) exited with status %d",
		       d->node->path, drv_name(d), (int)pid, WEXITSTATUS(st));
	epoll_ctl(dfs.epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
	close(d->pidfd);
	d->pidfd = -1;
	d->pid = 0;
	close_chan(d);
	arm(d, TIMER_NONE, 0);
	if (d->state == DRV_STOPPING && d->restart_now && !dfs.quit) {
		d->restart_now = 0;
		spawn(d);
	} else if (d->state == DRV_STOPPING || dfs.quit) {
		d->state = DRV_STOPPED;
		changed();
	} else {
		failed_once(d);
		if (early)
			drv_cuse_early_exit(d);
	}
}

/* The timerfd of d expired: act on what it was armed for (event thread,
 * lock held). */
void
drv_timer_fired(struct drv *d)
{
	uint64_t n;

	if (read(d->timerfd, &n, sizeof(n)) != sizeof(n))
		return; /* disarmed meanwhile */
	switch (d->timer) {
	case TIMER_RESTART:
		if (d->state == DRV_BACKOFF)
			spawn(d);
		break;
	case TIMER_HELLO:
		if (d->state == DRV_STARTING)
			drv_fault(d, "no HELLO in time");
		break;
	case TIMER_KILL:
		if (d->pid != 0)
			kill(d->pid, SIGKILL);
		break;
	default:
		break;
	}
}

/*
 * DDM_HELLO from d's driver (event thread, lock held): it runs now, and
 * the opens queued on it go out.  -EPROTO, with why, breaks the driver.
 */
int
drv_hello(struct drv *d, const struct ddm_msg *m, char *why, size_t whylen)
{
	const struct node *n;
	unsigned int want;
	int r;

	if (d->state != DRV_STARTING) {
		snprintf(why, whylen, "HELLO while %s",
		         drv_state_name(d->state));
		return -EPROTO;
	}
	if (m->arg0 != DDM_PROTO_VERSION) {
		snprintf(why, whylen, "protocol version %u, not %d", m->arg0,
		         DDM_PROTO_VERSION);
		return -EPROTO;
	}
	want = d->node->cuse ? DDM_HELLO_CUSE : DDM_HELLO_SOCKET;
	if (m->arg1 != want) {
		snprintf(why, whylen, "HELLO for transport %llu, not %u",
		         (unsigned long long)m->arg1, want);
		return -EPROTO;
	}
	r = d->node->cuse ? drv_cuse_up(d, why, whylen) : 0;
	if (r < 0)
		return r;
	d->state = DRV_RUNNING;
	arm(d, TIMER_NONE, 0);
	logdbg("%s: running (pid %d)", d->node->path, (int)d->pid);
	changed();
	pend_queued(d, now_ms());
	if (r > 0 && dfs.mounted) {
		/* a kernel inode keeps its rdev; the new generation makes the
		 * next lookup build a new one */
		n = d->node;
		pthread_mutex_unlock(&dfs.lock);
		fuse_lowlevel_notify_inval_entry(dfs.se, n->parent, n->name,
		                                 strlen(n->name));
		pthread_mutex_lock(&dfs.lock);
	}
	return 0;
}

/* d's driver closed its socket (event thread, lock held): its requests
 * fail, and a process still alive DRV_HANGUP_MS later is killed. */
void
drv_hangup(struct drv *d)
{
	logdbg("%s: driver closed its socket", d->node->path);
	close_chan(d);
	if (d->pid != 0 && d->state != DRV_STOPPING)
		arm(d, TIMER_KILL, DRV_HANGUP_MS);
}

/*
 * Waits up to ms in total while any CUSE driver is still coming up, so
 * their leaves have the right rdev when ddmfs mounts.
 */
void
drv_wait_cuse_up(int ms)
{
	int64_t deadline = now_ms() + ms;

	pthread_mutex_lock(&dfs.lock);
	for (;;) {
		size_t coming = 0;

		for (size_t i = 0; i < dfs.n_nodes; i++) {
			const struct drv *d = dfs.nodes[i].drv;

			if (d != NULL && dfs.nodes[i].cuse &&
			    (d->state == DRV_STARTING ||
			     d->state == DRV_BACKOFF))
				coming++;
		}
		if (coming == 0 || now_ms() >= deadline)
			break;
		timed_wait(100);
	}
	pthread_mutex_unlock(&dfs.lock);
}

/* Stops every driver and waits (bounded) until all processes are gone. */
void
drv_stop_all(void)
{
	int64_t deadline = now_ms() + DRV_STOP_MS + 1000;

	pthread_mutex_lock(&dfs.lock);
	dfs.quit = 1;
	for (size_t i = 0; i < dfs.n_nodes; i++)
		if (dfs.nodes[i].drv != NULL)
			drv_stop(dfs.nodes[i].drv);
	for (;;) {
		size_t alive = 0;

		for (size_t i = 0; i < dfs.n_nodes; i++)
			if (dfs.nodes[i].drv != NULL &&
			    dfs.nodes[i].drv->pid != 0)
				alive++;
		if (alive == 0 || now_ms() >= deadline)
			break;
		timed_wait(100);
	}
	pthread_mutex_unlock(&dfs.lock);
}
