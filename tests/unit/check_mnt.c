/*
 * check_mnt.c: unit tests for the mountpoint's checks (ddmfs/mnt.c): the
 * canonical path ddmfs mounts on, a mountpoint made when missing, a file
 * refused, and the lock that keeps a second ddmfs from mounting on the
 * same directory at the same time.  Nothing is mounted.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"

static char tmp[64];
static char real[128]; /* tmp with its symlinks resolved */

static void
setup(void)
{
	char buf[PATH_MAX];

	strcpy(tmp, "/tmp/check_mnt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	ck_assert_ptr_nonnull(realpath(tmp, buf));
	ck_assert_uint_lt(strlen(buf), sizeof(real));
	strcpy(real, buf);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* mnt_canonical(path) as a static string. */
static const char *
canonical(const char *path)
{
	static char buf[PATH_MAX];
	char *s = NULL;

	ck_assert_int_eq(mnt_canonical(path, &s), 0);
	ck_assert_ptr_nonnull(s);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static const char *
in_real(const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", real, rel);
	return buf;
}

START_TEST(test_mnt_canonical_makes_relative_paths_absolute)
{
	char want[PATH_MAX];

	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(mkdir("sub", 0755), 0);
	/* the mountpoint itself need not exist yet */
	ck_assert_str_eq(canonical("ddm"), in_real("ddm"));
	ck_assert_str_eq(canonical("./ddm"), in_real("ddm"));
	ck_assert_str_eq(canonical("sub/../ddm"), in_real("ddm"));
	snprintf(want, sizeof(want), "%s/sub/ddm", real);
	ck_assert_str_eq(canonical("sub/ddm"), want);
	ck_assert_str_eq(canonical("."), real);
}
END_TEST

START_TEST(test_mnt_canonical_drops_a_trailing_slash)
{
	char path[PATH_MAX];

	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_str_eq(canonical("ddm/"), in_real("ddm"));
	snprintf(path, sizeof(path), "%s/ddm/", tmp);
	ck_assert_str_eq(canonical(path), in_real("ddm"));
	ck_assert_str_eq(canonical("/"), "/");
}
END_TEST

START_TEST(test_mnt_canonical_resolves_a_symlinked_parent)
{
	char link[128], path[256];

	ck_assert_int_eq(mkdir(in_real("a"), 0755), 0);
	snprintf(link, sizeof(link), "%s/l", tmp);
	ck_assert_int_eq(symlink(in_real("a"), link), 0);
	snprintf(path, sizeof(path), "%s/ddm", link);
	ck_assert_str_eq(canonical(path), in_real("a/ddm"));
}
END_TEST

START_TEST(test_mnt_canonical_of_a_missing_parent_is_enoent)
{
	char *s = (char *)&s, path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no/ddm", tmp);
	ck_assert_int_eq(mnt_canonical(path, &s), -ENOENT);
	ck_assert_ptr_eq(s, (char *)&s);
}
END_TEST

START_TEST(test_mnt_prepare_makes_a_missing_mountpoint_and_locks_it)
{
	char why[256] = "";
	struct stat st, fst;
	int fd;

	fd = mnt_prepare(in_real("ddm"), why, sizeof(why));
	ck_assert_msg(fd >= 0, "mnt_prepare: %s", why);
	ck_assert_int_eq(stat(in_real("ddm"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(fstat(fd, &fst), 0);
	ck_assert_uint_eq(fst.st_ino, st.st_ino);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
}
END_TEST

START_TEST(test_mnt_prepare_while_another_holds_the_lock_is_ebusy)
{
	char why[256] = "";
	int fd, again;

	fd = mnt_prepare(in_real("ddm"), why, sizeof(why));
	ck_assert_msg(fd >= 0, "mnt_prepare: %s", why);
	ck_assert_int_eq(mnt_prepare(in_real("ddm"), why, sizeof(why)), -EBUSY);
	ck_assert_str_eq(why, "another ddmfs is mounting on it");
	close(fd);
	/* let go: the next one gets it */
	again = mnt_prepare(in_real("ddm"), why, sizeof(why));
	ck_assert_msg(again >= 0, "mnt_prepare: %s", why);
	close(again);
}
END_TEST

START_TEST(test_mnt_prepare_refuses_a_regular_file)
{
	char why[256] = "";
	int fd = open(in_real("file"), O_WRONLY | O_CREAT, 0644);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(mnt_prepare(in_real("file"), why, sizeof(why)),
	                 -ENOTDIR);
	ck_assert_str_eq(why, "not a directory");
}
END_TEST

START_TEST(test_mnt_prepare_with_a_missing_parent_says_mkdir)
{
	char why[256] = "", want[256];

	ck_assert_int_eq(mnt_prepare(in_real("no/ddm"), why, sizeof(why)),
	                 -ENOENT);
	snprintf(want, sizeof(want), "mkdir: %s", strerror(ENOENT));
	ck_assert_str_eq(why, want);
}
END_TEST

static Suite *
mnt_suite(void)
{
	Suite *s = suite_create("mnt");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_mnt_canonical_makes_relative_paths_absolute);
	tcase_add_test(core, test_mnt_canonical_drops_a_trailing_slash);
	tcase_add_test(core, test_mnt_canonical_resolves_a_symlinked_parent);
	tcase_add_test(
	        core, test_mnt_prepare_makes_a_missing_mountpoint_and_locks_it);
	tcase_add_test(core,
	               test_mnt_prepare_while_another_holds_the_lock_is_ebusy);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits,
	               test_mnt_canonical_of_a_missing_parent_is_enoent);
	tcase_add_test(limits, test_mnt_prepare_refuses_a_regular_file);
	tcase_add_test(limits,
	               test_mnt_prepare_with_a_missing_parent_says_mkdir);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mnt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
