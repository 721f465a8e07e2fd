/*
 * sim.c: the sim backend.  Each region maps to the one device model whose
 * decode range contains it; the model is created on first use and shared
 * by every region of this io that decodes to it, until io_close().  Wider
 * accesses become byte accesses in address order (little-endian); the
 * first byte a model cannot store ends the access with its error.  Grants
 * are ignored: no hardware is touched.  The models' files live in the
 * directory io_opts.sim_dirfd, of which the backend keeps a duplicate.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_impl.h"

static const struct sim_model_ops *const models[] = {
	&sim_mc146818_ops,
	&sim_i8042_ops,
	&sim_lpt_ops,
	&sim_lpt2_ops,
};

#define N_MODELS (sizeof(models) / sizeof(models[0]))

struct sim {
	void *inst[N_MODELS]; /* NULL until first requested */
};

int
sim_file(struct io *io, const char *ext, char *buf, size_t cap)
{
	int n;

	if (io->sim_dirfd < 0 || !io->name)
		return -ENOENT;
	n = snprintf(buf, cap, "%s%s", io->name, ext);
	if (strchr(io->name, '/') || n < 0 || (size_t)n >= cap)
		return sim_fail(io, io->name, -EINVAL);
	return 0;
}

int
sim_fail(struct io *io, const char *file, int err)
{
	snprintf(io->err, sizeof(io->err), "%s: %s", file, strerror(-err));
	return err;
}

int
sim_private(struct io *io, int fd, const char *file)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return sim_fail(io, file, -errno);
	if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 07700) < 0)
		return sim_fail(io, file, -errno);
	return 0;
}

int
sim_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Keeps a duplicate of the caller's sim dir, checked to be a directory. */
static int
sim_open(struct io *io, const struct io_opts *opts)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct stat st;
	int fl, r;

	if (!s)
		return -ENOMEM;
	if (opts->sim_dirfd > 0) {
		fl = fcntl(opts->sim_dirfd, F_GETFL);
		if (fl < 0 || fstat(opts->sim_dirfd, &st) < 0)
			goto fail_errno;
		r = -ENOTDIR;
		if (!S_ISDIR(st.st_mode))
			goto free_sim;
		r = -EBADF; /* an O_PATH fd cannot fsync(2) the dir */
		if (fl & O_PATH)
			goto free_sim;
		io->sim_dirfd = fcntl(opts->sim_dirfd, F_DUPFD_CLOEXEC, 3);
		if (io->sim_dirfd < 0)
			goto fail_errno;
	}
	io->priv = s;
	return 0;

fail_errno:
	r = -errno;
free_sim:
	free(s);
	return r;
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
	if (io->sim_dirfd >= 0)
		close(io->sim_dirfd);
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
sim_read(struct io_region *r, uint64_t off, unsigned int width, uint64_t *ret)
{
	const struct sim_region *sr = r->priv;
	uint16_t port = r->base + off - sr->ops->base;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < width; i++)
		v |= (uint64_t)sr->ops->read(sr->m, port + i) << (8 * i);
	*ret = v;
	return 0;
}

static int
sim_write(struct io_region *r, uint64_t off, unsigned int width, uint64_t v)
{
	const struct sim_region *sr = r->priv;
	uint16_t port = r->base + off - sr->ops->base;
	unsigned int i;
	int e;

	for (i = 0; i < width; i++) {
		e = sr->ops->write(sr->m, port + i, v >> (8 * i));
		if (e < 0)
			return e;
	}
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
	.port = true,
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
