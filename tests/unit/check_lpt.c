/*
 * check_lpt.c: the sim backend's parallel port model: the strobe
 * handshake, the printer conditions (by hook and by control file), the
 * output file in the sim dir fd and what happens when it cannot be written,
 * on a fake clock.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ddm_io.h"
#include "tinyfs.h"

#undef CTRL /* <sys/ttydefaults.h>'s, through <sys/mount.h> */

#define DATA        0
#define STAT        1
#define CTRL        2
#define ST_NBUSY    0x80
#define ST_NACK     0x40
#define ST_PE       0x20
#define ST_SELECT   0x10
#define ST_NERROR   0x08
#define ST_IDLE     0xdf /* ready, bits 2-0 read 1 */
#define CT_STROBE   0x01
#define CT_NINIT    0x04
#define CT_SELECTIN 0x08
#define CT_INPUT    0x20
#define CT_IDLE     (CT_NINIT | CT_SELECTIN)
#define NOBODY      65534

static struct timespec fake_now = { 1700000000, 0 };
static struct io *io;
static struct io_region *lpt;
static char tmpdir[64];

static int
fake_clock(void *arg, struct timespec *ret)
{
	*ret = fake_now;
	return 0;
}

static void
advance_ms(long ms)
{
	fake_now.tv_nsec += ms * 1000000L;
	fake_now.tv_sec += fake_now.tv_nsec / 1000000000L;
	fake_now.tv_nsec %= 1000000000L;
}

/* Opens the io with dirfd as its sim dir (-1: none) and takes the port. */
static int
open_lpt_fd(int dirfd)
{
	struct io_opts o = { .backend = "sim",
		             .sim_dirfd = dirfd,
		             .name = "lp0" };

	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_int_eq(io_sim_set_clock(io, fake_clock, NULL), 0);
	return io_region_request(io, IO_SPACE_PORT, 0x378, 3, &lpt);
}

/* The same with the directory dir; its fd is closed: io keeps its own. */
static void
open_lpt(const char *dir)
{
	int dfd = -1;

	if (dir) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(dfd, 0);
	}
	ck_assert_int_eq(open_lpt_fd(dfd), 0);
	if (dfd >= 0)
		close(dfd);
}

static uint8_t
rd(unsigned int off)
{
	uint8_t v = 0x5a;

	ck_assert_int_eq(io_read8(lpt, off, &v), 0);
	return v;
}

static void
wr(unsigned int off, uint8_t v)
{
	ck_assert_int_eq(io_write8(lpt, off, v), 0);
}

/* One byte through the handshake, as a driver sends it. */
static void
strobe(uint8_t b)
{
	wr(DATA, b);
	wr(CTRL, CT_IDLE | CT_STROBE);
	wr(CTRL, CT_IDLE);
}

static int
take(void *buf, size_t cap)
{
	return io_sim_take(io, 0x378, buf, cap);
}

static void
setup(void)
{
	open_lpt(NULL);
}

static void
teardown(void)
{
	io_close(io);
}

static void
path_of(char *buf, size_t cap, const char *ext)
{
	snprintf(buf, cap, "%s/lp0%s", tmpdir, ext);
}

static void
setup_dir(void)
{
	strcpy(tmpdir, "/tmp/check_lpt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown_dir(void)
{
	tinyfs_unmount(tmpdir);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
write_ctl(const char *word)
{
	char p[128];
	FILE *f;

	path_of(p, sizeof(p), ".ctl");
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(word, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_lpt_idle_ready_status_reads_df)
{
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	ck_assert_uint_eq(rd(CTRL), 0xc0 | CT_IDLE);
}
END_TEST

START_TEST(test_lpt_strobe_pulse_takes_byte_once_and_acks)
{
	uint8_t got[4];

	strobe('A');
	ck_assert_uint_eq(rd(STAT), ST_IDLE & ~ST_NACK);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	/* Strobe held over several writes, released once: one byte. */
	wr(DATA, 'B');
	wr(CTRL, CT_IDLE | CT_STROBE);
	wr(CTRL, CT_IDLE | CT_STROBE);
	wr(CTRL, CT_IDLE);
	wr(CTRL, CT_IDLE);
	ck_assert_int_eq(take(got, sizeof(got)), 2);
	ck_assert_mem_eq(got, "AB", 2);
	ck_assert_int_eq(take(got, sizeof(got)), 0);
}
END_TEST

START_TEST(test_lpt_busy_printer_does_not_take_the_byte)
{
	uint8_t got[4];

	ck_assert_int_eq(io_sim_set_state(io, 0x379, "busy"), 0);
	ck_assert_uint_eq(rd(STAT), ST_IDLE & ~ST_NBUSY);
	strobe('x');
	ck_assert_uint_eq(rd(STAT) & ST_NACK, ST_NACK);
	ck_assert_int_eq(take(got, sizeof(got)), 0);
	ck_assert_int_eq(io_sim_set_state(io, 0x379, "ready"), 0);
	strobe('y');
	ck_assert_int_eq(take(got, sizeof(got)), 1);
	ck_assert_uint_eq(got[0], 'y');
}
END_TEST

START_TEST(test_lpt_busy_ms_becomes_ready_after_ms)
{
	uint8_t got[4];

	ck_assert_int_eq(io_sim_set_state(io, 0x378, "busy:50"), 0);
	ck_assert_uint_eq(rd(STAT) & ST_NBUSY, 0);
	advance_ms(49);
	ck_assert_uint_eq(rd(STAT) & ST_NBUSY, 0);
	strobe('n');
	ck_assert_int_eq(take(got, sizeof(got)), 0);
	advance_ms(1);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	strobe('y');
	ck_assert_int_eq(take(got, sizeof(got)), 1);
	ck_assert_uint_eq(got[0], 'y');
}
END_TEST

START_TEST(test_lpt_paperout_offline_error_show_on_their_bits)
{
	static const struct {
		const char *word;
		uint8_t status;
	} c[] = {
		{ "paperout", (ST_IDLE | ST_PE) & ~ST_NBUSY },
		{ "offline", ST_IDLE & ~(ST_SELECT | ST_NBUSY) },
		{ "error", ST_IDLE & ~(ST_NERROR | ST_NBUSY) },
		{ "ready", ST_IDLE },
	};
	uint8_t got[4];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ck_assert_int_eq(io_sim_set_state(io, 0x37a, c[i].word), 0);
		ck_assert_uint_eq(rd(STAT), c[i].status);
		if (c[i].status != ST_IDLE) {
			strobe('z');
			ck_assert_int_eq(take(got, sizeof(got)), 0);
		}
	}
}
END_TEST

START_TEST(test_lpt_control_and_data_read_back)
{
	wr(CTRL, 0x15);
	ck_assert_uint_eq(rd(CTRL), 0xd5);
	wr(CTRL, 0x00);
	ck_assert_uint_eq(rd(CTRL), 0xc0);
	wr(DATA, 0xa5);
	ck_assert_uint_eq(rd(DATA), 0xa5);
	wr(CTRL, CT_IDLE | CT_INPUT);
	ck_assert_uint_eq(rd(DATA), 0xff);
	wr(CTRL, CT_IDLE);
	ck_assert_uint_eq(rd(DATA), 0xa5);
}
END_TEST

START_TEST(test_lpt_1000_bytes_arrive_in_order)
{
	static uint8_t got[1000];
	size_t i;

	for (i = 0; i < sizeof(got); i++)
		strobe(i * 13 + 1);
	ck_assert_int_eq(take(got, sizeof(got)), 1000);
	for (i = 0; i < sizeof(got); i++)
		ck_assert_uint_eq(got[i], (uint8_t)(i * 13 + 1));
}
END_TEST

START_TEST(test_lpt_bytes_append_to_out_file)
{
	char p[128], buf[16] = "";
	int fd;

	open_lpt(tmpdir);
	strobe('h');
	strobe('i');
	io_close(io);
	open_lpt(tmpdir);
	strobe('!');
	io_close(io);
	path_of(p, sizeof(p), ".out");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 3);
	close(fd);
	ck_assert_str_eq(buf, "hi!");
}
END_TEST

START_TEST(test_lpt_out_file_is_created_0600)
{
	struct stat st;
	char p[128];

	umask(022);
	open_lpt(tmpdir);
	io_close(io);
	path_of(p, sizeof(p), ".out");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_lpt_out_file_left_0644_is_made_0600)
{
	struct stat st;
	char p[128];
	int fd;

	path_of(p, sizeof(p), ".out");
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	close(fd);
	open_lpt(tmpdir);
	strobe('k');
	io_close(io);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 1);
}
END_TEST

/*
 * ddmfs opens the sim dir as root and the driver, another user, gets the
 * fd: it must work although that user cannot reach the dir by its path,
 * which lies in a 0700 dir of root's.
 */
START_TEST(test_lpt_works_through_a_dir_fd_under_a_0700_root_dir)
{
	char sim[128], p[160], buf[8] = "";
	struct stat st;
	pid_t pid;
	int dfd, status;

	if (geteuid() != 0)
		return; /* running as another user needs root */
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	snprintf(sim, sizeof(sim), "%s/sim", tmpdir);
	ck_assert_int_eq(mkdir(sim, 0755), 0);
	ck_assert_int_eq(chown(sim, NOBODY, NOBODY), 0);
	dfd = open(sim, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	snprintf(p, sizeof(p), "%s/lp0.out", sim);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* no ck_assert here: the child reports by exit status */
		struct io_opts o = { .backend = "sim",
			             .sim_dirfd = dfd,
			             .name = "lp0" };
		struct io_region *r;

		if (setgroups(0, NULL) < 0 ||
		    setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(10);
		if (open(p, O_WRONLY | O_CREAT, 0600) >= 0 || errno != EACCES)
			_exit(11); /* the path is out of reach */
		if (io_open(&o, &io) < 0 ||
		    io_region_request(io, IO_SPACE_PORT, 0x378, 3, &r) < 0)
			_exit(12);
		if (io_write8(r, DATA, 'n') < 0 ||
		    io_write8(r, CTRL, CT_IDLE | CT_STROBE) < 0 ||
		    io_write8(r, CTRL, CT_IDLE) < 0)
			_exit(13);
		io_close(io);
		_exit(0);
	}
	close(dfd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	dfd = open(p, O_RDONLY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(read(dfd, buf, sizeof(buf)), 1);
	close(dfd);
	ck_assert_str_eq(buf, "n");
}
END_TEST

START_TEST(test_lpt_strobe_fails_when_the_byte_cannot_be_stored)
{
	uint8_t got[4];
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = tinyfs_mount(tmpdir);
	ck_assert_int_eq(open_lpt_fd(dfd), 0);
	ck_assert_ptr_null(io_last_error(io));
	tinyfs_fill(dfd);
	wr(DATA, 'q');
	wr(CTRL, CT_IDLE | CT_STROBE);
	ck_assert_int_eq(io_write8(lpt, CTRL, CT_IDLE), -ENOSPC);
	ck_assert_str_eq(io_last_error(io), "lp0.out: No space left on device");
	/* Not taken: no acknowledge, nothing received. */
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	ck_assert_int_eq(take(got, sizeof(got)), 0);
	/* A wider write carries the error too (STAT ignored, then CTRL). */
	wr(CTRL, CT_IDLE | CT_STROBE);
	ck_assert_int_eq(io_write16(lpt, STAT, CT_IDLE << 8), -ENOSPC);
	ck_assert_int_eq(take(got, sizeof(got)), 0);
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_lpt_out_file_that_cannot_be_made_fails_naming_it)
{
	char p[128];
	int dfd;

	path_of(p, sizeof(p), ".out");
	ck_assert_int_eq(mkdir(p, 0700), 0);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(open_lpt_fd(dfd), -EISDIR);
	ck_assert_str_eq(io_last_error(io), "lp0.out: Is a directory");
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_lpt_out_symlink_is_refused_and_its_target_untouched)
{
	char p[128], target[128];
	struct stat st;
	int dfd;

	snprintf(target, sizeof(target), "%s/target", tmpdir);
	ck_assert_int_eq(close(open(target, O_WRONLY | O_CREAT, 0644)), 0);
	path_of(p, sizeof(p), ".out");
	ck_assert_int_eq(symlink(target, p), 0);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(open_lpt_fd(dfd), -ELOOP);
	close(dfd);
	io_close(io);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
}
END_TEST

START_TEST(test_lpt_sim_dir_fd_must_be_a_directory)
{
	struct io_opts o = { .backend = "sim", .name = "lp0" };
	char p[128];

	path_of(p, sizeof(p), ".out");
	o.sim_dirfd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(o.sim_dirfd, 0);
	io = NULL;
	ck_assert_int_eq(io_open(&o, &io), -ENOTDIR);
	ck_assert_ptr_null(io);
	close(o.sim_dirfd);
}
END_TEST

START_TEST(test_lpt_ctl_file_sets_the_condition)
{
	char p[128];

	open_lpt(tmpdir);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	write_ctl("busy\n");
	ck_assert_uint_eq(rd(STAT) & ST_NBUSY, 0);
	write_ctl("paperout\n");
	ck_assert_uint_eq(rd(STAT) & ST_PE, ST_PE);
	write_ctl("busy:100\n");
	ck_assert_uint_eq(rd(STAT) & (ST_NBUSY | ST_PE), 0);
	advance_ms(100);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	write_ctl("offline");
	ck_assert_uint_eq(rd(STAT) & ST_SELECT, 0);
	path_of(p, sizeof(p), ".ctl");
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	io_close(io);
}
END_TEST

START_TEST(test_lpt_garbage_ctl_file_means_ready)
{
	open_lpt(tmpdir);
	write_ctl("error");
	ck_assert_uint_eq(rd(STAT) & ST_NERROR, 0);
	write_ctl("on fire, probably\n");
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
	io_close(io);
}
END_TEST

START_TEST(test_lpt_no_byte_without_ninit_or_selectin)
{
	uint8_t got[4];

	wr(DATA, 'r');
	wr(CTRL, CT_SELECTIN | CT_STROBE); /* nINIT low: printer in reset */
	wr(CTRL, CT_SELECTIN);
	wr(CTRL, CT_NINIT | CT_STROBE); /* printer not selected */
	wr(CTRL, CT_NINIT);
	ck_assert_int_eq(take(got, sizeof(got)), 0);
	ck_assert_uint_eq(rd(STAT) & ST_NACK, ST_NACK);
}
END_TEST

START_TEST(test_lpt_bad_state_words_are_einval)
{
	static const char *const bad[] = { "",
		                           "Ready",
		                           "busy:",
		                           "busy:x",
		                           "busy:-1",
		                           "busy:5s",
		                           "busy:99999999999999999999" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(io_sim_set_state(io, 0x378, bad[i]) == -EINVAL,
		              "%s", bad[i]);
	ck_assert_int_eq(io_sim_set_state(io, 0x378, NULL), -EINVAL);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
}
END_TEST

START_TEST(test_lpt_take_hands_out_partial_and_keeps_rest)
{
	uint8_t got[4];

	strobe('1');
	strobe('2');
	strobe('3');
	ck_assert_int_eq(take(got, 2), 2);
	ck_assert_mem_eq(got, "12", 2);
	ck_assert_int_eq(take(got, 4), 1);
	ck_assert_uint_eq(got[0], '3');
	ck_assert_int_eq(io_sim_take(io, 0x60, got, 4), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_lpt_status_writes_are_ignored)
{
	wr(STAT, 0x00);
	ck_assert_uint_eq(rd(STAT), ST_IDLE);
}
END_TEST

static Suite *
lpt_suite(void)
{
	Suite *s = suite_create("lpt");
	TCase *core = tcase_create("Core");
	TCase *files = tcase_create("Files");
	TCase *lim = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_lpt_idle_ready_status_reads_df);
	tcase_add_test(core, test_lpt_strobe_pulse_takes_byte_once_and_acks);
	tcase_add_test(core, test_lpt_busy_printer_does_not_take_the_byte);
	tcase_add_test(core, test_lpt_busy_ms_becomes_ready_after_ms);
	tcase_add_test(core,
	               test_lpt_paperout_offline_error_show_on_their_bits);
	tcase_add_test(core, test_lpt_control_and_data_read_back);
	tcase_add_test(core, test_lpt_1000_bytes_arrive_in_order);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(files, setup_dir, teardown_dir);
	tcase_add_test(files, test_lpt_bytes_append_to_out_file);
	tcase_add_test(files, test_lpt_out_file_is_created_0600);
	tcase_add_test(files, test_lpt_out_file_left_0644_is_made_0600);
	tcase_add_test(files,
	               test_lpt_works_through_a_dir_fd_under_a_0700_root_dir);
	tcase_add_test(files,
	               test_lpt_strobe_fails_when_the_byte_cannot_be_stored);
	tcase_add_test(files,
	               test_lpt_out_file_that_cannot_be_made_fails_naming_it);
	tcase_add_test(
	        files,
	        test_lpt_out_symlink_is_refused_and_its_target_untouched);
	tcase_add_test(files, test_lpt_sim_dir_fd_must_be_a_directory);
	tcase_add_test(files, test_lpt_ctl_file_sets_the_condition);
	tcase_add_test(files, test_lpt_garbage_ctl_file_means_ready);
	suite_add_tcase(s, files);

	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(lim, test_lpt_no_byte_without_ninit_or_selectin);
	tcase_add_test(lim, test_lpt_bad_state_words_are_einval);
	tcase_add_test(lim, test_lpt_take_hands_out_partial_and_keeps_rest);
	tcase_add_test(lim, test_lpt_status_writes_are_ignored);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lpt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
