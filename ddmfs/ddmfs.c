/*
 * ddmfs.c: the ddmfs daemon's main: options, conf, mount, run, unmount.
 *
 * ddmfs [-f] [-d] [-c FILE] [--state-dir DIR] [--driver-path DIR[:DIR...]]
 *       [-o FUSEOPTS] [MOUNTPOINT]
 *
 * The command line overrides the conf.  A bad conf exits 2 without
 * mounting, and so does transport "cuse" without /dev/cuse, or a state dir
 * that is not root's alone.  The drivers start before the mount; under
 * CUSE ddmfs waits (DRV_MOUNT_WAIT_MS in all) for them so the leaves' rdev
 * is right from the start.  As a daemon (no -f) ddmfs and its drivers log
 * to syslog.  SIGINT/SIGTERM unmount, stop the drivers and exit 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddmfs.h"

#ifndef DDM_CONF_FILE
#define DDM_CONF_FILE "/usr/local/etc/ddmfs.conf"
#endif

#define MOUNT_OPTS    "allow_other,default_permissions,fsname=ddmfs,subtype=ddmfs"
#define FUSE_OPTS_MAX 16

struct opts {
	int foreground;
	int debug;
	const char *conf_file;
	const char *state_dir;
	const char *driver_path;
	const char *fuse_opts[FUSE_OPTS_MAX];
	int n_fuse_opts;
	const char *mountpoint;
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ddmfs [-f] [-d] [-c FILE] [--state-dir DIR] "
	        "[--driver-path DIR[:DIR...]]\n"
	        "             [-o FUSEOPTS] [MOUNTPOINT]\n"
	        "  -f                 stay in the foreground\n"
	        "  -d                 FUSE debug output and verbose logs "
	        "(implies -f)\n"
	        "  -c FILE            configuration (default %s)\n"
	        "  --state-dir DIR    permissions, control socket, sim files\n"
	        "  --driver-path DIRS where driver binaries are looked up\n"
	        "  -o OPTS            extra FUSE mount options\n"
	        "  -h, --help         this text\n"
	        "  -V, --version      the version\n",
	        DDM_CONF_FILE);
}

/* path made absolute against the current directory (fuse_daemonize
 * changes to /); a new string, or NULL. */
static char *
absolute(const char *path)
{
	char cwd[4096], *out;

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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->conf_file = DDM_CONF_FILE;
	while ((c = getopt_long(argc, argv, "fdc:o:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = 1;
			o->foreground = 1;
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

/*
 * Finds every device's driver along the search path.  Returns an array
 * with one path (or NULL: left out) per device in conf order.
 */
static char **
find_drivers(const struct conf *c, const char *dirs)
{
	size_t n = 0, k = 0;
	char **paths;

	for (unsigned int b = 0; b < c->n_buses; b++)
		n += c->buses[b].n_devices;
	paths = calloc(n + 1, sizeof(*paths));
	if (paths == NULL)
		return NULL;
	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++) {
			const struct conf_device *d = &c->buses[b].devices[i];

			if (drv_lookup(d->driver, dirs, &paths[k]) < 0)
				logmsg("%s:%u: driver \"%s\" not found in %s; "
				       "node %s/%s left out",
				       c->file, d->line, d->driver, dirs,
				       c->buses[b].name, d->name);
			else
				logdbg("%s/%s: driver %s", c->buses[b].name,
				       d->name, paths[k]);
			k++;
		}
	return paths;
}

static void
free_paths(char **paths, const struct conf *c)
{
	size_t n = 0;

	if (paths == NULL)
		return;
	for (unsigned int b = 0; b < c->n_buses; b++)
		n += c->buses[b].n_devices;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/*
 * Marks every leaf as a CUSE node with the numbers <state_dir>/cuse has
 * for it (0:0 for a new node: the kernel picks, the leaf shows 0:0 until
 * its driver is up).
 */
static int
setup_cuse(void)
{
	char file[4096];
	unsigned int bad = 0;
	int r;

	snprintf(file, sizeof(file), "%s/cuse", dfs.state_dir);
	r = cdev_store_open(file, &dfs.cdevs, &bad);
	if (r < 0) {
		logmsg("%s: %s", file, strerror(-r));
		return r;
	}
	if (bad > 0)
		logmsg("%s: %u malformed lines skipped", file, bad);
	for (size_t i = 0; i < dfs.n_nodes; i++) {
		struct node *n = &dfs.nodes[i];

		if (n->is_dir)
			continue;
		n->cuse = 1;
		cdev_store_get(dfs.cdevs, n->path, &n->rdev_maj, &n->rdev_min);
	}
	return 0;
}

/* Sets up the tree and a driver object per leaf. */
static int
setup(const struct opts *o)
{
	char **paths, *dirs, file[4096];
	unsigned int bad = 0;
	size_t k = 0;
	int r;

	snprintf(file, sizeof(file), "%s/perms", dfs.state_dir);
	r = perm_store_open(file, &dfs.perms, &bad);
	if (r < 0) {
		logmsg("%s: %s", file, strerror(-r));
		return r;
	}
	if (bad > 0)
		logmsg("%s: %u malformed lines skipped", file, bad);
	dirs = drv_search_list(o->driver_path, dfs.conf);
	paths = dirs != NULL ? find_drivers(dfs.conf, dirs) : NULL;
	free(dirs);
	if (paths == NULL)
		return -ENOMEM;
	r = tree_build(dfs.conf, dfs.perms, paths, &dfs.nodes, &dfs.n_nodes);
	if (r == 0 && dfs.cuse)
		r = setup_cuse();
	for (unsigned int b = 0; r == 0 && b < dfs.conf->n_buses; b++)
		for (unsigned int i = 0; i < dfs.conf->buses[b].n_devices;
		     i++, k++) {
			struct drv *d;
			char path[NODE_PATH_MAX];

			if (paths[k] == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/%s",
			         dfs.conf->buses[b].name,
			         dfs.conf->buses[b].devices[i].name);
			d = calloc(1, sizeof(*d));
			r = d == NULL ? -ENOMEM
			              : drv_init(d, tree_find(path), paths[k]);
			if (r < 0)
				free(d);
		}
	free_paths(paths, dfs.conf);
	return r;
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
	if (o->debug && fuse_opt_add_arg(&args, "-d") < 0)
		goto free_args;
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), NULL);
free_args:
	fuse_opt_free_args(&args);
	return se;
}

/* Starts the helper threads with the quit signals blocked in them. */
static int
start_threads(void)
{
	sigset_t quit, old;
	int r;

	sigemptyset(&quit);
	sigaddset(&quit, SIGINT);
	sigaddset(&quit, SIGTERM);
	sigaddset(&quit, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &quit, &old);
	r = ctl_start();
	if (r < 0)
		logmsg("control socket: %s", strerror(-r));
	else
		r = ev_start();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/*
 * Detaches unless foreground: forks, and the parent waits for the child's
 * verdict through a pipe and exits with it, so a failed start is still
 * seen by whoever started ddmfs.  *ret_fd is the child's end (-1 when
 * foreground); daemon_done() sends the verdict.  0 or -errno.
 */
static int
daemon_begin(int foreground, int *ret_fd)
{
	unsigned char st = 1;
	int p[2];
	pid_t pid;

	if (foreground) {
		*ret_fd = -1;
		return 0;
	}
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

/* Starts every driver; CUSE ones get DRV_MOUNT_WAIT_MS to come up. */
static void
start_drivers(void)
{
	pthread_mutex_lock(&dfs.lock);
	for (size_t i = 0; i < dfs.n_nodes; i++)
		if (dfs.nodes[i].drv != NULL)
			drv_start(dfs.nodes[i].drv);
	pthread_mutex_unlock(&dfs.lock);
	if (dfs.cuse)
		drv_wait_cuse_up(DRV_MOUNT_WAIT_MS);
}

static int
loop(void)
{
	struct fuse_loop_config *cfg;
	int r;

	cfg = fuse_loop_cfg_create();
	if (cfg == NULL)
		return 1;
	/* workers never wait for drivers beyond the send bound; more of
	 * them keep other nodes answering while one driver is stuck */
	fuse_loop_cfg_set_max_threads(cfg, FS_MAX_THREADS);
	r = fuse_session_loop_mt(dfs.se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	char err[CONF_ERR_MAX], *conf_file = NULL, *state_dir = NULL;
	pthread_condattr_t ca;
	struct opts o = { 0 };
	const char *mp;
	int r, status = 1, report = -1;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	dfs.verbose = o.debug;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dfs.cond, &ca);
	if (conf_load(o.conf_file, &dfs.conf, err, sizeof(err)) < 0) {
		logmsg("%s", err);
		return 2;
	}
	r = cdev_choose(dfs.conf->transport, CDEV_DEV_PATH, &dfs.cuse);
	if (r < 0) {
		logmsg("transport \"cuse\": %s: %s", CDEV_DEV_PATH,
		       strerror(-r));
		status = 2;
		goto free_conf;
	}
	logdbg("transport %s", dfs.cuse ? "cuse" : "fuse");
	mp = o.mountpoint != NULL ? o.mountpoint : dfs.conf->mountpoint;
	if (o.state_dir == NULL)
		o.state_dir = dfs.conf->state_dir;
	if (o.state_dir == NULL || mp == NULL) {
		logmsg("%s: no %s", o.conf_file,
		       mp == NULL ? "mountpoint" : "state_dir");
		goto free_conf;
	}
	conf_file = absolute(o.conf_file);
	state_dir = absolute(o.state_dir);
	if (conf_file == NULL || state_dir == NULL)
		goto free_conf;
	dfs.conf_file = conf_file;
	dfs.state_dir = state_dir;
	if (drv_prepare_state(dfs.conf, dfs.state_dir, err, sizeof(err)) < 0) {
		logmsg("state dir %s: %s", dfs.state_dir, err);
		status = 2;
		goto free_conf;
	}
	if (ev_init() < 0 || setup(&o) < 0)
		goto free_tree;
	dfs.se = make_session(&o, argv[0]);
	if (dfs.se == NULL)
		goto free_tree;
	if (fuse_set_signal_handlers(dfs.se) < 0)
		goto destroy_session;
	if (mkdir(mp, 0755) < 0 && errno != EEXIST)
		logmsg("mkdir %s: %s", mp, strerror(errno));
	if (daemon_begin(o.foreground, &report) < 0)
		goto remove_handlers;
	if (start_threads() < 0)
		goto stop;
	start_drivers();
	clock_gettime(CLOCK_REALTIME, &dfs.mount_time);
	if (fuse_session_mount(dfs.se, mp) < 0)
		goto stop;
	pthread_mutex_lock(&dfs.lock);
	dfs.mounted = 1;
	pthread_mutex_unlock(&dfs.lock);
	daemon_done(&report, 0);
	status = loop();
	pthread_mutex_lock(&dfs.lock);
	dfs.mounted = 0;
	pthread_mutex_unlock(&dfs.lock);
	fuse_session_unmount(dfs.se);
stop:
	drv_stop_all();
	ctl_stop();
	ev_stop();
	daemon_done(&report, (unsigned char)status);
remove_handlers:
	fuse_remove_signal_handlers(dfs.se);
destroy_session:
	fuse_session_destroy(dfs.se);
free_tree:
	for (size_t i = 0; i < dfs.n_nodes; i++)
		drv_free(dfs.nodes[i].drv);
	tree_free(dfs.nodes, dfs.n_nodes);
	perm_store_free(dfs.perms);
	cdev_store_free(dfs.cdevs);
free_conf:
	conf_free(dfs.conf);
	free(conf_file);
	free(state_dir);
	return status;
}
