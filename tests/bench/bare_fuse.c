/*
 * bare_fuse.c: the bench's FUSE baseline, a libfuse low-level server with
 * BENCH_LEAVES regular files n0 .. n7 that answers every request from the
 * FUSE worker thread itself, the way bench_dev.h says (reads give zeros,
 * writes are swallowed and wake pollers, BENCH_IOC_COUNT gives the write
 * count).  It gets the same requests a /ddm leaf gets (open with direct_io
 * and nonseekable, read, write, ioctl, poll, flush, release) on the same
 * multi-threaded loop and mount options as ddmfs, so timing it measures
 * the cost of FUSE alone, without ddmfs's forwarding to a driver.
 *
 * Its ioctl is the restricted kind, as ddmfs's: a regular file on FUSE
 * gets the size the command encodes copied in and out by the kernel, and
 * answers with fuse_reply_ioctl(), as ddmfs does with the driver's reply.
 *
 *	bare_fuse [-f] [-d] MOUNTPOINT
 */
#include "config.h"

#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_dev.h"

#define LEAF_INO0 2 /* n0's inode; nK is LEAF_INO0 + K */
#define MOUNT_OPTS                                                             \
	"allow_other,default_permissions,fsname=bare_fuse,subtype=bare_fuse"
#define ATTR_TIMEOUT_S 1.0
#define READ_MAX       (128 * 1024) /* the kernel never asks for more */

/* One open file: the write count it has seen, and its pending poll. */
struct bopen {
	unsigned int leaf;
	uint32_t seen;
	struct fuse_pollhandle *ph; /* under the leaf's lock */
	struct bopen *prev, *next;  /* the leaf's open files */
};

struct leaf {
	pthread_mutex_t lock;
	uint32_t writes; /* atomic */
	struct bopen *opens;
};

static __thread char rbuf[READ_MAX]; /* each worker's read buffer */
static struct leaf leaves[BENCH_LEAVES];

/* Takes o off l's list of open files (l->lock held). */
static void
unlink_open(struct leaf *l, struct bopen *o)
{
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		l->opens = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
}

static void
bare_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = 128 * 1024; /* as ddmfs (DDM_PAYLOAD_MAX) */
}

/* The leaf index of ino, or -1. */
static int
leaf_of(fuse_ino_t ino)
{
	if (ino < LEAF_INO0 || ino >= LEAF_INO0 + BENCH_LEAVES)
		return -1;
	return (int)(ino - LEAF_INO0);
}

static void
fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
	}
}

static void
bare_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { 0 };
	unsigned int k;
	char tail;

	if (parent != FUSE_ROOT_ID || sscanf(name, "n%u%c", &k, &tail) != 1 ||
	    k >= BENCH_LEAVES) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = LEAF_INO0 + k;
	e.attr_timeout = ATTR_TIMEOUT_S;
	e.entry_timeout = ATTR_TIMEOUT_S;
	fill_stat(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
bare_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (ino != FUSE_ROOT_ID && leaf_of(ino) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT_S);
}

static void
bare_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int k = leaf_of(ino);
	struct leaf *l;
	struct bopen *o;

	if (k < 0) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	l = &leaves[k];
	o->leaf = (unsigned int)k;
	pthread_mutex_lock(&l->lock);
	o->seen = __atomic_load_n(&l->writes, __ATOMIC_RELAXED);
	o->next = l->opens;
	if (l->opens != NULL)
		l->opens->prev = o;
	l->opens = o;
	pthread_mutex_unlock(&l->lock);
	fi->fh = (uintptr_t)o;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) != 0) {
		pthread_mutex_lock(&l->lock);
		unlink_open(l, o);
		pthread_mutex_unlock(&l->lock);
		free(o);
	}
}

static void
bare_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;

	__atomic_store_n(
	        &o->seen,
	        __atomic_load_n(&leaves[o->leaf].writes, __ATOMIC_RELAXED),
	        __ATOMIC_RELAXED);
	size = size < READ_MAX ? size : READ_MAX;
	bench_fill(rbuf, size);
	fuse_reply_buf(req, rbuf, size);
}

/* Counts the write and wakes the leaf's pollers. */
static void
bare_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
           off_t off, struct fuse_file_info *fi)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;
	struct leaf *l = &leaves[o->leaf];

	/* counted first, so the writer's ioctl sees its own write; a poll
	 * that reads the old count under the lock is notified below */
	__atomic_add_fetch(&l->writes, 1, __ATOMIC_RELAXED);
	fuse_reply_write(req, size);
	pthread_mutex_lock(&l->lock);
	for (struct bopen *p = l->opens; p != NULL; p = p->next) {
		if (p->ph == NULL)
			continue;
		fuse_lowlevel_notify_poll(p->ph);
		fuse_pollhandle_destroy(p->ph);
		p->ph = NULL;
	}
	pthread_mutex_unlock(&l->lock);
}

static void
bare_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
           struct fuse_file_info *fi, unsigned flags, const void *in_buf,
           size_t in_bufsz, size_t out_bufsz)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;
	uint32_t count;

	if ((flags & FUSE_IOCTL_DIR) || cmd != BENCH_IOC_COUNT) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (out_bufsz < sizeof(count)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	count = __atomic_load_n(&leaves[o->leaf].writes, __ATOMIC_RELAXED);
	fuse_reply_ioctl(req, 0, &count, sizeof(count));
}

/* Ready for writing always, for reading after a write; else keeps ph. */
static void
bare_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
          struct fuse_pollhandle *ph)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;
	struct leaf *l = &leaves[o->leaf];
	unsigned int rev = POLLOUT;

	pthread_mutex_lock(&l->lock);
	if (__atomic_load_n(&l->writes, __ATOMIC_RELAXED) !=
	    __atomic_load_n(&o->seen, __ATOMIC_RELAXED))
		rev |= POLLIN;
	if (ph != NULL && (rev & fi->poll_events) == 0) {
		if (o->ph != NULL)
			fuse_pollhandle_destroy(o->ph);
		o->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	if (ph != NULL)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, rev);
}

static void
bare_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
bare_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;
	struct leaf *l = &leaves[o->leaf];

	pthread_mutex_lock(&l->lock);
	unlink_open(l, o);
	pthread_mutex_unlock(&l->lock);
	if (o->ph != NULL)
		fuse_pollhandle_destroy(o->ph);
	free(o);
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops bare_ops = {
	.init = bare_init,
	.lookup = bare_lookup,
	.getattr = bare_getattr,
	.open = bare_open,
	.read = bare_read,
	.write = bare_write,
	.ioctl = bare_ioctl,
	.poll = bare_poll,
	.flush = bare_flush,
	.release = bare_release,
};

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o = { 0 };
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	int rc = 1;

	for (unsigned int k = 0; k < BENCH_LEAVES; k++)
		pthread_mutex_init(&leaves[k].lock, NULL);
	if (fuse_parse_cmdline(&args, &o) != 0)
		return 2;
	if (o.mountpoint == NULL) {
		fprintf(stderr, "usage: %s [-f] [-d] MOUNTPOINT\n", argv[0]);
		goto free_args;
	}
	if (fuse_opt_add_arg(&args, "-o" MOUNT_OPTS) < 0)
		goto free_args;
	se = fuse_session_new(&args, &bare_ops, sizeof(bare_ops), NULL);
	if (se == NULL)
		goto free_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto destroy_session;
	if (fuse_session_mount(se, o.mountpoint) != 0)
		goto remove_handlers;
	if (fuse_daemonize(o.foreground) != 0)
		goto unmount;
	cfg = fuse_loop_cfg_create();
	if (cfg == NULL)
		goto unmount;
	rc = fuse_session_loop_mt(se, cfg) < 0 ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);
unmount:
	fuse_session_unmount(se);
remove_handlers:
	fuse_remove_signal_handlers(se);
destroy_session:
	fuse_session_destroy(se);
free_args:
	free(o.mountpoint);
	fuse_opt_free_args(&args);
	return rc;
}
