/*
 * fwd.c: forwarding FUSE requests to drivers and answering them.
 *
 * A worker thread records each request in the pending table (id -> FUSE
 * request), sends it and returns; the event thread calls fwd_reply() with
 * the driver's DDM_REPLY, which checks it against the rules of its op and
 * answers FUSE.  A request only becomes answerable by others once its
 * interrupt hook is set ("armed"), so no request is answered twice.
 *
 * FUSE is never answered with dfs.lock held, so workers queueing new
 * requests do not wait while a reply is written to /dev/fuse.  Whoever
 * answers an armed request first takes it out of the table under the lock:
 * from then on no other thread can reach it (on_interrupt() and a late
 * DDM_REPLY look it up by id and find nothing, and its worker only ever
 * looks it up by id once it is armed), so the taker answers it exactly
 * once and frees it, without the lock.  Requests failed while the lock is
 * held (pend_fail_drv()) wait on dfs.failed for the event thread.  Poll
 * notifications (drv.c) are still sent under the lock: a pollhandle stays
 * on its handle for later notifications, and a worker may replace or free
 * it as soon as the lock is dropped.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static struct pend *
pend_find(uint64_t id)
{
	for (struct pend *p = *bucket(id); p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

/* Takes request id of driver d (any driver if NULL) out of the table. */
static struct pend *
pend_take(uint64_t id, const struct drv *d)
{
	for (struct pend **pp = bucket(id); *pp != NULL; pp = &(*pp)->next) {
		struct pend *p = *pp;

		if (p->id != id)
			continue;
		if (d != NULL && (p->drv != d || !p->armed))
			return NULL;
		*pp = p->next;
		return p;
	}
	return NULL;
}

/* Answers p (already out of the table) with -err and frees it. */
void
pend_fail(struct pend *p, int err)
{
	fuse_reply_err(p->req, err);
	if (p->op == DDM_OPEN)
		free(p->h);
	free(p);
}

/*
 * Fails every request of d with err (lock held).  Requests not armed yet
 * are only marked; their worker answers them.  Armed ones go from the
 * table onto dfs.failed, for the event thread to answer once it has
 * dropped the lock (pend_fail_list()).
 */
void
pend_fail_drv(struct drv *d, int err)
{
	for (size_t b = 0; b < PEND_BUCKETS; b++) {
		struct pend **pp = &dfs.pend[b];

		while (*pp != NULL) {
			struct pend *p = *pp;

			if (p->drv != d) {
				pp = &p->next;
			} else if (!p->armed) {
				p->failed = err;
				pp = &p->next;
			} else {
				*pp = p->next;
				p->failed = err;
				p->next = dfs.failed;
				dfs.failed = p;
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

struct chan *
chan_new(int fd)
{
	struct chan *ch = calloc(1, sizeof(*ch));

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

/* Sends one packet on ch (send_lock held, dfs.lock not held). */
static int
send_msg(struct chan *ch, struct ddm_msg *m, const void *payload, size_t len)
{
	static __thread char buf[DDM_MSG_MAX];
	long n = ddm_msg_pack(buf, sizeof(buf), m, payload, len);
	int old;

	if (n < 0)
		return (int)n;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	n = send(ch->fd, buf, (size_t)n, MSG_NOSIGNAL);
	pthread_setcancelstate(old, NULL);
	return n < 0 ? -errno : 0;
}

/*
 * Sends m, which has no payload, on ch.  Entered with dfs.lock held;
 * returns with it released.  A reference keeps ch open for the send.
 */
static void
send_unlock(struct chan *ch, struct ddm_msg *m)
{
	ch->refs++;
	pthread_mutex_unlock(&dfs.lock);
	pthread_mutex_lock(&ch->send_lock);
	send_msg(ch, m, NULL, 0);
	pthread_mutex_unlock(&ch->send_lock);
	pthread_mutex_lock(&dfs.lock);
	chan_put(ch);
	pthread_mutex_unlock(&dfs.lock);
}

/* The interrupt hook: tells the driver to give up request id. */
static void
on_interrupt(fuse_req_t req, void *data)
{
	uint64_t id = (uintptr_t)data;
	struct ddm_msg m;
	struct pend *p;

	pthread_mutex_lock(&dfs.lock);
	p = pend_find(id);
	if (p == NULL || p->drv->chan == NULL) {
		pthread_mutex_unlock(&dfs.lock);
		return;
	}
	if (!p->armed) {
		p->intr = 1;
		pthread_mutex_unlock(&dfs.lock);
		return;
	}
	ddm_msg_init(&m, DDM_INTERRUPT, id, 0);
	send_unlock(p->drv->chan, &m);
}

/*
 * Sends m (with payload) for pending request p to d.  Entered with
 * dfs.lock held and d running; returns with it released.  Never waits for
 * the reply.
 */
void
fwd_request(struct drv *d, struct pend *p, struct ddm_msg *m,
            const void *payload, size_t len)
{
	uint64_t id = p->id;
	struct chan *ch = d->chan;
	int err = 0, r;

	ch->refs++;
	d->requests++;
	m->id = id;
	pthread_mutex_unlock(&dfs.lock);
	fuse_req_interrupt_func(p->req, on_interrupt, (void *)(uintptr_t)id);
	pthread_mutex_lock(&ch->send_lock);
	pthread_mutex_lock(&dfs.lock);
	if (p->failed != 0)
		err = p->failed;
	else if (p->intr)
		err = EINTR;
	if (err != 0) {
		pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		pthread_mutex_unlock(&ch->send_lock);
		pend_fail(p, err);
		goto put_chan;
	}
	p->armed = 1;
	pthread_mutex_unlock(&dfs.lock);
	r = send_msg(ch, m, payload, len);
	pthread_mutex_unlock(&ch->send_lock);
	if (r < 0) {
		logdbg("%s: send %s: %s", d->node->path, ddm_op_name(m->op),
		       strerror(-r));
		pthread_mutex_lock(&dfs.lock);
		p = pend_take(id, NULL);
		pthread_mutex_unlock(&dfs.lock);
		if (p != NULL)
			pend_fail(p, EIO);
	}
put_chan:
	pthread_mutex_lock(&dfs.lock);
	chan_put(ch);
	pthread_mutex_unlock(&dfs.lock);
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
	send_unlock(ch, &m);
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
 * Answers the request a DDM_REPLY from d is for.  Returns 0, or -EPROTO
 * with the broken rule in why (the request is failed with EIO; the caller
 * restarts the driver).  A reply to an unknown id is logged and ignored.
 */
int
fwd_reply(struct drv *d, const struct ddm_msg *m, const void *payload,
          char *why, size_t whylen)
{
	struct pend *p;
	int32_t r = m->result;

	pthread_mutex_lock(&dfs.lock);
	p = pend_take(m->id, d);
	pthread_mutex_unlock(&dfs.lock);
	if (p == NULL) {
		logmsg("%s: reply to unknown request %llu ignored",
		       d->node->path, (unsigned long long)m->id);
		return 0;
	}
	check(p, m, why, whylen);
	if (why[0] != '\0') {
		pend_fail(p, EIO);
		return -EPROTO;
	}
	if (r < 0) {
		pend_fail(p, -r);
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
			logmsg("%s: ioctl reply of %u bytes, room for %zu",
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
