/*
 * tree.c: the node tree, node attributes from the conf and the permission
 * store, and the POSIX rules for chmod, chown and chgrp (tree.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "perm.h"
#include "tree.h"

#define ROOT_MODE 0755

static struct node **inos; /* inos[ino]: the node, NULL once removed */
static size_t cap_inos;
static fuse_ino_t next_ino = FUSE_ROOT_ID;

static struct node *
new_node(fuse_ino_t ino)
{
	struct node *n;

	if (ino >= cap_inos) {
		size_t cap = cap_inos ? cap_inos : 64;
		struct node **p;

		while (cap <= ino)
			cap *= 2;
		p = reallocarray(inos, cap, sizeof(*inos));
		if (p == NULL)
			return NULL;
		memset(p + cap_inos, 0, (cap - cap_inos) * sizeof(*p));
		inos = p;
		cap_inos = cap;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->ino = ino;
	clock_gettime(CLOCK_REALTIME, &n->ctime);
	inos[ino] = n;
	if (ino >= next_ino)
		next_ino = ino + 1;
	return n;
}

int
tree_init(void)
{
	struct node *root = new_node(FUSE_ROOT_ID);

	if (root == NULL)
		return -ENOMEM;
	root->parent = root;
	root->is_dir = true;
	root->mode = root->def_mode = ROOT_MODE;
	return 0;
}

static void
free_node(struct node *n)
{
	for (unsigned int i = 0; i < n->n_kids; i++)
		free_node(n->kids[i]);
	inos[n->ino] = NULL;
	free(n->kids);
	free(n->acl);
	free(n->dacl);
	free(n->def_acl);
	free(n->def_dacl);
	free(n);
}

void
tree_free(void)
{
	if (cap_inos > FUSE_ROOT_ID && inos[FUSE_ROOT_ID] != NULL)
		free_node(inos[FUSE_ROOT_ID]);
	free(inos);
	inos = NULL;
	cap_inos = 0;
	next_ino = FUSE_ROOT_ID;
}

/* Where name is, or would go, in dir's sorted kids; *found if there. */
static unsigned int
kid_index(const struct node *dir, const char *name, bool *found)
{
	unsigned int lo = 0, hi = dir->n_kids;

	*found = false;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int c = strcmp(dir->kids[mid]->name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct node *
tree_add_ino(struct node *dir, const char *name, bool is_dir, fuse_ino_t ino)
{
	struct node *n;
	unsigned int at;
	bool found;

	if (!dir->is_dir || strlen(name) > CONF_NAME_MAX ||
	    (ino < cap_inos && inos[ino] != NULL))
		return NULL;
	at = kid_index(dir, name, &found);
	if (found)
		return NULL;
	if (dir->n_kids == dir->cap_kids) {
		unsigned int cap = dir->cap_kids ? 2 * dir->cap_kids : 8;
		struct node **k = reallocarray(dir->kids, cap, sizeof(*k));

		if (k == NULL)
			return NULL;
		dir->kids = k;
		dir->cap_kids = cap;
	}
	if (strlen(dir->path) + 1 + strlen(name) >= NODE_PATH_MAX)
		return NULL;
	n = new_node(ino);
	if (n == NULL)
		return NULL;
	n->parent = dir;
	n->is_dir = is_dir;
	memcpy(n->name, name, strlen(name) + 1);
	if (dir->ino == FUSE_ROOT_ID)
		memcpy(n->path, name, strlen(name) + 1);
	else
		sprintf(n->path, "%s/%s", dir->path, name);
	memmove(dir->kids + at + 1, dir->kids + at,
	        (dir->n_kids - at) * sizeof(*dir->kids));
	dir->kids[at] = n;
	dir->n_kids++;
	return n;
}

struct node *
tree_add(struct node *dir, const char *name, bool is_dir)
{
	return tree_add_ino(dir, name, is_dir, next_ino);
}

void
tree_remove(struct node *n)
{
	struct node *dir = n->parent;
	unsigned int at;
	bool found;

	if (n->ino == FUSE_ROOT_ID || n->n_kids > 0)
		return;
	at = kid_index(dir, n->name, &found);
	if (found) {
		memmove(dir->kids + at, dir->kids + at + 1,
		        (dir->n_kids - at - 1) * sizeof(*dir->kids));
		dir->n_kids--;
	}
	free_node(n);
}

struct node *
tree_root(void)
{
	return tree_get(FUSE_ROOT_ID);
}

struct node *
tree_get(fuse_ino_t ino)
{
	return ino < cap_inos ? inos[ino] : NULL;
}

struct node *
tree_child(const struct node *dir, const char *name)
{
	bool found;
	unsigned int at;

	if (!dir->is_dir)
		return NULL;
	at = kid_index(dir, name, &found);
	return found ? dir->kids[at] : NULL;
}

struct node *
tree_find(const char *path)
{
	struct node *n = tree_root();
	char part[CONF_NAME_MAX + 1];

	if (n == NULL || strcmp(path, ROOT_KEY) == 0)
		return n;
	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, "/");

		if (len == 0 || len > CONF_NAME_MAX)
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		n = tree_child(n, part);
		path += len;
		if (*path == '/' && *++path == '\0')
			return NULL;
	}
	return n == tree_root() ? NULL : n;
}

fuse_ino_t
tree_next_ino(void)
{
	return next_ino;
}

void
tree_set_next_ino(fuse_ino_t ino)
{
	if (ino > next_ino)
		next_ino = ino;
}

static void
walk(struct node *dir, void (*fn)(struct node *n, void *arg), void *arg)
{
	for (unsigned int i = 0; i < dir->n_kids; i++) {
		struct node *k = dir->kids[i];

		fn(k, arg);
		if (k->is_dir)
			walk(k, fn, arg);
	}
}

void
tree_walk(void (*fn)(struct node *n, void *arg), void *arg)
{
	if (tree_root() != NULL)
		walk(tree_root(), fn, arg);
}

const char *
tree_key(const struct node *n)
{
	return n->ino == FUSE_ROOT_ID ? ROOT_KEY : n->path;
}

int
tree_set_acl(struct acl **slot, const struct acl *a)
{
	if (a == NULL || a->n == 0) {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	if (*slot == NULL && (*slot = malloc(sizeof(**slot))) == NULL)
		return -ENOMEM;
	if (*slot != a)
		**slot = *a;
	return 0;
}

void
tree_refresh(const struct perm_store *ps, struct node *n)
{
	const struct perm_entry *e =
	        ps ? perm_store_get(ps, tree_key(n)) : NULL;
	int r;

	if (e != NULL) {
		n->mode = e->mode & 07777;
		n->uid = e->uid;
		n->gid = e->gid;
		r = tree_set_acl(&n->acl, &e->acl);
		if (tree_set_acl(&n->dacl, &e->dacl) < 0)
			r = -ENOMEM;
	} else {
		n->mode = n->def_mode & 07777;
		n->uid = n->def_uid;
		n->gid = n->def_gid;
		r = tree_set_acl(&n->acl, n->def_acl);
		if (tree_set_acl(&n->dacl, n->def_dacl) < 0)
			r = -ENOMEM;
	}
	/* out of memory: an ACL that should be there but cannot be says
	 * nobody but the owner and root, rather than more than it should */
	if (r < 0)
		n->mode &= ~(mode_t)077;
	if (n->acl != NULL)
		acl_sync_mode(n->acl, n->mode);
	if (!n->is_dir)
		tree_set_acl(&n->dacl, NULL);
}

/*
 * A CUSE leaf is S_IFCHR with its driver's device numbers as rdev (0:0
 * until its first driver came up); a FUSE leaf is a regular file.
 */
void
tree_stat(const struct node *n, const struct timespec *mount_time,
          struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	if (n->is_dir)
		st->st_mode = S_IFDIR | n->mode;
	else if (n->cuse)
		st->st_mode = S_IFCHR | n->mode;
	else
		st->st_mode = S_IFREG | n->mode;
	if (!n->is_dir && !n->cuse)
		st->st_size = (off_t)n->size;
	if (n->cuse)
		st->st_rdev = makedev(n->rdev_maj, n->rdev_min);
	st->st_nlink = n->is_dir ? 2 : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_blksize = 4096;
	st->st_atim = *mount_time;
	st->st_mtim = *mount_time;
	st->st_ctim = n->ctime;
}

static int
in_group(const struct cred *who, gid_t g)
{
	if (who->gid == g)
		return 1;
	for (int i = 0; i < who->n_groups; i++)
		if (who->groups[i] == g)
			return 1;
	return 0;
}

int
attr_change(const struct cred *who, mode_t *mode, uid_t *uid, gid_t *gid,
            int to_set, mode_t new_mode, uid_t new_uid, gid_t new_gid)
{
	int root = who->uid == 0, owner = who->uid == *uid;
	mode_t m = *mode;
	uid_t u = *uid;
	gid_t g = *gid;

	if (to_set & FUSE_SET_ATTR_UID) {
		if (!root && (new_uid != *uid || !owner))
			return -EPERM;
		u = new_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		if (!root &&
		    (!owner || (new_gid != *gid && !in_group(who, new_gid))))
			return -EPERM;
		g = new_gid;
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		if (!root && !owner)
			return -EPERM;
		m = new_mode & 07777;
		if (!root && (m & S_ISGID) && !in_group(who, g))
			m &= ~(mode_t)S_ISGID;
	}
	*mode = m;
	*uid = u;
	*gid = g;
	return 0;
}

int
acl_change(const struct cred *who, bool is_dir, struct perm_entry *val,
           bool access, const struct acl *acl)
{
	struct acl a = { 0 };
	mode_t m = val->mode;

	if (who->uid != 0 && who->uid != val->uid)
		return -EPERM;
	if (!access && !is_dir)
		return acl != NULL ? -EACCES : 0;
	if (acl != NULL) {
		a = *acl;
		if (acl_check(&a) < 0)
			return -EINVAL;
	}
	if (!access) {
		val->dacl = a;
		return 0;
	}
	if (a.n != 0) {
		m = acl_mode(&a, m);
		if (who->uid != 0 && !in_group(who, val->gid))
			m &= ~(mode_t)S_ISGID;
		if (acl_is_minimal(&a))
			a.n = 0;
	}
	val->mode = m;
	val->acl = a;
	return 0;
}
