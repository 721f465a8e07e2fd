/*
 * saver.c: chmod/chown/chgrp, saved off the hot path (saver.h).
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

struct change {
	struct change *next;
	fuse_req_t req;
	fuse_ino_t ino;
	int to_set;
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

void
saver_setattr(fuse_req_t req, fuse_ino_t ino, int to_set,
              const struct stat *attr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct change *c = calloc(1, sizeof(*c));
	int n;

	if (c == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	c->req = req;
	c->ino = ino;
	c->to_set = to_set;
	c->mode = attr->st_mode;
	c->uid = attr->st_uid;
	c->gid = attr->st_gid;
	n = fuse_req_getgroups(req, GROUPS_MAX, c->groups);
	c->who = (struct cred){ ctx->uid, ctx->gid, c->groups,
		                n < 0 ? 0 : (n > GROUPS_MAX ? GROUPS_MAX : n) };
	pthread_mutex_lock(&q_lock);
	*q_tail = c;
	q_tail = &c->next;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

/* Applies c to the store (tree lock held): 0, or c->err set. */
static void
apply(struct change *c)
{
	struct node *n = tree_get(c->ino);
	const struct perm_entry *e;
	mode_t m;
	uid_t u;
	gid_t g;

	if (n == NULL) {
		c->err = -ENOENT;
		return;
	}
	snprintf(c->key, sizeof(c->key), "%s", tree_key(n));
	e = perm_store_get(dfs.perms, c->key);
	/* the current values: an earlier change of this batch counts */
	m = e != NULL ? e->mode : n->mode;
	u = e != NULL ? e->uid : n->uid;
	g = e != NULL ? e->gid : n->gid;
	c->err = attr_change(&c->who, &m, &u, &g, c->to_set, c->mode, c->uid,
	                     c->gid);
	if (c->err < 0)
		return;
	c->had_entry = e != NULL;
	if (e != NULL)
		c->old = (struct perm_entry){ NULL, e->mode, e->uid, e->gid };
	c->err = perm_store_set(dfs.perms, c->key, m, u, g);
}

/* Undoes c in the store (tree lock held), exactly: a node that had no
 * entry follows the conf's defaults again. */
static void
undo(struct change *c)
{
	if (c->had_entry)
		perm_store_set(dfs.perms, c->key, c->old.mode, c->old.uid,
		               c->old.gid);
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
		if (c->err < 0)
			fuse_reply_err(c->req, -c->err);
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
	started = true;
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
	started = false;
}
