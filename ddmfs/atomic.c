/*
 * atomic.c: replacing a small file atomically (temp file in the same
 * directory, fsync, rename, fsync of the directory), so a crash leaves
 * either the old or the new file, never a mix.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"

#define TMP_SUFFIX ".tmp."
#define TMP_TRIES  16

int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a fresh FILE.tmp.N in dfd; its name goes to tmp. */
static int
make_tmp(int dfd, const char *file, mode_t mode, char *tmp, size_t len)
{
	static unsigned int seq;

	for (int i = 0; i < TMP_TRIES; i++) {
		int fd;

		snprintf(tmp, len, "%s" TMP_SUFFIX "%d.%u", file, (int)getpid(),
		         __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
		fd = openat(dfd, tmp,
		            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		                    O_NOFOLLOW,
		            mode);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int
atomic_write_at(int dfd, const char *file, const char *buf, size_t len,
                mode_t mode, bool durable)
{
	char tmp[4096];
	int fd, r;

	fd = make_tmp(dfd, file, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, buf, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, file) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	/* some filesystems cannot fsync a directory: nothing more to do */
	if (durable && fsync(dfd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int
atomic_write(const char *file, const char *buf, size_t len, mode_t mode)
{
	const char *slash = strrchr(file, '/');
	char *dir;
	int dfd, r;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(file, slash == file ? 1 : (size_t)(slash - file));
	if (dir == NULL)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -errno;
	r = atomic_write_at(dfd, slash != NULL ? slash + 1 : file, buf, len,
	                    mode, true);
	close(dfd);
	return r;
}
