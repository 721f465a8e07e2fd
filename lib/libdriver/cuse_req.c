/*
 * cuse_req.c: CUSE requests in.  libfuse calls these cuse_lowlevel hooks
 * while the transport's next() processes a message; each turns its request
 * into a struct ddm_rq for dispatch.c, exactly as a packet from ddmfs would
 * be, and queues it.  The struct creq cookie carries the fuse_req_t to the
 * answer in cuse.c.
 *
 *   CUSE op   ddm request   answer (cuse.c)
 *   open      DDM_OPEN      fuse_reply_open (direct_io, nonseekable), maybe
 *                           later: the hook may suspend an open
 *   release   DDM_RELEASE   fuse_reply_err(0) here, at once
 *   read      DDM_READ      fuse_reply_buf
 *   write     DDM_WRITE     fuse_reply_write
 *   ioctl     DDM_IOCTL     fuse_reply_ioctl, after a retry for the data
 *   poll      DDM_POLL      fuse_reply_poll; notify by the stored pollhandle
 *   flush     DDM_FLUSH     fuse_reply_err
 *   interrupt DDM_INTERRUPT (the target answers -EINTR), heard once a
 *                           hook suspended the target (cuse_suspended)
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cuse_impl.h"

struct copen *
cuse_copen(uint64_t fh)
{
	return (struct copen *)(uintptr_t)fh;
}

void
cuse_copen_free(struct copen *co)
{
	if (co == NULL)
		return;
	if (co->ph != NULL)
		fuse_pollhandle_destroy(co->ph);
	free(co);
}

static void
co_unlink(struct cuse *c, struct copen *co)
{
	if (co->prev != NULL)
		co->prev->next = co->next;
	else
		c->opens = co->next;
	if (co->next != NULL)
		co->next->prev = co->prev;
}

/* Moves co from the open list to the dead list. */
void
cuse_copen_kill(struct cuse *c, struct copen *co)
{
	co_unlink(c, co);
	co->prev = NULL;
	co->next = c->dead;
	c->dead = co;
}

struct creq *
cuse_creq_get(struct cuse *c)
{
	struct creq *cr;

	if (c->n_spare == 0)
		return calloc(1, sizeof(*cr));
	cr = c->spare[--c->n_spare];
	memset(cr, 0, sizeof(*cr));
	return cr;
}

void
cuse_creq_put(struct cuse *c, struct creq *cr)
{
	if (c->n_spare < CREQ_SPARE)
		c->spare[c->n_spare++] = cr;
	else
		free(cr);
}

/* Doubles the ring, its entries kept in order: 0 or -ENOMEM. */
static int
grow(struct cuse *c)
{
	unsigned int cap = c->qcap ? 2 * c->qcap : QUEUE_MIN;
	struct ddm_rq *q = calloc(cap, sizeof(*q));

	if (q == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->qlen; i++)
		q[i] = c->q[(c->qhead + i) % c->qcap];
	free(c->q);
	c->q = q;
	c->qcap = cap;
	c->qhead = 0;
	return 0;
}

/*
 * Queues rq for next(): 0, or -ENOBUFS when QUEUE_MAX requests wait
 * already.  A release or an interrupt is never refused for that: losing
 * one would leave a file open (or a request waiting) for ever.
 */
int
cuse_push(struct cuse *c, const struct ddm_rq *rq)
{
	bool must = rq->op == DDM_RELEASE || rq->op == DDM_INTERRUPT;

	if (c->qlen == c->qcap) {
		if ((c->qcap >= QUEUE_MAX && !must) || grow(c) < 0) {
			ddm_log(c->t.dev, "CUSE request queue full: %s refused",
			        ddm_op_name(rq->op));
			return -ENOBUFS;
		}
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = *rq;
	c->qlen++;
	return 0;
}

/*
 * Queues request rq of req with a new cookie, the caller's identity filled
 * in.  On failure answers req itself (and frees co) and returns NULL.
 */
static struct creq *
enqueue(fuse_req_t req, struct ddm_rq *rq, struct copen *co)
{
	struct cuse *c = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct creq *cr;
	int err = ENOMEM;

	cr = cuse_creq_get(c);
	if (cr == NULL)
		goto reply_err;
	*cr = (struct creq){
		.req = req, .c = c, .op = rq->op, .id = ++c->last_id, .co = co
	};
	rq->id = cr->id;
	rq->tctx = cr;
	rq->uid = (uint32_t)ctx->uid;
	rq->gid = (uint32_t)ctx->gid;
	rq->pid = (uint32_t)ctx->pid;
	if (cuse_push(c, rq) < 0) {
		err = EBUSY;
		goto free_creq;
	}
	return cr;

free_creq:
	cuse_creq_put(c, cr);
reply_err:
	free(co);
	fuse_reply_err(req, err);
	return NULL;
}

/* The kernel interrupted a request that may be suspended. */
static void
on_interrupt(fuse_req_t req, void *data)
{
	struct creq *cr = data;

	(void)req;
	cuse_push(cr->c, &(struct ddm_rq){ .op = DDM_INTERRUPT, .id = cr->id });
}

/*
 * A hook suspended the request of cr: from now on its interrupts are
 * heard.  Done only then, not for every request: libfuse keeps an
 * interrupt that came first and calls on_interrupt() at once, and the
 * registration takes two locks that a request answered in its hook
 * does not need.
 */
void
cuse_suspended(struct ddm_transport *t, void *tctx)
{
	struct creq *cr = tctx;

	(void)t;
	fuse_req_interrupt_func(cr->req, on_interrupt, cr);
}

/*
 * Queues a read or write of open file fi with its flags as they are now.
 * Its offset stays 0: the kernel gives a CUSE device none, which is why
 * seekable nodes are not served here but over the socket (chan.c).
 */
static void
enqueue_rw(fuse_req_t req, struct ddm_rq *rq, struct fuse_file_info *fi)
{
	rq->arg0 = (uint32_t)fi->flags;
	enqueue(req, rq, NULL);
}

static void
on_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct cuse *c = fuse_req_userdata(req);
	struct copen *co = calloc(1, sizeof(*co));

	if (co == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	enqueue(req,
	        &(struct ddm_rq){ .op = DDM_OPEN,
	                          .fh = (uintptr_t)co,
	                          .arg0 = (uint32_t)fi->flags,
	                          .arg1 = c->t.node },
	        co);
}

static void
on_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct cuse *c = fuse_req_userdata(req);

	if (fi->fh != 0 && cuse_push(c, &(struct ddm_rq){ .op = DDM_RELEASE,
	                                                  .fh = fi->fh }) == 0)
		cuse_copen_kill(c, cuse_copen(fi->fh));
	fuse_reply_err(req, 0);
}

static void
on_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)off; /* always 0 under CUSE */
	enqueue_rw(
	        req,
	        &(struct ddm_rq){ .op = DDM_READ, .fh = fi->fh, .arg1 = size },
	        fi);
}

static void
on_write(fuse_req_t req, const char *buf, size_t size, off_t off,
         struct fuse_file_info *fi)
{
	(void)off; /* always 0 under CUSE */
	enqueue_rw(req,
	           &(struct ddm_rq){ .op = DDM_WRITE,
	                             .fh = fi->fh,
	                             .payload = buf,
	                             .len = size },
	           fi);
}

static void
on_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	enqueue(req, &(struct ddm_rq){ .op = DDM_FLUSH, .fh = fi->fh }, NULL);
}

/*
 * The data sizes of ioctl cmd: from the driver's table when it lists cmd,
 * else from the _IOC encoding.
 */
static void
ioctl_sizes(struct cuse *c, unsigned int cmd, size_t *ret_in, size_t *ret_out)
{
	const struct ddm_ioctl_desc *d = dispatch_ioctl_desc(c->t.dev, cmd);

	if (d != NULL) {
		*ret_in = d->in_size;
		*ret_out = d->out_size;
		return;
	}
	*ret_in = (_IOC_DIR(cmd) & _IOC_WRITE) ? _IOC_SIZE(cmd) : 0;
	*ret_out = (_IOC_DIR(cmd) & _IOC_READ) ? _IOC_SIZE(cmd) : 0;
}

/*
 * Unrestricted ioctl: the kernel first sends no data; ask it to retry with
 * the caller's buffer at arg as the in and out areas the sizes name.
 */
static void
on_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
         unsigned int flags, const void *in_buf, size_t in_bufsz,
         size_t out_bufsz)
{
	struct cuse *c = fuse_req_userdata(req);
	unsigned int ucmd = (unsigned int)cmd;
	size_t in_size, out_size;
	struct iovec in, out;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	ioctl_sizes(c, ucmd, &in_size, &out_size);
	if (in_size > DDM_PAYLOAD_MAX || out_size > DDM_PAYLOAD_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (in_bufsz < in_size || out_bufsz < out_size) {
		if (!(flags & FUSE_IOCTL_UNRESTRICTED)) {
			fuse_reply_err(req, ENOTTY);
			return;
		}
		in = (struct iovec){ .iov_base = arg, .iov_len = in_size };
		out = (struct iovec){ .iov_base = arg, .iov_len = out_size };
		fuse_reply_ioctl_retry(req, &in, in_size > 0, &out,
		                       out_size > 0);
		return;
	}
	enqueue(req,
	        &(struct ddm_rq){ .op = DDM_IOCTL,
	                          .fh = fi->fh,
	                          .arg0 = ucmd,
	                          .arg1 = (uintptr_t)arg,
	                          .arg2 = out_size,
	                          .payload = in_buf,
	                          .len = in_size },
	        NULL);
}

/* Keeps the newest pollhandle per open file; the older one is dropped. */
static void
on_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct copen *co = cuse_copen(fi->fh);

	if (co == NULL) {
		if (ph != NULL)
			fuse_pollhandle_destroy(ph);
		fuse_reply_err(req, EBADF);
		return;
	}
	if (ph != NULL) {
		if (co->ph != NULL)
			fuse_pollhandle_destroy(co->ph);
		co->ph = ph;
	}
	enqueue(req,
	        &(struct ddm_rq){ .op = DDM_POLL,
	                          .fh = fi->fh,
	                          .arg0 = fi->poll_events,
	                          .arg1 = ph != NULL },
	        NULL);
}

const struct cuse_lowlevel_ops cuse_clops = {
	.init_done = cuse_init_done,
	.open = on_open,
	.read = on_read,
	.write = on_write,
	.flush = on_flush,
	.release = on_release,
	.ioctl = on_ioctl,
	.poll = on_poll,
};
