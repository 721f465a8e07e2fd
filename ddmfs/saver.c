/*
 * saver.c: chmod/chown/chgrp, setfacl and reset, saved off the hot path
 * (saver.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddmfs.h"
#include "log.h"
#include "monitor.h"
#include "perm.h"
#include "saver.h"
#include "tree.h"

#define GROUPS_MAX 256 /* supplementary groups looked at */

enum change_kind {
	CHANGE_ATTR,  /* chmod, chown, chgrp */
	CHANGE_ACL,   /* setxattr/removexattr of an ACL */
	CHANGE_RESET, /* ddmctl reset: the entry goes */
};

struct change {
	struct change *next;
	enum change_kind kind;
	fuse_req_t req; /* CHANGE_RESET: NULL, waited for instead */
	fuse_ino_t ino;
	int to_set;
	bool access;  /* CHANGE_ACL: the access ACL, else the default one */
	bool has_acl; /* CHANGE_ACL: set acl, else remove */
	struct acl acl;
	bool done; /* CHANGE_RESET: answered */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct cred who;
	gid_t groups[GROUPS_MAX];
	/* filled by the saver */
	int err;
	bool had_entry; /* the store had an entry before: old_* */
	struct perm_entry old;
	struct change *undo_next;
	char key[NODE_PATH_MAX];
	struct stat st;
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct change *q_head, **q_tail = &q_head;
static bool q_quit;
static pthread_t thread;
static bool started;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static void
queue(struct change *c)
{
	pthread_mutex_lock(&q_lock);
	*q_tail = c;
	q_tail = &c->next;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

/* A change by req's caller of node ino, or NULL (ENOMEM answered). */
static struct change *
new_change(fuse_req_t req, fuse_ino_t ino, enum change_kind kind)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct change *c = calloc(1, sizeof(*c));
	int n;

	if (c == NULL) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	c->kind = kind;
	c->req = req;
	c->ino = ino;
	n = fuse_req_getgroups(req, GROUPS_MAX, c->groups);
	c->who = (struct cred){ ctx->uid, ctx->gid, c->groups,
		                n < 0 ? 0 : (n > GROUPS_MAX ? GROUPS_MAX : n) };
	return c;
}

void
saver_setattr(fuse_req_t req, fuse_ino_t ino, int to_set,
              const struct stat *attr)
{
	struct change *c = new_change(req, ino, CHANGE_ATTR);

	if (c == NULL)
		return;
	c->to_set = to_set;
	c->mode = attr->st_mode;
	c->uid = attr->st_uid;
	c->gid = attr->st_gid;
	queue(c);
}

void
saver_setacl(fuse_req_t req, fuse_ino_t ino, bool access, const struct acl *acl)
{
	struct change *c = new_change(req, ino, CHANGE_ACL);

	if (c == NULL)
		return;
	c->access = access;
	c->has_acl = acl != NULL;
	if (acl != NULL)
		c->acl = *acl;
	queue(c);
}

int
saver_reset(const char *path)
{
	struct change *c = calloc(1, sizeof(*c));
	struct node *n;
	int r;

	if (c == NULL)
		return -ENOMEM;
	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_find(path);
	if (n != NULL)
		c->ino = n->ino;
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (n == NULL) {
		free(c);
		return -ENOENT;
	}
	c->kind = CHANGE_RESET;
	pthread_mutex_lock(&q_lock);
	if (!started) {
		pthread_mutex_unlock(&q_lock);
		free(c);
		return -ESHUTDOWN;
	}
	*q_tail = c;
	q_tail = &c->next;
	pthread_cond_signal(&q_cond);
	while (!c->done)
		pthread_cond_wait(&done_cond, &q_lock);
	pthread_mutex_unlock(&q_lock);
	r = c->err;
	free(c);
	return r;
}

/* Applies c to the store (tree lock held): 0, or c->err set. */
static void
apply(struct change *c)
{
	struct node *n = tree_get(c->ino);
	const struct perm_entry *e;
	struct perm_entry v;

	if (n == NULL) {
		c->err = -ENOENT;
		return;
	}
	snprintf(c->key, sizeof(c->key), "%s", tree_key(n));
	e = perm_store_get(dfs.perms, c->key);
	c->had_entry = e != NULL;
	if (e != NULL) {
		c->old = *e;
		c->old.path = NULL;
	}
	if (c->kind == CHANGE_RESET) {
		c->err = e != NULL ? perm_store_remove(dfs.perms, c->key) : 0;
		return;
	}
	/* the current values: an earlier change of this batch counts */
	if (e != NULL)
		v = c->old;
	else
		v = (struct perm_entry){
			NULL,   n->mode,          n->uid,
			n->gid, tree_acl(n->acl), tree_acl(n->dacl)
		};
	if (c->kind == CHANGE_ACL)
		c->err = acl_change(&c->who, n->is_dir, &v, c->access,
		                    c->has_acl ? &c->acl : NULL);
	else
		c->err = attr_change(&c->who, &v.mode, &v.uid, &v.gid,
		                     c->to_set, c->mode, c->uid, c->gid);
	if (c->err < 0)
		return;
	c->err = perm_store_put(dfs.perms, c->key, &v);
}

/* Undoes c in the store (tree lock held), exactly: a node that had no
 * entry follows the conf's defaults again. */
static void
undo(struct change *c)
{
	if (c->had_entry)
		perm_store_put(dfs.perms, c->key, &c->old);
	else
		perm_store_remove(dfs.perms, c->key);
}

/* Tells monitors about the applied change c (c->st is the result). */
static void
emit_perm(const struct change *c)
{
	char extra[64];
	unsigned int mode = c->st.st_mode & 07777;

	snprintf(extra, sizeof(extra), "mode=%04o\tuid=%u\tgid=%u", mode,
	         (unsigned int)c->st.st_uid, (unsigned int)c->st.st_gid);
	monitor_emit("perm", c->key, extra, "mode %04o owner %u group %u",
	             mode, (unsigned int)c->st.st_uid,
	             (unsigned int)c->st.st_gid);
}

/* Saves one batch of changes and answers each. */
static void
save_batch(struct change *batch)
{
	struct change *c, *undo_list = NULL;
	char *buf = NULL;
	size_t len = 0;
	bool any = false;
	int r = 0;

	pthread_rwlock_wrlock(&dfs.tree_lock);
	for (c = batch; c != NULL; c = c->next) {
		apply(c);
		any |= c->err == 0;
	}
	if (any)
		r = perm_store_format(dfs.perms, &buf, &len);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (any && r == 0)
		r = perm_store_write(dfs.perms, buf, len);
	free(buf);
	pthread_rwlock_wrlock(&dfs.tree_lock);
	if (r < 0) {
		logmsg("saving permissions: %s", strerror(-r));
		/* undo in reverse order, so each entry gets its first value */
		for (c = batch; c != NULL; c = c->next)
			if (c->err == 0) {
				c->err = r;
				c->undo_next = undo_list;
				undo_list = c;
			}
		while (undo_list != NULL) {
			c = undo_list;
			undo_list = c->undo_next;
			undo(c);
		}
	}
	for (c = batch; c != NULL; c = c->next) {
		struct node *n = tree_get(c->ino);

		if (n == NULL)
			continue;
		if (c->err == 0) {
			tree_refresh(dfs.perms, n);
			clock_gettime(CLOCK_REALTIME, &n->ctime);
			if (c->kind == CHANGE_RESET)
				c->ino = n->ino;
		} else if (r < 0) {
			tree_refresh(dfs.perms, n);
		}
		tree_stat(n, &dfs.mount_time, &c->st);
		if (c->err == 0)
			emit_perm(c);
	}
	pthread_rwlock_unlock(&dfs.tree_lock);
	while (batch != NULL) {
		c = batch;
		batch = c->next;
		if (c->kind == CHANGE_RESET) {
			/* the kernel forgets the attributes and ACLs it has */
			if (c->err == 0 && dfs.se != NULL)
				fuse_lowlevel_notify_inval_inode(dfs.se, c->ino,
				                                 0, 0);
			pthread_mutex_lock(&q_lock);
			c->done = true;
			pthread_cond_broadcast(&done_cond);
			pthread_mutex_unlock(&q_lock);
			continue; /* saver_reset() frees it */
		}
		if (c->err < 0)
			fuse_reply_err(c->req, -c->err);
		else if (c->kind == CHANGE_ACL)
			fuse_reply_err(c->req, 0);
		else
			fuse_reply_attr(c->req, &c->st, TREE_ATTR_TIMEOUT_S);
		free(c);
	}
}

static void *
loop(void *arg)
{
	for (;;) {
		struct change *batch;

		pthread_mutex_lock(&q_lock);
		while (q_head == NULL && !q_quit)
			pthread_cond_wait(&q_cond, &q_lock);
		batch = q_head;
		q_head = NULL;
		q_tail = &q_head;
		pthread_mutex_unlock(&q_lock);
		if (batch == NULL)
			return NULL; /* quit, and nothing left */
		save_batch(batch);
	}
}

int
saver_start(void)
{
	int r;

	q_quit = false;
	r = pthread_create(&thread, NULL, loop, NULL);
	if (r != 0)
		return -r;
	pthread_mutex_lock(&q_lock);
	started = true;
	pthread_mutex_unlock(&q_lock);
	return 0;
}

void
saver_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&q_lock);
	q_quit = true;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&q_lock);
	started = false;
	pthread_mutex_unlock(&q_lock);
}
