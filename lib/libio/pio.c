/*
 * pio.c: the pio backend: in/out instructions on ports ddmfs granted.
 * ddmfs calls ioperm(2) for the grants before it execs the driver; this
 * backend never calls ioperm or iopl itself, and refuses a region outside
 * the grants with -EACCES before any instruction runs.
 */
#include "config.h"

#include <errno.h>

#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#define HAVE_PIO 1
#else
#define HAVE_PIO 0
#endif

#include "io_impl.h"

static int
pio_open(struct io *io, const struct io_opts *opts)
{
	return HAVE_PIO ? 0 : -EOPNOTSUPP;
}

static void
pio_close(struct io *io)
{
}

static int
pio_request(struct io *io, struct io_region *r)
{
	return io_check_grant(io, r->base, r->len);
}

static int
pio_read(struct io_region *r, uint64_t off, unsigned int width, uint64_t *ret)
{
#if HAVE_PIO
	uint16_t port = r->base + off;

	switch (width) {
	case 1:
		*ret = inb(port);
		return 0;
	case 2:
		*ret = inw(port);
		return 0;
	case 4:
		*ret = inl(port);
		return 0;
	}
#endif
	return -EINVAL;
}

static int
pio_write(struct io_region *r, uint64_t off, unsigned int width, uint64_t v)
{
#if HAVE_PIO
	uint16_t port = r->base + off;

	switch (width) {
	case 1:
		outb(v, port);
		return 0;
	case 2:
		outw(v, port);
		return 0;
	case 4:
		outl(v, port);
		return 0;
	}
#endif
	return -EINVAL;
}

const struct io_backend_ops io_pio_ops = {
	.name = "pio",
	.open = pio_open,
	.close = pio_close,
	.request = pio_request,
	.read = pio_read,
	.write = pio_write,
	.port = true,
};
