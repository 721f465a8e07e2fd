/*
 * upgrade.c: ddmctl upgrade (upgrade.h).
 *
 * The state is a sequence of native-endian fields in a memfd: the same
 * machine writes and reads it, and UPGRADE_FORMAT names its layout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "ctl.h"
#include "cusedev.h"
#include "ddmfs.h"
#include "drv.h"
#include "ev.h"
#include "fuseio.h"
#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "saver.h"
#include "tree.h"
#include "upgrade.h"

#define MAGIC         0x444d5550u /* "PUMD" */
#define CHECK_WAIT_MS 5000        /* the new binary answers --upgrade-check */
#define FDS_MAX       4096        /* fds handed over at most */

/* ---- writing ---------------------------------------------------------- */

struct wbuf {
	char *p;
	size_t len, cap;
	bool err;
	int *fds; /* fds to keep across exec */
	size_t n_fds;
};

static void
put(struct wbuf *b, const void *v, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->err = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

#define PUT(b, v) put(b, &(v), sizeof(v))

static void
put_str(struct wbuf *b, const char *s)
{
	uint32_t n = s != NULL ? (uint32_t)strlen(s) + 1 : 0;

	PUT(b, n);
	if (n > 0)
		put(b, s, n);
}

/* An fd to keep: its number goes in the state. */
static void
put_fd(struct wbuf *b, int fd)
{
	int32_t v = fd;

	PUT(b, v);
	if (fd < 0 || b->err)
		return;
	if (b->n_fds == FDS_MAX) {
		b->err = true;
		return;
	}
	b->fds[b->n_fds++] = fd;
}

static void
put_node(struct node *n, void *arg)
{
	struct wbuf *b = arg;
	uint64_t ino = n->ino, parent = n->parent->ino;
	uint8_t dir = n->is_dir, cuse = n->cuse, seen = n->rdev_seen;
	uint8_t seekable = n->seekable;
	struct acl def_acl = tree_acl(n->def_acl);
	struct acl def_dacl = tree_acl(n->def_dacl);

	PUT(b, ino);
	PUT(b, parent);
	put_str(b, n->name);
	PUT(b, dir);
	PUT(b, n->def_mode);
	PUT(b, n->def_uid);
	PUT(b, n->def_gid);
	PUT(b, def_acl);
	PUT(b, def_dacl);
	PUT(b, n->ctime);
	PUT(b, cuse);
	PUT(b, n->rdev_maj);
	PUT(b, n->rdev_min);
	PUT(b, seen);
	PUT(b, n->generation);
	PUT(b, seekable);
	PUT(b, n->size);
}

static void
count_node(struct node *n, void *arg)
{
	(*(uint64_t *)arg)++;
}

static void
put_packet(const void *data, size_t len, void *arg)
{
	uint32_t n = (uint32_t)len;

	PUT((struct wbuf *)arg, n);
	put(arg, data, len);
}

static void
put_drv(struct wbuf *b, struct drv *d)
{
	struct idmap_entry *cur = NULL, *e;
	uint64_t ino, n;
	uint8_t want = d->want_up, removed = d->removed, adopting = d->adopting;
	uint8_t manual = d->cf.manual;
	size_t pos = 0, i;

	PUT(b, d->slot);
	put_str(b, d->path);
	PUT(b, d->n_nodes);
	for (i = 0; i < d->n_nodes; i++) {
		ino = d->nodes[i] != NULL ? d->nodes[i]->ino : 0;
		PUT(b, ino);
	}
	PUT(b, d->cf.n_nodes);
	for (i = 0; i < d->cf.n_nodes; i++)
		put_str(b, d->cf.nodes[i]);
	PUT(b, manual);
	put_str(b, d->cf.pci);
	put_str(b, d->cf.driver);
	put_str(b, d->cf.exe);
	put_str(b, d->cf.io);
	put_str(b, d->cf.unbind);
	PUT(b, d->cf.n_ports);
	put(b, d->cf.ports, sizeof(d->cf.ports));
	PUT(b, d->cf.run_uid);
	PUT(b, d->cf.run_gid);
	for (n = 0; d->cf.args[n] != NULL; n++)
		;
	PUT(b, n);
	for (i = 0; i < n; i++)
		put_str(b, d->cf.args[i]);
	PUT(b, d->state);
	PUT(b, want);
	PUT(b, removed);
	PUT(b, adopting);
	PUT(b, d->proc.pid);
	put_fd(b, d->proc.pid != 0 ? d->proc.pidfd : -1);
	PUT(b, d->proc.start_time);
	put_fd(b, d->chan != NULL ? d->chan->fd : -1);
	/* the running driver's PCI function: the kernel's unplug request */
	put_fd(b, d->proc.pid != 0 ? ev_req_fd(d) : -1);
	PUT(b, d->gen);
	PUT(b, d->fails);
	PUT(b, d->restarts);
	PUT(b, d->requests);
	PUT(b, d->started_ms);
	PUT(b, d->up_ms);
	PUT(b, d->timer);
	PUT(b, d->timer_at);
	PUT(b, d->heard_ms);
	PUT(b, d->ping_id);
	PUT(b, d->ping_ms);
	n = d->handles.map.n;
	PUT(b, n);
	while ((e = idmap_next(&d->handles.map, &pos, &cur)) != NULL) {
		struct handle *h = (struct handle *)e;

		PUT(b, h->e.id);
		PUT(b, h->gen);
		PUT(b, h->kh);
		PUT(b, h->flags);
	}
	n = d->pend.map.n;
	PUT(b, n);
	pos = 0;
	cur = NULL;
	while ((e = idmap_next(&d->pend.map, &pos, &cur)) != NULL) {
		struct pend *p = (struct pend *)e;

		PUT(b, p->e.id);
		PUT(b, p->unique);
		PUT(b, p->op);
		PUT(b, p->state);
		PUT(b, p->fh);
		PUT(b, p->size);
		PUT(b, p->flags);
		PUT(b, p->node);
		PUT(b, p->uid);
		PUT(b, p->gid);
		PUT(b, p->pid);
		PUT(b, p->due);
		PUT(b, p->intr_at);
	}
	n = d->chan != NULL ? d->chan->q_len : 0;
	PUT(b, n);
	if (d->chan != NULL)
		chan_queue_each(d->chan, put_packet, b);
}

static void
count_drv(struct drv *d, void *arg)
{
	(*(uint64_t *)arg)++;
}

static void
each_drv(struct drv *d, void *arg)
{
	put_drv(arg, d);
}

/* Writes the whole state (nothing runs but this thread). */
static void
put_state(struct wbuf *b, int client_fd)
{
	uint32_t magic = MAGIC, format = UPGRADE_FORMAT;
	uint8_t flags[4] = { dfs.cuse, dfs.foreground, dfs.debug,
		             log_uses_syslog() };
	unsigned char init[FUSEIO_INIT_MAX];
	uint64_t n = 0, init_len, ino = tree_next_ino(), seq = id_last();

	PUT(b, magic);
	PUT(b, format);
	put_str(b, dfs.conf_file);
	put_str(b, dfs.state_dir);
	put_str(b, dfs.mountpoint);
	put_str(b, dfs.driver_path);
	put(b, flags, sizeof(flags));
	PUT(b, dfs.mount_time);
	PUT(b, dfs.nofile);
	put_fd(b, fuse_session_fd(dfs.se));
	put_fd(b, dfs.state_fd);
	put_fd(b, dfs.lock_fd);
	put_fd(b, dfs.mnt_lock_fd);
	put_fd(b, dfs.sim_fd);
	put_fd(b, ctl_fd());
	put_fd(b, client_fd);
	init_len = fuseio_init_args(init, sizeof(init));
	PUT(b, init_len);
	put(b, init, init_len);
	PUT(b, ino);
	PUT(b, seq);
	tree_walk(count_node, &n);
	PUT(b, n);
	tree_walk(put_node, b);
	n = 0;
	drv_each(count_drv, &n);
	PUT(b, n);
	drv_each(each_drv, b);
}

/* ---- reading ---------------------------------------------------------- */

struct rbuf {
	const char *p;
	size_t len, off;
	bool err;
};

static void
get(struct rbuf *r, void *v, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p + r->off, n);
	r->off += n;
}

#define GET(r, v) get(r, &(v), sizeof(v))

/* A string in the state (NULL when it was NULL); points into r. */
static const char *
get_str(struct rbuf *r)
{
	uint32_t n;
	const char *s;

	GET(r, n);
	if (r->err || n == 0)
		return NULL;
	if (r->len - r->off < n || r->p[r->off + n - 1] != '\0') {
		r->err = true;
		return NULL;
	}
	s = r->p + r->off;
	r->off += n;
	return s;
}

static char *
dup_str(struct rbuf *r)
{
	const char *s = get_str(r);

	return s != NULL ? strdup(s) : NULL;
}

static int
get_fd(struct rbuf *r)
{
	int32_t fd;

	GET(r, fd);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static int
get_node(struct rbuf *r)
{
	uint64_t ino, parent;
	uint8_t dir, cuse, seen, seekable;
	struct acl def_acl, def_dacl;
	const char *name;
	struct node *p, *n;

	GET(r, ino);
	GET(r, parent);
	name = get_str(r);
	GET(r, dir);
	p = tree_get(parent);
	if (r->err || name == NULL || p == NULL)
		return -EBADMSG;
	n = tree_add_ino(p, name, dir, ino);
	if (n == NULL)
		return -EBADMSG;
	GET(r, n->def_mode);
	GET(r, n->def_uid);
	GET(r, n->def_gid);
	GET(r, def_acl);
	GET(r, def_dacl);
	if (def_acl.n > ACL_ENTRIES_MAX || def_dacl.n > ACL_ENTRIES_MAX)
		return -EBADMSG;
	if (tree_set_acl(&n->def_acl, &def_acl) < 0 ||
	    tree_set_acl(&n->def_dacl, &def_dacl) < 0)
		return -ENOMEM;
	GET(r, n->ctime);
	GET(r, cuse);
	GET(r, n->rdev_maj);
	GET(r, n->rdev_min);
	GET(r, seen);
	GET(r, n->generation);
	GET(r, seekable);
	GET(r, n->size);
	n->cuse = cuse;
	n->rdev_seen = seen;
	n->seekable = seekable;
	return r->err ? -EBADMSG : 0;
}

static int
get_conf(struct rbuf *r, struct drv_conf *cf)
{
	const char *s;
	uint64_t n;

	memset(cf, 0, sizeof(*cf));
	cf->driver = dup_str(r);
	cf->exe = dup_str(r);
	cf->io = dup_str(r);
	s = get_str(r);
	if (s == NULL || strlen(s) >= sizeof(cf->unbind))
		return -EBADMSG;
	snprintf(cf->unbind, sizeof(cf->unbind), "%s", s);
	GET(r, cf->n_ports);
	get(r, cf->ports, sizeof(cf->ports));
	GET(r, cf->run_uid);
	GET(r, cf->run_gid);
	GET(r, n);
	if (r->err || n > 4096 || cf->n_ports > CONF_PORTS_MAX ||
	    cf->driver == NULL || cf->exe == NULL || cf->io == NULL)
		return -EBADMSG;
	cf->args = calloc(n + 1, sizeof(*cf->args));
	if (cf->args == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		if ((cf->args[i] = dup_str(r)) == NULL)
			return -EBADMSG;
	return 0;
}

static int
get_handles(struct rbuf *r, struct drv *d)
{
	uint64_t n;

	GET(r, n);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct handle *h = calloc(1, sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		GET(r, h->e.id);
		GET(r, h->gen);
		GET(r, h->kh);
		GET(r, h->flags);
		h->node = HANDLE_NODE_UNKNOWN; /* only -d's trace wants it */
		id_seen(h->e.id);
		if (handle_add(&d->handles, h) < 0) {
			free(h);
			return -ENOMEM;
		}
	}
	return r->err ? -EBADMSG : 0;
}

static int
get_pends(struct rbuf *r, struct drv *d)
{
	uint64_t n;

	GET(r, n);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct pend *p = calloc(1, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		GET(r, p->e.id);
		GET(r, p->unique);
		GET(r, p->op);
		GET(r, p->state);
		GET(r, p->fh);
		GET(r, p->size);
		GET(r, p->flags);
		GET(r, p->node);
		GET(r, p->uid);
		GET(r, p->gid);
		GET(r, p->pid);
		GET(r, p->due);
		GET(r, p->intr_at);
		id_seen(p->e.id);
		/* no libfuse object carries it here: answered by unique */
		if (r->err || pend_add(&d->pend, p) < 0 ||
		    fuseio_track(p->unique) < 0) {
			free(p);
			return r->err ? -EBADMSG : -ENOMEM;
		}
	}
	return r->err ? -EBADMSG : 0;
}

static int
get_drv(struct rbuf *r)
{
	struct drv_conf cf;
	const char *path, *s, *pci;
	unsigned int slot, n_nodes, n_cf;
	uint64_t ino[CONF_NODES_MAX], n;
	uint8_t want, removed, adopting, manual;
	const char *nodes[CONF_NODES_MAX];
	struct drv *d;
	int sock, req, err;

	GET(r, slot);
	path = get_str(r);
	GET(r, n_nodes);
	if (r->err || path == NULL || n_nodes > CONF_NODES_MAX)
		return -EBADMSG;
	for (unsigned int i = 0; i < n_nodes; i++) {
		GET(r, ino[i]);
		if (ino[i] != 0 && tree_get(ino[i]) == NULL)
			return -EBADMSG;
	}
	GET(r, n_cf);
	if (r->err || n_cf > CONF_NODES_MAX)
		return -EBADMSG;
	for (unsigned int i = 0; i < n_cf; i++) {
		s = get_str(r);
		if (s == NULL || strlen(s) > 2 * CONF_NAME_MAX + 1)
			return -EBADMSG;
		nodes[i] = s;
	}
	GET(r, manual);
	pci = get_str(r);
	if (pci == NULL || strlen(pci) >= sizeof(cf.pci))
		return -EBADMSG;
	err = get_conf(r, &cf);
	if (err == 0 && n_cf > 0 &&
	    (cf.nodes = calloc(n_cf, sizeof(*cf.nodes))) == NULL)
		err = -ENOMEM;
	for (unsigned int i = 0; err == 0 && i < n_cf; i++, cf.n_nodes++)
		if ((cf.nodes[i] = strdup(nodes[i])) == NULL)
			err = -ENOMEM;
	if (err == 0) {
		snprintf(cf.pci, sizeof(cf.pci), "%s", pci);
		cf.manual = manual;
		err = drv_new_slot(NULL, path, &cf, slot, &d);
	}
	if (err < 0) {
		drv_conf_free(&cf);
		return err;
	}
	for (unsigned int i = 0; i < n_nodes; i++)
		if (drv_set_node(d, i, ino[i] != 0 ? tree_get(ino[i]) : NULL) <
		    0)
			return -ENOMEM;
	d->n_nodes = n_nodes;
	GET(r, d->state);
	GET(r, want);
	GET(r, removed);
	GET(r, adopting);
	d->want_up = want;
	d->removed = removed;
	d->adopting = adopting;
	GET(r, d->proc.pid);
	d->proc.pidfd = get_fd(r);
	GET(r, d->proc.start_time);
	sock = get_fd(r);
	req = get_fd(r);
	if (sock >= 0 && chan_new(sock, &d->chan) < 0) {
		if (req >= 0)
			close(req);
		return -ENOMEM;
	}
	GET(r, d->gen);
	GET(r, d->fails);
	GET(r, d->restarts);
	GET(r, d->requests);
	GET(r, d->started_ms);
	GET(r, d->up_ms);
	GET(r, d->timer);
	GET(r, d->timer_at);
	GET(r, d->heard_ms);
	GET(r, d->ping_id);
	GET(r, d->ping_ms);
	id_seen(d->ping_id);
	err = get_handles(r, d);
	if (err == 0)
		err = get_pends(r, d);
	GET(r, n);
	for (uint64_t i = 0; err == 0 && i < n && !r->err; i++) {
		char buf[DDM_MSG_MAX];
		uint32_t len;

		GET(r, len);
		if (len > sizeof(buf)) {
			err = -EBADMSG;
			break;
		}
		get(r, buf, len);
		if (d->chan != NULL)
			err = chan_queue_raw(d->chan, buf, len, proc_now());
	}
	if (err == 0 && r->err)
		err = -EBADMSG;
	if (err == 0) {
		pthread_mutex_lock(&d->lock);
		drv_sys->attach(d);
		pthread_mutex_unlock(&d->lock);
		if (req >= 0)
			ev_watch_req(d, req);
	} else if (req >= 0) {
		close(req);
	}
	return err;
}

int
upgrade_restore(int fd, struct upgrade_fds *ret)
{
	struct rbuf r = { 0 };
	uint32_t magic, format;
	uint8_t flags[4];
	uint64_t n, ino, seq;
	struct stat st;
	void *map;
	int err = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	r = (struct rbuf){ .p = map, .len = (size_t)st.st_size };
	GET(&r, magic);
	GET(&r, format);
	if (magic != MAGIC || format != UPGRADE_FORMAT) {
		logmsg("upgrade: the state is not format %d", UPGRADE_FORMAT);
		err = -EPROTO;
		goto unmap;
	}
	dfs.conf_file = dup_str(&r);
	dfs.state_dir = dup_str(&r);
	dfs.mountpoint = dup_str(&r);
	dfs.driver_path = dup_str(&r);
	get(&r, flags, sizeof(flags));
	dfs.cuse = flags[0];
	dfs.foreground = flags[1];
	dfs.debug = flags[2];
	ret->syslog = flags[3];
	GET(&r, dfs.mount_time);
	GET(&r, dfs.nofile);
	ret->fuse = get_fd(&r);
	dfs.state_fd = get_fd(&r);
	dfs.lock_fd = get_fd(&r);
	dfs.mnt_lock_fd = get_fd(&r);
	dfs.sim_fd = get_fd(&r);
	ret->ctl = get_fd(&r);
	ret->client = get_fd(&r);
	GET(&r, n);
	if (n > sizeof(ret->init)) {
		err = -EBADMSG;
		goto unmap;
	}
	ret->init_len = n;
	get(&r, ret->init, n);
	GET(&r, ino);
	GET(&r, seq);
	id_seen(seq);
	if (r.err || dfs.conf_file == NULL || dfs.state_dir == NULL ||
	    dfs.mountpoint == NULL) {
		err = -EBADMSG;
		goto unmap;
	}
	if (ret->syslog) {
		log_open_syslog();
		log_close_stderr();
	}
	err = tree_init();
	GET(&r, n);
	for (uint64_t i = 0; err == 0 && i < n; i++)
		err = get_node(&r);
	tree_set_next_ino(ino);
	GET(&r, n);
	for (uint64_t i = 0; err == 0 && i < n; i++)
		err = get_drv(&r);
	if (err == 0 && r.err)
		err = -EBADMSG;
unmap:
	munmap(map, (size_t)st.st_size);
	if (err < 0)
		logmsg("upgrade: cannot read the state handed over: %s",
		       strerror(-err));
	return err;
}

/* ---- handing over ----------------------------------------------------- */

/* Runs exe --upgrade-check: 0 if it reads our format, else -errno with
 * why. */
static int
check_binary(const char *exe, char *why, size_t whylen)
{
	char out[128] = "", want[64];
	int p[2], status = -1;
	int64_t end = proc_now() + CHECK_WAIT_MS;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(p[1], 1);
		execl(exe, exe, "--upgrade-check", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (got < sizeof(out) - 1) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int64_t left = end - proc_now();
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		n = read(p[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	snprintf(want, sizeof(want), "ddmfs upgrade format %d", UPGRADE_FORMAT);
	if (strcmp(out, want) == 0)
		return 0;
	if (got == 0)
		snprintf(why, whylen,
		         "%s does not run (--upgrade-check gave "
		         "nothing)",
		         exe);
	else
		snprintf(why, whylen, "%s answers \"%s\", not \"%s\"", exe, out,
		         want);
	return -EPROTO;
}

/* The argv of the new process: ours, with --upgrade-fd=fd last. */
static char **
new_argv(char **argv, int fd)
{
	size_t n = 0, k = 0;
	char **out;

	while (argv[n] != NULL)
		n++;
	out = calloc(n + 2, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(argv[i], "--upgrade-fd", 12) != 0)
			out[k++] = argv[i];
	if (asprintf(&out[k], "--upgrade-fd=%d", fd) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

void
upgrade_now(int client_fd, char **argv, void (*restart)(void))
{
	struct wbuf b = { 0 };
	char why[512] = "", msg[600];
	char **nargv = NULL;
	int mfd = -1, err;

	err = check_binary(dfs.self_exe, why, sizeof(why));
	if (err < 0)
		goto refuse;
	logmsg("upgrade: handing over to %s", dfs.self_exe);
	monitor_emit("upgrade", "-", NULL, "handing over to %s", dfs.self_exe);
	b.fds = calloc(FDS_MAX, sizeof(*b.fds));
	if (b.fds == NULL) {
		err = -ENOMEM;
		goto refuse;
	}
	/* nothing may change the tables from here on */
	ctl_stop(true);
	fuseio_stop();
	saver_stop();
	ev_stop();
	put_state(&b, client_fd);
	mfd = memfd_create("ddmfs-upgrade", 0);
	nargv = mfd >= 0 ? new_argv(argv, mfd) : NULL;
	if (b.err)
		err = -ENOMEM;
	else if (mfd < 0 || nargv == NULL)
		err = -errno;
	else
		err = write_all(mfd, b.p, b.len);
	if (err < 0) {
		snprintf(why, sizeof(why), "writing the state: %s",
		         strerror(-err));
		goto resume;
	}
	for (size_t i = 0; i < b.n_fds; i++)
		fcntl(b.fds[i], F_SETFD, 0);
	execv(dfs.self_exe, nargv);
	err = -errno;
	snprintf(why, sizeof(why), "exec %s: %s", dfs.self_exe, strerror(-err));
	for (size_t i = 0; i < b.n_fds; i++)
		fcntl(b.fds[i], F_SETFD, FD_CLOEXEC);
resume:
	if (mfd >= 0)
		close(mfd);
	if (nargv != NULL) {
		size_t k = 0;

		while (nargv[k] != NULL)
			k++;
		free(nargv[k - 1]);
		free(nargv);
	}
	restart();
refuse:
	free(b.p);
	free(b.fds);
	logmsg("upgrade refused: %s", why[0] ? why : strerror(-err));
	snprintf(msg, sizeof(msg), "ERR EIO Upgrade refused: %s.\n",
	         why[0] ? why : strerror(-err));
	ctl_send_reply(client_fd, msg);
	close(client_fd);
}
