/*
 * statedir.c: the state directory's checks, lock and subdirectories
 * (statedir.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "statedir.h"

#define LOCK_FILE     "lock"
#define SIM_DIR       "sim"
#define DRIVERS_DIR   "drivers"
#define TMP_MARK      ".tmp." /* atomic.c's temp files: FILE.tmp.XXXXXX */
#define ACL_USERS_MAX 64

/* The reason is errno's text. */
static int
fail_errno(char *why, size_t whylen, const char *what)
{
	int r = -errno;

	snprintf(why, whylen, "%s: %s", what, strerror(-r));
	return r;
}

/* dir must be a directory of ours, writable by no one else. */
static int
check_owner(const char *dir, char *why, size_t whylen)
{
	uid_t me = geteuid();
	struct stat st;

	if (lstat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0755) < 0 &&
	    errno != EEXIST)
		return fail_errno(why, whylen, "mkdir");
	if (lstat(dir, &st) < 0)
		return fail_errno(why, whylen, "lstat");
	if (S_ISLNK(st.st_mode)) {
		if (st.st_uid != me) {
			snprintf(why, whylen, "a symlink owned by uid %u",
			         (unsigned int)st.st_uid);
			return -EPERM;
		}
		if (stat(dir, &st) < 0)
			return fail_errno(why, whylen, "stat");
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
}

/* Takes the lock file's flock and writes our pid into it. */
static int
take_lock(int dfd, int *ret_fd, char *why, size_t whylen)
{
	char buf[32] = "";
	ssize_t n;
	int fd = openat(dfd, LOCK_FILE,
	                O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return fail_errno(why, whylen, LOCK_FILE);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (r == -EBUSY)
			snprintf(why, whylen,
			         "in use by another ddmfs (pid %s); stop it "
			         "first",
			         buf[0] ? buf : "?");
		else
			snprintf(why, whylen, "lock: %s", strerror(-r));
		close(fd);
		return r;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int r = fail_errno(why, whylen, LOCK_FILE);

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* A new open file of directory dfd to read it: a dup() would share its
 * offset with every other reader of dfd. */
static int
open_dir(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Removes FILE.tmp.XXXXXX files a crash left behind (lock held). */
static void
remove_stale_tmp(int dfd)
{
	int fd = open_dir(dfd);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG &&
		    strstr(de->d_name, TMP_MARK) != NULL)
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

int
statedir_open(const char *dir, int *ret_lock_fd, char *why, size_t whylen)
{
	int dfd, r;

	r = check_owner(dir, why, whylen);
	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail_errno(why, whylen, "open");
	r = take_lock(dfd, ret_lock_fd, why, whylen);
	if (r < 0) {
		close(dfd);
		return r;
	}
	remove_stale_tmp(dfd);
	return dfd;
}

/*
 * Makes name in dfd a real directory (not a symlink) with mode, owned by
 * uid:gid, and opens it.  An fd or -errno with why.
 */
static int
own_dir(int dfd, const char *name, mode_t mode, uid_t uid, gid_t gid, char *why,
        size_t whylen)
{
	struct stat st;
	int fd;

	if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
		return fail_errno(why, whylen, name);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP) {
			bool link = fstatat(dfd, name, &st,
			                    AT_SYMLINK_NOFOLLOW) == 0 &&
			            S_ISLNK(st.st_mode);

			snprintf(why, whylen, "%s is %s, not a directory", name,
			         link ? "a symlink" : "a file");
			return -ENOTDIR;
		}
		return fail_errno(why, whylen, name);
	}
	if (fstat(fd, &st) < 0 || fchown(fd, uid, gid) < 0 ||
	    ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)) {
		int r = fail_errno(why, whylen, name);

		close(fd);
		return r;
	}
	return fd;
}

/* Little-endian, as the kernel's posix_acl_xattr format wants. */
static void
put16(unsigned char *p, unsigned int v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/*
 * Gives each of uids[0..n) (sorted, distinct) rwx on the directory fd
 * through an access ACL: user::rwx, user:U:rwx..., group::---, mask::rwx,
 * other::---.
 */
static int
grant_users(int fd, const uid_t *uids, size_t n)
{
	enum {
		TAG_USER_OBJ = 1,
		TAG_USER = 2,
		TAG_GROUP_OBJ = 4,
		TAG_MASK = 0x10,
		TAG_OTHER = 0x20
	};
	unsigned char buf[4 + 8 * (ACL_USERS_MAX + 4)], *p = buf + 4;

	if (n > ACL_USERS_MAX)
		return -E2BIG;
	put32(buf, 2); /* POSIX_ACL_XATTR_VERSION */
#define ENTRY(tag, perm, id)                                                   \
	do {                                                                   \
		put16(p, tag);                                                 \
		put16(p + 2, perm);                                            \
		put32(p + 4, id);                                              \
		p += 8;                                                        \
	} while (0)
	ENTRY(TAG_USER_OBJ, 7, UINT32_MAX);
	for (size_t i = 0; i < n; i++)
		ENTRY(TAG_USER, 7, uids[i]);
	ENTRY(TAG_GROUP_OBJ, 0, UINT32_MAX);
	ENTRY(TAG_MASK, 7, UINT32_MAX);
	ENTRY(TAG_OTHER, 0, UINT32_MAX);
#undef ENTRY
	if (fsetxattr(fd, "system.posix_acl_access", buf, (size_t)(p - buf),
	              0) < 0)
		return -errno;
	return 0;
}

static int
cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

	return x < y ? -1 : x > y;
}

int
statedir_sim(int dfd, const uid_t *uids, const gid_t *gids, size_t n, char *why,
             size_t whylen)
{
	uid_t sorted[ACL_USERS_MAX];
	size_t k = 0;
	int fd, r;

	/* the distinct users, however many devices share each */
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < k && sorted[j] != uids[i])
			j++;
		if (j < k)
			continue;
		if (k == ACL_USERS_MAX) {
			snprintf(why, whylen,
			         "sim: drivers run as more than %d different "
			         "users",
			         ACL_USERS_MAX);
			return -E2BIG;
		}
		sorted[k++] = uids[i];
	}
	qsort(sorted, k, sizeof(*sorted), cmp_uid);
	if (k <= 1) { /* one user (or none): the directory is simply its */
		fd = own_dir(dfd, SIM_DIR, 0700, k ? sorted[0] : 0,
		             k ? gids[0] : 0, why, whylen);
		/* users an earlier conf had lose their way in */
		if (fd >= 0 &&
		    fremovexattr(fd, "system.posix_acl_access") < 0 &&
		    errno != ENODATA && errno != EOPNOTSUPP) {
			r = -errno;
			snprintf(why, whylen, "sim: its old ACL: %s",
			         strerror(-r));
			close(fd);
			return r;
		}
		return fd;
	}
	/* several: root's, sticky (nobody removes another's files), and an
	 * ACL lets each of them in */
	fd = own_dir(dfd, SIM_DIR, 01700, 0, 0, why, whylen);
	if (fd < 0)
		return fd;
	r = grant_users(fd, sorted, k);
	if (r < 0) {
		snprintf(why, whylen,
		         "sim: drivers run as %zu different users and the "
		         "ACL for them cannot be set: %s",
		         k, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

int
statedir_sim_own(int sim_fd, const char *name, uid_t uid, gid_t gid)
{
	size_t n = strlen(name);
	struct dirent *de;
	int fd = open_dir(sim_fd), r = 0;
	DIR *d;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (d == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, name, n) != 0 || de->d_name[n] != '.')
			continue;
		if (fchownat(sim_fd, de->d_name, uid, gid,
		             AT_SYMLINK_NOFOLLOW) < 0 &&
		    r == 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

int
statedir_driver(int dfd, const char *node, uid_t uid, gid_t gid, char *why,
                size_t whylen)
{
	char part[256];
	int fd, next;

	fd = own_dir(dfd, DRIVERS_DIR, 0755, 0, 0, why, whylen);
	while (fd >= 0 && *node != '\0') {
		size_t len = strcspn(node, "/");
		bool last = node[len] == '\0';

		if (len == 0 || len >= sizeof(part)) {
			close(fd);
			snprintf(why, whylen, "bad node path");
			return -EINVAL;
		}
		memcpy(part, node, len);
		part[len] = '\0';
		next = last ? own_dir(fd, part, 0700, uid, gid, why, whylen)
		            : own_dir(fd, part, 0755, 0, 0, why, whylen);
		close(fd);
		fd = next;
		node += len + (last ? 0 : 1);
	}
	return fd;
}
