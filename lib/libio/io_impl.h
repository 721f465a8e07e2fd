/*
 * io_impl.h: what libio's backends and sim device models implement.
 * Private to lib/libio.
 */
#ifndef IO_IMPL_H
#define IO_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddm_io.h"

struct io_backend_ops {
	const char *name;
	/* Sets up io->priv. */
	int (*open)(struct io *io, const struct io_opts *opts);
	void (*close)(struct io *io);
	/* Checks the grant and prepares r (r->priv). */
	int (*request)(struct io *io, struct io_region *r);
	void (*release)(struct io_region *r);
	/*
	 * width is 1, 2 or 4 bytes (and 8 on IO_SPACE_MEM); off is already
	 * checked against r.
	 */
	int (*read)(struct io_region *r, uint64_t off, unsigned int width,
	            uint64_t *ret);
	int (*write)(struct io_region *r, uint64_t off, unsigned int width,
	             uint64_t v);
	/* Whether the backend serves IO_SPACE_PORT and IO_SPACE_MEM. */
	bool port;
	bool mem;
	/* PCI config space (mmio only; NULL: -EOPNOTSUPP). */
	int (*config_read)(struct io *io, unsigned int off, unsigned int width,
	                   uint32_t *ret);
	int (*config_write)(struct io *io, unsigned int off, unsigned int width,
	                    uint32_t v);
};

struct io_grant {
	uint64_t base;
	uint64_t len;
};

#define IO_GRANTS_MAX 16
#define IO_ERR_MAX    128

struct io {
	const struct io_backend_ops *ops;
	void *priv;
	struct io_region *regions; /* held regions, for the overlap check */
	struct io_grant grants[IO_GRANTS_MAX];
	unsigned int n_grants;
	int sim_dirfd; /* sim: the models' directory, or -1 */
	char *name;
	char err[IO_ERR_MAX]; /* io_last_error(), "" if none */
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
extern const struct io_backend_ops io_mmio_ops;

/* Parses "0x70-0x71,0x378-0x37a" into io->grants.  0 or -EINVAL. */
int io_parse_grants(struct io *io, const char *s);
/* 0 if [base, base+len) lies inside one grant, else -EACCES. */
int io_check_grant(const struct io *io, uint64_t base, uint64_t len);
/* The models' clock: io->clock if set, else CLOCK_REALTIME. */
int io_now(const struct io *io, struct timespec *ret);

/*
 * A sim device model decodes a fixed port range.  create() may keep files
 * named after io->name in the directory io->sim_dirfd (sim_file()); unit
 * tests often give neither.  write() returns 0, or -errno when the model
 * could not store its effect (the write then did not happen).
 */
struct sim_model_ops {
	const char *name;
	uint16_t base;
	uint16_t len;
	int (*create)(struct io *io, void **ret);
	void (*destroy)(void *m);
	uint8_t (*read)(void *m, uint16_t off);
	int (*write)(void *m, uint16_t off, uint8_t v);
	/* Optional test hooks behind io_sim_feed() and friends. */
	int (*feed)(void *m, const void *buf, size_t len);
	uint64_t (*dropped)(void *m);
	int (*take)(void *m, void *buf, size_t cap);
	int (*set_state)(void *m, const char *state);
};

/*
 * A model's files live in io->sim_dirfd, reached with openat(2) and
 * friends, O_NOFOLLOW and O_CLOEXEC, never by a path.
 *
 * sim_file() puts the file name "<name><ext>" in buf (cap bytes).  0;
 * -ENOENT when the io has no sim dir or no name (the model then keeps its
 * state in memory); -EINVAL (and sim_fail()) for a name holding '/' or one
 * too long.
 */
int sim_file(struct io *io, const char *ext, char *buf, size_t cap);
/* Remembers "<file>: <strerror(-err)>" as io_last_error(); returns err. */
int sim_fail(struct io *io, const char *file, int err);
/*
 * Takes group and other permissions from the model file file open as fd
 * (model files are 0600, also those an older version left 0644).
 */
int sim_private(struct io *io, int fd, const char *file);
/* Writes all of buf to fd: 0, or -errno (-EIO if no byte was taken). */
int sim_write_all(int fd, const void *buf, size_t len);

extern const struct sim_model_ops sim_mc146818_ops;
extern const struct sim_model_ops sim_i8042_ops;
extern const struct sim_model_ops sim_lpt_ops;
extern const struct sim_model_ops sim_lpt2_ops;

#endif /* IO_IMPL_H */
