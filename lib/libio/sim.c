/*
 * sim.c: the sim backend.  Each region maps to the one device model whose
 * decode range contains it; the model is created on first use and shared
 * by every region of this io that decodes to it, until io_close().  Wider
 * accesses become byte accesses in address order (little-endian).  Grants
 * are ignored: no hardware is touched.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "io_impl.h"

static const struct sim_model_ops *const models[] = {
	&sim_mc146818_ops,
	&sim_i8042_ops,
	&sim_lpt_ops,
};

#define N_MODELS (sizeof(models) / sizeof(models[0]))

struct sim {
	void *inst[N_MODELS]; /* NULL until first requested */
};

int
sim_path(const struct io *io, const char *ext, char **ret)
{
	char *p;

	if (!io->sim_dir || !io->name)
		return -ENOENT;
	if (asprintf(&p, "%s/%s%s", io->sim_dir, io->name, ext) < 0)
		return -ENOMEM;
	*ret = p;
	return 0;
}

static int
sim_open(struct io *io, const struct io_opts *opts)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	io->priv = s;
	return 0;
}

static void
sim_close(struct io *io)
{
	struct sim *s = io->priv;
	size_t i;

	for (i = 0; i < N_MODELS; i++)
		if (s->inst[i])
			models[i]->destroy(s->inst[i]);
	free(s);
}

/* Index of the model decoding all of [base, base+len), or -ENODEV. */
static int
find_model(uint64_t base, uint64_t len)
{
	size_t i;

	for (i = 0; i < N_MODELS; i++)
		if (base >= models[i]->base && len <= models[i]->len &&
		    base - models[i]->base <= models[i]->len - len)
			return i;
	return -ENODEV;
}

/* The instance of model i, created on first use. */
static int
get_model(struct io *io, int i, void **ret)
{
	struct sim *s = io->priv;
	int r;

	if (!s->inst[i]) {
		r = models[i]->create(io, &s->inst[i]);
		if (r < 0)
			return r;
	}
	*ret = s->inst[i];
	return 0;
}

/* What a region points at: its model and that model's instance. */
struct sim_region {
	const struct sim_model_ops *ops;
	void *m;
};

static int
sim_request(struct io *io, struct io_region *r)
{
	struct sim_region *sr;
	void *m;
	int i, e;

	i = find_model(r->base, r->len);
	if (i < 0)
		return i;
	e = get_model(io, i, &m);
	if (e < 0)
		return e;
	sr = malloc(sizeof(*sr));
	if (!sr)
		return -ENOMEM;
	sr->ops = models[i];
	sr->m = m;
	r->priv = sr;
	return 0;
}

static void
sim_release(struct io_region *r)
{
	free(r->priv);
}

static int
sim_read(struct io_region *r, uint64_t off, unsigned int width, uint32_t *ret)
{
	const struct sim_region *sr = r->priv;
	uint16_t port = r->base + off - sr->ops->base;
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < width; i++)
		v |= (uint32_t)sr->ops->read(sr->m, port + i) << (8 * i);
	*ret = v;
	return 0;
}

static int
sim_write(struct io_region *r, uint64_t off, unsigned int width, uint32_t v)
{
	const struct sim_region *sr = r->priv;
	uint16_t port = r->base + off - sr->ops->base;
	unsigned int i;

	for (i = 0; i < width; i++)
		sr->ops->write(sr->m, port + i, v >> (8 * i));
	return 0;
}

const struct io_backend_ops io_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.request = sim_request,
	.release = sim_release,
	.read = sim_read,
	.write = sim_write,
};

int
io_sim_set_clock(struct io *io, io_clock_fn *clock, void *arg)
{
	if (!io || io->ops != &io_sim_ops)
		return -EINVAL;
	io->clock = clock;
	io->clock_arg = arg;
	return 0;
}

/* The model decoding port and its instance, for the test hooks. */
static int
hook_model(struct io *io, uint16_t port, const struct sim_model_ops **ret_ops,
           void **ret_m)
{
	void *m;
	int i, r;

	if (!io || io->ops != &io_sim_ops)
		return -EINVAL;
	i = find_model(port, 1);
	if (i < 0)
		return i;
	r = get_model(io, i, &m);
	if (r < 0)
		return r;
	*ret_ops = models[i];
	*ret_m = m;
	return 0;
}

int
io_sim_feed(struct io *io, uint16_t port, const void *buf, size_t len)
{
	const struct sim_model_ops *ops;
	void *m;
	int r = hook_model(io, port, &ops, &m);

	if (r < 0)
		return r;
	if (!ops->feed)
		return -EOPNOTSUPP;
	return ops->feed(m, buf, len);
}

int
io_sim_dropped(struct io *io, uint16_t port, uint64_t *ret)
{
	const struct sim_model_ops *ops;
	void *m;
	int r = hook_model(io, port, &ops, &m);

	if (r < 0)
		return r;
	if (!ops->dropped)
		return -EOPNOTSUPP;
	*ret = ops->dropped(m);
	return 0;
}

int
io_sim_take(struct io *io, uint16_t port, void *buf, size_t cap)
{
	const struct sim_model_ops *ops;
	void *m;
	int r = hook_model(io, port, &ops, &m);

	if (r < 0)
		return r;
	if (!ops->take)
		return -EOPNOTSUPP;
	return ops->take(m, buf, cap);
}

int
io_sim_set_state(struct io *io, uint16_t port, const char *state)
{
	const struct sim_model_ops *ops;
	void *m;
	int r = hook_model(io, port, &ops, &m);

	if (r < 0)
		return r;
	if (!ops->set_state)
		return -EOPNOTSUPP;
	if (!state)
		return -EINVAL;
	return ops->set_state(m, state);
}
