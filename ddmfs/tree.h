/*
 * tree.h: the tree ddmfs serves (root -> buses -> leaves), the attributes
 * of its nodes, and the POSIX rules for chmod, chown and chgrp.
 *
 * The tree changes while mounted (reload, and later hotplug): nodes are
 * added and removed one by one.  An inode number is never reused, so a
 * kernel that still knows a removed node's number gets ENOENT for it.  A
 * directory keeps its children sorted by name.  dfs.tree_lock (a rwlock,
 * ddmfs.h) guards the tree and every node's fields.
 */
#ifndef DDMFS_TREE_H
#define DDMFS_TREE_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "acl.h"
#include "conf.h"

#define NODE_PATH_MAX (2 * CONF_NAME_MAX + 2)
#define ROOT_KEY      "/" /* the root's key in the permission store */
/*
 * The kernel caches entries, attributes and directory listings this long:
 * whatever changes one tells it at once (fuse_lowlevel_notify_inval_entry,
 * _inval_inode, _delete: sync.c, saver.c, ev.c), so this is only a bound.
 */
#define TREE_ATTR_TIMEOUT_S 86400.0

struct drv;

struct node {
	fuse_ino_t ino;
	struct node *parent; /* the root is its own parent */
	char name[CONF_NAME_MAX + 1];
	char path[NODE_PATH_MAX]; /* "isa0", "isa0/rtc0"; "" for the root */
	bool is_dir;
	struct node **kids; /* sorted by name */
	unsigned int n_kids, cap_kids;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	/* ACLs are allocated only where a node has one (NULL: none) */
	struct acl *acl;  /* access ACL, in step with mode */
	struct acl *dacl; /* default ACL of a directory */
	mode_t def_mode;  /* the conf's defaults (with the rules and the */
	uid_t def_uid;    /* parent's default ACL), used where the */
	gid_t def_gid;    /* permission store has no entry */
	struct acl *def_acl;
	struct acl *def_dacl;
	struct timespec ctime;
	struct drv *drv;       /* a leaf's driver instance */
	unsigned int index;    /* which of its nodes (DDM_OPEN.arg1) */
	bool seekable;         /* its driver says it has file offsets */
	uint64_t size;         /* st_size, as its driver says */
	bool cuse;             /* a char device served over CUSE */
	unsigned int rdev_maj; /* its CUSE device; 0:0 not known yet */
	unsigned int rdev_min;
	bool rdev_seen;      /* the numbers were seen in this run */
	uint64_t generation; /* bumped when the rdev changes */
};

struct cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
};

struct perm_store;
struct perm_entry;

/* Makes the root (ino FUSE_ROOT_ID): 0 or -ENOMEM. */
int tree_init(void);
/* Frees every node. */
void tree_free(void);
/*
 * Adds a child named name to dir with the next inode number, ctime now:
 * the new node, or NULL (ENOMEM, or dir has such a child).
 */
struct node *tree_add(struct node *dir, const char *name, bool is_dir);
/*
 * Adds a node with inode number ino (from an upgrade; later inode numbers
 * come after it): the new node, or NULL.
 */
struct node *tree_add_ino(struct node *dir, const char *name, bool is_dir,
                          fuse_ino_t ino);
/* Takes n (no children left) out of the tree and frees it. */
void tree_remove(struct node *n);

struct node *tree_root(void);
struct node *tree_get(fuse_ino_t ino);
struct node *tree_child(const struct node *dir, const char *name);
/* The node at "bus" or "bus/dev" (ROOT_KEY: the root), or NULL. */
struct node *tree_find(const char *path);
/* The next inode number tree_add() would give. */
fuse_ino_t tree_next_ino(void);
/* Makes tree_add() give ino or later (an upgrade: no number is reused). */
void tree_set_next_ino(fuse_ino_t ino);
/* Calls fn on every node below the root, depth first, in name order. */
void tree_walk(void (*fn)(struct node *n, void *arg), void *arg);

/* The attributes of n as stat(2) shows them. */
void tree_stat(const struct node *n, const struct timespec *mount_time,
               struct stat *st);
/* Sets n's mode, owner, group and ACLs from ps if it has n, else the
 * defaults. */
void tree_refresh(const struct perm_store *ps, struct node *n);
/* The key of n in the permission store. */
const char *tree_key(const struct node *n);
/*
 * Makes *slot (a node's ACL) a copy of a: NULL (freed) when a is NULL or
 * empty.  0, or -ENOMEM with *slot as it was.
 */
int tree_set_acl(struct acl **slot, const struct acl *a);

/* The ACL a node's field a points at, by value (n 0 for NULL). */
static inline struct acl
tree_acl(const struct acl *a)
{
	struct acl v = { 0 };

	if (a != NULL)
		v = *a;
	return v;
}

/*
 * Applies a chmod/chown/chgrp by who (FUSE_SET_ATTR_MODE/UID/GID in
 * to_set) to *mode, *uid, *gid as POSIX says: root may do anything; the
 * owner may chmod and chgrp to a group it is in; anyone else gets -EPERM.
 * A non-root chmod setting S_ISGID for a group the caller is not in drops
 * S_ISGID.  Returns 0 or -EPERM; nothing changes on failure.
 */
int attr_change(const struct cred *who, mode_t *mode, uid_t *uid, gid_t *gid,
                int to_set, mode_t new_mode, uid_t new_uid, gid_t new_gid);

/*
 * Applies a setfacl by who to *val: acl of type ACL_XATTR_ACCESS or
 * ACL_XATTR_DEFAULT (is_dir), NULL to remove it.  Only root or the owner
 * may (-EPERM); a default ACL is for directories only (-EACCES).  An
 * access ACL sets the mode's triples (owner, mask or group, other); a
 * minimal one is the mode alone.  As the kernel does, a non-root caller
 * outside the group loses S_ISGID.  Nothing changes on failure.
 */
int acl_change(const struct cred *who, bool is_dir, struct perm_entry *val,
               bool access, const struct acl *acl);

#endif /* DDMFS_TREE_H */
