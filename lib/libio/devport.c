/*
 * devport.c: the devport backend: pread/pwrite on /dev/port at offset =
 * port.  The kernel turns each byte of a transfer into one inb/outb, in
 * address order, so a 2- or 4-byte access is that many byte accesses
 * (little-endian), not one inw/inl.  Regions outside the grants are
 * refused with -EACCES.  Opening /dev/port takes CAP_SYS_RAWIO, which a
 * driver has dropped, so ddmfs opens it and opts->devport_fd names it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "io_impl.h"

#define DEVPORT_PATH "/dev/port"

struct devport {
	int fd;
};

static int
dp_open(struct io *io, const struct io_opts *opts)
{
	struct devport *dp = malloc(sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	if (opts->devport_fd > 0)
		dp->fd = fcntl(opts->devport_fd, F_DUPFD_CLOEXEC, 0);
	else
		dp->fd = open(DEVPORT_PATH, O_RDWR | O_CLOEXEC);
	if (dp->fd < 0) {
		int e = -errno;

		free(dp);
		return e;
	}
	io->priv = dp;
	return 0;
}

static void
dp_close(struct io *io)
{
	struct devport *dp = io->priv;

	close(dp->fd);
	free(dp);
}

static int
dp_request(struct io *io, struct io_region *r)
{
	return io_check_grant(io, r->base, r->len);
}

static int
dp_read(struct io_region *r, uint64_t off, unsigned int width, uint64_t *ret)
{
	const struct devport *dp = r->io->priv;
	uint8_t b[4];
	uint64_t v = 0;
	unsigned int i;
	ssize_t n;

	n = pread(dp->fd, b, width, r->base + off);
	if (n < 0)
		return -errno;
	if ((size_t)n != width)
		return -EIO;
	for (i = 0; i < width; i++)
		v |= (uint64_t)b[i] << (8 * i);
	*ret = v;
	return 0;
}

static int
dp_write(struct io_region *r, uint64_t off, unsigned int width, uint64_t v)
{
	const struct devport *dp = r->io->priv;
	uint8_t b[4];
	unsigned int i;
	ssize_t n;

	for (i = 0; i < width; i++)
		b[i] = v >> (8 * i);
	n = pwrite(dp->fd, b, width, r->base + off);
	if (n < 0)
		return -errno;
	if ((size_t)n != width)
		return -EIO;
	return 0;
}

const struct io_backend_ops io_devport_ops = {
	.name = "devport",
	.open = dp_open,
	.close = dp_close,
	.request = dp_request,
	.read = dp_read,
	.write = dp_write,
	.port = true,
};
