/*
 * tinyfs.h: a filesystem that fills up, for tests of what happens when a
 * sim file cannot be stored.  A tmpfs of two pages is mounted in a mount
 * namespace of the test's own process (Check runs each test in a fork of
 * its own), so nothing outside it sees the mount.  Mounting needs root.
 */
#ifndef TINYFS_H
#define TINYFS_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

/* Mounts the tmpfs on dir (which exists); returns an open fd of it. */
static int
tinyfs_mount(const char *dir)
{
	char opts[64];
	int fd;

	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(opts, sizeof(opts), "size=%ld,mode=0700",
	         2 * sysconf(_SC_PAGESIZE));
	ck_assert_int_eq(
	        mount("tinyfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Fills the filesystem of dirfd up with the file "filler": ENOSPC. */
static void
tinyfs_fill(int dirfd)
{
	static char chunk[65536];
	ssize_t n;
	int fd;

	fd = openat(dirfd, "filler", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	do
		n = write(fd, chunk, sizeof(chunk));
	while (n > 0);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
}

/* Unmounts what tinyfs_mount() put on dir; a dir without it is fine. */
static void
tinyfs_unmount(const char *dir)
{
	umount2(dir, MNT_DETACH);
}

#endif /* TINYFS_H */
