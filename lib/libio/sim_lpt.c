/*
 * sim_lpt.c: a software PC parallel port with a printer on it: data 0x378
 * (latched, reads back), status 0x379, control 0x37a.
 *
 * A byte is taken at the end of a strobe pulse (control STROBE 1 -> 0)
 * when the printer is ready and the port drives nINIT high (not resetting
 * the printer) and SELECTIN (printer selected), as QEMU's port also
 * requires.  A byte strobed at any other time is not taken.  A taken byte
 * is appended to the file <name>.out in the sim dir (created 0600 and kept
 * open from create) and to an in-memory ring of the last LPT_RING_MAX
 * bytes that io_sim_take() drains; the next status read then shows the
 * acknowledge pulse (nACK low) once.  A byte that cannot be appended to
 * the file is not taken: the strobe's write returns the error.
 *
 * Printer condition: io_sim_set_state() or the one-word file <name>.ctl in
 * the sim dir (the admin's; only read here), re-read whenever its mtime,
 * size or inode changes:
 * "ready" (also a missing or unreadable file), "busy", "busy:MS" (busy for
 * MS ms of io_now() time from when the word was noticed), "paperout",
 * "offline", "error".  Each condition shows on its own status bit (PE,
 * SELECT, nERROR) and, as on a Centronics printer, every condition but
 * ready also asserts BUSY.  Status bits 2-0 are not wired: they read 1, so
 * an idle ready printer reads 0xdf.  Control bits 7-6 read 1.  With the
 * direction bit set (input), the data port reads 0xff: nothing drives it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_impl.h"

#define LPT_BASE          0x378
#define LPT2_BASE         0x278 /* LPT2, the same model */
#define LPT_LEN           3
#define LPT_DATA          0
#define LPT_STAT          1
#define LPT_STAT_NBUSY    0x80 /* 0 = busy (BUSY is active low here) */
#define LPT_STAT_NACK     0x40 /* 0 = acknowledge pulse */
#define LPT_STAT_PE       0x20 /* 1 = paper end */
#define LPT_STAT_SELECT   0x10 /* 1 = printer online */
#define LPT_STAT_NERROR   0x08 /* 0 = error */
#define LPT_STAT_UNWIRED  0x07 /* not connected: read 1 */
#define LPT_CTRL          2
#define LPT_CTRL_STROBE   0x01 /* 1 = strobe asserted */
#define LPT_CTRL_AUTOFD   0x02 /* 1 = auto line feed */
#define LPT_CTRL_NINIT    0x04 /* 0 = initialise the printer */
#define LPT_CTRL_SELECTIN 0x08 /* 1 = select the printer */
#define LPT_CTRL_IRQEN    0x10 /* 1 = interrupt on nACK */
#define LPT_CTRL_INPUT    0x20 /* 1 = data port is an input */
#define LPT_CTRL_UNUSED   0xc0 /* read 1 */

#define LPT_RING_MAX    4096      /* received bytes io_sim_take() can see */
#define LPT_BUSY_MS_MAX 86400000L /* longest "busy:MS": one day */
#define LPT_CTL_MAX     64        /* bytes of the control file read */
#define LPT_CTL_RACY_S  2         /* seconds a fresh mtime is not trusted */

enum lpt_cond {
	COND_READY,
	COND_BUSY,
	COND_BUSY_FOR, /* until busy_until */
	COND_PAPEROUT,
	COND_OFFLINE,
	COND_ERROR,
};

struct lpt {
	struct io *io;
	uint8_t data, ctrl;
	int ack; /* show nACK low at the next status read */
	enum lpt_cond cond;
	struct timespec busy_until;
	int outfd;              /* -1 without a sim dir */
	char out[NAME_MAX + 1]; /* "lp0.out" */
	char ctl[NAME_MAX + 1]; /* "lp0.ctl", or "" without a sim dir */
	struct stat ctl_seen;   /* st_ino 0: no file seen */
	int ctl_racy;           /* mtime too recent: re-read the word */
	char ctl_word[LPT_CTL_MAX];
	size_t ctl_len;
	uint8_t ring[LPT_RING_MAX];
	size_t rhead, rlen;
};

static const char *const cond_words[] = {
	[COND_READY] = "ready",       [COND_BUSY] = "busy",
	[COND_PAPEROUT] = "paperout", [COND_OFFLINE] = "offline",
	[COND_ERROR] = "error",
};

/* Sets the condition from one word ("busy:MS" counts from now). */
static int
set_cond(struct lpt *l, const char *word, size_t len)
{
	struct timespec now;
	long ms = 0;
	size_t i;

	for (i = 0; i < sizeof(cond_words) / sizeof(cond_words[0]); i++) {
		if (cond_words[i] && strlen(cond_words[i]) == len &&
		    memcmp(cond_words[i], word, len) == 0) {
			l->cond = i;
			return 0;
		}
	}
	if (len <= 5 || memcmp(word, "busy:", 5) != 0)
		return -EINVAL;
	for (i = 5; i < len; i++) {
		if (word[i] < '0' || word[i] > '9' || ms > LPT_BUSY_MS_MAX)
			return -EINVAL;
		ms = ms * 10 + (word[i] - '0');
	}
	if (ms > LPT_BUSY_MS_MAX || io_now(l->io, &now) < 0)
		return -EINVAL;
	now.tv_sec += ms / 1000;
	now.tv_nsec += (ms % 1000) * 1000000L;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	l->busy_until = now;
	l->cond = COND_BUSY_FOR;
	return 0;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Re-reads the control file when its stat changed, or while its mtime is
 * too recent to trust (file times tick coarsely, so a quick rewrite of the
 * same size can keep them).  A word is applied when the file was rewritten
 * or the word differs, so an unchanged "busy:MS" does not restart.
 */
static void
poll_ctl(struct lpt *l)
{
	struct timespec now;
	char buf[LPT_CTL_MAX];
	struct stat st;
	int changed;
	ssize_t n;
	size_t len;
	int fd;

	if (!l->ctl[0])
		return;
	if (fstatat(l->io->sim_dirfd, l->ctl, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (l->ctl_seen.st_ino != 0)
			l->cond = COND_READY;
		memset(&l->ctl_seen, 0, sizeof(l->ctl_seen));
		l->ctl_len = 0;
		return;
	}
	changed = !same_file(&st, &l->ctl_seen);
	if (!changed && !l->ctl_racy)
		return;
	fd = openat(l->io->sim_dirfd, l->ctl,
	            O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	len = n > 0 ? n : 0;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
	                   buf[len - 1] == '\r' || buf[len - 1] == '\t'))
		len--;
	clock_gettime(CLOCK_REALTIME, &now);
	l->ctl_racy = st.st_mtim.tv_sec + LPT_CTL_RACY_S >= now.tv_sec;
	l->ctl_seen = st;
	if (!changed && len == l->ctl_len && memcmp(buf, l->ctl_word, len) == 0)
		return;
	memcpy(l->ctl_word, buf, len);
	l->ctl_len = len;
	if (set_cond(l, buf, len) < 0)
		l->cond = COND_READY;
}

static int
is_ready(struct lpt *l)
{
	struct timespec now;

	if (l->cond == COND_BUSY_FOR && io_now(l->io, &now) == 0 &&
	    (now.tv_sec > l->busy_until.tv_sec ||
	     (now.tv_sec == l->busy_until.tv_sec &&
	      now.tv_nsec >= l->busy_until.tv_nsec)))
		l->cond = COND_READY;
	return l->cond == COND_READY;
}

static uint8_t
read_status(struct lpt *l)
{
	uint8_t st = LPT_STAT_NACK | LPT_STAT_SELECT | LPT_STAT_NERROR |
	             LPT_STAT_UNWIRED;

	poll_ctl(l);
	if (is_ready(l))
		st |= LPT_STAT_NBUSY;
	if (l->ack)
		st &= ~LPT_STAT_NACK;
	l->ack = 0;
	switch (l->cond) {
	case COND_PAPEROUT:
		st |= LPT_STAT_PE;
		break;
	case COND_OFFLINE:
		st &= ~LPT_STAT_SELECT;
		break;
	case COND_ERROR:
		st &= ~LPT_STAT_NERROR;
		break;
	default:
		break;
	}
	return st;
}

/*
 * The printer takes the byte on the data lines: 0, or -errno when it
 * cannot be stored in the out file (then it is not taken at all).
 */
static int
take_byte(struct lpt *l)
{
	int r;

	if (l->outfd >= 0) {
		r = sim_write_all(l->outfd, &l->data, 1);
		if (r < 0)
			return sim_fail(l->io, l->out, r);
	}
	if (l->rlen == LPT_RING_MAX) {
		l->rhead = (l->rhead + 1) % LPT_RING_MAX;
		l->rlen--;
	}
	l->ring[(l->rhead + l->rlen++) % LPT_RING_MAX] = l->data;
	l->ack = 1;
	return 0;
}

static int
write_ctrl(struct lpt *l, uint8_t v)
{
	uint8_t old = l->ctrl;

	l->ctrl = v | LPT_CTRL_UNUSED;
	if (!(v & LPT_CTRL_NINIT))
		l->ack = 0; /* the printer is being reset */
	if (!(old & LPT_CTRL_STROBE) || (v & LPT_CTRL_STROBE))
		return 0;
	poll_ctl(l);
	if (is_ready(l) && (v & LPT_CTRL_NINIT) && (v & LPT_CTRL_SELECTIN))
		return take_byte(l);
	return 0;
}

static uint8_t
lpt_read(void *m, uint16_t off)
{
	struct lpt *l = m;

	switch (off) {
	case LPT_DATA:
		return l->ctrl & LPT_CTRL_INPUT ? 0xff : l->data;
	case LPT_STAT:
		return read_status(l);
	default:
		return l->ctrl;
	}
}

static int
lpt_write(void *m, uint16_t off, uint8_t v)
{
	struct lpt *l = m;

	switch (off) {
	case LPT_DATA:
		l->data = v;
		return 0;
	case LPT_STAT:
		return 0; /* read-only */
	default:
		return write_ctrl(l, v);
	}
}

static int
lpt_create(struct io *io, void **ret)
{
	struct lpt *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->io = io;
	l->ctrl = LPT_CTRL_NINIT | LPT_CTRL_SELECTIN | LPT_CTRL_UNUSED;
	l->outfd = -1;
	r = sim_file(io, ".out", l->out, sizeof(l->out));
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		goto free_lpt;
	r = sim_file(io, ".ctl", l->ctl, sizeof(l->ctl));
	if (r < 0)
		goto free_lpt;
	/* O_NONBLOCK: a FIFO found there must not block the driver */
	l->outfd = openat(io->sim_dirfd, l->out,
	                  O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK |
	                          O_NOFOLLOW | O_CLOEXEC,
	                  0600);
	if (l->outfd < 0) {
		r = sim_fail(io, l->out, -errno);
		goto free_lpt;
	}
	r = sim_private(io, l->outfd, l->out);
	if (r < 0)
		goto close_out;
done:
	*ret = l;
	return 0;

close_out:
	close(l->outfd);
free_lpt:
	free(l);
	return r;
}

static void
lpt_destroy(void *m)
{
	struct lpt *l = m;

	if (!l)
		return;
	if (l->outfd >= 0)
		close(l->outfd);
	free(l);
}

static int
lpt_take(void *m, void *buf, size_t cap)
{
	struct lpt *l = m;
	uint8_t *p = buf;
	size_t n = 0;

	if (cap > INT_MAX)
		cap = INT_MAX;
	while (n < cap && l->rlen) {
		p[n++] = l->ring[l->rhead];
		l->rhead = (l->rhead + 1) % LPT_RING_MAX;
		l->rlen--;
	}
	return n;
}

static int
lpt_set_state(void *m, const char *state)
{
	return set_cond(m, state, strlen(state));
}

/* The model at LPT1's address and, the same, at LPT2's (QEMU's second
 * -parallel). */
#define LPT_MODEL(model_name, at)                                              \
	{                                                                      \
		.name = model_name, .base = at, .len = LPT_LEN,                \
		.create = lpt_create, .destroy = lpt_destroy,                  \
		.read = lpt_read, .write = lpt_write, .take = lpt_take,        \
		.set_state = lpt_set_state,                                    \
	}

const struct sim_model_ops sim_lpt_ops = LPT_MODEL("lpt", LPT_BASE);
const struct sim_model_ops sim_lpt2_ops = LPT_MODEL("lpt2", LPT2_BASE);
