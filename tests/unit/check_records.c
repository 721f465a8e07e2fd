/*
 * check_records.c: unit tests for the adoption records (ddmfs/records.c):
 * what a ddmfs writes about the drivers it started and what the next one
 * reads back: the round trip, records of another boot, malformed lines,
 * the start time that ties a pid to one process, and the records that
 * the real drv_sys (ddmfs/proc.c) keeps as drivers come and go.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddmfs.h"
#include "drv.h"
#include "files.h"
#include "proc.h"
#include "records.h"
#include "tree.h"

#define BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"

static char dir[64];
static int dfd = -1;

static void
setup(void)
{
	strcpy(dir, "/tmp/check_records.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	char cmd[128];

	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* This boot's id. */
static const char *
boot_id(void)
{
	static char id[64];
	const char *text = slurp(BOOT_ID_FILE);
	size_t n = strcspn(text, "\n");

	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, sizeof(id));
	memcpy(id, text, n);
	id[n] = '\0';
	return id;
}

/* Writes text as the records file. */
static void
put_records(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, RECORDS_FILE);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Field 22 of /proc/PID/stat, counted from the end of the command
 * name, for a name without ')' (an independent reading). */
static unsigned long long
stat_start(pid_t pid)
{
	char path[64], *p;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	p = strchr(slurp(path), ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2,
	                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	                        "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
	                        &v),
	                 1);
	return v;
}

START_TEST(test_records_save_then_load_gives_them_back)
{
	struct record in[] = { { "isa0/rtc0", 4242, 123456789 },
		               { "isa0/lp0", 77, 1 },
		               { "pci0/edu0", 2, 18446744073709551615ull } };
	struct record *out = NULL;
	size_t n = 99;
	char path[128], want[512];
	struct stat st;

	ck_assert_int_eq(records_save(dfd, in, 3), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, RECORDS_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	snprintf(want, sizeof(want),
	         "boot %s\nisa0/rtc0 4242 123456789\nisa0/lp0 77 1\n"
	         "pci0/edu0 2 18446744073709551615\n",
	         boot_id());
	ck_assert_str_eq(slurp(path), want);
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(out[i].node, in[i].node);
		ck_assert_int_eq(out[i].pid, in[i].pid);
		ck_assert_uint_eq(out[i].start, in[i].start);
	}
	records_free(out, n);
}
END_TEST

START_TEST(test_records_save_replaces_the_file)
{
	struct record one[] = { { "isa0/rtc0", 10, 20 } };
	struct record *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(records_save(dfd, one, 1), 0);
	ck_assert_int_eq(records_save(dfd, NULL, 0), 0);
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	records_free(out, n);
}
END_TEST

START_TEST(test_records_of_another_boot_yield_nothing)
{
	struct record *out = NULL;
	size_t n = 99;

	put_records("boot 00000000-0000-0000-0000-000000000000\n"
	            "isa0/rtc0 4242 123\n");
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	records_free(out, n);
}
END_TEST

START_TEST(test_records_without_a_boot_line_yield_nothing)
{
	struct record *out = NULL;
	size_t n = 99;

	put_records("isa0/rtc0 4242 123\n");
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	records_free(out, n);
}
END_TEST

START_TEST(test_records_missing_file_yields_nothing)
{
	struct record *out = (struct record *)&out;
	size_t n = 99;

	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_records_malformed_lines_are_skipped)
{
	struct record *out = NULL;
	char text[1024];
	size_t n = 0;

	snprintf(text, sizeof(text),
	         "boot %s\n"
	         "isa0/rtc0 4242 123\n"
	         "garbage\n"
	         "isa0/lp0 notapid 5\n"
	         "isa0/kbd0 1 5\n" /* init is never a driver */
	         "isa0/x0 -3 5\n"  /* nor a negative pid */
	         "isa0/y0 77\n"    /* no start time */
	         "\n"
	         "pci0/edu0 99 7\n",
	         boot_id());
	put_records(text);
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].node, "isa0/rtc0");
	ck_assert_int_eq(out[0].pid, 4242);
	ck_assert_uint_eq(out[0].start, 123);
	ck_assert_str_eq(out[1].node, "pci0/edu0");
	ck_assert_int_eq(out[1].pid, 99);
	ck_assert_uint_eq(out[1].start, 7);
	records_free(out, n);
}
END_TEST

START_TEST(test_records_start_time_of_our_own_pid_matches_proc)
{
	uint64_t start = 0;

	ck_assert_int_eq(records_start_time(getpid(), &start), 0);
	ck_assert_uint_eq(start, stat_start(getpid()));
	ck_assert_uint_gt(start, 0);
}
END_TEST

START_TEST(test_records_start_time_of_a_dead_pid_is_esrch)
{
	uint64_t start = 42;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(records_start_time(pid, &start), -ESRCH);
	ck_assert_uint_eq(start, 42);
}
END_TEST

START_TEST(test_records_start_time_survives_a_command_name_with_parens)
{
	uint64_t before = 0, after = 0;
	int ready[2], stop[2];
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(stop), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* wait to be renamed, then wait to be let go */
		if (read(stop[0], &c, 1) != 1 ||
		    prctl(PR_SET_NAME, "x) 1 2 (y z") < 0 ||
		    write(ready[1], &c, 1) != 1 || read(stop[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(records_start_time(pid, &before), 0);
	ck_assert_uint_eq(before, stat_start(pid));
	ck_assert_int_eq(write(stop[1], &c, 1), 1);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(records_start_time(pid, &after), 0);
	ck_assert_uint_eq(after, before);
	ck_assert_int_eq(write(stop[1], &c, 1), 1);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* A driver for a new leaf bus/name (its conf is empty). */
static struct drv *
new_drv(const char *bus, const char *name)
{
	struct drv_conf cf = { 0 };
	struct node *b = tree_child(tree_root(), bus), *n;
	struct drv *d;

	if (b == NULL)
		b = tree_add(tree_root(), bus, true);
	n = tree_add(b, name, false);
	ck_assert_ptr_nonnull(n);
	cf.args = calloc(1, sizeof(*cf.args));
	ck_assert_int_eq(drv_new(n, &cf, &d), 0);
	return d;
}

/* The driver's process is now pid (0: gone), as the real drv_sys is told. */
static void
set_pid(struct drv *d, pid_t pid, uint64_t start)
{
	d->proc.pid = pid;
	d->proc.start_time = start;
	drv_sys->record(d);
}

START_TEST(test_records_follow_drivers_as_they_start_and_exit)
{
	struct drv *rtc, *lp;
	struct record *out = NULL;
	size_t n = 0;

	dfs.state_fd = dfd;
	dfs.state_dir = dir;
	proc_init();
	ck_assert_int_eq(tree_init(), 0);
	rtc = new_drv("isa0", "rtc0");
	lp = new_drv("isa0", "lp0");
	set_pid(rtc, 111, 11);
	set_pid(lp, 222, 22);
	set_pid(rtc, 0, 0);
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].node, "isa0/lp0");
	ck_assert_int_eq(out[0].pid, 222);
	ck_assert_uint_eq(out[0].start, 22);
	records_free(out, n);
}
END_TEST

/*
 * Regression (ddmfs/proc.c, set_record): a reload that removes isa0/rtc0
 * and a second one that adds it back while the old driver is still
 * stopping (up to DRV_STOP_MS) give two drivers with one path.  Keyed by
 * node path alone, the new one's record overwrote the old one's, and the
 * old one's exit then dropped the new one's record: after a crash the
 * next ddmfs did not adopt (or kill) the new driver, and started a second
 * one for the same device.  Expected: the new driver's record survives.
 */
START_TEST(test_records_keep_a_re_added_node_when_its_old_driver_exits)
{
	struct drv *old, *fresh;
	struct record *out = NULL;
	size_t n = 0;

	dfs.state_fd = dfd;
	dfs.state_dir = dir;
	proc_init();
	ck_assert_int_eq(tree_init(), 0);
	old = new_drv("isa0", "rtc0");
	set_pid(old, 111, 11);
	/* reload: the node goes, its driver is stopping */
	tree_remove(old->nodes[0]);
	old->nodes[0] = NULL;
	old->removed = true;
	/* reload: the node is back, with a new driver */
	fresh = new_drv("isa0", "rtc0");
	ck_assert_str_eq(fresh->path, old->path);
	set_pid(fresh, 222, 22);
	/* the old driver exits */
	set_pid(old, 0, 0);
	ck_assert_int_eq(records_load(dfd, &out, &n), 0);
	ck_assert_msg(n == 1, "%zu records, not the new driver's one", n);
	ck_assert_int_eq(out[0].pid, 222);
	records_free(out, n);
}
END_TEST

static Suite *
records_suite(void)
{
	Suite *s = suite_create("records");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_records_save_then_load_gives_them_back);
	tcase_add_test(core, test_records_save_replaces_the_file);
	tcase_add_test(core, test_records_of_another_boot_yield_nothing);
	tcase_add_test(core,
	               test_records_start_time_of_our_own_pid_matches_proc);
	tcase_add_test(core, test_records_start_time_of_a_dead_pid_is_esrch);
	tcase_add_test(core,
	               test_records_follow_drivers_as_they_start_and_exit);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_records_without_a_boot_line_yield_nothing);
	tcase_add_test(limits, test_records_missing_file_yields_nothing);
	tcase_add_test(limits, test_records_malformed_lines_are_skipped);
	tcase_add_test(
	        limits,
	        test_records_start_time_survives_a_command_name_with_parens);
	tcase_add_test(
	        limits,
	        test_records_keep_a_re_added_node_when_its_old_driver_exits);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(records_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
