/*
 * ddmfs.c: the ddmfs daemon's main: options, start-up and shutdown order.
 *
 * ddmfs [-f] [-d] [-c FILE] [--state-dir DIR] [--driver-path DIR[:DIR...]]
 *       [-o FUSEOPTS] [MOUNTPOINT]
 *
 * The command line overrides the conf.  Exit status 2, without mounting,
 * for a bad conf (FILE:LINE: message), transport "cuse" without
 * /dev/cuse, a state dir that is not root's alone or is in use by another
 * ddmfs, or a mountpoint that is not a directory or is mounted by a live
 * ddmfs (a stale one, left by a ddmfs killed with -9, is detached).
 *
 * Start-up: the tree from the conf; drivers an earlier ddmfs left running
 * are adopted (records.h), the others started; under CUSE ddmfs waits
 * (DRV_MOUNT_WAIT_MS in all) for them so the leaves' rdev is right from
 * the start; then the mount and the FUSE workers.  As a daemon (no -f)
 * ddmfs and its drivers log to syslog.  SIGINT/SIGTERM: the workers stop,
 * the drivers stop, the mount goes, exit 0.  SIGHUP: the conf is read
 * again, as by ddmctl reload, and the result logged; nothing unmounts.
 * ddmctl upgrade: upgrade.c.
 *
 * Under systemd (Type=notify) ddmfs says how it is doing with
 * sd_notify(3): STATUS= lines while it starts, READY=1 once the tree is
 * mounted and the drivers started, RELOADING=1 then READY=1 around a
 * SIGHUP reload and an upgrade (the new binary runs in the same process,
 * so MAINPID stays), STOPPING=1 on the way out.  Without $NOTIFY_SOCKET
 * these do nothing; drivers never see the variable (spawn.c gives them
 * an environment of their own).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "ctl.h"
#include "cusedev.h"
#include "ddmfs.h"
#include "drv.h"
#include "ev.h"
#include "fs.h"
#include "fuseio.h"
#include "fwd.h"
#include "log.h"
#include "mnt.h"
#include "pci.h"
#include "perm.h"
#include "proc.h"
#include "saver.h"
#include "statedir.h"
#include "sync.h"
#include "tree.h"
#include "upgrade.h"

#ifndef DDM_CONF_FILE
#define DDM_CONF_FILE "/usr/local/etc/ddmfs/ddmfs.conf"
#endif

#define MOUNT_OPTS    "allow_other,default_permissions,fsname=ddmfs,subtype=ddmfs"
#define FUSE_OPTS_MAX 16
#define DRV_MOUNT_WAIT_MS                                                      \
	5000 /* CUSE drivers get this long, in total, to come up before        \
	      * ddmfs mounts */
#define FDS_BASE       64 /* fds ddmfs needs besides its drivers' */
#define FDS_PER_DRIVER 4  /* socket, pidfd, and a spawn's passing ones */
#define WORKERS_MIN    4
#define WORKERS_MAX    16

struct opts {
	const char *conf_file;
	const char *state_dir;
	const char *driver_path;
	const char *fuse_opts[FUSE_OPTS_MAX];
	int n_fuse_opts;
	const char *mountpoint;
	int upgrade_fd; /* --upgrade-fd: the state an old ddmfs handed over */
};

static char **main_argv;         /* for an upgrade's exec */
static int main_wake = -1;       /* eventfd: a worker or ctl has news */
static int pending_upgrade = -1; /* the ctl client asking for one */
static pthread_mutex_t main_lock = PTHREAD_MUTEX_INITIALIZER;
static bool session_ended;

/*
 * Tells systemd state ("READY=1", "RELOADING=1", "STOPPING=1", or NULL
 * for none) and a STATUS= line (printf-style).  Best effort: ddmfs runs
 * the same whether or not anyone listens.
 */
static void __attribute__((format(printf, 2, 3)))
notify(const char *state, const char *fmt, ...)
{
	char status[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "%s%sSTATUS=%s", state != NULL ? state : "",
	           state != NULL ? "\n" : "", status);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ddmfs [-f] [-d] [-c FILE] [--state-dir DIR] "
	        "[--driver-path DIR[:DIR...]]\n"
	        "             [-o FUSEOPTS] [MOUNTPOINT]\n"
	        "  -f                 stay in the foreground\n"
	        "  -d                 debug: FUSE's trace, verbose logs and "
	        "every forwarded\n"
	        "                     request with its result and latency "
	        "(implies -f)\n"
	        "  -c FILE            configuration (default %s)\n"
	        "  --state-dir DIR    permissions, control socket, sim files\n"
	        "  --driver-path DIRS where driver binaries are looked up\n"
	        "  -o OPTS            extra FUSE mount options\n"
	        "  -h, --help         this text\n"
	        "  -V, --version      the version\n",
	        DDM_CONF_FILE);
}

/* path made absolute against the current directory (a daemon changes to
 * /); a new string, or NULL. */
static char *
absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* Returns -1 to go on, else the exit status. */
static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "driver-path", required_argument, NULL, 'p' },
		{ "upgrade-fd", required_argument, NULL, 'U' },
		{ "upgrade-check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->conf_file = DDM_CONF_FILE;
	o->upgrade_fd = -1;
	while ((c = getopt_long(argc, argv, "fdc:o:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			dfs.foreground = true;
			break;
		case 'd':
			dfs.debug = true;
			dfs.foreground = true;
			break;
		case 'c':
			o->conf_file = optarg;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'p':
			o->driver_path = optarg;
			break;
		case 'U':
			o->upgrade_fd = atoi(optarg);
			break;
		case 'C': /* a running ddmfs asks before it upgrades to us */
			printf("ddmfs upgrade format %d\n", UPGRADE_FORMAT);
			return 0;
		case 'o':
			if (o->n_fuse_opts == FUSE_OPTS_MAX) {
				fprintf(stderr, "ddmfs: too many -o\n");
				return 2;
			}
			o->fuse_opts[o->n_fuse_opts++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ddmfs %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		o->mountpoint = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ddmfs: unexpected argument \"%s\"\n",
		        argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static unsigned int
count_devices(const struct conf *c)
{
	unsigned int n = 0;

	for (unsigned int b = 0; b < c->n_buses; b++)
		n += c->buses[b].n_devices;
	return n;
}

/*
 * Raises the soft fd limit to the hard one (drivers get the old soft
 * limit back); refuses when even that is too small for the conf.
 */
static int
raise_nofile(const struct conf *c)
{
	struct rlimit rl;
	rlim_t need = FDS_BASE + (rlim_t)FDS_PER_DRIVER * count_devices(c);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	dfs.nofile = rl;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		logmsg("%u devices need about %llu open files, and the limit "
		       "is %llu (raise it: ulimit -Hn, or LimitNOFILE= in the "
		       "service)",
		       count_devices(c), (unsigned long long)need,
		       (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return 0;
}

/* The permission store; a file with bad lines is kept aside as .bad. */
static int
open_perms(void)
{
	char file[PATH_MAX], bad_file[PATH_MAX + 8];
	unsigned int bad = 0;
	int r;

	snprintf(file, sizeof(file), "%s/perms", dfs.state_dir);
	r = perm_store_open(file, &dfs.perms, &bad);
	if (r < 0) {
		logmsg("%s: %s", file, strerror(-r));
		return r;
	}
	if (bad > 0) {
		snprintf(bad_file, sizeof(bad_file), "%s.bad", file);
		if (link(file, bad_file) < 0 &&
		    (errno != EEXIST ||
		     (unlink(bad_file) == 0 && link(file, bad_file) < 0)))
			logmsg("%s: %u malformed lines skipped, and the file "
			       "could not be kept as %s: %s",
			       file, bad, bad_file, strerror(errno));
		else
			logmsg("%s: %u malformed lines skipped; the file as "
			       "it was is kept as %s",
			       file, bad, bad_file);
	}
	return 0;
}

static int
open_cuse_store(void)
{
	char file[PATH_MAX];
	unsigned int bad = 0;
	int r;

	if (!dfs.cuse)
		return 0;
	snprintf(file, sizeof(file), "%s/cuse", dfs.state_dir);
	r = cdev_store_open(file, &dfs.cdevs, &bad);
	if (r < 0) {
		logmsg("%s: %s", file, strerror(-r));
		return r;
	}
	if (bad > 0)
		logmsg("%s: %u malformed lines skipped", file, bad);
	return 0;
}

static struct fuse_session *
make_session(const struct opts *o, const char *argv0)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;

	if (fuse_opt_add_arg(&args, argv0) < 0 ||
	    fuse_opt_add_arg(&args, "-o" MOUNT_OPTS) < 0)
		goto free_args;
	for (int i = 0; i < o->n_fuse_opts; i++)
		if (fuse_opt_add_arg(&args, "-o") < 0 ||
		    fuse_opt_add_arg(&args, o->fuse_opts[i]) < 0)
			goto free_args;
	/* last, so a "nodev" given with -o loses: CUSE leaves need dev */
	if (dfs.cuse && fuse_opt_add_arg(&args, "-odev") < 0)
		goto free_args;
	if (dfs.debug && fuse_opt_add_arg(&args, "-d") < 0)
		goto free_args;
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), NULL);
free_args:
	fuse_opt_free_args(&args);
	return se;
}

/*
 * Detaches unless foreground: forks, and the parent waits for the child's
 * verdict through a pipe and exits with it, so a failed start is still
 * seen by whoever started ddmfs.  *ret_fd is the child's end (-1 when
 * foreground); daemon_done() sends the verdict.  0 or -errno.
 */
static int
daemon_begin(int *ret_fd)
{
	unsigned char st = 1;
	int p[2];
	pid_t pid;

	*ret_fd = -1;
	if (dfs.foreground)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &st, 1) < 0 && errno == EINTR)
			;
		_exit(st);
	}
	close(p[0]);
	setsid();
	log_open_syslog();
	*ret_fd = p[1];
	return 0;
}

/* Tells the waiting parent the exit status; on success also leaves the
 * terminal and the current directory like a daemon. */
static void
daemon_done(int *fd, unsigned char st)
{
	int null;

	if (*fd < 0)
		return;
	if (st == 0) {
		if (chdir("/") < 0)
			logmsg("chdir /: %s", strerror(errno));
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		log_close_stderr();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			close(null);
		}
	}
	if (write(*fd, &st, 1) < 0)
		logmsg("daemon pipe: %s", strerror(errno));
	close(*fd);
	*fd = -1;
}

struct cuse_wait {
	unsigned int coming;
};

static void
count_coming(struct drv *d, void *arg)
{
	struct cuse_wait *w = arg;

	pthread_mutex_lock(&d->lock);
	if (dfs.cuse && !d->removed &&
	    (d->state == DRV_STARTING || d->state == DRV_BACKOFF))
		w->coming++;
	pthread_mutex_unlock(&d->lock);
}

/* Waits up to ms in total while any CUSE driver is still coming up, so
 * their leaves have the right rdev when ddmfs mounts. */
static void
wait_cuse_up(int ms)
{
	int64_t end = proc_now() + ms;

	while (proc_now() < end) {
		struct cuse_wait w = { 0 };
		struct timespec ts = { 0, 50 * 1000000L };

		pthread_rwlock_rdlock(&dfs.tree_lock);
		drv_each(count_coming, &w);
		pthread_rwlock_unlock(&dfs.tree_lock);
		if (w.coming == 0)
			break;
		nanosleep(&ts, NULL);
	}
}

/* Stops d's driver; what an instance without a process took from kernel
 * drivers goes back now (a running one's when its process is gone). */
static void
stop_one(struct drv *d, void *arg)
{
	pthread_mutex_lock(&d->lock);
	drv_stop(d, arg);
	if (d->proc.pid == 0)
		proc_give_back(d);
	pthread_mutex_unlock(&d->lock);
}

static void
count_alive(struct drv *d, void *arg)
{
	pthread_mutex_lock(&d->lock);
	if (d->proc.pid != 0)
		(*(unsigned int *)arg)++;
	pthread_mutex_unlock(&d->lock);
}

/* Stops every driver and waits (bounded) until all processes are gone. */
static void
stop_drivers(void)
{
	int64_t end = proc_now() + DRV_STOP_MS + 1000;
	struct drv_out out = { 0 };

	drv_set_quitting();
	pthread_rwlock_rdlock(&dfs.tree_lock);
	drv_each(stop_one, &out);
	pthread_rwlock_unlock(&dfs.tree_lock);
	fwd_finish(&out);
	while (proc_now() < end) {
		unsigned int alive = 0;
		struct timespec ts = { 0, 20 * 1000000L };

		pthread_rwlock_rdlock(&dfs.tree_lock);
		drv_each(count_alive, &alive);
		pthread_rwlock_unlock(&dfs.tree_lock);
		if (alive == 0)
			break;
		nanosleep(&ts, NULL);
	}
}

static void
kick_main(void)
{
	if (eventfd_write(main_wake, 1) < 0)
		logmsg("eventfd: %s", strerror(errno));
}

/* The kernel ended the session (unmounted from outside, aborted). */
static void
on_session_end(void)
{
	pthread_mutex_lock(&main_lock);
	session_ended = true;
	pthread_mutex_unlock(&main_lock);
	kick_main();
}

/* ctl's upgrade hook: the main thread does it. */
static int
on_upgrade(int client_fd)
{
	int r = 0;

	pthread_mutex_lock(&main_lock);
	if (pending_upgrade >= 0)
		r = -EBUSY;
	else
		pending_upgrade = client_fd;
	pthread_mutex_unlock(&main_lock);
	if (r == 0)
		kick_main();
	return r;
}

static void restart_threads(void);

/*
 * SIGHUP: reads the conf again exactly as ddmctl reload does (ctl.c, as
 * root) and logs its answer, one line at a time.  The mount stays.
 */
static void
reload_on_hup(void)
{
	char *reply = NULL, *line, *save = NULL;
	const char *last = "";
	int r;

	notify("RELOADING=1", "reloading %s", dfs.conf_file);
	r = ctl_handle("reload", 0, &reply);
	if (reply == NULL) {
		logmsg("SIGHUP: reload: %s", strerror(-r));
	} else {
		/* "OK\n" then the changes, or "ERR KIND message\n" */
		for (line = strtok_r(reply, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "OK") == 0)
				continue;
			if (strncmp(line, "ERR ", 4) == 0 &&
			    strchr(line + 4, ' ') != NULL)
				line = strchr(line + 4, ' ') + 1;
			logmsg("SIGHUP: %s", line);
			last = line;
		}
	}
	notify("READY=1", "serving %s; %s%s", dfs.mountpoint,
	       r < 0 ? "reload failed: " : "", last);
	free(reply);
}

/*
 * Waits for a quit signal, the end of the session, or an upgrade to do;
 * SIGHUP reloads the conf.  Returns 0 to shut down.
 */
static int
serve(int sigfd)
{
	for (;;) {
		struct pollfd p[2] = { { sigfd, POLLIN, 0 },
			               { main_wake, POLLIN, 0 } };
		struct signalfd_siginfo si;
		eventfd_t v;
		int client;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if ((p[0].revents & POLLIN) &&
		    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload_on_hup();
				continue;
			}
			logdbg("signal %u: stopping", si.ssi_signo);
			notify("STOPPING=1", "stopping (signal %u)",
			       si.ssi_signo);
			return 0;
		}
		if (!(p[1].revents & POLLIN))
			continue;
		eventfd_read(main_wake, &v);
		pthread_mutex_lock(&main_lock);
		client = pending_upgrade;
		pending_upgrade = -1;
		if (session_ended && client < 0) {
			pthread_mutex_unlock(&main_lock);
			logmsg("%s: the kernel ended the session (unmounted?)",
			       dfs.mountpoint);
			notify("STOPPING=1", "stopping: %s was unmounted",
			       dfs.mountpoint);
			return 0;
		}
		pthread_mutex_unlock(&main_lock);
		if (client >= 0) { /* returns only if it failed */
			notify("RELOADING=1", "upgrading to %s", dfs.self_exe);
			upgrade_now(client, main_argv, restart_threads);
			notify("READY=1", "serving %s; the upgrade failed",
			       dfs.mountpoint);
		}
	}
}

/* Blocks the signals the main thread waits for in every thread, and
 * returns a signalfd for them. */
static int
quit_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static unsigned int
workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) * 2;

	if (n < WORKERS_MIN)
		n = WORKERS_MIN;
	return n > WORKERS_MAX ? WORKERS_MAX : (unsigned int)n;
}

/* PCI hotplug, on the event thread: pci0 follows what came or went. */
static void
on_pci_event(void *arg)
{
	struct sync_result res;

	(void)arg;
	if (!pci_monitor_read())
		return;
	if (sync_pci_rescan(&res) < 0)
		logmsg("hotplug: %s", strerror(ENOMEM));
	sync_result_free(&res);
}

/* Starts watching for PCI hotplug (before the first scan, so no event
 * between the two is lost). */
static void
watch_pci(void)
{
	int r = pci_monitor_open();

	if (r >= 0)
		r = ev_watch(r, on_pci_event, NULL);
	if (r < 0)
		logmsg("pci: no hotplug monitor: %s", strerror(-r));
}

/* The threads that serve: saver, control socket, events. */
static int
start_threads(int ctl_listen)
{
	int r = saver_start();

	if (r == 0)
		r = ctl_start(ctl_listen, on_upgrade);
	if (r < 0)
		logmsg("control socket %s/%s: %s", dfs.state_dir, CTL_SOCK,
		       strerror(-r));
	if (r == 0)
		r = ev_start();
	return r;
}

static void
stop_threads(bool keep_ctl)
{
	ctl_stop(keep_ctl);
	saver_stop();
	ev_stop();
}

static void
refresh_node(struct node *n, void *arg)
{
	tree_refresh(dfs.perms, n);
}

static void
record_one(struct drv *d, void *arg)
{
	pthread_mutex_lock(&d->lock);
	drv_sys->record(d);
	pthread_mutex_unlock(&d->lock);
}

/* After a failed upgrade: everything serves again as before. */
static void
restart_threads(void)
{
	if (ev_start() < 0 || saver_start() < 0 ||
	    fuseio_start(dfs.se, dfs.workers, on_session_end) < 0 ||
	    ctl_start(ctl_fd(), on_upgrade) < 0)
		logmsg("upgrade: cannot restart the threads: %s",
		       strerror(errno));
}

/* Takes over from an earlier ddmfs that handed its state to fd.  0 to
 * serve, or the exit status (the mount is lost then). */
static int
resume(int fd, const struct opts *o, const char *argv0)
{
	struct upgrade_fds up;
	char mnt[32], err[CONF_ERR_MAX];
	struct sync_result res;
	struct conf *c;
	int r;

	r = upgrade_restore(fd, &up);
	if (r < 0 || open_perms() < 0 || open_cuse_store() < 0)
		return 1;
	tree_walk(refresh_node, NULL);
	tree_refresh(dfs.perms, tree_root());
	dfs.se = make_session(o, argv0);
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", up.fuse);
	if (dfs.se == NULL || fuse_session_mount(dfs.se, mnt) < 0 ||
	    fuseio_replay_init(dfs.se, up.init, up.init_len) < 0) {
		logmsg("upgrade: cannot take over the FUSE session");
		return 1;
	}
	dfs.fd_mounted = true;
	fuseio_set_interrupt_hook(fwd_interrupt_unique);
	drv_each(record_one, NULL); /* this process keeps the records now */
	if (start_threads(up.ctl) < 0 ||
	    fuseio_start(dfs.se, dfs.workers, on_session_end) < 0)
		return 1;
	/* the conf may have changed with the binary: follow it */
	if (conf_load(dfs.conf_file, &c, err, sizeof(err)) < 0) {
		logmsg("upgrade: %s; keeping the tree as it was", err);
	} else {
		sync_conf(c, true, &res);
		sync_result_free(&res);
	}
	logmsg("upgraded: pid %d goes on with %s", (int)getpid(), dfs.self_exe);
	notify("READY=1", "serving %s (upgraded)", dfs.mountpoint);
	ctl_send_reply(up.client, "OK\nupgraded\n");
	close(up.client);
	return 0;
}

static void
free_one(struct drv *d, void *arg)
{
	ev_forget(d);
	drv_free(d);
}

/* Frees what main() set up (nothing runs any more). */
static void
free_all(void)
{
	drv_each(free_one, NULL);
	tree_free();
	perm_store_free(dfs.perms);
	cdev_store_free(dfs.cdevs);
	conf_free(dfs.conf);
	free(dfs.conf_file);
	free(dfs.state_dir);
	free(dfs.mountpoint);
	free(dfs.driver_path);
	free(dfs.self_exe);
}

int
main(int argc, char **argv)
{
	char err[CONF_ERR_MAX], why[512];
	struct sync_result res;
	struct opts o = { 0 };
	struct conf *c = NULL;
	const char *mp;
	int r, status = 1, report = -1, sigfd, use_cuse = 0;

	/* a fixed mmap threshold: blocks of 128 KiB and more (a big tree's
	 * ctl listing) go back to the kernel when freed.  glibc would raise
	 * it after the first such free and keep the next ones in the arena */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	log_set_verbose(dfs.debug);
	dfs.self_exe = realpath("/proc/self/exe", NULL);
	sigfd = quit_signals();
	main_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || main_wake < 0 || dfs.self_exe == NULL) {
		logmsg("start-up: %s", strerror(errno));
		return 1;
	}
	proc_init();
	main_argv = argv;
	dfs.workers = workers();
	if (o.upgrade_fd >= 0) {
		if (ev_init() < 0)
			return 1;
		watch_pci();
		if (resume(o.upgrade_fd, &o, argv[0]) != 0)
			return 1;
		goto serve;
	}
	if (conf_load(o.conf_file, &c, err, sizeof(err)) < 0) {
		logmsg("%s", err);
		return 2;
	}
	r = cdev_choose(c->transport, CDEV_DEV_PATH, &use_cuse);
	if (r < 0) {
		logmsg("transport \"cuse\": %s: %s", CDEV_DEV_PATH,
		       strerror(-r));
		conf_free(c);
		return 2;
	}
	dfs.cuse = use_cuse != 0;
	logdbg("transport %s", dfs.cuse ? "cuse" : "fuse");
	mp = o.mountpoint != NULL ? o.mountpoint : c->mountpoint;
	if (o.state_dir == NULL)
		o.state_dir = c->state_dir;
	dfs.conf_file = absolute(o.conf_file);
	dfs.state_dir = dfs.conf_file ? absolute(o.state_dir) : NULL;
	if (dfs.state_dir == NULL) {
		logmsg("%s: %s", dfs.conf_file ? o.state_dir : o.conf_file,
		       strerror(errno));
		status = 2;
		goto free_conf;
	}
	dfs.driver_path = o.driver_path ? strdup(o.driver_path) : NULL;
	r = mnt_canonical(mp, &dfs.mountpoint);
	if (r < 0) {
		logmsg("mountpoint %s: %s", mp, strerror(-r));
		status = 2;
		goto free_conf;
	}
	if (raise_nofile(c) < 0) {
		status = 2;
		goto free_conf;
	}
	dfs.state_fd =
	        statedir_open(dfs.state_dir, &dfs.lock_fd, why, sizeof(why));
	if (dfs.state_fd < 0) {
		logmsg("state dir %s: %s", dfs.state_dir, why);
		status = 2;
		goto free_conf;
	}
	dfs.mnt_lock_fd = mnt_prepare(dfs.mountpoint, why, sizeof(why));
	if (dfs.mnt_lock_fd < 0) {
		logmsg("mountpoint %s: %s", dfs.mountpoint, why);
		status = 2;
		goto free_conf;
	}
	if (open_perms() < 0 || open_cuse_store() < 0 || proc_sim(c) < 0) {
		status = 2;
		goto free_conf;
	}
	dfs.se = make_session(&o, argv[0]);
	if (dfs.se == NULL || ev_init() < 0 || tree_init() < 0)
		goto free_conf;
	watch_pci();
	if (daemon_begin(&report) < 0)
		goto free_conf;
	notify(NULL, "starting the drivers of %s", dfs.conf_file);
	r = sync_conf(c, false, &res);
	c = NULL;
	sync_result_free(&res);
	if (r < 0 || start_threads(-1) < 0)
		goto stop;
	pthread_rwlock_rdlock(&dfs.tree_lock);
	r = (int)proc_adopt_all();
	pthread_rwlock_unlock(&dfs.tree_lock);
	if (r > 0)
		logmsg("adopted %d drivers left running by an earlier ddmfs",
		       r);
	sync_start_all();
	/* the conf's parse tree and the first sync's notes are freed: give
	 * their pages back, a big tree leaves megabytes of them */
	malloc_trim(0);
	if (dfs.cuse)
		wait_cuse_up(DRV_MOUNT_WAIT_MS);
	clock_gettime(CLOCK_REALTIME, &dfs.mount_time);
	notify(NULL, "mounting %s", dfs.mountpoint);
	if (fuse_session_mount(dfs.se, dfs.mountpoint) < 0)
		goto stop;
	if (fuseio_start(dfs.se, dfs.workers, on_session_end) < 0)
		goto unmount;
	daemon_done(&report, 0);
	notify("READY=1", "serving %s", dfs.mountpoint);
serve:
	r = serve(sigfd);
	status = r < 0 ? 1 : 0;
	if (r < 0)
		notify("STOPPING=1", "stopping: %s", strerror(-r));
	fuseio_stop();
unmount:
	stop_drivers();
	if (dfs.fd_mounted)
		mnt_detach(dfs.mountpoint);
	else
		fuse_session_unmount(dfs.se);
	goto stopped;
stop:
	stop_drivers();
stopped:
	stop_threads(false);
	daemon_done(&report, (unsigned char)status);
free_conf:
	if (dfs.se != NULL)
		fuse_session_destroy(dfs.se);
	conf_free(c);
	free_all();
	return status;
}
