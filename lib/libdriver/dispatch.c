/*
 * dispatch.c: request dispatch.  Turns each request a transport delivers
 * into a call of the driver's hook, keeps the open handles (by fh) and the
 * suspended requests, and checks every answer before it goes out: a hook
 * that claims more bytes than there are is a driver bug and gives -EIO.
 * A handle whose open is suspended is "opening" until the answer: then it
 * becomes open (0) or is freed without release (-errno).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "driver_impl.h"

#define HBUCKETS_MIN     64 /* initial size of the handle table */
#define DISPATCH_BATCH   64 /* requests served per wakeup, for fairness */
#define POLL_EVENTS_MASK 0xffffu
#define DDM_TEXT_MAX     4096 /* ddm_read_text()'s room */

static size_t
hslot(const struct ddm_dev *dev, uint64_t fh)
{
	return (size_t)((fh * 0x9e3779b97f4a7c15ull) >> 32) &
	       (dev->hbuckets - 1);
}

static struct hnd *
hlookup(struct ddm_dev *dev, uint64_t fh)
{
	struct hnd *hp;

	for (hp = dev->htab[hslot(dev, fh)]; hp != NULL; hp = hp->next)
		if (hp->fh == fh)
			return hp;
	return NULL;
}

/* Doubles the table when chains grow long; on ENOMEM keeps the old one. */
static void
hgrow(struct ddm_dev *dev)
{
	struct hnd **old = dev->htab, *hp, *next;
	size_t i, n = dev->hbuckets;

	dev->htab = calloc(n * 2, sizeof(*dev->htab));
	if (dev->htab == NULL) {
		dev->htab = old;
		return;
	}
	dev->hbuckets = n * 2;
	for (i = 0; i < n; i++) {
		for (hp = old[i]; hp != NULL; hp = next) {
			next = hp->next;
			hp->next = dev->htab[hslot(dev, hp->fh)];
			dev->htab[hslot(dev, hp->fh)] = hp;
		}
	}
	free(old);
}

/* The open (not opening) handle fh, or NULL. */
static struct hnd *
hlive(struct ddm_dev *dev, uint64_t fh)
{
	struct hnd *hp = hlookup(dev, fh);

	return hp != NULL && hp->open_req == NULL ? hp : NULL;
}

static void
hinsert(struct ddm_dev *dev, struct hnd *hp)
{
	struct hnd **head = &dev->node_hnds[hp->h.node->index];
	size_t i;

	if (dev->nhandles >= 2 * dev->hbuckets)
		hgrow(dev);
	i = hslot(dev, hp->fh);
	hp->next = dev->htab[i];
	dev->htab[i] = hp;
	dev->nhandles++;
	hp->nprev = NULL;
	hp->nnext = *head;
	if (*head != NULL)
		(*head)->nprev = hp;
	*head = hp;
}

/* Frees hp (out of the table already). */
static void
hfree(struct hnd *hp)
{
	free(hp->text);
	free(hp);
}

/* Takes hp off its node's list. */
static void
node_unlink(struct ddm_dev *dev, struct hnd *hp)
{
	if (hp->nprev != NULL)
		hp->nprev->nnext = hp->nnext;
	else if (dev->node_hnds[hp->h.node->index] == hp)
		dev->node_hnds[hp->h.node->index] = hp->nnext;
	if (hp->nnext != NULL)
		hp->nnext->nprev = hp->nprev;
	hp->nprev = hp->nnext = NULL;
}

static void
hremove(struct ddm_dev *dev, struct hnd *hp)
{
	struct hnd **php;

	for (php = &dev->htab[hslot(dev, hp->fh)]; *php != NULL;
	     php = &(*php)->next) {
		if (*php == hp) {
			*php = hp->next;
			dev->nhandles--;
			break;
		}
	}
	node_unlink(dev, hp);
}

static struct ddm_req *
req_new(struct ddm_dev *dev, const struct ddm_rq *rq, struct hnd *hp)
{
	struct ddm_req *r;

	if (dev->n_spare > 0) {
		r = dev->spare[--dev->n_spare];
		memset(r, 0, sizeof(*r));
	} else if ((r = calloc(1, sizeof(*r))) == NULL) {
		return NULL;
	}
	r->dev = dev;
	r->tp = rq->tp;
	r->hnd = hp;
	r->id = rq->id;
	r->tctx = rq->tctx;
	r->op = rq->op;
	r->cred = (struct ddm_cred){ .uid = rq->uid,
		                     .gid = rq->gid,
		                     .pid = (pid_t)rq->pid };
	r->next = dev->reqs;
	if (dev->reqs != NULL)
		dev->reqs->prev = r;
	dev->reqs = r;
	return r;
}

/*
 * Settles the handle of OPEN request r as it is freed: open if r was
 * answered >= 0, else gone without a release (it never opened).
 */
static void
open_settle(struct ddm_req *r)
{
	struct hnd *hp = r->hnd;

	hp->open_req = NULL;
	r->hnd = NULL;
	if (!r->done || r->result < 0) {
		hremove(r->dev, hp);
		hfree(hp);
	}
}

static void
req_free(struct ddm_req *r)
{
	struct ddm_dev *dev = r->dev;

	if (r->op == DDM_OPEN && r->hnd != NULL && r->hnd->open_req == r)
		open_settle(r);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		dev->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (dev->n_spare < DDM_REQ_SPARE)
		dev->spare[dev->n_spare++] = r;
	else
		free(r);
}

static int
send_reply(struct ddm_dev *dev, struct ddm_transport *tp, uint64_t id,
           void *tctx, long result, const void *data, size_t len)
{
	int err;

	err = tp->ops->send_reply(tp, id, tctx, result, data, len);
	if (err < 0 && err != -EPIPE && err != -ECONNRESET)
		ddm_log(dev, "cannot send a reply: %s", strerror(-err));
	return err;
}

/*
 * Checks an answer against what the request allows and returns the result
 * to send; *len is trimmed to the bytes that go with it.
 */
static long
check_answer(struct ddm_req *r, long result, size_t *len)
{
	if (result < 0) {
		*len = 0;
		if (result >= DDM_ERRNO_MIN)
			return result;
		ddm_log(r->dev, "%s hook gave %ld, not -errno",
		        ddm_op_name(r->op), result);
		return -EIO;
	}
	switch (r->op) {
	case DDM_READ:
		if ((size_t)result > r->size || (size_t)result > *len)
			goto bug;
		*len = (size_t)result;
		return result;
	case DDM_WRITE:
		if ((size_t)result > r->size)
			goto bug;
		break;
	case DDM_IOCTL:
		if (result > DDM_PAYLOAD_MAX || *len > r->size)
			goto bug;
		return result;
	case DDM_OPEN:
		*len = 0;
		return 0;
	default:
		if (result > DDM_PAYLOAD_MAX)
			goto bug;
		break;
	}
	*len = 0;
	return result;

bug:
	ddm_log(r->dev, "%s hook gave %ld for %zu bytes: a driver bug",
	        ddm_op_name(r->op), result, r->size);
	*len = 0;
	return -EIO;
}

void
ddm_reply(struct ddm_req *r, long result, const void *data, size_t len)
{
	if (r == NULL)
		return;
	if (r->zombie) { /* answered -EINTR long ago: now it can go */
		if (!r->in_hook)
			req_free(r);
		return;
	}
	if (r->done) {
		ddm_log(r->dev, "%s request answered twice",
		        ddm_op_name(r->op));
		return;
	}
	result = check_answer(r, result, &len);
	send_reply(r->dev, r->tp, r->id, r->tctx, result, data, len);
	r->done = true;
	r->result = result;
	if (!r->in_hook)
		req_free(r);
}

void
ddm_reply_error(struct ddm_req *r, int err)
{
	ddm_reply(r, err, NULL, 0);
}

struct ddm_handle *
ddm_req_handle(struct ddm_req *r)
{
	return r->hnd != NULL ? &r->hnd->h : NULL;
}

size_t
ddm_req_size(struct ddm_req *r)
{
	return r->size;
}

const struct ddm_cred *
ddm_req_cred(struct ddm_req *r)
{
	return &r->cred;
}

struct ddm_req *
ddm_open_req(struct ddm_handle *h)
{
	struct hnd *hp = (struct hnd *)h;

	return hp != NULL && hp->in_open ? hp->open_req : NULL;
}

void
ddm_poll_notify(struct ddm_handle *h)
{
	struct hnd *hp = (struct hnd *)h;
	int err;

	if (hp == NULL || !hp->want_notify)
		return;
	hp->want_notify = false;
	err = hp->tp->ops->send_notify(hp->tp, hp->fh);
	if (err < 0 && err != -EPIPE && err != -ECONNRESET)
		ddm_log(hp->dev, "cannot send a poll notification: %s",
		        strerror(-err));
}

void
ddm_each_handle(struct ddm_dev *dev, struct ddm_node *n,
                void (*fn)(struct ddm_handle *h, void *arg), void *arg)
{
	struct hnd *hp, *next;

	if (n != NULL) { /* its own list, not the whole table */
		for (hp = dev->node_hnds[n->index]; hp != NULL; hp = next) {
			next = hp->nnext; /* fn may not close, but be safe */
			if (hp->open_req == NULL)
				fn(&hp->h, arg);
		}
		return;
	}
	for (size_t i = 0; i < dev->hbuckets; i++) {
		for (hp = dev->htab[i]; hp != NULL; hp = next) {
			next = hp->next; /* fn may not close, but be safe */
			if (hp->open_req == NULL)
				fn(&hp->h, arg);
		}
	}
}

static void
notify_one(struct ddm_handle *h, void *arg)
{
	(void)arg;
	ddm_poll_notify(h);
}

void
ddm_poll_notify_node(struct ddm_node *n)
{
	if (n != NULL)
		ddm_each_handle(n->dev, n, notify_one, NULL);
}

ssize_t
ddm_read_text(struct ddm_handle *h, void *buf, size_t size, ddm_text_fn *fill)
{
	struct hnd *hp = (struct hnd *)h;
	size_t n;
	ssize_t len;

	if (hp->text == NULL) {
		hp->text = malloc(DDM_TEXT_MAX);
		if (hp->text == NULL)
			return -ENOMEM;
		len = fill(h, hp->text, DDM_TEXT_MAX);
		if (len < 0 || (size_t)len > DDM_TEXT_MAX) {
			free(hp->text);
			hp->text = NULL;
			return len < 0 ? len : -EIO;
		}
		hp->text_len = (size_t)len;
		hp->text_pos = 0;
	}
	n = hp->text_len - hp->text_pos;
	if (n > size)
		n = size;
	memcpy(buf, hp->text + hp->text_pos, n);
	hp->text_pos += n;
	return (ssize_t)n;
}

/*
 * Ends a hook call on r that returned rc: keeps r if the hook suspended it,
 * frees it if the hook already answered, and otherwise answers rc with len
 * bytes of data.
 */
static void
finish(struct ddm_req *r, long rc, const void *data, size_t len)
{
	r->in_hook = false;
	if (r->done) {
		if (rc != DDM_SUSPEND)
			ddm_log(r->dev, "%s hook answered and returned %ld",
			        ddm_op_name(r->op), rc);
		req_free(r);
	} else if (rc != DDM_SUSPEND) {
		ddm_reply(r, rc, data, len);
	} else if (r->tp->ops->suspended != NULL) {
		r->tp->ops->suspended(r->tp, r->tctx);
	}
}

/*
 * Lets the driver forget suspended r, then answers -EINTR.  A driver
 * without a cancel hook still holds r: it gets -EINTR all the same, but
 * stays allocated, cut from its handle, until the driver answers it.
 */
static void
cancel(struct ddm_req *r)
{
	struct ddm_dev *dev = r->dev;

	if (r->zombie)
		return;
	if (dev->ops.cancel == NULL) {
		r->in_hook = true; /* kept: the driver still holds r */
		ddm_reply(r, -EINTR, NULL, 0);
		r->in_hook = false;
		if (r->op == DDM_OPEN && r->hnd != NULL &&
		    r->hnd->open_req == r)
			open_settle(r);
		r->hnd = NULL;
		r->zombie = true;
		return;
	}
	r->in_hook = true;
	if (r->hnd != NULL)
		dev->ops.cancel(&r->hnd->h, r);
	finish(r, -EINTR, NULL, 0);
}

/*
 * Makes handle rq->fh and calls the open hook; the handle is "opening"
 * until r is answered, which may be later if the hook suspends.
 */
static void
do_open(struct ddm_dev *dev, struct ddm_req *r, const struct ddm_rq *rq)
{
	struct hnd *hp;
	long rc = 0;

	if (hlookup(dev, rq->fh) != NULL) {
		finish(r, -EBADF, NULL, 0);
		return;
	}
	if (rq->arg1 >= dev->n_nodes) {
		ddm_log(dev, "open of node %llu: there are %u",
		        (unsigned long long)rq->arg1, dev->n_nodes);
		finish(r, -ENXIO, NULL, 0);
		return;
	}
	hp = calloc(1, sizeof(*hp));
	if (hp == NULL) {
		finish(r, -ENOMEM, NULL, 0);
		return;
	}
	hp->h = (struct ddm_handle){
		.sc = dev->sc,
		.node = &dev->nodes[rq->arg1],
		.flags = (int)rq->arg0,
		.uid = rq->uid,
		.gid = rq->gid,
		.pid = (pid_t)rq->pid,
	};
	hp->dev = dev;
	hp->tp = rq->tp;
	hp->fh = rq->fh;
	hp->open_req = r;
	hinsert(dev, hp);
	r->hnd = hp;
	if (dev->ops.open != NULL) {
		r->in_hook = true;
		hp->in_open = true;
		rc = dev->ops.open(&hp->h);
		hp->in_open = false; /* hp lives on until r is freed */
	}
	finish(r, rc, NULL, 0);
}

static void
do_release(struct ddm_dev *dev, uint64_t fh)
{
	struct hnd *hp = hlive(dev, fh);
	struct ddm_req *r, *next;

	if (hp == NULL) {
		ddm_log(dev, "release of unknown handle %llu",
		        (unsigned long long)fh);
		return;
	}
	for (r = dev->reqs; r != NULL; r = next) {
		next = r->next;
		if (r->hnd == hp)
			cancel(r);
	}
	if (dev->ops.release != NULL)
		dev->ops.release(&hp->h);
	hremove(dev, hp);
	hfree(hp);
}

static void
do_interrupt(struct ddm_dev *dev, uint64_t id)
{
	struct ddm_req *r;

	for (r = dev->reqs; r != NULL; r = r->next) {
		if (r->id == id && !r->in_hook && !r->zombie) {
			cancel(r);
			return;
		}
	}
}

/*
 * The file offset a request carries on a seekable node of hp (0 on a
 * stream): 0 or -EINVAL if it does not fit an off_t.
 */
static int
offset_of(const struct hnd *hp, uint64_t raw, off_t *ret)
{
	const struct ddm_node *n = hp->h.node;
	const struct ddm_dev *dev = hp->dev;

	*ret = 0;
	if (dev->ops.kinds == NULL ||
	    !(dev->ops.kinds[n->kind].flags & DDM_SEEKABLE))
		return 0;
	if (raw > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ret = (off_t)raw;
	return 0;
}

/*
 * A read or write carries the file's flags as they are now: h->flags
 * follows an O_NONBLOCK set or cleared with fcntl() since the open.
 */
static void
take_nonblock(struct hnd *hp, uint32_t flags)
{
	hp->h.flags = (hp->h.flags & ~O_NONBLOCK) | ((int)flags & O_NONBLOCK);
}

static void
do_read(struct ddm_dev *dev, struct ddm_req *r, const struct ddm_rq *rq)
{
	ssize_t rc;
	off_t off;
	void *buf;

	r->size = rq->arg1 > DDM_PAYLOAD_MAX ? DDM_PAYLOAD_MAX : rq->arg1;
	if (dev->ops.read == NULL) {
		finish(r, -EIO, NULL, 0);
		return;
	}
	if (offset_of(r->hnd, rq->arg2, &off) < 0) {
		finish(r, -EINVAL, NULL, 0);
		return;
	}
	take_nonblock(r->hnd, rq->arg0);
	/* one buffer for every read: valid only while the hook runs, and
	 * hooks never nest */
	buf = dev->rbuf;
	r->in_hook = true;
	rc = dev->ops.read(&r->hnd->h, r, buf, r->size, off);
	finish(r, rc, buf, rc > 0 ? (size_t)rc : 0);
}

static void
do_write(struct ddm_dev *dev, struct ddm_req *r, const struct ddm_rq *rq)
{
	ssize_t rc;
	off_t off;

	r->size = rq->len;
	if (dev->ops.write == NULL || offset_of(r->hnd, rq->arg1, &off) < 0) {
		finish(r, -EINVAL, NULL, 0);
		return;
	}
	take_nonblock(r->hnd, rq->arg0);
	r->in_hook = true;
	rc = dev->ops.write(&r->hnd->h, r, rq->payload, rq->len, off);
	finish(r, rc, NULL, 0);
}

const struct ddm_ioctl_desc *
dispatch_ioctl_desc(const struct ddm_dev *dev, unsigned int cmd)
{
	const struct ddm_ioctl_desc *d;

	for (d = dev->ops.ioctls; d != NULL && d->cmd != 0; d++)
		if (d->cmd == cmd)
			return d;
	return NULL;
}

static void
do_ioctl(struct ddm_dev *dev, struct ddm_req *r, const struct ddm_rq *rq)
{
	const struct ddm_ioctl_desc *d = dispatch_ioctl_desc(dev, rq->arg0);
	struct ddm_ioctl io;
	int rc;

	if (rq->arg2 > DDM_PAYLOAD_MAX) {
		finish(r, -EINVAL, NULL, 0);
		return;
	}
	r->size = rq->arg2;
	if (dev->ops.ioctl == NULL ||
	    (d != NULL && (rq->len < d->in_size || r->size < d->out_size))) {
		finish(r, -ENOTTY, NULL, 0);
		return;
	}
	io = (struct ddm_ioctl){
		.cmd = rq->arg0,
		.arg = (unsigned long)rq->arg1,
		.in = rq->payload,
		.in_len = rq->len,
		.out = dev->rbuf, /* as a read's: hooks never nest */
		.out_len = r->size,
	};
	memset(io.out, 0, io.out_len); /* what the hook leaves is zeros */
	r->in_hook = true;
	rc = dev->ops.ioctl(&r->hnd->h, r, &io);
	finish(r, rc, io.out, io.out_len);
}

static void
do_poll(struct ddm_dev *dev, struct ddm_req *r, const struct ddm_rq *rq)
{
	struct hnd *hp = r->hnd;
	unsigned int rev = POLLIN | POLLOUT;

	if (dev->ops.poll != NULL)
		rev = dev->ops.poll(&hp->h) & POLL_EVENTS_MASK;
	if (rq->arg1 != 0 && (rev & rq->arg0) == 0)
		hp->want_notify = true;
	finish(r, rev, NULL, 0);
}

static void
dispatch(struct ddm_dev *dev, const struct ddm_rq *rq)
{
	struct ddm_req *r;

	if (rq->op == DDM_RELEASE) {
		do_release(dev, rq->fh);
		return;
	}
	if (rq->op == DDM_INTERRUPT) {
		do_interrupt(dev, rq->id);
		return;
	}
	if (rq->op == DDM_ADOPT) {
		if (orphan_adopted(dev, rq) == 0 &&
		    dev->tp->ops->send_hello(dev->tp) < 0)
			loop_quit(dev, 1);
		return;
	}
	if (rq->op == DDM_PING) {
		/* the heartbeat: answering proves the loop is not stuck */
		send_reply(dev, rq->tp, rq->id, rq->tctx, 0, NULL, 0);
		return;
	}
	r = req_new(dev, rq, rq->op == DDM_OPEN ? NULL : hlive(dev, rq->fh));
	if (r == NULL) {
		send_reply(dev, rq->tp, rq->id, rq->tctx, -ENOMEM, NULL, 0);
		return;
	}
	if (rq->op == DDM_OPEN) {
		do_open(dev, r, rq);
		return;
	}
	if (r->hnd == NULL) {
		finish(r, -EBADF, NULL, 0);
		return;
	}
	switch (rq->op) {
	case DDM_READ:
		do_read(dev, r, rq);
		break;
	case DDM_WRITE:
		do_write(dev, r, rq);
		break;
	case DDM_IOCTL:
		do_ioctl(dev, r, rq);
		break;
	case DDM_POLL:
		do_poll(dev, r, rq);
		break;
	case DDM_FLUSH:
		finish(r, 0, NULL, 0);
		break;
	default:
		finish(r, -ENOSYS, NULL, 0);
		break;
	}
}

void
dispatch_ready(struct ddm_dev *dev, struct ddm_transport *tp)
{
	struct ddm_rq rq;
	int i, err;

	for (i = 0; i < DISPATCH_BATCH && !dev->quit; i++) {
		err = tp->ops->next(tp, &rq);
		if (err == -EAGAIN)
			return;
		if (err == -EBADMSG)
			continue;
		if (err == -EPIPE) {
			/* ddmfs is gone: wait for the next one, or exit */
			if (tp->ops->orphan == NULL || tp->ops->orphan(tp) < 0)
				loop_quit(dev, 0);
			return;
		}
		if (err < 0) {
			ddm_log(dev, "%s transport: %s", tp->ops->name,
			        strerror(-err));
			loop_quit(dev, 1);
			return;
		}
		rq.tp = tp;
		dispatch(dev, &rq);
	}
}

int
dispatch_init(struct ddm_dev *dev)
{
	dev->htab = calloc(HBUCKETS_MIN, sizeof(*dev->htab));
	if (dev->htab == NULL)
		return -ENOMEM;
	dev->rbuf = malloc(DDM_PAYLOAD_MAX);
	dev->node_hnds = calloc(dev->n_nodes ? dev->n_nodes : 1,
	                        sizeof(*dev->node_hnds));
	if (dev->rbuf == NULL || dev->node_hnds == NULL) {
		free(dev->htab);
		free(dev->rbuf);
		free(dev->node_hnds);
		dev->htab = NULL;
		dev->rbuf = NULL;
		dev->node_hnds = NULL;
		return -ENOMEM;
	}
	dev->hbuckets = HBUCKETS_MIN;
	return 0;
}

void
dispatch_drop(struct ddm_dev *dev, struct ddm_transport *tp)
{
	struct ddm_req *r;
	struct hnd **php, *hp;
	size_t i;

	/* from the head again after each cancel: its hook may answer, and
	 * so free, other requests than r; r is freed or a zombie after it */
	for (;;) {
		for (r = dev->reqs;
		     r != NULL && (r->zombie || (tp != NULL && r->tp != tp));
		     r = r->next)
			;
		if (r == NULL)
			break;
		cancel(r);
	}
	for (i = 0; i < dev->hbuckets; i++) {
		php = &dev->htab[i];
		while ((hp = *php) != NULL) {
			if (tp != NULL && hp->tp != tp) {
				php = &hp->next;
				continue;
			}
			*php = hp->next;
			dev->nhandles--;
			node_unlink(dev, hp);
			if (dev->ops.release != NULL)
				dev->ops.release(&hp->h);
			hfree(hp);
		}
	}
}

void
dispatch_fini(struct ddm_dev *dev)
{
	if (dev->htab == NULL)
		return;
	dispatch_drop(dev, NULL);
	while (dev->reqs != NULL) /* zombies: the driver is done with them */
		req_free(dev->reqs);
	free(dev->htab);
	dev->htab = NULL;
	free(dev->rbuf);
	dev->rbuf = NULL;
	free(dev->node_hnds);
	dev->node_hnds = NULL;
	while (dev->n_spare > 0)
		free(dev->spare[--dev->n_spare]);
}
