/*
 * io_impl.h: what libio's backends and sim device models implement.
 * Private to lib/libio.
 */
#ifndef IO_IMPL_H
#define IO_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

struct io_backend_ops {
	const char *name;
	/* Sets up io->priv. */
	int (*open)(struct io *io, const struct io_opts *opts);
	void (*close)(struct io *io);
	/* Checks the grant and prepares r (r->priv). */
	int (*request)(struct io *io, struct io_region *r);
	void (*release)(struct io_region *r);
	/* width is 1, 2 or 4 bytes; off is already checked against r. */
	int (*read)(struct io_region *r, uint64_t off, unsigned int width,
		    uint32_t *ret);
	int (*write)(struct io_region *r, uint64_t off, unsigned int width,
		     uint32_t v);
};

struct io_grant {
	uint64_t base;
	uint64_t len;
};

#define IO_GRANTS_MAX 16

struct io {
	const struct io_backend_ops *ops;
	void *priv;
	struct io_region *regions; /* held regions, for the overlap check */
	struct io_grant grants[IO_GRANTS_MAX];
	unsigned int n_grants;
	char *sim_dir;
	char *name;
	io_clock_fn *clock;
	void *clock_arg;
};

struct io_region {
	struct io *io;
	enum io_space space;
	uint64_t base;
	uint64_t len;
	void *priv;
	struct io_region *next;
};

extern const struct io_backend_ops io_sim_ops;
extern const struct io_backend_ops io_pio_ops;
extern const struct io_backend_ops io_devport_ops;

/* Parses "0x70-0x71,0x378-0x37a" into io->grants.  0 or -EINVAL. */
int io_parse_grants(struct io *io, const char *s);
/* 0 if [base, base+len) lies inside one grant, else -EACCES. */
int io_check_grant(const struct io *io, uint64_t base, uint64_t len);
/* The models' clock: io->clock if set, else CLOCK_REALTIME. */
int io_now(const struct io *io, struct timespec *ret);

/*
 * A sim device model decodes a fixed port range.  create() may use
 * io->sim_dir and io->name for its files (both may be NULL in unit tests).
 */
struct sim_model_ops {
	const char *name;
	uint16_t base;
	uint16_t len;
	int (*create)(struct io *io, void **ret);
	void (*destroy)(void *m);
	uint8_t (*read)(void *m, uint16_t off);
	void (*write)(void *m, uint16_t off, uint8_t v);
	/* Optional test hooks behind io_sim_feed() and friends. */
	int (*feed)(void *m, const void *buf, size_t len);
	uint64_t (*dropped)(void *m);
	int (*take)(void *m, void *buf, size_t cap);
	int (*set_state)(void *m, const char *state);
};

/*
 * Sets *ret to a malloc'd "<sim_dir>/<name><ext>".  -ENOENT when the io has
 * no sim_dir or no name (the model then keeps its state in memory).
 */
int sim_path(const struct io *io, const char *ext, char **ret);

extern const struct sim_model_ops sim_mc146818_ops;
extern const struct sim_model_ops sim_i8042_ops;
extern const struct sim_model_ops sim_lpt_ops;

#endif /* IO_IMPL_H */
