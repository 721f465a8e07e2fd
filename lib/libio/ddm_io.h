/*
 * ddm_io.h: port I/O and MMIO for drivers, behind one small API.
 *
 * A driver opens one backend, requests the regions it needs, and reads and
 * writes them by offset.  Backends:
 *
 *   sim      software models of the PC's MC146818, i8042 and parallel port
 *   pio      ioperm(2) and in/out instructions, on ports granted by ddmfs
 *   devport  pread/pwrite on /dev/port (an fd ddmfs opened, or opened here)
 *   mmio     a PCI function's BARs and config space through VFIO (an fd
 *            ddmfs opened): BARs are mapped where VFIO allows it, else
 *            read and written through the device fd
 *
 * A region is owned exclusively: a second request that overlaps a region
 * already held in this process gets -EBUSY.  Every access is checked
 * against its region, so a bad offset is an error (-ERANGE), never a fault.
 * Every function returns 0 or -errno; out-parameters are left untouched on
 * failure.
 */
#ifndef DDM_IO_H
#define DDM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io;
struct io_region;

enum io_space {
	IO_SPACE_PORT, /* x86 I/O ports */
	IO_SPACE_MEM,  /* memory-mapped registers */
};

struct io_opts {
	const char *backend; /* "sim", "pio", "devport", "mmio" */
	/*
	 * Port ranges ddmfs granted this process, "0x70-0x71,0x378-0x37a".
	 * pio and devport refuse any port outside them with -EACCES, without
	 * touching the hardware.  NULL grants nothing.
	 */
	const char *grants;
	/*
	 * sim: an open directory (not O_PATH) where the models keep their
	 * files, which they reach only through it (openat(2) and friends,
	 * never a path); io keeps a duplicate, the caller still owns this
	 * one.  0 (the default) or -1: none, and the models keep their
	 * state in memory.
	 */
	int sim_dirfd;
	const char *name; /* sim: node name naming its files ("rtc0") */
	/*
	 * devport: an open /dev/port (ddmfs opens it for the driver, which
	 * has no CAP_SYS_RAWIO), or any file standing in for it in tests;
	 * io keeps a duplicate, the caller still owns this one.  0 (the
	 * default) or -1: io opens /dev/port itself.
	 */
	int devport_fd;
	/*
	 * mmio: the VFIO device fd of the PCI function (from
	 * VFIO_GROUP_GET_DEVICE_FD); io keeps a duplicate, the caller still
	 * owns this one.  Required by mmio, ignored by the others.
	 */
	int vfio_device_fd;
};

/*
 * On mmio, an IO_SPACE_MEM region's base names a BAR and an offset in it:
 * IO_PCI_BAR(n) + off, BAR n in bits 40 and up (n 0..5).  A region lies in
 * one BAR and inside its size (else -EINVAL / -ERANGE at the request):
 *
 *	io_region_request(io, IO_SPACE_MEM, IO_PCI_BAR(0), 0x100000, &r);
 *
 * An I/O-port BAR is requested the same way; VFIO then reads and writes
 * it through the device fd.  Memory accesses must be aligned to their
 * width (-EINVAL); each is one volatile load or store with full barriers
 * on both sides, so it is ordered against DMA buffers and other accesses.
 */
#define IO_PCI_BAR_SHIFT        40
#define IO_PCI_BAR(n)           ((uint64_t)(n) << IO_PCI_BAR_SHIFT)
#define IO_PCI_BAR_INDEX(base)  ((unsigned int)((base) >> IO_PCI_BAR_SHIFT))
#define IO_PCI_BAR_OFFSET(base) ((base) & (IO_PCI_BAR(1) - 1))

int io_open(const struct io_opts *opts, struct io **ret);
/* Releases every region still held and closes the backend; NULL is fine. */
void io_close(struct io *io);
const char *io_backend(const struct io *io);
/*
 * Grant i (from 0) of io_opts.grants: 0 with its first port and length,
 * or -ENOENT past the last.
 */
int io_grant(const struct io *io, unsigned int i, uint64_t *ret_base,
             uint64_t *ret_len);
/*
 * What the last failed file operation of a sim model was, as
 * "lp0.out: Permission denied", for the program to log; NULL if none
 * failed.  The call that hit the failure returned it as -errno.
 */
const char *io_last_error(const struct io *io);

/*
 * Takes [base, base+len) of space.  IO_SPACE_PORT: port numbers (pio and
 * devport check them against the grants).  IO_SPACE_MEM, on mmio only
 * (-EOPNOTSUPP elsewhere): base is IO_PCI_BAR(n) + the offset in BAR n.
 */
int io_region_request(struct io *io, enum io_space space, uint64_t base,
                      uint64_t len, struct io_region **ret);
/* NULL is fine. */
void io_region_release(struct io_region *r);

int io_read8(struct io_region *r, uint64_t off, uint8_t *ret);
int io_read16(struct io_region *r, uint64_t off, uint16_t *ret);
int io_read32(struct io_region *r, uint64_t off, uint32_t *ret);
/* 64-bit accesses: IO_SPACE_MEM only (-EINVAL on ports). */
int io_read64(struct io_region *r, uint64_t off, uint64_t *ret);
/*
 * On sim, a write whose effect a model could not store (a printed byte
 * not appended to its file, a clock offset not saved) returns that -errno
 * and the model acts as if the write had not happened.
 */
int io_write8(struct io_region *r, uint64_t off, uint8_t v);
int io_write16(struct io_region *r, uint64_t off, uint16_t v);
int io_write32(struct io_region *r, uint64_t off, uint32_t v);
int io_write64(struct io_region *r, uint64_t off, uint64_t v);

/*
 * mmio only (-EOPNOTSUPP elsewhere): the PCI function's config space, as
 * VFIO shows it, by offset; width 1, 2 or 4, aligned to itself (-EINVAL),
 * values in CPU order.
 */
int io_pci_config_read(struct io *io, unsigned int off, unsigned int width,
                       uint32_t *ret);
int io_pci_config_write(struct io *io, unsigned int off, unsigned int width,
                        uint32_t v);
/*
 * Sets memory decoding and bus mastering (command register bits 1 and 2),
 * which DMA and MSI need.  mmio only.
 */
int io_pci_enable_busmaster(struct io *io);

/*
 * sim only, for tests: replaces the wall clock the device models run on.
 * clock fills *ret (CLOCK_REALTIME semantics) and returns 0 or -errno.
 * Returns -EINVAL on other backends.
 */
typedef int io_clock_fn(void *arg, struct timespec *ret);
int io_sim_set_clock(struct io *io, io_clock_fn *clock, void *arg);

/*
 * sim only, for tests and the demo.  port names the model (any port it
 * decodes); the model is created if no region has asked for it yet.  All
 * return -EINVAL on other backends, -ENODEV if no model decodes port and
 * -EOPNOTSUPP if that model has no such hook.
 *
 * io_sim_feed: queues bytes as if the device had sent them (i8042: set-1
 * scancodes from the keyboard).  Returns how many were queued; the rest
 * overflowed the model's queue and were dropped and counted.
 * io_sim_dropped: how many input bytes the model has dropped so far.
 * io_sim_take: moves up to cap bytes the device received (parallel port:
 * the printed bytes, oldest first, the last 4096 kept) into buf and
 * returns how many.
 * io_sim_set_state: sets the device's condition (parallel port: "ready",
 * "busy", "busy:MS", "paperout", "offline", "error"); -EINVAL if unknown.
 */
int io_sim_feed(struct io *io, uint16_t port, const void *buf, size_t len);
int io_sim_dropped(struct io *io, uint16_t port, uint64_t *ret);
int io_sim_take(struct io *io, uint16_t port, void *buf, size_t cap);
int io_sim_set_state(struct io *io, uint16_t port, const char *state);

#ifdef __cplusplus
}
#endif

#endif /* DDM_IO_H */
