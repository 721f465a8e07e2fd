/*
 * ev.c: the event thread (ev.h).
 *
 * Per driver it watches the socket (EPOLLIN, and EPOLLOUT while sends
 * wait in its queue) and the pidfd.  The deadlines (drv.c) are times, not
 * timer fds: after each batch of events the drivers that changed, and
 * all of them once the nearest deadline is due, get drv_tick(), and
 * epoll_wait() sleeps until the next deadline, or without a bound when
 * none is set.  Removed drivers are freed here once nothing uses them.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cusedev.h"
#include "ddmfs.h"
#include "drv.h"
#include "ev.h"
#include "fwd.h"
#include "log.h"

#define EV_BATCH          64 /* epoll events per wait */
#define RECV_BATCH        64 /* messages read per socket event, for fairness */
#define HELLO_PAYLOAD_MIN 4096 /* the least payload a driver may announce */
#define DRV_CUSE_RETRY                                                         \
	2 /* stored CUSE numbers not seen in this run are dropped after        \
	   * this many failures before HELLO */

enum ev_kind {
	EV_WAKE,
	EV_SOCK,
	EV_PID,
	EV_WATCH,
	EV_REQ,
};

struct evsrc {
	enum ev_kind kind;
	struct drv *d;
};

struct evd {
	struct evsrc sock, pid, req;
	int sock_fd;   /* watched socket; -1: none */
	bool want_out; /* EPOLLOUT is on */
	int pid_fd;    /* watched pidfd; -1: none */
	int req_fd;    /* VFIO device-request eventfd (ours); -1: none */
	atomic_bool dirty;
	int64_t due;
};

static int epfd = -1, wakefd = -1;
static pthread_t thread;
static bool started;
static atomic_bool quit, recheck;
static __thread bool on_thread;
static struct evsrc wake_src = { EV_WAKE, NULL };
static struct evsrc watch_src = { EV_WATCH, NULL };
static void (*watch_fn)(void *arg);
static void *watch_arg;

static void
kick(void)
{
	uint64_t one = 1;

	if (!on_thread && wakefd >= 0 && write(wakefd, &one, sizeof(one)) < 0)
		logmsg("eventfd: %s", strerror(errno));
}

/* d's event data, made on first use (d->lock held). */
static struct evd *
evd(struct drv *d)
{
	struct evd *e = d->ev;

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->sock = (struct evsrc){ EV_SOCK, d };
	e->pid = (struct evsrc){ EV_PID, d };
	e->req = (struct evsrc){ EV_REQ, d };
	e->sock_fd = e->pid_fd = e->req_fd = -1;
	e->due = 0; /* look at it at once */
	d->ev = e;
	return e;
}

void
ev_attach(struct drv *d)
{
	struct evd *e = evd(d);
	struct epoll_event ev = { .events = EPOLLIN };

	if (e == NULL) {
		logmsg("%s: out of memory watching the driver", d->path);
		return;
	}
	if (d->chan != NULL && e->sock_fd < 0) {
		ev.data.ptr = &e->sock;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, d->chan->fd, &ev) == 0)
			e->sock_fd = d->chan->fd;
		e->want_out = false;
	}
	if (d->proc.pidfd >= 0 && e->pid_fd < 0) {
		ev.data.ptr = &e->pid;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, d->proc.pidfd, &ev) == 0)
			e->pid_fd = d->proc.pidfd;
	}
	ev_wake(d);
}

void
ev_detach_chan(struct drv *d)
{
	struct evd *e = d->ev;

	if (e == NULL || e->sock_fd < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->sock_fd, NULL);
	e->sock_fd = -1;
	e->want_out = false;
}

void
ev_detach_pid(struct drv *d)
{
	struct evd *e = d->ev;

	if (e == NULL)
		return;
	if (e->req_fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, e->req_fd, NULL);
		close(e->req_fd);
		e->req_fd = -1;
	}
	if (e->pid_fd < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->pid_fd, NULL);
	e->pid_fd = -1;
}

void
ev_watch_req(struct drv *d, int fd)
{
	struct evd *e = evd(d);
	struct epoll_event ev = { .events = EPOLLIN };

	if (e == NULL || e->req_fd >= 0) {
		close(fd);
		return;
	}
	ev.data.ptr = &e->req;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		logmsg("%s: watching VFIO device requests: %s", d->path,
		       strerror(errno));
		close(fd);
		return;
	}
	e->req_fd = fd;
}

int
ev_req_fd(struct drv *d)
{
	struct evd *e = evd(d);

	return e != NULL ? e->req_fd : -1;
}

void
ev_wake(struct drv *d)
{
	struct evd *e = evd(d);

	if (e != NULL)
		atomic_store(&e->dirty, true);
	atomic_store(&recheck, true);
	kick();
}

void
ev_forget(struct drv *d)
{
	struct evd *e = d->ev;

	if (e != NULL && e->req_fd >= 0)
		close(e->req_fd);
	free(e);
	d->ev = NULL;
}

/* Watches EPOLLOUT on d's socket exactly while sends wait (d->lock held). */
static void
watch_out(struct drv *d, struct evd *e)
{
	bool want = d->chan != NULL && chan_backlog(d->chan);
	struct epoll_event ev = { .events = EPOLLIN };

	if (e->sock_fd < 0 || want == e->want_out)
		return;
	if (want)
		ev.events |= EPOLLOUT;
	ev.data.ptr = &e->sock;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, e->sock_fd, &ev) == 0)
		e->want_out = want;
}

/*
 * Takes what HELLO says of d's nodes (payload: one struct ddm_hello_node
 * each, or none): -EPROTO with why if it does not fit.  Nodes whose size
 * changed are put in changed (their inodes are looked at again); under
 * CUSE, a node the driver serves over its socket (a seekable one: CUSE
 * has no offsets) becomes a forwarded leaf, put in moved (its entry is
 * looked up again).
 */
static int
hello_nodes(struct drv *d, const struct ddm_msg *m, const void *payload,
            char *why, size_t whylen, fuse_ino_t *changed, unsigned int *n_ch,
            struct node **moved, unsigned int *n_moved)
{
	struct ddm_hello_node hn;

	if (m->len != 0 && m->len != d->n_nodes * sizeof(hn)) {
		snprintf(why, whylen, "HELLO for %zu nodes, not %u",
		         m->len / sizeof(hn), d->n_nodes);
		return -EPROTO;
	}
	for (unsigned int i = 0; i < d->n_nodes; i++) {
		struct node *n = d->nodes[i];

		memset(&hn, 0, sizeof(hn));
		if (m->len != 0)
			memcpy(&hn, (const char *)payload + i * sizeof(hn),
			       sizeof(hn));
		if ((hn.flags & ~(DDM_NODE_SEEKABLE | DDM_NODE_SOCKET)) != 0 ||
		    hn.reserved != 0 || hn.size > (uint64_t)INT64_MAX) {
			snprintf(why, whylen, "HELLO with a bad node %u", i);
			return -EPROTO;
		}
		if (n == NULL)
			continue;
		n->seekable = (hn.flags & DDM_NODE_SEEKABLE) != 0;
		if (n->cuse && (hn.flags & DDM_NODE_SOCKET)) {
			n->cuse = false;
			moved[(*n_moved)++] = n;
		}
		if (n->size != hn.size)
			changed[(*n_ch)++] = n->ino;
		n->size = hn.size;
	}
	return 0;
}

/* The payload a driver's HELLO says it takes (DDM_HELLO.arg2), within
 * what ddmfs sends; 0, from a driver of the first protocol, is
 * DDM_PAYLOAD_V1. */
static unsigned int
hello_payload(uint64_t announced)
{
	if (announced == 0)
		return DDM_PAYLOAD_V1;
	if (announced < HELLO_PAYLOAD_MIN)
		return HELLO_PAYLOAD_MIN;
	return announced < DDM_PAYLOAD_MAX ? (unsigned int)announced
	                                   : DDM_PAYLOAD_MAX;
}

/*
 * DDM_HELLO from d's driver: checks its transport, its nodes (and, under
 * CUSE, the devices it made), and lets the parked opens go.  A new rdev
 * makes the kernel look the leaf up again.
 */
static void
hello(struct drv *d, const struct ddm_msg *m, const void *payload)
{
	struct drv_out out = { 0 };
	unsigned int want, n_new = 0, n_ch = 0, n_moved = 0;
	fuse_ino_t parent[CONF_NODES_MAX], changed[CONF_NODES_MAX];
	struct node *moved[CONF_NODES_MAX];
	char why[160] = "", name[CONF_NODES_MAX][CONF_NAME_MAX + 1];
	int r;

	pthread_rwlock_wrlock(&dfs.tree_lock);
	pthread_mutex_lock(&d->lock);
	want = dfs.cuse ? DDM_HELLO_CUSE : DDM_HELLO_SOCKET;
	r = 0;
	if (m->arg1 != want) {
		snprintf(why, sizeof(why), "HELLO for transport %llu, not %u",
		         (unsigned long long)m->arg1, want);
		r = -EPROTO;
	} else {
		r = hello_nodes(d, m, payload, why, sizeof(why), changed, &n_ch,
		                moved, &n_moved);
	}
	if (r >= 0)
		d->payload_max = hello_payload(m->arg2);
	for (unsigned int i = 0; r >= 0 && i < n_moved; i++) {
		parent[n_new] = moved[i]->parent->ino;
		snprintf(name[n_new], sizeof(name[n_new]), "%s",
		         moved[i]->name);
		n_new++;
	}
	for (unsigned int i = 0;
	     r >= 0 && want == DDM_HELLO_CUSE && i < d->n_nodes; i++) {
		struct node *n = d->nodes[i];

		if (n == NULL || !n->cuse)
			continue;
		r = cdev_up(dfs.cdevs, n, why, sizeof(why));
		if (r > 0) {
			parent[n_new] = n->parent->ino;
			snprintf(name[n_new], sizeof(name[n_new]), "%s",
			         n->name);
			n_new++;
		}
	}
	if (r >= 0 && drv_hello(d, m, why, sizeof(why), &out) < 0)
		r = -EPROTO;
	if (r < 0)
		drv_fault(d, why, &out);
	pthread_mutex_unlock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
	if (r < 0)
		return;
	fwd_send_queued(d);
	for (unsigned int i = 0; i < n_new; i++)
		fuse_lowlevel_notify_inval_entry(dfs.se, parent[i], name[i],
		                                 strlen(name[i]));
	/* a leaf's type in its bus's cached listing (all of d's nodes are
	 * on one bus) */
	if (n_new > 0)
		fuse_lowlevel_notify_inval_inode(dfs.se, parent[0], 0, 0);
	for (unsigned int i = 0; i < n_ch; i++)
		fuse_lowlevel_notify_inval_inode(dfs.se, changed[i], 0, 0);
}

/* Faults d (no lock held) for why. */
static void
fault(struct drv *d, const char *why)
{
	struct drv_out out = { 0 };

	pthread_rwlock_rdlock(&dfs.tree_lock);
	pthread_mutex_lock(&d->lock);
	drv_fault(d, why, &out);
	pthread_mutex_unlock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
}

/* One message from d's driver. */
static void
message(struct drv *d, const struct ddm_msg *m, const void *payload)
{
	char why[96];

	switch (m->op) {
	case DDM_HELLO:
		hello(d, m, payload);
		break;
	case DDM_REPLY:
		fwd_reply(d, m, payload);
		break;
	case DDM_NOTIFY:
		fwd_notify(d, m);
		break;
	default:
		snprintf(why, sizeof(why), "unexpected %s message",
		         ddm_op_name(m->op));
		fault(d, why);
		break;
	}
}

/* d's driver hung up its socket ch. */
static void
hangup(struct drv *d, struct chan *ch)
{
	struct drv_out out = { 0 };

	pthread_rwlock_rdlock(&dfs.tree_lock);
	pthread_mutex_lock(&d->lock);
	if (d->chan == ch)
		drv_hangup(d, &out);
	pthread_mutex_unlock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
}

/* Whether ch is still d's channel; if so, d was heard from now. */
static bool
current(struct drv *d, struct chan *ch)
{
	bool cur;

	pthread_mutex_lock(&d->lock);
	cur = d->chan == ch;
	if (cur)
		drv_heard(d, drv_sys->now());
	pthread_mutex_unlock(&d->lock);
	return cur;
}

/*
 * Acts on what a receive from d's socket ch gave: n bytes in buf, or
 * -EPIPE.  Returns whether to go on receiving.  Messages left on an
 * instance that is gone meanwhile are dropped unread.
 */
static bool
packet(struct drv *d, struct chan *ch, const char *buf, ssize_t n)
{
	struct ddm_msg m;
	const void *payload;

	if (n < 0) {
		hangup(d, ch);
		return false;
	}
	if (!current(d, ch))
		return false;
	if ((size_t)n > DDM_MSG_MAX ||
	    ddm_msg_unpack(buf, (size_t)n, &m, &payload) < 0) {
		fault(d, "malformed message");
		return false;
	}
	message(d, &m, payload);
	return true;
}

/* Reads what d's driver sent on ch into buf (DDM_MSG_MAX + 1 bytes), a
 * batch at most, without waiting. */
static void
drain(struct drv *d, struct chan *ch, char *buf)
{
	for (int i = 0; i < RECV_BATCH; i++) {
		ssize_t n = chan_recv(ch, buf, DDM_MSG_MAX + 1);

		if (n == -EAGAIN || !packet(d, ch, buf, n))
			break;
	}
}

/* Reads what d's driver sent, a batch at most. */
static void
readable(struct drv *d)
{
	static char buf[DDM_MSG_MAX + 1];
	struct chan *ch;

	pthread_mutex_lock(&d->lock);
	ch = d->chan;
	if (ch != NULL)
		chan_get(ch);
	pthread_mutex_unlock(&d->lock);
	if (ch == NULL)
		return;
	drain(d, ch, buf);
	chan_put(ch);
}

/* Each worker's room for one packet, freed when the thread ends. */
static pthread_key_t rx_key;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

static void
rx_key_make(void)
{
	if (pthread_key_create(&rx_key, free) != 0)
		logmsg("pthread_key_create: cannot keep receive buffers");
}

void
ev_receive(struct drv *d, struct chan *ch)
{
	char *buf;

	pthread_once(&rx_once, rx_key_make);
	buf = pthread_getspecific(rx_key);
	if (buf == NULL) {
		buf = malloc(DDM_MSG_MAX + 1);
		if (buf == NULL || pthread_setspecific(rx_key, buf) != 0) {
			free(buf);
			return;
		}
	}
	drain(d, ch, buf);
}

/* Room on d's socket again: the queue goes out. */
static void
writable(struct drv *d)
{
	struct chan *ch;

	pthread_mutex_lock(&d->lock);
	ch = d->chan;
	if (ch != NULL)
		chan_flush(ch, drv_sys->now());
	if (d->ev != NULL)
		watch_out(d, d->ev);
	pthread_mutex_unlock(&d->lock);
}

/* The kernel wants d's PCI function back (a hot-unplug): its driver is
 * stopped, so its VFIO fds close and the removal can go on. */
static void
unplug(struct drv *d)
{
	struct drv_out out = { 0 };
	struct evd *e;
	uint64_t v;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	pthread_mutex_lock(&d->lock);
	e = d->ev;
	if (e != NULL && e->req_fd >= 0 &&
	    read(e->req_fd, &v, sizeof(v)) == sizeof(v)) {
		logmsg("%s: the kernel asks for PCI function %s back: "
		       "stopping its driver",
		       d->path, d->cf.pci);
		drv_stop(d, &out);
	}
	pthread_mutex_unlock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
}

/* d's process exited (its pidfd is readable). */
static void
gone(struct drv *d)
{
	struct drv_out out = { 0 };
	siginfo_t si = { 0 };
	int status = -1;
	bool early;

	pthread_rwlock_wrlock(&dfs.tree_lock);
	pthread_mutex_lock(&d->lock);
	if (d->proc.pidfd < 0)
		goto unlock;
	if (waitid(P_PIDFD, (id_t)d->proc.pidfd, &si, WEXITED | WNOHANG) == 0) {
		if (si.si_pid == 0)
			goto unlock; /* not yet */
		if (si.si_code == CLD_EXITED)
			status = W_EXITCODE(si.si_status, 0);
		else
			status = si.si_status |
			         (si.si_code == CLD_DUMPED ? 0x80 : 0);
	}
	/* ECHILD: an adopted driver, not our child; its exit status is
	 * its parent's (init's) business */
	early = d->state == DRV_STARTING && !d->adopting;
	drv_exited(d, status, &out);
	for (unsigned int i = 0; early && i < d->n_nodes; i++)
		if (d->nodes[i] != NULL)
			cdev_early_exit(d->nodes[i], d->fails, DRV_CUSE_RETRY);
unlock:
	pthread_mutex_unlock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
}

struct tick_state {
	int64_t now, next;
	bool all;
	struct drv_out out; /* finished once the tree lock is dropped */
	struct drv *unused[64];
	size_t n_unused;
};

/* Whether removed d can go: no process, handle or request left. */
static bool
unused(const struct drv *d)
{
	return d->removed && d->proc.pid == 0 && d->handles.map.n == 0 &&
	       d->pend.map.n == 0 && d->pins == 0;
}

static void
tick_one(struct drv *d, void *arg)
{
	struct tick_state *t = arg;
	struct evd *e;

	pthread_mutex_lock(&d->lock);
	e = evd(d);
	if (e != NULL &&
	    (t->all || atomic_exchange(&e->dirty, false) || e->due <= t->now)) {
		e->due = drv_tick(d, t->now, &t->out);
		watch_out(d, e);
	}
	if (e != NULL && e->due < t->next)
		t->next = e->due;
	if (unused(d) && t->n_unused < sizeof(t->unused) / sizeof(*t->unused))
		t->unused[t->n_unused++] = d;
	pthread_mutex_unlock(&d->lock);
}

/*
 * Runs drv_tick() on the drivers that changed (all of them when all),
 * frees removed drivers nothing uses any more, and returns the nearest
 * deadline.
 */
static int64_t
tick(bool all)
{
	struct tick_state t = { .now = drv_sys->now(),
		                .next = DRV_NO_DEADLINE,
		                .all = all };

	pthread_rwlock_rdlock(&dfs.tree_lock);
	drv_each(tick_one, &t);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&t.out);
	if (t.n_unused == 0)
		return t.next;
	pthread_rwlock_wrlock(&dfs.tree_lock);
	for (size_t i = 0; i < t.n_unused; i++) {
		struct drv *d = t.unused[i];
		bool gone;

		pthread_mutex_lock(&d->lock);
		gone = unused(d);
		pthread_mutex_unlock(&d->lock);
		if (!gone)
			continue;
		logdbg("%s: driver object freed", d->path);
		ev_forget(d);
		drv_free(d);
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	return t.next;
}

static int
timeout_to(int64_t due)
{
	int64_t left;

	if (due == DRV_NO_DEADLINE)
		return -1;
	left = due - drv_sys->now();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

static void *
loop(void *arg)
{
	struct epoll_event evs[EV_BATCH];
	int64_t due = 0;

	on_thread = true;
	while (!atomic_load(&quit)) {
		int n = epoll_wait(epfd, evs, EV_BATCH, timeout_to(due));
		bool all;

		if (n < 0 && errno != EINTR) {
			logmsg("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct evsrc *src = evs[i].data.ptr;
			uint64_t v;

			switch (src->kind) {
			case EV_WAKE:
				if (read(wakefd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					logmsg("eventfd: %s", strerror(errno));
				break;
			case EV_SOCK:
				if (evs[i].events & EPOLLOUT)
					writable(src->d);
				if (evs[i].events &
				    (EPOLLIN | EPOLLHUP | EPOLLERR))
					readable(src->d);
				break;
			case EV_PID:
				gone(src->d);
				break;
			case EV_WATCH:
				watch_fn(watch_arg);
				break;
			case EV_REQ:
				unplug(src->d);
				break;
			}
		}
		all = drv_sys->now() >= due;
		if (atomic_exchange(&recheck, false) || all)
			due = tick(all);
	}
	return NULL;
}

int
ev_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_src };

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wakefd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0)
		return -errno;
	return 0;
}

int
ev_watch(int fd, void (*fn)(void *arg), void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &watch_src };

	if (watch_fn != NULL)
		return -EBUSY;
	watch_fn = fn;
	watch_arg = arg;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		watch_fn = NULL;
		return -errno;
	}
	return 0;
}

int
ev_start(void)
{
	int r;

	atomic_store(&quit, false);
	r = pthread_create(&thread, NULL, loop, NULL);
	if (r != 0)
		return -r;
	started = true;
	return 0;
}

void
ev_stop(void)
{
	uint64_t one = 1;

	if (!started)
		return;
	atomic_store(&quit, true);
	if (write(wakefd, &one, sizeof(one)) < 0)
		logmsg("eventfd: %s", strerror(errno));
	pthread_join(thread, NULL);
	started = false;
}
