/*
 * check_rtc.c: unit tests of drivers/rtc against the sim MC146818, with a
 * fake clock under the model, also one whose files lie on a filesystem
 * that fills up: the rtc node (the clock) and the nvram node (the CMOS
 * bytes), and where the driver takes its ports.  Handles are libdriver's
 * own (struct hnd), so ddm_read_text() works on them.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver_impl.h"
#include "tinyfs.h"

#define main rtc_main_unused
#include "rtc.c"
#undef main

#define USER_UID 1000 /* someone who is not root */

/* The model's clock: starts at t and moves step_ns on every reading. */
struct fclock {
	struct timespec t;
	long step_ns;
};

static struct io *sim;
static struct rtc_softc sc;
static struct fclock fc;
static struct ddm_node rtc_node = { .name = "rtc0", .kind = RTC_KIND_RTC };
static struct ddm_node nvram_node = { .name = "nvram0",
	                              .index = 1,
	                              .kind = RTC_KIND_NVRAM };

static int
fclock_now(void *arg, struct timespec *ret)
{
	struct fclock *c = arg;

	*ret = c->t;
	c->t.tv_nsec += c->step_ns;
	while (c->t.tv_nsec >= 1000000000L) {
		c->t.tv_nsec -= 1000000000L;
		c->t.tv_sec++;
	}
	return 0;
}

/* Points the clock at a UTC date-time plus nsec, moving step_ns a read. */
static void
set_clock(int y, int mo, int d, int h, int mi, int s, long nsec, long step)
{
	struct tm tm = { .tm_year = y - 1900,
		         .tm_mon = mo - 1,
		         .tm_mday = d,
		         .tm_hour = h,
		         .tm_min = mi,
		         .tm_sec = s };

	fc.t.tv_sec = timegm(&tm);
	fc.t.tv_nsec = nsec;
	fc.step_ns = step;
}

static void
setup(void)
{
	struct io_opts o = { .backend = "sim", .name = "rtc0" };

	ck_assert_int_eq(io_open(&o, &sim), 0);
	set_clock(2026, 11, 21, 12, 34, 56, 500000000L, 0);
	ck_assert_int_eq(io_sim_set_clock(sim, fclock_now, &fc), 0);
	memset(&sc, 0, sizeof(sc));
	ck_assert_int_eq(rtc_attach(&sc, sim, 0x70), 0);
}

static void
teardown(void)
{
	rtc_detach(&sc);
	io_close(sim);
}

static char tmpdir[64];

/* Puts the driver on a model whose offset file lies on a full tinyfs. */
static int
attach_on_full_tinyfs(void)
{
	struct io_opts o = { .backend = "sim", .name = "rtc0" };

	rtc_detach(&sc);
	io_close(sim);
	strcpy(tmpdir, "/tmp/check_rtc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	o.sim_dirfd = tinyfs_mount(tmpdir);
	ck_assert_int_eq(io_open(&o, &sim), 0);
	ck_assert_int_eq(io_sim_set_clock(sim, fclock_now, &fc), 0);
	memset(&sc, 0, sizeof(sc));
	ck_assert_int_eq(rtc_attach(&sc, sim, 0x70), 0);
	tinyfs_fill(o.sim_dirfd);
	return o.sim_dirfd;
}

static void
set_regb(uint8_t b)
{
	uint8_t v;

	ck_assert_int_eq(rtc_write_reg(&sc, mc_regb, b), 0);
	ck_assert_int_eq(rtc_read_reg(&sc, mc_regb, &v), 0);
	ck_assert_uint_eq(v, b);
}

static uint8_t
reg(uint8_t r)
{
	uint8_t v = 0xee;

	ck_assert_int_eq(rtc_read_reg(&sc, r, &v), 0);
	return v;
}

static void
check_tm(const struct rtc_time *tm, int y, int mo, int d, int h, int mi, int s)
{
	ck_assert_int_eq(tm->tm_year + 1900, y);
	ck_assert_int_eq(tm->tm_mon + 1, mo);
	ck_assert_int_eq(tm->tm_mday, d);
	ck_assert_int_eq(tm->tm_hour, h);
	ck_assert_int_eq(tm->tm_min, mi);
	ck_assert_int_eq(tm->tm_sec, s);
}

/* Reads the clock through the driver and checks the date-time. */
static void
check_now(int y, int mo, int d, int h, int mi, int s)
{
	struct rtc_time tm;

	memset(&tm, 0xff, sizeof(tm));
	ck_assert_int_eq(rtc_gettime(&sc, &tm), 0);
	check_tm(&tm, y, mo, d, h, mi, s);
}

static struct rtc_time
mk_tm(int y, int mo, int d, int h, int mi, int s)
{
	struct rtc_time tm = { .tm_year = y - 1900,
		               .tm_mon = mo - 1,
		               .tm_mday = d,
		               .tm_hour = h,
		               .tm_min = mi,
		               .tm_sec = s };

	return tm;
}

/*
 * A handle on node n open with flags, as libdriver makes one (ddm_read_text()
 * keeps its text in it); give it back with put_handle().
 */
static struct hnd *
get_handle(struct ddm_node *n, int flags)
{
	struct hnd *hp = calloc(1, sizeof(*hp));

	ck_assert_ptr_nonnull(hp);
	hp->h = (struct ddm_handle){
		.sc = &sc, .node = n, .flags = flags, .uid = USER_UID
	};
	return hp;
}

static void
put_handle(struct hnd *hp)
{
	free(hp->text);
	free(hp);
}

/* Reads the whole nvram node at offset 0 into buf (114 bytes). */
static void
nvram_all(uint8_t buf[MC_NVRAM_LEN])
{
	struct hnd *hp = get_handle(&nvram_node, O_RDONLY);
	uint8_t big[256];

	memset(big, 0xee, sizeof(big));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, big, sizeof(big), 0),
	                 MC_NVRAM_LEN);
	ck_assert_uint_eq(big[MC_NVRAM_LEN], 0xee); /* nothing past the end */
	memcpy(buf, big, MC_NVRAM_LEN);
	put_handle(hp);
}

START_TEST(test_rtc_read_bcd_24h)
{
	ck_assert_uint_eq(reg(mc_regb), MC_REGB_24HR);
	ck_assert_uint_eq(reg(mc_sec), 0x56); /* the model really shows BCD */
	check_now(2026, 11, 21, 12, 34, 56);
	set_clock(2026, 11, 21, 23, 59, 59, 0, 0);
	check_now(2026, 11, 21, 23, 59, 59);
}
END_TEST

START_TEST(test_rtc_read_binary_24h)
{
	set_regb(MC_REGB_24HR | MC_REGB_DM);
	ck_assert_uint_eq(reg(mc_sec), 56);
	check_now(2026, 11, 21, 12, 34, 56);
}
END_TEST

START_TEST(test_rtc_read_12h_pm_bcd)
{
	set_regb(0);
	set_clock(2026, 11, 21, 15, 4, 5, 0, 0);
	ck_assert_uint_eq(reg(mc_hour), MC_HOUR_PM | 0x03);
	check_now(2026, 11, 21, 15, 4, 5);
}
END_TEST

START_TEST(test_rtc_read_12h_am_binary)
{
	set_regb(MC_REGB_DM);
	set_clock(2026, 11, 21, 9, 8, 7, 0, 0);
	ck_assert_uint_eq(reg(mc_hour), 9);
	check_now(2026, 11, 21, 9, 8, 7);
}
END_TEST

START_TEST(test_rtc_read_12h_midnight_is_hour_0)
{
	set_regb(0);
	set_clock(2026, 11, 21, 0, 30, 0, 0, 0);
	ck_assert_uint_eq(reg(mc_hour), 0x12); /* 12 AM */
	check_now(2026, 11, 21, 0, 30, 0);
}
END_TEST

START_TEST(test_rtc_read_12h_noon_is_hour_12)
{
	set_regb(MC_REGB_DM);
	set_clock(2026, 11, 21, 12, 30, 0, 0, 0);
	ck_assert_uint_eq(reg(mc_hour), MC_HOUR_PM | 12); /* 12 PM */
	check_now(2026, 11, 21, 12, 30, 0);
}
END_TEST

START_TEST(test_rtc_read_uses_century_register)
{
	set_clock(2075, 6, 1, 23, 59, 58, 0, 0); /* pivot alone: 1975 */
	check_now(2075, 6, 1, 23, 59, 58);
}
END_TEST

START_TEST(test_rtc_decode_without_century_pivots_at_70)
{
	struct rtc_regs rr = { .sec = 0x01,
		               .min = 0x02,
		               .hour = 0x03,
		               .mday = 0x04,
		               .mon = 0x05,
		               .year = 0x05,
		               .cent = 0x00,
		               .regb = MC_REGB_24HR };
	struct rtc_time tm;

	ck_assert_int_eq(rtc_decode(&rr, &tm), 0);
	check_tm(&tm, 2005, 5, 4, 3, 2, 1);
	rr.year = 0x75;
	rr.cent = 0xff;
	ck_assert_int_eq(rtc_decode(&rr, &tm), 0);
	check_tm(&tm, 1975, 5, 4, 3, 2, 1);
	ck_assert_int_eq(tm.tm_wday, 0); /* 1975-05-04 was a Sunday */
}
END_TEST

START_TEST(test_rtc_read_waits_out_uip)
{
	/* 200 us before the update, 10 us a register read: a reader that
	 * ignored UIP would see two agreeing reads of :56. */
	set_clock(2026, 11, 21, 12, 34, 56, 999800000L, 10000);
	ck_assert_uint_eq(reg(mc_rega) & MC_REGA_UIP, MC_REGA_UIP);
	check_now(2026, 11, 21, 12, 34, 57);
}
END_TEST

START_TEST(test_rtc_set_then_read_round_trips_in_each_mode)
{
	static const uint8_t modes[] = { MC_REGB_24HR,
		                         MC_REGB_24HR | MC_REGB_DM, 0,
		                         MC_REGB_DM };
	struct rtc_time tm;
	size_t i;

	for (i = 0; i < sizeof(modes); i++) {
		set_regb(modes[i]);
		tm = mk_tm(2031, 2, 3, 4, 5, 6);
		ck_assert_int_eq(rtc_settime(&sc, &tm), 0);
		ck_assert_uint_eq(reg(mc_regb), modes[i]); /* SET cleared */
		check_now(2031, 2, 3, 4, 5, 6);
		tm = mk_tm(2099, 12, 31, 12, 0, 59);
		ck_assert_int_eq(rtc_settime(&sc, &tm), 0);
		check_now(2099, 12, 31, 12, 0, 59);
		tm = mk_tm(1970, 1, 1, 0, 0, 0);
		ck_assert_int_eq(rtc_settime(&sc, &tm), 0);
		check_now(1970, 1, 1, 0, 0, 0);
		tm = mk_tm(2024, 2, 29, 23, 1, 2);
		ck_assert_int_eq(rtc_settime(&sc, &tm), 0);
		check_now(2024, 2, 29, 23, 1, 2);
	}
}
END_TEST

START_TEST(test_rtc_weekday_and_yearday_are_computed)
{
	ck_assert_int_eq(day_of_week(2026, 11, 22), 0); /* a Sunday */
	ck_assert_int_eq(day_of_week(2026, 11, 28), 6);
	ck_assert_int_eq(day_of_week(2000, 2, 29), 2);
	ck_assert_int_eq(day_of_week(1970, 1, 1), 4);
	ck_assert_int_eq(day_of_year(2024, 12, 31), 365);
	ck_assert_int_eq(day_of_year(2026, 3, 1), 59);
}
END_TEST

START_TEST(test_rtc_parse_accepts_line_with_and_without_newline)
{
	struct rtc_time tm;

	ck_assert_int_eq(rtc_parse("2026-11-21 12:34:56", 19, &tm), 0);
	check_tm(&tm, 2026, 11, 21, 12, 34, 56);
	ck_assert_int_eq(rtc_parse("2024-02-29 23:59:59\n", 20, &tm), 0);
	check_tm(&tm, 2024, 2, 29, 23, 59, 59);
	ck_assert_int_eq(rtc_parse("1970-01-01 00:00:00", 19, &tm), 0);
	check_tm(&tm, 1970, 1, 1, 0, 0, 0);
}
END_TEST

START_TEST(test_rtc_parse_rejects_bad_text)
{
	static const char *const bad[] = {
		"garbage",
		"2026-13-01 00:00:00",
		"2026-00-01 00:00:00",
		"2026-02-30 10:00:00",
		"2025-02-29 10:00:00",
		"2026-04-31 10:00:00",
		"2026-01-00 10:00:00",
		"2026-01-01 24:00:00",
		"2026-01-01 23:60:00",
		"2026-01-01 23:59:60",
		"1969-12-31 23:59:59",
		"2100-01-01 00:00:00",
		"2026-01-01 00:00:00x",
		"2026-01-01 00:00:00\nx",
		"2026-01-01 00:00:00\n2026-01-01 00:00:00\n",
		"2026-01-01 00:00:00\n\n",
		"2026-01-01T00:00:00",
		"2026/01/01 00:00:00",
		" 2026-01-01 00:00:00",
		"2026-1-01 00:00:00\n",
		"+026-01-01 00:00:00",
		"2026-01-01 0a:00:00",
		"\n",
		"",
	};
	struct rtc_time tm = mk_tm(2000, 1, 1, 1, 1, 1);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(rtc_parse(bad[i], strlen(bad[i]), &tm) == -EINVAL,
		              "accepted \"%s\"", bad[i]);
		check_tm(&tm, 2000, 1, 1, 1, 1, 1); /* untouched */
	}
	ck_assert_int_eq(rtc_parse("2026-01-01 00:00:00\0", 20, &tm), -EINVAL);
}
END_TEST

START_TEST(test_rtc_write_sets_clock_and_returns_count)
{
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node };
	const char *s = "2030-06-15 08:09:10\n";

	ck_assert_int_eq(rtc_write(&h, NULL, s, strlen(s), 0), 20);
	check_now(2030, 6, 15, 8, 9, 10);
	ck_assert_int_eq(rtc_write(&h, NULL, s, 19, 0), 19);
	check_now(2030, 6, 15, 8, 9, 10);
}
END_TEST

START_TEST(test_rtc_bad_write_changes_nothing)
{
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node };
	const char *s = "2026-02-30 10:00:00";

	ck_assert_int_eq(rtc_write(&h, NULL, s, strlen(s), 0), -EINVAL);
	ck_assert_int_eq(rtc_write(&h, NULL, "x", 1, 0), -EINVAL);
	check_now(2026, 11, 21, 12, 34, 56);
}
END_TEST

START_TEST(test_rtc_read_gives_one_line_then_eof)
{
	struct hnd *hp = get_handle(&rtc_node, O_RDONLY);
	char buf[64];

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0), 20);
	ck_assert_str_eq(buf, "2026-11-21 12:34:56\n");
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0), 0);
	put_handle(hp);

	/* A new open reads the clock anew. */
	set_clock(2026, 11, 21, 12, 35, 0, 0, 0);
	hp = get_handle(&rtc_node, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0), 20);
	ck_assert_str_eq(buf, "2026-11-21 12:35:00\n");
	put_handle(hp);
}
END_TEST

START_TEST(test_rtc_short_reads_hand_out_the_rest_of_the_line)
{
	struct hnd *hp = get_handle(&rtc_node, O_RDONLY);
	char buf[64];

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 5, 0), 5);
	ck_assert_str_eq(buf, "2026-");
	/* The clock moves on: the rest still belongs to the first line. */
	set_clock(2027, 1, 1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf + 5, 10, 0), 10);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf + 15, 40, 0), 5);
	ck_assert_str_eq(buf, "2026-11-21 12:34:56\n");
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 40, 0), 0);
	put_handle(hp);
}
END_TEST

START_TEST(test_rtc_ioctl_rd_time)
{
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node };
	struct rtc_time tm;
	struct ddm_ioctl io = { .cmd = RTC_RD_TIME,
		                .out = &tm,
		                .out_len = sizeof(tm) };

	memset(&tm, 0xff, sizeof(tm));
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	ck_assert_int_eq(io.out_len, sizeof(tm));
	check_tm(&tm, 2026, 11, 21, 12, 34, 56);
	ck_assert_int_eq(tm.tm_wday, 6); /* Saturday */
	ck_assert_int_eq(tm.tm_yday, 324);
	ck_assert_int_eq(tm.tm_isdst, 0);
}
END_TEST

START_TEST(test_rtc_ioctl_set_time)
{
	struct ddm_handle h = {
		.sc = &sc, .node = &rtc_node, .flags = O_RDWR, .uid = USER_UID
	};
	struct rtc_time tm = mk_tm(2040, 7, 4, 18, 30, 15);
	struct ddm_ioctl io = { .cmd = RTC_SET_TIME,
		                .in = &tm,
		                .in_len = sizeof(tm) };

	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	check_now(2040, 7, 4, 18, 30, 15);
}
END_TEST

START_TEST(test_rtc_ioctl_set_time_rejects_bad_fields)
{
	struct ddm_handle h = {
		.sc = &sc, .node = &rtc_node, .flags = O_RDWR, .uid = USER_UID
	};
	struct rtc_time bad[] = {
		mk_tm(2026, 13, 1, 0, 0, 0),  mk_tm(2026, 2, 30, 0, 0, 0),
		mk_tm(1969, 12, 31, 0, 0, 0), mk_tm(2100, 1, 1, 0, 0, 0),
		mk_tm(2026, 1, 1, 24, 0, 0),  mk_tm(2026, 1, 1, -1, 0, 0),
		mk_tm(2026, 1, 1, 0, 60, 0),  mk_tm(2026, 1, 1, 0, 0, 60),
	};
	struct ddm_ioctl io = { .cmd = RTC_SET_TIME, .in_len = sizeof(bad[0]) };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		io.in = &bad[i];
		ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -EINVAL);
	}
	io.in = &bad[0];
	io.in_len = sizeof(bad[0]) - 1;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -EINVAL);
	check_now(2026, 11, 21, 12, 34, 56);
}
END_TEST

START_TEST(test_rtc_set_time_needs_a_handle_open_for_writing)
{
	struct rtc_time tm = mk_tm(2040, 7, 4, 18, 30, 15);
	struct ddm_ioctl io = { .cmd = RTC_SET_TIME,
		                .in = &tm,
		                .in_len = sizeof(tm) };
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node, .uid = USER_UID };

	h.flags = O_RDONLY;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -EBADF);
	check_now(2026, 11, 21, 12, 34, 56);
	h.flags = O_RDONLY | O_NONBLOCK;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -EBADF);
	check_now(2026, 11, 21, 12, 34, 56);
	h.flags = O_WRONLY;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	check_now(2040, 7, 4, 18, 30, 15);
	tm = mk_tm(2041, 8, 5, 19, 31, 16);
	h.flags = O_RDWR;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	check_now(2041, 8, 5, 19, 31, 16);
	/* Reading the clock needs no more than a read-only open. */
	h.flags = O_RDONLY;
	io = (struct ddm_ioctl){ .cmd = RTC_RD_TIME,
		                 .out = &tm,
		                 .out_len = sizeof(tm) };
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	check_tm(&tm, 2041, 8, 5, 19, 31, 16);
}
END_TEST

/* hwclock --set opens the RTC read-only; Linux lets root set it so. */
START_TEST(test_rtc_set_time_from_root_works_on_a_read_only_handle)
{
	struct rtc_time tm = mk_tm(2031, 2, 3, 4, 5, 6);
	struct ddm_ioctl io = { .cmd = RTC_SET_TIME,
		                .in = &tm,
		                .in_len = sizeof(tm) };
	struct ddm_handle h = {
		.sc = &sc, .node = &rtc_node, .flags = O_RDONLY, .uid = 0
	};

	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), 0);
	check_now(2031, 2, 3, 4, 5, 6);
}
END_TEST

START_TEST(test_rtc_write_fails_when_the_offset_cannot_be_saved)
{
	struct ddm_handle h = {
		.sc = &sc, .node = &rtc_node, .flags = O_RDWR, .uid = USER_UID
	};
	struct rtc_time tm = mk_tm(2040, 7, 4, 18, 30, 15);
	struct ddm_ioctl io = { .cmd = RTC_SET_TIME,
		                .in = &tm,
		                .in_len = sizeof(tm) };
	const char *s = "2030-06-15 08:09:10\n";
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = attach_on_full_tinyfs();
	ck_assert_int_eq(rtc_write(&h, NULL, s, strlen(s), 0), -ENOSPC);
	check_now(2026, 11, 21, 12, 34, 56);
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -ENOSPC);
	check_now(2026, 11, 21, 12, 34, 56);
	close(dfd);
	tinyfs_unmount(tmpdir);
	rmdir(tmpdir);
}
END_TEST

START_TEST(test_rtc_unknown_ioctl_is_enotty)
{
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node };
	struct rtc_time tm;
	struct ddm_ioctl io = { .out = &tm, .out_len = sizeof(tm) };

	io.cmd = RTC_ALM_READ;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -ENOTTY);
	io.cmd = RTC_UIE_ON;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -ENOTTY);
	io.cmd = 0;
	ck_assert_int_eq(rtc_ioctl(&h, NULL, &io), -ENOTTY);
}
END_TEST

START_TEST(test_rtc_uip_stuck_times_out)
{
	struct hnd *hp = get_handle(&rtc_node, O_RDONLY);
	struct rtc_time tm = mk_tm(2000, 1, 1, 0, 0, 0);
	char buf[64];

	set_clock(2026, 11, 21, 12, 34, 56, 999900000L, 0);
	ck_assert_int_eq(rtc_gettime(&sc, &tm), -ETIMEDOUT);
	check_tm(&tm, 2000, 1, 1, 0, 0, 0); /* untouched */
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0),
	                 -ETIMEDOUT);
	/* a failed read takes no line: the next read tries again */
	set_clock(2026, 11, 21, 12, 34, 57, 0, 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 0), 20);
	ck_assert_str_eq(buf, "2026-11-21 12:34:57\n");
	put_handle(hp);
}
END_TEST

START_TEST(test_rtc_read_gives_up_when_reads_never_agree)
{
	/* A second passes on every register read: no two reads agree. */
	set_clock(2026, 11, 21, 12, 0, 0, 0, 1000000000L);
	struct rtc_time tm;

	ck_assert_int_eq(rtc_gettime(&sc, &tm), -ETIMEDOUT);
}
END_TEST

START_TEST(test_rtc_huge_write_is_einval)
{
	struct ddm_handle h = { .sc = &sc, .node = &rtc_node };
	size_t n = 1 << 20;
	char *big = malloc(n);

	ck_assert_ptr_nonnull(big);
	memset(big, '1', n);
	memcpy(big, "2030-01-01 00:00:00\n", 20);
	ck_assert_int_eq(rtc_write(&h, NULL, big, n, 0), -EINVAL);
	free(big);
	check_now(2026, 11, 21, 12, 34, 56);
}
END_TEST

START_TEST(test_rtc_decode_rejects_garbage_registers)
{
	struct rtc_regs rr = { .sec = 0x99,
		               .min = 0x02,
		               .hour = 0x03,
		               .mday = 0x04,
		               .mon = 0x05,
		               .year = 0x26,
		               .cent = 0x20,
		               .regb = MC_REGB_24HR };
	struct rtc_time tm = mk_tm(2000, 1, 1, 0, 0, 0);

	ck_assert_int_eq(rtc_decode(&rr, &tm), -EIO);
	rr.sec = 0;
	rr.regb = 0;
	rr.hour = 0x13; /* no hour 13 in 12-hour mode */
	ck_assert_int_eq(rtc_decode(&rr, &tm), -EIO);
	rr.hour = 0x00;
	ck_assert_int_eq(rtc_decode(&rr, &tm), -EIO);
	check_tm(&tm, 2000, 1, 1, 0, 0, 0);
}
END_TEST

START_TEST(test_rtc_declares_an_rtc_stream_and_a_114_byte_nvram)
{
	const struct ddm_kind *k = rtc_ops.kinds;

	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(k[RTC_KIND_RTC].name, "rtc");
	ck_assert_uint_eq(k[RTC_KIND_RTC].flags & DDM_SEEKABLE, 0);
	ck_assert_str_eq(k[RTC_KIND_NVRAM].name, "nvram");
	ck_assert_uint_eq(k[RTC_KIND_NVRAM].flags & DDM_SEEKABLE, DDM_SEEKABLE);
	ck_assert_uint_eq(k[RTC_KIND_NVRAM].size, 114);
	ck_assert_ptr_null(k[2].name);
}
END_TEST

START_TEST(test_nvram_byte_n_is_cmos_register_n_plus_14)
{
	struct hnd *hp = get_handle(&nvram_node, O_RDWR);
	uint8_t buf[MC_NVRAM_LEN], b = 0;
	unsigned int i;

	ck_assert_int_eq(rtc_write_reg(&sc, 0x0e, 0x11), 0);
	ck_assert_int_eq(rtc_write_reg(&sc, 0x40, 0x42), 0);
	ck_assert_int_eq(rtc_write_reg(&sc, 0x7f, 0x7e), 0);
	nvram_all(buf);
	ck_assert_uint_eq(buf[0], 0x11);
	ck_assert_uint_eq(buf[0x40 - 14], 0x42);
	ck_assert_uint_eq(buf[113], 0x7e);
	ck_assert_uint_eq(buf[mc_century - 14], 0x20); /* the century, BCD */
	for (i = 1; i < 113; i++)
		if (i != 0x40 - 14 && i != mc_century - 14)
			ck_assert_uint_eq(buf[i], 0);
	/* and the other way: a write at offset 5 lands in register 0x13 */
	ck_assert_int_eq(rtc_write(&hp->h, NULL, "\xa5\x5a", 2, 5), 2);
	ck_assert_int_eq(rtc_read_reg(&sc, 0x13, &b), 0);
	ck_assert_uint_eq(b, 0xa5);
	ck_assert_int_eq(rtc_read_reg(&sc, 0x14, &b), 0);
	ck_assert_uint_eq(b, 0x5a);
	ck_assert_int_eq(rtc_read_reg(&sc, 0x12, &b), 0);
	ck_assert_uint_eq(b, 0);
	put_handle(hp);
}
END_TEST

START_TEST(test_nvram_reads_from_the_offset_to_the_end)
{
	struct hnd *hp = get_handle(&nvram_node, O_RDWR);
	uint8_t pat[MC_NVRAM_LEN], buf[256];
	unsigned int i;

	for (i = 0; i < MC_NVRAM_LEN; i++)
		pat[i] = (uint8_t)(i * 7 + 3);
	pat[mc_century - 14] = 0x20; /* what the clock shows there */
	ck_assert_int_eq(rtc_write(&hp->h, NULL, pat, sizeof(pat), 0),
	                 MC_NVRAM_LEN);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 10, 0), 10);
	ck_assert_mem_eq(buf, pat, 10);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 4, 50), 4);
	ck_assert_mem_eq(buf, pat + 50, 4);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 100), 14);
	ck_assert_mem_eq(buf, pat + 100, 14);
	ck_assert_uint_eq(buf[14], 0xee);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 1, 113), 1);
	ck_assert_uint_eq(buf[0], pat[113]);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 114), 0);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 115), 0);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, sizeof(buf), 1 << 30), 0);
	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 0, 3), 0);
	put_handle(hp);
}
END_TEST

START_TEST(test_nvram_write_past_the_end_is_enospc_and_across_it_short)
{
	struct hnd *hp = get_handle(&nvram_node, O_WRONLY);
	uint8_t buf[MC_NVRAM_LEN];
	const uint8_t ten[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	unsigned int i;

	ck_assert_int_eq(rtc_write(&hp->h, NULL, ten, 10, 114), -ENOSPC);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, ten, 1, 114), -ENOSPC);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, ten, 10, 1000), -ENOSPC);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, ten, 10, 110), 4);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, ten, 0, 114), 0);
	nvram_all(buf);
	ck_assert_uint_eq(buf[110], 1);
	ck_assert_uint_eq(buf[111], 2);
	ck_assert_uint_eq(buf[112], 3);
	ck_assert_uint_eq(buf[113], 4);
	for (i = 0; i < 110; i++)
		if (i != mc_century - 14)
			ck_assert_uint_eq(buf[i], 0);
	put_handle(hp);
}
END_TEST

START_TEST(test_nvram_negative_offset_is_einval)
{
	struct hnd *hp = get_handle(&nvram_node, O_RDWR);
	uint8_t buf[4] = { 9, 9, 9, 9 };

	ck_assert_int_eq(rtc_read(&hp->h, NULL, buf, 4, -1), -EINVAL);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, buf, 4, -1), -EINVAL);
	put_handle(hp);
}
END_TEST

START_TEST(test_nvram_write_needs_a_handle_open_for_writing)
{
	struct hnd *hp = get_handle(&nvram_node, O_RDONLY);
	uint8_t buf[MC_NVRAM_LEN];

	ck_assert_int_eq(rtc_write(&hp->h, NULL, "\x55", 1, 0), -EBADF);
	nvram_all(buf);
	ck_assert_uint_eq(buf[0], 0);
	put_handle(hp);
}
END_TEST

START_TEST(test_nvram_has_no_ioctls)
{
	struct hnd *hp = get_handle(&nvram_node, O_RDWR);
	struct rtc_time tm = mk_tm(2040, 7, 4, 18, 30, 15);
	struct ddm_ioctl io = { .cmd = RTC_RD_TIME,
		                .out = &tm,
		                .out_len = sizeof(tm) };

	ck_assert_int_eq(rtc_ioctl(&hp->h, NULL, &io), -ENOTTY);
	io = (struct ddm_ioctl){ .cmd = RTC_SET_TIME,
		                 .in = &tm,
		                 .in_len = sizeof(tm) };
	ck_assert_int_eq(rtc_ioctl(&hp->h, NULL, &io), -ENOTTY);
	check_now(2026, 11, 21, 12, 34, 56);
	put_handle(hp);
}
END_TEST

/* Both nodes share the index port: neither disturbs what the other sees. */
START_TEST(test_nvram_and_clock_accesses_do_not_disturb_each_other)
{
	struct hnd *nv = get_handle(&nvram_node, O_RDWR);
	struct hnd *rt = get_handle(&rtc_node, O_RDWR);
	const char *line = "2031-02-03 04:05:06\n";
	uint8_t b = 0;
	char buf[64];

	/* 300 us before the update, 10 us a register read: the clock read
	 * spins on UIP, then reads the time twice */
	set_clock(2026, 11, 21, 12, 34, 56, 999700000L, 10000);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(rtc_read(&rt->h, NULL, buf, 5, 0), 5);
	ck_assert_int_eq(rtc_write(&nv->h, NULL, "\x99", 1, 0), 1);
	ck_assert_int_eq(rtc_read(&rt->h, NULL, buf + 5, 40, 0), 15);
	ck_assert_str_eq(buf, "2026-11-21 12:34:57\n");
	ck_assert_int_eq(rtc_read(&nv->h, NULL, &b, 1, 0), 1);
	ck_assert_uint_eq(b, 0x99);
	ck_assert_int_eq(rtc_write(&rt->h, NULL, line, strlen(line), 0), 20);
	ck_assert_int_eq(rtc_read(&nv->h, NULL, &b, 1, 0), 1);
	ck_assert_uint_eq(b, 0x99);
	ck_assert_uint_eq(reg(mc_regb), MC_REGB_24HR); /* SET cleared */
	set_clock(2026, 11, 21, 12, 35, 0, 0, 0);
	ck_assert_int_eq(rtc_write(&nv->h, NULL, "\x77", 1, 113), 1);
	check_now(2031, 2, 3, 4, 5, 9); /* set at :57, 3 s ago */
	put_handle(rt);
	put_handle(nv);
}
END_TEST

START_TEST(test_nvram_write_that_cannot_be_saved_fails_and_keeps_the_bytes)
{
	struct hnd *hp;
	uint8_t buf[MC_NVRAM_LEN];
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = attach_on_full_tinyfs();
	hp = get_handle(&nvram_node, O_RDWR);
	ck_assert_int_eq(rtc_write(&hp->h, NULL, "\x12\x34", 2, 7), -ENOSPC);
	nvram_all(buf);
	ck_assert_uint_eq(buf[7], 0);
	ck_assert_uint_eq(buf[8], 0);
	/* a write of the values already there needs no room */
	ck_assert_int_eq(rtc_write(&hp->h, NULL, "\0\0", 2, 7), 2);
	put_handle(hp);
	close(dfd);
	tinyfs_unmount(tmpdir);
	rmdir(tmpdir);
}
END_TEST

/* init: the ports come from the grant, at least 2 of them, or none. */
static int
init_with_grants(const char *grants)
{
	struct io_opts o = { .backend = "sim",
		             .name = "rtc0",
		             .grants = grants };
	struct ddm_dev dev = { .prog = "ddm-rtc",
		               .node = "isa0/rtc0",
		               .name = "rtc0" };
	struct rtc_softc s2;
	uint8_t b = 0;
	int err;

	ck_assert_int_eq(io_open(&o, &dev.io), 0);
	memset(&s2, 0, sizeof(s2));
	err = rtc_init(&dev, &s2);
	if (err == 0) {
		ck_assert_ptr_nonnull(s2.sc_ior);
		/* the chip answers there: register B as a PC BIOS leaves it */
		ck_assert_int_eq(rtc_read_reg(&s2, mc_regb, &b), 0);
		ck_assert_uint_eq(b, MC_REGB_24HR);
		rtc_fini(&dev, &s2);
	} else {
		ck_assert_ptr_null(s2.sc_ior);
	}
	io_close(dev.io);
	return err;
}

START_TEST(test_rtc_init_takes_its_ports_from_the_grant)
{
	ck_assert_int_eq(init_with_grants("0x70-0x71"), 0);
	ck_assert_int_eq(init_with_grants("0x70-0x77"), 0);
	ck_assert_int_eq(init_with_grants("0x70-0x71,0x378-0x37a"), 0);
	/* a grant at a port no sim model decodes: the request fails */
	ck_assert_int_lt(init_with_grants("0x170-0x171"), 0);
}
END_TEST

START_TEST(test_rtc_init_refuses_without_two_granted_ports)
{
	ck_assert_int_eq(init_with_grants(NULL), -ENXIO);
	ck_assert_int_eq(init_with_grants("0x70"), -ENXIO);
}
END_TEST

static Suite *
rtc_suite(void)
{
	Suite *s = suite_create("rtc");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rtc_read_bcd_24h);
	tcase_add_test(tc, test_rtc_read_binary_24h);
	tcase_add_test(tc, test_rtc_read_12h_pm_bcd);
	tcase_add_test(tc, test_rtc_read_12h_am_binary);
	tcase_add_test(tc, test_rtc_read_12h_midnight_is_hour_0);
	tcase_add_test(tc, test_rtc_read_12h_noon_is_hour_12);
	tcase_add_test(tc, test_rtc_read_uses_century_register);
	tcase_add_test(tc, test_rtc_decode_without_century_pivots_at_70);
	tcase_add_test(tc, test_rtc_read_waits_out_uip);
	tcase_add_test(tc, test_rtc_set_then_read_round_trips_in_each_mode);
	tcase_add_test(tc, test_rtc_weekday_and_yearday_are_computed);
	tcase_add_test(tc,
	               test_rtc_parse_accepts_line_with_and_without_newline);
	tcase_add_test(tc, test_rtc_write_sets_clock_and_returns_count);
	tcase_add_test(tc, test_rtc_read_gives_one_line_then_eof);
	tcase_add_test(tc, test_rtc_short_reads_hand_out_the_rest_of_the_line);
	tcase_add_test(tc, test_rtc_ioctl_rd_time);
	tcase_add_test(tc, test_rtc_ioctl_set_time);
	tcase_add_test(tc, test_rtc_set_time_needs_a_handle_open_for_writing);
	tcase_add_test(tc,
	               test_rtc_set_time_from_root_works_on_a_read_only_handle);
	tcase_add_test(tc, test_rtc_unknown_ioctl_is_enotty);
	tcase_add_test(tc,
	               test_rtc_declares_an_rtc_stream_and_a_114_byte_nvram);
	tcase_add_test(tc, test_nvram_byte_n_is_cmos_register_n_plus_14);
	tcase_add_test(tc, test_nvram_reads_from_the_offset_to_the_end);
	tcase_add_test(tc, test_nvram_write_needs_a_handle_open_for_writing);
	tcase_add_test(tc, test_nvram_has_no_ioctls);
	tcase_add_test(tc,
	               test_nvram_and_clock_accesses_do_not_disturb_each_other);
	tcase_add_test(tc, test_rtc_init_takes_its_ports_from_the_grant);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_rtc_parse_rejects_bad_text);
	tcase_add_test(tl, test_rtc_bad_write_changes_nothing);
	tcase_add_test(tl, test_rtc_ioctl_set_time_rejects_bad_fields);
	tcase_add_test(tl,
	               test_rtc_write_fails_when_the_offset_cannot_be_saved);
	tcase_add_test(tl, test_rtc_uip_stuck_times_out);
	tcase_add_test(tl, test_rtc_read_gives_up_when_reads_never_agree);
	tcase_add_test(tl, test_rtc_huge_write_is_einval);
	tcase_add_test(tl, test_rtc_decode_rejects_garbage_registers);
	tcase_add_test(
	        tl,
	        test_nvram_write_past_the_end_is_enospc_and_across_it_short);
	tcase_add_test(tl, test_nvram_negative_offset_is_einval);
	tcase_add_test(
	        tl,
	        test_nvram_write_that_cannot_be_saved_fails_and_keeps_the_bytes);
	tcase_add_test(tl, test_rtc_init_refuses_without_two_granted_ports);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rtc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
