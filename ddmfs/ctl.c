/*
 * ctl.c: the control socket (ctl.h).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ddmfs.h"
#include "drv.h"
#include "fwd.h"
#include "log.h"
#include "pci.h"
#include "vfio.h"
#include "proc.h"
#include "saver.h"
#include "sync.h"
#include "tree.h"

#define CTL_LINE_MAX     512
#define CTL_BACKLOG      64
#define ACCEPT_PAUSE_MS  100 /* after an accept() error such as EMFILE */
#define CTL_STOP_WAIT_MS 10000
#define USERS_MAX        64    /* distinct non-root users tracked at once */
#define PW_BUF_SIZE      16384 /* buffer for getpwuid_r and getgrgid_r */

static int listen_fd = -1;
static int stop_fd = -1; /* an eventfd: the acceptor's wake-up to stop */
static pthread_t acceptor;
static bool running;
static atomic_bool stopping;
static ctl_upgrade_fn *upgrade_hook;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Clients being served: in all, and per non-root user. */
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clients_cond = PTHREAD_COND_INITIALIZER;
static unsigned int n_clients;
static struct {
	uid_t uid;
	unsigned int n;
} users[USERS_MAX];

int
ctl_fd(void)
{
	return listen_fd;
}

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
	if (d->proc.pid == 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%d", (int)d->proc.pid);
}

static void
list_one(struct node *n, void *arg)
{
	struct drv *d = n->drv;
	char pid[16];

	if (n->is_dir || d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	pid_str(d, pid, sizeof(pid));
	cat(arg, "%s\t%s\t%s\t%u\t%s\n", n->path, drv_state_name(d->state), pid,
	    d->restarts, n->cuse ? "cuse" : "fuse");
	pthread_mutex_unlock(&d->lock);
}

/* Appends a row for a PCI function no rule took (list --all). */
static void
list_unbound(const struct pci_fn *f, void *arg)
{
	cat(arg, "%s\t%04x:%04x\t%06x\tunbound\n", f->addr, f->vendor,
	    f->device, f->class);
}

/* Appends the status of n's driver; n's owner and group go to *ret_uid
 * and *ret_gid for owner_group(), which runs without the tree lock. */
static void
status(char **out, const struct node *n, uid_t *ret_uid, gid_t *ret_gid)
{
	struct drv *d = n->drv;
	char pid[16], pci[CONF_PCI_ADDR_MAX];
	bool live;

	pthread_mutex_lock(&d->lock);
	pid_str(d, pid, sizeof(pid));
	snprintf(pci, sizeof(pci), "%s", d->cf.pci);
	live = d->proc.pid != 0;
	cat(out, "node: %s\n", n->path);
	cat(out, "driver: %s\n", d->cf.driver);
	cat(out, "state: %s\n", drv_state_name(d->state));
	cat(out, "pid: %s\n", pid);
	cat(out, "restarts: %u\n", d->restarts);
	cat(out, "transport: %s\n", n->cuse ? "cuse" : "fuse");
	if (n->cuse)
		cat(out, "rdev: %u:%u\n", n->rdev_maj, n->rdev_min);
	cat(out, "requests: %llu\n", (unsigned long long)d->requests);
	pthread_mutex_unlock(&d->lock);
	if (pci[0] != '\0') {
		/* the kernel's count for the live driver's vectors */
		long long k = live ? vfio_irq_count(pci) : -1;

		cat(out, "pci: %s\n", pci);
		cat(out, "interrupts: %lld\n", k > 0 ? k : 0);
	}
	cat(out, "mode: %04o\n", (unsigned int)n->mode);
	*ret_uid = n->uid;
	*ret_gid = n->gid;
}

/* Appends the owner and group lines, by name where there is one (the
 * reentrant lookups: ctl runs beside the FUSE workers). */
static void
owner_group(char **out, uid_t uid, gid_t gid)
{
	struct passwd pw, *pp = NULL;
	struct group gr, *gp = NULL;
	char buf[PW_BUF_SIZE];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) == 0 && pp != NULL)
		cat(out, "owner: %s\n", pp->pw_name);
	else
		cat(out, "owner: %u\n", (unsigned int)uid);
	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &gp) == 0 && gp != NULL)
		cat(out, "group: %s\n", gp->gr_name);
	else
		cat(out, "group: %u\n", (unsigned int)gid);
}

/* Re-reads the conf and makes the tree follow it (no lock held). */
static int
reload(char **out)
{
	char err[CONF_ERR_MAX];
	struct sync_result res;
	struct conf *c;
	int r;

	r = conf_load(dfs.conf_file, &c, err, sizeof(err));
	if (r < 0) {
		cat(out, "reload: %s", err);
		return r;
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
control(char **out, const char *cmd, const char *path)
{
	struct drv_out o = { 0 };
	struct node *n;
	struct drv *d;
	enum drv_state st;
	int r = 0;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_find(path);
	if (n == NULL || n->drv == NULL) {
		pthread_rwlock_unlock(&dfs.tree_lock);
		cat(out, "no node %s", path);
		return -ENOENT;
	}
	d = n->drv;
	pthread_mutex_lock(&d->lock);
	if (strcmp(cmd, "stop") == 0)
		drv_stop(d, &o);
	else if (strcmp(cmd, "restart") == 0)
		drv_restart(d, &o);
	else
		drv_start(d, &o);
	d->pins++; /* d stays while the tree lock is dropped */
	pthread_rwlock_unlock(&dfs.tree_lock);
	drv_wait_settled(d, strcmp(cmd, "stop") == 0 ? DRV_STOP_MS + 1000
	                                             : DRV_OPEN_WAIT_MS);
	st = d->state;
	if (st == DRV_MANUAL && strcmp(cmd, "stop") != 0) {
		cat(out,
		    "%s waits for a driver started by hand: %s --attach %s",
		    d->path, d->cf.driver, d->path);
	} else if (strcmp(cmd, "stop") == 0 ? st != DRV_STOPPED
	                                    : st != DRV_RUNNING) {
		cat(out, "%s: %s is %s", cmd, d->path, drv_state_name(st));
		r = -EIO;
	}
	d->pins--;
	if (d->pins == 0 && d->removed)
		drv_sys->wake(d);
	pthread_mutex_unlock(&d->lock);
	fwd_finish(&o);
	return r;
}

int
ctl_handle(const char *line, uid_t peer, char **ret_reply)
{
	char cmd[32] = "", arg[CTL_LINE_MAX] = "", extra[2] = "";
	char *out = strdup(""), *reply;
	bool mutating, all;
	int nargs, r = 0, want;
	struct node *n;
	uid_t uid = 0;
	gid_t gid = 0;

	if (out == NULL)
		return -ENOMEM;
	nargs = sscanf(line, "%31s %511s %1s", cmd, arg, extra);
	all = strcmp(cmd, "list") == 0 && nargs == 2 &&
	      strcmp(arg, "--all") == 0;
	if (all)
		nargs = 1;
	want = strcmp(cmd, "list") == 0 || strcmp(cmd, "reload") == 0 ||
	                       strcmp(cmd, "upgrade") == 0
	               ? 1
	               : 2;
	mutating = strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0;
	if (strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0 &&
	    strcmp(cmd, "restart") != 0 && strcmp(cmd, "reload") != 0 &&
	    strcmp(cmd, "reset") != 0) {
		cat(&out, "unknown command \"%s\"", cmd);
		r = -EINVAL;
	} else if (nargs != want) {
		cat(&out, "%s: wrong number of arguments", cmd);
		r = -EINVAL;
	} else if (mutating && peer != 0) {
		cat(&out, "%s: permission denied (root only)", cmd);
		r = -EPERM;
	} else if (strcmp(cmd, "list") == 0) {
		pthread_rwlock_rdlock(&dfs.tree_lock);
		tree_walk(list_one, &out);
		if (all)
			pci_each_unbound(list_unbound, &out);
		pthread_rwlock_unlock(&dfs.tree_lock);
	} else if (strcmp(cmd, "status") == 0) {
		pthread_rwlock_rdlock(&dfs.tree_lock);
		n = tree_find(arg);
		if (n == NULL || n->drv == NULL) {
			cat(&out, "no node %s", arg);
			r = -ENOENT;
		} else {
			status(&out, n, &uid, &gid);
		}
		pthread_rwlock_unlock(&dfs.tree_lock);
		if (r == 0)
			owner_group(&out, uid, gid);
	} else if (strcmp(cmd, "reload") == 0) {
		r = reload(&out);
	} else if (strcmp(cmd, "reset") == 0) {
		/* drop the explicit entry: the conf and rules apply again */
		r = saver_reset(arg);
		if (r == -ENOENT)
			cat(&out, "no node %s", arg);
		else if (r < 0)
			cat(&out, "reset %s: %s", arg, strerror(-r));
	} else {
		r = control(&out, cmd, arg);
	}
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

static int64_t
mono_ms(void)
{
	return proc_now();
}

void
ctl_send_reply(int fd, const char *reply)
{
	int64_t end = mono_ms() + CTL_IO_TIMEOUT_MS;
	size_t off = 0, len = strlen(reply);

	while (off < len) {
		struct pollfd p = { fd, POLLOUT, 0 };
		int64_t left = end - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		n = send(fd, reply + off, len - off,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return;
		if (n > 0)
			off += (size_t)n;
	}
}

/* Reads one request line within CTL_IO_TIMEOUT_MS in all: its length, or
 * -ETIMEDOUT / -EIO. */
static int
read_line(int fd, char *line, size_t cap)
{
	int64_t end = mono_ms() + CTL_IO_TIMEOUT_MS;
	size_t got = 0;

	while (got < cap - 1 && memchr(line, '\n', got) == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		n = recv(fd, line + got, cap - 1 - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return (int)got;
}

/* Counts a client of uid in, unless over the limits: 0 or -EBUSY. */
static int
client_in(uid_t uid)
{
	int r = -EBUSY;
	size_t i, slot = USERS_MAX;

	pthread_mutex_lock(&clients_lock);
	if (n_clients >= CTL_MAX)
		goto unlock;
	if (uid != 0) {
		for (i = 0; i < USERS_MAX; i++) {
			if (users[i].n > 0 && users[i].uid == uid)
				break;
			if (users[i].n == 0 && slot == USERS_MAX)
				slot = i;
		}
		if (i == USERS_MAX) {
			if (slot == USERS_MAX)
				goto unlock;
			i = slot;
			users[i].uid = uid;
		}
		if (users[i].n >= CTL_PER_USER)
			goto unlock;
		users[i].n++;
	}
	n_clients++;
	r = 0;
unlock:
	pthread_mutex_unlock(&clients_lock);
	return r;
}

static void
client_out(uid_t uid)
{
	pthread_mutex_lock(&clients_lock);
	if (uid != 0)
		for (size_t i = 0; i < USERS_MAX; i++)
			if (users[i].n > 0 && users[i].uid == uid) {
				users[i].n--;
				break;
			}
	n_clients--;
	pthread_cond_broadcast(&clients_cond);
	pthread_mutex_unlock(&clients_lock);
}

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
};

/*
 * "attach PATH" from a driver started by hand for a spawn = "manual"
 * instance (a node path names its instance): root, or the instance's own
 * user, gets its grants; anyone else an error.  Answers on fd.
 */
static void
attach(int fd, const char *path, const struct client *c)
{
	char why[256] = "", msg[sizeof(why) + 8];
	struct node *n;
	struct drv *d = NULL;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&dfs.tree_lock);
	n = tree_find(path);
	if (n != NULL && !n->is_dir && n->drv != NULL)
		d = n->drv;
	for (unsigned int i = 0; d == NULL && n != NULL && i < n->n_kids; i++)
		if (n->kids[i]->drv != NULL &&
		    strcmp(n->kids[i]->drv->path, path) == 0)
			d = n->kids[i]->drv;
	if (d == NULL) {
		snprintf(why, sizeof(why), "no such node: %.200s", path);
		goto unlock;
	}
	pthread_mutex_lock(&d->lock);
	if (!d->cf.manual) {
		r = -EPERM;
		snprintf(why, sizeof(why),
		         "%s is started by ddmfs (its conf entry has no "
		         "spawn = \"manual\")",
		         d->path);
	} else if (c->uid != 0 && c->uid != d->cf.run_uid) {
		r = -EPERM;
		snprintf(why, sizeof(why),
		         "permission denied: uid %u is neither root nor the "
		         "user of %s (uid %u)",
		         (unsigned int)c->uid, d->path,
		         (unsigned int)d->cf.run_uid);
	} else {
		r = proc_attach(d, fd, c->pid, why, sizeof(why));
	}
	pthread_mutex_unlock(&d->lock);
unlock:
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (r == 0)
		return;
	logmsg("ctl: attach %s by pid %d (uid %u) refused: %s", path,
	       (int)c->pid, (unsigned int)c->uid, why);
	snprintf(msg, sizeof(msg), "ERR %s\n", why);
	ctl_send_reply(fd, msg);
}

static void *
serve(void *arg)
{
	struct client c = *(struct client *)arg;
	char line[CTL_LINE_MAX + 1], *reply = NULL;
	int r;

	free(arg);
	r = read_line(c.fd, line, sizeof(line));
	if (r == -ETIMEDOUT) {
		ctl_send_reply(c.fd, "ERR request not complete within 2 s\n");
	} else if (strcmp(line, "upgrade") == 0 && c.uid == 0 &&
	           !atomic_load(&stopping)) {
		/* the main thread answers, or the new ddmfs does */
		r = upgrade_hook != NULL ? upgrade_hook(c.fd) : -ENOSYS;
		if (r == 0)
			c.fd = -1;
		else {
			char msg[128];

			snprintf(msg, sizeof(msg), "ERR upgrade: %s\n",
			         strerror(-r));
			ctl_send_reply(c.fd, msg);
		}
	} else if (strcmp(line, "upgrade") == 0 && c.uid != 0) {
		ctl_send_reply(c.fd, "ERR upgrade: permission denied (root "
		                     "only)\n");
	} else if (atomic_load(&stopping)) {
		ctl_send_reply(c.fd, "ERR ddmfs is stopping or upgrading\n");
	} else if (strncmp(line, "attach ", 7) == 0) {
		attach(c.fd, line + 7, &c);
	} else if (ctl_handle(line, c.uid, &reply) != -ENOMEM ||
	           reply != NULL) {
		ctl_send_reply(c.fd, reply);
		free(reply);
	}
	if (c.fd >= 0)
		close(c.fd);
	client_out(c.uid);
	return NULL;
}

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void *
accept_loop(void *arg)
{
	int64_t logged = 0;

	while (!atomic_load(&stopping)) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c;
		pthread_attr_t attr;
		pthread_t t;
		struct pollfd p[2] = { { listen_fd, POLLIN, 0 },
			               { stop_fd, POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			pause_ms(ACCEPT_PAUSE_MS);
		if (atomic_load(&stopping))
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(listen_fd, NULL, NULL,
		             SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (atomic_load(&stopping))
				break;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			/* EMFILE, ENFILE, ENOMEM...: keep serving */
			if (mono_ms() - logged > 10000) {
				logmsg("control socket: accept: %s",
				       strerror(errno));
				logged = mono_ms();
			}
			pause_ms(ACCEPT_PAUSE_MS);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    client_in(cred.uid) < 0) {
			ctl_send_reply(fd, "ERR busy: too many control "
			                   "connections\n");
			close(fd);
			continue;
		}
		c = malloc(sizeof(*c));
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (c == NULL) {
			close(fd);
			client_out(cred.uid);
		} else {
			*c = (struct client){ fd, cred.uid, cred.pid };
			if (pthread_create(&t, &attr, serve, c) != 0) {
				ctl_send_reply(fd, "ERR busy: no thread\n");
				close(fd);
				free(c);
				client_out(cred.uid);
			}
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static int
make_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (snprintf(sock_path, sizeof(sock_path), "%s/%s", dfs.state_dir,
	             CTL_SOCK) >= (int)sizeof(sock_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, sock_path, sizeof(sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sock_path); /* ours: the state dir lock is held */
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(sock_path, 0666) < 0 ||
	    listen(fd, CTL_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		unlink(sock_path);
		return r;
	}
	return fd;
}

int
ctl_start(int fd, ctl_upgrade_fn *upgrade)
{
	int r;

	snprintf(sock_path, sizeof(sock_path), "%s/%s", dfs.state_dir,
	         CTL_SOCK);
	listen_fd = fd >= 0 ? fd : make_socket();
	if (listen_fd < 0)
		return listen_fd;
	if (stop_fd < 0)
		stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0) {
		r = -errno;
		goto close_socket;
	}
	upgrade_hook = upgrade;
	atomic_store(&stopping, false);
	r = pthread_create(&acceptor, NULL, accept_loop, NULL);
	if (r != 0) {
		r = -r;
		goto close_socket;
	}
	running = true;
	return 0;

close_socket:
	close(listen_fd);
	listen_fd = -1;
	unlink(sock_path);
	return r;
}

void
ctl_stop(bool keep)
{
	struct timespec ts;

	if (!running)
		return;
	atomic_store(&stopping, true);
	if (eventfd_write(stop_fd, 1) < 0)
		logmsg("control socket: eventfd: %s", strerror(errno));
	pthread_join(acceptor, NULL);
	eventfd_read(stop_fd, &(eventfd_t){ 0 });
	running = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += CTL_STOP_WAIT_MS / 1000;
	pthread_mutex_lock(&clients_lock);
	while (n_clients > 0)
		if (pthread_cond_timedwait(&clients_cond, &clients_lock, &ts) !=
		    0)
			break;
	pthread_mutex_unlock(&clients_lock);
	if (keep)
		return;
	close(listen_fd);
	listen_fd = -1;
	unlink(sock_path);
}
