/*
 * check_spawn.c: unit tests for how ddmfs finds and starts drivers
 * (ddmfs/spawn.c) and for the CUSE side of it (ddmfs/cusedev.c): the driver
 * search list including the build-tree rule, lookup along it, the argv a
 * driver gets (ports, CUSE fd and numbers, devport fd, syslog), the checks
 * and set-up of the state dir, the transport choice, the store of CUSE numbers
 * and the sysfs reading of a CUSE device's numbers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddmfs.h"

static char tmp[64];

/* A fresh temp directory in tmp. */
static void
setup_tmp(void)
{
	strcpy(tmp, "/tmp/check_spawn.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Creates tmp/rel with mode (and its parent directories). */
static void
put(const char *rel, const char *text, mode_t mode)
{
	char path[256], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (slash = strchr(path + strlen(tmp) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static char *
at(const char *rel)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

START_TEST(test_search_list_puts_build_tree_drivers_first)
{
	struct conf c = { .driver_path = "/conf/dir" };
	char exe[128], want[256], *s;

	mkdir(at("drivers"), 0755);
	snprintf(exe, sizeof(exe), "%s/ddmfs/ddmfs", tmp);
	s = drv_search_list_exe(exe, "/cmd/dir", &c);
	snprintf(want, sizeof(want), "%s/drivers/*:/cmd/dir", tmp);
	ck_assert_str_eq(s, want);
	free(s);
	s = drv_search_list_exe(exe, NULL, &c);
	snprintf(want, sizeof(want), "%s/drivers/*:/conf/dir", tmp);
	ck_assert_str_eq(s, want);
	free(s);
}
END_TEST

START_TEST(test_search_list_without_build_tree_is_cmdline_conf_or_default)
{
	struct conf c = { .driver_path = "/conf/dir" };
	struct conf none = { .driver_path = NULL };
	char exe[128], *s;

	/* looks like a build tree, but has no drivers/ */
	snprintf(exe, sizeof(exe), "%s/ddmfs/ddmfs", tmp);
	s = drv_search_list_exe(exe, "/cmd/dir", &c);
	ck_assert_str_eq(s, "/cmd/dir");
	free(s);
	s = drv_search_list_exe("/usr/bin/ddmfs", NULL, &c);
	ck_assert_str_eq(s, "/conf/dir");
	free(s);
	s = drv_search_list_exe("/usr/bin/ddmfs", NULL, &none);
	ck_assert_str_eq(s, DDM_DRIVER_DIR);
	free(s);
}
END_TEST

START_TEST(test_lookup_finds_the_first_executable_along_the_path)
{
	char dirs[256], *p = NULL;

	put("a/ddm-rtc", "", 0644); /* not executable: skipped */
	put("b/ddm-rtc", "#!/bin/sh\n", 0755);
	put("c/ddm-rtc", "#!/bin/sh\n", 0755);
	snprintf(dirs, sizeof(dirs), "%s:%s:%s", at("a"), at("b"), at("c"));
	ck_assert_int_eq(drv_lookup("ddm-rtc", dirs, &p), 0);
	ck_assert_str_eq(p, at("b/ddm-rtc"));
	free(p);
}
END_TEST

START_TEST(test_lookup_star_entry_searches_subdirectories)
{
	char dirs[256], *p = NULL;

	put("build/drivers/rtc/ddm-rtc", "#!/bin/sh\n", 0755);
	put("build/drivers/lp/ddm-lp", "#!/bin/sh\n", 0755);
	put("inst/ddm-rtc", "#!/bin/sh\n", 0755);
	snprintf(dirs, sizeof(dirs), "%s/*:%s", at("build/drivers"),
	         at("inst"));
	ck_assert_int_eq(drv_lookup("ddm-lp", dirs, &p), 0);
	ck_assert_str_eq(p, at("build/drivers/lp/ddm-lp"));
	free(p);
	ck_assert_int_eq(drv_lookup("ddm-rtc", dirs, &p), 0);
	ck_assert_str_eq(p, at("build/drivers/rtc/ddm-rtc"));
	free(p);
}
END_TEST

START_TEST(test_lookup_of_a_missing_driver_is_enoent_and_untouched)
{
	char *sentinel = (char *)&sentinel, *p = sentinel;

	put("d/ddm-rtc", "#!/bin/sh\n", 0755);
	ck_assert_int_eq(drv_lookup("ddm-kbd", at("d"), &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
	ck_assert_int_eq(drv_lookup("ddm-rtc", "/nonexistent:", &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
}
END_TEST

START_TEST(test_lookup_refuses_names_that_are_paths)
{
	char *sentinel = (char *)&sentinel, *p = sentinel;

	put("d/x/ddm-rtc", "#!/bin/sh\n", 0755);
	ck_assert_int_eq(drv_lookup("x/ddm-rtc", at("d"), &p), -ENOENT);
	ck_assert_int_eq(drv_lookup("..", at("d/x"), &p), -ENOENT);
	ck_assert_int_eq(drv_lookup("", at("d"), &p), -ENOENT);
	ck_assert_int_eq(drv_lookup(NULL, at("d"), &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
}
END_TEST

static char *rtc_args[] = { "--verbose", NULL };

static struct conf_device rtc_dev = {
	.name = "rtc0",
	.io = "pio",
	.ports = { { 0x70, 2 }, { 0x378, 3 } },
	.n_ports = 2,
	.args = rtc_args,
};

static void
assert_argv(char **argv, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
}

START_TEST(test_argv_for_fuse_has_ports_and_extra_args_last)
{
	static const char *const want[] = {
		"/d/ddm-rtc",       "--io=pio",
		"--node=isa0/rtc0", "--state-dir=/var/lib/ddmfs",
		"--ddm-fd=3",       "--ports=0x70-0x71,0x378-0x37a",
		"--verbose",        NULL,
	};
	char **argv = drv_argv("/d/ddm-rtc", "isa0/rtc0", "/var/lib/ddmfs",
	                       &rtc_dev, 0, 245, 7, 0);

	assert_argv(argv, want);
	drv_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_cuse_passes_fd_4_and_the_numbers)
{
	static const char *const want[] = {
		"/d/ddm-rtc",       "--io=pio",
		"--node=isa0/rtc0", "--state-dir=/s",
		"--ddm-fd=3",       "--cuse-fd=4",
		"--cuse-dev=245:7", "--ports=0x70-0x71,0x378-0x37a",
		"--verbose",        NULL,
	};
	char **argv = drv_argv("/d/ddm-rtc", "isa0/rtc0", "/s", &rtc_dev, 1,
	                       245, 7, 0);

	assert_argv(argv, want);
	drv_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_a_fresh_cuse_node_asks_for_0_0)
{
	static char *no_args[] = { NULL };
	struct conf_device sim = { .io = "sim", .args = no_args };
	static const char *const want[] = {
		"/d/ddm-kbd",     "--io=sim",   "--node=isa0/kbd0",
		"--state-dir=/s", "--ddm-fd=3", "--cuse-fd=4",
		"--cuse-dev=0:0", NULL,
	};
	char **argv =
	        drv_argv("/d/ddm-kbd", "isa0/kbd0", "/s", &sim, 1, 0, 0, 0);

	assert_argv(argv, want);
	drv_argv_free(argv);
	drv_argv_free(NULL);
}
END_TEST

START_TEST(test_argv_for_devport_passes_fd_5_and_syslog_before_extra_args)
{
	struct conf_device lp = rtc_dev;
	static const char *const want[] = {
		"/d/ddm-lp",       "--io=devport",
		"--node=isa0/lp0", "--state-dir=/s",
		"--ddm-fd=3",      "--ports=0x70-0x71,0x378-0x37a",
		"--devport-fd=5",  "--syslog",
		"--verbose",       NULL,
	};
	char **argv;

	lp.io = "devport";
	argv = drv_argv("/d/ddm-lp", "isa0/lp0", "/s", &lp, 0, 0, 0, 1);
	assert_argv(argv, want);
	drv_argv_free(argv);
}
END_TEST

/* A conf whose one device runs as uid 4321, gid 8765. */
static struct conf_device one_dev = { .run_uid = 4321, .run_gid = 8765 };
static struct conf_bus one_bus = { .devices = &one_dev, .n_devices = 1 };
static struct conf one_conf = { .driver_uid = 65534,
	                        .driver_gid = 65534,
	                        .buses = &one_bus,
	                        .n_buses = 1 };

START_TEST(test_state_dir_is_made_0755_with_sim_owned_by_the_driver_user)
{
	char why[128] = "";
	struct stat st;

	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("state"), why, sizeof(why)), 0);
	ck_assert_int_eq(lstat(at("state"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(lstat(at("state/sim"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_uid, 4321);
	ck_assert_uint_eq(st.st_gid, 8765);
	/* a second start finds both and is fine */
	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("state"), why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_state_dir_of_another_owner_or_writable_by_others_is_refused)
{
	char why[128] = "";
	struct stat st;

	if (geteuid() != 0)
		return; /* chown to another uid needs root */
	ck_assert_int_eq(mkdir(at("st"), 0755), 0);
	ck_assert_int_eq(chown(at("st"), 1000, 1000), 0);
	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("st"), why, sizeof(why)),
	        -EPERM);
	ck_assert_str_eq(why, "owned by uid 1000, not root");
	ck_assert_int_eq(lstat(at("st/sim"), &st), -1);
	ck_assert_int_eq(chown(at("st"), 0, 0), 0);
	ck_assert_int_eq(chmod(at("st"), 0777), 0);
	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("st"), why, sizeof(why)),
	        -EPERM);
	ck_assert_str_eq(why, "writable by others (mode 0777)");
	ck_assert_int_eq(chmod(at("st"), 0775), 0);
	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("st"), why, sizeof(why)),
	        -EPERM);
	ck_assert_str_eq(why, "writable by group (mode 0775)");
	ck_assert_int_eq(lstat(at("st/sim"), &st), -1);
}
END_TEST

START_TEST(test_state_dir_sim_symlink_is_refused_and_its_target_untouched)
{
	char why[128] = "";
	struct stat st;

	ck_assert_int_eq(mkdir(at("state"), 0755), 0);
	ck_assert_int_eq(mkdir(at("target"), 0700), 0);
	ck_assert_int_eq(symlink(at("target"), at("state/sim")), 0);
	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("state"), why, sizeof(why)),
	        -ENOTDIR);
	ck_assert_str_eq(why, "sim is a symlink, not a directory");
	ck_assert_int_eq(stat(at("target"), &st), 0);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
}
END_TEST

START_TEST(test_state_dir_with_a_missing_parent_is_an_error)
{
	char why[128] = "";

	ck_assert_int_eq(
	        drv_prepare_state(&one_conf, at("no/state"), why, sizeof(why)),
	        -ENOENT);
	ck_assert_str_eq(why, strerror(ENOENT));
}
END_TEST

START_TEST(test_transport_choice_follows_conf_and_dev_cuse)
{
	int cuse = -1;

	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_AUTO, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 1);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_AUTO, at("no-cuse"), &cuse),
	                 0);
	ck_assert_int_eq(cuse, 0);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_FUSE, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 0);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_CUSE, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 1);
	cuse = -1;
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_CUSE, at("no-cuse"), &cuse),
	                 -ENOENT);
	ck_assert_int_eq(cuse, -1);
}
END_TEST

START_TEST(test_cuse_store_keeps_good_lines_and_counts_garbage)
{
	struct cdev_store *cs = NULL;
	unsigned int bad = 99, maj = 0, min = 0;

	put("cuse",
	    "isa0/rtc0 245 7\n"
	    "garbage\n"
	    "isa0/lp0 4096 0\n" /* major out of range */
	    "isa0/kbd0 0 0\n"   /* 0:0 means nothing */
	    "isa0/x -1 2\n"     /* negative */
	    "/isa0/y 1 2\n"     /* not a node path */
	    "isa0/z 1 2 3\n"    /* trailing junk */
	    "ISA0/W 1 2\n"      /* not a node name */
	    "\n"                /* blank: ignored, not counted */
	    "pci0/edu0 10 1048575\n",
	    0644);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 7);
	ck_assert_uint_eq(cs->n, 2);
	ck_assert_int_eq(cdev_store_get(cs, "isa0/rtc0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 245);
	ck_assert_uint_eq(min, 7);
	ck_assert_int_eq(cdev_store_get(cs, "pci0/edu0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 10);
	ck_assert_uint_eq(min, 1048575);
	maj = min = 77;
	ck_assert_int_eq(cdev_store_get(cs, "isa0/lp0", &maj, &min), -ENOENT);
	ck_assert_uint_eq(maj, 77);
	ck_assert_uint_eq(min, 77);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_save_writes_path_maj_min_lines_atomically)
{
	struct cdev_store *cs = NULL, *again = NULL;
	unsigned int bad = 9, maj = 0, min = 0;
	char cmd[128];

	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(cs->n, 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 245, 0), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/lp0", 243, 1), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 240, 7), 0);
	ck_assert_int_eq(cdev_store_save(cs), 0);
	ck_assert_str_eq(slurp(at("cuse")),
	                 "isa0/rtc0 240 7\nisa0/lp0 243 1\n");
	/* only the file itself is left behind, no temp file */
	snprintf(cmd, sizeof(cmd), "test \"$(ls '%s')\" = cuse", tmp);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &again, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(cdev_store_get(again, "isa0/rtc0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 240);
	ck_assert_uint_eq(min, 7);
	cdev_store_free(again);
	cdev_store_free(cs);
	cdev_store_free(NULL);
}
END_TEST

START_TEST(test_cuse_sysfs_numbers_are_read_for_the_bang_name)
{
	unsigned int maj = 0, min = 0;
	char name[64];

	ck_assert_int_eq(cdev_name("isa0/rtc0", name, sizeof(name)), 0);
	ck_assert_str_eq(name, "ddm!isa0!rtc0");
	put("sys/ddm!isa0!rtc0/dev", "245:7\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/rtc0", &maj, &min),
	                 0);
	ck_assert_uint_eq(maj, 245);
	ck_assert_uint_eq(min, 7);
}
END_TEST

START_TEST(test_cuse_sysfs_missing_or_bad_text_leaves_numbers_alone)
{
	unsigned int maj = 5, min = 6;

	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/rtc0", &maj, &min),
	                 -ENOENT);
	put("sys/ddm!isa0!lp0/dev", "245\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/lp0", &maj, &min),
	                 -EIO);
	put("sys/ddm!isa0!kbd0/dev", "4096:0\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/kbd0", &maj, &min),
	                 -EIO);
	ck_assert_uint_eq(maj, 5);
	ck_assert_uint_eq(min, 6);
}
END_TEST

START_TEST(test_cuse_store_set_refuses_bad_paths_and_numbers)
{
	struct cdev_store *cs = NULL;

	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, NULL), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 0, 0), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 4096, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 1, 1048576), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0 rtc0", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 4095, 1048575), 0);
	ck_assert_uint_eq(cs->n, 1);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_survives_binary_garbage_and_long_lines)
{
	static const char junk[] = "isa0/a 1 1\n\x01\xff\x00zz 3 4\n"
	                           "isa0/b 2 2\n";
	struct cdev_store *cs = NULL;
	unsigned int bad = 0, maj = 0, min = 0;
	char *line;
	int fd;

	line = malloc(100001);
	memset(line, 'a', 100000);
	line[100000] = '\0';
	fd = open(at("cuse"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk) - 1),
	                 (ssize_t)sizeof(junk) - 1);
	ck_assert_int_eq(write(fd, line, 100000), 100000);
	ck_assert_int_eq(write(fd, " 1 1\n", 5), 5);
	close(fd);
	free(line);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 2);
	ck_assert_uint_eq(cs->n, 2);
	ck_assert_int_eq(cdev_store_get(cs, "isa0/b", &maj, &min), 0);
	ck_assert_uint_eq(maj, 2);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_of_a_directory_is_an_error)
{
	struct cdev_store *sentinel = (struct cdev_store *)&sentinel,
	                  *cs = sentinel;

	ck_assert_int_eq(cdev_store_open(tmp, &cs, NULL), -EISDIR);
	ck_assert_ptr_eq(cs, sentinel);
}
END_TEST

static Suite *
spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup_tmp, teardown_tmp);
	tcase_add_test(core, test_search_list_puts_build_tree_drivers_first);
	tcase_add_test(
	        core,
	        test_search_list_without_build_tree_is_cmdline_conf_or_default);
	tcase_add_test(core,
	               test_lookup_finds_the_first_executable_along_the_path);
	tcase_add_test(core, test_lookup_star_entry_searches_subdirectories);
	tcase_add_test(core,
	               test_lookup_of_a_missing_driver_is_enoent_and_untouched);
	tcase_add_test(core, test_argv_for_fuse_has_ports_and_extra_args_last);
	tcase_add_test(core, test_argv_for_cuse_passes_fd_4_and_the_numbers);
	tcase_add_test(core, test_argv_for_a_fresh_cuse_node_asks_for_0_0);
	tcase_add_test(
	        core,
	        test_argv_for_devport_passes_fd_5_and_syslog_before_extra_args);
	tcase_add_test(
	        core,
	        test_state_dir_is_made_0755_with_sim_owned_by_the_driver_user);
	tcase_add_test(core, test_transport_choice_follows_conf_and_dev_cuse);
	tcase_add_test(core,
	               test_cuse_store_keeps_good_lines_and_counts_garbage);
	tcase_add_test(
	        core,
	        test_cuse_store_save_writes_path_maj_min_lines_atomically);
	tcase_add_test(core,
	               test_cuse_sysfs_numbers_are_read_for_the_bang_name);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup_tmp, teardown_tmp);
	tcase_add_test(limits, test_lookup_refuses_names_that_are_paths);
	tcase_add_test(
	        limits,
	        test_state_dir_of_another_owner_or_writable_by_others_is_refused);
	tcase_add_test(
	        limits,
	        test_state_dir_sim_symlink_is_refused_and_its_target_untouched);
	tcase_add_test(limits,
	               test_state_dir_with_a_missing_parent_is_an_error);
	tcase_add_test(
	        limits,
	        test_cuse_sysfs_missing_or_bad_text_leaves_numbers_alone);
	tcase_add_test(limits,
	               test_cuse_store_set_refuses_bad_paths_and_numbers);
	tcase_add_test(limits,
	               test_cuse_store_survives_binary_garbage_and_long_lines);
	tcase_add_test(limits, test_cuse_store_of_a_directory_is_an_error);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spawn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
