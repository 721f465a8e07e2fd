/*
 * ddm_driver.h: the API a ddmfs driver is written against.
 *
 * A driver is an ops table plus one call:
 *
 *	static const struct ddm_driver_ops rtc_ops = {
 *		.init = rtc_init,
 *		.read = rtc_read,
 *		.write = rtc_write,
 *		.ioctl = rtc_ioctl,
 *	};
 *
 *	int
 *	main(int argc, char **argv)
 *	{
 *		return ddm_driver_main(argc, argv, &rtc_ops, sizeof(rtc_ops),
 *		    &rtc_softc);
 *	}
 *
 * libdriver parses the command line ddmfs gives the driver, opens the libio
 * backend named by --io=, calls init, then serves requests on one thread
 * until SIGTERM arrives, and finally answers -EINTR to suspended requests
 * (cancel first), releases open handles and calls fini.  Hooks run one at
 * a time on that thread, so a driver needs no locks.  If ddmfs dies, the
 * driver drops what came through it (cancel, then release; a CUSE device
 * and its open files stay) and waits up to 30 s for the next ddmfs to
 * adopt it, then goes on as before or exits.
 *
 * Hooks return 0 or a positive count on success and -errno on failure.  A
 * NULL hook gets the library default: open and release succeed, read gives
 * -EIO, write gives -EINVAL (a node without a write hook is read-only), ioctl
 * gives -ENOTTY, poll reports POLLIN | POLLOUT.  Buffers passed to a hook
 * (read's buf, write's buf, ioctl's in and out) are valid only until it
 * returns; a suspended request answers with its own data in ddm_reply().
 *
 * A hook that cannot answer at once (a read waiting for a key) keeps the
 * struct ddm_req pointer, returns DDM_SUSPEND, and answers later with
 * ddm_reply() or ddm_reply_error().  Never block the request loop: use a
 * timer (ddm_timer_add()) to come back.  ddmfs pings a silent driver; one
 * stuck in a hook for DRV_PING_TIMEOUT_MS (5 s) is killed and restarted.
 *
 * An open hook may suspend too: it takes its request with ddm_open_req(h)
 * and later answers ddm_reply(r, 0, NULL, 0) (the handle is open) or
 * ddm_reply_error(r, -errno).  Until then the handle is "opening": no other
 * request and no release arrive for it.  An open answered with an error,
 * interrupted (cancel, then -EINTR) or still pending at shutdown never
 * opened: its handle is freed without calling release.
 *
 * The same driver source serves both transports (FUSE forwarding through
 * ddmfs, and CUSE); libdriver hides which one is in use.
 */
#ifndef DDM_DRIVER_H
#define DDM_DRIVER_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct io;
struct ddm_dev; /* the driver process's context; one per process */
struct ddm_req; /* one request in flight */

/* Returned by open, read, write and ioctl hooks that will reply later. */
#define DDM_SUSPEND (-100000)

/*
 * One node (leaf) the instance serves.  A conf device entry is one driver
 * instance, one process, and may publish several nodes, like minors of one
 * chip: ddm-rtc serves rtc0 (the clock) and nvram0 (the CMOS bytes).  The
 * driver lists the kinds of node it knows in ops.kinds; each node the conf
 * gives it is one of them (by `kind =` in the conf, else by its position).
 */
struct ddm_node {
	const char *name;    /* "nvram0" */
	const char *path;    /* "isa0/nvram0", below the mount */
	unsigned int index;  /* 0 for the first node of the instance */
	unsigned int kind;   /* index into ops.kinds (0 without a table) */
	void *priv;          /* per-node data; the driver owns it */
	struct ddm_dev *dev; /* the instance it belongs to */
};

/* A kind of node, as the driver declares it (struct ddm_driver_ops.kinds). */
struct ddm_kind {
	const char *name;   /* what a conf node's `kind =` says, "nvram" */
	unsigned int flags; /* DDM_SEEKABLE */
	uint64_t size;      /* a seekable node's size in bytes (st_size) */
};

/*
 * The node has a file offset: read and write get it (pread, pwrite and
 * lseek work).  Without it a node is a stream: off is always 0.
 */
#define DDM_SEEKABLE 0x1u

/* Who made a request (each request can come from another process). */
struct ddm_cred {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* One open file of a node. */
struct ddm_handle {
	void *sc;              /* the softc given to ddm_driver_main() */
	void *priv;            /* per-open data; the driver owns it */
	struct ddm_node *node; /* the node it opened */
	int flags;             /* open(2) flags; O_NONBLOCK as the read or
	                        * write being served has it (fcntl) */
	uid_t uid;             /* the process that opened the node */
	gid_t gid;
	pid_t pid;
};

/*
 * Whether h was opened for writing (O_WRONLY or O_RDWR).  The kernel checks
 * the node's permissions at open only, and write(2) never reaches a handle
 * opened read-only; ioctls do.  So an ioctl that changes the device (sets
 * the clock, resets the printer) must start with
 *
 *	if (!ddm_writable(h))
 *		return -EBADF;
 *
 * or a user who may only read the node could change it.  Ioctls that only
 * read, or change only that handle's own state (kbd's KDSKBMODE), work on
 * any handle.  Where a standard tool changes the device through a read-only
 * open, a driver may also let root's handle (h->uid == 0) through, as root
 * may open the node for writing anyway: ddm-rtc does, for hwclock --set.
 */
static inline bool
ddm_writable(const struct ddm_handle *h)
{
	int acc = h->flags & O_ACCMODE;

	return acc == O_WRONLY || acc == O_RDWR;
}

/* One ioctl call.  in/out point into buffers owned by libdriver. */
struct ddm_ioctl {
	unsigned int cmd;
	unsigned long arg; /* the raw argument, for value ioctls (KDSKBMODE) */
	const void *in;    /* data the caller passed in */
	size_t in_len;
	void *out; /* data to copy back to the caller */
	size_t out_len;
};

/*
 * Sizes of ioctls whose command does not encode them (_IOC_SIZE == 0, as
 * LPGETSTATUS or KDGKBMODE).  Only the CUSE transport can serve those; over
 * FUSE the kernel passes no data and libdriver answers -ENOTTY when a
 * listed ioctl needs some.  The table ends with a zero cmd.
 */
struct ddm_ioctl_desc {
	unsigned int cmd;
	uint32_t in_size;
	uint32_t out_size;
};

struct ddm_driver_ops {
	/* Called once before serving; nonzero fails the driver start. */
	int (*init)(struct ddm_dev *dev, void *sc);
	/* Called once when the driver stops. */
	void (*fini)(struct ddm_dev *dev, void *sc);
	int (*open)(struct ddm_handle *h);
	void (*release)(struct ddm_handle *h);
	/* off: the file offset on a DDM_SEEKABLE node, else 0 */
	ssize_t (*read)(struct ddm_handle *h, struct ddm_req *r, void *buf,
	                size_t size, off_t off);
	ssize_t (*write)(struct ddm_handle *h, struct ddm_req *r,
	                 const void *buf, size_t size, off_t off);
	int (*ioctl)(struct ddm_handle *h, struct ddm_req *r,
	             struct ddm_ioctl *io);
	/* Returns the poll(2) events that are ready now. */
	unsigned int (*poll)(struct ddm_handle *h);
	/*
	 * A suspended request was interrupted (or its handle closed): forget
	 * r; libdriver replies -EINTR.  Without this hook r is answered
	 * -EINTR all the same but stays valid, cut from its handle
	 * (ddm_req_handle() gives NULL), until the driver answers it, which
	 * then only frees it.
	 */
	void (*cancel)(struct ddm_handle *h, struct ddm_req *r);
	const struct ddm_ioctl_desc *ioctls;
	/*
	 * The kinds of node this driver serves, ending with a NULL name;
	 * NULL: one kind of stream node, which every node is.
	 */
	const struct ddm_kind *kinds;
	/*
	 * The driver's own options, which the conf's args (or a hand-started
	 * driver's command line) give as --NAME=VALUE or --NAME VALUE; a
	 * NULL-terminated list of names.  Anything else is refused at start.
	 * ddm_option() reads them.
	 */
	const char *const *options;
	/*
	 * A PCI driver's interrupt (--vfio-fd): vector is the MSI vector
	 * (0 for INTx).  Runs on the loop thread like every hook; it
	 * acknowledges the device and may answer suspended requests.  Set,
	 * it makes libdriver enable MSI (else INTx) before init.
	 */
	void (*intr)(struct ddm_dev *dev, void *sc, unsigned int vector);
};

/*
 * Runs the driver; returns the process exit status.  ops_size is
 * sizeof(*ops), so the table can grow without breaking old drivers.
 */
int ddm_driver_main(int argc, char **argv, const struct ddm_driver_ops *ops,
                    size_t ops_size, void *sc);

/* The libio backend chosen with --io=. */
struct io *ddm_io(struct ddm_dev *dev);
/* The instance's path below the mount, e.g. "isa0/rtc0" (its conf entry). */
const char *ddm_node(struct ddm_dev *dev);
/* The instance's own name, e.g. "rtc0"; the sim models name files by it. */
const char *ddm_name(struct ddm_dev *dev);
/* How many nodes the instance serves (at least 1), and node i of them. */
unsigned int ddm_node_count(struct ddm_dev *dev);
struct ddm_node *ddm_node_at(struct ddm_dev *dev, unsigned int i);
/*
 * The value of the driver's option name (one of ops.options) as the conf
 * gave it, or NULL if it was not given.
 */
const char *ddm_option(struct ddm_dev *dev, const char *name);
/*
 * Port range i (from 0) that ddmfs granted the instance (the conf's
 * ports): 0 with its first port and length, or -ENOENT past the last.
 * A driver takes its ports from here, never from a constant, so one binary
 * drives the chip wherever the conf says it is.
 */
int ddm_ports(struct ddm_dev *dev, unsigned int i, uint16_t *ret_base,
              uint16_t *ret_len);
/*
 * The driver's own private state directory (--state-fd), writable by it and
 * reached with openat(2) and friends; -1 if ddmfs gave none.  libdriver
 * owns the fd: do not close it.
 */
int ddm_state_fd(struct ddm_dev *dev);

/* The handle a request belongs to. */
struct ddm_handle *ddm_req_handle(struct ddm_req *r);
/* For a suspended read: how many bytes the caller asked for. */
size_t ddm_req_size(struct ddm_req *r);
/*
 * The OPEN request of h, for an open hook that wants to suspend; valid only
 * while h's open hook runs (NULL elsewhere).
 */
struct ddm_req *ddm_open_req(struct ddm_handle *h);

/*
 * Answers a suspended request: result >= 0 with len bytes of data (read,
 * ioctl out), or -errno.  Frees r.
 */
void ddm_reply(struct ddm_req *r, long result, const void *data, size_t len);
void ddm_reply_error(struct ddm_req *r, int err);

/* Tells waiting poll(2) callers on h that its ready events may have changed. */
void ddm_poll_notify(struct ddm_handle *h);
/* ddm_poll_notify() for every open handle of node n. */
void ddm_poll_notify_node(struct ddm_node *n);
/* Calls fn(h, arg) for every open handle of node n (NULL: of every node). */
void ddm_each_handle(struct ddm_dev *dev, struct ddm_node *n,
                     void (*fn)(struct ddm_handle *h, void *arg), void *arg);

/*
 * A PCI instance (ddmfs passes --pci and --vfio-fd, and --io=mmio):
 * ddm_pci() is its address, "0000:00:04.0" (NULL for others), and
 * ddm_intr_count() how many interrupts have reached the intr hook.
 */
const char *ddm_pci(struct ddm_dev *dev);
uint64_t ddm_intr_count(struct ddm_dev *dev);
/*
 * A DMA buffer of len bytes (rounded up to pages, zeroed), mapped into
 * the function's IOMMU: its address for the CPU in *ret_cpu and for the
 * device (the IOVA, below 256 MiB, so a 28-bit DMA mask reaches it) in
 * *ret_iova.  0, -ENODEV without --vfio-fd, -ENOMEM, or another -errno
 * (pinned pages count against RLIMIT_MEMLOCK).  Buffers still allocated
 * at exit are freed after fini.
 */
int ddm_dma_alloc(struct ddm_dev *dev, size_t len, void **ret_cpu,
                  uint64_t *ret_iova);
/* Unmaps and frees the buffer at cpu; NULL is fine. */
void ddm_dma_free(struct ddm_dev *dev, void *cpu);

/* Who made request r. */
const struct ddm_cred *ddm_req_cred(struct ddm_req *r);

/*
 * Serves a per-open text snapshot, "one line, then EOF": the first read of
 * h calls fill(h, text, cap) to write the text (returning its length or
 * -errno), later reads go on where the last ended, then give 0.  A read
 * hook just returns ddm_read_text(h, buf, size, fill).  The text is freed
 * with the handle; cap is 4096.
 */
typedef ssize_t ddm_text_fn(struct ddm_handle *h, char *text, size_t cap);
ssize_t ddm_read_text(struct ddm_handle *h, void *buf, size_t size,
                      ddm_text_fn *fill);

/* CLOCK_MONOTONIC in microseconds, for bounding hardware waits. */
uint64_t ddm_now_us(void);

typedef void ddm_timer_fn(struct ddm_dev *dev, void *arg);

/* Calls fn(dev, arg) once, delay_us from now.  Returns a timer id > 0 or
 * -errno. */
int ddm_timer_add(struct ddm_dev *dev, uint64_t delay_us, ddm_timer_fn *fn,
                  void *arg);
/* Cancels a pending timer; an unknown or expired id is ignored. */
void ddm_timer_cancel(struct ddm_dev *dev, int id);

typedef void ddm_fd_fn(struct ddm_dev *dev, int fd, unsigned int events,
                       void *arg);

/* Calls fn when fd has any of events (EPOLLIN...).  Returns 0 or -errno. */
int ddm_fd_watch(struct ddm_dev *dev, int fd, unsigned int events,
                 ddm_fd_fn *fn, void *arg);
void ddm_fd_unwatch(struct ddm_dev *dev, int fd);

/* Logs to stderr with the driver and node name in front. */
void ddm_log(struct ddm_dev *dev, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif /* DDM_DRIVER_H */
