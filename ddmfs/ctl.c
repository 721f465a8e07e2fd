/*
 * ctl.c: the control socket <state_dir>/ctl.sock that ddmctl talks to.
 *
 * One request per connection: a text line "COMMAND [NODE]".  The answer is
 * "OK\n" followed by the output, or "ERR message\n".  Commands: list
 * (NODE STATE PID RESTARTS TRANSPORT per line), status NODE (with "rdev:
 * MAJ:MIN" for a CUSE node), and (uid 0 only, checked with SO_PEERCRED) start
 * NODE, stop NODE, restart NODE, reload.  The socket is 0666 so that any
 * user can list and ask for status.  reload takes only the permission
 * defaults (mode, owner, group); a driver keeps the settings ddmfs started
 * with.  Served on a thread of its own, which may wait for a driver to come
 * up or go down.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ddmfs.h"

#define CTL_LINE_MAX 512

static pthread_t ctl_thread;
static int ctl_running;
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Appends printf output to a growing string; *s is NULL after ENOMEM. */
static void __attribute__((format(printf, 2, 3)))
cat(char **s, const char *fmt, ...)
{
	va_list ap;
	char *add, *out;

	if (*s == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		add = NULL;
	va_end(ap);
	if (add == NULL || asprintf(&out, "%s%s", *s, add) < 0)
		out = NULL;
	free(add);
	free(*s);
	*s = out;
}

static void
pid_str(const struct drv *d, char *buf, size_t n)
{
	if (d->pid == 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%d", (int)d->pid);
}

static void
list(char **out)
{
	char pid[16];

	for (size_t i = 0; i < dfs.n_nodes; i++) {
		struct drv *d = dfs.nodes[i].drv;

		if (d == NULL)
			continue;
		pid_str(d, pid, sizeof(pid));
		cat(out, "%s\t%s\t%s\t%u\t%s\n", d->node->path,
		    drv_state_name(d->state), pid, d->restarts,
		    d->node->cuse ? "cuse" : "fuse");
	}
}

static void
status(char **out, const struct drv *d)
{
	const struct node *n = d->node;
	struct passwd *pw = getpwuid(n->uid);
	struct group *gr = getgrgid(n->gid);
	char pid[16];

	pid_str(d, pid, sizeof(pid));
	cat(out, "node: %s\n", n->path);
	cat(out, "driver: %s\n",
	    dfs.conf->buses[n->bus].devices[n->dev].driver);
	cat(out, "state: %s\n", drv_state_name(d->state));
	cat(out, "pid: %s\n", pid);
	cat(out, "restarts: %u\n", d->restarts);
	cat(out, "transport: %s\n", n->cuse ? "cuse" : "fuse");
	if (n->cuse)
		cat(out, "rdev: %u:%u\n", n->rdev_maj, n->rdev_min);
	cat(out, "requests: %llu\n", (unsigned long long)d->requests);
	cat(out, "mode: %04o\n", (unsigned int)n->mode);
	if (pw != NULL)
		cat(out, "owner: %s\n", pw->pw_name);
	else
		cat(out, "owner: %u\n", (unsigned int)n->uid);
	if (gr != NULL)
		cat(out, "group: %s\n", gr->gr_name);
	else
		cat(out, "group: %u\n", (unsigned int)n->gid);
}

static int
same_args(char *const *a, char *const *b)
{
	size_t i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return a[i] == NULL && b[i] == NULL;
}

/* Whether devices a and b are started the same way. */
static int
same_driver(const struct conf_device *a, const struct conf_device *b)
{
	if (strcmp(a->driver, b->driver) != 0 || strcmp(a->io, b->io) != 0 ||
	    a->run_uid != b->run_uid || a->run_gid != b->run_gid ||
	    a->n_ports != b->n_ports || !same_args(a->args, b->args))
		return 0;
	for (unsigned int i = 0; i < a->n_ports; i++)
		if (a->ports[i].base != b->ports[i].base ||
		    a->ports[i].len != b->ports[i].len)
			return 0;
	return 1;
}

/*
 * Copies the permission defaults of c (same shape) into dfs.conf, and
 * notes each device whose driver settings differ: those wait for a ddmfs
 * restart.
 */
static void
take_perms(char **out, const struct conf *c)
{
	for (unsigned int b = 0; b < c->n_buses; b++) {
		struct conf_bus *ob = &dfs.conf->buses[b];
		const struct conf_bus *nb = &c->buses[b];

		ob->mode = nb->mode;
		ob->uid = nb->uid;
		ob->gid = nb->gid;
		for (unsigned int i = 0; i < nb->n_devices; i++) {
			struct conf_device *od = &ob->devices[i];
			const struct conf_device *nd = &nb->devices[i];

			od->mode = nd->mode;
			od->uid = nd->uid;
			od->gid = nd->gid;
			if (!same_driver(od, nd))
				cat(out,
				    "reload: %s/%s: driver settings changed; "
				    "restart ddmfs to apply them\n",
				    nb->name, nd->name);
		}
	}
}

/* Re-reads the conf; only attribute defaults take effect (lock held). */
static int
reload(char **out, fuse_ino_t *changed, size_t *n_changed)
{
	char err[CONF_ERR_MAX];
	struct conf *c;
	int r;

	r = conf_load(dfs.conf_file, &c, err, sizeof(err));
	if (r < 0) {
		cat(out, "reload: %s", err);
		return r;
	}
	if (!tree_same_shape(dfs.conf, c)) {
		conf_free(c);
		cat(out,
		    "reload: %s: buses or devices were added, removed or "
		    "renamed; restart ddmfs to apply that",
		    dfs.conf_file);
		return -EINVAL;
	}
	if (c->transport != dfs.conf->transport)
		cat(out,
		    "reload: %s: the transport changes when ddmfs "
		    "restarts\n",
		    dfs.conf_file);
	take_perms(out, c);
	conf_free(c);
	*n_changed = 0;
	for (size_t i = 1; i < dfs.n_nodes; i++) {
		struct node *n = &dfs.nodes[i];
		mode_t m = n->mode;
		uid_t u = n->uid;
		gid_t g = n->gid;

		tree_refresh(dfs.conf, dfs.perms, n);
		if (m != n->mode || u != n->uid || g != n->gid) {
			clock_gettime(CLOCK_REALTIME, &n->ctime);
			changed[(*n_changed)++] = n->ino;
		}
	}
	return 0;
}

/* Runs a start, stop or restart command on d and waits for it to settle
 * (lock held). */
static int
control(char **out, const char *cmd, struct drv *d)
{
	int r;

	if (strcmp(cmd, "stop") == 0) {
		drv_stop(d);
		r = drv_wait_stopped(d, DRV_STOP_MS + 1000);
	} else {
		if (strcmp(cmd, "restart") == 0)
			drv_restart(d);
		else
			drv_start(d);
		r = drv_wait_running(d, DRV_OPEN_WAIT_MS);
	}
	if (r < 0)
		cat(out, "%s: %s is %s", cmd, d->node->path,
		    drv_state_name(d->state));
	return r;
}

/*
 * Runs one control request from a peer with uid peer.  *ret_reply gets
 * the full answer ("OK\n..." or "ERR ...\n").  Returns 0, -ENOMEM, or the
 * command's error (also described in the reply).
 */
int
ctl_handle(const char *line, uid_t peer, char **ret_reply)
{
	char cmd[32] = "", arg[CTL_LINE_MAX] = "", extra[2] = "";
	char *out = strdup(""), *reply;
	fuse_ino_t *changed = NULL;
	size_t n_changed = 0;
	struct node *n = NULL;
	int mutating, nargs, r = 0, want;

	if (out == NULL)
		return -ENOMEM;
	nargs = sscanf(line, "%31s %511s %1s", cmd, arg, extra);
	want = strcmp(cmd, "list") == 0 || strcmp(cmd, "reload") == 0 ? 1 : 2;
	mutating = strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0;
	if (strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0 &&
	    strcmp(cmd, "restart") != 0 && strcmp(cmd, "reload") != 0) {
		cat(&out, "unknown command \"%s\"", cmd);
		r = -EINVAL;
	} else if (nargs != want) {
		cat(&out, "%s: wrong number of arguments", cmd);
		r = -EINVAL;
	} else if (mutating && peer != 0) {
		cat(&out, "%s: permission denied (root only)", cmd);
		r = -EPERM;
	}
	if (r < 0)
		goto answer;
	pthread_mutex_lock(&dfs.lock);
	if (want == 2) {
		n = tree_find(arg);
		if (n == NULL || n->drv == NULL) {
			cat(&out, "no node %s", arg);
			r = -ENOENT;
		}
	}
	if (r < 0)
		;
	else if (strcmp(cmd, "list") == 0)
		list(&out);
	else if (strcmp(cmd, "status") == 0)
		status(&out, n->drv);
	else if (strcmp(cmd, "reload") == 0) {
		changed = calloc(dfs.n_nodes, sizeof(*changed));
		r = changed == NULL ? -ENOMEM
		                    : reload(&out, changed, &n_changed);
	} else
		r = control(&out, cmd, n->drv);
	pthread_mutex_unlock(&dfs.lock);
	for (size_t i = 0; i < n_changed; i++)
		fuse_lowlevel_notify_inval_inode(dfs.se, changed[i], 0, 0);
	free(changed);
answer:
	if (out == NULL)
		return -ENOMEM;
	if (r < 0 && asprintf(&reply, "ERR %s\n", out) < 0)
		reply = NULL;
	else if (r == 0 && asprintf(&reply, "OK\n%s", out) < 0)
		reply = NULL;
	free(out);
	if (reply == NULL)
		return -ENOMEM;
	*ret_reply = reply;
	return r;
}

/* Reads one request line and answers it. */
static void
serve(int fd)
{
	struct timeval tv = { CTL_IO_TIMEOUT_MS / 1000,
		              (CTL_IO_TIMEOUT_MS % 1000) * 1000 };
	char line[CTL_LINE_MAX + 1], *reply = NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t got = 0, off = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < CTL_LINE_MAX && memchr(line, '\n', got) == NULL) {
		ssize_t n = read(fd, line + got, CTL_LINE_MAX - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (ctl_handle(line, cred.uid, &reply) == -ENOMEM && reply == NULL)
		return;
	while (off < strlen(reply)) {
		ssize_t n = send(fd, reply + off, strlen(reply) - off,
		                 MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(reply);
}

static void *
ctl_loop(void *arg)
{
	for (;;) {
		int fd = accept4(dfs.ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* shut down */
		}
		serve(fd);
		close(fd);
	}
}

/*
 * Listens on <state_dir>/ctl.sock and starts serving it.  Mode 0666: any
 * user may connect, SO_PEERCRED decides what each may do.
 */
int
ctl_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int r;

	if (snprintf(ctl_path, sizeof(ctl_path), "%s/ctl.sock",
	             dfs.state_dir) >= (int)sizeof(ctl_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, ctl_path, sizeof(ctl_path));
	dfs.ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dfs.ctl_fd < 0)
		return -errno;
	unlink(ctl_path);
	old = umask(077);
	r = bind(dfs.ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(ctl_path, 0666) < 0 || listen(dfs.ctl_fd, 16) < 0)
		goto close_sock;
	r = pthread_create(&ctl_thread, NULL, ctl_loop, NULL);
	if (r != 0) {
		r = -r;
		goto unlink_sock;
	}
	ctl_running = 1;
	return 0;

close_sock:
	r = -errno;
unlink_sock:
	unlink(ctl_path);
	close(dfs.ctl_fd);
	dfs.ctl_fd = -1;
	return r;
}

void
ctl_stop(void)
{
	if (!ctl_running)
		return;
	shutdown(dfs.ctl_fd, SHUT_RDWR);
	pthread_join(ctl_thread, NULL);
	close(dfs.ctl_fd);
	unlink(ctl_path);
	ctl_running = 0;
}
