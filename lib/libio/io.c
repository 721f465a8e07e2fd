/*
 * io.c: libio's core: picks a backend, parses the port grants, keeps the
 * table of held regions and checks every access against its region before
 * handing it to the backend.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io_impl.h"

static const struct io_backend_ops *const backends[] = {
	&io_sim_ops,
	&io_pio_ops,
	&io_devport_ops,
	&io_mmio_ops,
};

#define PORT_MAX 0xffffu

/* The PCI command register and the bits io_pci_enable_busmaster() sets. */
#define PCI_COMMAND_OFF    0x04
#define PCI_COMMAND_MEM    0x0002 /* 1: memory space decoding on */
#define PCI_COMMAND_MASTER 0x0004 /* 1: the function may master the bus */

int
io_open(const struct io_opts *opts, struct io **ret)
{
	const struct io_backend_ops *ops = NULL;
	struct io *io;
	size_t i;
	int r;

	if (!opts || !opts->backend || !ret)
		return -EINVAL;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, opts->backend) == 0)
			ops = backends[i];
	if (!ops)
		return -EINVAL;

	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->ops = ops;
	io->sim_dirfd = -1;
	r = io_parse_grants(io, opts->grants);
	if (r < 0)
		goto free_io;
	r = -ENOMEM;
	if (opts->name && !(io->name = strdup(opts->name)))
		goto free_io;
	r = ops->open(io, opts);
	if (r < 0)
		goto free_name;
	*ret = io;
	return 0;

free_name:
	free(io->name);
free_io:
	free(io);
	return r;
}

void
io_close(struct io *io)
{
	if (!io)
		return;
	while (io->regions)
		io_region_release(io->regions);
	io->ops->close(io);
	free(io->name);
	free(io);
}

const char *
io_backend(const struct io *io)
{
	return io ? io->ops->name : NULL;
}

const char *
io_last_error(const struct io *io)
{
	return io && io->err[0] ? io->err : NULL;
}

/* Parses one number, hex with 0x or decimal, at most PORT_MAX. */
static int
parse_port(const char *s, const char **ret_end, uint64_t *ret)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	/* strtoull would also take blanks and signs: refuse them here. */
	if (!isxdigit((unsigned char)*s) ||
	    (base == 10 && !isdigit((unsigned char)*s)))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || v > PORT_MAX)
		return -EINVAL;
	*ret_end = end;
	*ret = v;
	return 0;
}

int
io_grant(const struct io *io, unsigned int i, uint64_t *ret_base,
         uint64_t *ret_len)
{
	if (io == NULL || i >= io->n_grants)
		return -ENOENT;
	*ret_base = io->grants[i].base;
	*ret_len = io->grants[i].len;
	return 0;
}

/* Keeps io->grants untouched unless the whole string parses. */
int
io_parse_grants(struct io *io, const char *s)
{
	struct io_grant g[IO_GRANTS_MAX];
	unsigned int n = 0, i, j;
	uint64_t lo, hi;
	const char *p = s;
	int r;

	if (!s) {
		io->n_grants = 0;
		return 0;
	}
	while (*p) {
		r = parse_port(p, &p, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (*p == '-') {
			r = parse_port(p + 1, &p, &hi);
			if (r < 0)
				return r;
		}
		if (hi < lo || n == IO_GRANTS_MAX)
			return -EINVAL;
		if (*p == ',' && p[1] == '\0')
			return -EINVAL;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -EINVAL;
		g[n].base = lo;
		g[n].len = hi - lo + 1;
		n++;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (g[i].base < g[j].base + g[j].len &&
			    g[j].base < g[i].base + g[i].len)
				return -EINVAL;
	memcpy(io->grants, g, n * sizeof(g[0]));
	io->n_grants = n;
	return 0;
}

int
io_check_grant(const struct io *io, uint64_t base, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < io->n_grants; i++) {
		const struct io_grant *g = &io->grants[i];

		if (base >= g->base && len <= g->len &&
		    base - g->base <= g->len - len)
			return 0;
	}
	return -EACCES;
}

int
io_now(const struct io *io, struct timespec *ret)
{
	struct timespec ts;
	int r;

	if (io->clock) {
		r = io->clock(io->clock_arg, &ts);
		if (r < 0)
			return r;
	} else if (clock_gettime(CLOCK_REALTIME, &ts) < 0) {
		return -errno;
	}
	*ret = ts;
	return 0;
}

int
io_region_request(struct io *io, enum io_space space, uint64_t base,
                  uint64_t len, struct io_region **ret)
{
	struct io_region *reg, *o;
	int r;

	if (!io || !ret || len == 0 || base + len < base)
		return -EINVAL;
	switch (space) {
	case IO_SPACE_PORT:
		if (!io->ops->port)
			return -EOPNOTSUPP;
		if (base > PORT_MAX || len > PORT_MAX + 1 - base)
			return -EINVAL;
		break;
	case IO_SPACE_MEM:
		/* mmio: base names a BAR and an offset in it (IO_PCI_BAR()) */
		if (!io->ops->mem)
			return -EOPNOTSUPP;
		if (IO_PCI_BAR_INDEX(base) != IO_PCI_BAR_INDEX(base + len - 1))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	for (o = io->regions; o; o = o->next)
		if (o->space == space && base < o->base + o->len &&
		    o->base < base + len)
			return -EBUSY;

	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->io = io;
	reg->space = space;
	reg->base = base;
	reg->len = len;
	r = io->ops->request(io, reg);
	if (r < 0) {
		free(reg);
		return r;
	}
	reg->next = io->regions;
	io->regions = reg;
	*ret = reg;
	return 0;
}

void
io_region_release(struct io_region *reg)
{
	struct io_region **pp;

	if (!reg)
		return;
	for (pp = &reg->io->regions; *pp; pp = &(*pp)->next) {
		if (*pp == reg) {
			*pp = reg->next;
			break;
		}
	}
	if (reg->io->ops->release)
		reg->io->ops->release(reg);
	free(reg);
}

/*
 * -ERANGE unless [off, off+width) lies inside r; -EINVAL for a 64-bit
 * port access (x86 has none) or a memory access not aligned to its width
 * (MMIO splits or faults on those).
 */
static int
check_access(const struct io_region *r, uint64_t off, unsigned int width)
{
	if (!r)
		return -EINVAL;
	if (off >= r->len || width > r->len - off)
		return -ERANGE;
	if (r->space == IO_SPACE_PORT && width > 4)
		return -EINVAL;
	if (r->space == IO_SPACE_MEM && (r->base + off) % width != 0)
		return -EINVAL;
	return 0;
}

static int
rd(struct io_region *r, uint64_t off, unsigned int width, uint64_t *ret)
{
	int e = check_access(r, off, width);

	if (e < 0)
		return e;
	return r->io->ops->read(r, off, width, ret);
}

static int
wr(struct io_region *r, uint64_t off, unsigned int width, uint64_t v)
{
	int e = check_access(r, off, width);

	if (e < 0)
		return e;
	return r->io->ops->write(r, off, width, v);
}

int
io_read8(struct io_region *r, uint64_t off, uint8_t *ret)
{
	uint64_t v;
	int e = rd(r, off, 1, &v);

	if (e < 0)
		return e;
	*ret = v;
	return 0;
}

int
io_read16(struct io_region *r, uint64_t off, uint16_t *ret)
{
	uint64_t v;
	int e = rd(r, off, 2, &v);

	if (e < 0)
		return e;
	*ret = v;
	return 0;
}

int
io_read32(struct io_region *r, uint64_t off, uint32_t *ret)
{
	uint64_t v;
	int e = rd(r, off, 4, &v);

	if (e < 0)
		return e;
	*ret = v;
	return 0;
}

int
io_read64(struct io_region *r, uint64_t off, uint64_t *ret)
{
	uint64_t v;
	int e = rd(r, off, 8, &v);

	if (e < 0)
		return e;
	*ret = v;
	return 0;
}

int
io_write8(struct io_region *r, uint64_t off, uint8_t v)
{
	return wr(r, off, 1, v);
}

int
io_write16(struct io_region *r, uint64_t off, uint16_t v)
{
	return wr(r, off, 2, v);
}

int
io_write32(struct io_region *r, uint64_t off, uint32_t v)
{
	return wr(r, off, 4, v);
}

int
io_write64(struct io_region *r, uint64_t off, uint64_t v)
{
	return wr(r, off, 8, v);
}

int
io_pci_config_read(struct io *io, unsigned int off, unsigned int width,
                   uint32_t *ret)
{
	if (!io || !ret)
		return -EINVAL;
	if (!io->ops->config_read)
		return -EOPNOTSUPP;
	if ((width != 1 && width != 2 && width != 4) || off % width != 0)
		return -EINVAL;
	return io->ops->config_read(io, off, width, ret);
}

int
io_pci_config_write(struct io *io, unsigned int off, unsigned int width,
                    uint32_t v)
{
	if (!io)
		return -EINVAL;
	if (!io->ops->config_write)
		return -EOPNOTSUPP;
	if ((width != 1 && width != 2 && width != 4) || off % width != 0)
		return -EINVAL;
	if (width < 4 && v >> (8 * width) != 0)
		return -EINVAL;
	return io->ops->config_write(io, off, width, v);
}

int
io_pci_enable_busmaster(struct io *io)
{
	uint32_t cmd;
	int e;

	e = io_pci_config_read(io, PCI_COMMAND_OFF, 2, &cmd);
	if (e < 0)
		return e;
	if ((cmd & (PCI_COMMAND_MEM | PCI_COMMAND_MASTER)) ==
	    (PCI_COMMAND_MEM | PCI_COMMAND_MASTER))
		return 0;
	return io_pci_config_write(io, PCI_COMMAND_OFF, 2,
	                           cmd | PCI_COMMAND_MEM | PCI_COMMAND_MASTER);
}
