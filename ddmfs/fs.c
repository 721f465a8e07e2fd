/*
 * fs.c: the FUSE low-level operations of the ddmfs tree (fs.h).
 *
 * Directory and attribute operations are answered here (chmod, chown,
 * chgrp and ACL changes by the saver thread, saver.h); open, read, write,
 * ioctl, poll,
 * flush and release on a leaf go to its driver (fwd.h; the table is in
 * ddmfs.h).  Anything that would change the shape of the tree gets EPERM.
 * A CUSE leaf is a char device: the kernel opens its driver's device
 * itself and sends nothing but attribute requests here.
 *
 * The kernel keeps entries, attributes and listings (FOPEN_CACHE_DIR) for
 * TREE_ATTR_TIMEOUT_S; every change is told to it as it happens.  Listings
 * come with attributes (readdirplus), so "ls -l" looks nothing up.
 *
 * ACLs: with FUSE_CAP_POSIX_ACL and default_permissions the kernel checks
 * every access against the ACL it reads with getxattr, checks a setfacl's
 * caller (owner or CAP_FOWNER) and value, and forgets its cached ACLs and
 * attributes after a setattr or setxattr.  ddmfs stores the ACLs, keeps
 * them in step with the mode, and checks owner and value again.  Other
 * xattrs are not supported (reads) or refused (writes).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "acl.h"
#include "ddmfs.h"
#include "drv.h"
#include "fs.h"
#include "fuseio.h"
#include "fwd.h"
#include "saver.h"
#include "tree.h"

static void
fs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* requests must arrive in memory, where fuseio.c reads them */
	conn->want &= ~(unsigned int)FUSE_CAP_SPLICE_READ;
	/* the kernel enforces ACLs (with default_permissions) */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* always readdirplus: it brings directories' entries along */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned int)FUSE_CAP_READDIRPLUS_AUTO;
	conn->max_write = DDM_PAYLOAD_MAX;
}

static void
fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct node *dir, *k = NULL;
	int err = 0;

	memset(&e, 0, sizeof(e));
	if (strlen(name) > NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	pthread_rwlock_rdlock(&dfs.tree_lock);
	dir = tree_get(parent);
	if (dir == NULL)
		err = ENOENT;
	else if (!dir->is_dir)
		err = ENOTDIR;
	else if ((k = tree_child(dir, name)) == NULL)
		err = ENOENT;
	else {
		e.ino = k->ino;
		e.generation = k->generation;
		tree_stat(k, &dfs.mount_time, &e.attr);
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (err != 0) {
		fuse_reply_err(req, err);
		return;
	}
	e.attr_timeout = TREE_ATTR_TIMEOUT_S;
	e.entry_timeout = TREE_ATTR_TIMEOUT_S;
	fuse_reply_entry(req, &e);
}

static void
fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;
	struct stat st;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n != NULL)
		tree_stat(n, &dfs.mount_time, &st);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, TREE_ATTR_TIMEOUT_S);
}

static void
fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
           struct fuse_file_info *fi)
{
	int owner = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
	struct node *n;
	struct stat st;
	int err = 0;

	if (to_set & owner) {
		saver_setattr(req, ino, to_set & owner, attr);
		return;
	}
	/* size (O_TRUNC) and times are accepted and ignored */
	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n == NULL)
		err = ENOENT;
	else if ((to_set & FUSE_SET_ATTR_SIZE) && n->is_dir)
		err = EISDIR;
	else
		tree_stat(n, &dfs.mount_time, &st);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, TREE_ATTR_TIMEOUT_S);
}

/* A directory's listing is cached by the kernel until told otherwise. */
static void
fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/*
 * Lists directory ino from entry off (its index: ".", "..", then the
 * children in name order), with attributes and entries for the kernel's
 * cache when plus.
 */
static void
list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	size_t used = 0;
	struct node *n;
	char *buf = malloc(size);
	int err = 0;

	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n == NULL || !n->is_dir)
		err = n == NULL ? ENOENT : ENOTDIR;
	for (off_t i = off < 0 ? 0 : off; err == 0 && i < (off_t)n->n_kids + 2;
	     i++) {
		struct fuse_entry_param e = { 0 };
		const char *name;
		size_t len;

		if (i < 2) {
			/* the kernel takes no entry for these */
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? n->ino : n->parent->ino;
			e.attr.st_mode = S_IFDIR;
		} else {
			const struct node *k = n->kids[i - 2];

			name = k->name;
			tree_stat(k, &dfs.mount_time, &e.attr);
			/* a directory comes with its entry (no lookup to go
			 * into it); a leaf only with its name and type: an
			 * inode the kernel made for each leaf would cost
			 * "ls -R" more than the lookups "ls -l" saves */
			if (k->is_dir) {
				e.ino = k->ino;
				e.generation = k->generation;
				e.attr_timeout = TREE_ATTR_TIMEOUT_S;
				e.entry_timeout = TREE_ATTR_TIMEOUT_S;
			}
		}
		if (plus)
			len = fuse_add_direntry_plus(
			        req, buf + used, size - used, name, &e, i + 1);
		else
			len = fuse_add_direntry(req, buf + used, size - used,
			                        name, &e.attr, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
           struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, false);
}

static void
fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, true);
}

/*
 * An open of a leaf goes to its driver (fwd.c), or waits for it when it
 * is coming up.  A CUSE leaf is opened by the kernel itself; reaching
 * here means its device is not there.
 */
static void
fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct drv *d = NULL;
	unsigned int index = 0;
	struct node *n;
	int err = 0;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n == NULL)
		err = ENOENT;
	else if (n->is_dir)
		err = EISDIR;
	else if (n->cuse || n->drv == NULL)
		err = ENXIO;
	else {
		d = n->drv;
		index = n->index;
		pthread_mutex_lock(&d->lock);
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (err != 0)
		fuse_reply_err(req, err);
	else
		fwd_open(req, d, index, fi);
}

static void
fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
        struct fuse_file_info *fi)
{
	fwd_read(req, fi, size, off);
}

static void
fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
         off_t off, struct fuse_file_info *fi)
{
	fwd_write(req, fi, buf, size, off);
}

static void
fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
         struct fuse_file_info *fi, unsigned flags, const void *in_buf,
         size_t in_bufsz, size_t out_bufsz)
{
	if (flags & FUSE_IOCTL_DIR) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (in_bufsz > DDM_PAYLOAD_MAX || out_bufsz > DDM_PAYLOAD_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fwd_ioctl(req, fi, cmd, (uintptr_t)arg, in_buf, in_bufsz, out_bufsz);
}

/* Pollers are woken by the kernel's poll handle (fuseio.c), which an
 * upgrade can hand over; libfuse's own handle object is not kept. */
static void
fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
        struct fuse_pollhandle *ph)
{
	uint64_t kh = ph != NULL ? fuseio_poll_kh() : 0;

	if (ph != NULL)
		fuse_pollhandle_destroy(ph);
	fwd_poll(req, fi, kh);
}

static void
fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fwd_flush(req, fi);
}

static void
fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fwd_release(req, fi);
}

static void
fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;

	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_namemax = NAME_MAX;
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

/* 1 for the access ACL, 0 for the default ACL, -1 for another name. */
static int
acl_kind(const char *name)
{
	if (strcmp(name, ACL_XATTR_ACCESS) == 0)
		return 1;
	return strcmp(name, ACL_XATTR_DEFAULT) == 0 ? 0 : -1;
}

/* Answers an xattr value: its size (size 0), ERANGE, or the bytes. */
static void
reply_value(fuse_req_t req, const void *buf, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

static void
fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char buf[8 + 8 * ACL_ENTRIES_MAX];
	int kind = acl_kind(name), len = 0, err = 0;
	struct node *n;

	if (kind < 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n == NULL) {
		err = ENOENT;
	} else {
		struct acl a = tree_acl(kind ? n->acl : n->dacl);

		if (a.n == 0 || (!kind && !n->is_dir))
			err = ENODATA;
		else {
			if (kind)
				acl_sync_mode(&a, n->mode);
			len = acl_to_xattr(&a, buf, sizeof(buf));
		}
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (err != 0)
		fuse_reply_err(req, err);
	else
		reply_value(req, buf, (size_t)len, size);
}

static void
fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char buf[sizeof(ACL_XATTR_ACCESS) + sizeof(ACL_XATTR_DEFAULT)];
	size_t len = 0;
	struct node *n;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_get(ino);
	if (n != NULL && n->acl != NULL) {
		memcpy(buf, ACL_XATTR_ACCESS, sizeof(ACL_XATTR_ACCESS));
		len += sizeof(ACL_XATTR_ACCESS);
	}
	if (n != NULL && n->is_dir && n->dacl != NULL) {
		memcpy(buf + len, ACL_XATTR_DEFAULT, sizeof(ACL_XATTR_DEFAULT));
		len += sizeof(ACL_XATTR_DEFAULT);
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		reply_value(req, buf, len, size);
}

/* An ACL's new value goes to the saver once it is known to be good. */
static void
fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
            size_t size, int flags)
{
	int kind = acl_kind(name);
	struct acl a;

	if (kind < 0) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (acl_from_xattr(value, size, &a) < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	saver_setacl(req, ino, kind == 1, &a);
}

static void
fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int kind = acl_kind(name);

	if (kind < 0)
		fuse_reply_err(req, EPERM);
	else
		saver_setacl(req, ino, kind == 1, NULL);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
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
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
};
