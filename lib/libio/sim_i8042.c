/*
 * sim_i8042.c: a software i8042 keyboard controller with a keyboard behind
 * it, as on a PC: data port 0x60, status (read) and command (write) port
 * 0x64.  Ports 0x61-0x63 fall inside the decode range but belong to other
 * chips: they read 0xff and ignore writes.
 *
 * Key bytes are raw set-1 scancodes.  They come from io_sim_feed() or,
 * with a sim dir and a name, from the FIFO <name>.in there (made 0600),
 * which is drained into a bounded queue at each status read.  The model
 * holds a write end of its own FIFO open, so writers may close and reopen
 * it at will without the model ever seeing EOF.
 *
 * Translation: with command byte XLATE set, a real controller turns the
 * keyboard's set-2 codes into set 1, so the set-1 bytes fed here come out
 * unchanged.  With XLATE clear a real controller would pass the keyboard's
 * set-2 codes through; this model has no set-2 keyboard and still outputs
 * the fed set-1 bytes unchanged.  Only the identify reply (0xf2) differs.
 *
 * The keyboard answers the commands a driver sends it (0xfa ACK, 0xaa
 * after reset, 0xee echo, the identify bytes); scanning enable/disable,
 * LEDs, typematic and scancode set are acknowledged but not modelled.
 * Replies go ahead of queued keys and are shown even when the keyboard
 * interface is disabled (0xad), which hides only the keys.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_impl.h"

#define KBC_BASE 0x60
#define KBC_LEN  5
#define KBC_DATA 0 /* 0x60 */
#define KBC_CMD  4 /* 0x64: status on read, command on write */

#define KBC_STS_OBF 0x01 /* 1 = a byte waits at 0x60 */
#define KBC_STS_IBF 0x02 /* 1 = input not yet taken; always 0 here */
#define KBC_STS_SYS 0x04 /* 1 = self test passed */
#define KBC_STS_A2  0x08 /* 1 = last write went to 0x64 */
#define KBC_STS_INH 0x10 /* 1 = keyboard NOT inhibited by the keylock */

#define KBC_CB_KBDINT  0x01 /* keyboard interrupt enable */
#define KBC_CB_SYS     0x04 /* system flag, copied to status SYS */
#define KBC_CB_KBDDIS  0x10 /* 1 = keyboard interface disabled */
#define KBC_CB_AUXDIS  0x20 /* 1 = aux interface disabled */
#define KBC_CB_XLATE   0x40 /* 1 = translate to set 1 */
#define KBC_CB_DEFAULT (KBC_CB_KBDINT | KBC_CB_SYS | KBC_CB_XLATE)

#define KBC_CMD_RCB     0x20 /* read command byte */
#define KBC_CMD_WCB     0x60 /* write command byte */
#define KBC_CMD_AUXDIS  0xa7
#define KBC_CMD_AUXEN   0xa8
#define KBC_CMD_TEST    0xaa /* self test: replies 0x55 */
#define KBC_CMD_KBDTEST 0xab /* keyboard interface test: replies 0x00 */
#define KBC_CMD_KBDDIS  0xad
#define KBC_CMD_KBDEN   0xae
#define KBC_CMD_WOUT    0xd2 /* next 0x60 byte comes back as if typed */

#define KBD_ACK   0xfa
#define KBD_RESET 0xff /* replies ACK, 0xaa (self test passed) */
#define KBD_ECHO  0xee
#define KBD_ID    0xf2

#define KEYQ_MAX  4096 /* bytes of keys queued; more are dropped */
#define REPLY_MAX 8
#define PULL_MAX  65536 /* bytes drained from the FIFO per status read */

struct kbc {
	uint8_t keys[KEYQ_MAX];
	size_t khead, klen;
	uint64_t dropped;
	uint8_t reply[REPLY_MAX];
	size_t rhead, rlen;
	uint8_t last;    /* the byte 0x60 read last */
	uint8_t cb;      /* command byte */
	uint8_t pending; /* controller command awaiting its data byte */
	uint8_t kbd_arg; /* keyboard command awaiting its argument */
	uint8_t sys, a2;
	int rfd, wfd; /* the FIFO, or -1 */
};

static void
push_key(struct kbc *k, uint8_t b)
{
	if (k->klen == KEYQ_MAX) {
		k->dropped++;
		return;
	}
	k->keys[(k->khead + k->klen++) % KEYQ_MAX] = b;
}

static void
push_reply(struct kbc *k, uint8_t b)
{
	if (k->rlen == REPLY_MAX)
		return;
	k->reply[(k->rhead + k->rlen++) % REPLY_MAX] = b;
}

/* Moves what writers put in the FIFO into the key queue. */
static void
pull(struct kbc *k)
{
	uint8_t buf[512];
	size_t total = 0;
	ssize_t n, i;

	if (k->rfd < 0)
		return;
	while (total < PULL_MAX) {
		n = read(k->rfd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			push_key(k, buf[i]);
		total += n;
	}
}

static int
kbd_enabled(const struct kbc *k)
{
	return !(k->cb & KBC_CB_KBDDIS);
}

/* Opens both ends of the FIFO file in the sim dir, made if missing. */
static int
open_fifo(struct kbc *k, struct io *io, const char *file)
{
	int dfd = io->sim_dirfd;
	struct stat st;
	int r;

	if (mkfifoat(dfd, file, 0600) < 0 && errno != EEXIST)
		return sim_fail(io, file, -errno);
	k->rfd = openat(dfd, file,
	                O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (k->rfd < 0)
		return sim_fail(io, file, -errno);
	if (fstat(k->rfd, &st) < 0) {
		r = sim_fail(io, file, -errno);
		goto close_rfd;
	}
	if (!S_ISFIFO(st.st_mode)) {
		r = sim_fail(io, file, -EEXIST);
		goto close_rfd;
	}
	r = sim_private(io, k->rfd, file);
	if (r < 0)
		goto close_rfd;
	k->wfd = openat(dfd, file,
	                O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (k->wfd < 0) {
		r = sim_fail(io, file, -errno);
		goto close_rfd;
	}
	return 0;

close_rfd:
	close(k->rfd);
	k->rfd = -1;
	return r;
}

static int
kbc_create(struct io *io, void **ret)
{
	struct kbc *k = calloc(1, sizeof(*k));
	char file[NAME_MAX + 1];
	int r;

	if (!k)
		return -ENOMEM;
	k->cb = KBC_CB_DEFAULT;
	k->sys = 1; /* the BIOS ran the self test */
	k->rfd = k->wfd = -1;
	r = sim_file(io, ".in", file, sizeof(file));
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		goto free_kbc;
	r = open_fifo(k, io, file);
	if (r < 0)
		goto free_kbc;
done:
	*ret = k;
	return 0;

free_kbc:
	free(k);
	return r;
}

static void
kbc_destroy(void *m)
{
	struct kbc *k = m;

	if (!k)
		return;
	if (k->wfd >= 0)
		close(k->wfd);
	if (k->rfd >= 0)
		close(k->rfd);
	free(k);
}

static uint8_t
read_status(struct kbc *k)
{
	uint8_t st = KBC_STS_INH;

	pull(k);
	if (k->rlen || (kbd_enabled(k) && k->klen))
		st |= KBC_STS_OBF;
	if (k->sys)
		st |= KBC_STS_SYS;
	if (k->a2)
		st |= KBC_STS_A2;
	return st;
}

static uint8_t
read_data(struct kbc *k)
{
	if (k->rlen) {
		k->last = k->reply[k->rhead];
		k->rhead = (k->rhead + 1) % REPLY_MAX;
		k->rlen--;
	} else if (kbd_enabled(k) && k->klen) {
		k->last = k->keys[k->khead];
		k->khead = (k->khead + 1) % KEYQ_MAX;
		k->klen--;
	}
	return k->last;
}

static uint8_t
kbc_read(void *m, uint16_t off)
{
	switch (off) {
	case KBC_DATA:
		return read_data(m);
	case KBC_CMD:
		return read_status(m);
	default:
		return 0xff;
	}
}

/* A byte written to 0x60 with no controller command pending. */
static void
kbd_command(struct kbc *k, uint8_t v)
{
	if (k->kbd_arg) {
		k->kbd_arg = 0;
		push_reply(k, KBD_ACK);
		return;
	}
	switch (v) {
	case KBD_ECHO:
		push_reply(k, KBD_ECHO);
		break;
	case KBD_RESET:
		push_reply(k, KBD_ACK);
		push_reply(k, 0xaa);
		break;
	case KBD_ID:
		push_reply(k, KBD_ACK);
		push_reply(k, 0xab);
		push_reply(k, k->cb & KBC_CB_XLATE ? 0x41 : 0x83);
		break;
	case 0xed: /* LEDs */
	case 0xf0: /* scancode set */
	case 0xf3: /* typematic rate */
		k->kbd_arg = v;
		push_reply(k, KBD_ACK);
		break;
	default:
		push_reply(k, KBD_ACK);
	}
}

static void
write_data(struct kbc *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case KBC_CMD_WCB:
		k->cb = v;
		k->sys = !!(v & KBC_CB_SYS);
		break;
	case KBC_CMD_WOUT:
		push_key(k, v);
		break;
	default:
		kbd_command(k, v);
	}
}

static void
write_command(struct kbc *k, uint8_t v)
{
	k->pending = 0;
	switch (v) {
	case KBC_CMD_RCB:
		push_reply(k, k->cb);
		break;
	case KBC_CMD_WCB:
	case KBC_CMD_WOUT:
		k->pending = v;
		break;
	case KBC_CMD_AUXDIS:
		k->cb |= KBC_CB_AUXDIS;
		break;
	case KBC_CMD_AUXEN:
		k->cb &= ~KBC_CB_AUXDIS;
		break;
	case KBC_CMD_TEST:
		k->sys = 1;
		push_reply(k, 0x55);
		break;
	case KBC_CMD_KBDTEST:
		push_reply(k, 0x00);
		break;
	case KBC_CMD_KBDDIS:
		k->cb |= KBC_CB_KBDDIS;
		break;
	case KBC_CMD_KBDEN:
		k->cb &= ~KBC_CB_KBDDIS;
		break;
	default:
		break; /* not modelled; 0xfe (reset the CPU) above all */
	}
}

static int
kbc_write(void *m, uint16_t off, uint8_t v)
{
	struct kbc *k = m;

	switch (off) {
	case KBC_DATA:
		k->a2 = 0;
		write_data(k, v);
		break;
	case KBC_CMD:
		k->a2 = 1;
		write_command(k, v);
		break;
	default:
		break;
	}
	return 0;
}

static int
kbc_feed(void *m, const void *buf, size_t len)
{
	struct kbc *k = m;
	const uint8_t *p = buf;
	size_t i, before = k->klen;

	if (len > INT_MAX)
		len = INT_MAX;
	for (i = 0; i < len; i++)
		push_key(k, p[i]);
	return k->klen - before;
}

static uint64_t
kbc_dropped(void *m)
{
	const struct kbc *k = m;

	return k->dropped;
}

const struct sim_model_ops sim_i8042_ops = {
	.name = "i8042",
	.base = KBC_BASE,
	.len = KBC_LEN,
	.create = kbc_create,
	.destroy = kbc_destroy,
	.read = kbc_read,
	.write = kbc_write,
	.feed = kbc_feed,
	.dropped = kbc_dropped,
};
