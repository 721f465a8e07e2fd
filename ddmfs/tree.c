/*
 * tree.c: the node tree ddmfs serves (root -> buses -> devices), node
 * attributes from the conf and the permission store, and the POSIX rules
 * for chmod, chown and chgrp.
 *
 * The tree is built once at startup and never changes shape; only the
 * attributes of its nodes change (under dfs.lock).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ddmfs.h"

#define ROOT_MODE 0755

/* Counts the nodes: the root, the buses, the devices kept. */
static size_t
count(const struct conf *c, char *const *paths)
{
	size_t n = 1 + c->n_buses, k = 0;

	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++)
			if (paths[k++] != NULL)
				n++;
	return n;
}

/*
 * Builds the tree for conf c: paths[k] is the driver of the k-th device in
 * conf order, NULL for a device left out.  Attributes come from ps where it
 * has the node, else from c.
 */
int
tree_build(const struct conf *c, const struct perm_store *ps,
           char *const *paths, struct node **ret_nodes, size_t *ret_n)
{
	struct node *nodes, *root;
	size_t n = count(c, paths), next = 1, k = 0;

	nodes = calloc(n, sizeof(*nodes));
	if (nodes == NULL)
		return -ENOMEM;
	root = &nodes[0];
	root->ino = FUSE_ROOT_ID;
	root->parent = FUSE_ROOT_ID;
	root->is_dir = 1;
	root->bus = root->dev = -1;
	root->mode = ROOT_MODE;
	root->kids = calloc(c->n_buses + 1, sizeof(*root->kids));
	if (root->kids == NULL)
		goto free_nodes;
	for (unsigned int b = 0; b < c->n_buses; b++) {
		const struct conf_bus *cb = &c->buses[b];
		struct node *bus = &nodes[next++];

		bus->ino = next;
		bus->parent = FUSE_ROOT_ID;
		bus->is_dir = 1;
		bus->bus = (int)b;
		bus->dev = -1;
		snprintf(bus->name, sizeof(bus->name), "%s", cb->name);
		snprintf(bus->path, sizeof(bus->path), "%s", cb->name);
		root->kids[root->n_kids++] = bus->ino;
		bus->kids = calloc(cb->n_devices + 1, sizeof(*bus->kids));
		if (bus->kids == NULL)
			goto free_nodes;
		for (unsigned int i = 0; i < cb->n_devices; i++) {
			struct node *leaf;

			if (paths[k++] == NULL)
				continue;
			leaf = &nodes[next++];
			leaf->ino = next;
			leaf->parent = bus->ino;
			leaf->bus = (int)b;
			leaf->dev = (int)i;
			snprintf(leaf->name, sizeof(leaf->name), "%s",
			         cb->devices[i].name);
			snprintf(leaf->path, sizeof(leaf->path), "%s/%s",
			         cb->name, cb->devices[i].name);
			bus->kids[bus->n_kids++] = leaf->ino;
		}
	}
	for (size_t i = 0; i < n; i++) {
		clock_gettime(CLOCK_REALTIME, &nodes[i].ctime);
		if (i > 0)
			tree_refresh(c, ps, &nodes[i]);
	}
	*ret_nodes = nodes;
	*ret_n = n;
	return 0;

free_nodes:
	tree_free(nodes, n);
	return -ENOMEM;
}

void
tree_free(struct node *nodes, size_t n)
{
	if (nodes == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(nodes[i].kids);
	free(nodes);
}

/* Sets n's mode, owner and group from ps if it has n, else from c. */
void
tree_refresh(const struct conf *c, const struct perm_store *ps, struct node *n)
{
	const struct perm_entry *e = perm_store_get(ps, n->path);
	const struct conf_bus *cb;

	if (n->bus < 0)
		return;
	if (e != NULL) {
		n->mode = e->mode & 07777;
		n->uid = e->uid;
		n->gid = e->gid;
		return;
	}
	cb = &c->buses[n->bus];
	if (n->dev < 0) {
		n->mode = cb->mode & 07777;
		n->uid = cb->uid;
		n->gid = cb->gid;
	} else {
		n->mode = cb->devices[n->dev].mode & 07777;
		n->uid = cb->devices[n->dev].uid;
		n->gid = cb->devices[n->dev].gid;
	}
}

/* Whether conf b names the same buses and devices in the same order as a. */
int
tree_same_shape(const struct conf *a, const struct conf *b)
{
	if (a->n_buses != b->n_buses)
		return 0;
	for (unsigned int i = 0; i < a->n_buses; i++) {
		const struct conf_bus *x = &a->buses[i], *y = &b->buses[i];

		if (strcmp(x->name, y->name) != 0 ||
		    x->n_devices != y->n_devices)
			return 0;
		for (unsigned int j = 0; j < x->n_devices; j++)
			if (strcmp(x->devices[j].name, y->devices[j].name) != 0)
				return 0;
	}
	return 1;
}

struct node *
tree_get(fuse_ino_t ino)
{
	if (ino < 1 || ino > dfs.n_nodes)
		return NULL;
	return &dfs.nodes[ino - 1];
}

struct node *
tree_child(const struct node *dir, const char *name)
{
	if (!dir->is_dir)
		return NULL;
	for (unsigned int i = 0; i < dir->n_kids; i++) {
		struct node *k = tree_get(dir->kids[i]);

		if (strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

/* The node at "bus" or "bus/dev", or NULL. */
struct node *
tree_find(const char *path)
{
	for (size_t i = 1; i < dfs.n_nodes; i++)
		if (strcmp(dfs.nodes[i].path, path) == 0)
			return &dfs.nodes[i];
	return NULL;
}

/*
 * The attributes of n.  A CUSE leaf is S_IFCHR with its driver's device
 * numbers as rdev (0:0 until its first driver came up); a FUSE leaf is a
 * regular file.
 */
void
tree_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	if (n->is_dir)
		st->st_mode = S_IFDIR | n->mode;
	else if (n->cuse)
		st->st_mode = S_IFCHR | n->mode;
	else
		st->st_mode = S_IFREG | n->mode;
	if (n->cuse)
		st->st_rdev = makedev(n->rdev_maj, n->rdev_min);
	st->st_nlink = n->is_dir ? 2 : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = 0;
	st->st_blksize = 4096;
	st->st_atim = dfs.mount_time;
	st->st_mtim = dfs.mount_time;
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

/*
 * Applies a chmod/chown/chgrp by who (FUSE_SET_ATTR_MODE/UID/GID in
 * to_set) to *mode, *uid, *gid as POSIX says: root may do anything; the
 * owner may chmod and chgrp to a group it is in; anyone else gets -EPERM.
 * A non-root chmod setting S_ISGID for a group the caller is not in drops
 * S_ISGID.  Returns 0 or -EPERM; nothing changes on failure.
 */
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
