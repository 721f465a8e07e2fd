/*
 * mnt.c: the mountpoint's checks (mnt.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mnt.h"

#define MOUNTINFO     "/proc/self/mountinfo"
#define PROBE_WAIT_MS 2000 /* a live ddmfs answers statfs within this */

int
mnt_canonical(const char *path, char **ret)
{
	char *a, *b, *dir, *base, real[PATH_MAX];
	int r = 0;

	a = strdup(path);
	b = strdup(path);
	if (a == NULL || b == NULL) {
		r = -ENOMEM;
		goto free_copies;
	}
	dir = dirname(a);
	base = basename(b);
	if (realpath(dir, real) == NULL) {
		r = -errno;
		goto free_copies;
	}
	if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		if (realpath(path, real) == NULL)
			r = -errno;
		else if ((*ret = strdup(real)) == NULL)
			r = -ENOMEM;
	} else if (asprintf(ret, "%s%s%s", real,
	                    strcmp(real, "/") == 0 ? "" : "/", base) < 0) {
		r = -ENOMEM;
	}
free_copies:
	free(a);
	free(b);
	return r;
}

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			            (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = '\0';
}

/* The filesystem type of the topmost mount on mp into type ("" if mp is
 * not a mount point). */
static void
mounted_type(const char *mp, char *type, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(MOUNTINFO, "re");

	type[0] = '\0';
	if (f == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		char point[PATH_MAX], fstype[64], *sep;

		/* id parent maj:min root POINT opts... - FSTYPE source ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		sep = strstr(line, " - ");
		if (sep == NULL || sscanf(sep, " - %63s", fstype) != 1)
			continue;
		unescape(point);
		if (strcmp(point, mp) == 0)
			snprintf(type, len, "%s", fstype); /* the last wins */
	}
	free(line);
	fclose(f);
}

enum probe { PROBE_LIVE, PROBE_STALE, PROBE_MUTE, PROBE_ERROR };

/*
 * Whether the FUSE server behind mp answers: statfs always reaches it
 * (stat may be answered from the kernel's cache).  A child asks, so a
 * server that never answers (stopped) costs PROBE_WAIT_MS, not a hang.
 */
static enum probe
probe(const char *mp)
{
	struct statfs sf;
	int pidfd, status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return PROBE_ERROR;
	if (pid == 0)
		_exit(statfs(mp, &sf) == 0 ? PROBE_LIVE
		      : errno == ENOTCONN  ? PROBE_STALE
		                           : PROBE_ERROR);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };

		if (poll(&p, 1, PROBE_WAIT_MS) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pidfd);
			return PROBE_MUTE;
		}
		close(pidfd);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return PROBE_ERROR;
	return (enum probe)WEXITSTATUS(status);
}

int
mnt_detach(const char *mp)
{
	return umount2(mp, MNT_DETACH) < 0 ? -errno : 0;
}

int
mnt_prepare(const char *mp, char *why, size_t whylen)
{
	char type[64];
	int fd, r;

	mounted_type(mp, type, sizeof(type));
	if (strcmp(type, MNT_FSTYPE) == 0) {
		switch (probe(mp)) {
		case PROBE_LIVE:
			snprintf(
			        why, whylen,
			        "already mounted by a running ddmfs (umount it "
			        "or stop that ddmfs first)");
			return -EBUSY;
		case PROBE_MUTE:
			snprintf(why, whylen,
			         "mounted by a ddmfs that does not answer (is "
			         "it "
			         "stopped?); umount -l it first");
			return -EBUSY;
		case PROBE_ERROR:
			snprintf(why, whylen,
			         "a ddmfs mount is on it and "
			         "cannot be checked");
			return -EIO;
		case PROBE_STALE:
			break;
		}
		r = mnt_detach(mp);
		if (r < 0) {
			snprintf(why, whylen,
			         "a stale ddmfs mount is on it and cannot be "
			         "detached: %s",
			         strerror(-r));
			return r;
		}
		logmsg("%s: detached the stale mount of a ddmfs that is gone",
		       mp);
	}
	if (mkdir(mp, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, whylen, "mkdir: %s", strerror(-r));
		return r;
	}
	fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s",
		         r == -ENOTDIR ? "not a directory" : strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(why, whylen, "%s",
		         r == -EBUSY ? "another ddmfs is mounting on it"
		                     : strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}
