/*
 * sim_i8042.c: a software i8042 keyboard controller with a keyboard and a
 * PS/2 mouse behind it, as on a PC: data port 0x60, status (read) and
 * command (write) port 0x64.  Ports 0x61-0x63 fall inside the decode range
 * but belong to other chips: they read 0xff and ignore writes.
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
 *
 * The mouse (aux port) answers the commands sent it through 0xd4 as
 * QEMU's ps2 mouse does: 0xfa ACK to each; 0xf4/0xf5 turn data reporting
 * on and off; 0xf6 sets the defaults (reporting off); 0xff resets (ACK,
 * 0xaa, 0x00; reporting off); 0xf2 gives ID 0x00, 0xe9 three status bytes,
 * 0xeb a packet of no movement; 0xe8 and 0xf3 take an argument; unknown
 * commands get no answer.  Movement bytes come raw from the FIFO
 * <name>.aux (made as <name>.in is) and are dropped, and counted, while
 * reporting is off, as a mouse sends nothing then.  Every mouse byte comes
 * out with status AUXOBF set, after the keyboard's bytes (keyboard data
 * goes first, as in QEMU), and is held while the aux interface is disabled
 * (0xa7 or command byte bit 5).  Scaling, resolution, sample rate, remote
 * and wrap mode are acknowledged but not modelled.
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
#define KBC_STS_AUX 0x20 /* 1 = the byte waiting at 0x60 is the mouse's */

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
#define KBC_CMD_AUXTEST 0xa9 /* aux interface test: replies 0x00 */
#define KBC_CMD_TEST    0xaa /* self test: replies 0x55 */
#define KBC_CMD_KBDTEST 0xab /* keyboard interface test: replies 0x00 */
#define KBC_CMD_KBDDIS  0xad
#define KBC_CMD_KBDEN   0xae
#define KBC_CMD_WOUT    0xd2 /* next 0x60 byte comes back as if typed */
#define KBC_CMD_WAUXOUT 0xd3 /* next 0x60 byte comes back from the mouse */
#define KBC_CMD_AUXSEND 0xd4 /* next 0x60 byte goes to the mouse */

#define KBD_ACK   0xfa
#define KBD_RESET 0xff /* replies ACK, 0xaa (self test passed) */
#define KBD_ECHO  0xee
#define KBD_ID    0xf2

#define AUX_SET_RES    0xe8 /* takes an argument */
#define AUX_GET_STATUS 0xe9 /* replies ACK and three status bytes */
#define AUX_POLL       0xeb /* replies ACK and a packet */
#define AUX_GET_TYPE   0xf2 /* replies ACK and the ID, 0x00 */
#define AUX_SET_RATE   0xf3 /* takes an argument */
#define AUX_ENABLE     0xf4 /* data reporting on */
#define AUX_DISABLE    0xf5 /* data reporting off */
#define AUX_DEFAULTS   0xf6 /* defaults: reporting off */
#define AUX_RESET      0xff /* replies ACK, 0xaa, 0x00; reporting off */
#define AUX_ST_ENABLED 0x20 /* status byte 0: reporting on */

#define KEYQ_MAX  4096 /* bytes of keys queued; more are dropped */
#define AUXQ_MAX  4096 /* bytes of mouse movement queued; more are dropped */
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
	int rfd, wfd;            /* the FIFO, or -1 */
	uint8_t moves[AUXQ_MAX]; /* mouse movement bytes */
	size_t mhead, mlen;
	uint8_t aux_reply[REPLY_MAX]; /* the mouse's answers */
	size_t arhead, arlen;
	uint8_t aux_arg; /* mouse command awaiting its argument */
	uint8_t aux_on;  /* data reporting enabled */
	int arfd, awfd;  /* the aux FIFO, or -1 */
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

/* A mouse movement byte; dropped while the mouse does not report. */
static void
push_move(struct kbc *k, uint8_t b)
{
	if (k->mlen == AUXQ_MAX || !k->aux_on) {
		k->dropped++;
		return;
	}
	k->moves[(k->mhead + k->mlen++) % AUXQ_MAX] = b;
}

static void
push_reply(struct kbc *k, uint8_t b)
{
	if (k->rlen == REPLY_MAX)
		return;
	k->reply[(k->rhead + k->rlen++) % REPLY_MAX] = b;
}

static void
push_aux_reply(struct kbc *k, uint8_t b)
{
	if (k->arlen == REPLY_MAX)
		return;
	k->aux_reply[(k->arhead + k->arlen++) % REPLY_MAX] = b;
}

/* Moves what writers put in FIFO fd into a queue, with push. */
static void
pull_fifo(struct kbc *k, int fd, void (*push)(struct kbc *, uint8_t))
{
	uint8_t buf[512];
	size_t total = 0;
	ssize_t n, i;

	if (fd < 0)
		return;
	while (total < PULL_MAX) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			push(k, buf[i]);
		total += n;
	}
}

static void
pull(struct kbc *k)
{
	pull_fifo(k, k->rfd, push_key);
	pull_fifo(k, k->arfd, push_move);
}

static int
kbd_enabled(const struct kbc *k)
{
	return !(k->cb & KBC_CB_KBDDIS);
}

static int
aux_enabled(const struct kbc *k)
{
	return !(k->cb & KBC_CB_AUXDIS);
}

/* A keyboard-side byte (a reply or a key) waits. */
static int
kbd_pending(const struct kbc *k)
{
	return k->rlen || (kbd_enabled(k) && k->klen);
}

/* A mouse byte (an answer or movement) waits and may be shown. */
static int
aux_pending(const struct kbc *k)
{
	return aux_enabled(k) && (k->arlen || k->mlen);
}

/*
 * Opens both ends of the FIFO file <name><ext> in the sim dir, made if
 * missing; -ENOENT without a sim dir.
 */
static int
open_fifo(struct io *io, const char *ext, int *ret_rfd, int *ret_wfd)
{
	char file[NAME_MAX + 1];
	int dfd = io->sim_dirfd;
	int rfd, wfd, r;
	struct stat st;

	r = sim_file(io, ext, file, sizeof(file));
	if (r < 0)
		return r;
	if (mkfifoat(dfd, file, 0600) < 0 && errno != EEXIST)
		return sim_fail(io, file, -errno);
	rfd = openat(dfd, file, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return sim_fail(io, file, -errno);
	if (fstat(rfd, &st) < 0) {
		r = sim_fail(io, file, -errno);
		goto close_rfd;
	}
	if (!S_ISFIFO(st.st_mode)) {
		r = sim_fail(io, file, -EEXIST);
		goto close_rfd;
	}
	r = sim_private(io, rfd, file);
	if (r < 0)
		goto close_rfd;
	wfd = openat(dfd, file, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0) {
		r = sim_fail(io, file, -errno);
		goto close_rfd;
	}
	*ret_rfd = rfd;
	*ret_wfd = wfd;
	return 0;

close_rfd:
	close(rfd);
	return r;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void
kbc_destroy(void *m)
{
	struct kbc *k = m;

	if (!k)
		return;
	close_fd(k->awfd);
	close_fd(k->arfd);
	close_fd(k->wfd);
	close_fd(k->rfd);
	free(k);
}

static int
kbc_create(struct io *io, void **ret)
{
	struct kbc *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	k->cb = KBC_CB_DEFAULT;
	k->sys = 1; /* the BIOS ran the self test */
	k->rfd = k->wfd = k->arfd = k->awfd = -1;
	r = open_fifo(io, ".in", &k->rfd, &k->wfd);
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		goto free_kbc;
	r = open_fifo(io, ".aux", &k->arfd, &k->awfd);
	if (r < 0)
		goto free_kbc;
done:
	*ret = k;
	return 0;

free_kbc:
	kbc_destroy(k);
	return r;
}

static uint8_t
read_status(struct kbc *k)
{
	uint8_t st = KBC_STS_INH;

	pull(k);
	if (kbd_pending(k))
		st |= KBC_STS_OBF;
	else if (aux_pending(k))
		st |= KBC_STS_OBF | KBC_STS_AUX;
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
	} else if (aux_enabled(k) && k->arlen) {
		k->last = k->aux_reply[k->arhead];
		k->arhead = (k->arhead + 1) % REPLY_MAX;
		k->arlen--;
	} else if (aux_enabled(k) && k->mlen) {
		k->last = k->moves[k->mhead];
		k->mhead = (k->mhead + 1) % AUXQ_MAX;
		k->mlen--;
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

/* A byte sent to the mouse (after 0xd4). */
static void
aux_command(struct kbc *k, uint8_t v)
{
	if (k->aux_arg) {
		k->aux_arg = 0;
		push_aux_reply(k, KBD_ACK);
		return;
	}
	switch (v) {
	case AUX_SET_RES:
	case AUX_SET_RATE:
		k->aux_arg = v;
		push_aux_reply(k, KBD_ACK);
		break;
	case AUX_GET_STATUS:
		push_aux_reply(k, KBD_ACK);
		push_aux_reply(k, k->aux_on ? AUX_ST_ENABLED : 0);
		push_aux_reply(k, 2);   /* resolution: 4 counts/mm */
		push_aux_reply(k, 100); /* samples/s */
		break;
	case AUX_GET_TYPE:
		push_aux_reply(k, KBD_ACK);
		push_aux_reply(k, 0x00); /* a standard PS/2 mouse */
		break;
	case AUX_ENABLE:
		k->aux_on = 1;
		push_aux_reply(k, KBD_ACK);
		break;
	case AUX_DISABLE:
	case AUX_DEFAULTS:
		k->aux_on = 0;
		push_aux_reply(k, KBD_ACK);
		break;
	case AUX_POLL:
		/* a packet of no movement: the FIFO feeds the stream only */
		push_aux_reply(k, KBD_ACK);
		push_aux_reply(k, 0x08);
		push_aux_reply(k, 0x00);
		push_aux_reply(k, 0x00);
		break;
	case AUX_RESET:
		k->aux_on = 0;
		k->mlen = 0; /* a reset mouse forgets what it had queued */
		push_aux_reply(k, KBD_ACK);
		push_aux_reply(k, 0xaa);
		push_aux_reply(k, 0x00);
		break;
	case 0xe6: /* scaling 1:1 */
	case 0xe7: /* scaling 2:1 */
	case 0xea: /* stream mode */
	case 0xec: /* reset wrap mode */
	case 0xee: /* wrap mode */
	case 0xf0: /* remote mode */
		push_aux_reply(k, KBD_ACK);
		break;
	default:
		break; /* QEMU's mouse does not answer these */
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
	case KBC_CMD_WAUXOUT:
		push_aux_reply(k, v);
		break;
	case KBC_CMD_AUXSEND:
		aux_command(k, v);
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
	case KBC_CMD_WAUXOUT:
	case KBC_CMD_AUXSEND:
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
	case KBC_CMD_AUXTEST:
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
