/*
 * fwd.c: the message path between FUSE requests and drivers (fwd.h).
 *
 * Who answers a request: its worker while the entry is PEND_NEW (others
 * only mark it failed or interrupted); once it is sent or parked, whoever
 * takes it out of its driver's table under the driver's lock, exactly
 * once, after dropping the lock.  A request carried by libfuse (p->req)
 * is answered through libfuse; one handed over by an upgrade (p->req
 * NULL) by its unique, straight to /dev/fuse.
 *
 * With -d every forwarded request is logged once answered, with its
 * result and latency: "isa0/rtc0: read 4096 @0 -> 20 (85 us)",
 * "isa0/lp0: ioctl 0x80045401 -> ENOTTY (40 us)".  Without -d nothing is
 * timed or formatted (one test of dfs.debug per request).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddmfs.h"
#include "drv.h"
#include "fuseio.h"
#include "fwd.h"
#include "log.h"

/* room for a traced request's "NODE: op args" */
#define TRACE_MAX (NODE_PATH_MAX + 64)

static int64_t
now(void)
{
	return drv_sys->now();
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The name of node index node of d, "isa0/rtc0", into buf: its bus (from
 * the instance's path) and its name (from the instance's fixed conf copy,
 * so no tree lock is needed); the instance's path if unknown. */
static const char *
node_name(const struct drv *d, unsigned int node, char *buf, size_t n)
{
	const char *slash = strrchr(d->path, '/');
	size_t len;

	if (node >= d->cf.n_nodes || slash == NULL)
		return d->path;
	len = strcspn(d->cf.nodes[node], ":");
	snprintf(buf, n, "%.*s/%.*s", (int)(slash - d->path), d->path, (int)len,
	         d->cf.nodes[node]);
	return buf;
}

/* errno value err (> 0) by its name, "ENOTTY", else its number. */
static void
errno_name(int err, char *buf, size_t n)
{
	const char *name = strerrorname_np(err);

	if (name != NULL)
		snprintf(buf, n, "%s", name);
	else
		snprintf(buf, n, "errno %d", err);
}

/*
 * With -d: notes when p came and what it asks, "NODE: op ARGS" (args
 * printf-style), for trace_end().  d->lock held; p was made by pend_new()
 * with room for it.
 */
static void __attribute__((format(printf, 3, 4)))
trace_begin(const struct drv *d, struct pend *p, const char *fmt, ...)
{
	char name[NODE_PATH_MAX];
	va_list ap;
	int n;

	if (!dfs.debug)
		return;
	n = snprintf(p->trace, TRACE_MAX, "%s: %s",
	             node_name(d, p->node, name, sizeof(name)),
	             ddm_op_name(p->op));
	if (n > 0 && n < TRACE_MAX) {
		va_start(ap, fmt);
		vsnprintf(p->trace + n, TRACE_MAX - (size_t)n, fmt, ap);
		va_end(ap);
	}
	p->trace_us = now_us();
}

/* With -d: logs traced request p with its answer, result (a count, or
 * -errno) and latency. */
static void
trace_end(const struct pend *p, int result)
{
	char res[32];

	if (p->trace_us == 0)
		return;
	if (result < 0)
		errno_name(-result, res, sizeof(res));
	else if (p->op == DDM_POLL)
		snprintf(res, sizeof(res), "%#x", (unsigned int)result);
	else
		snprintf(res, sizeof(res), "%d", result);
	logdbg("%s -> %s (%lld us)", p->trace, res,
	       (long long)(now_us() - p->trace_us));
}

/* With -d: a request refused before it reached a driver. */
static void
trace_refused(const struct drv *d, enum ddm_op op, int err)
{
	char res[32];

	if (!dfs.debug)
		return;
	errno_name(-err, res, sizeof(res));
	logdbg("%s: %s -> %s (not forwarded)", d != NULL ? d->path : "?",
	       ddm_op_name(op), res);
}

/* err as FUSE can carry it: a driver's out-of-range error becomes EIO. */
static int
fuse_err(int err)
{
	return err < 0 && err >= DDM_ERRNO_MIN ? -err : EIO;
}

/* Frees p once it is answered. */
static void
done(struct pend *p)
{
	if (p->req == NULL)
		fuseio_untrack(p->unique);
	free(p);
}

static void
answer_err(struct pend *p, int err)
{
	trace_end(p, err == 0 ? 0 : -fuse_err(err));
	if (p->req != NULL)
		fuse_reply_err(p->req, err == 0 ? 0 : fuse_err(err));
	else
		kern_reply_err(p->unique, err == 0 ? 0 : -fuse_err(err));
	done(p);
}

/* Answers a successful open; -ENOENT if the caller is gone. */
static int
answer_open(struct pend *p, bool seekable)
{
	struct fuse_file_info fi = { .fh = p->fh, .flags = p->flags };
	int r;

	fi.direct_io = 1;
	fi.nonseekable = !seekable;
	if (p->req != NULL)
		r = fuse_reply_open(p->req, &fi);
	else
		r = kern_reply_open(p->unique, p->fh, seekable);
	return r;
}

static void
answer_data(struct pend *p, int32_t result, const void *payload, size_t len)
{
	trace_end(p, result);
	if (p->req != NULL) {
		switch (p->op) {
		case DDM_READ:
			fuse_reply_buf(p->req, payload, len);
			break;
		case DDM_WRITE:
			fuse_reply_write(p->req, (size_t)result);
			break;
		case DDM_IOCTL:
			fuse_reply_ioctl(p->req, result, payload, len);
			break;
		case DDM_POLL:
			fuse_reply_poll(p->req, (unsigned int)result);
			break;
		default:
			fuse_reply_err(p->req, 0);
			break;
		}
		return;
	}
	switch (p->op) {
	case DDM_READ:
		kern_reply_buf(p->unique, payload, len);
		break;
	case DDM_WRITE:
		kern_reply_write(p->unique, (size_t)result);
		break;
	case DDM_IOCTL:
		kern_reply_ioctl(p->unique, result, payload, len);
		break;
	case DDM_POLL:
		kern_reply_poll(p->unique, (unsigned int)result);
		break;
	default:
		kern_reply_err(p->unique, 0);
		break;
	}
}

/* Answers each pend of list with its err. */
static void
fail_list(struct pend *list)
{
	while (list != NULL) {
		struct pend *p = list;

		list = p->link;
		answer_err(p, p->err);
	}
}

void
fwd_finish(struct drv_out *out)
{
	fail_list(out->fail);
	out->fail = NULL;
	for (size_t i = 0; i < out->n_kh; i++)
		kern_notify_poll(out->kh[i]);
	free(out->kh);
	out->kh = NULL;
	out->n_kh = out->cap_kh = 0;
}

/* The message for pend p (its fields; the op's arguments are added by
 * the caller). */
static void
msg_for(const struct pend *p, struct ddm_msg *m)
{
	ddm_msg_init(m, p->op, p->e.id, p->fh);
	m->uid = p->uid;
	m->gid = p->gid;
	m->pid = p->pid;
	if (p->op == DDM_OPEN) {
		m->arg0 = (uint32_t)(p->flags & ~O_TRUNC);
		m->arg1 = p->node;
	}
}

/* A new entry for req on d (d->lock held), in the table: NULL on ENOMEM. */
static struct pend *
pend_new(struct drv *d, fuse_req_t req, enum ddm_op op, uint64_t fh)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pend *p = calloc(1, sizeof(*p) + (dfs.debug ? TRACE_MAX : 0));

	if (p == NULL)
		return NULL;
	p->e.id = id_new(d->slot);
	p->req = req;
	p->unique = fuseio_unique();
	p->op = op;
	p->fh = fh;
	p->uid = ctx->uid;
	p->gid = ctx->gid;
	p->pid = (uint32_t)ctx->pid;
	if (pend_add(&d->pend, p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * Acts on an interrupt of p (d->lock held): marks it if its worker still
 * owns it, passes it on if it is with the driver, or takes out a parked
 * open, which the caller answers EINTR (returned).
 */
static struct pend *
interrupt(struct drv *d, struct pend *p)
{
	struct ddm_msg m;

	switch (p->state) {
	case PEND_NEW:
		p->intr = true;
		return NULL;
	case PEND_QUEUED:
		pend_take(&d->pend, p->e.id);
		p->err = -EINTR;
		return p;
	default:
		if (p->intr_at != 0 || d->chan == NULL)
			return NULL;
		ddm_msg_init(&m, DDM_INTERRUPT, p->e.id, 0);
		chan_send(d->chan, &m, NULL, 0, now());
		pend_set_intr(&d->pend, p, now());
		drv_sys->wake(d); /* its grace time is a new deadline */
		return NULL;
	}
}

/* libfuse's interrupt hook; data is the request id. */
static void
on_interrupt(fuse_req_t req, void *data)
{
	uint64_t id = (uintptr_t)data;
	struct pend *p = NULL;
	struct drv *d;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	d = drv_by_slot(id_slot(id));
	if (d != NULL)
		pthread_mutex_lock(&d->lock);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (d == NULL)
		return;
	p = pend_find(&d->pend, id);
	if (p != NULL)
		p = interrupt(d, p);
	pthread_mutex_unlock(&d->lock);
	if (p != NULL)
		answer_err(p, p->err);
}

struct unique_search {
	uint64_t unique;
	struct pend *fail;
};

static void
interrupt_unique(struct drv *d, void *arg)
{
	struct unique_search *s = arg;
	struct pend *p;

	pthread_mutex_lock(&d->lock);
	p = pend_find_unique(&d->pend, s->unique);
	if (p != NULL && p->req == NULL)
		s->fail = interrupt(d, p);
	pthread_mutex_unlock(&d->lock);
}

void
fwd_interrupt_unique(uint64_t unique)
{
	struct unique_search s = { unique, NULL };

	pthread_rwlock_rdlock(&dfs.tree_lock);
	drv_each(interrupt_unique, &s);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (s.fail != NULL)
		answer_err(s.fail, s.fail->err);
}

/*
 * Sends new entry p with message m to d (or, for an open while d comes
 * up, parks it).  Entered with d->lock held; returns with it dropped.
 * The interrupt hook is set first, without the lock: once p is sent,
 * another thread may answer (and so free) its request at any time.
 */
static void
send_new(struct drv *d, struct pend *p, struct ddm_msg *m, const void *payload,
         size_t len)
{
	uint64_t id = p->e.id;
	struct chan *ch;
	int err = 0, r = 0;

	pthread_mutex_unlock(&d->lock);
	fuse_req_interrupt_func(p->req, on_interrupt, (void *)(uintptr_t)id);
	pthread_mutex_lock(&d->lock);
	if (p->err != 0)
		err = p->err;
	else if (p->intr)
		err = -EINTR;
	else if (d->removed)
		err = -ENODEV;
	if (err == 0 && p->op == DDM_OPEN && !drv_up(d)) {
		if (!drv_coming_up(d)) {
			err = -ENXIO;
		} else {
			p->due = now() + DRV_OPEN_WAIT_MS;
			pend_set_state(&d->pend, p, PEND_QUEUED);
			drv_sys->wake(d); /* its wait is a new deadline */
			pthread_mutex_unlock(&d->lock);
			return;
		}
	}
	if (err == 0) {
		r = chan_send(d->chan, m, payload, len, now());
		if (r < 0)
			err = r == -EBUSY ? -EBUSY : -EIO;
	}
	if (err != 0) {
		pend_take(&d->pend, id);
		pthread_mutex_unlock(&d->lock);
		answer_err(p, err);
		return;
	}
	pend_set_state(&d->pend, p, PEND_SENT);
	d->requests++;
	if (r == 1)
		drv_sys->wake(d); /* queued: the event thread flushes it */
	if (r == 1 || drv_sys->receive == NULL || d->pend.map.n < 2) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* others wait too: their answers may be in already, and this worker
	 * sends them on (with one receiver, the event thread, every answer
	 * would wait for it) */
	ch = d->chan;
	chan_get(ch);
	d->pins++;
	pthread_mutex_unlock(&d->lock);
	drv_sys->receive(d, ch);
	chan_put(ch);
	pthread_mutex_lock(&d->lock);
	if (--d->pins == 0 && d->removed)
		drv_sys->wake(d); /* it may be unused now */
	pthread_mutex_unlock(&d->lock);
}

void
fwd_open(fuse_req_t req, struct drv *d, unsigned int node,
         struct fuse_file_info *fi)
{
	struct ddm_msg m;
	struct pend *p;
	int err = 0;

	if (d->removed)
		err = -ENODEV;
	else if (!drv_up(d) && !drv_coming_up(d))
		err = -ENXIO;
	else if ((p = pend_new(d, req, DDM_OPEN, id_new(d->slot))) == NULL)
		err = -ENOMEM;
	if (err != 0) {
		pthread_mutex_unlock(&d->lock);
		trace_refused(d, DDM_OPEN, err);
		fuse_reply_err(req, -err);
		return;
	}
	p->flags = fi->flags;
	p->node = node;
	trace_begin(d, p, " %#o", (unsigned int)fi->flags);
	msg_for(p, &m);
	send_new(d, p, &m, NULL, 0);
}

/*
 * Starts forwarding op on open file fi: returns its driver locked and a
 * new entry, or NULL (nothing locked) after answering the error: EIO for
 * a handle from before its driver restarted, ENODEV once its node is gone.
 */
static struct pend *
begin(fuse_req_t req, struct fuse_file_info *fi, enum ddm_op op,
      struct drv **ret_d, struct handle **ret_h)
{
	struct drv *d = drv_by_slot(id_slot(fi->fh));
	struct handle *h = NULL;
	struct pend *p = NULL;
	int err = -EBADF;

	if (d != NULL) {
		pthread_mutex_lock(&d->lock);
		h = handle_find(&d->handles, fi->fh);
		if (h == NULL)
			err = -EBADF;
		else if (d->removed)
			err = -ENODEV;
		else if (h->gen != d->gen || d->chan == NULL)
			err = -EIO;
		else if ((p = pend_new(d, req, op, fi->fh)) == NULL)
			err = -ENOMEM;
		if (p == NULL)
			pthread_mutex_unlock(&d->lock);
	}
	if (p == NULL) {
		trace_refused(d, op, err);
		fuse_reply_err(req, -err);
		return NULL;
	}
	p->node = h->node;
	*ret_d = d;
	if (ret_h != NULL)
		*ret_h = h;
	return p;
}

/* size, cut to the largest payload d's driver takes. */
static size_t
clamp_payload(struct drv *d, size_t size)
{
	size_t max = d->payload_max;

	return size < max ? size : max;
}

void
fwd_read(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off)
{
	struct ddm_msg m;
	struct drv *d;
	struct pend *p = begin(req, fi, DDM_READ, &d, NULL);

	if (p == NULL)
		return;
	p->size = clamp_payload(d, size);
	trace_begin(d, p, " %zu @%lld", p->size, (long long)off);
	msg_for(p, &m);
	m.arg0 = (uint32_t)fi->flags;
	m.arg1 = p->size;
	m.arg2 = off >= 0 ? (uint64_t)off : 0;
	send_new(d, p, &m, NULL, 0);
}

void
fwd_write(fuse_req_t req, struct fuse_file_info *fi, const void *buf,
          size_t size, off_t off)
{
	struct ddm_msg m;
	struct drv *d;
	struct pend *p = begin(req, fi, DDM_WRITE, &d, NULL);

	if (p == NULL)
		return;
	/* a write past what the driver takes is a short write */
	p->size = clamp_payload(d, size);
	trace_begin(d, p, " %zu @%lld", p->size, (long long)off);
	msg_for(p, &m);
	m.arg0 = (uint32_t)fi->flags;
	m.arg1 = off >= 0 ? (uint64_t)off : 0;
	send_new(d, p, &m, buf, p->size);
}

void
fwd_ioctl(fuse_req_t req, struct fuse_file_info *fi, unsigned int cmd,
          uint64_t arg, const void *in, size_t in_len, size_t out_len)
{
	struct ddm_msg m;
	struct drv *d;
	struct pend *p = begin(req, fi, DDM_IOCTL, &d, NULL);

	if (p == NULL)
		return;
	p->size = out_len;
	trace_begin(d, p, " %#x", cmd);
	msg_for(p, &m);
	m.arg0 = cmd;
	m.arg1 = arg;
	m.arg2 = out_len;
	send_new(d, p, &m, in, in_len);
}

void
fwd_poll(fuse_req_t req, struct fuse_file_info *fi, uint64_t kh)
{
	struct ddm_msg m;
	struct handle *h;
	struct drv *d;
	struct pend *p = begin(req, fi, DDM_POLL, &d, &h);

	if (p == NULL)
		return;
	if (kh != 0)
		h->kh = kh;
	trace_begin(d, p, " %#x", fi->poll_events);
	msg_for(p, &m);
	m.arg0 = fi->poll_events;
	m.arg1 = kh != 0;
	send_new(d, p, &m, NULL, 0);
}

/*
 * A flush (each close(2)) is answered here, not forwarded: libdriver has
 * no flush hook and answers every flush of a handle it knows 0, so the
 * round trip to the driver told the caller nothing.  close(2) of a
 * handle from before a driver crash succeeds as well: there is nothing
 * left to flush, and its reads already said EIO.
 */
void
fwd_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	struct drv *d = drv_by_slot(id_slot(fi->fh));
	int err = -EBADF;

	if (d != NULL) {
		pthread_mutex_lock(&d->lock);
		if (handle_find(&d->handles, fi->fh) != NULL)
			err = 0;
		pthread_mutex_unlock(&d->lock);
	}
	if (err != 0)
		trace_refused(d, DDM_FLUSH, err);
	else if (dfs.debug)
		logdbg("%s: flush -> 0 (not forwarded)",
		       d != NULL ? d->path : "?");
	fuse_reply_err(req, -err);
}

/* Tells d's driver that handle h is closed, if its instance still runs
 * (d->lock held). */
static void
send_release(struct drv *d, const struct handle *h)
{
	struct ddm_msg m;

	if (h->gen != d->gen || d->chan == NULL)
		return;
	if (dfs.debug) { /* nothing answers a release: logged as sent */
		char name[NODE_PATH_MAX];

		logdbg("%s: release",
		       node_name(d, h->node, name, sizeof(name)));
	}
	ddm_msg_init(&m, DDM_RELEASE, id_new(d->slot), h->e.id);
	d->requests++;
	if (chan_send(d->chan, &m, NULL, 0, now()) == 1)
		drv_sys->wake(d);
}

void
fwd_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct drv *d = drv_by_slot(id_slot(fi->fh));
	struct handle *h = NULL;

	if (d != NULL) {
		pthread_mutex_lock(&d->lock);
		h = handle_take(&d->handles, fi->fh);
		if (h != NULL)
			send_release(d, h);
		if (d->removed)
			drv_sys->wake(d); /* it may be unused now */
		pthread_mutex_unlock(&d->lock);
	}
	free(h);
	fuse_reply_err(req, 0);
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
	else if (p->op == DDM_IOCTL && r >= 0 && m->len > p->size)
		snprintf(why, n, "ioctl reply of %u bytes, room for %zu",
		         m->len, p->size);
	else if ((p->op == DDM_OPEN || p->op == DDM_POLL ||
	          p->op == DDM_FLUSH) &&
	         m->len != 0)
		snprintf(why, n, "%s reply with %u bytes", ddm_op_name(p->op),
		         m->len);
}

/*
 * The driver instance gen opened p's handle: it goes live, or back if the
 * caller is gone.  If that instance died since its answer, the open fails
 * EIO like the rest of its requests: a handle filed under the next one
 * would reach a driver that never opened it.  No lock held.
 */
static void
opened(struct drv *d, struct pend *p, uint64_t gen)
{
	struct handle *h = calloc(1, sizeof(*h));
	bool seekable;
	int r;

	pthread_mutex_lock(&d->lock);
	if (gen != d->gen) {
		d->errors++;
		pthread_mutex_unlock(&d->lock);
		free(h);
		answer_err(p, -EIO);
		return;
	}
	seekable = p->node < d->n_nodes && d->nodes[p->node] != NULL &&
	           d->nodes[p->node]->seekable;
	if (h != NULL) {
		h->e.id = p->fh;
		h->gen = d->gen;
		h->flags = p->flags;
		h->node = p->node;
		if (handle_add(&d->handles, h) < 0) {
			send_release(d, h);
			free(h);
			h = NULL;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (h == NULL) {
		answer_err(p, -ENOMEM);
		return;
	}
	r = answer_open(p, seekable);
	trace_end(p, r);
	if (r == -ENOENT) {
		/* interrupted meanwhile: no release will come for it */
		pthread_mutex_lock(&d->lock);
		h = handle_take(&d->handles, p->fh);
		if (h != NULL)
			send_release(d, h);
		pthread_mutex_unlock(&d->lock);
		free(h);
	}
	done(p);
}

void
fwd_reply(struct drv *d, const struct ddm_msg *m, const void *payload)
{
	struct drv_out out = { 0 };
	struct pend *p = NULL;
	char why[128], what[64];
	uint64_t gen;

	pthread_mutex_lock(&d->lock);
	gen = d->gen; /* the instance answering: its channel is still up */
	if (d->ping_id != 0 && m->id == d->ping_id) {
		d->ping_id = 0;
		d->bogus = 0;
		drv_sys->wake(d); /* the next ping is due sooner */
	} else {
		p = pend_find(&d->pend, m->id);
		if (p != NULL && p->state == PEND_SENT) {
			pend_take(&d->pend, m->id);
			d->bogus = 0;
			check(p, m, why, sizeof(why));
			if (why[0] != '\0') {
				drv_fault(d, why, &out);
				p->err = -EIO;
			}
			if (p->err != 0 || m->result < 0)
				d->errors++;
		} else {
			p = NULL;
			/* legitimate once: a late answer to a request ddmfs
			 * already answered; a run of them is not */
			snprintf(what, sizeof(what),
			         "reply to unknown request %llu",
			         (unsigned long long)m->id);
			drv_bogus(d, what, &out);
		}
	}
	pthread_mutex_unlock(&d->lock);
	fwd_finish(&out);
	if (p == NULL)
		return;
	if (p->err != 0)
		answer_err(p, p->err);
	else if (m->result < 0)
		answer_err(p, m->result);
	else if (p->op == DDM_OPEN)
		opened(d, p, gen);
	else {
		answer_data(p, m->result, payload, m->len);
		done(p);
	}
}

void
fwd_notify(struct drv *d, const struct ddm_msg *m)
{
	struct drv_out out = { 0 };
	struct handle *h;
	uint64_t kh = 0;

	pthread_mutex_lock(&d->lock);
	h = handle_find(&d->handles, m->fh);
	if (h != NULL && h->gen == d->gen && h->kh != 0) {
		/* one wakeup per poll: the kernel polls again for more */
		kh = h->kh;
		h->kh = 0;
		d->bogus = 0;
	} else {
		drv_bogus(d, "poll notification nobody waits for", &out);
	}
	pthread_mutex_unlock(&d->lock);
	fwd_finish(&out);
	if (kh != 0)
		kern_notify_poll(kh);
}

void
fwd_send_queued(struct drv *d)
{
	struct pend *list, *fail = NULL;
	struct ddm_msg m;
	int r;

	pthread_mutex_lock(&d->lock);
	list = drv_up(d) ? pend_take_queued(&d->pend) : NULL;
	while (list != NULL) {
		struct pend *p = list;

		list = p->link;
		p->state = PEND_SENT;
		msg_for(p, &m);
		r = pend_add(&d->pend, p);
		if (r == 0) {
			r = chan_send(d->chan, &m, NULL, 0, now());
			if (r == 1)
				drv_sys->wake(d);
			if (r < 0)
				pend_take(&d->pend, p->e.id);
		}
		if (r < 0) {
			p->err = -EIO;
			p->link = fail;
			fail = p;
		} else {
			d->requests++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	fail_list(fail);
}
