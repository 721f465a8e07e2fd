/*
 * spawn.c: finding driver binaries and starting driver processes.
 *
 * A driver is started by fork and exec.  The child keeps only its end of
 * the SOCK_SEQPACKET socketpair (as fd 3), under CUSE a /dev/cuse fd (as
 * fd 4), for io = "devport" an O_RDWR /dev/port fd (as fd 5; the driver
 * could not open it without CAP_SYS_RAWIO), and stdout/stderr.  It gets
 * ioperm for its granted ports (io = "pio" only, never iopl), a session of
 * its own (no terminal signals), switches to its run user, drops every
 * capability and execs with a minimal environment.
 *
 * The state dir must belong to root and be writable by nobody else, since
 * root reads it and chowns in it; its sim/ is made and chowned without
 * following symlinks.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddmfs.h"

#ifndef DDM_DRIVER_DIR
#define DDM_DRIVER_DIR "/usr/local/libexec/ddmfs"
#endif

#define DRV_FD      3 /* the socket's number in the driver */
#define CUSE_FD     4 /* the /dev/cuse fd's number in the driver */
#define DEVPORT_FD  5 /* the /dev/port fd's number in the driver */
#define DEVPORT_DEV "/dev/port"
#define HIGH_FD     10 /* fds are parked above this while renumbering */
#define CAP_MAX_TRY 64 /* above any capability number Linux has */

/*
 * The driver search list of a ddmfs whose binary is exe: every directory
 * below <B>/drivers first when exe is <B>/ddmfs/ddmfs and <B>/drivers
 * exists (a build tree; written "<B>/drivers/" "*"), then cmdline_path,
 * else the conf's driver_path, else DDM_DRIVER_DIR.  Returns a new
 * colon-separated string or NULL.
 */
char *
drv_search_list_exe(const char *exe, const char *cmdline_path,
                    const struct conf *c)
{
	const char *rest = cmdline_path, *suffix = "/ddmfs/ddmfs";
	size_t n = strlen(exe), k = strlen(suffix);
	char *dir, *out = NULL;
	struct stat st;

	if (rest == NULL)
		rest = c->driver_path;
	if (rest == NULL)
		rest = DDM_DRIVER_DIR;
	if (n <= k || strcmp(exe + n - k, suffix) != 0)
		return strdup(rest);
	if (asprintf(&dir, "%.*s/drivers", (int)(n - k), exe) < 0)
		return NULL;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (asprintf(&out, "%s/*:%s", dir, rest) < 0)
			out = NULL;
	} else {
		out = strdup(rest);
	}
	free(dir);
	return out;
}

/* drv_search_list_exe() for this process's own binary. */
char *
drv_search_list(const char *cmdline_path, const struct conf *c)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	return drv_search_list_exe(exe, cmdline_path, c);
}

static int
is_exec(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* Looks for name in each subdirectory of dir. */
static int
lookup_sub(const char *dir, const char *name, char **ret_path)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char *p;

	if (dp == NULL)
		return -ENOENT;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s/%s", dir, de->d_name, name) < 0)
			break;
		if (is_exec(p)) {
			closedir(dp);
			*ret_path = p;
			return 0;
		}
		free(p);
	}
	closedir(dp);
	return -ENOENT;
}

/*
 * Finds driver binary name (a bare name) along dirs, colon-separated;
 * an entry ending in "/" "*" means every subdirectory of that directory.
 * Returns 0 or -ENOENT.
 */
int
drv_lookup(const char *name, const char *dirs, char **ret_path)
{
	const char *s = dirs;

	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -ENOENT;
	while (*s != '\0') {
		size_t len = strcspn(s, ":");
		char dir[PATH_MAX], *p;

		if (len > 0 && len < sizeof(dir)) {
			memcpy(dir, s, len);
			dir[len] = '\0';
			if (len >= 2 && strcmp(dir + len - 2, "/*") == 0) {
				dir[len - 2] = '\0';
				if (lookup_sub(dir, name, ret_path) == 0)
					return 0;
			} else if (asprintf(&p, "%s/%s", dir, name) >= 0) {
				if (is_exec(p)) {
					*ret_path = p;
					return 0;
				}
				free(p);
			}
		}
		s += len;
		if (*s == ':')
			s++;
	}
	return -ENOENT;
}

/*
 * Checks that dir (made 0755 if missing; its parent must exist) is a
 * directory owned by this process's user (root) and writable by no one
 * else.  A symlink is followed only if root owns it.  0, or -errno with
 * the reason in why.
 */
static int
check_state_dir(const char *dir, char *why, size_t whylen)
{
	uid_t me = geteuid();
	struct stat st;

	if (lstat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0755) < 0 &&
	    errno != EEXIST)
		goto fail_errno;
	if (lstat(dir, &st) < 0)
		goto fail_errno;
	if (S_ISLNK(st.st_mode)) {
		if (st.st_uid != me) {
			snprintf(why, whylen, "a symlink owned by uid %u",
			         (unsigned int)st.st_uid);
			return -EPERM;
		}
		if (stat(dir, &st) < 0)
			goto fail_errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "not a directory");
		return -ENOTDIR;
	}
	if (st.st_uid != me) {
		if (me == 0)
			snprintf(why, whylen, "owned by uid %u, not root",
			         (unsigned int)st.st_uid);
		else
			snprintf(why, whylen, "owned by uid %u, not uid %u",
			         (unsigned int)st.st_uid, (unsigned int)me);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "writable by %s (mode %04o)",
		         st.st_mode & S_IWOTH ? "others" : "group",
		         (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;

fail_errno:
	snprintf(why, whylen, "%s", strerror(errno));
	return -errno;
}

/* The drivers' user: the one all devices run as, else the conf's. */
static void
sim_owner(const struct conf *c, uid_t *uid, gid_t *gid)
{
	int first = 1;

	*uid = c->driver_uid;
	*gid = c->driver_gid;
	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++) {
			const struct conf_device *d = &c->buses[b].devices[i];

			if (first) {
				*uid = d->run_uid;
				*gid = d->run_gid;
				first = 0;
			} else if (d->run_uid != *uid || d->run_gid != *gid) {
				*uid = c->driver_uid;
				*gid = c->driver_gid;
				return;
			}
		}
}

/*
 * Checks state_dir (see check_state_dir) and makes state_dir/sim, a real
 * directory (0755) owned by the drivers' user, without following a
 * symlink planted there.  0, or -errno with the reason in why.
 */
int
drv_prepare_state(const struct conf *c, const char *state_dir, char *why,
                  size_t whylen)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	int dfd, r;

	r = check_state_dir(state_dir, why, whylen);
	if (r < 0)
		return r;
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s", strerror(-r));
		return r;
	}
	if (mkdirat(dfd, "sim", 0755) < 0 && errno != EEXIST)
		goto fail_errno;
	if (fstatat(dfd, "sim", &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail_errno;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "sim is %s, not a directory",
		         S_ISLNK(st.st_mode) ? "a symlink" : "a file");
		r = -ENOTDIR;
		goto close_dir;
	}
	sim_owner(c, &uid, &gid);
	if (fchownat(dfd, "sim", uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail_errno;
	close(dfd);
	return 0;

fail_errno:
	r = -errno;
	snprintf(why, whylen, "sim: %s", strerror(-r));
close_dir:
	close(dfd);
	return r;
}

/*
 * The argv of driver binary path for node (a "bus/dev" path) with conf
 * entry cd: --io, --node, --state-dir, --ddm-fd, --cuse-fd and --cuse-dev
 * MAJ:MIN when cuse (0:0: the kernel picks), --ports when cd grants ports,
 * --devport-fd for io "devport", --syslog if use_syslog, then the conf's
 * extra arguments.  NULL-terminated; NULL on ENOMEM.
 */
char **
drv_argv(const char *path, const char *node, const char *state_dir,
         const struct conf_device *cd, int cuse, unsigned int maj,
         unsigned int min, int use_syslog)
{
	char ports[CONF_PORTS_MAX * 16 + 16] = "";
	size_t n_args = 0, k = 0, n_fixed, off;
	char **argv;

	while (cd->args != NULL && cd->args[n_args] != NULL)
		n_args++;
	argv = calloc(n_args + 12, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	argv[k++] = strdup(path);
	if (asprintf(&argv[k++], "--io=%s", cd->io) < 0 ||
	    asprintf(&argv[k++], "--node=%s", node) < 0 ||
	    asprintf(&argv[k++], "--state-dir=%s", state_dir) < 0 ||
	    asprintf(&argv[k++], "--ddm-fd=%d", DRV_FD) < 0 ||
	    (cuse && (asprintf(&argv[k++], "--cuse-fd=%d", CUSE_FD) < 0 ||
	              asprintf(&argv[k++], "--cuse-dev=%u:%u", maj, min) < 0)))
		argv[--k] = NULL;
	n_fixed = cuse ? 7 : 5;
	if (cd->n_ports > 0 && k == n_fixed) {
		off = (size_t)snprintf(ports, sizeof(ports), "--ports=");
		for (unsigned int i = 0; i < cd->n_ports; i++)
			off += (size_t)snprintf(
			        ports + off, sizeof(ports) - off, "%s0x%x-0x%x",
			        i > 0 ? "," : "", cd->ports[i].base,
			        cd->ports[i].base + cd->ports[i].len - 1);
		argv[k++] = strdup(ports);
	}
	if (k < n_fixed)
		goto free_argv;
	if (strcmp(cd->io, "devport") == 0 &&
	    asprintf(&argv[k++], "--devport-fd=%d", DEVPORT_FD) < 0)
		argv[--k] = NULL;
	if (use_syslog)
		argv[k++] = strdup("--syslog");
	for (size_t i = 0; i < n_args; i++)
		argv[k++] = strdup(cd->args[i]);
	for (size_t i = 0; i < k; i++)
		if (argv[i] == NULL)
			goto free_argv;
	return argv;

free_argv:
	for (size_t i = 0; i < k; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

/* NULL is fine. */
void
drv_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* In the child: writes "ddmfs: NODE: what: ENAME" and exits 127. */
static void __attribute__((noreturn))
child_die(const char *node, const char *what, int err)
{
	char buf[256];
	const char *e = strerrorname_np(err);
	int n = snprintf(buf, sizeof(buf), "ddmfs: %s: %s: %s\n", node, what,
	                 e != NULL ? e : "error");

	if (n > 0 && write(2, buf, (size_t)n) < 0)
		_exit(127);
	_exit(127);
}

/*
 * In the child: sock becomes DRV_FD, cuse CUSE_FD and devport DEVPORT_FD
 * (-1: none), without FD_CLOEXEC; stdin is /dev/null (stdout and stderr
 * too when the driver logs to syslog, so it keeps no terminal or pipe of
 * whoever started ddmfs) and every other fd above 2 is closed.  All are parked
 * at HIGH_FD and above first, so no dup2 can clobber another.
 */
static void
child_fds(const char *node, int sock, int cuse, int devport)
{
	static const int to[3] = { DRV_FD, CUSE_FD, DEVPORT_FD };
	int fds[3] = { sock, cuse, devport };
	int null;

	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 &&
		    (fds[i] = fcntl(fds[i], F_DUPFD, HIGH_FD)) < 0)
			child_die(node, "F_DUPFD", errno);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 ||
	    (log_uses_syslog() && (dup2(null, 1) < 0 || dup2(null, 2) < 0)))
		child_die(node, "/dev/null", errno);
	if (close_range(3, HIGH_FD - 1, 0) < 0)
		child_die(node, "close_range", errno);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], to[i]) < 0)
			child_die(node, "dup2", errno);
	if (close_range(DEVPORT_FD + 1, ~0U, 0) < 0)
		child_die(node, "close_range", errno);
}

/* In the child: grants, session, identity, capabilities, then exec. */
static void __attribute__((noreturn))
child(const struct drv *d, const struct conf_device *cd, int sock, int cuse,
      int devport, char **argv)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LANG=C.UTF-8",
		                      NULL };
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		                                0 };
	struct __user_cap_data_struct data[2];
	const char *node = d->node->path;
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	child_fds(node, sock, cuse, devport);
	if (setsid() < 0)
		child_die(node, "setsid", errno);
	if (strcmp(cd->io, "pio") == 0)
		for (unsigned int i = 0; i < cd->n_ports; i++)
			if (ioperm(cd->ports[i].base, cd->ports[i].len, 1) < 0)
				child_die(node, "ioperm", errno);
	for (int cap = 0; cap < CAP_MAX_TRY; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			child_die(node, "PR_CAPBSET_DROP", errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		child_die(node, "PR_CAP_AMBIENT", errno);
	if (setgroups(0, NULL) < 0)
		child_die(node, "setgroups", errno);
	if (setresgid(cd->run_gid, cd->run_gid, cd->run_gid) < 0)
		child_die(node, "setresgid", errno);
	if (setresuid(cd->run_uid, cd->run_uid, cd->run_uid) < 0)
		child_die(node, "setresuid", errno);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_die(node, "capset", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_die(node, "PR_SET_NO_NEW_PRIVS", errno);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		child_die(node, "PR_SET_PDEATHSIG", errno);
	execve(argv[0], argv, envp);
	child_die(node, argv[0], errno);
}

/*
 * Starts d's driver process (dfs.lock held).  Returns 0 with the ddmfs end
 * of the socket in *ret_sock and a pidfd in *ret_pidfd, or -errno.  For a
 * CUSE node the child gets a /dev/cuse fd opened here, and the driver asks
 * for the node's known numbers; ddmfs's copy is closed right after the
 * fork, since the driver makes the shared file description non-blocking.
 * A devport driver likewise gets /dev/port opened here.
 */
int
drv_spawn(struct drv *d, int *ret_sock, int *ret_pidfd)
{
	const struct node *n = d->node;
	const struct conf_device *cd = &dfs.conf->buses[n->bus].devices[n->dev];
	char **argv;
	int sv[2], cuse = -1, devport = -1, pidfd, r;
	pid_t pid;

	argv = drv_argv(d->path, n->path, dfs.state_dir, cd, n->cuse,
	                n->rdev_maj, n->rdev_min, log_uses_syslog());
	if (argv == NULL)
		return -ENOMEM;
	if (n->cuse) {
		cuse = open(CDEV_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (cuse < 0) {
			r = -errno;
			goto free_args;
		}
	}
	if (strcmp(cd->io, "devport") == 0) {
		devport = open(DEVPORT_DEV, O_RDWR | O_CLOEXEC);
		if (devport < 0) {
			r = -errno;
			goto close_cuse;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		goto close_devport;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto close_sock;
	}
	if (pid == 0)
		child(d, cd, sv[1], cuse, devport, argv);
	close(sv[1]);
	if (cuse >= 0)
		close(cuse);
	if (devport >= 0)
		close(devport);
	drv_argv_free(argv);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(sv[0]);
		return r;
	}
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	d->pid = pid;
	*ret_sock = sv[0];
	*ret_pidfd = pidfd;
	return 0;

close_sock:
	close(sv[0]);
	close(sv[1]);
close_devport:
	if (devport >= 0)
		close(devport);
close_cuse:
	if (cuse >= 0)
		close(cuse);
free_args:
	drv_argv_free(argv);
	return r;
}
