/*
 * ctl.c: the control socket (ctl.h).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
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
#include "log.h"
#include "monitor.h"
#include "proc.h"
#include "tree.h"

#define CTL_BACKLOG      64
#define ACCEPT_PAUSE_MS  100 /* after an accept() error such as EMFILE */
#define CTL_STOP_WAIT_MS 10000
#define USERS_MAX        64  /* distinct non-root users tracked at once */
#define MON_WAIT_MS      500 /* a monitor looks at its peer this often */

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
	if (r < 0)
		lognode(d, "%s: attach by pid %d (uid %u) refused: %s", d->path,
		        (int)c->pid, (unsigned int)c->uid, why);
	pthread_mutex_unlock(&d->lock);
unlock:
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (r == 0)
		return;
	if (d == NULL)
		logmsg("ctl: attach %s by pid %d (uid %u) refused: %s", path,
		       (int)c->pid, (unsigned int)c->uid, why);
	snprintf(msg, sizeof(msg), "ERR %s\n", why);
	ctl_send_reply(fd, msg);
}

/*
 * Sends text on fd, waiting as long as the peer needs (this thread is
 * the monitor's own), but no more than CTL_IO_TIMEOUT_MS once ddmfs is
 * stopping: 0, or -1 when the peer is gone or too slow to stop for.
 */
static int
send_all(int fd, const char *text)
{
	size_t off = 0, len = strlen(text);
	int64_t end = -1;

	while (off < len) {
		struct pollfd p = { fd, POLLOUT, 0 };
		ssize_t n;

		if (atomic_load(&stopping) && end < 0)
			end = mono_ms() + CTL_IO_TIMEOUT_MS;
		if (end >= 0 && mono_ms() > end)
			return -1;
		if (poll(&p, 1, MON_WAIT_MS) <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP))
			return -1;
		n = send(fd, text + off, len - off,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

/* Whether the peer of fd hung up (it sends nothing after "monitor"). */
static bool
peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b[64];

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLERR | POLLHUP))
		return true;
	return recv(fd, b, sizeof(b), MSG_DONTWAIT) == 0;
}

/*
 * "monitor": "OK", then the events (monitor.h) as they come, until the
 * peer hangs up or ddmfs stops.  Only this thread writes to fd; emitters
 * only queue.
 */
static void
serve_monitor(int fd)
{
	struct monitor *m;
	char msg[128];
	int r;

	r = monitor_open(&m);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "ERR %s Cannot monitor: %s.\n",
		         ctl_errname(r), strerror(-r));
		ctl_send_reply(fd, msg);
		return;
	}
	if (send_all(fd, "OK\n") < 0)
		goto close_monitor;
	do {
		char *text = NULL;

		r = monitor_take(m, MON_WAIT_MS, &text);
		if (text != NULL && send_all(fd, text) < 0)
			r = -EPIPE;
		free(text);
	} while (r == 0 && !peer_gone(fd));
close_monitor:
	monitor_close(m);
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
		ctl_send_reply(c.fd,
		               "ERR EINVAL The request was not complete within "
		               "2 s.\n");
	} else if (strcmp(line, "upgrade") == 0 && c.uid == 0 &&
	           !atomic_load(&stopping)) {
		/* the main thread answers, or the new ddmfs does */
		r = upgrade_hook != NULL ? upgrade_hook(c.fd) : -ENOSYS;
		if (r == 0)
			c.fd = -1;
		else {
			char msg[128];

			snprintf(msg, sizeof(msg),
			         "ERR EIO Upgrade refused: %s.\n",
			         strerror(-r));
			ctl_send_reply(c.fd, msg);
		}
	} else if (strcmp(line, "upgrade") == 0 && c.uid != 0) {
		ctl_send_reply(c.fd, "ERR EPERM Permission denied: only root "
		                     "may upgrade.\n");
	} else if (atomic_load(&stopping)) {
		ctl_send_reply(c.fd, "ERR EBUSY ddmfs is stopping or "
		                     "upgrading.\n");
	} else if (strncmp(line, "attach ", 7) == 0) {
		attach(c.fd, line + 7, &c);
	} else if (strcmp(line, "monitor") == 0) {
		serve_monitor(c.fd);
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
			ctl_send_reply(fd, "ERR EBUSY Busy: too many control "
			                   "connections.\n");
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
				ctl_send_reply(fd,
				               "ERR EBUSY Busy: no thread.\n");
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
	monitor_resume();
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
	monitor_shutdown();
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
