/*
 * sim_mc146818.c: a software MC146818 real-time clock, as on a PC: index
 * port 0x70 (bit 7, NMI disable, is ignored), data port 0x71.
 *
 * The clock runs on io_now() plus a whole-second offset.  Reads of the time
 * registers show that time in the format register B selects (BCD or binary,
 * 12 or 24 hours); changing B changes the format of the next reads.  While
 * B.SET is 1 the time registers hold what was last shown or written, and
 * clearing SET makes the written date-time the clock's time.  A write to a
 * time register with SET clear takes effect at once.  UIP (A bit 7) reads 1
 * in the last 244 us of each second, when the real chip is about to update.
 * Garbage written (bad BCD, month 0) is normalised, never trusted.
 *
 * With a sim dir and a name the offset lives in the file <name>.offset
 * there (decimal seconds and a newline, mode 0600), loaded at create (a
 * missing file or one that is not one number counts as 0; a file that
 * cannot be read fails the create) and replaced atomically whenever it
 * changes.  A time whose offset cannot be saved is not set: the write that
 * would set it returns the error and the clock keeps its time.
 *
 * Registers 0x0e-0x7f other than the century (0x32, a clock register here)
 * are the battery-backed CMOS RAM: plain bytes, nothing checks or fixes a
 * checksum in them.  With a sim dir and a name they live in <name>.cmos
 * (mode 0600): 128 bytes, byte i being register i, so the file reads like
 * the chip's register map; the bytes of registers 0x00-0x0d and 0x32 are
 * written as 0 and ignored when loading (the clock lives in <name>.offset).
 * Loaded at create: a missing file means all zero; a file that cannot be
 * read fails the create; one of another size is ignored (all zero, and
 * io_last_error() says so; the create succeeds, so the clock still works)
 * and replaced by the next write to the RAM.  A write that changes a RAM
 * byte replaces the file atomically, as the offset's; if that fails the
 * write returns the error and the byte keeps its old value.  A write of
 * the value a byte already holds touches no file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_impl.h"

#define MC_BASE 0x70
#define MC_LEN  2
#define MC_ADDR 0 /* index port */
#define MC_DATA 1

#define MC_SEC       0x00
#define MC_MIN       0x02
#define MC_HOUR      0x04
#define MC_HOUR_PM   0x80 /* 12-hour mode: 1 = PM */
#define MC_WDAY      0x06 /* 1 = Sunday */
#define MC_MDAY      0x07
#define MC_MONTH     0x08
#define MC_YEAR      0x09 /* two digits */
#define MC_REGA      0x0a
#define MC_REGA_UIP  0x80 /* 1 = update in progress soon; read-only */
#define MC_REGB      0x0b
#define MC_REGB_SET  0x80 /* 1 = updates inhibited, time being set */
#define MC_REGB_DM   0x04 /* 1 = binary, 0 = BCD */
#define MC_REGB_24HR 0x02 /* 1 = 24 hours, 0 = 12 hours */
#define MC_REGC      0x0c /* interrupt flags; read-only, reads 0 here */
#define MC_REGD      0x0d
#define MC_REGD_VRT  0x80 /* 1 = battery good; read-only */
#define MC_CENTURY   0x32
#define MC_RAM       0x0e /* first byte of the CMOS RAM */
#define MC_NREGS     128

#define MC_REGA_DEFAULT 0x26 /* 32.768 kHz time base, 1.024 kHz square wave */
#define MC_REGB_DEFAULT 0x02 /* BCD, 24 hours, as a PC BIOS leaves it */
#define UIP_WINDOW_NS   244000L /* UIP reads 1 this long before each update */

struct mc {
	struct io *io;
	uint8_t index;
	uint8_t reg[MC_NREGS];
	int64_t offset;          /* clock time minus io_now(), seconds */
	char file[NAME_MAX + 1]; /* "rtc0.offset", or "" without a sim dir */
	char tmp[NAME_MAX + 1];  /* "rtc0.offset.tmp", its next version */
	char cmos[NAME_MAX + 1]; /* "rtc0.cmos", or "" without a sim dir */
	char cmos_tmp[NAME_MAX + 1]; /* "rtc0.cmos.tmp" */
};

static int
is_time_reg(unsigned int i)
{
	return i == MC_SEC || i == MC_MIN || i == MC_HOUR || i == MC_WDAY ||
	       i == MC_MDAY || i == MC_MONTH || i == MC_YEAR || i == MC_CENTURY;
}

/* Whether register i is a byte of the CMOS RAM (kept in <name>.cmos). */
static int
is_ram_reg(unsigned int i)
{
	return i >= MC_RAM && i < MC_NREGS && i != MC_CENTURY;
}

/* io_now(), or the epoch if a test clock fails: never a crash. */
static struct timespec
now(const struct mc *mc)
{
	struct timespec ts = { 0, 0 };

	(void)io_now(mc->io, &ts);
	return ts;
}

static uint8_t
enc(const struct mc *mc, int v)
{
	v %= 100;
	if (mc->reg[MC_REGB] & MC_REGB_DM)
		return v;
	return (v / 10) << 4 | v % 10;
}

/* Decodes any byte, valid BCD or not. */
static int
dec(const struct mc *mc, uint8_t v)
{
	if (mc->reg[MC_REGB] & MC_REGB_DM)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

/* Fills the time registers with the clock's current time. */
static void
show_time(struct mc *mc)
{
	time_t t = now(mc).tv_sec + mc->offset;
	struct tm tm;
	int h;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	mc->reg[MC_SEC] = enc(mc, tm.tm_sec);
	mc->reg[MC_MIN] = enc(mc, tm.tm_min);
	if (mc->reg[MC_REGB] & MC_REGB_24HR) {
		mc->reg[MC_HOUR] = enc(mc, tm.tm_hour);
	} else {
		h = tm.tm_hour % 12;
		mc->reg[MC_HOUR] = enc(mc, h ? h : 12);
		if (tm.tm_hour >= 12)
			mc->reg[MC_HOUR] |= MC_HOUR_PM;
	}
	mc->reg[MC_WDAY] = enc(mc, tm.tm_wday + 1);
	mc->reg[MC_MDAY] = enc(mc, tm.tm_mday);
	mc->reg[MC_MONTH] = enc(mc, tm.tm_mon + 1);
	mc->reg[MC_YEAR] = enc(mc, (tm.tm_year + 1900) % 100);
	mc->reg[MC_CENTURY] = enc(mc, (tm.tm_year + 1900) / 100);
}

/*
 * Replaces the model file file with len bytes of buf: temp file tmp, fsync,
 * rename, fsync of the dir.  0, or -errno (and io_last_error()); the old
 * file then stays as it was, unless only the dir's fsync failed.
 */
static int
store(struct mc *mc, const char *file, const char *tmp, const void *buf,
      size_t len)
{
	int dfd = mc->io->sim_dirfd;
	const char *failed = tmp;
	int fd, r;

	/* a temp file a crash left behind, perhaps with other modes */
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		return sim_fail(mc->io, tmp, -errno);
	fd = openat(dfd, tmp,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sim_fail(mc->io, tmp, -errno);
	r = sim_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		goto unlink_tmp;
	if (renameat(dfd, tmp, dfd, file) < 0) {
		r = -errno;
		failed = file;
		goto unlink_tmp;
	}
	/* the new name is durable only once the directory is; some file
	 * systems cannot fsync a directory (EINVAL) and need not */
	if (fsync(dfd) < 0 && errno != EINVAL)
		return sim_fail(mc->io, file, -errno);
	return 0;

unlink_tmp:
	unlinkat(dfd, tmp, 0);
	return sim_fail(mc->io, failed, r);
}

/*
 * Saves off as the clock's offset and only then sets it.  0, or -errno
 * (and io_last_error()) with the offset in memory left as it was.
 */
static int
set_offset(struct mc *mc, int64_t off)
{
	char buf[32];
	int n, r;

	if (mc->file[0]) {
		n = snprintf(buf, sizeof(buf), "%lld\n", (long long)off);
		r = store(mc, mc->file, mc->tmp, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	mc->offset = off; /* stored for good */
	return 0;
}

/*
 * Saves the CMOS RAM with register i holding v, and only then sets it.
 * 0, or -errno (and io_last_error()) with the register left as it was.
 */
static int
set_ram(struct mc *mc, unsigned int i, uint8_t v)
{
	uint8_t img[MC_NREGS];
	unsigned int j;
	int r;

	if (mc->reg[i] == v)
		return 0;
	if (mc->cmos[0]) {
		for (j = 0; j < MC_NREGS; j++)
			img[j] = is_ram_reg(j) ? mc->reg[j] : 0;
		img[i] = v;
		r = store(mc, mc->cmos, mc->cmos_tmp, img, sizeof(img));
		if (r < 0)
			return r;
	}
	mc->reg[i] = v;
	return 0;
}

/*
 * Loads the offset file into *ret: 0 (a missing file or one that is not one
 * number gives 0), or -errno (and io_last_error()) if it cannot be read.
 */
static int
load_offset(struct mc *mc, int64_t *ret)
{
	char buf[32], *end;
	ssize_t n = 0;
	long long v;
	int fd;

	/* O_NONBLOCK: a FIFO found there must not block the driver */
	fd = openat(mc->io->sim_dirfd, mc->file,
	            O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return sim_fail(mc->io, mc->file, -errno);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			n = -errno;
		close(fd);
		if (n < 0)
			return sim_fail(mc->io, mc->file, n);
	}
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') ||
	    (*end == '\n' && end[1] != '\0'))
		v = 0;
	/* Keep the clock within what gmtime_r() can show. */
	if (v > (long long)1 << 40 || v < -((long long)1 << 40))
		v = 0;
	*ret = v;
	return 0;
}

/*
 * Loads the CMOS RAM from its file into mc->reg: 0 (a missing file leaves
 * it zero, and so does one of another size, noted in io_last_error()), or
 * -errno (and io_last_error()) if the file cannot be read.
 */
static int
load_cmos(struct mc *mc)
{
	uint8_t buf[MC_NREGS + 1];
	size_t got = 0;
	unsigned int i;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO found there must not block the driver */
	fd = openat(mc->io->sim_dirfd, mc->cmos,
	            O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return sim_fail(mc->io, mc->cmos, -errno);
	while (got < sizeof(buf)) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			n = -errno;
			close(fd);
			return sim_fail(mc->io, mc->cmos, (int)n);
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != MC_NREGS) {
		snprintf(mc->io->err, sizeof(mc->io->err),
		         "%.64s: not %d bytes (%s%zu); ignored, the CMOS RAM "
		         "is 0",
		         mc->cmos, MC_NREGS, got > MC_NREGS ? "over " : "",
		         got > MC_NREGS ? (size_t)MC_NREGS : got);
		return 0;
	}
	for (i = 0; i < MC_NREGS; i++)
		if (is_ram_reg(i))
			mc->reg[i] = buf[i];
	return 0;
}

/*
 * Makes the date-time in the time registers the clock's time: 0, or -errno
 * if the new offset could not be saved (then the clock keeps its time).
 */
static int
commit_time(struct mc *mc)
{
	struct tm tm = { 0 };
	uint8_t hr = mc->reg[MC_HOUR];
	int64_t off;
	time_t t;

	tm.tm_sec = dec(mc, mc->reg[MC_SEC]);
	tm.tm_min = dec(mc, mc->reg[MC_MIN]);
	if (mc->reg[MC_REGB] & MC_REGB_24HR) {
		tm.tm_hour = dec(mc, hr);
	} else {
		tm.tm_hour = dec(mc, hr & ~MC_HOUR_PM) % 12;
		if (hr & MC_HOUR_PM)
			tm.tm_hour += 12;
	}
	tm.tm_mday = dec(mc, mc->reg[MC_MDAY]);
	tm.tm_mon = dec(mc, mc->reg[MC_MONTH]) - 1;
	tm.tm_year = dec(mc, mc->reg[MC_CENTURY]) * 100 +
	             dec(mc, mc->reg[MC_YEAR]) - 1900;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	off = (int64_t)t - now(mc).tv_sec;
	if (off == mc->offset)
		return 0;
	return set_offset(mc, off);
}

static int
mc_create(struct io *io, void **ret)
{
	struct mc *mc = calloc(1, sizeof(*mc));
	int r;

	if (!mc)
		return -ENOMEM;
	mc->io = io;
	mc->reg[MC_REGA] = MC_REGA_DEFAULT;
	mc->reg[MC_REGB] = MC_REGB_DEFAULT;
	r = sim_file(io, ".offset", mc->file, sizeof(mc->file));
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		goto free_mc;
	r = sim_file(io, ".offset.tmp", mc->tmp, sizeof(mc->tmp));
	if (r < 0)
		goto free_mc;
	r = load_offset(mc, &mc->offset);
	if (r < 0)
		goto free_mc;
	r = sim_file(io, ".cmos", mc->cmos, sizeof(mc->cmos));
	if (r < 0)
		goto free_mc;
	r = sim_file(io, ".cmos.tmp", mc->cmos_tmp, sizeof(mc->cmos_tmp));
	if (r < 0)
		goto free_mc;
	r = load_cmos(mc);
	if (r < 0)
		goto free_mc;
done:
	*ret = mc;
	return 0;

free_mc:
	free(mc);
	return r;
}

static void
mc_destroy(void *m)
{
	free(m);
}

static uint8_t
mc_read(void *m, uint16_t off)
{
	struct mc *mc = m;
	unsigned int i = mc->index;
	uint8_t b = mc->reg[MC_REGB];

	if (off == MC_ADDR)
		return 0xff; /* the index port is write-only */
	if (is_time_reg(i)) {
		if (!(b & MC_REGB_SET))
			show_time(mc);
		return mc->reg[i];
	}
	switch (i) {
	case MC_REGA:
		if (!(b & MC_REGB_SET) &&
		    now(mc).tv_nsec >= 1000000000L - UIP_WINDOW_NS)
			return mc->reg[i] | MC_REGA_UIP;
		return mc->reg[i] & ~MC_REGA_UIP;
	case MC_REGC:
		return 0;
	case MC_REGD:
		return MC_REGD_VRT;
	default:
		return mc->reg[i];
	}
}

static int
mc_write(void *m, uint16_t off, uint8_t v)
{
	struct mc *mc = m;
	unsigned int i = mc->index;
	uint8_t old = mc->reg[MC_REGB];

	if (off == MC_ADDR) {
		mc->index = v & (MC_NREGS - 1);
		return 0;
	}
	if (is_time_reg(i)) {
		if (old & MC_REGB_SET) {
			mc->reg[i] = v;
			return 0;
		}
		show_time(mc);
		mc->reg[i] = v;
		return commit_time(mc);
	}
	switch (i) {
	case MC_REGA:
		mc->reg[i] = v & ~MC_REGA_UIP;
		return 0;
	case MC_REGB:
		/* A failed commit still clears SET: the clock runs on. */
		mc->reg[i] = v;
		if (!(old & MC_REGB_SET) && (v & MC_REGB_SET))
			show_time(mc);
		else if ((old & MC_REGB_SET) && !(v & MC_REGB_SET))
			return commit_time(mc);
		return 0;
	case MC_REGC:
	case MC_REGD:
		return 0;
	default:
		if (is_ram_reg(i))
			return set_ram(mc, i, v);
		mc->reg[i] = v; /* the alarm registers */
		return 0;
	}
}

const struct sim_model_ops sim_mc146818_ops = {
	.name = "mc146818",
	.base = MC_BASE,
	.len = MC_LEN,
	.create = mc_create,
	.destroy = mc_destroy,
	.read = mc_read,
	.write = mc_write,
};
