/*
 * sync.c: the tree and its drivers made to match a conf (sync.h).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cusedev.h"
#include "ddmfs.h"
#include "drv.h"
#include "fwd.h"
#include "log.h"
#include "perm.h"
#include "proc.h"
#include "spawn.h"
#include "sync.h"
#include "tree.h"

/* A notification for the kernel, sent once the tree lock is dropped. */
struct note {
	enum { NOTE_ENTRY, NOTE_DELETE, NOTE_INODE } what;
	fuse_ino_t parent, ino;
	char name[CONF_NAME_MAX + 1];
};

struct sync {
	const struct conf *c;
	const char *dirs; /* the driver search list */
	bool start;
	struct sync_result *res;
	struct note *notes;
	size_t n_notes, cap_notes;
	struct drv_out out;
	int err;
};

static void __attribute__((format(printf, 2, 3)))
say(struct sync *s, const char *fmt, ...)
{
	char *line, *text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	logmsg("%s", line);
	if (asprintf(&text, "%s%s\n", s->res->text ? s->res->text : "", line) >=
	    0) {
		free(s->res->text);
		s->res->text = text;
	}
	free(line);
}

static void
note(struct sync *s, int what, const struct node *n)
{
	if (s->n_notes == s->cap_notes) {
		size_t cap = s->cap_notes ? 2 * s->cap_notes : 16;
		struct note *p = reallocarray(s->notes, cap, sizeof(*p));

		if (p == NULL)
			return; /* the kernel's caches time out anyway */
		s->notes = p;
		s->cap_notes = cap;
	}
	s->notes[s->n_notes] = (struct note){ .what = what,
		                              .parent = n->parent->ino,
		                              .ino = n->ino };
	snprintf(s->notes[s->n_notes].name, sizeof(s->notes->name), "%s",
	         n->name);
	s->n_notes++;
}

/* How cd's driver is started: 0, or -ENOENT (no binary) or -ENOMEM. */
static int
drv_conf_of(const struct conf_device *cd, const char *dirs,
            struct drv_conf *ret)
{
	struct drv_conf cf = { 0 };
	size_t n = 0;

	if (spawn_lookup(cd->driver, dirs, &cf.exe) < 0)
		return -ENOENT;
	while (cd->args[n] != NULL)
		n++;
	cf.driver = strdup(cd->driver);
	cf.io = strdup(cd->io);
	cf.args = calloc(n + 1, sizeof(*cf.args));
	if (cf.driver == NULL || cf.io == NULL || cf.args == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if ((cf.args[i] = strdup(cd->args[i])) == NULL)
			goto nomem;
	memcpy(cf.ports, cd->ports, sizeof(cf.ports));
	cf.n_ports = cd->n_ports;
	cf.run_uid = cd->run_uid;
	cf.run_gid = cd->run_gid;
	*ret = cf;
	return 0;
nomem:
	drv_conf_free(&cf);
	return -ENOMEM;
}

/* Sets n's defaults and refreshes its attributes; notes a change. */
static void
defaults(struct sync *s, struct node *n, mode_t mode, uid_t uid, gid_t gid,
         bool fresh)
{
	mode_t m = n->mode;
	uid_t u = n->uid;
	gid_t g = n->gid;

	n->def_mode = mode;
	n->def_uid = uid;
	n->def_gid = gid;
	tree_refresh(dfs.perms, n);
	if (!fresh && (m != n->mode || u != n->uid || g != n->gid)) {
		clock_gettime(CLOCK_REALTIME, &n->ctime);
		note(s, NOTE_INODE, n);
	}
}

/* Removes leaf n: its driver stops for good, its files get ENODEV. */
static void
remove_leaf(struct sync *s, struct node *n)
{
	struct drv *d = n->drv;

	if (d != NULL) {
		pthread_mutex_lock(&d->lock);
		drv_remove(d, &s->out);
		d->node = NULL;
		pthread_mutex_unlock(&d->lock);
	}
	note(s, NOTE_DELETE, n);
	say(s, "reload: %s removed", n->path);
	s->res->removed++;
	tree_remove(n);
}

static void
remove_bus(struct sync *s, struct node *bus)
{
	while (bus->n_kids > 0)
		remove_leaf(s, bus->kids[bus->n_kids - 1]);
	note(s, NOTE_DELETE, bus);
	say(s, "reload: %s removed", bus->path);
	tree_remove(bus);
}

/* A new leaf for cd on bus. */
static void
add_leaf(struct sync *s, struct node *bus, const struct conf_device *cd,
         struct drv_conf *cf)
{
	struct node *n = tree_add(bus, cd->name, false);
	struct drv *d;

	if (n == NULL || drv_new(n, cf, &d) < 0) {
		if (n != NULL)
			tree_remove(n);
		drv_conf_free(cf);
		s->err = -ENOMEM;
		return;
	}
	defaults(s, n, cd->mode, cd->uid, cd->gid, true);
	if (dfs.cuse) {
		n->cuse = true;
		if (dfs.cdevs != NULL)
			cdev_store_get(dfs.cdevs, n->path, &n->rdev_maj,
			               &n->rdev_min);
	}
	if (s->start) {
		pthread_mutex_lock(&d->lock);
		drv_start(d, &s->out);
		pthread_mutex_unlock(&d->lock);
		say(s, "reload: %s added", n->path);
	}
	note(s, NOTE_ENTRY, n);
	s->res->added++;
}

/* Leaf n stays: new defaults, and a restart if its driver changed. */
static void
keep_leaf(struct sync *s, struct node *n, const struct conf_device *cd,
          struct drv_conf *cf)
{
	struct drv *d = n->drv;

	defaults(s, n, cd->mode, cd->uid, cd->gid, false);
	pthread_mutex_lock(&d->lock);
	if (drv_conf_same(&d->cf, cf)) {
		drv_conf_free(cf);
	} else {
		drv_conf_free(&d->cf);
		d->cf = *cf;
		memset(cf, 0, sizeof(*cf));
		if (d->want_up) {
			drv_restart(d, &s->out);
			s->res->restarted++;
			say(s,
			    "reload: %s restarted with its new driver settings",
			    n->path);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void
sync_bus(struct sync *s, const struct conf_bus *cb)
{
	struct node *bus = tree_child(tree_root(), cb->name);
	bool fresh = bus == NULL;

	if (fresh) {
		bus = tree_add(tree_root(), cb->name, true);
		if (bus == NULL) {
			s->err = -ENOMEM;
			return;
		}
		note(s, NOTE_ENTRY, bus);
	}
	defaults(s, bus, cb->mode, cb->uid, cb->gid, fresh);
	/* leaves the conf no longer has, or whose driver is gone */
	for (unsigned int k = bus->n_kids; k-- > 0;) {
		struct node *n = bus->kids[k];
		bool keep = false;

		for (unsigned int i = 0; i < cb->n_devices && !keep; i++)
			keep = strcmp(cb->devices[i].name, n->name) == 0;
		if (!keep)
			remove_leaf(s, n);
	}
	for (unsigned int i = 0; i < cb->n_devices; i++) {
		const struct conf_device *cd = &cb->devices[i];
		struct node *n = tree_child(bus, cd->name);
		struct drv_conf cf;
		int r = drv_conf_of(cd, s->dirs, &cf);

		if (r == -ENOENT) {
			say(s,
			    "%s:%u: driver \"%s\" not found in %s; node "
			    "%s/%s left out",
			    s->c->file, cd->line, cd->driver, s->dirs, cb->name,
			    cd->name);
			s->res->left_out++;
			if (n != NULL)
				remove_leaf(s, n);
			continue;
		}
		if (r < 0) {
			s->err = r;
			continue;
		}
		if (n == NULL)
			add_leaf(s, bus, cd, &cf);
		else
			keep_leaf(s, n, cd, &cf);
	}
}

/* Tells the kernel what changed (no lock held). */
static void
tell_kernel(const struct sync *s)
{
	if (dfs.se == NULL || dfs.mountpoint == NULL)
		return;
	for (size_t i = 0; i < s->n_notes; i++) {
		const struct note *n = &s->notes[i];

		switch (n->what) {
		case NOTE_ENTRY:
			fuse_lowlevel_notify_inval_entry(
			        dfs.se, n->parent, n->name, strlen(n->name));
			break;
		case NOTE_DELETE:
			fuse_lowlevel_notify_delete(dfs.se, n->parent, n->ino,
			                            n->name, strlen(n->name));
			break;
		case NOTE_INODE:
			fuse_lowlevel_notify_inval_inode(dfs.se, n->ino, 0, 0);
			break;
		}
	}
}

int
sync_conf(struct conf *c, bool start, struct sync_result *ret)
{
	struct sync s = { .c = c, .start = start, .res = ret };
	struct node *root;
	int want_cuse = 0;
	char *dirs;

	memset(ret, 0, sizeof(*ret));
	dirs = spawn_search_list(dfs.driver_path, c);
	if (dirs == NULL) {
		conf_free(c);
		return -ENOMEM;
	}
	s.dirs = dirs;
	pthread_rwlock_wrlock(&dfs.tree_lock);
	root = tree_root();
	if (dfs.state_fd >= 0)
		proc_sim(c); /* its users may have changed */
	defaults(&s, root, root->def_mode, 0, 0, false);
	for (unsigned int k = root->n_kids; k-- > 0;) {
		struct node *bus = root->kids[k];
		bool keep = false;

		for (unsigned int b = 0; b < c->n_buses && !keep; b++)
			keep = strcmp(c->buses[b].name, bus->name) == 0;
		if (!keep)
			remove_bus(&s, bus);
	}
	for (unsigned int b = 0; b < c->n_buses; b++)
		sync_bus(&s, &c->buses[b]);
	/* what a restart would choose, against what runs */
	if (c->transport == CONF_TRANSPORT_CUSE)
		want_cuse = 1;
	else
		cdev_choose(c->transport, CDEV_DEV_PATH, &want_cuse);
	if (dfs.conf != NULL && (want_cuse != 0) != dfs.cuse)
		say(&s, "reload: %s: the transport changes when ddmfs restarts",
		    c->file);
	conf_free(dfs.conf);
	dfs.conf = c;
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&s.out);
	tell_kernel(&s);
	free(s.notes);
	free(dirs);
	return s.err;
}

static void
start_one(struct drv *d, void *arg)
{
	struct drv_out *out = arg;

	pthread_mutex_lock(&d->lock);
	if (d->state == DRV_STOPPED && !d->removed && d->proc.pid == 0)
		drv_start(d, out);
	pthread_mutex_unlock(&d->lock);
}

void
sync_start_all(void)
{
	struct drv_out out = { 0 };

	pthread_rwlock_rdlock(&dfs.tree_lock);
	drv_each(start_one, &out);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
}

void
sync_result_free(struct sync_result *r)
{
	free(r->text);
	r->text = NULL;
}
