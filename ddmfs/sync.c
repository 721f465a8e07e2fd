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
#include "monitor.h"
#include "pci.h"
#include "perm.h"
#include "proc.h"
#include "rules.h"
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
	const char *why;  /* "reload" or "hotplug", for messages */
	bool start;
	struct sync_result *res;
	size_t text_len, text_cap; /* of res->text */
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
	/* the text grows by doubling: a reload of many nodes stays linear */
	if (s->text_len + (size_t)n + 2 > s->text_cap) {
		size_t cap = 2 * (s->text_len + (size_t)n + 2);

		text = realloc(s->res->text, cap);
		if (text == NULL) {
			free(line);
			return;
		}
		s->res->text = text;
		s->text_cap = cap;
	}
	memcpy(s->res->text + s->text_len, line, (size_t)n);
	s->text_len += (size_t)n;
	s->res->text[s->text_len++] = '\n';
	s->res->text[s->text_len] = '\0';
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
	cf.nodes = calloc(cd->n_nodes, sizeof(*cf.nodes));
	if (cf.driver == NULL || cf.io == NULL || cf.args == NULL ||
	    cf.nodes == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if ((cf.args[i] = strdup(cd->args[i])) == NULL)
			goto nomem;
	memcpy(cf.ports, cd->ports, sizeof(cf.ports));
	cf.n_ports = cd->n_ports;
	cf.run_uid = cd->run_uid;
	cf.run_gid = cd->run_gid;
	for (unsigned int i = 0; i < cd->n_nodes; i++, cf.n_nodes++)
		if (asprintf(&cf.nodes[i], "%s%s%s", cd->nodes[i].name,
		             cd->nodes[i].kind[0] ? ":" : "",
		             cd->nodes[i].kind) < 0)
			goto nomem;
	cf.manual = cd->manual != 0;
	snprintf(cf.pci, sizeof(cf.pci), "%s", cd->pci);
	snprintf(cf.unbind, sizeof(cf.unbind), "%s", cd->unbind);
	*ret = cf;
	return 0;
nomem:
	drv_conf_free(&cf);
	return -ENOMEM;
}

/*
 * Sets n's defaults (the conf's mode, owner and group, then the rules and
 * the parent's default ACL) and refreshes its attributes; notes a change.
 */
static void
defaults(struct sync *s, struct node *n, mode_t mode, uid_t uid, gid_t gid,
         bool fresh)
{
	struct acl a = tree_acl(n->acl), d = tree_acl(n->dacl), a2, d2;
	struct rules_out o;
	mode_t m = n->mode;
	uid_t u = n->uid;
	gid_t g = n->gid;

	rules_apply(n->ino == FUSE_ROOT_ID ? NULL : s->c, n->path, n->is_dir,
	            mode, uid, gid, n->is_dir ? NULL : n->parent->dacl, &o);
	n->def_mode = o.mode;
	n->def_uid = o.uid;
	n->def_gid = o.gid;
	if (tree_set_acl(&n->def_acl, &o.acl) < 0 ||
	    tree_set_acl(&n->def_dacl, &o.dacl) < 0)
		s->err = -ENOMEM;
	tree_refresh(dfs.perms, n);
	a2 = tree_acl(n->acl);
	d2 = tree_acl(n->dacl);
	if (!fresh && (m != n->mode || u != n->uid || g != n->gid ||
	               !acl_equal(&a, &a2) || !acl_equal(&d, &d2))) {
		clock_gettime(CLOCK_REALTIME, &n->ctime);
		note(s, NOTE_INODE, n);
	}
}

/*
 * Removes instance d and its leaves: its driver stops for good, its files
 * get ENODEV.
 */
static void
remove_instance(struct sync *s, struct drv *d)
{
	pthread_mutex_lock(&d->lock);
	drv_remove(d, &s->out);
	/* no process holds what it took: give it back now (else at exit) */
	if (d->proc.pid == 0)
		proc_give_back(d);
	pthread_mutex_unlock(&d->lock);
	for (unsigned int i = 0; i < d->n_nodes; i++) {
		struct node *n = d->nodes[i];

		if (n == NULL)
			continue;
		pthread_mutex_lock(&d->lock);
		d->nodes[i] = NULL;
		pthread_mutex_unlock(&d->lock);
		note(s, NOTE_DELETE, n);
		say(s, "%s: %s removed", s->why, n->path);
		monitor_emit("remove", n->path, NULL, "%s", s->why);
		s->res->removed++;
		tree_remove(n);
	}
}

static void
remove_bus(struct sync *s, struct node *bus)
{
	while (bus->n_kids > 0) {
		struct node *n = bus->kids[bus->n_kids - 1];

		if (n->drv != NULL) {
			remove_instance(s, n->drv);
		} else {
			note(s, NOTE_DELETE, n);
			tree_remove(n);
		}
	}
	note(s, NOTE_DELETE, bus);
	say(s, "%s: %s removed", s->why, bus->path);
	monitor_emit("remove", bus->path, NULL, "%s", s->why);
	tree_remove(bus);
}

/* The instance at path on bus, found through its leaves, or NULL. */
static struct drv *
find_instance(const struct node *bus, const char *path)
{
	for (unsigned int k = 0; k < bus->n_kids; k++) {
		struct drv *d = bus->kids[k]->drv;

		if (d != NULL && strcmp(d->path, path) == 0)
			return d;
	}
	return NULL;
}

/* A new instance for cd on bus, with its leaves. */
static void
add_instance(struct sync *s, struct node *bus, const struct conf_device *cd,
             struct drv_conf *cf)
{
	char path[NODE_PATH_MAX];
	struct drv *d;

	snprintf(path, sizeof(path), "%s/%s", bus->name, cd->name);
	if (drv_new_at(path, cf, &d) < 0) {
		drv_conf_free(cf);
		s->err = -ENOMEM;
		return;
	}
	for (unsigned int i = 0; i < cd->n_nodes; i++) {
		const struct conf_node *cn = &cd->nodes[i];
		struct node *n = tree_add(bus, cn->name, false);

		if (n == NULL) {
			s->err = -ENOMEM;
			continue; /* the instance serves the others */
		}
		drv_set_node(d, i, n);
		defaults(s, n, cn->mode, cn->uid, cn->gid, true);
		if (dfs.cuse) {
			n->cuse = true;
			if (dfs.cdevs != NULL)
				cdev_store_get(dfs.cdevs, n->path, &n->rdev_maj,
				               &n->rdev_min);
		}
		note(s, NOTE_ENTRY, n);
		s->res->added++;
		if (s->start) {
			say(s, "%s: %s added", s->why, n->path);
			monitor_emit("add", n->path, NULL, "%s", s->why);
		}
	}
	d->n_nodes = cd->n_nodes;
	if (s->start) {
		pthread_mutex_lock(&d->lock);
		drv_start(d, &s->out);
		pthread_mutex_unlock(&d->lock);
	}
}

/* Instance d stays: new defaults, and a restart if its driver changed. */
static void
keep_instance(struct sync *s, struct drv *d, const struct conf_device *cd,
              struct drv_conf *cf)
{
	for (unsigned int i = 0; i < cd->n_nodes; i++)
		if (d->nodes[i] != NULL)
			defaults(s, d->nodes[i], cd->nodes[i].mode,
			         cd->nodes[i].uid, cd->nodes[i].gid, false);
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
			    d->path);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* The entry of cb that instance d stands for, with the same nodes. */
static const struct conf_device *
entry_of(const struct conf_bus *cb, const struct drv *d)
{
	const char *name = strchr(d->path, '/') + 1;

	for (unsigned int i = 0; i < cb->n_devices; i++) {
		const struct conf_device *cd = &cb->devices[i];

		if (strcmp(cd->name, name) != 0 || cd->n_nodes != d->n_nodes)
			continue;
		for (unsigned int j = 0; j < cd->n_nodes; j++)
			if (d->nodes[j] == NULL ||
			    strcmp(d->nodes[j]->name, cd->nodes[j].name) != 0)
				return NULL;
		return cd;
	}
	return NULL;
}

static void
sync_bus(struct sync *s, const struct conf_bus *cb)
{
	struct node *bus = tree_child(tree_root(), cb->name);
	bool fresh = bus == NULL;
	unsigned int k;

	if (fresh) {
		bus = tree_add(tree_root(), cb->name, true);
		if (bus == NULL) {
			s->err = -ENOMEM;
			return;
		}
		note(s, NOTE_ENTRY, bus);
	}
	defaults(s, bus, cb->mode, cb->uid, cb->gid, fresh);
	/* instances the conf no longer has, or whose nodes changed */
	for (k = bus->n_kids; k-- > 0;) {
		struct node *n = bus->kids[k];

		if (n->drv != NULL && entry_of(cb, n->drv) == NULL) {
			remove_instance(s, n->drv);
			k = bus->n_kids; /* several leaves went */
		}
	}
	for (unsigned int i = 0; i < cb->n_devices; i++) {
		const struct conf_device *cd = &cb->devices[i];
		char path[NODE_PATH_MAX];
		struct drv_conf cf;
		struct drv *d;
		int r = drv_conf_of(cd, s->dirs, &cf);

		snprintf(path, sizeof(path), "%s/%s", cb->name, cd->name);
		d = find_instance(bus, path);
		if (r == -ENOENT) {
			say(s,
			    "%s:%u: driver \"%s\" not found in %s; device "
			    "%s left out",
			    s->c->file, cd->line, cd->driver, s->dirs, path);
			s->res->left_out++;
			if (d != NULL)
				remove_instance(s, d);
			continue;
		}
		if (r < 0) {
			s->err = r;
			continue;
		}
		if (d == NULL)
			add_instance(s, bus, cd, &cf);
		else
			keep_instance(s, d, cd, &cf);
	}
}

/*
 * The bus pci0 as the PCI functions the rules of c match make it: one
 * entry per function, with one node, borrowing the rules' strings.
 */
static void
sync_pci(struct sync *s, const struct conf *c)
{
	static char mmio[] = "mmio";
	struct conf_bus pb = { .name = CONF_PCI_BUS, .mode = 0755 };
	struct conf_node *nodes;
	struct pci_match *m = NULL;
	size_t n = 0;

	if (pci_discover(c, dfs.state_fd, &m, &n) < 0) {
		s->err = -ENOMEM;
		return;
	}
	pb.devices = calloc(n ? n : 1, sizeof(*pb.devices));
	nodes = calloc(n ? n : 1, sizeof(*nodes));
	if (pb.devices == NULL || nodes == NULL) {
		free(pb.devices);
		free(nodes);
		free(m);
		s->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct conf_pci_rule *r = m[i].rule;
		struct conf_device *cd = &pb.devices[i];

		cd->nodes = &nodes[i];
		snprintf(cd->name, sizeof(cd->name), "%s", m[i].name);
		cd->driver = r->driver;
		cd->io = mmio;
		cd->mode = r->mode;
		cd->uid = r->uid;
		cd->gid = r->gid;
		cd->run_uid = r->run_uid;
		cd->run_gid = r->run_gid;
		cd->args = r->args;
		cd->nodes[0] = (struct conf_node){ .mode = r->mode,
			                           .uid = r->uid,
			                           .gid = r->gid,
			                           .line = r->line };
		snprintf(cd->nodes[0].name, sizeof(cd->nodes[0].name), "%s",
		         m[i].name);
		cd->n_nodes = 1;
		cd->line = r->line;
		snprintf(cd->pci, sizeof(cd->pci), "%s", m[i].fn.addr);
	}
	pb.n_devices = (unsigned int)n;
	sync_bus(s, &pb);
	free(nodes);
	free(pb.devices);
	free(m);
}

/*
 * Tells the kernel what changed (no lock held).  A directory whose
 * children came or went is invalidated itself too: the kernel caches its
 * listing (FOPEN_CACHE_DIR), and an entry or delete notice only drops
 * that listing when the name is in its dentry cache, which a leaf that
 * was only ever listed is not.
 */
static void
tell_kernel(const struct sync *s)
{
	fuse_ino_t dir = 0;

	/* before the mount the kernel has nothing cached */
	if (dfs.se == NULL || dfs.mountpoint == NULL ||
	    fuse_session_fd(dfs.se) < 0)
		return;
	for (size_t i = 0; i < s->n_notes; i++) {
		const struct note *n = &s->notes[i];

		/* a directory's notes come together: once per run of them */
		if (n->what != NOTE_INODE && n->parent != dir) {
			if (dir != 0)
				fuse_lowlevel_notify_inval_inode(dfs.se, dir, 0,
				                                 0);
			dir = n->parent;
		}
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
	if (dir != 0)
		fuse_lowlevel_notify_inval_inode(dfs.se, dir, 0, 0);
}

/* Ends sync s once the tree lock is dropped: what its changes left to do
 * (failed requests, the kernel's caches), then its memory. */
static int
sync_end(struct sync *s, char *dirs)
{
	fwd_finish(&s->out);
	tell_kernel(s);
	free(s->notes);
	free(dirs);
	return s->err;
}

int
sync_conf(struct conf *c, bool start, struct sync_result *ret)
{
	struct sync s = { .c = c, .start = start, .res = ret, .why = "reload" };
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
	proc_records_hold(true);
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
		if (c->has_pci && strcmp(bus->name, CONF_PCI_BUS) == 0)
			keep = true;
		if (!keep)
			remove_bus(&s, bus);
	}
	for (unsigned int b = 0; b < c->n_buses; b++)
		sync_bus(&s, &c->buses[b]);
	if (c->has_pci)
		sync_pci(&s, c);
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
	proc_records_hold(false);
	return sync_end(&s, dirs);
}

int
sync_pci_rescan(struct sync_result *ret)
{
	struct sync s = { .start = true, .res = ret, .why = "hotplug" };
	char *dirs;

	memset(ret, 0, sizeof(*ret));
	pthread_rwlock_wrlock(&dfs.tree_lock);
	if (dfs.conf == NULL || !dfs.conf->has_pci) {
		pthread_rwlock_unlock(&dfs.tree_lock);
		return 0;
	}
	dirs = spawn_search_list(dfs.driver_path, dfs.conf);
	if (dirs == NULL) {
		pthread_rwlock_unlock(&dfs.tree_lock);
		return -ENOMEM;
	}
	s.c = dfs.conf;
	s.dirs = dirs;
	sync_pci(&s, dfs.conf);
	pthread_rwlock_unlock(&dfs.tree_lock);
	return sync_end(&s, dirs);
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

	proc_records_hold(true);
	pthread_rwlock_rdlock(&dfs.tree_lock);
	drv_each(start_one, &out);
	pthread_rwlock_unlock(&dfs.tree_lock);
	proc_records_hold(false);
	fwd_finish(&out);
}

void
sync_result_free(struct sync_result *r)
{
	free(r->text);
	r->text = NULL;
}
