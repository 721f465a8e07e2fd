/*
 * fuseio.c: the FUSE worker threads and raw answers (fuseio.h).
 */
#include "config.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ddm_proto.h"
#include "fuseio.h"
#include "idmap.h"
#include "log.h"

#define STOP_SIGNAL   SIGUSR1
#define STOP_RETRY_NS 10000000 /* re-signal a worker not out yet, 10 ms */
#define WORKERS_MAX   64

static struct fuse_session *session;
static pthread_t workers[WORKERS_MAX];
static unsigned int n_workers;
static atomic_bool stopping;
static atomic_uint running;
static void (*on_end)(void);
static __thread const struct fuse_in_header *cur_in;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char init_args[FUSEIO_INIT_MAX];
static size_t init_len;

/* Handed-over requests by unique (tracked), guarded by track_lock. */
static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static struct idmap tracked;
static atomic_uint n_tracked;
static void (*intr_hook)(uint64_t unique);

uint64_t
fuseio_unique(void)
{
	return cur_in != NULL ? cur_in->unique : 0;
}

uint64_t
fuseio_poll_kh(void)
{
	const struct fuse_poll_in *pi;

	if (cur_in == NULL || cur_in->opcode != FUSE_POLL ||
	    cur_in->len < sizeof(*cur_in) + sizeof(*pi))
		return 0;
	pi = (const struct fuse_poll_in *)(cur_in + 1);
	return (pi->flags & FUSE_POLL_SCHEDULE_NOTIFY) ? pi->kh : 0;
}

size_t
fuseio_init_args(void *buf, size_t cap)
{
	size_t n;

	pthread_mutex_lock(&init_lock);
	n = init_len <= cap ? init_len : 0;
	memcpy(buf, init_args, n);
	pthread_mutex_unlock(&init_lock);
	return n;
}

static void
keep_init(const struct fuse_in_header *in)
{
	size_t n = in->len - sizeof(*in);

	pthread_mutex_lock(&init_lock);
	init_len = n <= sizeof(init_args) ? n : sizeof(init_args);
	memcpy(init_args, in + 1, init_len);
	pthread_mutex_unlock(&init_lock);
}

int
fuseio_replay_init(struct fuse_session *se, const void *args, size_t len)
{
	struct {
		struct fuse_in_header h;
		unsigned char a[FUSEIO_INIT_MAX];
	} msg = { 0 };
	struct fuse_buf buf = { 0 };

	if (len > sizeof(msg.a) || len < sizeof(struct fuse_init_in) - 48)
		return -EINVAL;
	/* an even unique the kernel never uses: the answer finds no
	 * request and is dropped (ENOENT) */
	msg.h.unique = UINT64_MAX - 1;
	msg.h.opcode = FUSE_INIT;
	msg.h.len = (uint32_t)(sizeof(msg.h) + len);
	memcpy(msg.a, args, len);
	buf.mem = &msg;
	buf.size = msg.h.len;
	fuse_session_process_buf(se, &buf);
	pthread_mutex_lock(&init_lock);
	memcpy(init_args, args, len);
	init_len = len;
	pthread_mutex_unlock(&init_lock);
	return 0;
}

void
fuseio_set_interrupt_hook(void (*fn)(uint64_t unique))
{
	intr_hook = fn;
}

int
fuseio_track(uint64_t unique)
{
	struct idmap_entry *e = calloc(1, sizeof(*e));
	int r;

	if (e == NULL)
		return -ENOMEM;
	e->id = unique;
	pthread_mutex_lock(&track_lock);
	r = idmap_add(&tracked, e);
	pthread_mutex_unlock(&track_lock);
	if (r < 0)
		free(e);
	else
		atomic_fetch_add(&n_tracked, 1);
	return r;
}

void
fuseio_untrack(uint64_t unique)
{
	struct idmap_entry *e;

	if (atomic_load(&n_tracked) == 0)
		return;
	pthread_mutex_lock(&track_lock);
	e = idmap_take(&tracked, unique);
	pthread_mutex_unlock(&track_lock);
	if (e != NULL) {
		atomic_fetch_sub(&n_tracked, 1);
		free(e);
	}
}

/* An INTERRUPT for a tracked request goes to the hook, not to libfuse
 * (which has no such request and would keep the interrupt forever). */
static bool
routed_interrupt(const struct fuse_in_header *in)
{
	const struct fuse_interrupt_in *ii = (const void *)(in + 1);
	bool mine;

	if (atomic_load(&n_tracked) == 0 || in->opcode != FUSE_INTERRUPT ||
	    in->len < sizeof(*in) + sizeof(*ii))
		return false;
	pthread_mutex_lock(&track_lock);
	mine = idmap_find(&tracked, ii->unique) != NULL;
	pthread_mutex_unlock(&track_lock);
	if (mine && intr_hook != NULL)
		intr_hook(ii->unique);
	return mine;
}

static void
on_stop_signal(int sig)
{
}

static void *
worker(void *arg)
{
	struct fuse_buf buf = { 0 };
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, STOP_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
	while (!atomic_load(&stopping)) {
		int r = fuse_session_receive_buf(session, &buf);

		if (r == 0 || fuse_session_exited(session) || r == -ENODEV ||
		    r == -EBADF)
			break;
		if (r < 0)
			continue; /* EINTR (a stop, see the loop's test), ... */
		cur_in = buf.mem;
		if (cur_in->opcode == FUSE_INIT)
			keep_init(cur_in);
		if (!routed_interrupt(cur_in))
			fuse_session_process_buf(session, &buf);
		cur_in = NULL;
	}
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	free(buf.mem);
	if (atomic_fetch_sub(&running, 1) == 1 && !atomic_load(&stopping) &&
	    on_end != NULL)
		on_end();
	return NULL;
}

int
fuseio_start(struct fuse_session *se, unsigned int n, void (*ended)(void))
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t stop, old;
	int r = 0;

	if (n == 0 || n > WORKERS_MAX)
		n = WORKERS_MAX;
	session = se;
	on_end = ended;
	atomic_store(&stopping, false);
	sigemptyset(&sa.sa_mask);
	sigaction(STOP_SIGNAL, &sa, NULL); /* no SA_RESTART: read gives EINTR */
	sigemptyset(&stop);
	sigaddset(&stop, STOP_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	for (n_workers = 0; n_workers < n; n_workers++) {
		atomic_fetch_add(&running, 1);
		r = -pthread_create(&workers[n_workers], NULL, worker, NULL);
		if (r < 0) {
			atomic_fetch_sub(&running, 1);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n_workers == 0)
		return r;
	if (r < 0)
		logmsg("started %u of %u FUSE workers: %s", n_workers, n,
		       strerror(-r));
	return 0;
}

void
fuseio_stop(void)
{
	struct timespec ts = { 0, STOP_RETRY_NS };

	atomic_store(&stopping, true);
	for (unsigned int i = 0; i < n_workers; i++) {
		/* a worker between its check and its read misses one signal:
		 * signal again until it is out */
		while (pthread_tryjoin_np(workers[i], NULL) == EBUSY) {
			pthread_kill(workers[i], STOP_SIGNAL);
			nanosleep(&ts, NULL);
		}
	}
	n_workers = 0;
}

static int
kern_write(uint64_t unique, int err, struct iovec *iov, int n_iov)
{
	struct fuse_out_header h = { .unique = unique, .error = err };
	size_t len = sizeof(h);
	ssize_t w;

	iov[0] = (struct iovec){ &h, sizeof(h) };
	for (int i = 1; i < n_iov; i++)
		len += iov[i].iov_len;
	h.len = (uint32_t)len;
	w = writev(fuse_session_fd(session), iov, n_iov);
	if (w < 0)
		return -errno;
	return 0;
}

int
kern_reply_err(uint64_t unique, int err)
{
	struct iovec iov[1];

	if (err > 0 || err < DDM_ERRNO_MIN)
		err = -EIO;
	return kern_write(unique, err, iov, 1);
}

int
kern_reply_buf(uint64_t unique, const void *buf, size_t len)
{
	struct iovec iov[2] = { { 0 }, { (void *)buf, len } };

	return kern_write(unique, 0, iov, len > 0 ? 2 : 1);
}

int
kern_reply_write(uint64_t unique, size_t count)
{
	struct fuse_write_out o = { .size = (uint32_t)count };
	struct iovec iov[2] = { { 0 }, { &o, sizeof(o) } };

	return kern_write(unique, 0, iov, 2);
}

int
kern_reply_open(uint64_t unique, uint64_t fh, bool seekable)
{
	struct fuse_open_out o = { .fh = fh };
	struct iovec iov[2] = { { 0 }, { &o, sizeof(o) } };

	o.open_flags = FOPEN_DIRECT_IO | (seekable ? 0 : FOPEN_NONSEEKABLE);
	return kern_write(unique, 0, iov, 2);
}

int
kern_reply_ioctl(uint64_t unique, int result, const void *buf, size_t len)
{
	struct fuse_ioctl_out o = { .result = result };
	struct iovec iov[3] = { { 0 },
		                { &o, sizeof(o) },
		                { (void *)buf, len } };

	return kern_write(unique, 0, iov, len > 0 ? 3 : 2);
}

int
kern_reply_poll(uint64_t unique, unsigned int revents)
{
	struct fuse_poll_out o = { .revents = revents };
	struct iovec iov[2] = { { 0 }, { &o, sizeof(o) } };

	return kern_write(unique, 0, iov, 2);
}

int
kern_notify_poll(uint64_t kh)
{
	struct fuse_notify_poll_wakeup_out o = { .kh = kh };
	struct iovec iov[2] = { { 0 }, { &o, sizeof(o) } };

	return kern_write(0, FUSE_NOTIFY_POLL, iov, 2);
}
