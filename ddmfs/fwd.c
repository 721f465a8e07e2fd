/*
 * fwd.c: the message path between FUSE requests and drivers.
 *
 * A worker thread records each request in the pending table (pend.c),
 * builds its message, sends it and returns; the event thread calls
 * fwd_reply() with the driver's DDM_REPLY, which checks it against the
 * rules of its op and answers FUSE.  The driver sockets (struct chan),
 * the interrupt hook, the heartbeat ping and DDM_RELEASE live here too.
 *
 * No thread waits on a driver without a bound.  A worker's send gives up
 * after DRV_SEND_TIMEOUT_MS (SO_SNDTIMEO; the same bound on send_lock)
 * and the driver, which stopped reading its socket, is restarted.  The
 * event thread never blocks: it sends with MSG_DONTWAIT (queued opens,
 * pings).  An interrupt starts a grace time of DRV_INTERRUPT_GRACE_MS
 * after which ddmfs answers EINTR itself (pend_expire()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ddmfs.h"

/* A channel on ddmfs's end fd of a driver socket, whose sends are bounded
 * by DRV_SEND_TIMEOUT_MS; NULL if out of memory or the option fails. */
struct chan *
chan_new(int fd)
{
	struct timeval tv = { .tv_sec = DRV_SEND_TIMEOUT_MS / 1000,
		              .tv_usec = DRV_SEND_TIMEOUT_MS % 1000 * 1000 };
	struct chan *ch;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->fd = fd;
	ch->refs = 1;
	pthread_mutex_init(&ch->send_lock, NULL);
	return ch;
}

/* Drops a reference (lock held); the last one closes the socket. */
void
chan_put(struct chan *ch)
{
	if (ch == NULL || --ch->refs > 0)
		return;
	close(ch->fd);
	pthread_mutex_destroy(&ch->send_lock);
	free(ch);
}

/* Marks ch dead, wakes blocked senders and drops the owner's reference. */
void
chan_close(struct chan *ch)
{
	if (ch == NULL)
		return;
	ch->dead = 1;
	shutdown(ch->fd, SHUT_RDWR);
	chan_put(ch);
}

/*
 * Sends one packet on ch: from a worker with send_lock held and dfs.lock
 * not held (blocks at most DRV_SEND_TIMEOUT_MS, then -EAGAIN), or from the
 * event thread with flags MSG_DONTWAIT.
 */
static int
send_msg(struct chan *ch, struct ddm_msg *m, const void *payload, size_t len,
         int flags)
{
	static __thread char buf[DDM_MSG_MAX];
	long n = ddm_msg_pack(buf, sizeof(buf), m, payload, len);
	int old;

	if (n < 0)
		return (int)n;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	n = send(ch->fd, buf, (size_t)n, MSG_NOSIGNAL | flags);
	pthread_setcancelstate(old, NULL);
	return n < 0 ? -errno : 0;
}

/* Takes ch's send_lock, waiting at most DRV_SEND_TIMEOUT_MS: 0 or
 * -ETIMEDOUT (a sender that holds it that long is failing anyway). */
static int
lock_send(struct chan *ch)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += DRV_SEND_TIMEOUT_MS / 1000;
	ts.tv_nsec += (long)(DRV_SEND_TIMEOUT_MS % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = pthread_mutex_clocklock(&ch->send_lock, CLOCK_MONOTONIC, &ts);
	return r == 0 ? 0 : -r;
}

/*
 * A worker's send to d on ch failed with err (dfs.lock held): a timeout
 * means the driver stopped reading its socket, so it is restarted.
 */
static void
send_failed(struct drv *d, struct chan *ch, const struct ddm_msg *m, int err)
{
	char why[96];

	logdbg("%s: send %s: %s", d->node->path, ddm_op_name(m->op),
	       strerror(-err));
	if (err != -EAGAIN || d->chan != ch)
		return;
	snprintf(why, sizeof(why), "did not read its socket for %d s",
	         DRV_SEND_TIMEOUT_MS / 1000);
	drv_fault(d, why);
}

/*
 * Sends m, which has no payload, to d on ch.  Entered with dfs.lock held;
 * returns with it released.  A reference keeps ch open for the send.
 */
static void
send_unlock(struct drv *d, struct chan *ch, struct ddm_msg *m)
{
	int r;

	ch->refs++;
	pthread_mutex_unlock(&dfs.lock);
	r = lock_send(ch);
	if (r == 0) {
		r = send_msg(ch, m, NULL, 0, 0);
		pthread_mutex_unlock(&ch->send_lock);
	}
	pthread_mutex_lock(&dfs.lock);
	if (r < 0)
		send_failed(d, ch, m, r);
	chan_put(ch);
	pthread_mutex_unlock(&dfs.lock);
}

/*
 * The interrupt hook: tells the driver to give up request id, and starts
 * its grace time (pend_expire()).  A queued open is answered EINTR here.
 */
static void
on_interrupt(fuse_req_t req, void *data)
{
	uint64_t id = (uintptr_t)data;
	struct ddm_msg m;
	struct pend *p;

	pthread_mutex_lock(&dfs.lock);
	p = pend_find(id);
	if (p != NULL && !p->armed) {
		p->intr = 1;
		p = NULL;
	} else if (p != NULL && p->queued) {
		pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		pend_fail(p, -EINTR);
		return;
	}
	if (p == NULL || p->drv->chan == NULL || p->intr_ms != 0) {
		pthread_mutex_unlock(&dfs.lock);
		return;
	}
	p->intr_ms = now_ms();
	ev_recheck();
	ddm_msg_init(&m, DDM_INTERRUPT, id, 0);
	send_unlock(p->drv, p->drv->chan, &m);
}

/*
 * Sends m (with payload) for pending request p to d.  Entered with
 * dfs.lock held and d running; returns with it released.  Never waits for
 * the reply, and waits for the send at most DRV_SEND_TIMEOUT_MS.
 */
void
fwd_request(struct drv *d, struct pend *p, struct ddm_msg *m,
            const void *payload, size_t len)
{
	uint64_t id = p->id;
	struct chan *ch = d->chan;
	int err = 0, locked, r;

	ch->refs++;
	d->requests++;
	m->id = id;
	pthread_mutex_unlock(&dfs.lock);
	fuse_req_interrupt_func(p->req, on_interrupt, (void *)(uintptr_t)id);
	locked = lock_send(ch) == 0;
	pthread_mutex_lock(&dfs.lock);
	if (p->failed != 0)
		err = p->failed;
	else if (p->intr)
		err = -EINTR;
	else if (!locked)
		err = -EIO;
	if (err != 0) {
		pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		if (locked)
			pthread_mutex_unlock(&ch->send_lock);
		pend_fail(p, err);
		goto put_chan;
	}
	p->armed = 1;
	pthread_mutex_unlock(&dfs.lock);
	r = send_msg(ch, m, payload, len, 0);
	pthread_mutex_unlock(&ch->send_lock);
	if (r < 0) {
		pthread_mutex_lock(&dfs.lock);
		send_failed(d, ch, m, r);
		p = pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		if (p != NULL)
			pend_fail(p, -EIO);
	}
put_chan:
	pthread_mutex_lock(&dfs.lock);
	chan_put(ch);
	pthread_mutex_unlock(&dfs.lock);
}

/* The DDM_OPEN message for open request p (lock held or p unanswered). */
void
fwd_open_msg(const struct pend *p, struct ddm_msg *m)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(p->req);

	ddm_msg_init(m, DDM_OPEN, p->id, p->h->fh);
	m->arg0 = (uint32_t)(p->fi.flags & ~O_TRUNC);
	m->uid = ctx->uid;
	m->gid = ctx->gid;
	m->pid = (uint32_t)ctx->pid;
}

/*
 * Queues open p (in the table, not armed) until d comes up.  Entered with
 * dfs.lock held; returns with it released.  Once armed, p is the event
 * thread's (pend_queued()) or, when interrupted, on_interrupt()'s.
 */
void
fwd_open_later(struct drv *d, struct pend *p)
{
	uint64_t id = p->id;
	struct ddm_msg m;

	p->queued = 1;
	p->deadline_ms = now_ms() + DRV_OPEN_WAIT_MS;
	pthread_mutex_unlock(&dfs.lock);
	fuse_req_interrupt_func(p->req, on_interrupt, (void *)(uintptr_t)id);
	pthread_mutex_lock(&dfs.lock);
	if (p->intr) {
		pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		pend_fail(p, -EINTR);
		return;
	}
	if (d->state == DRV_RUNNING && d->chan != NULL) {
		/* it came up meanwhile: no HELLO will look for p */
		p->queued = 0;
		p->h->gen = d->gen;
		fwd_open_msg(p, &m);
		fwd_request(d, p, &m, NULL, 0);
		return;
	}
	p->armed = 1;
	ev_recheck(); /* its wait is a new deadline */
	pthread_mutex_unlock(&dfs.lock);
}

/*
 * Sends queued open p, just taken off the queue, to d now running (event
 * thread, lock held): 0, or -EIO if the socket is full or gone.
 */
int
fwd_open_now(struct drv *d, struct pend *p)
{
	struct ddm_msg m;

	p->h->gen = d->gen;
	d->requests++;
	fwd_open_msg(p, &m);
	return send_msg(d->chan, &m, NULL, 0, MSG_DONTWAIT) < 0 ? -EIO : 0;
}

/*
 * Sends the heartbeat DDM_PING to running d (event thread, lock held) and
 * returns its id.  A ping that cannot be sent (the socket is full) still
 * counts: its deadline catches a driver that stopped reading.
 */
int
fwd_ping(struct drv *d)
{
	struct ddm_msg m;

	d->ping_id = ++dfs.next_id;
	ddm_msg_init(&m, DDM_PING, d->ping_id, 0);
	return send_msg(d->chan, &m, NULL, 0, MSG_DONTWAIT);
}

/* Sends DDM_RELEASE for handle fh if instance gen of d still runs. */
void
fwd_release(struct drv *d, uint64_t fh, uint64_t gen)
{
	struct ddm_msg m;
	struct chan *ch;

	pthread_mutex_lock(&dfs.lock);
	ch = d->chan;
	if (ch == NULL || d->gen != gen) {
		pthread_mutex_unlock(&dfs.lock);
		return;
	}
	d->requests++;
	ddm_msg_init(&m, DDM_RELEASE, ++dfs.next_id, fh);
	send_unlock(d, ch, &m);
}

/* Takes h off its driver's list and frees it (lock held). */
void
handle_unlink(struct handle *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else if (h->drv->handles == h)
		h->drv->handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	if (h->ph != NULL)
		fuse_pollhandle_destroy(h->ph);
	free(h);
}

/* Checks a reply against its request; "" if it keeps the rules. */
static void
check(const struct pend *p, const struct ddm_msg *m, char *why, size_t n)
{
	int32_t r = m->result;

	why[0] = '\0';
	if (r < 0 && m->len != 0)
		snprintf(why, n, "error reply with %u bytes", m->len);
	else if (p->op == DDM_READ && r >= 0 &&
	         ((uint32_t)r != m->len || m->len > p->size))
		snprintf(why, n, "read reply of %d/%u bytes, %zu asked", r,
		         m->len, p->size);
	else if (p->op == DDM_WRITE && r >= 0 &&
	         ((size_t)r > p->size || m->len != 0))
		snprintf(why, n, "write reply of %d, %zu given", r, p->size);
	else if ((p->op == DDM_OPEN || p->op == DDM_POLL ||
	          p->op == DDM_FLUSH) &&
	         m->len != 0)
		snprintf(why, n, "%s reply with %u bytes", ddm_op_name(p->op),
		         m->len);
}

/* Answers a successful DDM_OPEN: the handle goes live. */
static void
open_done(struct pend *p)
{
	struct handle *h = p->h;
	struct drv *d = p->drv;
	uint64_t gen, fh = h->fh;

	pthread_mutex_lock(&dfs.lock);
	h->next = d->handles;
	if (d->handles != NULL)
		d->handles->prev = h;
	d->handles = h;
	gen = h->gen;
	pthread_mutex_unlock(&dfs.lock);
	p->fi.fh = (uintptr_t)h;
	p->fi.direct_io = 1;
	p->fi.nonseekable = 1;
	p->fi.keep_cache = 0;
	if (fuse_reply_open(p->req, &p->fi) == -ENOENT) {
		/* the open was interrupted: nobody will release it */
		pthread_mutex_lock(&dfs.lock);
		handle_unlink(h);
		pthread_mutex_unlock(&dfs.lock);
		fwd_release(d, fh, gen);
	}
}

/*
 * Answers the request a DDM_REPLY from d is for (event thread, lock not
 * held).  Returns 0, or -EPROTO with the broken rule in why (the request
 * is failed with EIO; the caller restarts the driver).  The answer to a
 * ping ends it.  A reply to an unknown id (a late answer to a request
 * ddmfs already answered is legitimate) is logged, rate-limited; more than
 * DRV_BOGUS_MAX of them in a row break the protocol.
 */
int
fwd_reply(struct drv *d, const struct ddm_msg *m, const void *payload,
          char *why, size_t whylen)
{
	struct pend *p = NULL;
	int32_t r = m->result;
	int ping = 0;

	pthread_mutex_lock(&dfs.lock);
	if (d->ping_id != 0 && m->id == d->ping_id) {
		d->ping_id = 0;
		ping = 1;
		ev_recheck(); /* the next ping is due sooner than the timeout */
	} else {
		p = pend_take(m->id, d);
		d->bogus = p == NULL ? d->bogus + 1 : 0;
	}
	pthread_mutex_unlock(&dfs.lock);
	if (ping)
		return 0;
	if (p == NULL) {
		if (d->bogus > DRV_BOGUS_MAX) {
			snprintf(why, whylen,
			         "%u replies to unknown requests in a row",
			         d->bogus);
			return -EPROTO;
		}
		drv_log(d, "%s: reply to unknown request %llu ignored",
		        d->node->path, (unsigned long long)m->id);
		return 0;
	}
	check(p, m, why, whylen);
	if (why[0] != '\0') {
		pend_fail(p, -EIO);
		return -EPROTO;
	}
	if (r < 0) {
		pend_fail(p, r);
		return 0;
	}
	switch (p->op) {
	case DDM_OPEN:
		open_done(p);
		break;
	case DDM_READ:
		fuse_reply_buf(p->req, payload, m->len);
		break;
	case DDM_WRITE:
		fuse_reply_write(p->req, (size_t)r);
		break;
	case DDM_IOCTL:
		if (m->len > p->size) {
			drv_log(d, "%s: ioctl reply of %u bytes, room for %zu",
			        d->node->path, m->len, p->size);
			fuse_reply_err(p->req, EIO);
		} else {
			fuse_reply_ioctl(p->req, r, payload, m->len);
		}
		break;
	case DDM_POLL:
		fuse_reply_poll(p->req, (unsigned int)r);
		break;
	default:
		fuse_reply_err(p->req, 0);
		break;
	}
	free(p);
	return 0;
}
