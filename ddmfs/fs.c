/*
 * fs.c: the FUSE low-level operations of the ddmfs tree.
 *
 * Directory and attribute operations are answered here; open, read,
 * write, ioctl, poll, flush and release on a leaf are forwarded to its
 * driver (see the table in ddmfs.h).  Anything that would change the
 * shape of the tree gets EPERM.  A CUSE leaf is a char device: the kernel
 * opens its driver's device itself and sends nothing but attribute
 * requests here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ddmfs.h"

#define ATTR_TIMEOUT_S 1.0 /* kernel attribute and entry cache */
#define GROUPS_MAX     256 /* supplementary groups we look at */

static void
fs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->max_write = DDM_PAYLOAD_MAX;
}

static void
fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct node *dir, *k;

	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&dfs.lock);
	dir = tree_get(parent);
	k = dir != NULL ? tree_child(dir, name) : NULL;
	if (k != NULL) {
		e.ino = k->ino;
		e.generation = k->generation;
		tree_stat(k, &e.attr);
	}
	pthread_mutex_unlock(&dfs.lock);
	if (dir == NULL || !dir->is_dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (k == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = ATTR_TIMEOUT_S;
	e.entry_timeout = ATTR_TIMEOUT_S;
	fuse_reply_entry(req, &e);
}

static void
fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;
	struct stat st;

	pthread_mutex_lock(&dfs.lock);
	n = tree_get(ino);
	if (n != NULL)
		tree_stat(n, &st);
	pthread_mutex_unlock(&dfs.lock);
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT_S);
}

/* Applies a chmod/chown/chgrp and saves it before answering (lock held). */
static int
change_owner_mode(fuse_req_t req, struct node *n, const struct stat *attr,
                  int to_set)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const struct perm_entry *e;
	gid_t groups[GROUPS_MAX];
	struct cred who = { ctx->uid, ctx->gid, groups, 0 };
	struct perm_entry old = { 0 };
	mode_t m = n->mode;
	uid_t u = n->uid;
	gid_t g = n->gid;
	int r;

	r = fuse_req_getgroups(req, GROUPS_MAX, groups);
	who.n_groups = r < 0 ? 0 : (r > GROUPS_MAX ? GROUPS_MAX : r);
	if (n->ino == FUSE_ROOT_ID)
		return -EPERM;
	r = attr_change(&who, &m, &u, &g, to_set, attr->st_mode, attr->st_uid,
	                attr->st_gid);
	if (r < 0)
		return r;
	e = perm_store_get(dfs.perms, n->path);
	if (e != NULL)
		old = *e;
	r = perm_store_set(dfs.perms, n->path, m, u, g);
	if (r < 0)
		return r;
	r = perm_store_save(dfs.perms);
	if (r < 0) {
		/* undo exactly: a node that had no entry keeps following
		 * the conf's defaults */
		if (old.path != NULL)
			perm_store_set(dfs.perms, n->path, old.mode, old.uid,
			               old.gid);
		else
			perm_store_remove(dfs.perms, n->path);
		logmsg("saving permissions: %s", strerror(-r));
		return r;
	}
	n->mode = m;
	n->uid = u;
	n->gid = g;
	clock_gettime(CLOCK_REALTIME, &n->ctime);
	return 0;
}

static void
fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
           struct fuse_file_info *fi)
{
	int owner = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
	struct node *n;
	struct stat st;
	int r = 0;

	pthread_mutex_lock(&dfs.lock);
	n = tree_get(ino);
	if (n == NULL)
		r = -ENOENT;
	else if ((to_set & FUSE_SET_ATTR_SIZE) && n->is_dir)
		r = -EISDIR;
	else if (to_set & owner)
		r = change_owner_mode(req, n, attr, to_set);
	if (r == 0)
		tree_stat(n, &st);
	pthread_mutex_unlock(&dfs.lock);
	/* size (O_TRUNC) and times are accepted and ignored */
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT_S);
}

static void
fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
           struct fuse_file_info *fi)
{
	struct node *n = tree_get(ino);
	size_t used = 0;
	char *buf;

	if (n == NULL || !n->is_dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size);
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&dfs.lock);
	for (off_t i = off; i < (off_t)n->n_kids + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		size_t len;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? n->ino : n->parent;
			st.st_mode = S_IFDIR;
		} else {
			struct node *k = tree_get(n->kids[i - 2]);

			name = k->name;
			tree_stat(k, &st);
		}
		len = fuse_add_direntry(req, buf + used, size - used, name, &st,
		                        i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	pthread_mutex_unlock(&dfs.lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/*
 * Forwards an open to a running driver.  For a driver coming up (starting,
 * in backoff, restarting) the open is queued instead: the event thread
 * forwards it at HELLO, or answers EIO after DRV_OPEN_WAIT_MS, so no
 * worker waits.  A stopped or failed driver gives ENXIO at once.
 */
static void
fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = tree_get(ino);
	struct handle *h;
	struct pend *p = NULL;
	struct ddm_msg m;
	struct drv *d;
	int r = 0, ready;

	if (n == NULL || n->is_dir) {
		fuse_reply_err(req, n == NULL ? ENOENT : EISDIR);
		return;
	}
	if (n->cuse) {
		/* the kernel opens a char device itself; its driver reads no
		 * requests from the socket */
		fuse_reply_err(req, ENXIO);
		return;
	}
	d = n->drv;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&dfs.lock);
	ready = d->state == DRV_RUNNING && d->chan != NULL;
	if (!ready && d->state != DRV_STARTING && d->state != DRV_BACKOFF &&
	    !(d->state == DRV_STOPPING && d->restart_now))
		r = -ENXIO;
	if (r == 0) {
		p = pend_new(d, req, DDM_OPEN);
		r = p == NULL ? -ENOMEM : 0;
	}
	if (r < 0) {
		pthread_mutex_unlock(&dfs.lock);
		free(h);
		fuse_reply_err(req, -r);
		return;
	}
	h->fh = ++dfs.next_fh;
	h->drv = d;
	h->gen = d->gen;
	p->h = h;
	p->fi = *fi;
	if (!ready) {
		fwd_open_later(d, p);
		return;
	}
	fwd_open_msg(p, &m);
	fwd_request(d, p, &m, NULL, 0);
}

/*
 * Starts forwarding op on open file fi: returns a pending request with
 * dfs.lock held, or NULL (lock released) after answering gone_err (-EIO,
 * or 0 for flush) for a handle whose driver instance is gone.
 */
static struct pend *
begin_or(fuse_req_t req, struct fuse_file_info *fi, enum ddm_op op,
         struct ddm_msg *m, int gone_err)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pend *p = NULL;
	int err = gone_err;

	pthread_mutex_lock(&dfs.lock);
	if (h->gen == h->drv->gen && h->drv->chan != NULL) {
		p = pend_new(h->drv, req, op);
		err = -ENOMEM;
	}
	if (p == NULL) {
		pthread_mutex_unlock(&dfs.lock);
		fuse_reply_err(req, -err);
		return NULL;
	}
	p->h = h;
	ddm_msg_init(m, op, 0, h->fh);
	m->uid = ctx->uid;
	m->gid = ctx->gid;
	m->pid = (uint32_t)ctx->pid;
	return p;
}

static struct pend *
begin(fuse_req_t req, struct fuse_file_info *fi, enum ddm_op op,
      struct ddm_msg *m)
{
	return begin_or(req, fi, op, m, -EIO);
}

static void
fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
        struct fuse_file_info *fi)
{
	struct ddm_msg m;
	struct pend *p = begin(req, fi, DDM_READ, &m);

	if (p == NULL)
		return;
	p->size = size < DDM_PAYLOAD_MAX ? size : DDM_PAYLOAD_MAX;
	m.arg1 = p->size;
	fwd_request(p->drv, p, &m, NULL, 0);
}

static void
fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
         off_t off, struct fuse_file_info *fi)
{
	struct ddm_msg m;
	struct pend *p = begin(req, fi, DDM_WRITE, &m);

	if (p == NULL)
		return;
	p->size = size < DDM_PAYLOAD_MAX ? size : DDM_PAYLOAD_MAX;
	fwd_request(p->drv, p, &m, buf, p->size);
}

static void
fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
         struct fuse_file_info *fi, unsigned flags, const void *in_buf,
         size_t in_bufsz, size_t out_bufsz)
{
	struct ddm_msg m;
	struct pend *p;

	if (flags & FUSE_IOCTL_DIR) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (in_bufsz > DDM_PAYLOAD_MAX || out_bufsz > DDM_PAYLOAD_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	p = begin(req, fi, DDM_IOCTL, &m);
	if (p == NULL)
		return;
	p->size = out_bufsz;
	m.arg0 = cmd;
	m.arg1 = (uintptr_t)arg;
	m.arg2 = out_bufsz;
	fwd_request(p->drv, p, &m, in_buf, in_bufsz);
}

static void
fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
        struct fuse_pollhandle *ph)
{
	struct ddm_msg m;
	struct pend *p = begin(req, fi, DDM_POLL, &m);

	if (p == NULL) {
		if (ph != NULL)
			fuse_pollhandle_destroy(ph);
		return;
	}
	if (ph != NULL) {
		if (p->h->ph != NULL)
			fuse_pollhandle_destroy(p->h->ph);
		p->h->ph = ph;
	}
	m.arg0 = fi->poll_events;
	m.arg1 = ph != NULL;
	fwd_request(p->drv, p, &m, NULL, 0);
}

static void
fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ddm_msg m;
	/* close(2) of a handle from before a driver crash succeeds: there
	 * is nothing left to flush, and its reads already said EIO. */
	struct pend *p = begin_or(req, fi, DDM_FLUSH, &m, 0);

	if (p != NULL)
		fwd_request(p->drv, p, &m, NULL, 0);
}

static void
fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct drv *d = h->drv;
	uint64_t fh = h->fh, gen = h->gen;

	pthread_mutex_lock(&dfs.lock);
	handle_unlink(h);
	pthread_mutex_unlock(&dfs.lock);
	fwd_release(d, fh, gen);
	fuse_reply_err(req, 0);
}

static void
fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;

	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_namemax = CONF_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

static void
deny_entry(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
             const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
            fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
            struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
              const char *value, size_t size, int flags)
{
	fuse_reply_err(req, EPERM);
}

static void
deny_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.ioctl = fs_ioctl,
	.poll = fs_poll,
	.flush = fs_flush,
	.release = fs_release,
	.statfs = fs_statfs,
	.mknod = deny_mknod,
	.mkdir = deny_mkdir,
	.unlink = deny_entry,
	.rmdir = deny_entry,
	.symlink = deny_symlink,
	.rename = deny_rename,
	.link = deny_link,
	.create = deny_create,
	.setxattr = deny_setxattr,
	.removexattr = deny_removexattr,
};
