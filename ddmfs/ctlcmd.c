/*
 * ctlcmd.c: the control socket's commands (ctl_handle(), ctl.h): what
 * each verb does and the records it answers with.  ctl.c owns the socket
 * and its threads.
 *
 * Every record is one line of tab-separated fields; no field holds a
 * tab or a newline (control characters become spaces).  ddmctl turns
 * the records into tables, trees, "key: value" lines or JSON.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ddmfs.h"
#include "drv.h"
#include "fwd.h"
#include "log.h"
#include "pci.h"
#include "saver.h"
#include "sync.h"
#include "tree.h"
#include "vfio.h"

#define CTL_ARGS_MAX 4
#define PW_BUF_SIZE  16384 /* buffer for getpwuid_r and getgrgid_r */
#define OUT_INITIAL  4096  /* a reply's first buffer, grown by doubling */
#define GRANTS_MAX   256   /* "0x70-0x71,0x378-0x37a" or a PCI address */

/* A reply being built: appending is amortised O(1), so a list of 10,000
 * rows costs no more than its size.  s is NULL after ENOMEM. */
struct out {
	char *s;
	size_t len, cap;
};

/* Appends printf output to o; after ENOMEM o->s is NULL for good. */
static void __attribute__((format(printf, 2, 3)))
cat(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->s == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto fail;
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 > o->len + (size_t)n + 1
		                     ? o->cap * 2
		                     : o->len + (size_t)n + 1;
		char *grown = realloc(o->s, cap);

		if (grown == NULL)
			goto fail;
		o->s = grown;
		o->cap = cap;
	}
fail:
	free(o->s);
	o->s = NULL;
}

char *
ctl_field(char *buf, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != '\0'; i++)
		buf[i] =
		        (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * The state ddmctl shows: running, restarting (starting, in backoff, or
 * stopping to start again), dying (killed or hung up, to be restarted),
 * failed, stopped (also while being stopped) or manual.
 */
const char *
ctl_state_name(const struct drv *d)
{
	switch (d->state) {
	case DRV_RUNNING:
		return "running";
	case DRV_STARTING:
	case DRV_BACKOFF:
		return "restarting";
	case DRV_STOPPING:
		return d->want_up && !d->removed ? "restarting" : "stopped";
	case DRV_DYING:
		return "dying";
	case DRV_FAILED:
		return "failed";
	case DRV_MANUAL:
		return "manual";
	default:
		return "stopped";
	}
}

static void
pid_str(const struct drv *d, char *buf, size_t n)
{
	if (d->proc.pid == 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%d", (int)d->proc.pid);
}

/* The instance's conf entry name: "rtc0" for "isa0/rtc0". */
static const char *
instance_name(const struct drv *d)
{
	const char *s = strrchr(d->path, '/');

	return s != NULL ? s + 1 : d->path;
}

/* What d was granted: its port ranges, or its PCI function; "-". */
static void
grants_str(const struct drv *d, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	if (d->cf.pci[0] != '\0')
		snprintf(buf, n, "%s", d->cf.pci);
	for (unsigned int i = 0; i < d->cf.n_ports && off < n; i++) {
		const struct conf_ports *p = &d->cf.ports[i];

		if (p->len == 1)
			off += (size_t)snprintf(buf + off, n - off, "%s0x%x",
			                        off ? "," : "", p->base);
		else
			off += (size_t)snprintf(buf + off, n - off,
			                        "%s0x%x-0x%x", off ? "," : "",
			                        p->base, p->base + p->len - 1);
	}
	if (buf[0] == '\0')
		snprintf(buf, n, "-");
}

/* A user's or group's name, else its number (the reentrant lookups: ctl
 * runs beside the FUSE workers). */
static void
user_name(uid_t uid, char *out, size_t n)
{
	struct passwd pw, *pp = NULL;
	char buf[PW_BUF_SIZE];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) == 0 && pp != NULL)
		ctl_field(out, n, pp->pw_name);
	else
		snprintf(out, n, "%u", (unsigned int)uid);
}

static void
group_name(gid_t gid, char *out, size_t n)
{
	struct group gr, *gp = NULL;
	char buf[PW_BUF_SIZE];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &gp) == 0 && gp != NULL)
		ctl_field(out, n, gp->gr_name);
	else
		snprintf(out, n, "%u", (unsigned int)gid);
}

/* One leaf, copied under the locks and printed after (names are looked
 * up without the tree lock). */
struct row {
	char path[NODE_PATH_MAX];
	char driver[CONF_NAME_MAX + 1];
	char instance[NODE_PATH_MAX];
	const char *state;
	char pid[16];
	unsigned int restarts;
	bool cuse;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	char grants[GRANTS_MAX];
};

struct rows {
	struct row *v;
	size_t n, cap;
	bool nomem;
};

static void
row_of(struct node *n, void *arg)
{
	struct rows *rs = arg;
	struct drv *d = n->drv;
	struct row *r;

	if (n->is_dir || d == NULL)
		return;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 16;
		struct row *v = reallocarray(rs->v, cap, sizeof(*v));

		if (v == NULL) {
			rs->nomem = true;
			return;
		}
		rs->v = v;
		rs->cap = cap;
	}
	r = &rs->v[rs->n++];
	pthread_mutex_lock(&d->lock);
	ctl_field(r->path, sizeof(r->path), n->path);
	ctl_field(r->driver, sizeof(r->driver), d->cf.driver);
	ctl_field(r->instance, sizeof(r->instance), instance_name(d));
	r->state = ctl_state_name(d);
	pid_str(d, r->pid, sizeof(r->pid));
	r->restarts = d->restarts;
	grants_str(d, r->grants, sizeof(r->grants));
	pthread_mutex_unlock(&d->lock);
	r->cuse = n->cuse;
	r->mode = n->mode & 07777;
	r->uid = n->uid;
	r->gid = n->gid;
}

/* Appends a record for a PCI function no rule took (list --all). */
static void
list_unbound(const struct pci_fn *f, void *arg)
{
	cat(arg, "pci\t%s\t%04x:%04x\t%06x\tunbound\n", f->addr, f->vendor,
	    f->device, f->class);
}

/* list [--all]: "node" records, then with --all "pci" records. */
static int
cmd_list(struct out *out, int argc, char **argv)
{
	struct rows rs = { 0 };
	bool all = argc == 1;

	if (argc == 1 && strcmp(argv[0], "--all") != 0) {
		cat(out, "list takes no argument but --all.");
		return -EINVAL;
	}
	pthread_rwlock_rdlock(&dfs.tree_lock);
	tree_walk(row_of, &rs);
	pthread_rwlock_unlock(&dfs.tree_lock);
	for (size_t i = 0; i < rs.n; i++) {
		const struct row *r = &rs.v[i];
		char owner[64], group[64];

		user_name(r->uid, owner, sizeof(owner));
		group_name(r->gid, group, sizeof(group));
		cat(out, "node\t%s\t%s\t%s\t%s\t%s\t%s\t%u\t%04o\t%s\t%s\t%s\n",
		    r->path, r->driver, r->instance, r->cuse ? "cuse" : "fuse",
		    r->state, r->pid, r->restarts, (unsigned int)r->mode, owner,
		    group, r->grants);
	}
	free(rs.v);
	if (rs.nomem)
		return -ENOMEM;
	if (all) {
		pthread_rwlock_rdlock(&dfs.tree_lock);
		pci_each_unbound(list_unbound, out);
		pthread_rwlock_unlock(&dfs.tree_lock);
	}
	return 0;
}

static void
tree_one(struct node *n, void *arg)
{
	char buf[NODE_PATH_MAX];

	if (n->is_dir || n->drv == NULL) {
		cat(arg, "dir\t%s\n", ctl_field(buf, sizeof(buf), n->path));
		return;
	}
	pthread_mutex_lock(&n->drv->lock);
	cat(arg, "leaf\t%s\t%s\t%s\n", ctl_field(buf, sizeof(buf), n->path),
	    ctl_state_name(n->drv), n->drv->cf.driver);
	pthread_mutex_unlock(&n->drv->lock);
}

/* tree: "dir PATH" and "leaf PATH STATE DRIVER" records, parents before
 * their children, siblings by name. */
static int
cmd_tree(struct out *out, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pthread_rwlock_rdlock(&dfs.tree_lock);
	tree_walk(tree_one, out);
	pthread_rwlock_unlock(&dfs.tree_lock);
	return 0;
}

static void
log_line(const char *line, void *arg)
{
	char buf[LOG_LINE_MAX];

	cat(arg, "log\t%s\n", ctl_field(buf, sizeof(buf), line));
}

/* status NODE: "KEY VALUE" records, then one "log LINE" per recent log
 * line of its instance, oldest first. */
static int
cmd_status(struct out *out, int argc, char **argv)
{
	char pid[16], pci[CONF_PCI_ADDR_MAX], name[64];
	struct node *n;
	struct drv *d;
	uid_t uid;
	gid_t gid;
	bool live;

	(void)argc;
	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_find(argv[0]);
	if (n == NULL || n->drv == NULL) {
		pthread_rwlock_unlock(&dfs.tree_lock);
		cat(out, "No node %s.", ctl_field(name, sizeof(name), argv[0]));
		return -ENOENT;
	}
	d = n->drv;
	pthread_mutex_lock(&d->lock);
	pid_str(d, pid, sizeof(pid));
	snprintf(pci, sizeof(pci), "%s", d->cf.pci);
	live = d->proc.pid != 0;
	cat(out, "node\t%s\n", n->path);
	cat(out, "driver\t%s\n", d->cf.driver);
	cat(out, "instance\t%s\n", instance_name(d));
	cat(out, "state\t%s\n", ctl_state_name(d));
	cat(out, "pid\t%s\n", pid);
	cat(out, "restarts\t%u\n", d->restarts);
	cat(out, "transport\t%s\n", n->cuse ? "cuse" : "fuse");
	if (n->cuse)
		cat(out, "rdev\t%u:%u\n", n->rdev_maj, n->rdev_min);
	cat(out, "requests\t%llu\n", (unsigned long long)d->requests);
	cat(out, "errors\t%llu\n", (unsigned long long)d->errors);
	log_ring_each(&d->recent, log_line, out);
	pthread_mutex_unlock(&d->lock);
	uid = n->uid;
	gid = n->gid;
	cat(out, "mode\t%04o\n", (unsigned int)n->mode & 07777);
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (pci[0] != '\0') {
		/* the kernel's count for the live driver's vectors */
		long long k = live ? vfio_irq_count(pci) : -1;

		cat(out, "pci\t%s\n", pci);
		cat(out, "interrupts\t%lld\n", k > 0 ? k : 0);
	}
	user_name(uid, name, sizeof(name));
	cat(out, "owner\t%s\n", name);
	group_name(gid, name, sizeof(name));
	cat(out, "group\t%s\n", name);
	return 0;
}

/* Re-reads the conf and makes the tree follow it (no lock held). */
static int
cmd_reload(struct out *out, int argc, char **argv)
{
	char err[CONF_ERR_MAX];
	struct sync_result res;
	struct conf *c;
	int r;

	(void)argc;
	(void)argv;
	r = conf_load(dfs.conf_file, &c, err, sizeof(err));
	if (r < 0) {
		/* EIO: a bad conf is neither a usage error nor a lost node */
		cat(out, "reload: %s", err);
		return -EIO;
	}
	r = sync_conf(c, true, &res);
	if (res.text != NULL)
		cat(out, "%s", res.text);
	cat(out, "reload: %u added, %u removed, %u restarted\n", res.added,
	    res.removed, res.restarted);
	sync_result_free(&res);
	if (r < 0)
		cat(out, "reload: %s\n", strerror(-r));
	return r;
}

/*
 * Runs start, stop or restart on the leaf at path and waits, a bounded
 * time, for the driver to settle (no lock held).
 */
static int
control(struct out *out, const char *cmd, const char *path)
{
	struct drv_out o = { 0 };
	struct node *n;
	struct drv *d;
	enum drv_state st;
	char name[64];
	bool stop = strcmp(cmd, "stop") == 0;
	int r = 0;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_find(path);
	if (n == NULL || n->drv == NULL) {
		pthread_rwlock_unlock(&dfs.tree_lock);
		cat(out, "No node %s.", ctl_field(name, sizeof(name), path));
		return -ENOENT;
	}
	d = n->drv;
	pthread_mutex_lock(&d->lock);
	if (stop)
		drv_stop(d, &o);
	else if (strcmp(cmd, "restart") == 0)
		drv_restart(d, &o);
	else
		drv_start(d, &o);
	d->pins++; /* d stays while the tree lock is dropped */
	pthread_rwlock_unlock(&dfs.tree_lock);
	drv_wait_settled(d, stop ? DRV_STOP_MS + 1000 : DRV_OPEN_WAIT_MS);
	st = d->state;
	if (st == DRV_MANUAL && !stop) {
		cat(out,
		    "%s waits for a driver started by hand: %s --attach %s\n",
		    d->path, d->cf.driver, d->path);
	} else if (stop ? st != DRV_STOPPED : st != DRV_RUNNING) {
		cat(out, "Could not %s %s: its driver is %s.", cmd, d->path,
		    ctl_state_name(d));
		r = -EIO;
	}
	d->pins--;
	if (d->pins == 0 && d->removed)
		drv_sys->wake(d);
	pthread_mutex_unlock(&d->lock);
	fwd_finish(&o);
	return r;
}

static int
cmd_start(struct out *out, int argc, char **argv)
{
	(void)argc;
	return control(out, "start", argv[0]);
}

static int
cmd_stop(struct out *out, int argc, char **argv)
{
	(void)argc;
	return control(out, "stop", argv[0]);
}

static int
cmd_restart(struct out *out, int argc, char **argv)
{
	(void)argc;
	return control(out, "restart", argv[0]);
}

/* Drops the node's explicit entry: the conf and rules apply again. */
static int
cmd_reset(struct out *out, int argc, char **argv)
{
	char name[64];
	int r;

	(void)argc;
	r = saver_reset(argv[0]);
	if (r == -ENOENT)
		cat(out, "No node %s.", ctl_field(name, sizeof(name), argv[0]));
	else if (r < 0)
		cat(out, "Could not reset %s: %s.",
		    ctl_field(name, sizeof(name), argv[0]), strerror(-r));
	return r;
}

/* The verbs ctl_handle() runs ("upgrade", "monitor" and "attach" need
 * the connection itself: ctl.c serves them). */
static const struct verb {
	const char *name;
	int min_args, max_args;
	bool root_only;
	const char *args; /* for the usage message */
	int (*run)(struct out *out, int argc, char **argv);
} verbs[] = {
	{ "list", 0, 1, false, "[--all]", cmd_list },
	{ "tree", 0, 0, false, "", cmd_tree },
	{ "status", 1, 1, false, "NODE", cmd_status },
	{ "start", 1, 1, true, "NODE", cmd_start },
	{ "stop", 1, 1, true, "NODE", cmd_stop },
	{ "restart", 1, 1, true, "NODE", cmd_restart },
	{ "reload", 0, 0, true, "", cmd_reload },
	{ "reset", 1, 1, true, "NODE", cmd_reset },
};

const char *
ctl_errname(int err)
{
	switch (-err) {
	case ENOENT:
		return "ENOENT";
	case EPERM:
		return "EPERM";
	case EINVAL:
		return "EINVAL";
	case EBUSY:
		return "EBUSY";
	case ENOMEM:
		return "ENOMEM";
	default:
		return "EIO";
	}
}

int
ctl_handle(const char *line, uid_t peer, char **ret_reply)
{
	char *copy = strdup(line), *reply = NULL;
	struct out out = { malloc(OUT_INITIAL), 0, OUT_INITIAL };
	char *argv[CTL_ARGS_MAX + 1], *save = NULL, *w, name[40];
	const struct verb *v = NULL;
	int argc = 0, r;

	if (copy == NULL || out.s == NULL) {
		free(copy);
		free(out.s);
		return -ENOMEM;
	}
	out.s[0] = '\0';
	for (w = strtok_r(copy, " \t\r\n", &save);
	     w != NULL && argc <= CTL_ARGS_MAX;
	     w = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = w;
	for (size_t i = 0; argc > 0 && i < sizeof(verbs) / sizeof(verbs[0]);
	     i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			v = &verbs[i];
	if (v == NULL) {
		cat(&out, "Unknown command \"%s\".",
		    ctl_field(name, sizeof(name), argc > 0 ? argv[0] : ""));
		r = -EINVAL;
	} else if (argc - 1 < v->min_args || argc - 1 > v->max_args) {
		cat(&out, "Usage: %s%s%s.", v->name, v->args[0] ? " " : "",
		    v->args);
		r = -EINVAL;
	} else if (v->root_only && peer != 0) {
		cat(&out, "Permission denied: only root may %s.", v->name);
		r = -EPERM;
	} else {
		r = v->run(&out, argc - 1, argv + 1);
	}
	free(copy);
	if (out.s == NULL)
		return -ENOMEM;
	if (r < 0) {
		/* one line: the sentence's own newlines become spaces */
		for (char *p = out.s; *p != '\0'; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		for (size_t k = out.len; k > 0 && out.s[k - 1] == ' '; k--)
			out.s[k - 1] = '\0';
		if (asprintf(&reply, "ERR %s %s\n", ctl_errname(r), out.s) < 0)
			reply = NULL;
	} else if (asprintf(&reply, "OK\n%s", out.s) < 0) {
		reply = NULL;
	}
	free(out.s);
	if (reply == NULL)
		return -ENOMEM;
	*ret_reply = reply;
	return r;
}
