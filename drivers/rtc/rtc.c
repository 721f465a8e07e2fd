/*
 * rtc.c: ddm-rtc, the driver for the PC's MC146818 real-time clock and its
 * battery-backed CMOS RAM.  One instance serves the chip at the first port
 * range the conf grants it (index and data port, 0x70-0x71 on a PC) with
 * two kinds of node: "rtc", the clock, and "nvram", the CMOS bytes.
 *
 * An rtc node reads as one line "YYYY-MM-DD HH:MM:SS\n" per open, then EOF.
 * Writing exactly that text (an optional trailing newline allowed) sets the
 * clock; anything else is -EINVAL.  RTC_RD_TIME and RTC_SET_TIME from
 * <linux/rtc.h> make hwclock(8) work.  RTC_SET_TIME changes the device, so
 * it needs a handle open for writing, or root's (-EBADF otherwise).  A time
 * the chip did not take (on sim: its offset could not be saved) fails the
 * write or RTC_SET_TIME with that error.
 *
 * The read algorithm follows Linux rtc-mc146818-lib.c and OpenBSD
 * mc146818: wait out UIP, read every time register and register B, read
 * again until two reads agree, then decode BCD or binary and 12- or 24-hour
 * values as register B says.
 *
 * An nvram node is the CMOS RAM as Linux /dev/nvram shows it: a seekable
 * file of 114 bytes, byte N being register N + 14.  A read gives the bytes
 * from its offset to the end (0 at or past it); a write stores bytes from
 * its offset, as many as fit: one starting at or past the end is -ENOSPC,
 * one crossing it stores what fits and returns that short count.  There
 * is no checksum handling: unlike Linux /dev/nvram, which fails reads and
 * writes with EIO while the PC BIOS checksum (registers 0x2e-0x2f) is bad
 * and fixes it after a write, this node moves bytes and nothing else; a
 * tool that changes a byte the BIOS sums must fix the checksum itself.
 * The nvram kind has no ioctls.
 *
 * Both kinds share the index port without a lock: hooks run one at a time,
 * so a clock read (with its UIP loop) and an NVRAM access never
 * interleave, and every register access writes the index before it
 * touches the data port, so neither relies on what the other left there.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/rtc.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "rtcreg.h"

/* UIP stays set at most 244 us + 1984 us (datasheet); poll it this long. */
#define RTC_UIP_TIMEOUT_US 2500
/* Reads of the whole register set before giving up on two agreeing. */
#define RTC_READ_TRIES 5

#define RTC_YEAR_MIN 1970 /* settable range */
#define RTC_YEAR_MAX 2099
#define RTC_LINE_LEN 19 /* "YYYY-MM-DD HH:MM:SS" */

/* The kinds of node, indexes into rtc_kinds. */
enum { RTC_KIND_RTC, RTC_KIND_NVRAM };

static const struct ddm_kind rtc_kinds[] = {
	[RTC_KIND_RTC] = { .name = "rtc" },
	[RTC_KIND_NVRAM] = { .name = "nvram",
	                     .flags = DDM_SEEKABLE,
	                     .size = MC_NVRAM_LEN },
	{ .name = NULL },
};

struct rtc_softc {
	struct io *sc_io;
	struct io_region *sc_ior; /* the index and data port */
};

/* One raw snapshot of the clock registers. */
struct rtc_regs {
	uint8_t sec, min, hour, mday, mon, year, cent, regb;
};

static struct rtc_softc rtc_sc;

static int
rtc_read_reg(struct rtc_softc *sc, uint8_t reg, uint8_t *ret)
{
	int err;

	err = io_write8(sc->sc_ior, rtc_index, reg);
	if (err < 0)
		return err;
	return io_read8(sc->sc_ior, rtc_data, ret);
}

static int
rtc_write_reg(struct rtc_softc *sc, uint8_t reg, uint8_t v)
{
	int err;

	err = io_write8(sc->sc_ior, rtc_index, reg);
	if (err < 0)
		return err;
	return io_write8(sc->sc_ior, rtc_data, v);
}

/*
 * Returns 0 once register A's UIP bit reads 0, -ETIMEDOUT if it stays set.
 * Spins: each port read takes about 1 us on real hardware, and the wait is
 * short and bounded.
 */
static int
rtc_wait_uip(struct rtc_softc *sc)
{
	uint64_t start;
	uint8_t a;
	int err;

	start = ddm_now_us();
	for (;;) {
		err = rtc_read_reg(sc, mc_rega, &a);
		if (err < 0)
			return err;
		if (!(a & MC_REGA_UIP))
			return 0;
		if (ddm_now_us() - start >= RTC_UIP_TIMEOUT_US)
			return -ETIMEDOUT;
	}
}

static int
rtc_snapshot(struct rtc_softc *sc, struct rtc_regs *ret)
{
	static const uint8_t regs[] = {
		mc_sec,   mc_min,  mc_hour,    mc_mday,
		mc_month, mc_year, mc_century, mc_regb
	};
	uint8_t v[sizeof(regs)];
	size_t i;
	int err;

	err = rtc_wait_uip(sc);
	if (err < 0)
		return err;
	for (i = 0; i < sizeof(regs); i++) {
		err = rtc_read_reg(sc, regs[i], &v[i]);
		if (err < 0)
			return err;
	}
	ret->sec = v[0];
	ret->min = v[1];
	ret->hour = v[2];
	ret->mday = v[3];
	ret->mon = v[4];
	ret->year = v[5];
	ret->cent = v[6];
	ret->regb = v[7];
	return 0;
}

static int
is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month(int year, int mon /* 1-12 */)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30,
		                    31, 31, 30, 31, 30, 31 };

	return days[mon - 1] + (mon == 2 && is_leap(year));
}

/* Day of the week, 0 = Sunday (Sakamoto's method). */
static int
day_of_week(int year, int mon, int mday)
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

	if (mon < 3)
		year--;
	return (year + year / 4 - year / 100 + year / 400 + t[mon - 1] + mday) %
	       7;
}

static int
day_of_year(int year, int mon, int mday)
{
	int m, yday = mday - 1;

	for (m = 1; m < mon; m++)
		yday += days_in_month(year, m);
	return yday;
}

/* 0 if tm is a real date and time with a year in [ymin, ymax], else -EINVAL. */
static int
rtc_valid_tm(const struct rtc_time *tm, int ymin, int ymax)
{
	int year = tm->tm_year + 1900;

	if (year < ymin || year > ymax || tm->tm_mon < 0 || tm->tm_mon > 11)
		return -EINVAL;
	if (tm->tm_mday < 1 ||
	    tm->tm_mday > days_in_month(year, tm->tm_mon + 1))
		return -EINVAL;
	if (tm->tm_hour < 0 || tm->tm_hour > 23 || tm->tm_min < 0 ||
	    tm->tm_min > 59 || tm->tm_sec < 0 || tm->tm_sec > 59)
		return -EINVAL;
	return 0;
}

static int
bcd2bin(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t
bin2bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A register value in the format register B selects, to binary. */
static int
rtc_dec(uint8_t regb, uint8_t v)
{
	return (regb & MC_REGB_DM) ? v : bcd2bin(v);
}

/* A binary value to the format register B selects. */
static uint8_t
rtc_enc(uint8_t regb, int v)
{
	return (regb & MC_REGB_DM) ? (uint8_t)v : bin2bcd(v);
}

/* Decodes a snapshot as register B says; -EIO if it is not a valid time. */
static int
rtc_decode(const struct rtc_regs *rr, struct rtc_time *ret)
{
	uint8_t b = rr->regb;
	struct rtc_time tm;
	int hour, year, cent;

	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = rtc_dec(b, rr->sec);
	tm.tm_min = rtc_dec(b, rr->min);
	if (b & MC_REGB_24HR) {
		hour = rtc_dec(b, rr->hour);
	} else {
		/* 12 AM is 00h, 12 PM is 12h. */
		hour = rtc_dec(b, rr->hour & ~MC_HOUR_PM);
		if (hour < 1 || hour > 12)
			return -EIO;
		hour = hour % 12 + ((rr->hour & MC_HOUR_PM) ? 12 : 0);
	}
	tm.tm_hour = hour;
	tm.tm_mday = rtc_dec(b, rr->mday);
	tm.tm_mon = rtc_dec(b, rr->mon) - 1;
	year = rtc_dec(b, rr->year);
	cent = rtc_dec(b, rr->cent);
	if (year > 99)
		return -EIO;
	if (cent == 19 || cent == 20)
		year += cent * 100;
	else
		year += year < 70 ? 2000 : 1900;
	tm.tm_year = year - 1900;
	if (rtc_valid_tm(&tm, 1900, 2099) < 0)
		return -EIO;
	tm.tm_wday = day_of_week(year, tm.tm_mon + 1, tm.tm_mday);
	tm.tm_yday = day_of_year(year, tm.tm_mon + 1, tm.tm_mday);
	*ret = tm;
	return 0;
}

/* Reads the clock: wait out UIP, re-read until two reads agree, decode. */
static int
rtc_gettime(struct rtc_softc *sc, struct rtc_time *ret)
{
	struct rtc_regs a, b;
	int err, i;

	err = rtc_snapshot(sc, &a);
	if (err < 0)
		return err;
	for (i = 1; i < RTC_READ_TRIES; i++) {
		err = rtc_snapshot(sc, &b);
		if (err < 0)
			return err;
		if (memcmp(&a, &b, sizeof(a)) == 0)
			return rtc_decode(&a, ret);
		a = b;
	}
	return -ETIMEDOUT;
}

/* Sets the clock with register B's SET bit held; tm must be valid. */
static int
rtc_settime(struct rtc_softc *sc, const struct rtc_time *tm)
{
	int year = tm->tm_year + 1900;
	int mon = tm->tm_mon + 1;
	uint8_t b, hour;
	int err, err2;

	if (rtc_valid_tm(tm, RTC_YEAR_MIN, RTC_YEAR_MAX) < 0)
		return -EINVAL;
	err = rtc_read_reg(sc, mc_regb, &b);
	if (err < 0)
		return err;
	if (b & MC_REGB_24HR) {
		hour = rtc_enc(b, tm->tm_hour);
	} else {
		hour = rtc_enc(b,
		               tm->tm_hour % 12 == 0 ? 12 : tm->tm_hour % 12);
		if (tm->tm_hour >= 12)
			hour |= MC_HOUR_PM;
	}
	const uint8_t w[][2] = {
		{ mc_sec, rtc_enc(b, tm->tm_sec) },
		{ mc_min, rtc_enc(b, tm->tm_min) },
		{ mc_hour, hour },
		{ mc_wday,
		  rtc_enc(b, day_of_week(year, mon, tm->tm_mday) + 1) },
		{ mc_mday, rtc_enc(b, tm->tm_mday) },
		{ mc_month, rtc_enc(b, mon) },
		{ mc_year, rtc_enc(b, year % 100) },
		{ mc_century, rtc_enc(b, year / 100) },
	};
	size_t i;

	err = rtc_write_reg(sc, mc_regb, b | MC_REGB_SET);
	if (err < 0)
		return err;
	for (i = 0; i < sizeof(w) / sizeof(w[0]) && err == 0; i++)
		err = rtc_write_reg(sc, w[i][0], w[i][1]);
	/* Always let the clock run again, even after a failed write. */
	err2 = rtc_write_reg(sc, mc_regb, b & ~MC_REGB_SET);
	return err < 0 ? err : err2;
}

/* Writes tm as the node's line into buf (cap bytes); returns its length. */
static ssize_t
rtc_format(const struct rtc_time *tm, char *buf, size_t cap)
{
	int n;

	n = snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d\n",
	             tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
	             tm->tm_hour, tm->tm_min, tm->tm_sec);
	if (n < 0 || (size_t)n >= cap)
		return -EIO;
	return n;
}

/*
 * Parses exactly "YYYY-MM-DD HH:MM:SS" with an optional single "\n" into
 * *ret; -EINVAL for any other text or an impossible or unsettable time.
 */
static int
rtc_parse(const char *s, size_t len, struct rtc_time *ret)
{
	static const char pat[] = "dddd-dd-dd dd:dd:dd";
	static const uint8_t field[6][2] = { { 0, 4 },  { 5, 2 },  { 8, 2 },
		                             { 11, 2 }, { 14, 2 }, { 17, 2 } };
	struct rtc_time tm;
	int f[6], i, j;
	size_t k;

	if (len == RTC_LINE_LEN + 1 && s[RTC_LINE_LEN] == '\n')
		len--;
	if (len != RTC_LINE_LEN)
		return -EINVAL;
	for (k = 0; k < RTC_LINE_LEN; k++) {
		if (pat[k] == 'd' ? (s[k] < '0' || s[k] > '9') : s[k] != pat[k])
			return -EINVAL;
	}
	for (i = 0; i < 6; i++) {
		f[i] = 0;
		for (j = 0; j < field[i][1]; j++)
			f[i] = f[i] * 10 + (s[field[i][0] + j] - '0');
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	if (rtc_valid_tm(&tm, RTC_YEAR_MIN, RTC_YEAR_MAX) < 0)
		return -EINVAL;
	*ret = tm;
	return 0;
}

/*
 * Reads n bytes of the CMOS RAM from byte off (of the nvram node) into
 * buf.  Returns how many were read, or -errno if the first one failed.
 */
static ssize_t
nvram_read(struct rtc_softc *sc, uint8_t *buf, size_t n, size_t off)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = rtc_read_reg(sc, (uint8_t)(mc_nvram + off + i), &buf[i]);
		if (err < 0)
			return i > 0 ? (ssize_t)i : err;
	}
	return (ssize_t)n;
}

/*
 * Stores n bytes of buf in the CMOS RAM from byte off (of the nvram node).
 * Returns how many were stored, or -errno if the first one failed.
 */
static ssize_t
nvram_write(struct rtc_softc *sc, const uint8_t *buf, size_t n, size_t off)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = rtc_write_reg(sc, (uint8_t)(mc_nvram + off + i), buf[i]);
		if (err < 0)
			return i > 0 ? (ssize_t)i : err;
	}
	return (ssize_t)n;
}

/*
 * Takes the index and data port at base; shared by init and the unit
 * tests.
 */
static int
rtc_attach(struct rtc_softc *sc, struct io *io, uint16_t base)
{
	int err;

	sc->sc_io = io;
	err = io_region_request(io, IO_SPACE_PORT, base, RTC_IO_LEN,
	                        &sc->sc_ior);
	if (err < 0)
		return err;
	return 0;
}

static void
rtc_detach(struct rtc_softc *sc)
{
	io_region_release(sc->sc_ior);
	sc->sc_ior = NULL;
}

/* Takes the chip at the first port range the conf grants. */
static int
rtc_init(struct ddm_dev *dev, void *arg)
{
	struct rtc_softc *sc = arg;
	uint16_t base, len;
	const char *note;
	int err;

	err = ddm_ports(dev, 0, &base, &len);
	if (err < 0) {
		ddm_log(dev, "no ports granted: the conf must give the index "
		             "and data port, as ports = [ \"0x70-0x71\" ]");
		return -ENXIO;
	}
	if (len < RTC_IO_LEN) {
		ddm_log(dev,
		        "only %u port granted, at 0x%x: the index and data "
		        "port need %d, as ports = [ \"0x70-0x71\" ]",
		        len, base, RTC_IO_LEN);
		return -ENXIO;
	}
	err = rtc_attach(sc, ddm_io(dev), base);
	if (err < 0) {
		ddm_log(dev, "cannot take ports 0x%x-0x%x: %s", base,
		        base + RTC_IO_LEN - 1, strerror(-err));
		return err;
	}
	/* what a sim model found wrong in its files, and put up with */
	note = io_last_error(ddm_io(dev));
	if (note != NULL)
		ddm_log(dev, "sim file %s", note);
	return 0;
}

static void
rtc_fini(struct ddm_dev *dev, void *arg)
{
	rtc_detach(arg);
}

/* Fills an rtc node's line for ddm_read_text(). */
static ssize_t
rtc_fill(struct ddm_handle *h, char *text, size_t cap)
{
	struct rtc_time tm;
	int err;

	err = rtc_gettime(h->sc, &tm);
	if (err < 0)
		return err;
	return rtc_format(&tm, text, cap);
}

/*
 * rtc: this open's one line, in as many pieces as asked, then EOF.
 * nvram: the bytes from off to the end, 0 at or past it.
 */
static ssize_t
rtc_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
         off_t off)
{
	switch (h->node->kind) {
	case RTC_KIND_NVRAM:
		if (off < 0)
			return -EINVAL;
		if (off >= MC_NVRAM_LEN)
			return 0;
		if (size > (size_t)(MC_NVRAM_LEN - off))
			size = (size_t)(MC_NVRAM_LEN - off);
		return nvram_read(h->sc, buf, size, (size_t)off);
	default:
		return ddm_read_text(h, buf, size, rtc_fill);
	}
}

/*
 * rtc: sets the clock from one line.  nvram: stores bytes from off, as
 * many as fit before the end; -ENOSPC if none do (a write of nothing
 * stores nothing, anywhere).
 */
static ssize_t
rtc_write(struct ddm_handle *h, struct ddm_req *r, const void *buf, size_t size,
          off_t off)
{
	struct rtc_time tm;
	int err;

	switch (h->node->kind) {
	case RTC_KIND_NVRAM:
		/* write(2) checks this already; a raw request may not */
		if (!ddm_writable(h))
			return -EBADF;
		if (off < 0)
			return -EINVAL;
		if (size == 0)
			return 0;
		if (off >= MC_NVRAM_LEN)
			return -ENOSPC;
		if (size > (size_t)(MC_NVRAM_LEN - off))
			size = (size_t)(MC_NVRAM_LEN - off);
		return nvram_write(h->sc, buf, size, (size_t)off);
	default:
		err = rtc_parse(buf, size, &tm);
		if (err < 0)
			return err;
		err = rtc_settime(h->sc, &tm);
		if (err < 0)
			return err;
		return (ssize_t)size;
	}
}

static int
rtc_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	struct rtc_time tm;
	int err;

	if (h->node->kind != RTC_KIND_RTC)
		return -ENOTTY; /* nvram: no ioctls */
	switch (io->cmd) {
	case RTC_RD_TIME:
		if (io->out == NULL || io->out_len < sizeof(tm))
			return -EINVAL;
		err = rtc_gettime(h->sc, &tm);
		if (err < 0)
			return err;
		memcpy(io->out, &tm, sizeof(tm));
		io->out_len = sizeof(tm);
		return 0;
	case RTC_SET_TIME:
		/*
		 * Setting the clock changes the device.  Root's read-only
		 * handle is let through: hwclock --set opens the RTC
		 * read-only (Linux asks CAP_SYS_TIME, not a writable open),
		 * and root may open the node for writing anyway.
		 */
		if (!ddm_writable(h) && h->uid != 0)
			return -EBADF;
		if (io->in == NULL || io->in_len < sizeof(tm))
			return -EINVAL;
		memcpy(&tm, io->in, sizeof(tm));
		if (rtc_valid_tm(&tm, RTC_YEAR_MIN, RTC_YEAR_MAX) < 0)
			return -EINVAL;
		return rtc_settime(h->sc, &tm);
	default:
		return -ENOTTY;
	}
}

static const struct ddm_driver_ops rtc_ops = {
	.init = rtc_init,
	.fini = rtc_fini,
	.read = rtc_read,
	.write = rtc_write,
	.ioctl = rtc_ioctl,
	.kinds = rtc_kinds,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &rtc_ops, sizeof(rtc_ops), &rtc_sc);
}
