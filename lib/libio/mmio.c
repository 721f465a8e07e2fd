/*
 * mmio.c: the mmio backend: a PCI function's BARs and config space through
 * its VFIO device fd (opts->vfio_device_fd, which ddmfs opened).  A region
 * names BAR n as IO_PCI_BAR(n) + offset.  VFIO_DEVICE_GET_REGION_INFO gives
 * each BAR's size and where it lies in the device fd; a BAR VFIO lets us
 * map is mmap'd (the pages covering the region) and reached with volatile
 * loads and stores between full fences, anything else (an I/O-port BAR, a
 * BAR whose mmap fails) with pread/pwrite on the device fd, which VFIO
 * turns into one access of that width.  Config space is the config region
 * of the fd, read and written the same way; VFIO virtualizes parts of it.
 * PCI is little-endian: fd transfers are assembled byte by byte.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "io_impl.h"

#define PCI_BARS 6 /* VFIO_PCI_BAR0_REGION_INDEX .. BAR5 */

struct mmio {
	int fd;            /* our duplicate of the VFIO device fd */
	uint64_t cfg_off;  /* the config region's offset in fd */
	uint64_t cfg_size; /* and its size */
	long page;         /* the page size, for mmap */
};

/* One region: mapped (va != NULL) or reached through the fd at foff. */
struct mreg {
	void *map; /* the mapping, page aligned; NULL: none */
	size_t map_len;
	volatile uint8_t *va; /* the region's first byte in map */
	uint64_t foff;        /* the region's first byte in the device fd */
};

/* VFIO region info of index into *ret; 0 or -errno. */
static int
region_info(int fd, unsigned int index, struct vfio_region_info *ret)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	*ret = ri;
	return 0;
}

static int
mm_open(struct io *io, const struct io_opts *opts)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { 0 };
	struct mmio *m;
	int err;

	if (opts->vfio_device_fd <= 0)
		return -EBADF;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->page = sysconf(_SC_PAGESIZE);
	m->fd = fcntl(opts->vfio_device_fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0) {
		err = -errno;
		goto free_m;
	}
	if (ioctl(m->fd, VFIO_DEVICE_GET_INFO, &di) < 0) {
		err = errno == ENOTTY ? -ENODEV : -errno;
		goto close_fd;
	}
	err = -ENODEV;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		goto close_fd;
	err = region_info(m->fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (err < 0)
		goto close_fd;
	m->cfg_off = ri.offset;
	m->cfg_size = ri.size;
	io->priv = m;
	return 0;

close_fd:
	close(m->fd);
free_m:
	free(m);
	return err;
}

static void
mm_close(struct io *io)
{
	struct mmio *m = io->priv;

	close(m->fd);
	free(m);
}

static int
mm_request(struct io *io, struct io_region *r)
{
	const struct mmio *m = io->priv;
	unsigned int bar = IO_PCI_BAR_INDEX(r->base);
	uint64_t off = IO_PCI_BAR_OFFSET(r->base), start, end;
	struct vfio_region_info ri = { 0 };
	struct mreg *mr;
	void *p;
	int err;

	if (bar >= PCI_BARS)
		return -EINVAL;
	err = region_info(m->fd, VFIO_PCI_BAR0_REGION_INDEX + bar, &ri);
	if (err < 0)
		return err;
	if (ri.size == 0)
		return -ENODEV; /* no such BAR */
	if ((ri.flags &
	     (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
	    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		return -EACCES;
	if (off >= ri.size || r->len > ri.size - off)
		return -ERANGE;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	mr->foff = ri.offset + off;
	if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		start = off & ~(uint64_t)(m->page - 1);
		end = (off + r->len + m->page - 1) & ~(uint64_t)(m->page - 1);
		p = mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED,
		         m->fd, (off_t)(ri.offset + start));
		if (p != MAP_FAILED) {
			mr->map = p;
			mr->map_len = end - start;
			mr->va = (volatile uint8_t *)p + (off - start);
		}
		/* else (a sparse BAR, say): through the fd */
	}
	r->priv = mr;
	return 0;
}

static void
mm_release(struct io_region *r)
{
	struct mreg *mr = r->priv;

	if (mr->map)
		munmap(mr->map, mr->map_len);
	free(mr);
}

/* Reads width bytes at foff of fd, little-endian: 0 or -errno. */
static int
fd_read(int fd, uint64_t foff, unsigned int width, uint64_t *ret)
{
	uint8_t b[8];
	uint64_t v = 0;
	ssize_t n;

	n = pread(fd, b, width, (off_t)foff);
	if (n < 0)
		return -errno;
	if ((size_t)n != width)
		return -EIO;
	for (unsigned int i = 0; i < width; i++)
		v |= (uint64_t)b[i] << (8 * i);
	*ret = v;
	return 0;
}

static int
fd_write(int fd, uint64_t foff, unsigned int width, uint64_t v)
{
	uint8_t b[8];
	ssize_t n;

	for (unsigned int i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	n = pwrite(fd, b, width, (off_t)foff);
	if (n < 0)
		return -errno;
	if ((size_t)n != width)
		return -EIO;
	return 0;
}

/*
 * Mapped accesses: one volatile load or store of the width, with full
 * fences before and after, so a store into a DMA buffer is visible before
 * the doorbell write that follows it, and a status read happens before
 * the buffer reads that depend on it.
 */
static uint64_t
load(volatile uint8_t *p, unsigned int width)
{
	uint64_t v = 0;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	switch (width) {
	case 1:
		v = *p;
		break;
	case 2:
		v = *(volatile uint16_t *)p;
		break;
	case 4:
		v = *(volatile uint32_t *)p;
		break;
	case 8:
		v = *(volatile uint64_t *)p;
		break;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return v;
}

static void
store(volatile uint8_t *p, unsigned int width, uint64_t v)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	switch (width) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)v;
		break;
	case 8:
		*(volatile uint64_t *)p = v;
		break;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int
mm_read(struct io_region *r, uint64_t off, unsigned int width, uint64_t *ret)
{
	const struct mmio *m = r->io->priv;
	const struct mreg *mr = r->priv;

	if (mr->va) {
		*ret = load(mr->va + off, width);
		return 0;
	}
	return fd_read(m->fd, mr->foff + off, width, ret);
}

static int
mm_write(struct io_region *r, uint64_t off, unsigned int width, uint64_t v)
{
	const struct mmio *m = r->io->priv;
	const struct mreg *mr = r->priv;

	if (mr->va) {
		store(mr->va + off, width, v);
		return 0;
	}
	return fd_write(m->fd, mr->foff + off, width, v);
}

static int
mm_config_read(struct io *io, unsigned int off, unsigned int width,
               uint32_t *ret)
{
	const struct mmio *m = io->priv;
	uint64_t v;
	int err;

	if (off >= m->cfg_size || width > m->cfg_size - off)
		return -ERANGE;
	err = fd_read(m->fd, m->cfg_off + off, width, &v);
	if (err < 0)
		return err;
	*ret = (uint32_t)v;
	return 0;
}

static int
mm_config_write(struct io *io, unsigned int off, unsigned int width, uint32_t v)
{
	const struct mmio *m = io->priv;

	if (off >= m->cfg_size || width > m->cfg_size - off)
		return -ERANGE;
	return fd_write(m->fd, m->cfg_off + off, width, v);
}

const struct io_backend_ops io_mmio_ops = {
	.name = "mmio",
	.open = mm_open,
	.close = mm_close,
	.request = mm_request,
	.release = mm_release,
	.read = mm_read,
	.write = mm_write,
	.mem = true,
	.config_read = mm_config_read,
	.config_write = mm_config_write,
};
