/*
 * cuse.c: the CUSE transport.  The driver serves its node as its own char
 * device: ddmfs opens /dev/cuse and passes the fd (--cuse-fd), libfuse's
 * cuse_lowlevel session runs on it without a thread of its own, and the
 * kernel sends requests straight here.  next() reads one CUSE message at a
 * time and lets libfuse call cuse_req.c, which queues the requests; replies
 * go back as the fuse_reply_* call that matches the request.  The ddm socket
 * (chan.c) stays: HELLO (arg1 = 1) goes out on it once every device exists,
 * ddmfs's heartbeat and adoption come over it, and so do the requests of
 * seekable nodes, which a CUSE device cannot serve (the kernel gives it no
 * file offsets).  Its hangup makes the driver an orphan; the devices and
 * their open files stay.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cuse_impl.h"

#define SYS_CUSE        "/sys/class/cuse"
#define DEVNUM_TEXT_MAX 32 /* "MAJ:MIN\n" as sysfs shows it */

/* Whether the kernel made the device with the numbers asked for. */
static int
check_device(struct cuse *c)
{
	char path[PATH_MAX], text[DEVNUM_TEXT_MAX];
	unsigned int maj, min;
	ssize_t n;
	int fd;

	if (access(SYS_CUSE, F_OK) < 0)
		return 0; /* no sysfs here: trust the kernel */
	snprintf(path, sizeof(path), SYS_CUSE "/%s/dev", c->devname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ddm_log(c->t.dev, "CUSE device %s was not created", c->devname);
		return -ENODEV;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = '\0';
	if (sscanf(text, "%u:%u", &maj, &min) != 2)
		return -EIO;
	if ((c->major != 0 || c->minor != 0) &&
	    (maj != c->major || min != c->minor)) {
		ddm_log(c->t.dev, "CUSE device %s is %u:%u, not %u:%u",
		        c->devname, maj, min, c->major, c->minor);
		return -EEXIST;
	}
	return 0;
}

/* Says HELLO once init succeeded and every device exists. */
static void
maybe_hello(struct ddm_dev *dev, struct cuse_ctl *ctl)
{
	int err;

	if (!ctl->may_hello || ctl->hello_sent || ctl->inited < ctl->n)
		return;
	ctl->hello_sent = true;
	err = chan_hello(dev, dev->sock_tp->fd, DDM_HELLO_CUSE);
	if (err == -EPIPE || err == -ECONNRESET) {
		loop_quit(dev, 0);
	} else if (err < 0) {
		ddm_log(dev, "cannot say hello to ddmfs: %s", strerror(-err));
		loop_quit(dev, 1);
	}
}

/* CUSE_INIT is answered: the device exists now. */
void
cuse_init_done(void *userdata)
{
	struct cuse *c = userdata;

	if (check_device(c) < 0) {
		loop_quit(c->t.dev, 1);
		return;
	}
	if (!c->inited)
		c->ctl->inited++;
	c->inited = true;
	maybe_hello(c->t.dev, c->ctl);
}

/* Frees released files whose DDM_RELEASE has been served. */
static void
reap_dead(struct cuse *c)
{
	struct copen *co;

	while ((co = c->dead) != NULL) {
		c->dead = co->next;
		cuse_copen_free(co);
	}
}

static int
cuse_next(struct ddm_transport *t, struct ddm_rq *ret)
{
	struct cuse *c = (struct cuse *)t;
	int n;

	if (c->qlen == 0)
		reap_dead(c);
	while (c->qlen == 0) {
		if (t->dev->quit)
			return -EAGAIN; /* init_done found no device */
		if (fuse_session_exited(c->se))
			return -ENODEV; /* the kernel ended the connection */
		n = fuse_session_receive_buf(c->se, &c->buf);
		if (n == -EINTR || n == 0)
			continue;
		if (n < 0)
			return n;
		fuse_session_process_buf(c->se, &c->buf);
	}
	*ret = c->q[c->qhead];
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	return 0;
}

static bool
cuse_pending(struct ddm_transport *t)
{
	return ((struct cuse *)t)->qlen > 0;
}

static int
cuse_send_hello(struct ddm_transport *t)
{
	struct cuse *c = (struct cuse *)t;

	if (c->ctl->hello_sent) /* again: an adoption */
		return chan_hello(t->dev, t->dev->sock_tp->fd, DDM_HELLO_CUSE);
	c->ctl->may_hello = true;
	maybe_hello(t->dev, c->ctl);
	return 0;
}

/*
 * An open the kernel no longer waits for (the caller vanished): no release
 * will come for it, so serve one here.
 */
static void
orphan(struct cuse *c, struct copen *co)
{
	if (cuse_push(c, &(struct ddm_rq){ .op = DDM_RELEASE,
	                                   .fh = (uintptr_t)co }) == 0)
		cuse_copen_kill(c, co);
}

static int
reply_open(struct creq *cr)
{
	struct cuse *c = cr->c;
	struct copen *co = cr->co;
	struct fuse_file_info fi = { .fh = (uintptr_t)co };
	int err;

	fi.direct_io = 1; /* only stream nodes are served here */
	fi.nonseekable = 1;
	co->next = c->opens;
	if (c->opens != NULL)
		c->opens->prev = co;
	c->opens = co;
	err = fuse_reply_open(cr->req, &fi);
	if (err == -ENOENT)
		orphan(c, co);
	return err;
}

static int
cuse_send_reply(struct ddm_transport *t, uint64_t id, void *tctx, long result,
                const void *data, size_t len)
{
	struct creq *cr = tctx;
	int err;

	(void)t;
	(void)id;
	if (cr == NULL)
		return 0;
	if (result < 0) {
		if (cr->op == DDM_OPEN)
			free(cr->co);
		err = fuse_reply_err(cr->req, (int)-result);
		goto free_creq;
	}
	switch (cr->op) {
	case DDM_OPEN:
		err = reply_open(cr);
		break;
	case DDM_READ:
		err = fuse_reply_buf(cr->req, data, len);
		break;
	case DDM_WRITE:
		err = fuse_reply_write(cr->req, (size_t)result);
		break;
	case DDM_IOCTL:
		err = fuse_reply_ioctl(cr->req, (int)result,
		                       len > 0 ? data : NULL, len);
		break;
	case DDM_POLL:
		err = fuse_reply_poll(cr->req, (unsigned int)result);
		break;
	default:
		err = fuse_reply_err(cr->req, 0);
		break;
	}

free_creq:
	cuse_creq_put(cr->c, cr);
	return err == -ENOENT ? 0 : err; /* the caller is gone: fine */
}

static int
cuse_send_notify(struct ddm_transport *t, uint64_t fh)
{
	struct copen *co = cuse_copen(fh);
	int err;

	(void)t;
	if (co == NULL || co->ph == NULL)
		return 0;
	err = fuse_lowlevel_notify_poll(co->ph);
	fuse_pollhandle_destroy(co->ph);
	co->ph = NULL;
	return err == -ENOENT ? 0 : err;
}

static void
cuse_close(struct ddm_transport *t)
{
	struct cuse *c = (struct cuse *)t;
	struct copen *co;
	struct creq *cr;

	if (c == NULL)
		return;
	if (--c->ctl->n == 0)
		free(c->ctl);
	for (; c->qlen > 0; c->qlen--, c->qhead = (c->qhead + 1) % c->qcap) {
		cr = c->q[c->qhead].tctx;
		if (cr != NULL) {
			if (cr->op == DDM_OPEN)
				free(cr->co);
			fuse_reply_err(cr->req, EINTR);
			free(cr);
		}
	}
	while (c->n_spare > 0)
		free(c->spare[--c->n_spare]);
	reap_dead(c);
	while ((co = c->opens) != NULL) {
		c->opens = co->next;
		cuse_copen_free(co);
	}
	fuse_session_unmount(c->se);
	fuse_session_destroy(c->se); /* closes the /dev/cuse fd */
	free(c->buf.mem);
	free(c->devname);
	free(c->q);
	free(c);
}

static const struct ddm_transport_ops cuse_ops = {
	.name = "CUSE",
	.next = cuse_next,
	.send_hello = cuse_send_hello,
	.send_reply = cuse_send_reply,
	.send_notify = cuse_send_notify,
	.close = cuse_close,
	.pending = cuse_pending,
	.suspended = cuse_suspended,
};

/* "ddm!isa0!rtc0" for node "isa0/rtc0". */
static char *
devname_of(const char *node)
{
	char *name, *s;

	if (asprintf(&name, "ddm!%s", node) < 0)
		return NULL;
	for (s = name; *s != '\0'; s++)
		if (*s == '/')
			*s = '!';
	return name;
}

/* Opens the CUSE device of node i on its /dev/cuse o->cuse_fd[i]. */
static int
open_one(struct ddm_dev *dev, const struct cuse_opts *o, unsigned int i,
         struct cuse_ctl *ctl, struct cuse **ret)
{
	char *argv[] = { (char *)dev->prog, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	char mnt[32], *info;
	struct cuse_info ci;
	struct cuse *c;
	int err = -ENOMEM, fl;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->ctl = ctl;
	c->major = o->major[i];
	c->minor = o->minor[i];
	c->devname = devname_of(dev->nodes[i].path);
	if (c->devname == NULL)
		goto free_cuse;
	if (asprintf(&info, "DEVNAME=%s", c->devname) < 0)
		goto free_devname;
	ci = (struct cuse_info){ .dev_major = c->major,
		                 .dev_minor = c->minor,
		                 .dev_info_argc = 1,
		                 .dev_info_argv = (const char **)&info,
		                 .flags = CUSE_UNRESTRICTED_IOCTL };
	c->se = cuse_lowlevel_new(&args, &ci, &cuse_clops, c);
	free(info);
	fuse_opt_free_args(&args);
	if (c->se == NULL) {
		err = -EINVAL;
		goto free_devname;
	}
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", o->cuse_fd[i]);
	if (fuse_session_mount(c->se, mnt) < 0) {
		err = -EBADF;
		goto destroy_session;
	}
	fl = fcntl(o->cuse_fd[i], F_GETFL);
	if (fl < 0 || fcntl(o->cuse_fd[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(o->cuse_fd[i], F_SETFD, FD_CLOEXEC) < 0) {
		err = -errno;
		goto destroy_session;
	}
	c->t = (struct ddm_transport){ .ops = &cuse_ops,
		                       .dev = dev,
		                       .fd = fuse_session_fd(c->se),
		                       .node = i };
	ctl->n++;
	*ret = c;
	return 0;

destroy_session:
	fuse_session_destroy(c->se); /* closes cuse_fd once mounted */
free_devname:
	free(c->devname);
free_cuse:
	free(c);
	return err;
}

int
cuse_open(struct ddm_dev *dev, const struct cuse_opts *o,
          struct ddm_transport **ret, unsigned int *ret_n)
{
	struct cuse_ctl *ctl;
	struct cuse *c = NULL;
	unsigned int i, n = 0;
	int err = 0;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	for (i = 0; i < dev->n_nodes && err == 0; i++) {
		if (o->cuse_fd[i] < 0)
			continue;
		err = open_one(dev, o, i, ctl, &c);
		if (err == 0)
			ret[n++] = &c->t;
	}
	if (err == 0 && n > 0) {
		*ret_n = n;
		return 0;
	}
	ctl->n++; /* the last close must not free it */
	while (n-- > 0)
		cuse_close(ret[n]);
	free(ctl);
	if (err == 0)
		*ret_n = 0;
	return err;
}
