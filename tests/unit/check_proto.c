/*
 * check_proto.c: unit tests for libdriver.  The wire format (ddm_msg_pack,
 * ddm_msg_unpack) is tested directly; request dispatch is tested end to end:
 * a forked child runs ddm_driver_main() with a test driver on one end of a
 * socketpair, and the test speaks ddm_proto.h on the other end as ddmfs
 * would.  Every receive is bounded (RECV_TIMEOUT_MS) so a bug fails a test
 * instead of hanging it.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddm_driver.h"
#include "ddm_proto.h"
#include "ddm_io.h"

#define RECV_TIMEOUT_MS 2000 /* longest wait for one packet */
#define EXIT_TIMEOUT_MS 2000 /* longest wait for the driver to exit */
#define SILENCE_MS      100  /* how long "nothing arrives" is watched */

/* Read sizes that select the test driver's behaviour. */
#define SZ_TIMER   100  /* suspends; a 20 ms timer answers "late" */
#define SZ_FOREVER 200  /* suspends until cancelled */
#define SZ_CANCEL  300  /* suspends; a cancelled timer would say "A", "B" */
#define SZ_FD      400  /* suspends; a watched pipe answers "fd" */
#define SZ_FILL    4096 /* and above: fills the whole buffer with 'x' */

#define IOC_ECHO   0x1001 /* out = in, returns 7 */
#define IOC_LISTED 0x1002 /* listed with out_size 4: out = 0xdeadbeef, 42 */
#define IOC_INFO   0x1003 /* out = struct info */

/*
 * Open flags that select the test driver's open behaviour; above the flags
 * test_many_handles_stay_distinct uses (up to 1000 << 8).
 */
#define OF_LATE_OK   O_NOATIME /* suspends; a 20 ms timer answers 0 */
#define OF_LATE_BUSY O_CLOEXEC /* suspends; a 20 ms timer answers -EBUSY */
#define OF_FOREVER   O_PATH    /* suspends until cancelled */
#define OPEN_LATE_US 20000

#define CALLER_UID 1000
#define CALLER_GID 1001
#define CALLER_PID 4242
#define NOBODY     65534

struct info {
	uint32_t opens, releases, cancels;
	uint32_t uid, gid, pid, flags;
	uint32_t has_io;
	char node[32];
	char name[16];
};

struct tsc {
	struct ddm_dev *dev;
	struct info st;
	unsigned int ready; /* what poll reports */
	int pipefd[2];
};

static struct tsc tsc;

static int
t_init(struct ddm_dev *dev, void *sc)
{
	((struct tsc *)sc)->dev = dev;
	return 0;
}

static int
t_init_fails(struct ddm_dev *dev, void *sc)
{
	return -EIO;
}

/* Takes the parallel port's ports, so its sim model makes its file. */
static int
t_init_lpt(struct ddm_dev *dev, void *sc)
{
	struct io_region *r;

	return io_region_request(ddm_io(dev), IO_SPACE_PORT, 0x378, 3, &r);
}

/*
 * Leaves a mark in the state dir (--state-fd) so the test can see fini
 * ran: the counts of opens, releases and cancels as "O R C".
 */
static void
t_fini(struct ddm_dev *dev, void *sc)
{
	int fd;

	fd = openat(ddm_state_fd(dev), "fini-ran",
	            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "%u %u %u", tsc.st.opens, tsc.st.releases, tsc.st.cancels);
	close(fd);
}

static void
reply_open_ok(struct ddm_dev *dev, void *r)
{
	ddm_reply(r, 0, NULL, 0);
}

static void
reply_open_busy(struct ddm_dev *dev, void *r)
{
	ddm_reply_error(r, -EBUSY);
}

static int
t_open(struct ddm_handle *h)
{
	struct ddm_req *r = ddm_open_req(h);

	if (r == NULL || ddm_req_handle(r) != h)
		return -EFAULT;
	if (h->flags & O_EXCL)
		return -EACCES;
	tsc.st.opens++;
	if (h->flags & OF_LATE_OK) {
		ddm_timer_add(tsc.dev, OPEN_LATE_US, reply_open_ok, r);
		return DDM_SUSPEND;
	}
	if (h->flags & OF_LATE_BUSY) {
		ddm_timer_add(tsc.dev, OPEN_LATE_US, reply_open_busy, r);
		return DDM_SUSPEND;
	}
	if (h->flags & OF_FOREVER)
		return DDM_SUSPEND;
	return 0;
}

static void
t_release(struct ddm_handle *h)
{
	tsc.st.releases++;
}

static void
reply_str(struct ddm_dev *dev, void *r)
{
	ddm_reply(r, 4, "late", 4);
}

static void
reply_a(struct ddm_dev *dev, void *r)
{
	ddm_reply(r, 1, "A", 1);
}

static void
reply_b(struct ddm_dev *dev, void *r)
{
	ddm_reply(r, 1, "B", 1);
}

static void
poke_pipe(struct ddm_dev *dev, void *arg)
{
	ck_assert_int_eq(write(tsc.pipefd[1], "p", 1), 1);
}

static void
on_pipe(struct ddm_dev *dev, int fd, unsigned int events, void *r)
{
	char c;

	if (read(fd, &c, 1) != 1)
		return;
	ddm_fd_unwatch(dev, fd);
	close(tsc.pipefd[0]);
	close(tsc.pipefd[1]);
	ddm_reply(r, 2, "fd", 2);
}

static ssize_t
t_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
       off_t off)
{
	struct ddm_dev *dev = tsc.dev;

	if (ddm_req_handle(r) != h || ddm_req_size(r) != size ||
	    ddm_open_req(h) != NULL)
		return -EFAULT;
	switch (size) {
	case SZ_TIMER:
		ddm_timer_add(dev, 20000, reply_str, r);
		return DDM_SUSPEND;
	case SZ_FOREVER:
		return DDM_SUSPEND;
	case SZ_CANCEL:
		ddm_timer_cancel(dev, ddm_timer_add(dev, 10000, reply_a, r));
		ddm_timer_add(dev, 30000, reply_b, r);
		return DDM_SUSPEND;
	case SZ_FD:
		if (pipe(tsc.pipefd) < 0 ||
		    ddm_fd_watch(dev, tsc.pipefd[0], EPOLLIN, on_pipe, r) < 0)
			return -EIO;
		ddm_timer_add(dev, 10000, poke_pipe, NULL);
		return DDM_SUSPEND;
	}
	if (size >= SZ_FILL) {
		memset(buf, 'x', size);
		return (ssize_t)size;
	}
	size = size < 5 ? size : 5;
	memcpy(buf, "hello", size);
	return (ssize_t)size;
}

static ssize_t
t_write(struct ddm_handle *h, struct ddm_req *r, const void *buf, size_t size,
        off_t off)
{
	if (size == 6 && memcmp(buf, "notify", 6) == 0) {
		tsc.ready = POLLIN;
		ddm_poll_notify(h);
	}
	if (size == 3 && memcmp(buf, "bug", 3) == 0)
		return (ssize_t)size + 1;
	return (ssize_t)size;
}

static int
t_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	struct info *st = &tsc.st;
	uint32_t magic = 0xdeadbeef;

	switch (io->cmd) {
	case IOC_ECHO:
		io->out_len =
		        io->in_len < io->out_len ? io->in_len : io->out_len;
		memcpy(io->out, io->in, io->out_len);
		return 7;
	case IOC_LISTED:
		memcpy(io->out, &magic, sizeof(magic));
		return 42;
	case IOC_INFO:
		st->uid = h->uid;
		st->gid = h->gid;
		st->pid = (uint32_t)h->pid;
		st->flags = (uint32_t)h->flags;
		st->has_io = ddm_io(tsc.dev) != NULL;
		snprintf(st->node, sizeof(st->node), "%s", ddm_node(tsc.dev));
		snprintf(st->name, sizeof(st->name), "%s", ddm_name(tsc.dev));
		if (io->out_len < sizeof(*st))
			return -EINVAL;
		memcpy(io->out, st, sizeof(*st));
		return 0;
	}
	return -ENOTTY;
}

static unsigned int
t_poll(struct ddm_handle *h)
{
	return tsc.ready;
}

static void
t_cancel(struct ddm_handle *h, struct ddm_req *r)
{
	tsc.st.cancels++;
}

static const struct ddm_ioctl_desc t_ioctls[] = {
	{ .cmd = IOC_LISTED, .in_size = 0, .out_size = 4 },
	{ 0 },
};

static const struct ddm_driver_ops t_ops = {
	.init = t_init,
	.fini = t_fini,
	.open = t_open,
	.release = t_release,
	.read = t_read,
	.write = t_write,
	.ioctl = t_ioctl,
	.poll = t_poll,
	.cancel = t_cancel,
	.ioctls = t_ioctls,
};

/* The same driver without a cancel hook: it still holds what it
 * suspended when an interrupt comes. */
static const struct ddm_driver_ops nocancel_ops = {
	.init = t_init,
	.fini = t_fini,
	.open = t_open,
	.release = t_release,
	.read = t_read,
	.write = t_write,
	.ioctl = t_ioctl,
	.poll = t_poll,
	.ioctls = t_ioctls,
};

static const struct ddm_driver_ops null_ops = { 0 };

static const struct ddm_driver_ops fail_ops = { .init = t_init_fails };

static const struct ddm_driver_ops lpt_ops = { .init = t_init_lpt };

/* The test's side: the parent end of the socket and the driver child. */
struct peer {
	pid_t pid;
	int fd;
	char fdarg[32]; /* the --ddm-fd= it got */
	char dir[64];
	char err[4096]; /* the child's stderr, after peer_wait() */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Not 0: the driver child runs as this user (uid and gid). */
static uid_t spawn_uid;

/*
 * Forks a driver child running ops with argv; its stderr goes to
 * dir/stderr (stdout too).  With want_sock, --ddm-fd names a fresh socketpair
 * end.  In args, "FD" stands for that --ddm-fd
 * and "STATE" for --state-fd naming an open fd of dir.
 */
static void
peer_spawn(struct peer *p, const struct ddm_driver_ops *ops, size_t ops_size,
           const char *const *args, bool want_sock)
{
	char statearg[32], errpath[96];
	char *argv[16];
	int sv[2] = { -1, -1 }, argc = 0, i, state_fd;

	strcpy(p->dir, "/tmp/check_proto.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	if (want_sock)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	state_fd = open(p->dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(state_fd, 0);
	snprintf(p->fdarg, sizeof(p->fdarg), "--ddm-fd=%d", sv[1]);
	snprintf(statearg, sizeof(statearg), "--state-fd=%d", state_fd);
	snprintf(errpath, sizeof(errpath), "%s/stderr", p->dir);
	argv[argc++] = "ddm-test";
	for (i = 0; args[i] != NULL; i++) {
		if (strcmp(args[i], "FD") == 0)
			argv[argc++] = p->fdarg;
		else if (strcmp(args[i], "STATE") == 0)
			argv[argc++] = statearg;
		else
			argv[argc++] = (char *)args[i];
	}
	argv[argc] = NULL;
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		int efd = open(errpath, O_CREAT | O_WRONLY | O_TRUNC, 0644);

		dup2(efd, 1);
		dup2(efd, 2);
		if (sv[0] >= 0)
			close(sv[0]);
		if (spawn_uid != 0 &&
		    (setgroups(0, NULL) < 0 ||
		     setresgid(spawn_uid, spawn_uid, spawn_uid) < 0 ||
		     setresuid(spawn_uid, spawn_uid, spawn_uid) < 0))
			_exit(99);
		_exit(ddm_driver_main(argc, argv, ops, ops_size, &tsc));
	}
	p->fd = sv[0];
	if (sv[1] >= 0)
		close(sv[1]);
	close(state_fd);
}

/* Waits (bounded) for the child; returns its exit status, reads stderr. */
static int
peer_wait(struct peer *p)
{
	char path[96];
	int st, i, fd;
	ssize_t n;

	for (i = 0; i < EXIT_TIMEOUT_MS / 10; i++) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid)
			break;
		usleep(10000);
	}
	if (i == EXIT_TIMEOUT_MS / 10) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
		ck_abort_msg("driver did not exit");
	}
	snprintf(path, sizeof(path), "%s/stderr", p->dir);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, p->err, sizeof(p->err) - 1) : 0;
	p->err[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	ck_assert_msg(WIFEXITED(st), "driver died of a signal");
	return WEXITSTATUS(st);
}

static void
peer_cleanup(struct peer *p)
{
	nftw(p->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
xsend(int fd, struct ddm_msg *m, const void *data, size_t len)
{
	static char buf[DDM_MSG_MAX];
	long n = ddm_msg_pack(buf, sizeof(buf), m, data, len);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(send(fd, buf, (size_t)n, 0), n);
}

static void
send_req(int fd, enum ddm_op op, uint64_t id, uint64_t fh, uint32_t arg0,
         uint64_t arg1, uint64_t arg2, const void *data, size_t len)
{
	struct ddm_msg m;

	ddm_msg_init(&m, op, id, fh);
	m.arg0 = arg0;
	m.arg1 = arg1;
	m.arg2 = arg2;
	m.uid = CALLER_UID;
	m.gid = CALLER_GID;
	m.pid = CALLER_PID;
	xsend(fd, &m, data, len);
}

/* Receives one packet within RECV_TIMEOUT_MS; returns its payload size. */
static size_t
xrecv(int fd, struct ddm_msg *m, void *out)
{
	static char buf[DDM_MSG_MAX];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const void *payload;
	ssize_t n;

	ck_assert_msg(poll(&pfd, 1, RECV_TIMEOUT_MS) == 1, "no packet in time");
	n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ddm_msg_unpack(buf, (size_t)n, m, &payload), 0);
	if (out != NULL)
		memcpy(out, payload, m->len);
	return m->len;
}

static void
expect_silence(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, SILENCE_MS), 0);
}

/* Receives a DDM_REPLY for id; returns its result, payload to out. */
static long
expect_reply(int fd, uint64_t id, void *out, size_t *ret_len)
{
	struct ddm_msg m;
	size_t len = xrecv(fd, &m, out);

	ck_assert_uint_eq(m.op, DDM_REPLY);
	ck_assert_uint_eq(m.id, id);
	if (ret_len != NULL)
		*ret_len = len;
	return m.result;
}

/* Sends a request and waits for its reply. */
static long
call(int fd, enum ddm_op op, uint64_t id, uint64_t fh, uint32_t arg0,
     uint64_t arg1, uint64_t arg2, const void *data, size_t len, void *out,
     size_t *ret_len)
{
	send_req(fd, op, id, fh, arg0, arg1, arg2, data, len);
	return expect_reply(fd, id, out, ret_len);
}

/* A request without payload whose reply carries no data. */
static long
rpc(int fd, enum ddm_op op, uint64_t id, uint64_t fh, uint32_t arg0,
    uint64_t arg1)
{
	return call(fd, op, id, fh, arg0, arg1, 0, NULL, 0, NULL, NULL);
}

static const char *const std_args[] = { "--io=sim", "--node=test0/dev0",
	                                "STATE", "FD", NULL };

/* Starts a driver with ops and swallows its HELLO. */
static void
peer_start(struct peer *p, const struct ddm_driver_ops *ops, size_t ops_size)
{
	struct ddm_msg m;

	peer_spawn(p, ops, ops_size, std_args, true);
	xrecv(p->fd, &m, NULL);
	ck_assert_uint_eq(m.op, DDM_HELLO);
}

/* Hangs up on the driver; it must exit 0. */
/* Stops the driver as ddmfs does: SIGTERM, then the hangup. */
static void
peer_stop(struct peer *p)
{
	kill(p->pid, SIGTERM);
	close(p->fd);
	ck_assert_int_eq(peer_wait(p), 0);
	peer_cleanup(p);
}

static void
get_info(struct peer *p, uint64_t fh, struct info *ret)
{
	size_t len;

	ck_assert_int_eq(call(p->fd, DDM_IOCTL, 999, fh, IOC_INFO, 0,
	                      sizeof(*ret), NULL, 0, ret, &len),
	                 0);
	ck_assert_uint_eq(len, sizeof(*ret));
}

static void
make_msg(struct ddm_msg *m, enum ddm_op op)
{
	ddm_msg_init(m, op, 77, 5);
}

/* Packs m with a 3-byte payload and expects unpack to refuse it. */
static void
expect_rejected(struct ddm_msg *m, size_t extra)
{
	char buf[sizeof(*m) + 8];
	struct ddm_msg out = { .id = 1 };
	const void *payload = NULL;
	uint32_t len = m->len;

	memcpy(buf, m, sizeof(*m));
	((struct ddm_msg *)buf)->len = len;
	ck_assert_int_eq(
	        ddm_msg_unpack(buf, sizeof(*m) + extra, &out, &payload),
	        -EBADMSG);
	ck_assert_uint_eq(out.id, 1);
	ck_assert_ptr_null(payload);
}

START_TEST(test_pack_unpack_round_trips_header_and_payload)
{
	char buf[DDM_MSG_MAX];
	struct ddm_msg m, out;
	const void *payload;
	long n;

	ddm_msg_init(&m, DDM_WRITE, 0x1122334455667788ull, 0x99);
	m.arg0 = 3;
	m.arg1 = 1ull << 40;
	m.arg2 = 9;
	m.uid = 1000;
	n = ddm_msg_pack(buf, sizeof(buf), &m, "payload", 7);
	ck_assert_int_eq(n, (long)sizeof(m) + 7);
	ck_assert_int_eq(ddm_msg_unpack(buf, (size_t)n, &out, &payload), 0);
	ck_assert_uint_eq(out.magic, DDM_MAGIC);
	ck_assert_uint_eq(out.op, DDM_WRITE);
	ck_assert_uint_eq(out.id, 0x1122334455667788ull);
	ck_assert_uint_eq(out.fh, 0x99);
	ck_assert_uint_eq(out.arg0, 3);
	ck_assert_uint_eq(out.arg1, 1ull << 40);
	ck_assert_uint_eq(out.arg2, 9);
	ck_assert_uint_eq(out.uid, 1000);
	ck_assert_uint_eq(out.len, 7);
	ck_assert_mem_eq(payload, "payload", 7);
}
END_TEST

START_TEST(test_unpack_rejects_short_packet)
{
	struct ddm_msg m, out = { .id = 1 };
	const void *payload = NULL;
	size_t n;

	make_msg(&m, DDM_READ);
	for (n = 0; n < sizeof(m); n += 7)
		ck_assert_int_eq(ddm_msg_unpack(&m, n, &out, &payload),
		                 -EBADMSG);
	ck_assert_int_eq(ddm_msg_unpack(&m, sizeof(m) - 1, &out, &payload),
	                 -EBADMSG);
	ck_assert_uint_eq(out.id, 1);
	ck_assert_ptr_null(payload);
	ck_assert_int_eq(ddm_msg_unpack(&m, sizeof(m), &out, &payload), 0);
	ck_assert_uint_eq(out.id, 77);
}
END_TEST

START_TEST(test_unpack_rejects_bad_magic_and_flags)
{
	struct ddm_msg m;

	make_msg(&m, DDM_READ);
	m.magic ^= 1;
	expect_rejected(&m, 0);
	make_msg(&m, DDM_READ);
	m.flags = 1;
	expect_rejected(&m, 0);
}
END_TEST

START_TEST(test_unpack_rejects_op_zero_and_op_max)
{
	struct ddm_msg m;

	make_msg(&m, DDM_READ);
	m.op = 0;
	expect_rejected(&m, 0);
	m.op = DDM_OP_MAX;
	expect_rejected(&m, 0);
}
END_TEST

START_TEST(test_unpack_rejects_len_mismatch_and_oversize)
{
	struct ddm_msg m;

	make_msg(&m, DDM_WRITE);
	m.len = 4;
	expect_rejected(&m, 3);
	m.len = 2;
	expect_rejected(&m, 3);
	m.len = DDM_PAYLOAD_MAX + 1;
	expect_rejected(&m, 3);
}
END_TEST

START_TEST(test_unpack_rejects_reply_result_out_of_range)
{
	struct ddm_msg m, out;
	const void *payload;

	make_msg(&m, DDM_REPLY);
	m.result = DDM_ERRNO_MIN - 1;
	expect_rejected(&m, 0);
	m.result = DDM_PAYLOAD_MAX + 1;
	expect_rejected(&m, 0);
	m.result = DDM_ERRNO_MIN;
	ck_assert_int_eq(ddm_msg_unpack(&m, sizeof(m), &out, &payload), 0);
	ck_assert_int_eq(out.result, DDM_ERRNO_MIN);
}
END_TEST

START_TEST(test_pack_refuses_small_buffer_and_huge_payload)
{
	static char big[DDM_PAYLOAD_MAX + 1];
	char buf[sizeof(struct ddm_msg) + 2];
	struct ddm_msg m;

	make_msg(&m, DDM_WRITE);
	ck_assert_int_eq(ddm_msg_pack(buf, sizeof(buf), &m, "abc", 3),
	                 -EMSGSIZE);
	ck_assert_int_eq(ddm_msg_pack(big, sizeof(big), &m, big, sizeof(big)),
	                 -EMSGSIZE);
	ck_assert_int_eq(ddm_msg_pack(buf, sizeof(buf), &m, "ab", 2),
	                 (long)sizeof(buf));
}
END_TEST

START_TEST(test_hello_comes_first_with_protocol_version)
{
	struct peer p;
	struct ddm_msg m;

	peer_spawn(&p, &t_ops, sizeof(t_ops), std_args, true);
	xrecv(p.fd, &m, NULL);
	ck_assert_uint_eq(m.op, DDM_HELLO);
	ck_assert_uint_eq(m.arg0, DDM_PROTO_VERSION);
	ck_assert_uint_eq(m.arg1, 0); /* 0: served over this socket */
	peer_stop(&p);
}
END_TEST

START_TEST(test_open_read_write_poll_flush_release_reply_with_ids)
{
	struct peer p;
	char out[16];
	size_t len;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 11, 7, O_RDWR, 0), 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 12, 7, 0, 3, 0, NULL, 0, out, &len), 3);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(out, "hel", 3);
	ck_assert_int_eq(
	        call(p.fd, DDM_WRITE, 13, 7, 0, 0, 0, "abcd", 4, NULL, &len),
	        4);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_POLL, 14, 7, POLLIN, 0), 0);
	ck_assert_int_eq(rpc(p.fd, DDM_FLUSH, 15, 7, 0, 0), 0);
	send_req(p.fd, DDM_RELEASE, 16, 7, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 17, 8, 0, 0), 0);
	get_info(&p, 8, &st);
	ck_assert_uint_eq(st.opens, 2);
	ck_assert_uint_eq(st.releases, 1);
	peer_stop(&p);
}
END_TEST

START_TEST(test_open_gives_handle_flags_caller_and_node_names)
{
	struct peer p;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(call(p.fd, DDM_OPEN, 1, 3, O_WRONLY | O_NONBLOCK, 0, 0,
	                      NULL, 0, NULL, NULL),
	                 0);
	get_info(&p, 3, &st);
	ck_assert_uint_eq(st.flags, O_WRONLY | O_NONBLOCK);
	ck_assert_uint_eq(st.uid, CALLER_UID);
	ck_assert_uint_eq(st.gid, CALLER_GID);
	ck_assert_uint_eq(st.pid, CALLER_PID);
	ck_assert_uint_eq(st.has_io, 1);
	ck_assert_str_eq(st.node, "test0/dev0");
	ck_assert_str_eq(st.name, "dev0");
	peer_stop(&p);
}
END_TEST

START_TEST(test_ioctl_passes_in_data_and_returns_out_and_value)
{
	struct peer p;
	char out[16] = { 0 };
	uint32_t v = 0;
	size_t len;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(call(p.fd, DDM_IOCTL, 2, 1, IOC_ECHO, 0, 8, "in-data",
	                      7, out, &len),
	                 7);
	ck_assert_uint_eq(len, 7);
	ck_assert_mem_eq(out, "in-data", 7);
	ck_assert_int_eq(call(p.fd, DDM_IOCTL, 3, 1, IOC_LISTED, 0, 4, NULL, 0,
	                      &v, &len),
	                 42);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(v, 0xdeadbeef);
	ck_assert_int_eq(rpc(p.fd, DDM_IOCTL, 4, 1, 0x7777, 0), -ENOTTY);
	peer_stop(&p);
}
END_TEST

START_TEST(test_null_hooks_give_library_defaults)
{
	struct peer p;

	peer_start(&p, &null_ops, sizeof(null_ops));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 1, 0, 0), 0);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 2, 1, 0, 10), -EIO);
	ck_assert_int_eq(
	        call(p.fd, DDM_WRITE, 3, 1, 0, 0, 0, "x", 1, NULL, NULL),
	        -EINVAL);
	ck_assert_int_eq(rpc(p.fd, DDM_IOCTL, 4, 1, 0x5401, 0), -ENOTTY);
	ck_assert_int_eq(rpc(p.fd, DDM_POLL, 5, 1, POLLIN, 0),
	                 POLLIN | POLLOUT);
	send_req(p.fd, DDM_RELEASE, 6, 1, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 7, 1, 0, 10), -EBADF);
	peer_stop(&p);
}
END_TEST

START_TEST(test_suspended_read_is_answered_later_from_timer)
{
	struct peer p;
	char out[16];
	size_t len;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 50, 1, 0, SZ_TIMER, 0, NULL, 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 51, 1, 0, 2, 0, NULL, 0, out, &len), 2);
	ck_assert_int_eq(expect_reply(p.fd, 50, out, &len), 4);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(out, "late", 4);
	peer_stop(&p);
}
END_TEST

START_TEST(test_cancelled_timer_never_fires)
{
	struct peer p;
	char out[4];
	size_t len;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 2, 1, 0, SZ_CANCEL, 0, NULL, 0, out, &len),
	        1);
	ck_assert_int_eq(out[0], 'B');
	peer_stop(&p);
}
END_TEST

START_TEST(test_watched_fd_calls_back_when_readable)
{
	struct peer p;
	char out[4];
	size_t len;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 2, 1, 0, SZ_FD, 0, NULL, 0, out, &len), 2);
	ck_assert_mem_eq(out, "fd", 2);
	peer_stop(&p);
}
END_TEST

START_TEST(test_interrupt_of_suspended_read_gives_eintr)
{
	struct peer p;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 60, 1, 0, SZ_FOREVER, 0, NULL, 0);
	send_req(p.fd, DDM_INTERRUPT, 61, 0, 0, 0, 0, NULL, 0);
	expect_silence(p.fd);
	send_req(p.fd, DDM_INTERRUPT, 60, 0, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 60, NULL, NULL), -EINTR);
	get_info(&p, 1, &st);
	ck_assert_uint_eq(st.cancels, 1);
	send_req(p.fd, DDM_INTERRUPT, 60, 0, 0, 0, 0, NULL, 0);
	expect_silence(p.fd);
	peer_stop(&p);
}
END_TEST

START_TEST(test_ping_is_answered_zero_while_a_read_stays_suspended)
{
	struct peer p;
	struct info st;
	size_t len = 99;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(
	        call(p.fd, DDM_PING, 50, 0, 0, 0, 0, NULL, 0, NULL, &len), 0);
	ck_assert_uint_eq(len, 0);
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 60, 1, 0, SZ_FOREVER, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_PING, 61, 0, 0, 0), 0);
	/* the ping neither answered nor cancelled the read */
	expect_silence(p.fd);
	get_info(&p, 1, &st);
	ck_assert_uint_eq(st.cancels, 0);
	send_req(p.fd, DDM_INTERRUPT, 60, 0, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 60, NULL, NULL), -EINTR);
	peer_stop(&p);
}
END_TEST

START_TEST(test_ping_is_a_valid_op_named_ping)
{
	char buf[sizeof(struct ddm_msg)];
	struct ddm_msg m, out;
	const void *payload;

	ck_assert_int_lt(DDM_PING, DDM_OP_MAX);
	ck_assert_str_eq(ddm_op_name(DDM_PING), "ping");
	ck_assert_str_eq(ddm_op_name(DDM_OP_MAX), "?");
	ddm_msg_init(&m, DDM_PING, 1234, 0);
	ck_assert_int_eq(ddm_msg_pack(buf, sizeof(buf), &m, NULL, 0),
	                 (long)sizeof(buf));
	ck_assert_int_eq(ddm_msg_unpack(buf, sizeof(buf), &out, &payload), 0);
	ck_assert_uint_eq(out.op, DDM_PING);
	ck_assert_uint_eq(out.id, 1234);
}
END_TEST

START_TEST(test_release_cancels_suspended_reads_of_that_handle)
{
	struct peer p;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	rpc(p.fd, DDM_OPEN, 2, 2, 0, 0);
	send_req(p.fd, DDM_READ, 70, 1, 0, SZ_FOREVER, 0, NULL, 0);
	send_req(p.fd, DDM_READ, 71, 2, 0, SZ_FOREVER, 0, NULL, 0);
	send_req(p.fd, DDM_RELEASE, 72, 1, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 70, NULL, NULL), -EINTR);
	get_info(&p, 2, &st);
	ck_assert_uint_eq(st.cancels, 1);
	ck_assert_uint_eq(st.releases, 1);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 73, 1, 0, 5), -EBADF);
	peer_stop(&p);
}
END_TEST

START_TEST(test_poll_notify_is_sent_once_when_asked)
{
	struct peer p;
	struct ddm_msg m;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 9, 0, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_POLL, 2, 9, POLLIN, 1), 0);
	send_req(p.fd, DDM_WRITE, 3, 9, 0, 0, 0, "notify", 6);
	xrecv(p.fd, &m, NULL);
	ck_assert_uint_eq(m.op, DDM_NOTIFY);
	ck_assert_uint_eq(m.fh, 9);
	ck_assert_int_eq(expect_reply(p.fd, 3, NULL, NULL), 6);
	ck_assert_int_eq(
	        call(p.fd, DDM_WRITE, 4, 9, 0, 0, 0, "notify", 6, NULL, NULL),
	        6);
	ck_assert_int_eq(rpc(p.fd, DDM_POLL, 5, 9, POLLIN, 1), POLLIN);
	peer_stop(&p);
}
END_TEST

START_TEST(test_a_stop_exits_zero_after_fini)
{
	struct peer p;
	char path[96];

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 2, 1, 0, SZ_FOREVER, 0, NULL, 0);
	kill(p.pid, SIGTERM); /* as ddmfs stops a driver: then the hangup */
	close(p.fd);
	ck_assert_int_eq(peer_wait(&p), 0);
	snprintf(path, sizeof(path), "%s/fini-ran", p.dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	peer_cleanup(&p);
}
END_TEST

/*
 * ddmfs died: the driver drops what came over the dead socket (cancel,
 * release), puts a fresh socket at its --ddm-fd number, and a new peer
 * that takes that one (pidfd_getfd, as the next ddmfs does) and sends
 * DDM_ADOPT gets a HELLO and a driver that serves again.
 */
static void read_fini_counts(struct peer *p, unsigned int *ret_opens,
                             unsigned int *ret_releases,
                             unsigned int *ret_cancels);

START_TEST(test_a_hangup_leaves_an_orphan_that_a_new_peer_adopts)
{
	struct peer p;
	struct ddm_msg m;
	unsigned int opens, releases, cancels;
	int pidfd, fd = -1, ddm_fd = -1, tries;
	char buf[16];

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 2, 1, 0, SZ_FOREVER, 0, NULL, 0);
	expect_silence(p.fd);
	ck_assert_int_eq(sscanf(p.fdarg, "--ddm-fd=%d", &ddm_fd), 1);
	close(p.fd);
	pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
	ck_assert_int_ge(pidfd, 0);
	for (tries = 0; tries < RECV_TIMEOUT_MS / 10; tries++) {
		struct ddm_msg a;
		char pkt[sizeof(a)];

		fd = (int)syscall(SYS_pidfd_getfd, pidfd, ddm_fd, 0);
		ck_assert_int_ge(fd, 0);
		ddm_msg_init(&a, DDM_ADOPT, 0, 0);
		a.arg0 = DDM_PROTO_VERSION;
		ck_assert_int_gt(ddm_msg_pack(pkt, sizeof(pkt), &a, NULL, 0),
		                 0);
		if (send(fd, pkt, sizeof(pkt), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(pkt))
			break;
		close(fd); /* the dead socket: not replaced yet */
		fd = -1;
		usleep(10000);
	}
	close(pidfd);
	ck_assert_int_ge(fd, 0);
	xrecv(fd, &m, NULL);
	ck_assert_uint_eq(m.op, DDM_HELLO);
	ck_assert_uint_eq(m.arg0, DDM_PROTO_VERSION);
	ck_assert_uint_eq(m.arg1, DDM_HELLO_SOCKET);
	/* the old handle is gone; new ones work */
	ck_assert_int_eq(rpc(fd, DDM_READ, 3, 1, 0, 5), -EBADF);
	ck_assert_int_eq(rpc(fd, DDM_OPEN, 4, 7, 0, 0), 0);
	ck_assert_int_eq(call(fd, DDM_READ, 5, 7, 0, 5, 0, NULL, 0, buf, NULL),
	                 5);
	p.fd = fd;
	kill(p.pid, SIGTERM);
	close(p.fd);
	ck_assert_int_eq(peer_wait(&p), 0);
	ck_assert_ptr_nonnull(strstr(p.err, "ddmfs is gone; waiting up to 30 s"
	                                    " to be adopted\n"));
	ck_assert_ptr_nonnull(strstr(p.err, "adopted by a new ddmfs\n"));
	read_fini_counts(&p, &opens, &releases, &cancels);
	ck_assert_uint_eq(opens, 2);
	ck_assert_uint_eq(releases, 2); /* fh 1 at the hangup, fh 7 at fini */
	ck_assert_uint_eq(cancels, 1);  /* the read held across the hangup */
	peer_cleanup(&p);
}
END_TEST

/*
 * A driver without a cancel hook keeps the request it suspended: an
 * interrupt answers -EINTR at once, and the driver's own late answer then
 * frees it without a second reply (no use after free).
 */
START_TEST(test_interrupt_without_a_cancel_hook_keeps_the_request_valid)
{
	struct ddm_msg m;
	struct peer p;
	char buf[16];

	peer_start(&p, &nocancel_ops, sizeof(nocancel_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 2, 1, 0, SZ_TIMER, 0, NULL, 0);
	ddm_msg_init(&m, DDM_INTERRUPT, 2, 0);
	xsend(p.fd, &m, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 2, NULL, NULL), -EINTR);
	usleep(60000); /* the driver's timer answers the zombie now */
	expect_silence(p.fd);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 3, 1, 0, 5, 0, NULL, 0, buf, NULL), 5);
	/* a release drops a suspended request the same way */
	send_req(p.fd, DDM_READ, 4, 1, 0, SZ_TIMER, 0, NULL, 0);
	send_req(p.fd, DDM_RELEASE, 5, 1, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 4, NULL, NULL), -EINTR);
	usleep(60000);
	expect_silence(p.fd);
	peer_stop(&p);
}
END_TEST

START_TEST(test_sigterm_interrupts_suspended_read_and_exits_zero)
{
	struct peer p;
	struct ddm_msg m;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	send_req(p.fd, DDM_READ, 2, 1, 0, SZ_FOREVER, 0, NULL, 0);
	expect_silence(p.fd);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(expect_reply(p.fd, 2, NULL, NULL), -EINTR);
	ck_assert_int_eq(peer_wait(&p), 0);
	ck_assert_int_eq(recv(p.fd, &m, sizeof(m), MSG_DONTWAIT), 0);
	close(p.fd);
	peer_cleanup(&p);
}
END_TEST

START_TEST(test_garbage_packets_are_dropped_and_next_request_served)
{
	struct peer p;
	struct ddm_msg m;
	char out[8];

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(send(p.fd, "garbage", 7, 0), 7);
	ddm_msg_init(&m, DDM_READ, 2, 1);
	m.magic = 0x12345678;
	ck_assert_int_eq(send(p.fd, &m, sizeof(m), 0), (ssize_t)sizeof(m));
	ddm_msg_init(&m, DDM_REPLY, 3, 1);
	xsend(p.fd, &m, NULL, 0);
	ddm_msg_init(&m, DDM_READ, 4, 1);
	m.len = 100;
	ck_assert_int_eq(send(p.fd, &m, sizeof(m), 0), (ssize_t)sizeof(m));
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 5, 1, 0, 5, 0, NULL, 0, out, NULL), 5);
	kill(p.pid, SIGTERM);
	close(p.fd);
	ck_assert_int_eq(peer_wait(&p), 0);
	ck_assert_ptr_nonnull(strstr(p.err, "ddm-test[test0/dev0]: dropped"));
	peer_cleanup(&p);
}
END_TEST

START_TEST(test_unknown_fh_gives_ebadf_for_every_op)
{
	static const enum ddm_op ops[] = { DDM_READ, DDM_WRITE, DDM_IOCTL,
		                           DDM_POLL, DDM_FLUSH };
	struct peer p;
	size_t i;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		ck_assert_int_eq(call(p.fd, ops[i], 100 + i, 2, 0, 1, 0, "x",
		                      ops[i] == DDM_WRITE, NULL, NULL),
		                 -EBADF);
	send_req(p.fd, DDM_RELEASE, 200, 2, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 201, 1, 0, 0), -EBADF);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 202, 1, 0, 5), 5);
	peer_stop(&p);
}
END_TEST

START_TEST(test_failed_open_leaves_no_handle)
{
	struct peer p;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 1, O_EXCL, 0), -EACCES);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 2, 1, 0, 5), -EBADF);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 3, 1, 0, 0), 0);
	peer_stop(&p);
}
END_TEST

START_TEST(test_driver_claiming_too_many_bytes_gets_eio)
{
	struct peer p;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_WRITE, 2, 1, 0, 0, 0, "bug", 3, NULL, NULL),
	        -EIO);
	peer_stop(&p);
}
END_TEST

START_TEST(test_huge_read_is_clamped_to_payload_max)
{
	static char out[DDM_PAYLOAD_MAX];
	struct peer p;
	size_t len;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(call(p.fd, DDM_READ, 2, 1, 0, 1ull << 40, 0, NULL, 0,
	                      out, &len),
	                 DDM_PAYLOAD_MAX);
	ck_assert_uint_eq(len, DDM_PAYLOAD_MAX);
	ck_assert_int_eq(out[DDM_PAYLOAD_MAX - 1], 'x');
	ck_assert_int_eq(call(p.fd, DDM_IOCTL, 3, 1, IOC_ECHO, 0,
	                      DDM_PAYLOAD_MAX + 1, NULL, 0, NULL, NULL),
	                 -EINVAL);
	peer_stop(&p);
}
END_TEST

START_TEST(test_listed_ioctl_without_room_is_enotty)
{
	struct peer p;

	peer_start(&p, &t_ops, sizeof(t_ops));
	rpc(p.fd, DDM_OPEN, 1, 1, 0, 0);
	ck_assert_int_eq(call(p.fd, DDM_IOCTL, 2, 1, IOC_LISTED, 0, 3, NULL, 0,
	                      NULL, NULL),
	                 -ENOTTY);
	peer_stop(&p);
}
END_TEST

START_TEST(test_short_ops_size_hides_later_hooks)
{
	struct peer p;

	peer_start(&p, &t_ops, offsetof(struct ddm_driver_ops, read));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 1, O_EXCL, 0), -EACCES);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 2, 1, 0, 0), 0);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 3, 1, 0, 5), -EIO);
	peer_stop(&p);
}
END_TEST

START_TEST(test_many_handles_stay_distinct)
{
	struct peer p;
	struct info st;
	uint64_t i;

	peer_start(&p, &t_ops, sizeof(t_ops));
	for (i = 1; i <= 1000; i++)
		ck_assert_int_eq(call(p.fd, DDM_OPEN, i, i * 7919,
		                      (uint32_t)i << 8, 0, 0, NULL, 0, NULL,
		                      NULL),
		                 0);
	for (i = 1; i <= 1000; i += 111) {
		get_info(&p, i * 7919, &st);
		ck_assert_uint_eq(st.flags, i << 8);
	}
	for (i = 1; i <= 500; i++)
		send_req(p.fd, DDM_RELEASE, 0, i * 7919, 0, 0, 0, NULL, 0);
	get_info(&p, 501 * 7919, &st);
	ck_assert_uint_eq(st.releases, 500);
	ck_assert_uint_eq(st.opens, 1000);
	peer_stop(&p);
}
END_TEST

/* Reads the "opens releases cancels" that t_fini left in the state dir. */
static void
read_fini_counts(struct peer *p, unsigned int *ret_opens,
                 unsigned int *ret_releases, unsigned int *ret_cancels)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fini-ran", p->dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(
	        fscanf(f, "%u %u %u", ret_opens, ret_releases, ret_cancels), 3);
	fclose(f);
}

START_TEST(test_suspended_open_answered_later_then_serves_reads)
{
	struct peer p;
	struct info st;
	char out[8];

	peer_start(&p, &t_ops, sizeof(t_ops));
	send_req(p.fd, DDM_OPEN, 1, 5, OF_LATE_OK, 0, 0, NULL, 0);
	/* Opening: the fh serves nothing, cannot be opened twice, and a
	 * stray release of it is ignored. */
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 2, 5, 0, 5), -EBADF);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 3, 5, 0, 0), -EBADF);
	send_req(p.fd, DDM_RELEASE, 4, 5, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 1, NULL, NULL), 0);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 5, 5, 0, 5, 0, NULL, 0, out, NULL), 5);
	ck_assert_mem_eq(out, "hello", 5);
	get_info(&p, 5, &st);
	ck_assert_uint_eq(st.flags, OF_LATE_OK);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert_uint_eq(st.releases, 0);
	send_req(p.fd, DDM_RELEASE, 6, 5, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 7, 6, 0, 0), 0);
	get_info(&p, 6, &st);
	ck_assert_uint_eq(st.releases, 1);
	peer_stop(&p);
}
END_TEST

START_TEST(test_suspended_open_answered_ebusy_leaves_no_handle_no_release)
{
	struct peer p;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 5, OF_LATE_BUSY, 0), -EBUSY);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 2, 5, 0, 5), -EBADF);
	send_req(p.fd, DDM_RELEASE, 3, 5, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 4, 6, 0, 0), 0);
	get_info(&p, 6, &st);
	ck_assert_uint_eq(st.opens, 2);
	ck_assert_uint_eq(st.releases, 0);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 5, 5, 0, 0), 0); /* fh is free */
	peer_stop(&p);
}
END_TEST

START_TEST(test_interrupt_of_suspended_open_gives_eintr_and_no_handle)
{
	struct peer p;
	struct info st;

	peer_start(&p, &t_ops, sizeof(t_ops));
	send_req(p.fd, DDM_OPEN, 10, 5, OF_FOREVER, 0, 0, NULL, 0);
	expect_silence(p.fd);
	send_req(p.fd, DDM_INTERRUPT, 10, 0, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(expect_reply(p.fd, 10, NULL, NULL), -EINTR);
	ck_assert_int_eq(rpc(p.fd, DDM_READ, 11, 5, 0, 5), -EBADF);
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 12, 6, 0, 0), 0);
	get_info(&p, 6, &st);
	ck_assert_uint_eq(st.cancels, 1);
	ck_assert_uint_eq(st.releases, 0);
	peer_stop(&p);
}
END_TEST

START_TEST(test_shutdown_answers_suspended_open_eintr_without_release)
{
	struct peer p;
	unsigned int opens, releases, cancels;

	peer_start(&p, &t_ops, sizeof(t_ops));
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 1, 0, 0), 0);
	send_req(p.fd, DDM_OPEN, 2, 2, OF_FOREVER, 0, 0, NULL, 0);
	expect_silence(p.fd);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(expect_reply(p.fd, 2, NULL, NULL), -EINTR);
	ck_assert_int_eq(peer_wait(&p), 0);
	close(p.fd);
	read_fini_counts(&p, &opens, &releases, &cancels);
	ck_assert_uint_eq(opens, 2);
	ck_assert_uint_eq(releases, 1); /* fh 1 only: fh 2 never opened */
	ck_assert_uint_eq(cancels, 1);
	peer_cleanup(&p);
}
END_TEST

/* Runs a driver with args and no live peer; returns its exit status. */
static int
run_args(struct peer *p, const struct ddm_driver_ops *ops,
         const char *const *args, bool want_sock)
{
	int st;

	peer_spawn(p, ops, sizeof(*ops), args, want_sock);
	st = peer_wait(p);
	if (p->fd >= 0)
		close(p->fd);
	peer_cleanup(p);
	return st;
}

START_TEST(test_missing_ddm_fd_or_node_exits_2)
{
	static const char *const no_fd[] = { "--node=a/b", NULL };
	static const char *const no_node[] = { "FD", NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &t_ops, no_fd, false), 2);
	ck_assert_str_eq(p.err,
	                 "ddm-test: must be started by ddmfs: no --ddm-fd\n");
	ck_assert_int_eq(run_args(&p, &t_ops, no_node, true), 2);
	ck_assert_str_eq(p.err,
	                 "ddm-test: must be started by ddmfs: no --node\n");
}
END_TEST

START_TEST(test_bad_options_and_backend_exit_2)
{
	static const char *const unknown[] = { "--node=a/b", "FD", "--frob=1",
		                               NULL };
	static const char *const backend[] = { "--node=a/b", "FD", "--io=mmx",
		                               NULL };
	static const char *const help[] = { "--help", NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &t_ops, unknown, true), 2);
	ck_assert_ptr_nonnull(strstr(p.err, "unknown option '--frob=1'"));
	ck_assert_int_eq(run_args(&p, &t_ops, backend, true), 2);
	ck_assert_ptr_nonnull(strstr(p.err, "'mmx'"));
	ck_assert_int_eq(run_args(&p, &t_ops, help, false), 0);
	ck_assert_ptr_nonnull(strstr(p.err, "usage: ddm-test --ddm-fd=N"));
	ck_assert_ptr_nonnull(strstr(p.err, "[--sim-fd=N] [--state-fd=N]"));
}
END_TEST

/* An instance of two nodes: a stream and a 16-byte seekable one. */
enum { K_CLOCK, K_MEM };

static const struct ddm_kind m_kinds[] = {
	{ .name = "clock" },
	{ .name = "mem", .flags = DDM_SEEKABLE, .size = 16 },
	{ 0 },
};

static const char *const m_options[] = { "period-ms", "label", NULL };

static struct ddm_dev *m_dev;

static int
m_init(struct ddm_dev *dev, void *sc)
{
	m_dev = dev;
	return 0;
}

/* mem: bytes "0123456789abcdef" from off; clock: what it knows, as text */
static ssize_t
m_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
       off_t off)
{
	static const char mem[] = "0123456789abcdef";
	const char *opt = ddm_option(m_dev, "period-ms");
	int n;

	if (h->node->kind == K_MEM) {
		if (off >= 16)
			return 0;
		n = (int)(16 - off) < (int)size ? (int)(16 - off) : (int)size;
		memcpy(buf, mem + off, (size_t)n);
		return n;
	}
	n = snprintf(buf, size, "%s %u %lld %s %s %u", h->node->name,
	             h->node->index, (long long)off, opt != NULL ? opt : "-",
	             ddm_option(m_dev, "label") != NULL ? "label" : "-",
	             ddm_node_count(m_dev));
	return n < (int)size ? n : (int)size;
}

static const struct ddm_driver_ops m_ops = {
	.init = m_init,
	.read = m_read,
	.kinds = m_kinds,
	.options = m_options,
};

START_TEST(test_an_instance_serves_its_nodes_offsets_and_options)
{
	static const char *const args[] = { "--node=test0/dev0",
		                            "--nodes=dev0,mem0:mem",
		                            "--period-ms",
		                            "300",
		                            "FD",
		                            NULL };
	struct ddm_hello_node hn[2];
	struct ddm_msg m;
	char buf[64];
	size_t len;
	struct peer p;

	peer_spawn(&p, &m_ops, sizeof(m_ops), args, true);
	ck_assert_uint_eq(xrecv(p.fd, &m, hn), sizeof(hn));
	ck_assert_uint_eq(m.op, DDM_HELLO);
	ck_assert_uint_eq(hn[0].flags, 0);
	ck_assert_uint_eq(hn[0].size, 0);
	ck_assert_uint_eq(hn[1].flags, DDM_NODE_SEEKABLE);
	ck_assert_uint_eq(hn[1].size, 16);
	/* the stream node: its name, index, offset always 0, the options */
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 1, 10, O_RDONLY, 0), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 2, 10, 0, 60, 5, NULL, 0, buf, &len),
	        (long)strlen("dev0 0 0 300 - 2"));
	ck_assert_str_eq(buf, "dev0 0 0 300 - 2");
	/* the seekable node: reads at offsets, 0 bytes at the end */
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 3, 11, O_RDONLY, 1), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 4, 11, 0, 4, 10, NULL, 0, buf, &len), 4);
	ck_assert_str_eq(buf, "abcd");
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 5, 11, 0, 8, 14, NULL, 0, buf, &len), 2);
	ck_assert_int_eq(
	        call(p.fd, DDM_READ, 6, 11, 0, 8, 16, NULL, 0, buf, &len), 0);
	/* no third node; an offset no off_t holds */
	ck_assert_int_eq(rpc(p.fd, DDM_OPEN, 7, 12, O_RDONLY, 2), -ENXIO);
	ck_assert_int_eq(call(p.fd, DDM_READ, 8, 11, 0, 8, 1ull << 63, NULL, 0,
	                      buf, &len),
	                 -EINVAL);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bad_nodes_and_driver_options_exit_2)
{
	static const char *const no_value[] = { "--node=a/b", "FD",
		                                "--period-ms", NULL };
	static const char *const no_value2[] = { "--node=a/b", "FD", "--label",
		                                 "--period-ms=1", NULL };
	static const char *const twice[] = { "--node=a/b", "FD", "--label=x",
		                             "--label=y", NULL };
	static const char *const kind[] = { "--node=a/b", "FD",
		                            "--nodes=b,c:nosuch", NULL };
	static const char *const same[] = { "--node=a/b", "FD",
		                            "--nodes=b,b:mem", NULL };
	static const char *const third[] = { "--node=a/b", "FD",
		                             "--nodes=b,c,d", NULL };
	static const char *const bad[] = { "--node=a/b", "FD", "--nodes=b,C0",
		                           NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &m_ops, no_value, true), 2);
	ck_assert_str_eq(p.err,
	                 "ddm-test: option '--period-ms' needs a value\n");
	ck_assert_int_eq(run_args(&p, &m_ops, no_value2, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: option '--label' needs a value\n");
	ck_assert_int_eq(run_args(&p, &m_ops, twice, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --label given twice\n");
	ck_assert_int_eq(run_args(&p, &m_ops, kind, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: node 'c': unknown kind 'nosuch' "
	                        "(see --help)\n");
	ck_assert_int_eq(run_args(&p, &m_ops, same, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: node 'b' given twice\n");
	ck_assert_int_eq(run_args(&p, &m_ops, third, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: node 'd': say its kind "
	                        "(NAME:KIND); see --help\n");
	ck_assert_int_eq(run_args(&p, &m_ops, bad, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: bad node name 'C0'\n");
}
END_TEST

START_TEST(test_bad_cuse_options_exit_2)
{
	static const char *const dev_alone[] = { "--node=a/b", "FD",
		                                 "--cuse-dev=1:2", NULL };
	static const char *const dev_bad[] = { "--node=a/b", "FD",
		                               "--cuse-dev=12", NULL };
	static const char *const major_big[] = { "--node=a/b", "FD",
		                                 "--cuse-dev=4096:0", NULL };
	static const char *const not_cuse[] = { "--node=a/b", "FD",
		                                "--cuse-fd=999", NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &t_ops, dev_alone, true), 2);
	ck_assert_ptr_nonnull(strstr(p.err, "--cuse-dev needs --cuse-fd"));
	ck_assert_int_eq(run_args(&p, &t_ops, dev_bad, true), 2);
	ck_assert_ptr_nonnull(strstr(p.err, "bad --cuse-dev '12'"));
	ck_assert_int_eq(run_args(&p, &t_ops, major_big, true), 2);
	ck_assert_ptr_nonnull(strstr(p.err, "bad --cuse-dev '4096:0'"));
	ck_assert_int_eq(run_args(&p, &t_ops, not_cuse, true), 2);
	ck_assert_ptr_nonnull(
	        strstr(p.err, "--cuse-fd=999 is not an open /dev/cuse"));
}
END_TEST

START_TEST(test_failing_init_exits_1_without_hello)
{
	struct peer p;
	struct ddm_msg m;

	peer_spawn(&p, &fail_ops, sizeof(fail_ops), std_args, true);
	ck_assert_int_eq(peer_wait(&p), 1);
	ck_assert_ptr_nonnull(strstr(p.err, "ddm-test[test0/dev0]: init"));
	ck_assert_int_eq(recv(p.fd, &m, sizeof(m), MSG_DONTWAIT), 0);
	close(p.fd);
	peer_cleanup(&p);
}
END_TEST

/* Option parsing: ddmfs's options cannot be given twice or misused. */

START_TEST(test_option_given_twice_exits_2_naming_it)
{
	static const char *const io_twice[] = { "--io=sim", "--node=a/b", "FD",
		                                "--io=pio", NULL };
	static const char *const node_twice[] = { "--node=a/b", "FD", "--node",
		                                  "c/d", NULL };
	static const char *const syslog_twice[] = { "--node=a/b", "FD",
		                                    "--syslog", "--syslog",
		                                    NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &t_ops, io_twice, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --io given twice\n");
	ck_assert_int_eq(run_args(&p, &t_ops, node_twice, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --node given twice\n");
	ck_assert_int_eq(run_args(&p, &t_ops, syslog_twice, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --syslog given twice\n");
}
END_TEST

START_TEST(test_devport_fd_needs_devport_io_and_an_open_fd)
{
	static const char *const on_sim[] = { "--node=a/b", "FD",
		                              "--devport-fd=0", NULL };
	static const char *const closed[] = { "--io=devport", "--node=a/b",
		                              "FD", "--devport-fd=999", NULL };
	static const char *const bad[] = { "--io=devport", "--node=a/b", "FD",
		                           "--devport-fd=x", NULL };
	struct peer p;

	ck_assert_int_eq(run_args(&p, &t_ops, on_sim, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --devport-fd=0 is not an open file "
	                        "for --io=devport\n");
	ck_assert_int_eq(run_args(&p, &t_ops, closed, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --devport-fd=999 is not an open "
	                        "file for --io=devport\n");
	ck_assert_int_eq(run_args(&p, &t_ops, bad, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: bad --devport-fd 'x'\n");
}
END_TEST

/*
 * Makes a 0700 temp dir of root's, as the state dir ddmfs makes, with a dir
 * "sim" in it owned by uid; returns an open fd of sim, as ddmfs passes it.
 */
static int
make_sim_dir(char dir[64], uid_t uid)
{
	char sim[96];
	int fd;

	strcpy(dir, "/tmp/check_proto.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sim, sizeof(sim), "%s/sim", dir);
	ck_assert_int_eq(mkdir(sim, 0755), 0);
	ck_assert_int_eq(chown(sim, uid, uid), 0);
	fd = open(sim, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

START_TEST(test_sim_fd_gets_the_sim_files_even_under_a_0700_dir)
{
	char dir[64], simarg[32], path[128];
	const char *const args[] = { "--io=sim", "--node=test0/dev0", simarg,
		                     "FD", NULL };
	struct ddm_msg m;
	struct stat st;
	struct peer p;
	int sim_fd;

	if (geteuid() != 0)
		return; /* running the driver as another user needs root */
	sim_fd = make_sim_dir(dir, NOBODY);
	snprintf(simarg, sizeof(simarg), "--sim-fd=%d", sim_fd);
	spawn_uid = NOBODY;
	peer_spawn(&p, &lpt_ops, sizeof(lpt_ops), args, true);
	close(sim_fd);
	xrecv(p.fd, &m, NULL);
	ck_assert_uint_eq(m.op, DDM_HELLO); /* init took the port */
	peer_stop(&p);
	snprintf(path, sizeof(path), "%s/sim/dev0.out", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	rm_tree(dir);
}
END_TEST

START_TEST(test_failing_init_names_the_sim_file_at_fault)
{
	char dir[64], simarg[32], path[128];
	const char *const args[] = { "--io=sim", "--node=test0/dev0", simarg,
		                     "FD", NULL };
	struct peer p;
	int sim_fd;

	sim_fd = make_sim_dir(dir, geteuid());
	snprintf(path, sizeof(path), "%s/sim/dev0.out", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(simarg, sizeof(simarg), "--sim-fd=%d", sim_fd);
	ck_assert_int_eq(run_args(&p, &lpt_ops, args, true), 1);
	close(sim_fd);
	ck_assert_str_eq(p.err, "ddm-test[test0/dev0]: init failed: Is a "
	                        "directory (sim file dev0.out: Is a "
	                        "directory)\n");
	rm_tree(dir);
}
END_TEST

START_TEST(test_sim_fd_and_state_fd_must_be_open_directories)
{
	char dir[64], path[128], file_sim[32], file_state[32], path_sim[32];
	char sim[32], sim_state[32];
	const char *const on_file[] = { "--node=a/b", "FD", file_sim, NULL };
	const char *const on_o_path[] = { "--node=a/b", "FD", path_sim, NULL };
	const char *const on_pio[] = { "--io=pio", "--node=a/b", "FD", sim,
		                       NULL };
	const char *const same[] = { "--node=a/b", "FD", sim, sim_state, NULL };
	const char *const state_on_file[] = { "--node=a/b", "FD", file_state,
		                              NULL };
	static const char *const closed[] = { "--node=a/b", "FD",
		                              "--sim-fd=999", NULL };
	static const char *const zero[] = { "--node=a/b", "FD", "--sim-fd=0",
		                            NULL };
	static const char *const bad[] = { "--node=a/b", "FD", "--sim-fd=x",
		                           NULL };
	char want[128];
	int sim_fd, file_fd, path_fd;
	struct peer p;

	sim_fd = make_sim_dir(dir, geteuid());
	snprintf(path, sizeof(path), "%s/file", dir);
	file_fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(file_fd, 0);
	path_fd = open(dir, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(path_fd, 0);
	snprintf(file_sim, sizeof(file_sim), "--sim-fd=%d", file_fd);
	snprintf(file_state, sizeof(file_state), "--state-fd=%d", file_fd);
	snprintf(path_sim, sizeof(path_sim), "--sim-fd=%d", path_fd);
	snprintf(sim, sizeof(sim), "--sim-fd=%d", sim_fd);
	snprintf(sim_state, sizeof(sim_state), "--state-fd=%d", sim_fd);

	ck_assert_int_eq(run_args(&p, &t_ops, on_file, true), 2);
	snprintf(want, sizeof(want),
	         "ddm-test: --sim-fd=%d is not an open directory for "
	         "--io=sim\n",
	         file_fd);
	ck_assert_str_eq(p.err, want);
	ck_assert_int_eq(run_args(&p, &t_ops, on_o_path, true), 2);
	snprintf(want, sizeof(want),
	         "ddm-test: --sim-fd=%d is not an open directory for "
	         "--io=sim\n",
	         path_fd);
	ck_assert_str_eq(p.err, want);
	ck_assert_int_eq(run_args(&p, &t_ops, on_pio, true), 2);
	snprintf(want, sizeof(want),
	         "ddm-test: --sim-fd=%d is not an open directory for "
	         "--io=sim\n",
	         sim_fd);
	ck_assert_str_eq(p.err, want);
	ck_assert_int_eq(run_args(&p, &t_ops, closed, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --sim-fd=999 is not an open "
	                        "directory for --io=sim\n");
	ck_assert_int_eq(run_args(&p, &t_ops, zero, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: --sim-fd=0 is not an open "
	                        "directory for --io=sim\n");
	ck_assert_int_eq(run_args(&p, &t_ops, bad, true), 2);
	ck_assert_str_eq(p.err, "ddm-test: bad --sim-fd 'x'\n");
	ck_assert_int_eq(run_args(&p, &t_ops, state_on_file, true), 2);
	snprintf(want, sizeof(want),
	         "ddm-test: --state-fd=%d is not an open directory\n", file_fd);
	ck_assert_str_eq(p.err, want);
	ck_assert_int_eq(run_args(&p, &t_ops, same, true), 2);
	snprintf(want, sizeof(want),
	         "ddm-test: --sim-fd and --state-fd are both %d\n", sim_fd);
	ck_assert_str_eq(p.err, want);
	close(path_fd);
	close(file_fd);
	close(sim_fd);
	rm_tree(dir);
}
END_TEST

START_TEST(test_syslog_option_sends_log_lines_away_from_stderr)
{
	static const char *const args[] = { "--io=sim", "--node=test0/dev0",
		                            "STATE",    "FD",
		                            "--syslog", NULL };
	struct peer p;
	struct ddm_msg m;

	peer_spawn(&p, &fail_ops, sizeof(fail_ops), args, true);
	ck_assert_int_eq(peer_wait(&p), 1);
	ck_assert_str_eq(p.err, ""); /* "init failed" went to syslog */
	ck_assert_int_eq(recv(p.fd, &m, sizeof(m), MSG_DONTWAIT), 0);
	close(p.fd);
	peer_cleanup(&p);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_pack_unpack_round_trips_header_and_payload);
	tcase_add_test(core, test_hello_comes_first_with_protocol_version);
	tcase_add_test(core,
	               test_an_instance_serves_its_nodes_offsets_and_options);
	tcase_add_test(core,
	               test_open_read_write_poll_flush_release_reply_with_ids);
	tcase_add_test(core,
	               test_open_gives_handle_flags_caller_and_node_names);
	tcase_add_test(core,
	               test_ioctl_passes_in_data_and_returns_out_and_value);
	tcase_add_test(core, test_null_hooks_give_library_defaults);
	tcase_add_test(core, test_suspended_read_is_answered_later_from_timer);
	tcase_add_test(core, test_cancelled_timer_never_fires);
	tcase_add_test(core, test_watched_fd_calls_back_when_readable);
	tcase_add_test(core, test_interrupt_of_suspended_read_gives_eintr);
	tcase_add_test(core,
	               test_ping_is_answered_zero_while_a_read_stays_suspended);
	tcase_add_test(core,
	               test_release_cancels_suspended_reads_of_that_handle);
	tcase_add_test(core, test_poll_notify_is_sent_once_when_asked);
	tcase_add_test(core, test_a_stop_exits_zero_after_fini);
	tcase_add_test(
	        core,
	        test_interrupt_without_a_cancel_hook_keeps_the_request_valid);
	tcase_add_test(core,
	               test_a_hangup_leaves_an_orphan_that_a_new_peer_adopts);
	tcase_add_test(core,
	               test_sigterm_interrupts_suspended_read_and_exits_zero);
	tcase_add_test(core,
	               test_suspended_open_answered_later_then_serves_reads);
	tcase_add_test(
	        core,
	        test_suspended_open_answered_ebusy_leaves_no_handle_no_release);
	tcase_add_test(
	        core,
	        test_interrupt_of_suspended_open_gives_eintr_and_no_handle);
	tcase_add_test(
	        core,
	        test_shutdown_answers_suspended_open_eintr_without_release);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_unpack_rejects_short_packet);
	tcase_add_test(limits, test_ping_is_a_valid_op_named_ping);
	tcase_add_test(limits, test_unpack_rejects_bad_magic_and_flags);
	tcase_add_test(limits, test_unpack_rejects_op_zero_and_op_max);
	tcase_add_test(limits, test_unpack_rejects_len_mismatch_and_oversize);
	tcase_add_test(limits, test_unpack_rejects_reply_result_out_of_range);
	tcase_add_test(limits, test_pack_refuses_small_buffer_and_huge_payload);
	tcase_add_test(
	        limits,
	        test_garbage_packets_are_dropped_and_next_request_served);
	tcase_add_test(limits, test_unknown_fh_gives_ebadf_for_every_op);
	tcase_add_test(limits, test_failed_open_leaves_no_handle);
	tcase_add_test(limits, test_driver_claiming_too_many_bytes_gets_eio);
	tcase_add_test(limits, test_huge_read_is_clamped_to_payload_max);
	tcase_add_test(limits, test_listed_ioctl_without_room_is_enotty);
	tcase_add_test(limits, test_short_ops_size_hides_later_hooks);
	tcase_add_test(limits, test_many_handles_stay_distinct);
	tcase_add_test(limits, test_missing_ddm_fd_or_node_exits_2);
	tcase_add_test(limits, test_bad_options_and_backend_exit_2);
	tcase_add_test(limits, test_bad_nodes_and_driver_options_exit_2);
	tcase_add_test(limits, test_bad_cuse_options_exit_2);
	tcase_add_test(limits, test_failing_init_exits_1_without_hello);
	tcase_add_test(limits, test_option_given_twice_exits_2_naming_it);
	tcase_add_test(limits, test_devport_fd_needs_devport_io_and_an_open_fd);
	tcase_add_test(limits,
	               test_sim_fd_gets_the_sim_files_even_under_a_0700_dir);
	tcase_add_test(limits, test_failing_init_names_the_sim_file_at_fault);
	tcase_add_test(limits,
	               test_sim_fd_and_state_fd_must_be_open_directories);
	tcase_add_test(limits,
	               test_syslog_option_sends_log_lines_away_from_stderr);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
