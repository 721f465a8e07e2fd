/*
 * driver_impl.h: libdriver's private structures, shared by driver.c (start
 * and stop), dispatch.c (requests and handles), loop.c (event loop, timers,
 * fd watches) and chan.c (the socket transport).  Not for drivers.
 */
#ifndef DRIVER_IMPL_H
#define DRIVER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddm_driver.h"
#include "ddm_proto.h"

struct ddm_transport;

/*
 * One request as a transport decoded it, independent of the wire.  payload
 * stays valid until the transport's next() is called again.  tctx is the
 * transport's own cookie for answering (a fuse_req_t under CUSE).
 */
struct ddm_rq {
	enum ddm_op op;
	uint64_t id;
	uint64_t fh;
	uint32_t arg0;
	uint64_t arg1;
	uint64_t arg2;
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	const void *payload;
	size_t len;
	void *tctx;
	struct ddm_transport *tp; /* where it came from (dispatch_ready()) */
};

/*
 * A transport moves requests in and answers out.  The loop watches fd for
 * EPOLLIN and then pulls requests with next() until it returns -EAGAIN.
 */
struct ddm_transport_ops {
	const char *name;
	/*
	 * Fills *ret with the next request: 0, -EAGAIN when none is ready,
	 * -EPIPE when the peer is gone, -EBADMSG when a malformed packet was
	 * dropped (already logged), or another -errno that is fatal.
	 */
	int (*next)(struct ddm_transport *t, struct ddm_rq *ret);
	int (*send_hello)(struct ddm_transport *t);
	int (*send_reply)(struct ddm_transport *t, uint64_t id, void *tctx,
	                  long result, const void *data, size_t len);
	int (*send_notify)(struct ddm_transport *t, uint64_t fh);
	/* Frees t; NULL is fine. */
	void (*close)(struct ddm_transport *t);
	/*
	 * True while decoded requests wait for next() although fd may not be
	 * readable; NULL means never.
	 */
	bool (*pending)(struct ddm_transport *t);
	/* ddmfs hung up (next() gave -EPIPE): become an orphan (orphan.c).
	 * 0, or -errno to exit.  NULL: exit. */
	int (*orphan)(struct ddm_transport *t);
	/* A hook suspended the request of tctx: it will be answered later,
	 * and may be interrupted meanwhile.  NULL: nothing to do. */
	void (*suspended)(struct ddm_transport *t, void *tctx);
};

struct ddm_transport {
	const struct ddm_transport_ops *ops;
	struct ddm_dev *dev;
	int fd;
	unsigned int node; /* CUSE: the node it serves; socket: all (0) */
};

/* The socket transport (FUSE forwarding through ddmfs) on fd. */
int chan_open(struct ddm_dev *dev, int fd, struct ddm_transport **ret);
/*
 * Sends DDM_HELLO with arg1 = via (DDM_HELLO_*) and dev's nodes on the ddm
 * socket fd.
 */
int chan_hello(struct ddm_dev *dev, int fd, uint64_t via);
/* Answers the heartbeat DDM_PING id on the ddm socket fd (result 0). */
int chan_pong(int fd, uint64_t id);

struct cuse_opts {
	int cuse_fd[DDM_NODES_MAX]; /* an open /dev/cuse per node; -1: the
	                             * node is served over the socket */
	unsigned int major[DDM_NODES_MAX], minor[DDM_NODES_MAX]; /* 0:0 lets
	                                                          * the kernel
	                                                          * choose */
};

/*
 * The CUSE transport: serves each node of dev that has a /dev/cuse in o
 * as the char device /dev/ddm/BUS/NAME, one transport each in ret; how
 * many in *ret_n.  HELLO goes out on dev->sock_tp once every device
 * exists.
 */
int cuse_open(struct ddm_dev *dev, const struct cuse_opts *o,
              struct ddm_transport **ret, unsigned int *ret_n);

/* One open file of the node, as libdriver tracks it. */
struct hnd {
	struct ddm_handle h; /* what the driver sees; first member */
	struct ddm_dev *dev;
	struct ddm_transport *tp; /* where its requests come from */
	uint64_t fh;
	char *text; /* ddm_read_text()'s snapshot; NULL: not taken yet */
	size_t text_len, text_pos;
	bool want_notify; /* a poll asked to be told of changes */
	bool in_open;     /* the open hook runs: ddm_open_req() works */
	/* The OPEN not answered yet: the handle is "opening" and serves no
	 * other request until the answer settles it (req_free()). */
	struct ddm_req *open_req;
	struct hnd *next;          /* hash chain */
	struct hnd *nprev, *nnext; /* the handles of its node */
};

struct ddm_req {
	struct ddm_dev *dev;
	struct ddm_transport *tp; /* the answer goes back here */
	struct hnd *hnd;          /* NULL for requests on an unknown fh */
	uint64_t id;
	void *tctx;
	struct ddm_cred cred;
	enum ddm_op op;
	size_t size;  /* read: bytes asked; write: bytes given; ioctl: out */
	bool in_hook; /* a hook runs with r: replies must not free it */
	bool done;    /* answered */
	bool zombie;  /* interrupted in a driver without a cancel hook: it
	               * was answered -EINTR, and stays allocated (handle
	               * gone) until the driver answers it (ignored) */
	long result;  /* the answer sent, once done */
	struct ddm_req *prev, *next; /* dev->reqs */
};

struct watch;
struct timer;
struct dma_buf;

/* Freed struct ddm_req kept for reuse. */
#define DDM_REQ_SPARE 8

/* The most MSI vectors libdriver asks for. */
#define DDM_IRQ_MAX 8

/* The VFIO fds of a PCI instance (--vfio-fd), in the order ddmfs gives. */
enum vfio_fd_role { VFIO_CONTAINER, VFIO_GROUP, VFIO_DEVICE, VFIO_NFDS };

struct ddm_dev {
	const char *prog; /* "ddm-rtc" */
	const char *node; /* "isa0/rtc0" */
	const char *name; /* "rtc0" */
	int state_fd;     /* --state-fd, or -1 */
	struct ddm_driver_ops ops;
	void *sc;
	struct io *io;
	struct ddm_transport *tp;      /* the one that says HELLO */
	struct ddm_transport *sock_tp; /* the socket to ddmfs (chan.c) */
	bool cuse; /* the CUSE transport: a CUSE device per stream node,
	            * seekable nodes over the socket (CUSE has no offsets) */
	struct ddm_transport *tps[DDM_NODES_MAX];
	unsigned int n_tps;
	struct ddm_node nodes[DDM_NODES_MAX];
	unsigned int n_nodes;
	char paths[DDM_NODES_MAX][80]; /* the nodes' "bus/name" */
	const char **opts;             /* values of ops.options, by index */

	struct hnd **htab; /* handles by fh, chained */
	size_t hbuckets;   /* a power of two */
	size_t nhandles;
	struct ddm_req *reqs;   /* every request not answered yet */
	void *rbuf;             /* DDM_PAYLOAD_MAX bytes: a read hook's buf */
	struct hnd **node_hnds; /* n_nodes lists: each node's handles */
	/* freed requests kept for the next ones: no malloc per request */
	struct ddm_req *spare[DDM_REQ_SPARE];
	unsigned int n_spare;

	int epfd;
	int sigfd;
	struct watch *watches;
	struct timer *timers; /* sorted by deadline */
	int last_timer_id;
	uint64_t timer_seq;
	bool quit;
	int status; /* exit status once quit */

	const char *pci;          /* --pci, or NULL */
	int vfio_fd[VFIO_NFDS];   /* --vfio-fd, or -1 */
	int irq_index;            /* VFIO_PCI_{MSI,INTX}_IRQ_INDEX; -1: none */
	int irq_fd[DDM_IRQ_MAX];  /* an eventfd per vector */
	unsigned int n_irq;       /* vectors set up */
	uint64_t intr_count;      /* interrupts taken */
	struct dma_buf *dma_bufs; /* by IOVA */

	int ddm_fd_num;   /* the number ddmfs gave the socket (--ddm-fd) */
	bool orphan;      /* ddmfs is gone; waiting for DDM_ADOPT */
	int orphan_timer; /* the timer that gives up waiting; 0: none */
};

/* dispatch.c */
int dispatch_init(struct ddm_dev *dev);
/* Cancels every request and releases every handle that came through tp
 * (NULL: through any): their ddmfs is gone. */
void dispatch_drop(struct ddm_dev *dev, struct ddm_transport *tp);
/* Serves every request transport tp has ready. */
void dispatch_ready(struct ddm_dev *dev, struct ddm_transport *tp);
/* Answers -EINTR to suspended requests and releases every handle. */
void dispatch_fini(struct ddm_dev *dev);
/* The driver's size table entry for ioctl cmd, or NULL when it lists none. */
const struct ddm_ioctl_desc *dispatch_ioctl_desc(const struct ddm_dev *dev,
                                                 unsigned int cmd);

/* loop.c */
int loop_init(struct ddm_dev *dev);
/* Runs until loop_quit(); returns the exit status. */
int loop_run(struct ddm_dev *dev);
void loop_quit(struct ddm_dev *dev, int status);
/* Starts (or stops) watching transport tp's fd. */
int loop_watch_transport(struct ddm_dev *dev, struct ddm_transport *tp);
void loop_unwatch_transport(struct ddm_dev *dev, struct ddm_transport *tp);

/* args.c */
/* The options ddmfs sets, in the order of ddm_reserved_options. */
enum key {
	K_IO,
	K_NODE,
	K_NODES,
	K_PORTS,
	K_DDM_FD,
	K_CUSE_FD,
	K_CUSE_DEV,
	K_DEVPORT_FD,
	K_SIM_FD,
	K_STATE_FD,
	K_SYSLOG,
	K_ATTACH,
	K_PCI,
	K_VFIO_FD,
	NKEYS
};

struct args {
	const char *vals[NKEYS]; /* as given; NULL: not given */
	const char *io;
	int fd;
	int cuse_fd[DDM_NODES_MAX]; /* [0] -1: the socket transport */
	unsigned int n_cuse_fd;
	unsigned int major[DDM_NODES_MAX], minor[DDM_NODES_MAX];
	unsigned int n_cuse_dev; /* --cuse-dev; 0:0 lets the kernel pick */
	int devport_fd;          /* --devport-fd, -1: none */
	int sim_fd;              /* --sim-fd, -1: none */
	int state_fd;            /* --state-fd, -1: none */
	int vfio_fd[3]; /* --vfio-fd: container, group, device; -1: none */
	bool syslog;
	bool help;
};

/* "rtc0" for "isa0/rtc0". */
const char *args_basename(const char *path);
void args_usage(const char *prog, const struct ddm_driver_ops *ops);
/* The index of option key (klen bytes) in NULL-terminated list, or -1. */
int args_find_key(const char *const *list, const char *key, size_t klen);
/*
 * Takes "--key=value" and "--key value", each key at most once: ddmfs's
 * options into ret, the driver's own (ops->options) into opts.  0, or -1
 * after printing why.
 */
int args_parse(const char *prog, int argc, char **argv,
               const struct ddm_driver_ops *ops, const char **opts,
               struct args *ret);
/* Checks what a driver needs from ddmfs (its socket, node, fds). */
int args_check(const char *prog, const struct args *a);
/* Fills dev's nodes from --node and --nodes, with their kinds. */
int args_nodes(struct ddm_dev *dev, const struct args *a);
/* Checks --cuse-fd and --cuse-dev against n_nodes. */
int args_check_cuse(const char *prog, const struct args *a,
                    unsigned int n_nodes);
/* Frees a NULL-terminated argv and its strings; NULL is fine. */
void args_free_argv(char **argv);

/* attach.c */
/*
 * --attach node: asks ddmfs for the instance and makes the command line
 * it would have started the driver with (its fds renumbered to the ones
 * received), followed by argv's own driver options, in *ret_argv
 * (NULL-terminated, to free with its strings).  Returns its length, or
 * -1 after printing why.
 */
int attach_args(const char *prog, const char *node, int argc, char **argv,
                char ***ret_argv);

/* vfio.c */
/*
 * With --vfio-fd and an intr hook: MSI (else INTx) through eventfds
 * watched by the loop.  0 or -errno (logged).
 */
int intr_init(struct ddm_dev *dev);
/* Turns the interrupts off and closes the eventfds. */
void intr_fini(struct ddm_dev *dev);
/* Unmaps and frees every DMA buffer the driver left. */
void dma_fini(struct ddm_dev *dev);

/* orphan.c */
/*
 * ddmfs hung up *sock: makes a fresh socketpair, puts one end at
 * ddm_fd_num and the other in *sock (the old one is gone), and starts
 * the wait for adoption.  0, -ECANCELED if a stop signal is pending (a
 * stop, not a death: exit), or -errno.
 */
int orphan_begin(struct ddm_dev *dev, int *sock);
/* DDM_ADOPT arrived: 0 if it is taken (then say HELLO), else -EPROTO. */
int orphan_adopted(struct ddm_dev *dev, const struct ddm_rq *rq);
void loop_fini(struct ddm_dev *dev);

#endif /* DRIVER_IMPL_H */
