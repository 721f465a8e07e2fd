/*
 * chan.c: the socket transport.  ddmfs forwards FUSE requests as ddm_proto.h
 * packets over a SOCK_SEQPACKET socket (--ddm-fd); this file receives and
 * checks them and sends HELLO, REPLY and NOTIFY back.  Every packet from the
 * peer is distrusted: a malformed one is logged and dropped.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "driver_impl.h"

struct chan {
	struct ddm_transport t; /* first member */
	char *buf;              /* DDM_MSG_MAX bytes, one received packet */
};

static bool
is_request(unsigned int op)
{
	return op != DDM_HELLO && op != DDM_REPLY && op != DDM_NOTIFY;
}

static int
chan_next(struct ddm_transport *t, struct ddm_rq *ret)
{
	struct chan *c = (struct chan *)t;
	const void *payload;
	struct ddm_msg m;
	ssize_t n;

	do
		n = recv(t->fd, c->buf, DDM_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno == ECONNRESET || errno == EPIPE)
			return -EPIPE;
		return -errno;
	}
	if (n == 0)
		return -EPIPE;
	if ((size_t)n > DDM_MSG_MAX) {
		ddm_log(t->dev, "dropped an oversized packet (%zd bytes)", n);
		return -EBADMSG;
	}
	if (ddm_msg_unpack(c->buf, (size_t)n, &m, &payload) < 0) {
		ddm_log(t->dev, "dropped a malformed packet (%zd bytes)", n);
		return -EBADMSG;
	}
	if (!is_request(m.op)) {
		ddm_log(t->dev, "dropped a %s packet: not a request",
		        ddm_op_name(m.op));
		return -EBADMSG;
	}
	*ret = (struct ddm_rq){
		.op = (enum ddm_op)m.op,
		.id = m.id,
		.fh = m.fh,
		.arg0 = m.arg0,
		.arg1 = m.arg1,
		.arg2 = m.arg2,
		.uid = m.uid,
		.gid = m.gid,
		.pid = m.pid,
		.payload = payload,
		.len = m.len,
	};
	return 0;
}

/* Sends header m and len payload bytes as one packet on fd. */
static int
send_msg(int fd, struct ddm_msg *m, const void *data, size_t len)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > DDM_PAYLOAD_MAX)
		return -EMSGSIZE;
	m->len = (uint32_t)len;
	iov[0] = (struct iovec){ .iov_base = m, .iov_len = sizeof(*m) };
	if (len > 0) {
		iov[1] = (struct iovec){ .iov_base = (void *)data,
			                 .iov_len = len };
		mh.msg_iovlen = 2;
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

static int
chan_send(struct ddm_transport *t, struct ddm_msg *m, const void *data,
          size_t len)
{
	return send_msg(t->fd, m, data, len);
}

int
chan_hello(struct ddm_dev *dev, int fd, uint64_t via)
{
	struct ddm_hello_node hn[DDM_NODES_MAX] = { { 0 } };
	const struct ddm_kind *k;
	struct ddm_msg m;

	for (unsigned int i = 0; i < dev->n_nodes; i++) {
		if (dev->ops.kinds == NULL)
			continue;
		k = &dev->ops.kinds[dev->nodes[i].kind];
		if (k->flags & DDM_SEEKABLE)
			hn[i].flags = DDM_NODE_SEEKABLE |
			              (dev->cuse ? DDM_NODE_SOCKET : 0);
		hn[i].size = k->size;
	}
	ddm_msg_init(&m, DDM_HELLO, 0, 0);
	m.arg0 = DDM_PROTO_VERSION;
	m.arg1 = via;
	m.arg2 = DDM_PAYLOAD_MAX;
	return send_msg(fd, &m, hn, dev->n_nodes * sizeof(hn[0]));
}

int
chan_pong(int fd, uint64_t id)
{
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_REPLY, id, 0);
	return send_msg(fd, &m, NULL, 0);
}

static int
chan_send_hello(struct ddm_transport *t)
{
	return chan_hello(t->dev, t->fd,
	                  t->dev->cuse ? DDM_HELLO_CUSE : DDM_HELLO_SOCKET);
}

static int
chan_send_reply(struct ddm_transport *t, uint64_t id, void *tctx, long result,
                const void *data, size_t len)
{
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_REPLY, id, 0);
	m.result = (int32_t)result;
	return chan_send(t, &m, data, len);
}

static int
chan_send_notify(struct ddm_transport *t, uint64_t fh)
{
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_NOTIFY, 0, fh);
	return chan_send(t, &m, NULL, 0);
}

/* ddmfs hung up: every request and handle from it is void; wait for
 * the next ddmfs on a fresh socket. */
static int
chan_orphan(struct ddm_transport *t)
{
	int r;

	dispatch_drop(t->dev, t); /* a CUSE device and its files stay */
	loop_unwatch_transport(t->dev, t);
	r = orphan_begin(t->dev, &t->fd);
	if (r == 0)
		r = loop_watch_transport(t->dev, t);
	if (r < 0 && r != -ECANCELED)
		ddm_log(t->dev, "cannot wait for a new ddmfs: %s",
		        strerror(-r));
	return r;
}

/* Frees the transport; the fd itself is closed by whoever opened it. */
static void
chan_close(struct ddm_transport *t)
{
	struct chan *c = (struct chan *)t;

	if (c == NULL)
		return;
	free(c->buf);
	free(c);
}

static const struct ddm_transport_ops chan_ops = {
	.name = "socket",
	.next = chan_next,
	.send_hello = chan_send_hello,
	.send_reply = chan_send_reply,
	.send_notify = chan_send_notify,
	.close = chan_close,
	.orphan = chan_orphan,
};

int
chan_open(struct ddm_dev *dev, int fd, struct ddm_transport **ret)
{
	struct chan *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->buf = malloc(DDM_MSG_MAX);
	if (c->buf == NULL)
		goto free_chan;
	c->t = (struct ddm_transport){ .ops = &chan_ops, .dev = dev, .fd = fd };
	dev->ddm_fd_num = fd;
	*ret = &c->t;
	return 0;

free_chan:
	free(c);
	return -ENOMEM;
}
