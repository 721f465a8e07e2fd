/*
 * io.h: port I/O and MMIO for drivers, behind one small API.
 *
 * A driver opens one backend, requests the regions it needs, and reads and
 * writes them by offset.  Backends:
 *
 *   sim      software models of the PC's MC146818, i8042 and parallel port
 *   pio      ioperm(2) and in/out instructions, on ports granted by ddmfs
 *   devport  pread/pwrite on /dev/port
 *   mmio     PCI memory BARs through libpciaccess (a later addition)
 *
 * A region is owned exclusively: a second request that overlaps a region
 * already held in this process gets -EBUSY.  Every access is checked
 * against its region, so a bad offset is an error (-ERANGE), never a fault.
 * Every function returns 0 or -errno; out-parameters are left untouched on
 * failure.
 */
#ifndef IO_H
#define IO_H

#include <stdint.h>
#include <time.h>

struct io;
struct io_region;

enum io_space {
	IO_SPACE_PORT, /* x86 I/O ports */
	IO_SPACE_MEM,  /* memory-mapped registers */
};

struct io_opts {
	const char *backend; /* "sim", "pio", "devport" */
	/*
	 * Port ranges ddmfs granted this process, "0x70-0x71,0x378-0x37a".
	 * pio and devport refuse any port outside them with -EACCES, without
	 * touching the hardware.  NULL grants nothing.
	 */
	const char *grants;
	const char *sim_dir; /* sim: directory for model files; NULL: none */
	const char *name;    /* sim: node name naming its files ("rtc0") */
};

int io_open(const struct io_opts *opts, struct io **ret);
/* Releases every region still held and closes the backend; NULL is fine. */
void io_close(struct io *io);
const char *io_backend(const struct io *io);

int io_region_request(struct io *io, enum io_space space, uint64_t base,
		      uint64_t len, struct io_region **ret);
/* NULL is fine. */
void io_region_release(struct io_region *r);

int io_read8(struct io_region *r, uint64_t off, uint8_t *ret);
int io_read16(struct io_region *r, uint64_t off, uint16_t *ret);
int io_read32(struct io_region *r, uint64_t off, uint32_t *ret);
int io_write8(struct io_region *r, uint64_t off, uint8_t v);
int io_write16(struct io_region *r, uint64_t off, uint16_t v);
int io_write32(struct io_region *r, uint64_t off, uint32_t v);

/*
 * sim only, for tests: replaces the wall clock the device models run on.
 * clock fills *ret (CLOCK_REALTIME semantics) and returns 0 or -errno.
 * Returns -EINVAL on other backends.
 */
typedef int io_clock_fn(void *arg, struct timespec *ret);
int io_sim_set_clock(struct io *io, io_clock_fn *clock, void *arg);

#endif /* IO_H */
