/*
 * check_mc146818.c: the sim backend's MC146818 model, driven through libio
 * on a fake clock: formats, UIP timing, setting the time, the offset file
 * and the CMOS RAM file in the sim dir fd and what happens when they cannot
 * be saved.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ddm_io.h"
#include "tinyfs.h"

#define REG_SEC     0x00
#define REG_MIN     0x02
#define REG_HOUR    0x04
#define REG_WDAY    0x06
#define REG_MDAY    0x07
#define REG_MONTH   0x08
#define REG_YEAR    0x09
#define REG_A       0x0a
#define REG_B       0x0b
#define REG_C       0x0c
#define REG_D       0x0d
#define REG_CENTURY 0x32
#define CMOS_SIZE   128 /* rtc0.cmos: byte i is register i */
#define B_SET       0x80
#define B_DM        0x04
#define B_24H       0x02

static struct timespec fake_now;
static struct io *io;
static struct io_region *rtc;
static char tmpdir[] = "/tmp/check_mc146818.XXXXXX";

static int
fake_clock(void *arg, struct timespec *ret)
{
	*ret = fake_now;
	return 0;
}

/* Sets the fake clock to a UTC date-time plus nsec. */
static void
set_now(int y, int mo, int d, int h, int mi, int s, long nsec)
{
	struct tm tm = { .tm_year = y - 1900,
		         .tm_mon = mo - 1,
		         .tm_mday = d,
		         .tm_hour = h,
		         .tm_min = mi,
		         .tm_sec = s };

	fake_now.tv_sec = timegm(&tm);
	fake_now.tv_nsec = nsec;
}

/* An io with sim dir dirfd (-1: none); 0 or the port request's error. */
static int
open_rtc_fd(int dirfd, struct io **ret_io, struct io_region **ret_r)
{
	struct io_opts o = { .backend = "sim",
		             .sim_dirfd = dirfd,
		             .name = "rtc0" };

	ck_assert_int_eq(io_open(&o, ret_io), 0);
	ck_assert_int_eq(io_sim_set_clock(*ret_io, fake_clock, NULL), 0);
	return io_region_request(*ret_io, IO_SPACE_PORT, 0x70, 2, ret_r);
}

/* The same with the directory dir (NULL: none), its fd closed at once. */
static struct io *
open_rtc(const char *dir, struct io_region **ret_r)
{
	struct io *i;
	int dfd = -1;

	if (dir) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(dfd, 0);
	}
	ck_assert_int_eq(open_rtc_fd(dfd, &i, ret_r), 0);
	if (dfd >= 0)
		close(dfd);
	return i;
}

static uint8_t
rd(struct io_region *r, uint8_t reg)
{
	uint8_t v = 0x5a;

	ck_assert_int_eq(io_write8(r, 0, reg), 0);
	ck_assert_int_eq(io_read8(r, 1, &v), 0);
	return v;
}

static void
wr(struct io_region *r, uint8_t reg, uint8_t v)
{
	ck_assert_int_eq(io_write8(r, 0, reg), 0);
	ck_assert_int_eq(io_write8(r, 1, v), 0);
}

static void
setup(void)
{
	/* Thursday 2024-02-29 13:45:30.5 UTC */
	set_now(2024, 2, 29, 13, 45, 30, 500000000L);
	io = open_rtc(NULL, &rtc);
}

static void
teardown(void)
{
	io_close(io);
	io = NULL;
}

static void
setup_dir(void)
{
	strcpy(tmpdir, "/tmp/check_mc146818.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	set_now(2024, 2, 29, 13, 45, 30, 500000000L);
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

/* The offset the file in tmpdir holds. */
static long long
offset_in_file(void)
{
	char path[128], buf[64] = "";
	int fd;

	snprintf(path, sizeof(path), "%s/rtc0.offset", tmpdir);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	ck_assert_uint_eq(buf[strlen(buf) - 1], '\n');
	return strtoll(buf, NULL, 10);
}

/* Reads tmpdir's rtc0.cmos into buf (cap bytes); returns its size. */
static ssize_t
cmos_file(uint8_t *buf, size_t cap)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/rtc0.cmos", tmpdir);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, cap);
	ck_assert_int_ge(n, 0);
	close(fd);
	return n;
}

/* Writes len bytes of buf as tmpdir's file name. */
static void
put_file(const char *name, const void *buf, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Sets the date-time with the SET bit, in the format B currently has. */
static void
set_time_bcd(struct io_region *r, uint8_t cen, uint8_t yr, uint8_t mon,
             uint8_t day, uint8_t hr, uint8_t min, uint8_t sec)
{
	uint8_t b = rd(r, REG_B);

	wr(r, REG_B, b | B_SET);
	wr(r, REG_CENTURY, cen);
	wr(r, REG_YEAR, yr);
	wr(r, REG_MONTH, mon);
	wr(r, REG_MDAY, day);
	wr(r, REG_HOUR, hr);
	wr(r, REG_MIN, min);
	wr(r, REG_SEC, sec);
	wr(r, REG_B, b & ~B_SET);
}

START_TEST(test_rtc_reads_bcd_24h_by_default)
{
	ck_assert_uint_eq(rd(rtc, REG_B), 0x02);
	ck_assert_uint_eq(rd(rtc, REG_A), 0x26);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
	ck_assert_uint_eq(rd(rtc, REG_MIN), 0x45);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x13);
	ck_assert_uint_eq(rd(rtc, REG_WDAY), 5);
	ck_assert_uint_eq(rd(rtc, REG_MDAY), 0x29);
	ck_assert_uint_eq(rd(rtc, REG_MONTH), 0x02);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 0x24);
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 0x20);
}
END_TEST

START_TEST(test_rtc_reads_binary_when_dm_set)
{
	wr(rtc, REG_B, B_DM | B_24H);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 30);
	ck_assert_uint_eq(rd(rtc, REG_MIN), 45);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 13);
	ck_assert_uint_eq(rd(rtc, REG_MDAY), 29);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 24);
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 20);
	wr(rtc, REG_B, B_24H);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
}
END_TEST

START_TEST(test_rtc_12h_mode_marks_pm_in_bit7)
{
	wr(rtc, REG_B, 0);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x81);
	wr(rtc, REG_B, B_DM);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x81);
	set_now(2024, 2, 29, 9, 0, 0, 0);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 9);
}
END_TEST

START_TEST(test_rtc_12h_midnight_is_12am_and_noon_is_12pm)
{
	wr(rtc, REG_B, 0);
	set_now(2024, 3, 1, 0, 30, 0, 0);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x12);
	set_now(2024, 3, 1, 12, 30, 0, 0);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x92);
	set_now(2024, 3, 1, 23, 59, 59, 0);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x91);
}
END_TEST

START_TEST(test_rtc_12h_writes_of_12am_and_12pm_set_00_and_12)
{
	wr(rtc, REG_B, 0);
	set_time_bcd(rtc, 0x20, 0x25, 0x06, 0x15, 0x12, 0x00, 0x00);
	wr(rtc, REG_B, B_24H);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x00);
	wr(rtc, REG_B, 0);
	set_time_bcd(rtc, 0x20, 0x25, 0x06, 0x15, 0x92, 0x00, 0x00);
	wr(rtc, REG_B, B_24H);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x12);
}
END_TEST

START_TEST(test_rtc_uip_set_only_in_last_244us_of_second)
{
	fake_now.tv_nsec = 1000000000L - 244000;
	ck_assert_uint_eq(rd(rtc, REG_A), 0xa6);
	fake_now.tv_nsec = 999999999L;
	ck_assert_uint_eq(rd(rtc, REG_A), 0xa6);
	fake_now.tv_nsec = 1000000000L - 244001;
	ck_assert_uint_eq(rd(rtc, REG_A), 0x26);
	fake_now.tv_nsec = 0;
	ck_assert_uint_eq(rd(rtc, REG_A), 0x26);
}
END_TEST

START_TEST(test_rtc_set_freezes_time_registers)
{
	wr(rtc, REG_B, B_24H | B_SET);
	fake_now.tv_sec += 5;
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
	fake_now.tv_nsec = 999999999L;
	ck_assert_uint_eq(rd(rtc, REG_A) & 0x80, 0);
	wr(rtc, REG_B, B_24H);
	/* The held time becomes the clock's time: 5 s were lost. */
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
	fake_now.tv_sec += 1;
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x31);
}
END_TEST

START_TEST(test_rtc_setting_time_moves_clock_and_keeps_ticking)
{
	set_time_bcd(rtc, 0x20, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 0x30);
	ck_assert_uint_eq(rd(rtc, REG_MONTH), 0x01);
	ck_assert_uint_eq(rd(rtc, REG_MDAY), 0x02);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x03);
	ck_assert_uint_eq(rd(rtc, REG_MIN), 0x04);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x05);
	ck_assert_uint_eq(rd(rtc, REG_WDAY), 4); /* 2030-01-02: Wednesday */
	fake_now.tv_sec += 10;
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x15);
}
END_TEST

START_TEST(test_rtc_write_without_set_takes_effect_at_once)
{
	wr(rtc, REG_MIN, 0x10);
	ck_assert_uint_eq(rd(rtc, REG_MIN), 0x10);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x13);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
}
END_TEST

START_TEST(test_rtc_century_register_sets_the_century)
{
	wr(rtc, REG_B, B_DM | B_24H);
	set_time_bcd(rtc, 21, 5, 7, 4, 12, 0, 0);
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 21);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 5);
	wr(rtc, REG_B, B_24H);
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 0x21);
}
END_TEST

START_TEST(test_rtc_nvram_stores_bytes)
{
	unsigned int i;

	for (i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			wr(rtc, i, i ^ 0xa5);
	wr(rtc, 0x01, 0x11);
	wr(rtc, 0x03, 0x33);
	wr(rtc, 0x05, 0x55);
	for (i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			ck_assert_uint_eq(rd(rtc, i), i ^ 0xa5);
	ck_assert_uint_eq(rd(rtc, 0x01), 0x11);
	ck_assert_uint_eq(rd(rtc, 0x03), 0x33);
	ck_assert_uint_eq(rd(rtc, 0x05), 0x55);
}
END_TEST

START_TEST(test_rtc_reg_d_reports_good_battery_and_c_reads_0)
{
	ck_assert_uint_eq(rd(rtc, REG_D), 0x80);
	wr(rtc, REG_D, 0x00);
	ck_assert_uint_eq(rd(rtc, REG_D), 0x80);
	wr(rtc, REG_C, 0xff);
	ck_assert_uint_eq(rd(rtc, REG_C), 0x00);
}
END_TEST

START_TEST(test_rtc_offset_persisted_and_reloaded)
{
	struct io_region *r2;
	struct io *io2;
	char path[128];
	struct stat st;
	struct tm tm = { .tm_year = 130,
		         .tm_mon = 0,
		         .tm_mday = 2,
		         .tm_hour = 3,
		         .tm_min = 4,
		         .tm_sec = 5 };

	io = open_rtc(tmpdir, &rtc);
	set_time_bcd(rtc, 0x20, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05);
	ck_assert_int_eq(offset_in_file(),
	                 (long long)(timegm(&tm) - fake_now.tv_sec));
	snprintf(path, sizeof(path), "%s/rtc0.offset", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/rtc0.offset.tmp", tmpdir);
	ck_assert_int_eq(lstat(path, &st), -1); /* the temp file is gone */
	io_close(io);

	io2 = open_rtc(tmpdir, &r2);
	ck_assert_uint_eq(rd(r2, REG_YEAR), 0x30);
	ck_assert_uint_eq(rd(r2, REG_MIN), 0x04);
	ck_assert_uint_eq(rd(r2, REG_SEC), 0x05);
	io_close(io2);
}
END_TEST

START_TEST(test_rtc_garbage_offset_file_counts_as_zero)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rtc0.offset", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("12abc\n", f);
	fclose(f);
	io = open_rtc(tmpdir, &rtc);
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x13);
	ck_assert_uint_eq(rd(rtc, REG_SEC), 0x30);
	io_close(io);
}
END_TEST

START_TEST(test_rtc_time_whose_offset_cannot_be_saved_is_not_set)
{
	char path[128];
	struct stat st;
	long long saved;
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = tinyfs_mount(tmpdir);
	ck_assert_int_eq(open_rtc_fd(dfd, &io, &rtc), 0);
	set_time_bcd(rtc, 0x20, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05);
	saved = offset_in_file();
	tinyfs_fill(dfd);

	/* With SET: clearing it commits the time, and fails. */
	wr(rtc, REG_B, rd(rtc, REG_B) | B_SET);
	wr(rtc, REG_YEAR, 0x40);
	ck_assert_int_eq(io_write8(rtc, 0, REG_B), 0);
	ck_assert_int_eq(io_write8(rtc, 1, B_24H), -ENOSPC);
	ck_assert_str_eq(io_last_error(io),
	                 "rtc0.offset.tmp: No space left on device");
	ck_assert_uint_eq(rd(rtc, REG_B), B_24H);   /* the clock runs on */
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 0x30); /* at its old time */
	/* Without SET: the write to the time register fails. */
	ck_assert_int_eq(io_write8(rtc, 0, REG_MIN), 0);
	ck_assert_int_eq(io_write8(rtc, 1, 0x44), -ENOSPC);
	ck_assert_uint_eq(rd(rtc, REG_MIN), 0x04);
	ck_assert_int_eq(offset_in_file(), saved);
	snprintf(path, sizeof(path), "%s/rtc0.offset.tmp", tmpdir);
	ck_assert_int_eq(lstat(path, &st), -1);
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_rtc_unreadable_offset_file_fails_naming_it)
{
	char path[128];
	int dfd;

	snprintf(path, sizeof(path), "%s/rtc0.offset", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(open_rtc_fd(dfd, &io, &rtc), -EISDIR);
	ck_assert_str_eq(io_last_error(io), "rtc0.offset: Is a directory");
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_rtc_stale_temp_file_is_replaced_not_reused)
{
	char path[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/rtc0.offset.tmp", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "garbage garbage\n", 16), 16);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	close(fd);
	io = open_rtc(tmpdir, &rtc);
	set_time_bcd(rtc, 0x20, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05);
	ck_assert_int_ne(offset_in_file(), 0);
	snprintf(path, sizeof(path), "%s/rtc0.offset", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	io_close(io);
}
END_TEST

START_TEST(test_rtc_cmos_ram_persisted_and_reloaded)
{
	uint8_t img[CMOS_SIZE + 1];
	struct io_region *r2;
	struct io *io2;
	char path[128];
	struct stat st;
	unsigned int i;

	io = open_rtc(tmpdir, &rtc);
	set_time_bcd(rtc, 0x20, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05);
	wr(rtc, 0x0e, 0x11);
	wr(rtc, 0x40, 0xa5);
	wr(rtc, 0x7f, 0xfe);
	wr(rtc, 0x03, 0x33); /* an alarm register: not CMOS RAM */
	ck_assert_int_eq(cmos_file(img, sizeof(img)), CMOS_SIZE);
	ck_assert_uint_eq(img[0x0e], 0x11);
	ck_assert_uint_eq(img[0x40], 0xa5);
	ck_assert_uint_eq(img[0x7f], 0xfe);
	for (i = 0; i < 0x0e; i++) /* the clock's bytes live elsewhere */
		ck_assert_uint_eq(img[i], 0);
	ck_assert_uint_eq(img[REG_CENTURY], 0);
	for (i = 0x0f; i < 0x7f; i++)
		if (i != 0x40)
			ck_assert_uint_eq(img[i], 0);
	snprintf(path, sizeof(path), "%s/rtc0.cmos", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/rtc0.cmos.tmp", tmpdir);
	ck_assert_int_eq(lstat(path, &st), -1); /* the temp file is gone */
	io_close(io);

	io2 = open_rtc(tmpdir, &r2);
	ck_assert_uint_eq(rd(r2, 0x0e), 0x11);
	ck_assert_uint_eq(rd(r2, 0x40), 0xa5);
	ck_assert_uint_eq(rd(r2, 0x7f), 0xfe);
	ck_assert_uint_eq(rd(r2, 0x41), 0x00);
	ck_assert_uint_eq(rd(r2, 0x03), 0x00);     /* alarms are not kept */
	ck_assert_uint_eq(rd(r2, REG_YEAR), 0x30); /* the clock is */
	ck_assert_uint_eq(rd(r2, REG_CENTURY), 0x20);
	ck_assert_ptr_null(io_last_error(io2));
	io_close(io2);
}
END_TEST

START_TEST(test_rtc_cmos_missing_file_reads_zero_and_reading_writes_none)
{
	char path[128];
	struct stat st;
	unsigned int i;

	io = open_rtc(tmpdir, &rtc);
	for (i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			ck_assert_uint_eq(rd(rtc, i), 0);
	snprintf(path, sizeof(path), "%s/rtc0.cmos", tmpdir);
	ck_assert_int_eq(lstat(path, &st), -1);
	/* writing the value a byte holds stores nothing */
	wr(rtc, 0x20, 0x00);
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_ptr_null(io_last_error(io));
	io_close(io);
}
END_TEST

START_TEST(test_rtc_cmos_file_of_wrong_size_is_ignored_and_noted)
{
	uint8_t img[CMOS_SIZE + 1];

	memset(img, 0x5a, sizeof(img));
	put_file("rtc0.cmos", img, 114);
	io = open_rtc(tmpdir, &rtc);
	ck_assert_uint_eq(rd(rtc, 0x0e), 0x00);
	ck_assert_uint_eq(rd(rtc, 0x7f), 0x00);
	ck_assert_ptr_nonnull(io_last_error(io));
	ck_assert_str_eq(io_last_error(io), "rtc0.cmos: not 128 bytes (114); "
	                                    "ignored, the CMOS RAM is 0");
	ck_assert_uint_eq(rd(rtc, REG_HOUR), 0x13); /* the clock works */
	/* the next write replaces it with a whole image */
	wr(rtc, 0x10, 0x77);
	ck_assert_int_eq(cmos_file(img, sizeof(img)), CMOS_SIZE);
	ck_assert_uint_eq(img[0x10], 0x77);
	ck_assert_uint_eq(img[0x0e], 0x00);
	io_close(io);

	memset(img, 0x5a, sizeof(img));
	put_file("rtc0.cmos", img, CMOS_SIZE + 1);
	io = open_rtc(tmpdir, &rtc);
	ck_assert_uint_eq(rd(rtc, 0x10), 0x00);
	ck_assert_str_eq(io_last_error(io), "rtc0.cmos: not 128 bytes (over "
	                                    "128); ignored, the CMOS RAM is 0");
	io_close(io);
}
END_TEST

START_TEST(test_rtc_cmos_byte_that_cannot_be_saved_keeps_its_value)
{
	uint8_t img[CMOS_SIZE + 1];
	char path[128];
	struct stat st;
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = tinyfs_mount(tmpdir);
	ck_assert_int_eq(open_rtc_fd(dfd, &io, &rtc), 0);
	wr(rtc, 0x20, 0x11);
	tinyfs_fill(dfd);

	ck_assert_int_eq(io_write8(rtc, 0, 0x20), 0);
	ck_assert_int_eq(io_write8(rtc, 1, 0x22), -ENOSPC);
	ck_assert_str_eq(io_last_error(io),
	                 "rtc0.cmos.tmp: No space left on device");
	ck_assert_uint_eq(rd(rtc, 0x20), 0x11); /* unchanged in memory */
	ck_assert_int_eq(cmos_file(img, sizeof(img)), CMOS_SIZE);
	ck_assert_uint_eq(img[0x20], 0x11); /* and in the file */
	snprintf(path, sizeof(path), "%s/rtc0.cmos.tmp", tmpdir);
	ck_assert_int_eq(lstat(path, &st), -1);
	/* the index stays where it was; the same value stores nothing */
	ck_assert_int_eq(io_write8(rtc, 1, 0x11), 0);
	io_close(io);

	/* what a reopen finds is what was stored */
	ck_assert_int_eq(open_rtc_fd(dfd, &io, &rtc), 0);
	ck_assert_uint_eq(rd(rtc, 0x20), 0x11);
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_rtc_unreadable_cmos_file_fails_naming_it)
{
	char path[128];
	int dfd;

	snprintf(path, sizeof(path), "%s/rtc0.cmos", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(open_rtc_fd(dfd, &io, &rtc), -EISDIR);
	ck_assert_str_eq(io_last_error(io), "rtc0.cmos: Is a directory");
	io_close(io);
	close(dfd);
}
END_TEST

START_TEST(test_rtc_invalid_bcd_written_reads_back_as_valid_bcd)
{
	unsigned int reg[] = { REG_SEC,   REG_MIN,  REG_HOUR,   REG_MDAY,
		               REG_MONTH, REG_YEAR, REG_CENTURY };
	unsigned int i;
	uint8_t v;

	set_time_bcd(rtc, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff);
	for (i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
		v = rd(rtc, reg[i]);
		ck_assert_uint_le(v & 0x0f, 9);
		ck_assert_uint_le(v >> 4, 9);
	}
	v = rd(rtc, REG_MONTH);
	ck_assert(v >= 0x01 && v <= 0x12);
}
END_TEST

START_TEST(test_rtc_index_bit7_nmi_is_ignored)
{
	wr(rtc, 0x80 | 0x20, 0x77);
	ck_assert_uint_eq(rd(rtc, 0x20), 0x77);
	ck_assert_uint_eq(rd(rtc, 0x80 | REG_SEC), 0x30);
}
END_TEST

START_TEST(test_rtc_uip_bit_cannot_be_written)
{
	wr(rtc, REG_A, 0xa6);
	ck_assert_uint_eq(rd(rtc, REG_A), 0x26);
}
END_TEST

START_TEST(test_rtc_clock_wraps_at_year_end)
{
	set_now(2099, 12, 31, 23, 59, 59, 0);
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 0x20);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 0x99);
	fake_now.tv_sec++;
	ck_assert_uint_eq(rd(rtc, REG_CENTURY), 0x21);
	ck_assert_uint_eq(rd(rtc, REG_YEAR), 0x00);
	ck_assert_uint_eq(rd(rtc, REG_MONTH), 0x01);
	ck_assert_uint_eq(rd(rtc, REG_MDAY), 0x01);
}
END_TEST

static Suite *
mc146818_suite(void)
{
	Suite *s = suite_create("mc146818");
	TCase *core = tcase_create("Core");
	TCase *files = tcase_create("Files");
	TCase *lim = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_rtc_reads_bcd_24h_by_default);
	tcase_add_test(core, test_rtc_reads_binary_when_dm_set);
	tcase_add_test(core, test_rtc_12h_mode_marks_pm_in_bit7);
	tcase_add_test(core, test_rtc_12h_midnight_is_12am_and_noon_is_12pm);
	tcase_add_test(core,
	               test_rtc_12h_writes_of_12am_and_12pm_set_00_and_12);
	tcase_add_test(core, test_rtc_uip_set_only_in_last_244us_of_second);
	tcase_add_test(core, test_rtc_set_freezes_time_registers);
	tcase_add_test(core,
	               test_rtc_setting_time_moves_clock_and_keeps_ticking);
	tcase_add_test(core, test_rtc_write_without_set_takes_effect_at_once);
	tcase_add_test(core, test_rtc_century_register_sets_the_century);
	tcase_add_test(core, test_rtc_nvram_stores_bytes);
	tcase_add_test(core, test_rtc_reg_d_reports_good_battery_and_c_reads_0);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(files, setup_dir, teardown_dir);
	tcase_add_test(files, test_rtc_offset_persisted_and_reloaded);
	tcase_add_test(files, test_rtc_garbage_offset_file_counts_as_zero);
	tcase_add_test(files,
	               test_rtc_time_whose_offset_cannot_be_saved_is_not_set);
	tcase_add_test(files, test_rtc_unreadable_offset_file_fails_naming_it);
	tcase_add_test(files, test_rtc_stale_temp_file_is_replaced_not_reused);
	tcase_add_test(files, test_rtc_cmos_ram_persisted_and_reloaded);
	tcase_add_test(
	        files,
	        test_rtc_cmos_missing_file_reads_zero_and_reading_writes_none);
	tcase_add_test(files,
	               test_rtc_cmos_file_of_wrong_size_is_ignored_and_noted);
	tcase_add_test(files,
	               test_rtc_cmos_byte_that_cannot_be_saved_keeps_its_value);
	tcase_add_test(files, test_rtc_unreadable_cmos_file_fails_naming_it);
	suite_add_tcase(s, files);

	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(lim,
	               test_rtc_invalid_bcd_written_reads_back_as_valid_bcd);
	tcase_add_test(lim, test_rtc_index_bit7_nmi_is_ignored);
	tcase_add_test(lim, test_rtc_uip_bit_cannot_be_written);
	tcase_add_test(lim, test_rtc_clock_wraps_at_year_end);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mc146818_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
