/*
 * proc.c: drv.c's outside world (proc.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cusedev.h"
#include "ddmfs.h"
#include "drv.h"
#include "ev.h"
#include "log.h"
#include "ioports.h"
#include "vfio.h"
#include "proc.h"
#include "records.h"
#include "spawn.h"
#include "statedir.h"

#define DEVPORT_DEV     "/dev/port"
#define ADOPT_RETRY_MS  50   /* an orphan not yet listening: try again */
#define ADOPT_WAIT_MS   2000 /* ... for this long in all */
#define STATUS_LINE_MAX 256

/* The records, keyed by node path; rec_lock is a leaf lock. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct record *recs;
static const struct drv **owners; /* owners[i]: the driver of recs[i] */
static size_t n_recs, cap_recs;
static unsigned int rec_holds; /* proc_records_hold() */
static bool rec_dirty;         /* changed while held */

int64_t
proc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
save_records(void)
{
	int r = records_save(dfs.state_fd, recs, n_recs);

	if (r < 0)
		logmsg("%s/%s: %s", dfs.state_dir, RECORDS_FILE, strerror(-r));
}

/*
 * Sets (pid != 0) or drops the record of d's node, and saves them all.
 * A node has one record, its newest driver's: an older driver of the same
 * path (its node removed and added again while it stops) does not drop it.
 */
static void
set_record(const struct drv *d, const char *node, pid_t pid, uint64_t start)
{
	size_t i;

	pthread_mutex_lock(&rec_lock);
	for (i = 0; i < n_recs && strcmp(recs[i].node, node) != 0; i++)
		;
	if (pid == 0 && (i == n_recs || owners[i] != d)) {
		goto unlock; /* none of its own */
	} else if (pid == 0) {
		free(recs[i].node);
		recs[i] = recs[--n_recs];
		owners[i] = owners[n_recs];
	} else if (i < n_recs) {
		recs[i].pid = pid;
		recs[i].start = start;
		owners[i] = d;
	} else {
		if (n_recs == cap_recs) {
			size_t cap = cap_recs ? 2 * cap_recs : 16;
			struct record *p =
			        reallocarray(recs, cap, sizeof(*recs));
			const struct drv **o;

			if (p == NULL)
				goto unlock;
			recs = p;
			o = reallocarray(owners, cap, sizeof(*owners));
			if (o == NULL)
				goto unlock;
			owners = o;
			cap_recs = cap;
		}
		recs[n_recs].node = strdup(node);
		if (recs[n_recs].node == NULL)
			goto unlock;
		recs[n_recs].pid = pid;
		recs[n_recs].start = start;
		owners[n_recs] = d;
		n_recs++;
	}
	if (rec_holds > 0)
		rec_dirty = true;
	else
		save_records();
unlock:
	pthread_mutex_unlock(&rec_lock);
}

void
proc_records_hold(bool hold)
{
	pthread_mutex_lock(&rec_lock);
	if (hold) {
		rec_holds++;
	} else if (rec_holds > 0 && --rec_holds == 0 && rec_dirty) {
		rec_dirty = false;
		save_records();
	}
	pthread_mutex_unlock(&rec_lock);
}

static void
sys_record(struct drv *d)
{
	set_record(d, d->path, d->proc.pid, d->proc.start_time);
}

static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
	return buf;
}

/* Opens what d's conf entry grants besides its socket: a /dev/cuse per
 * node in cuse (under CUSE), /dev/port, its state dir. */
static int
open_grants(struct drv *d, int *cuse, int *devport, int *state, char *why,
            size_t whylen)
{
	*devport = *state = -1;
	for (unsigned int i = 0; dfs.cuse && i < d->n_nodes; i++) {
		cuse[i] = open(CDEV_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (cuse[i] < 0) {
			snprintf(why, whylen, "%s: %s", CDEV_DEV_PATH,
			         strerror(errno));
			return -errno;
		}
	}
	if (strcmp(d->cf.io, "devport") == 0) {
		*devport = open(DEVPORT_DEV, O_RDWR | O_CLOEXEC);
		if (*devport < 0) {
			snprintf(why, whylen, "%s: %s", DEVPORT_DEV,
			         strerror(errno));
			return -errno;
		}
	}
	*state = statedir_driver(dfs.state_fd, d->path, d->cf.run_uid,
	                         d->cf.run_gid, why, whylen);
	return *state < 0 ? *state : 0;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* What a driver instance gets: its fds (ddmfs's copies) and argv. */
struct grants {
	int sv[2];                /* the socket: ddmfs's end, the driver's */
	int cuse[CONF_NODES_MAX]; /* a /dev/cuse per node, under CUSE */
	unsigned int n_cuse;
	int devport, state;
	int vfio[3]; /* container, group, device of a PCI instance; else -1 */
	int req;     /* its VFIO device-request eventfd, or -1 */
	bool sim;    /* the sim dir (dfs.sim_fd) is given */
	char **argv;
};

static void
grants_close(struct grants *g)
{
	spawn_argv_free(g->argv);
	g->argv = NULL;
	close_fd(g->sv[0]);
	close_fd(g->sv[1]);
	for (unsigned int i = 0; i < CONF_NODES_MAX; i++)
		close_fd(g->cuse[i]);
	close_fd(g->devport);
	close_fd(g->state);
	for (int i = 0; i < 3; i++)
		close_fd(g->vfio[i]);
	close_fd(g->req);
}

/*
 * Opens what d's instance is granted and makes its argv (d->lock and the
 * tree lock held): 0, or -errno with why.
 */
static int
grants_open(struct drv *d, struct grants *g, char *why, size_t whylen)
{
	char nodes[CONF_NODES_MAX * (2 * CONF_NAME_MAX + 3)] = "";
	const char *name = strchr(d->path, '/') + 1;
	struct spawn_cuse sc = { 0 };
	size_t off = 0;
	int r;

	*g = (struct grants){ .sv = { -1, -1 },
		              .devport = -1,
		              .state = -1,
		              .vfio = { -1, -1, -1 },
		              .req = -1 };
	for (unsigned int i = 0; i < CONF_NODES_MAX; i++)
		g->cuse[i] = -1;
	if (d->removed)
		return -ENODEV;
	g->sim = strcmp(d->cf.io, "sim") == 0 && dfs.sim_fd >= 0;
	if (g->sim && statedir_sim_own(dfs.sim_fd, name, d->cf.run_uid,
	                               d->cf.run_gid) < 0)
		logmsg("%s: sim files of %s: cannot give them to its user: %s",
		       d->path, name, strerror(errno));
	for (unsigned int i = 0; i < d->cf.n_nodes; i++)
		off += (size_t)snprintf(nodes + off, sizeof(nodes) - off,
		                        "%s%s", i > 0 ? "," : "",
		                        d->cf.nodes[i]);
	for (unsigned int i = 0; dfs.cuse && i < d->n_nodes; i++) {
		sc.maj[i] = d->nodes[i] != NULL ? d->nodes[i]->rdev_maj : 0;
		sc.min[i] = d->nodes[i] != NULL ? d->nodes[i]->rdev_min : 0;
		sc.n = d->n_nodes;
	}
	g->n_cuse = sc.n;
	r = open_grants(d, g->cuse, &g->devport, &g->state, why, whylen);
	if (r == 0 && strcmp(d->cf.io, "sim") != 0 && d->cf.n_ports > 0)
		r = ioports_take(dfs.state_fd, d->cf.ports, d->cf.n_ports,
		                 d->cf.unbind, why, whylen);
	if (r == 0 && d->cf.pci[0] != '\0')
		r = vfio_open(d->cf.pci, g->vfio, &g->req, why, whylen);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, g->sv) < 0) {
		r = -errno;
		snprintf(why, whylen, "socketpair: %s", strerror(-r));
		return r;
	}
	/* one node named after the instance is the default: no --nodes */
	g->argv = spawn_argv(
	        d->cf.exe, d->path, d->cf.io, d->cf.ports, d->cf.n_ports,
	        d->cf.args,
	        d->cf.n_nodes == 1 && strcmp(d->cf.nodes[0], name) == 0 ? NULL
	                                                                : nodes,
	        sc.n > 0 ? &sc : NULL, g->sim, true,
	        d->cf.pci[0] != '\0' ? d->cf.pci : NULL, log_uses_syslog());
	if (g->argv == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Starts d's driver (d->lock and the tree lock held). */
static int
sys_spawn(struct drv *d, struct drv_proc *ret)
{
	char why[512] = "", user[64];
	bool pio = strcmp(d->cf.io, "pio") == 0;
	struct spawn_proc sp;
	struct grants g;
	int r;

	r = grants_open(d, &g, why, sizeof(why));
	if (r < 0)
		goto fail;
	r = spawn_start(
	        &(struct spawn_req){
	                .node = d->path,
	                .exe = d->cf.exe,
	                .argv = g.argv,
	                .user = user_name(d->cf.run_uid, user, sizeof(user)),
	                .uid = d->cf.run_uid,
	                .gid = d->cf.run_gid,
	                .ports = pio ? d->cf.ports : NULL,
	                .n_ports = pio ? d->cf.n_ports : 0,
	                .sock = g.sv[1],
	                .cuse = g.cuse[0],
	                .cuse_more = g.cuse + 1,
	                .n_cuse_more = g.n_cuse > 1 ? g.n_cuse - 1 : 0,
	                .devport = g.devport,
	                .sim = g.sim ? dfs.sim_fd : -1,
	                .state = g.state,
	                .vfio = g.vfio[0] >= 0 ? g.vfio : NULL,
	                .syslog = log_uses_syslog(),
	                .nofile = &dfs.nofile,
	        },
	        &sp, why, sizeof(why));
	if (r < 0)
		goto fail;
	ret->pid = sp.pid;
	ret->pidfd = sp.pidfd;
	ret->sock = g.sv[0];
	g.sv[0] = -1;
	if (g.req >= 0) {
		ev_watch_req(d, g.req);
		g.req = -1;
	}
	if (records_start_time(sp.pid, &ret->start_time) < 0)
		ret->start_time = 0;
	grants_close(&g);
	return 0;

fail:
	lognode(d, "%s: cannot start driver %s: %s", d->path, d->cf.driver, why);
	grants_close(&g);
	return r;
}

/*
 * Sends "OK fds=N,... ARGV..." (tab-separated) and fds on conn: the argv
 * ddmfs would have started the driver with, and the fds that stand for
 * the numbers in it, in the order fds= names them.
 */
static int
send_attach(int conn, const struct grants *g)
{
	int fds[9 + CONF_NODES_MAX], nums[9 + CONF_NODES_MAX], n = 0;
	char buf[4096], cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { buf, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	size_t off;

#define GIVE(fd, num)                                                          \
	do {                                                                   \
		if ((fd) >= 0) {                                               \
			fds[n] = (fd);                                         \
			nums[n++] = (num);                                     \
		}                                                              \
	} while (0)
	GIVE(g->sv[1], SPAWN_SOCK_FD);
	GIVE(g->cuse[0], SPAWN_CUSE_FD);
	GIVE(g->devport, SPAWN_DEVPORT_FD);
	GIVE(g->sim ? dfs.sim_fd : -1, SPAWN_SIM_FD);
	GIVE(g->state, SPAWN_STATE_FD);
	for (unsigned int i = 1; i < g->n_cuse; i++)
		GIVE(g->cuse[i], spawn_cuse_fd(i));
	for (int i = 0; i < 3; i++)
		GIVE(g->vfio[i], SPAWN_VFIO_FD + i);
#undef GIVE
	off = (size_t)snprintf(buf, sizeof(buf), "OK fds=");
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d",
		                        i > 0 ? "," : "", nums[i]);
	for (size_t i = 1; g->argv[i] != NULL && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\t%s",
		                        g->argv[i]);
	if (off + 1 >= sizeof(buf))
		return -E2BIG;
	buf[off++] = '\n';
	iov.iov_len = off;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
	if (sendmsg(conn, &mh, MSG_NOSIGNAL) != (ssize_t)off)
		return errno != 0 ? -errno : -EIO;
	return 0;
}

int
proc_attach(struct drv *d, int conn, pid_t pid, char *why, size_t whylen)
{
	struct drv_proc p = { .pid = pid, .pidfd = -1, .sock = -1 };
	struct grants g;
	int r;

	if (d->state != DRV_MANUAL) {
		snprintf(why, whylen, "%s is %s, not waiting for a driver",
		         d->path, drv_state_name(d->state));
		return -EBUSY;
	}
	p.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p.pidfd < 0) {
		snprintf(why, whylen, "pidfd_open(%d): %s", (int)pid,
		         strerror(errno));
		return -errno;
	}
	r = grants_open(d, &g, why, whylen);
	if (r == 0) {
		r = send_attach(conn, &g);
		if (r < 0)
			snprintf(why, whylen, "cannot send its fds: %s",
			         strerror(-r));
	}
	if (r < 0) {
		grants_close(&g);
		close(p.pidfd);
		return r;
	}
	p.sock = g.sv[0];
	g.sv[0] = -1;
	grants_close(&g);
	if (records_start_time(pid, &p.start_time) < 0)
		p.start_time = 0;
	fcntl(p.pidfd, F_SETFD, FD_CLOEXEC);
	return drv_attach(d, &p);
}

static void
sys_signal(struct drv *d, int sig)
{
	if (d->proc.pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, d->proc.pidfd, sig, NULL, 0) < 0 &&
	    errno != ESRCH)
		logmsg("%s: signal %d to pid %d: %s", d->path, sig,
		       (int)d->proc.pid, strerror(errno));
}

/* Whether TracerPid in /proc/PID/status is set: a debugger holds it. */
static bool
sys_traced(struct drv *d)
{
	char path[64], line[STATUS_LINE_MAX];
	bool traced = false;
	FILE *f;
	int tracer;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->proc.pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "TracerPid: %d", &tracer) == 1) {
			traced = tracer != 0;
			break;
		}
	fclose(f);
	if (traced)
		drv_log(d,
		        "%s: driver %s (pid %d) is being traced; its "
		        "deadlines wait",
		        d->path, d->cf.driver, (int)d->proc.pid);
	return traced;
}

int
proc_sim(const struct conf *c)
{
	/* one more than statedir_sim() takes, so that it reports too many */
	uid_t uids[65];
	gid_t gids[65];
	size_t n = 0, j;
	char why[256];
	bool any = false;
	int fd;

	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++) {
			const struct conf_device *cd = &c->buses[b].devices[i];

			if (strcmp(cd->io, "sim") != 0)
				continue;
			any = true;
			/* the distinct users only: many devices share one */
			for (j = 0; j < n && uids[j] != cd->run_uid; j++)
				;
			if (j == n && n < sizeof(uids) / sizeof(*uids)) {
				uids[n] = cd->run_uid;
				gids[n] = cd->run_gid;
				n++;
			}
		}
	if (!any)
		return 0;
	fd = statedir_sim(dfs.state_fd, uids, gids, n, why, sizeof(why));
	if (fd < 0) {
		logmsg("state dir %s: %s", dfs.state_dir, why);
		return fd;
	}
	if (dfs.sim_fd >= 0)
		close(dfs.sim_fd);
	dfs.sim_fd = fd;
	return 0;
}

/*
 * The event loop stops watching d's process, which has exited: what d
 * took from kernel drivers, the function of a PCI instance or the devices
 * behind its ports, goes back to them if d was removed or ddmfs stops.
 */
static void
sys_detach_pid(struct drv *d)
{
	ev_detach_pid(d);
	if (d->removed || drv_quitting())
		proc_give_back(d);
}

void
proc_give_back(struct drv *d)
{
	if (d->cf.pci[0] != '\0')
		vfio_release(d->cf.pci);
	if (d->cf.unbind[0] != '\0')
		ioports_rebind("/sys", dfs.state_fd, d->cf.unbind);
}

static const struct drv_sys real_sys = {
	.now = proc_now,
	.spawn = sys_spawn,
	.signal = sys_signal,
	.traced = sys_traced,
	.attach = ev_attach,
	.detach_chan = ev_detach_chan,
	.detach_pid = sys_detach_pid,
	.wake = ev_wake,
	.receive = ev_receive,
	.record = sys_record,
};

void
proc_init(void)
{
	drv_sys = &real_sys;
}

/*
 * An orphan being adopted: its pidfd, and whether DDM_ADOPT reached it.
 * Its socket (fd SPAWN_SOCK_FD in it) is dead until the driver notices
 * that the earlier ddmfs is gone and puts a fresh one there.
 */
struct orphan {
	struct drv *d;
	struct drv_proc proc;
	bool done;
};

/* Takes the orphan's socket and sends DDM_ADOPT: 0, -EAGAIN (not
 * listening yet), or -errno (give up). */
static int
try_adopt(struct orphan *o)
{
	struct ddm_msg m;
	char buf[sizeof(m)];
	int fd = (int)syscall(SYS_pidfd_getfd, o->proc.pidfd, SPAWN_SOCK_FD, 0);
	int type = 0;
	socklen_t len = sizeof(type);
	ssize_t n;

	if (fd < 0)
		return errno == EBADF ? -EAGAIN : -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET) {
		close(fd);
		return -EAGAIN;
	}
	ddm_msg_init(&m, DDM_ADOPT, 0, 0);
	m.arg0 = DDM_PROTO_VERSION;
	n = ddm_msg_pack(buf, sizeof(buf), &m, NULL, 0);
	if (send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
		close(fd);
		return -EAGAIN; /* the old, dead socket: not swapped yet */
	}
	o->proc.sock = fd;
	return 0;
}

/* Opens a pidfd on pid if it is still the process started at start. */
static int
open_orphan(pid_t pid, uint64_t start)
{
	uint64_t now_start;
	int fd;

	if (records_start_time(pid, &now_start) < 0 || now_start != start)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* the pid could have been reused between the check and the open */
	if (records_start_time(pid, &now_start) < 0 || now_start != start) {
		close(fd);
		return -ESRCH;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static void
kill_orphan(const char *node, int pidfd, pid_t pid, const char *why)
{
	logmsg("%s: killing driver pid %d left by an earlier ddmfs: %s", node,
	       (int)pid, why);
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

unsigned int
proc_adopt_all(void)
{
	struct record *rs = NULL;
	struct orphan *os;
	size_t n = 0, n_os = 0, left;
	unsigned int adopted = 0;
	int64_t end = proc_now() + ADOPT_WAIT_MS;

	if (records_load(dfs.state_fd, &rs, &n) < 0 || n == 0)
		return 0;
	os = calloc(n, sizeof(*os));
	for (size_t i = 0; i < n; i++) {
		struct node *nd = tree_find(rs[i].node);
		int fd = open_orphan(rs[i].pid, rs[i].start);

		if (fd < 0)
			continue;
		if (os == NULL || nd == NULL || nd->drv == NULL ||
		    nd->drv->proc.pid != 0) {
			kill_orphan(rs[i].node, fd, rs[i].pid,
			            "its node is no longer in the tree");
			close(fd);
			continue;
		}
		os[n_os++] = (struct orphan){
			.d = nd->drv,
			.proc = { .pid = rs[i].pid,
			          .pidfd = fd,
			          .sock = -1,
			          .start_time = rs[i].start },
		};
	}
	left = n_os;
	while (left > 0) {
		for (size_t i = 0; i < n_os; i++) {
			struct orphan *o = &os[i];
			int r;

			if (o->done)
				continue;
			r = try_adopt(o);
			if (r == -EAGAIN && proc_now() < end)
				continue;
			o->done = true;
			left--;
			if (r < 0) {
				kill_orphan(o->d->path, o->proc.pidfd,
				            o->proc.pid,
				            "it does not answer the adoption");
				close(o->proc.pidfd);
				continue;
			}
			pthread_mutex_lock(&o->d->lock);
			drv_adopt(o->d, &o->proc, NULL);
			if (o->d->cf.pci[0] != '\0') {
				/* ddmfs started it: the device is at its fd */
				int req = vfio_adopt_request(o->d->cf.pci,
				                             o->proc.pidfd,
				                             SPAWN_VFIO_FD + 2);

				if (req >= 0)
					ev_watch_req(o->d, req);
			}
			pthread_mutex_unlock(&o->d->lock);
			adopted++;
		}
		if (left > 0) {
			struct timespec ts = { 0, ADOPT_RETRY_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	free(os);
	records_free(rs, n);
	return adopted;
}
