/*
 * ddm_null.c: ddm-null, the bench driver.  It answers the way bench_dev.h
 * says, as bare_fuse and bare_cuse do: reads give zeros (as many as asked
 * for), writes are swallowed whole and wake the node's pollers, poll gives
 * POLLIN once the node had a write the handle has not read past, and
 * BENCH_IOC_COUNT gives the node's write count.  It does no work of its
 * own, so timing it measures what the /ddm forwarding path costs.  One
 * instance serves as many nodes as the conf gives it (the bench's tree
 * runs one per bus).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_dev.h"
#include "ddm_driver.h"

/* A node's state (ddm_node.priv); a handle's priv is the count it saw. */
struct nnode {
	uint32_t writes;
};

static int
null_init(struct ddm_dev *dev, void *sc)
{
	unsigned int n = ddm_node_count(dev);
	struct nnode *nodes = calloc(n, sizeof(*nodes));

	if (nodes == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		ddm_node_at(dev, i)->priv = &nodes[i];
	return 0;
}

static void
null_fini(struct ddm_dev *dev, void *sc)
{
	free(ddm_node_at(dev, 0)->priv);
}

static uint32_t
writes_of(const struct ddm_handle *h)
{
	return ((const struct nnode *)h->node->priv)->writes;
}

static int
null_open(struct ddm_handle *h)
{
	h->priv = (void *)(uintptr_t)writes_of(h);
	return 0;
}

static ssize_t
null_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
          off_t off)
{
	h->priv = (void *)(uintptr_t)writes_of(h);
	bench_fill(buf, size);
	return (ssize_t)size;
}

static ssize_t
null_write(struct ddm_handle *h, struct ddm_req *r, const void *buf,
           size_t size, off_t off)
{
	((struct nnode *)h->node->priv)->writes++;
	ddm_poll_notify_node(h->node);
	return (ssize_t)size;
}

static int
null_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	uint32_t count = writes_of(h);

	if (io->cmd != BENCH_IOC_COUNT)
		return -ENOTTY;
	if (io->out_len < sizeof(count))
		return -EINVAL;
	memcpy(io->out, &count, sizeof(count));
	io->out_len = sizeof(count);
	return 0;
}

static unsigned int
null_poll(struct ddm_handle *h)
{
	unsigned int rev = POLLOUT;

	if ((uint32_t)(uintptr_t)h->priv != writes_of(h))
		rev |= POLLIN;
	return rev;
}

static const struct ddm_driver_ops null_ops = {
	.init = null_init,
	.fini = null_fini,
	.open = null_open,
	.read = null_read,
	.write = null_write,
	.ioctl = null_ioctl,
	.poll = null_poll,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &null_ops, sizeof(null_ops), NULL);
}
