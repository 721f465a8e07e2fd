/*
 * spawn.c: finding driver binaries and starting driver processes
 * (spawn.h).
 *
 * The child is made by clone3() with a PID namespace of its own and a
 * pidfd.  Between clone and exec it does only async-signal-safe work,
 * with raw system calls where glibc would involve other threads:
 * renumbering fds, ioperm, dropping groups, ids and capabilities.  If a
 * step fails it writes the step and errno to a close-on-exec pipe and
 * exits 127; a clean exec closes the pipe, so the parent knows at once
 * whether the driver runs and, if not, why.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#ifndef DDM_DRIVER_DIR
#define DDM_DRIVER_DIR "/usr/local/libexec/ddmfs"
#endif

#define CAP_MAX_TRY 64 /* above any capability number Linux has */
/* 3 .. the last node's /dev/cuse */
#define N_FDS    (SPAWN_CUSE_HIGH + CONF_NODES_MAX - SPAWN_CUSE_LOW_N - 3)
#define VFIO_IDX (SPAWN_VFIO_FD - SPAWN_SOCK_FD) /* in child_fds() */
/* fds are parked at or above this while renumbering */
#define HIGH_FD (SPAWN_SOCK_FD + N_FDS)
_Static_assert(SPAWN_CUSE_MORE + SPAWN_CUSE_LOW_N - 1 <= SPAWN_VFIO_FD &&
                       SPAWN_VFIO_FD + 3 <= SPAWN_CUSE_HIGH,
               "the CUSE fds run into the VFIO fds");

/* The steps a child may fail at, as it reports them. */
enum step {
	STEP_FDS,
	STEP_NULL,
	STEP_SETSID,
	STEP_IOPERM,
	STEP_CAPBSET,
	STEP_GROUPS,
	STEP_GID,
	STEP_UID,
	STEP_CAPS,
	STEP_NNP,
	STEP_RLIMIT,
	STEP_EXEC,
};

static const char *const step_names[] = {
	[STEP_FDS] = "passing its fds",
	[STEP_NULL] = "opening /dev/null",
	[STEP_SETSID] = "setsid",
	[STEP_IOPERM] = "ioperm for its ports",
	[STEP_CAPBSET] = "dropping the capability bounding set",
	[STEP_GROUPS] = "setgroups",
	[STEP_GID] = "setresgid",
	[STEP_UID] = "setresuid",
	[STEP_CAPS] = "dropping capabilities",
	[STEP_NNP] = "PR_SET_NO_NEW_PRIVS",
	[STEP_RLIMIT] = "setrlimit",
	[STEP_EXEC] = "exec",
};

struct child_err {
	int step;
	int err;
};

char *
spawn_search_list_exe(const char *exe, const char *cmdline_path,
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

char *
spawn_search_list(const char *cmdline_path, const struct conf *c)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	return spawn_search_list_exe(exe, cmdline_path, c);
}

/* A regular file with an execute bit: whether a user may run it is
 * decided, and reported, at exec. */
static int
is_exec(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_mode & 0111) != 0;
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

int
spawn_lookup(const char *name, const char *dirs, char **ret_path)
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

/* Appends a printf'd argument; false on ENOMEM. */
static bool __attribute__((format(printf, 3, 4)))
add(char **argv, size_t *k, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&argv[*k], fmt, ap);
	va_end(ap);
	if (r < 0) {
		argv[*k] = NULL;
		return false;
	}
	(*k)++;
	return true;
}

char **
spawn_argv(const char *exe, const char *node, const char *io,
           const struct conf_ports *ports, unsigned int n_ports,
           char *const *args, const char *nodes, const struct spawn_cuse *cuse,
           bool sim, bool state, const char *pci, bool use_syslog)
{
	char grants[CONF_PORTS_MAX * 16 + 16] = "--ports=";
	char fds[CONF_NODES_MAX * 8 + 16] = "--cuse-fd=";
	char devs[CONF_NODES_MAX * 24 + 16] = "--cuse-dev=";
	size_t fo = strlen(fds), dvo = strlen(devs);
	size_t n_args = 0, k = 0, off = strlen(grants);
	char **argv;
	bool ok;

	while (args != NULL && args[n_args] != NULL)
		n_args++;
	argv = calloc(n_args + 16, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	ok = add(argv, &k, "%s", exe) && add(argv, &k, "--io=%s", io) &&
	     add(argv, &k, "--node=%s", node) &&
	     add(argv, &k, "--ddm-fd=%d", SPAWN_SOCK_FD);
	if (ok && nodes != NULL)
		ok = add(argv, &k, "--nodes=%s", nodes);
	if (ok && cuse != NULL && cuse->n > 0) {
		for (unsigned int i = 0; i < cuse->n; i++) {
			fo += (size_t)snprintf(fds + fo, sizeof(fds) - fo,
			                       "%s%d", i > 0 ? "," : "",
			                       spawn_cuse_fd(i));
			dvo += (size_t)snprintf(devs + dvo, sizeof(devs) - dvo,
			                        "%s%u:%u", i > 0 ? "," : "",
			                        cuse->maj[i], cuse->min[i]);
		}
		ok = add(argv, &k, "%s", fds) && add(argv, &k, "%s", devs);
	}
	if (ok && n_ports > 0) {
		for (unsigned int i = 0; i < n_ports; i++)
			off += (size_t)snprintf(
			        grants + off, sizeof(grants) - off,
			        "%s0x%x-0x%x", i > 0 ? "," : "", ports[i].base,
			        ports[i].base + ports[i].len - 1);
		ok = add(argv, &k, "%s", grants);
	}
	if (ok && strcmp(io, "devport") == 0)
		ok = add(argv, &k, "--devport-fd=%d", SPAWN_DEVPORT_FD);
	if (ok && sim)
		ok = add(argv, &k, "--sim-fd=%d", SPAWN_SIM_FD);
	if (ok && state)
		ok = add(argv, &k, "--state-fd=%d", SPAWN_STATE_FD);
	if (ok && pci != NULL)
		ok = add(argv, &k, "--pci=%s", pci) &&
		     add(argv, &k, "--vfio-fd=%d,%d,%d", SPAWN_VFIO_FD,
		         SPAWN_VFIO_FD + 1, SPAWN_VFIO_FD + 2);
	if (ok && use_syslog)
		ok = add(argv, &k, "--syslog");
	for (size_t i = 0; ok && i < n_args; i++)
		ok = add(argv, &k, "%s", args[i]);
	if (!ok) {
		spawn_argv_free(argv);
		return NULL;
	}
	return argv;
}

void
spawn_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* In the child: reports step and err to the parent, exits 127. */
static void __attribute__((noreturn)) child_fail(int pipe_fd, int step, int err)
{
	struct child_err ce = { step, err };

	if (write(pipe_fd, &ce, sizeof(ce)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * In the child: the given fds move to their numbers (without FD_CLOEXEC,
 * but exe's, which only a script's interpreter needs), stdin becomes
 * /dev/null (stdout and stderr too with syslog), everything else above 2
 * but the report pipe is closed.  The pipe is parked at HIGH_FD or above
 * and the others above it first, so no dup2 clobbers another.
 */
static void
child_fds(const struct spawn_req *rq, int exe, bool script, int *pipe_fd)
{
	int fds[N_FDS] = { rq->sock, rq->cuse,  rq->devport,
		           rq->sim,  rq->state, exe };
	int null, p;

	for (unsigned int i = 6; i < N_FDS; i++)
		fds[i] = -1;
	for (unsigned int i = 0; i < rq->n_cuse_more && i < CONF_NODES_MAX - 1;
	     i++)
		fds[spawn_cuse_fd(i + 1) - SPAWN_SOCK_FD] = rq->cuse_more[i];
	for (int i = 0; rq->vfio != NULL && i < 3; i++)
		fds[VFIO_IDX + i] = rq->vfio[i];

	p = fcntl(*pipe_fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (p < 0)
		child_fail(*pipe_fd, STEP_FDS, errno);
	*pipe_fd = p;
	for (int i = 0; i < N_FDS; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD, p + 1)) < 0)
			child_fail(p, STEP_FDS, errno);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 ||
	    (rq->syslog && (dup2(null, 1) < 0 || dup2(null, 2) < 0)))
		child_fail(p, STEP_NULL, errno);
	if (close_range(3, (unsigned int)p - 1, 0) < 0)
		child_fail(p, STEP_FDS, errno);
	for (int i = 0; i < N_FDS; i++)
		if (fds[i] >= 0 && dup2(fds[i], SPAWN_SOCK_FD + i) < 0)
			child_fail(p, STEP_FDS, errno);
	if (!script && fcntl(SPAWN_EXE_FD, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(p, STEP_FDS, errno);
	/* the parked copies, and whatever else ddmfs had open */
	if (close_range((unsigned int)p + 1, ~0U, 0) < 0)
		child_fail(p, STEP_FDS, errno);
}

/* In the child: grants, session, identity, capabilities, then exec. */
static void __attribute__((noreturn))
child(const struct spawn_req *rq, int exe, bool script, int pipe_fd)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LANG=C.UTF-8",
		                      NULL };
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		                                0 };
	struct __user_cap_data_struct data[2];
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	child_fds(rq, exe, script, &pipe_fd);
	if (setsid() < 0)
		child_fail(pipe_fd, STEP_SETSID, errno);
	for (unsigned int i = 0; i < rq->n_ports; i++)
		if (ioperm(rq->ports[i].base, rq->ports[i].len, 1) < 0)
			child_fail(pipe_fd, STEP_IOPERM, errno);
	if (rq->nofile != NULL && setrlimit(RLIMIT_NOFILE, rq->nofile) < 0)
		child_fail(pipe_fd, STEP_RLIMIT, errno);
	for (int cap = 0; cap < CAP_MAX_TRY; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(pipe_fd, STEP_CAPBSET, errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		child_fail(pipe_fd, STEP_CAPBSET, errno);
	/* raw system calls: glibc's wrappers would wait for the parent's
	 * other threads, which a clone3() child does not have */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		child_fail(pipe_fd, STEP_GROUPS, errno);
	if (syscall(SYS_setresgid, rq->gid, rq->gid, rq->gid) < 0)
		child_fail(pipe_fd, STEP_GID, errno);
	if (syscall(SYS_setresuid, rq->uid, rq->uid, rq->uid) < 0)
		child_fail(pipe_fd, STEP_UID, errno);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(pipe_fd, STEP_CAPS, errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(pipe_fd, STEP_NNP, errno);
	umask(077);
	syscall(SYS_execveat, SPAWN_EXE_FD, "", rq->argv, envp, AT_EMPTY_PATH);
	child_fail(pipe_fd, STEP_EXEC, errno);
}

/* Opens exe as root; *script tells whether it starts with "#!". */
static int
open_exe(const char *exe, bool *script)
{
	char magic[2];
	struct stat st;
	int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	*script = pread(fd, magic, 2, 0) == 2 && magic[0] == '#' &&
	          magic[1] == '!';
	return fd;
}

/* Says in why why the child did not get to run its binary. */
static void
explain(const struct spawn_req *rq, const struct child_err *ce, char *why,
        size_t whylen)
{
	const char *step = ce->step >= 0 && ce->step <= STEP_EXEC
	                           ? step_names[ce->step]
	                           : "?";

	if (ce->step == STEP_EXEC && (ce->err == EACCES || ce->err == EPERM))
		snprintf(why, whylen,
		         "user %s may not execute %s: %s (it needs read and "
		         "execute permission on the file itself)",
		         rq->user, rq->exe, strerror(ce->err));
	else if (ce->step == STEP_EXEC)
		snprintf(why, whylen, "exec of %s as user %s: %s", rq->exe,
		         rq->user, strerror(ce->err));
	else
		snprintf(why, whylen, "%s (as user %s): %s", step, rq->user,
		         strerror(ce->err));
}

int
spawn_start(const struct spawn_req *rq, struct spawn_proc *ret, char *why,
            size_t whylen)
{
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_PIDFD,
		                 .exit_signal = SIGCHLD };
	struct child_err ce;
	int p[2], pidfd = -1, exe, r;
	bool script = false;
	ssize_t n;
	long pid;

	exe = open_exe(rq->exe, &script);
	if (exe < 0) {
		snprintf(why, whylen, "cannot open %s: %s", rq->exe,
		         strerror(-exe));
		return exe;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, whylen, "pipe: %s", strerror(-r));
		goto close_exe;
	}
	ca.pidfd = (uintptr_t)&pidfd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		r = -errno;
		snprintf(why, whylen, "clone3: %s", strerror(-r));
		goto close_pipe;
	}
	if (pid == 0) {
		close(p[0]);
		child(rq, exe, script, p[1]);
	}
	close(p[1]);
	p[1] = -1;
	do
		n = read(p[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(ce)) {
		explain(rq, &ce, why, whylen);
		r = -ce.err;
		waitpid((pid_t)pid, NULL, 0);
		close(pidfd);
		goto close_pipe;
	}
	ret->pid = (pid_t)pid;
	ret->pidfd = pidfd;
	r = 0;
close_pipe:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
close_exe:
	close(exe);
	return r;
}
