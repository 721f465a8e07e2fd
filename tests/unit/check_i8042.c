/*
 * check_i8042.c: the sim backend's i8042 model: the status bits, the
 * controller commands, the key queue fed by io_sim_feed() and by the FIFO
 * <name>.in in the sim dir fd, and the mouse on the aux port with its FIFO
 * <name>.aux.
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

#include "ddm_io.h"

#define DATA   0 /* 0x60 */
#define CMD    4 /* 0x64 */
#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_A2  0x08
#define ST_INH 0x10
#define ST_AUX 0x20
#define KEYQ   4096

static struct io *io;
static struct io_region *kbc;
static char tmpdir[64];
static char fifo[128];
static char auxfifo[128];

/* An io with sim dir dir (NULL: none), its fd closed once io has its own. */
static int
open_kbc_at(const char *dir)
{
	struct io_opts o = { .backend = "sim",
		             .sim_dirfd = -1,
		             .name = "kbd0" };

	if (dir) {
		o.sim_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(o.sim_dirfd, 0);
	}
	ck_assert_int_eq(io_open(&o, &io), 0);
	if (o.sim_dirfd >= 0)
		close(o.sim_dirfd);
	return io_region_request(io, IO_SPACE_PORT, 0x60, 5, &kbc);
}

static void
open_kbc(const char *dir)
{
	ck_assert_int_eq(open_kbc_at(dir), 0);
}

static uint8_t
rd(unsigned int off)
{
	uint8_t v = 0x5a;

	ck_assert_int_eq(io_read8(kbc, off, &v), 0);
	return v;
}

static void
wr(unsigned int off, uint8_t v)
{
	ck_assert_int_eq(io_write8(kbc, off, v), 0);
}

static void
setup(void)
{
	open_kbc(NULL);
}

static void
teardown(void)
{
	io_close(io);
}

static void
setup_dir(void)
{
	strcpy(tmpdir, "/tmp/check_i8042.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(fifo, sizeof(fifo), "%s/kbd0.in", tmpdir);
	snprintf(auxfifo, sizeof(auxfifo), "%s/kbd0.aux", tmpdir);
}

static void
teardown_dir(void)
{
	unlink(fifo);
	unlink(auxfifo);
	rmdir(tmpdir);
}

/* Writes buf to FIFO path through a fresh writer, then closes it. */
static void
write_to(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_fifo(const void *buf, size_t len)
{
	write_to(fifo, buf, len);
}

/* Sends one byte to the mouse: 0xd4 to 0x64, then the byte to 0x60. */
static void
wr_aux(uint8_t v)
{
	wr(CMD, 0xd4);
	wr(DATA, v);
}

/* Reads one byte that must come from the mouse. */
static uint8_t
rd_aux(void)
{
	ck_assert_uint_eq(rd(CMD) & (ST_OBF | ST_AUX), ST_OBF | ST_AUX);
	return rd(DATA);
}

/* Turns the mouse on as the driver does: 0xa8, then 0xd4 0xf4. */
static void
aux_on(void)
{
	wr(CMD, 0xa8);
	wr_aux(0xf4);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}

START_TEST(test_kbd_idle_status_shows_sys_and_not_inhibited)
{
	ck_assert_uint_eq(rd(CMD), ST_SYS | ST_INH);
}
END_TEST

START_TEST(test_kbd_fed_bytes_set_obf_and_come_out_in_order)
{
	static const uint8_t keys[] = { 0x1e, 0x9e, 0x30, 0xb0 };
	size_t i;

	ck_assert_int_eq(io_sim_feed(io, 0x60, keys, sizeof(keys)), 4);
	for (i = 0; i < sizeof(keys); i++) {
		ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
		ck_assert_uint_eq(rd(DATA), keys[i]);
	}
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_kbd_empty_data_read_repeats_last_byte)
{
	ck_assert_int_eq(io_sim_feed(io, 0x64, "\x2c", 1), 1);
	ck_assert_uint_eq(rd(DATA), 0x2c);
	ck_assert_uint_eq(rd(DATA), 0x2c);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_kbd_self_test_replies_55_and_interface_test_00)
{
	wr(CMD, 0xaa);
	ck_assert_uint_eq(rd(CMD), ST_SYS | ST_INH | ST_A2 | ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x55);
	wr(CMD, 0xab);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x00);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_kbd_command_byte_reads_default_and_takes_writes)
{
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x45);
	wr(CMD, 0x60);
	wr(DATA, 0x01);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x01);
	/* Command byte bit 2 is the system flag the status shows. */
	ck_assert_uint_eq(rd(CMD) & ST_SYS, 0);
	wr(CMD, 0xaa);
	ck_assert_uint_eq(rd(DATA), 0x55);
	ck_assert_uint_eq(rd(CMD) & ST_SYS, ST_SYS);
}
END_TEST

START_TEST(test_kbd_disable_hides_keys_until_enabled)
{
	wr(CMD, 0xad);
	ck_assert_int_eq(io_sim_feed(io, 0x60, "\x10\x90", 2), 2);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	ck_assert_uint_ne(rd(DATA), 0x10);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x55); /* 0x45 | kbd disabled */
	wr(CMD, 0xae);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x10);
	ck_assert_uint_eq(rd(DATA), 0x90);
}
END_TEST

START_TEST(test_kbd_keyboard_replies_go_ahead_of_queued_keys)
{
	ck_assert_int_eq(io_sim_feed(io, 0x60, "\x1c", 1), 1);
	wr(DATA, 0xff); /* keyboard reset */
	ck_assert_uint_eq(rd(DATA), 0xfa);
	ck_assert_uint_eq(rd(DATA), 0xaa);
	ck_assert_uint_eq(rd(DATA), 0x1c);
	wr(DATA, 0xed); /* LEDs, then their argument */
	wr(DATA, 0x07);
	ck_assert_uint_eq(rd(DATA), 0xfa);
	ck_assert_uint_eq(rd(DATA), 0xfa);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_kbd_a2_tracks_the_port_written_last)
{
	wr(CMD, 0xae);
	ck_assert_uint_eq(rd(CMD) & ST_A2, ST_A2);
	wr(DATA, 0xf4);
	ck_assert_uint_eq(rd(CMD) & ST_A2, 0);
}
END_TEST

START_TEST(test_kbd_fifo_is_created_and_survives_writer_reopens)
{
	struct stat st;
	uint8_t got[6];
	size_t i;

	open_kbc(tmpdir);
	ck_assert_int_eq(stat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	write_fifo("\x1e\x9e\x30", 3);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	write_fifo("\xb0\x2e", 2);
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
		got[i] = rd(DATA);
	}
	ck_assert_mem_eq(got, "\x1e\x9e\x30\xb0\x2e", 5);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	write_fifo("\xae", 1);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0xae);
	io_close(io);
}
END_TEST

START_TEST(test_kbd_fifo_path_taken_by_a_file_is_refused)
{
	int fd;

	fd = open(fifo, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(open_kbc_at(tmpdir), -EEXIST);
	ck_assert_str_eq(io_last_error(io), "kbd0.in: File exists");
	io_close(io);
}
END_TEST

START_TEST(test_kbd_fifo_left_0644_is_made_0600)
{
	struct stat st;

	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(chmod(fifo, 0644), 0);
	open_kbc(tmpdir);
	ck_assert_int_eq(stat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	io_close(io);
}
END_TEST

START_TEST(test_kbd_fed_overflow_is_dropped_and_counted)
{
	static uint8_t buf[KEYQ + 904];
	uint64_t dropped = 0;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7;
	ck_assert_int_eq(io_sim_feed(io, 0x60, buf, sizeof(buf)), KEYQ);
	ck_assert_int_eq(io_sim_dropped(io, 0x60, &dropped), 0);
	ck_assert_uint_eq(dropped, 904);
	for (i = 0; i < KEYQ; i++)
		ck_assert_uint_eq(rd(DATA), (uint8_t)(i * 7));
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_kbd_fifo_overflow_is_dropped_and_counted)
{
	static uint8_t buf[KEYQ + 100];
	uint64_t dropped = 0;
	size_t i;

	open_kbc(tmpdir);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i;
	write_fifo(buf, sizeof(buf));
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	ck_assert_int_eq(io_sim_dropped(io, 0x64, &dropped), 0);
	ck_assert_uint_eq(dropped, 100);
	for (i = 0; i < KEYQ; i++)
		ck_assert_uint_eq(rd(DATA), (uint8_t)i);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	write_fifo("\x01", 1);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x01);
	io_close(io);
}
END_TEST

START_TEST(test_kbd_unmodelled_commands_are_ignored)
{
	wr(CMD, 0xfe); /* would pulse the CPU reset line */
	wr(CMD, 0xc0);
	ck_assert_uint_eq(rd(CMD), ST_SYS | ST_INH | ST_A2);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x45);
}
END_TEST

START_TEST(test_aux_enable_reporting_is_acked_on_the_aux_channel)
{
	wr(CMD, 0xa8);
	ck_assert_uint_eq(rd(CMD), ST_SYS | ST_INH | ST_A2);
	wr_aux(0xf4);
	/* as QEMU: 0xfa with status 0x3d, bit 5 telling a mouse byte */
	ck_assert_uint_eq(rd(CMD), ST_SYS | ST_INH | ST_AUX | ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0xfa);
	ck_assert_uint_eq(rd(CMD) & (ST_OBF | ST_AUX), 0);
}
END_TEST

START_TEST(test_aux_commands_answer_as_qemus_mouse)
{
	wr_aux(0xff); /* reset */
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0xaa);
	ck_assert_uint_eq(rd_aux(), 0x00);
	wr_aux(0xf2); /* identify */
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0x00);
	wr_aux(0xf3); /* sample rate, then its argument */
	wr_aux(40);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	wr_aux(0xf4);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	wr_aux(0xe9); /* status: reporting on, resolution 2, 100/s */
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0x20);
	ck_assert_uint_eq(rd_aux(), 2);
	ck_assert_uint_eq(rd_aux(), 100);
	wr_aux(0xf6); /* defaults turn reporting off */
	ck_assert_uint_eq(rd_aux(), 0xfa);
	wr_aux(0xe9);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0x00);
	ck_assert_uint_eq(rd_aux(), 2);
	ck_assert_uint_eq(rd_aux(), 100);
	wr_aux(0x42); /* unknown: no answer */
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_aux_test_and_write_aux_output_buffer)
{
	wr(CMD, 0xa9);
	ck_assert_uint_eq(rd(CMD) & (ST_OBF | ST_AUX), ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x00);
	wr(CMD, 0xd3);
	wr(DATA, 0x5c);
	ck_assert_uint_eq(rd_aux(), 0x5c);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_aux_answers_wait_behind_keys_and_while_aux_disabled)
{
	ck_assert_int_eq(io_sim_feed(io, 0x60, "\x1e", 1), 1);
	wr(CMD, 0xa7);
	wr_aux(0xf2);
	ck_assert_uint_eq(rd(CMD) & (ST_OBF | ST_AUX), ST_OBF);
	ck_assert_uint_eq(rd(DATA), 0x1e);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0); /* held: aux disabled */
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x65); /* 0x45 | aux disabled */
	wr(CMD, 0xa8);
	ck_assert_uint_eq(rd_aux(), 0xfa);
	ck_assert_uint_eq(rd_aux(), 0x00);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
}
END_TEST

START_TEST(test_aux_fifo_bytes_come_out_as_mouse_bytes_once_reporting)
{
	static const uint8_t pkts[] = { 0x08, 0x0a, 0x05, 0x09, 0x00, 0xff };
	uint64_t dropped = 0;
	struct stat st;
	size_t i;

	open_kbc(tmpdir);
	ck_assert_int_eq(stat(auxfifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* a mouse not yet told to report sends nothing */
	write_to(auxfifo, pkts, 3);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	ck_assert_int_eq(io_sim_dropped(io, 0x64, &dropped), 0);
	ck_assert_uint_eq(dropped, 3);
	aux_on();
	write_to(auxfifo, pkts, 4);
	write_to(auxfifo, pkts + 4, 2);
	for (i = 0; i < sizeof(pkts); i++)
		ck_assert_uint_eq(rd_aux(), pkts[i]);
	ck_assert_uint_eq(rd(CMD) & ST_OBF, 0);
	io_close(io);
}
END_TEST

START_TEST(test_aux_keys_and_mouse_bytes_each_keep_their_order)
{
	uint8_t st, b, keys[4], moves[3];
	size_t nk = 0, nm = 0;

	open_kbc(tmpdir);
	aux_on();
	write_to(auxfifo, "\x08\x01\x02", 3);
	write_fifo("\x23\xa3\x17\x97", 4);
	while ((st = rd(CMD)) & ST_OBF) {
		b = rd(DATA);
		if (st & ST_AUX) {
			ck_assert_uint_lt(nm, 3);
			moves[nm++] = b;
		} else {
			ck_assert_uint_lt(nk, 4);
			keys[nk++] = b;
		}
	}
	ck_assert_uint_eq(nk, 4);
	ck_assert_uint_eq(nm, 3);
	ck_assert_mem_eq(keys, "\x23\xa3\x17\x97", 4);
	ck_assert_mem_eq(moves, "\x08\x01\x02", 3);
	io_close(io);
}
END_TEST

START_TEST(test_aux_fifo_path_taken_by_a_file_is_refused)
{
	int fd;

	fd = open(auxfifo, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(open_kbc_at(tmpdir), -EEXIST);
	ck_assert_str_eq(io_last_error(io), "kbd0.aux: File exists");
	io_close(io);
}
END_TEST

START_TEST(test_aux_fifo_left_0644_is_made_0600)
{
	struct stat st;

	ck_assert_int_eq(mkfifo(auxfifo, 0600), 0);
	ck_assert_int_eq(chmod(auxfifo, 0644), 0);
	open_kbc(tmpdir);
	ck_assert_int_eq(stat(auxfifo, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	io_close(io);
}
END_TEST

static Suite *
i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *core = tcase_create("Core");
	TCase *fifo_tc = tcase_create("Fifo");
	TCase *lim = tcase_create("Limits");
	TCase *aux = tcase_create("Aux");
	TCase *aux_fifo = tcase_create("AuxFifo");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_kbd_idle_status_shows_sys_and_not_inhibited);
	tcase_add_test(core, test_kbd_fed_bytes_set_obf_and_come_out_in_order);
	tcase_add_test(core, test_kbd_empty_data_read_repeats_last_byte);
	tcase_add_test(core,
	               test_kbd_self_test_replies_55_and_interface_test_00);
	tcase_add_test(core,
	               test_kbd_command_byte_reads_default_and_takes_writes);
	tcase_add_test(core, test_kbd_disable_hides_keys_until_enabled);
	tcase_add_test(core, test_kbd_keyboard_replies_go_ahead_of_queued_keys);
	tcase_add_test(core, test_kbd_a2_tracks_the_port_written_last);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(fifo_tc, setup_dir, teardown_dir);
	tcase_add_test(fifo_tc,
	               test_kbd_fifo_is_created_and_survives_writer_reopens);
	tcase_add_test(fifo_tc, test_kbd_fifo_path_taken_by_a_file_is_refused);
	tcase_add_test(fifo_tc, test_kbd_fifo_left_0644_is_made_0600);
	tcase_add_test(fifo_tc, test_kbd_fifo_overflow_is_dropped_and_counted);
	suite_add_tcase(s, fifo_tc);

	tcase_add_checked_fixture(aux, setup, teardown);
	tcase_add_test(aux,
	               test_aux_enable_reporting_is_acked_on_the_aux_channel);
	tcase_add_test(aux, test_aux_commands_answer_as_qemus_mouse);
	tcase_add_test(aux, test_aux_test_and_write_aux_output_buffer);
	tcase_add_test(
	        aux, test_aux_answers_wait_behind_keys_and_while_aux_disabled);
	suite_add_tcase(s, aux);

	tcase_add_checked_fixture(aux_fifo, setup_dir, teardown_dir);
	tcase_add_test(
	        aux_fifo,
	        test_aux_fifo_bytes_come_out_as_mouse_bytes_once_reporting);
	tcase_add_test(aux_fifo,
	               test_aux_keys_and_mouse_bytes_each_keep_their_order);
	tcase_add_test(aux_fifo, test_aux_fifo_path_taken_by_a_file_is_refused);
	tcase_add_test(aux_fifo, test_aux_fifo_left_0644_is_made_0600);
	suite_add_tcase(s, aux_fifo);

	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(lim, test_kbd_fed_overflow_is_dropped_and_counted);
	tcase_add_test(lim, test_kbd_unmodelled_commands_are_ignored);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(i8042_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
