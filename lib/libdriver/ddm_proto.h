/*
 * ddm_proto.h: the wire protocol between ddmfs and driver processes.
 *
 * This is the only header ddmfs and libdriver share.  Each driver process
 * owns one end of a SOCK_SEQPACKET socketpair made by ddmfs (passed to the
 * driver as --ddm-fd=N).  Every message is exactly one packet: a fixed
 * struct ddm_msg header followed by msg.len payload bytes, at most
 * DDM_PAYLOAD_MAX.
 *
 *   ddmfs -> driver   DDM_OPEN DDM_RELEASE DDM_READ DDM_WRITE DDM_IOCTL
 *                     DDM_POLL DDM_FLUSH DDM_INTERRUPT DDM_PING DDM_ADOPT
 *   driver -> ddmfs   DDM_HELLO (once, when init succeeded), DDM_REPLY,
 *                     DDM_NOTIFY
 *
 * ddmfs answers FUSE flushes itself (libdriver has no flush hook and
 * answers DDM_FLUSH 0); libdriver still takes DDM_FLUSH, which its CUSE
 * transport dispatches in-process.
 *
 * Every request except DDM_RELEASE and DDM_INTERRUPT gets exactly one
 * DDM_REPLY carrying the same id.  Replies may come in any order: a driver
 * may hold a request (a blocking read) and answer later ones first.
 *
 * Deadlines ddmfs enforces (the constants are in ddmfs.h):
 *   - DDM_PING is the heartbeat.  ddmfs sends it to a running driver that
 *     has been silent for a while, on both transports (under CUSE it is
 *     the only request on the socket), and restarts a driver that does not
 *     answer it (DDM_REPLY, same id, result 0) in time.  A driver's loop
 *     must therefore never block: a hook that waits is caught here.
 *   - After DDM_INTERRUPT the driver must answer the target request soon
 *     (-EINTR, or its real answer); if it does not, ddmfs answers EINTR
 *     itself and restarts the driver.
 *   - A driver that stops reading its socket (a send to it stays blocked)
 *     or keeps sending replies to unknown ids is restarted.
 *
 * When ddmfs dies without stopping its drivers (a crash, kill -9), a
 * driver sees its socket hang up and becomes an orphan: it drops every
 * request and handle that came over the socket (the mount they belonged
 * to is gone; a CUSE device and its open files stay), puts a fresh
 * socket of a new socketpair at its --ddm-fd number, and waits up to
 * DDM_ORPHAN_WAIT_MS on the other end for DDM_ADOPT.  The next ddmfs,
 * having checked from its records that the process is the one it
 * started, takes that socket with pidfd_getfd() and sends DDM_ADOPT;
 * the driver answers with a fresh DDM_HELLO and goes on serving.  An
 * orphan nobody adopts in time exits.
 *
 * Field use per op (unused fields are zero):
 *
 *   op             fh  arg0          arg1          arg2      payload
 *   DDM_HELLO      -   version       transport     payload   node info
 *   DDM_OPEN       fh  open flags    node index    -         -
 *   DDM_RELEASE    fh  -             -             -         -
 *   DDM_READ       fh  file flags    size wanted   offset    -
 *   DDM_WRITE      fh  file flags    offset        -         data
 *   DDM_IOCTL      fh  cmd           raw arg       out size  in data
 *   DDM_POLL       fh  events        1: notify me  -         -
 *   DDM_FLUSH      fh  -             -             -         -
 *   DDM_INTERRUPT  -   -             -             -         (id: target)
 *   DDM_PING       -   -             -             -         -
 *   DDM_ADOPT      -   version       -             -         -
 *   DDM_REPLY      -   -             -             -         read/ioctl out
 *   DDM_NOTIFY     fh  -             -             -         -
 *
 * DDM_HELLO.arg1 says how the driver serves its nodes: DDM_HELLO_SOCKET
 * (requests come over this socket) or DDM_HELLO_CUSE (the driver serves a
 * CUSE device per node, but for those HELLO marks DDM_NODE_SOCKET, whose
 * requests come over this socket as under DDM_HELLO_SOCKET).
 * DDM_HELLO.arg2 is the largest payload the driver can receive (its
 * DDM_PAYLOAD_MAX); ddmfs sends it no larger READ, WRITE or IOCTL.  0, as
 * drivers built before it said nothing, means DDM_PAYLOAD_V1.
 * Its payload is one struct ddm_hello_node per node the driver was given,
 * in order (none at all: every node is a stream of size 0).
 *
 * A driver instance serves one or more nodes (--node names the instance,
 * --nodes its nodes); DDM_OPEN.arg1 says which (0 for the first), and the
 * handle belongs to that node from then on.  The offsets of DDM_READ and
 * DDM_WRITE are the file offsets on a seekable node, else 0.  Their file
 * flags are the open file's as they are now (fcntl(F_SETFL) may have
 * changed O_NONBLOCK since the open).
 *
 * DDM_REPLY.result is >= 0 on success (a byte count for read and write, the
 * ready events for poll, the ioctl's return value) or -errno.
 */
#ifndef DDM_PROTO_H
#define DDM_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DDM_PROTO_VERSION  1
#define DDM_MAGIC          0x444d3144u /* "D1MD" in memory order */
/* Payload bytes per message: FUSE's 128 KiB request, so a big read or
 * write is one round trip.  Drivers built with the first protocol take
 * DDM_PAYLOAD_V1 and announce nothing in DDM_HELLO.arg2. */
#define DDM_PAYLOAD_MAX    (128 * 1024)
#define DDM_PAYLOAD_V1     (64 * 1024)
#define DDM_ORPHAN_WAIT_MS 30000 /* an orphan waits this long for adoption */
#define DDM_NODES_MAX      256   /* nodes per driver instance */

enum ddm_op {
	DDM_HELLO = 1,
	DDM_OPEN,
	DDM_RELEASE,
	DDM_READ,
	DDM_WRITE,
	DDM_IOCTL,
	DDM_POLL,
	DDM_FLUSH,
	DDM_INTERRUPT,
	DDM_REPLY,
	DDM_NOTIFY,
	DDM_PING,
	DDM_ADOPT,
	DDM_OP_MAX /* one past the last valid op */
};

struct ddm_msg {
	uint32_t magic; /* DDM_MAGIC */
	uint16_t op;    /* enum ddm_op */
	uint16_t flags; /* reserved, 0 */
	uint64_t id;    /* request id, echoed in DDM_REPLY */
	uint64_t fh;    /* handle, chosen by ddmfs at DDM_OPEN */
	int32_t result; /* DDM_REPLY: >= 0 or -errno */
	uint32_t arg0;  /* see the table above */
	uint64_t arg1;  /* see the table above */
	uint64_t arg2;  /* see the table above */
	uint32_t uid;   /* the calling process, for the driver's logs */
	uint32_t gid;
	uint32_t pid;
	uint32_t len; /* payload bytes after this header */
};

enum ddm_hello_transport {
	DDM_HELLO_SOCKET = 0,
	DDM_HELLO_CUSE = 1,
};

/* One node in DDM_HELLO's payload. */
struct ddm_hello_node {
	uint32_t flags;    /* DDM_NODE_SEEKABLE */
	uint32_t reserved; /* 0 */
	uint64_t size;     /* a seekable node's size, shown as st_size */
};

#define DDM_NODE_SEEKABLE 0x1u
#define DDM_NODE_SOCKET                                                        \
	0x2u /* under CUSE: served over this socket, as                        \
	      * FUSE forwarding, not as a CUSE device                          \
	      * (a seekable node: CUSE has no offsets) */

#define DDM_MSG_MAX (sizeof(struct ddm_msg) + DDM_PAYLOAD_MAX)

/*
 * The options ddmfs gives every driver ("--io=sim" and so on); a conf's
 * extra args may not set them, and libdriver takes each at most once.
 */
static const char *const ddm_reserved_options[] = {
	"io",      "node",     "nodes",      "ports",   "ddm-fd",
	"cuse-fd", "cuse-dev", "devport-fd", "sim-fd",  "state-fd",
	"syslog",  "attach",   "pci",        "vfio-fd", NULL
};

/*
 * Lowest valid -errno in a reply; anything below is a protocol error.
 * FUSE carries errors down to -999 (libfuse refuses -1000 and below).
 */
#define DDM_ERRNO_MIN (-999)

static inline const char *
ddm_op_name(unsigned int op)
{
	static const char *const names[DDM_OP_MAX] = {
		[DDM_HELLO] = "hello",         [DDM_OPEN] = "open",
		[DDM_RELEASE] = "release",     [DDM_READ] = "read",
		[DDM_WRITE] = "write",         [DDM_IOCTL] = "ioctl",
		[DDM_POLL] = "poll",           [DDM_FLUSH] = "flush",
		[DDM_INTERRUPT] = "interrupt", [DDM_REPLY] = "reply",
		[DDM_NOTIFY] = "notify",       [DDM_PING] = "ping",
		[DDM_ADOPT] = "adopt",
	};

	if (op == 0 || op >= DDM_OP_MAX)
		return "?";
	return names[op];
}

/* Fills a header for op; everything else zero. */
static inline void
ddm_msg_init(struct ddm_msg *m, enum ddm_op op, uint64_t id, uint64_t fh)
{
	memset(m, 0, sizeof(*m));
	m->magic = DDM_MAGIC;
	m->op = (uint16_t)op;
	m->id = id;
	m->fh = fh;
}

/*
 * Packs header m and len payload bytes into buf (capacity cap).  Sets
 * m->len.  Returns the packet size or -EMSGSIZE.
 */
static inline long
ddm_msg_pack(void *buf, size_t cap, struct ddm_msg *m, const void *payload,
             size_t len)
{
	if (len > DDM_PAYLOAD_MAX || cap < sizeof(*m) + len)
		return -EMSGSIZE;
	m->len = (uint32_t)len;
	memcpy(buf, m, sizeof(*m));
	if (len > 0)
		memcpy((char *)buf + sizeof(*m), payload, len);
	return (long)(sizeof(*m) + len);
}

/*
 * Checks that the n bytes at buf are one well-formed packet and copies its
 * header to *ret_msg and a pointer to its payload to *ret_payload.  Never
 * trusts the peer: sizes, magic, op and result range are all checked.
 * Returns 0 or -EBADMSG; the out-parameters are untouched on failure.
 */
static inline int
ddm_msg_unpack(const void *buf, size_t n, struct ddm_msg *ret_msg,
               const void **ret_payload)
{
	struct ddm_msg m;

	if (n < sizeof(m))
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (m.magic != DDM_MAGIC || m.flags != 0)
		return -EBADMSG;
	if (m.op == 0 || m.op >= DDM_OP_MAX)
		return -EBADMSG;
	if (m.len > DDM_PAYLOAD_MAX || m.len != n - sizeof(m))
		return -EBADMSG;
	if (m.op == DDM_REPLY &&
	    (m.result < DDM_ERRNO_MIN || m.result > DDM_PAYLOAD_MAX))
		return -EBADMSG;
	*ret_msg = m;
	*ret_payload = (const char *)buf + sizeof(m);
	return 0;
}

#endif /* DDM_PROTO_H */
