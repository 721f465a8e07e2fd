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

#define TMP_SUFFIX ".tmp.XXXXXX"

static int
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

/* fsyncs the directory holding file, so a rename in it is durable. */
static int
sync_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir;
	int fd, r = 0;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(file, slash == file ? 1 : (size_t)(slash - file));
	if (dir == NULL)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto free_dir;
	}
	/* some filesystems cannot fsync a directory: nothing more to do */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
free_dir:
	free(dir);
	return r;
}

int
atomic_write(const char *file, const char *buf, size_t len, mode_t mode)
{
	char *tmp;
	int fd, r;

	if (asprintf(&tmp, "%s" TMP_SUFFIX, file) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto free_tmp;
	}
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, file) < 0)
		r = -errno;
	if (r < 0)
		goto unlink_tmp;
	r = sync_dir(file);
	goto free_tmp;

unlink_tmp:
	unlink(tmp);
free_tmp:
	free(tmp);
	return r;
}
