/*
 * check_lpt.c: the sim backend's parallel port model: the strobe
 * handshake, the printer conditions (by hook and by control file), the
 * output file, on a fake clock.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

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

static void
open_lpt(const char *dir)
{
	struct io_opts o = { .backend = "sim", .sim_dir = dir, .name = "lp0" };

	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_int_eq(io_sim_set_clock(io, fake_clock, NULL), 0);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x378, 3, &lpt),
	                 0);
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

static void
teardown_dir(void)
{
	char p[128];

	path_of(p, sizeof(p), ".out");
	unlink(p);
	path_of(p, sizeof(p), ".ctl");
	unlink(p);
	rmdir(tmpdir);
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
