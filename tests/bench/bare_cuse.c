/*
 * bare_cuse.c: the bench's CUSE baseline, a minimal libfuse CUSE server
 * (as libfuse's example/cuse.c) with one char device that answers the way
 * bench_dev.h says: reads give zeros, writes are swallowed and wake
 * pollers, BENCH_IOC_COUNT gives the write count.  A CUSE ioctl is
 * unrestricted: the kernel first sends no data and the server asks it to
 * retry with the size the command encodes, as libdriver's CUSE transport
 * does.  It runs where ddmfs's CUSE transport runs (the guest), so timing
 * it measures CUSE alone, without libdriver.
 *
 *	bare_cuse --name=NAME [-f] [-s] [-d]
 *
 * The device appears as /dev/NAME.  -s serves on one thread, as libdriver
 * does; without it libfuse's multi-threaded loop runs.
 */
#include "config.h"

#define FUSE_USE_VERSION 312

#include <cuse_lowlevel.h>
#include <errno.h>
#include <fuse_opt.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "bench_dev.h"

#define READ_MAX    (128 * 1024) /* the kernel never asks for more */
#define DEVNAME_MAX 64

/* One open file: the write count it has seen, and its pending poll. */
struct bopen {
	uint32_t seen;
	struct fuse_pollhandle *ph; /* under lock */
	struct bopen *prev, *next;
};

static char rbuf[READ_MAX]; /* one thread: one read buffer */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t writes; /* atomic */
static struct bopen *opens;

static void
unlink_open(struct bopen *o)
{
	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		opens = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
}

static void
bare_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct bopen *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&lock);
	o->seen = __atomic_load_n(&writes, __ATOMIC_RELAXED);
	o->next = opens;
	if (opens != NULL)
		opens->prev = o;
	opens = o;
	pthread_mutex_unlock(&lock);
	fi->fh = (uintptr_t)o;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) != 0) {
		pthread_mutex_lock(&lock);
		unlink_open(o);
		pthread_mutex_unlock(&lock);
		free(o);
	}
}

static void
bare_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;

	__atomic_store_n(&o->seen, __atomic_load_n(&writes, __ATOMIC_RELAXED),
	                 __ATOMIC_RELAXED);
	size = size < READ_MAX ? size : READ_MAX;
	bench_fill(rbuf, size);
	fuse_reply_buf(req, rbuf, size);
}

/* Counts the write, answers, then wakes the pollers (see bare_fuse.c). */
static void
bare_write(fuse_req_t req, const char *buf, size_t size, off_t off,
           struct fuse_file_info *fi)
{
	__atomic_add_fetch(&writes, 1, __ATOMIC_RELAXED);
	fuse_reply_write(req, size);
	pthread_mutex_lock(&lock);
	for (struct bopen *p = opens; p != NULL; p = p->next) {
		if (p->ph == NULL)
			continue;
		fuse_lowlevel_notify_poll(p->ph);
		fuse_pollhandle_destroy(p->ph);
		p->ph = NULL;
	}
	pthread_mutex_unlock(&lock);
}

static void
bare_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
           unsigned flags, const void *in_buf, size_t in_bufsz,
           size_t out_bufsz)
{
	struct iovec out = { .iov_base = arg, .iov_len = sizeof(uint32_t) };
	uint32_t count;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((unsigned int)cmd != BENCH_IOC_COUNT) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (out_bufsz < sizeof(count)) {
		fuse_reply_ioctl_retry(req, NULL, 0, &out, 1);
		return;
	}
	count = __atomic_load_n(&writes, __ATOMIC_RELAXED);
	fuse_reply_ioctl(req, 0, &count, sizeof(count));
}

static void
bare_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;
	unsigned int rev = POLLOUT;

	pthread_mutex_lock(&lock);
	if (__atomic_load_n(&writes, __ATOMIC_RELAXED) !=
	    __atomic_load_n(&o->seen, __ATOMIC_RELAXED))
		rev |= POLLIN;
	if (ph != NULL && (rev & fi->poll_events) == 0) {
		if (o->ph != NULL)
			fuse_pollhandle_destroy(o->ph);
		o->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (ph != NULL)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, rev);
}

static void
bare_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
bare_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct bopen *o = (struct bopen *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&lock);
	unlink_open(o);
	pthread_mutex_unlock(&lock);
	if (o->ph != NULL)
		fuse_pollhandle_destroy(o->ph);
	free(o);
	fuse_reply_err(req, 0);
}

static const struct cuse_lowlevel_ops bare_ops = {
	.open = bare_open,
	.read = bare_read,
	.write = bare_write,
	.flush = bare_flush,
	.release = bare_release,
	.ioctl = bare_ioctl,
	.poll = bare_poll,
};

struct params {
	char *name;
};

static const struct fuse_opt opts[] = {
	{ "--name=%s", offsetof(struct params, name), 1 },
	{ "-n %s", offsetof(struct params, name), 1 },
	FUSE_OPT_END,
};

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct params p = { 0 };
	char devname[DEVNAME_MAX + 16];
	const char *dev_info_argv[] = { devname };
	struct cuse_info ci = { 0 };
	int rc = 2;

	if (fuse_opt_parse(&args, &p, opts, NULL) != 0)
		goto free_args;
	if (p.name == NULL || strlen(p.name) > DEVNAME_MAX) {
		fprintf(stderr, "usage: %s --name=NAME [-f] [-s] [-d]\n",
		        argv[0]);
		goto free_args;
	}
	snprintf(devname, sizeof(devname), "DEVNAME=%s", p.name);
	ci.dev_info_argc = 1;
	ci.dev_info_argv = dev_info_argv;
	ci.flags = CUSE_UNRESTRICTED_IOCTL;
	rc = cuse_lowlevel_main(args.argc, args.argv, &ci, &bare_ops, NULL) == 0
	             ? 0
	             : 1;
free_args:
	free(p.name);
	fuse_opt_free_args(&args);
	return rc;
}
