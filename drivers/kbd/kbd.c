/*
 * kbd.c: ddm-kbd, the driver for the PC keyboard behind an i8042.
 *
 * ISA interrupts do not reach user space, so the controller is polled from
 * a timer: every KBD_POLL_ACTIVE_US while bytes arrive, backing off by
 * doubling to KBD_POLL_IDLE_US when idle, or to KBD_POLL_CLOSED_US while
 * nothing is open (nobody waits for keys then, so idle costs almost
 * nothing).  Every open handle sees every key; keys that arrive while
 * nothing is open are dropped.  A handle reads
 * text (a US layout, UTF-8, escape sequences for the cursor keys) unless
 * KDSKBMODE K_RAW switched it to raw set-1 scancodes.  Each handle queues
 * up to KBD_QUEUE_MAX bytes and drops the oldest when it overflows.  Read
 * blocks (suspends) until data arrives; poll reports POLLIN.
 *
 * The keypad always gives digits (NumLock is not modelled), Alt+key gives
 * ESC and the key, and the Win/Menu and multimedia keys give nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/kd.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "kbdreg.h"

/* Poll delay while bytes arrive, and the idle ceiling it doubles to, us. */
#define KBD_POLL_ACTIVE_US 1000
#define KBD_POLL_IDLE_US   20000 /* KBD_POLL_IDLE_MS = 20 */
/* The idle ceiling while no handle is open, us. */
#define KBD_POLL_CLOSED_US 250000
/* Bytes taken from the controller in one poll at most. */
#define KBD_POLL_BATCH 64
/* Bytes thrown away at most when draining the controller at start. */
#define KBD_DRAIN_MAX 64
/* Longest wait for IBF to clear or OBF to set at start, in us. */
#define KBD_IO_TIMEOUT_US 10000
/* Bytes queued per handle; more drop the oldest. */
#define KBD_QUEUE_MAX 4096
/* Longest text one scancode can give (ESC [ 1 5 ~). */
#define KBD_XLATE_MAX 8

/* Modifier bits in struct kbd_xlate. */
#define MOD_LSHIFT 0x01
#define MOD_RSHIFT 0x02
#define MOD_LCTRL  0x04
#define MOD_RCTRL  0x08
#define MOD_LALT   0x10
#define MOD_RALT   0x20
#define MOD_SHIFT  (MOD_LSHIFT | MOD_RSHIFT)
#define MOD_CTRL   (MOD_LCTRL | MOD_RCTRL)
#define MOD_ALT    (MOD_LALT | MOD_RALT)

/* The scancode translator's state: prefixes and modifiers seen so far. */
struct kbd_xlate {
	uint8_t kx_e0;        /* an 0xe0 prefix is pending */
	uint8_t kx_e1;        /* bytes of a Pause sequence still to swallow */
	uint8_t kx_mods;      /* MOD_* held */
	uint8_t kx_caps;      /* Caps Lock on */
	uint8_t kx_caps_down; /* Caps Lock key held (no toggle on repeat) */
};

/* A suspended read. */
struct kbd_wait {
	struct ddm_req *kw_req;
	struct kbd_wait *kw_next;
};

/* Per-open state. */
struct kbd_open {
	struct ddm_handle *ko_h;
	int ko_raw; /* 1 = raw set-1 bytes, 0 = text */
	uint8_t ko_q[KBD_QUEUE_MAX];
	size_t ko_head, ko_len;
	uint64_t ko_dropped;
	int ko_new; /* got bytes in this poll */
	struct kbd_wait *ko_waits;
	struct kbd_open *ko_next;
};

struct kbd_softc {
	struct ddm_dev *sc_dev;
	struct io_region *sc_data; /* port 0x60 */
	struct io_region *sc_cmd;  /* port 0x64 */
	struct kbd_xlate sc_xl;
	struct kbd_open *sc_opens;
	uint64_t sc_delay_us; /* next poll delay */
	int sc_timer;         /* pending poll timer id, or 0 */
};

static struct kbd_softc kbd_sc;

/* Set-1 codes 0x00-0x39: the US layout, unshifted and shifted. */
static const char kmap[0x3a] = "\0\033"
                               "1234567890-=\177\t"
                               "qwertyuiop[]\n\0"
                               "asdfghjkl;'`\0\\"
                               "zxcvbnm,./\0*\0 ";
static const char kmap_shift[0x3a] = "\0\033"
                                     "!@#$%^&*()_+\177\t"
                                     "QWERTYUIOP{}\n\0"
                                     "ASDFGHJKL:\"~\0|"
                                     "ZXCVBNM<>?\0*\0 ";
/* Keypad 0x47-0x53, as with NumLock on. */
static const char kmap_pad[] = "789-456+1230.";
/* F1-F10 (0x3b-0x44), F11 (0x57), F12 (0x58), as xterm sends them. */
static const char *const fkeys[12] = {
	"\033OP",   "\033OQ",   "\033OR",   "\033OS",   "\033[15~", "\033[17~",
	"\033[18~", "\033[19~", "\033[20~", "\033[21~", "\033[23~", "\033[24~",
};

static size_t
put_str(char *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	return n;
}

/* A modifier key's MOD_* bit, or 0; e0 tells the right-hand keys. */
static uint8_t
mod_bit(uint8_t key, int e0)
{
	switch (key) {
	case 0x2a:
		return e0 ? 0 : MOD_LSHIFT;
	case 0x36:
		return e0 ? 0 : MOD_RSHIFT;
	case 0x1d:
		return e0 ? MOD_RCTRL : MOD_LCTRL;
	case 0x38:
		return e0 ? MOD_RALT : MOD_LALT;
	default:
		return 0;
	}
}

/* 0xe0-prefixed keys that give text. */
static const struct {
	uint8_t key;
	const char *text;
} e0_keys[] = {
	{ 0x48, "\033[A" },  { 0x50, "\033[B" },  { 0x4d, "\033[C" },
	{ 0x4b, "\033[D" },  { 0x47, "\033[H" },  { 0x4f, "\033[F" },
	{ 0x53, "\033[3~" }, { 0x52, "\033[2~" }, { 0x49, "\033[5~" },
	{ 0x51, "\033[6~" }, { 0x1c, "\n" },      { 0x35, "/" },
};
/*
 * 0xe0-prefixed keys that give nothing: the fake shifts around extended
 * keys, Print Screen, Ctrl+Break, the Windows keys, Menu, power
 * management and multimedia keys.
 */
static const uint8_t e0_silent[] = { 0x2a, 0x36, 0x37, 0x46, 0x5b, 0x5c, 0x5d,
	                             0x5e, 0x5f, 0x63, 0x10, 0x19, 0x20, 0x21,
	                             0x22, 0x24, 0x2e, 0x30, 0x32, 0x65, 0x66,
	                             0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d };

/*
 * What an 0xe0-prefixed code gives: the text to send, "" for a key with
 * an E0 meaning but no text, NULL for a code with no E0 meaning.
 */
static const char *
e0_text(uint8_t key)
{
	size_t i;

	for (i = 0; i < sizeof(e0_keys) / sizeof(e0_keys[0]); i++)
		if (e0_keys[i].key == key)
			return e0_keys[i].text;
	return memchr(e0_silent, key, sizeof(e0_silent)) != NULL ? "" : NULL;
}

/*
 * Feeds one set-1 byte to the translator; writes the text it gives to out
 * (at most KBD_XLATE_MAX bytes) and returns its length.
 */
static size_t
kbd_xlate(struct kbd_xlate *kx, uint8_t b, char *out)
{
	uint8_t key = b & ~SC_BREAK, mod;
	int brk = b & SC_BREAK, e0, shift;
	const char *s;
	char c;

	if (kx->kx_e1 > 0) {
		kx->kx_e1--;
		return 0;
	}
	if (b == SC_ERROR || b == SC_OVERRUN)
		return 0;
	if (b == SC_EXT) {
		kx->kx_e0 = 1; /* E0 E0 keeps one prefix */
		return 0;
	}
	if (b == SC_PAUSE) {
		kx->kx_e0 = 0;
		kx->kx_e1 = 2;
		return 0;
	}
	e0 = kx->kx_e0;
	kx->kx_e0 = 0;
	mod = mod_bit(key, e0);
	if (mod != 0) {
		if (brk)
			kx->kx_mods &= ~mod;
		else
			kx->kx_mods |= mod;
		return 0;
	}
	if (e0 && (s = e0_text(key)) != NULL)
		return brk ? 0 : put_str(out, s);
	if (key == 0x3a) {
		if (!brk && !kx->kx_caps_down)
			kx->kx_caps = !kx->kx_caps;
		kx->kx_caps_down = !brk;
		return 0;
	}
	if (brk)
		return 0;
	if (key >= 0x3b && key <= 0x44)
		return put_str(out, fkeys[key - 0x3b]);
	if (key == 0x57 || key == 0x58)
		return put_str(out, fkeys[key - 0x57 + 10]);
	if (key >= 0x47 && key <= 0x53)
		c = kmap_pad[key - 0x47];
	else if (key < sizeof(kmap))
		c = (kx->kx_mods & MOD_SHIFT) ? kmap_shift[key] : kmap[key];
	else
		c = 0;
	if (c == 0)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		shift = !!(kx->kx_mods & MOD_SHIFT) ^ kx->kx_caps;
		c = shift ? (c & ~0x20) : (c | 0x20);
		if (kx->kx_mods & MOD_CTRL)
			c &= 0x1f;
	} else if (kx->kx_mods & MOD_CTRL) {
		if (c == '[' || c == '\\' || c == ']')
			c &= 0x1f;
		else if (c == ' ')
			c = 0;
	}
	if (kx->kx_mods & MOD_ALT) {
		out[0] = '\033';
		out[1] = c;
		return 2;
	}
	out[0] = c;
	return 1;
}

static int
i8042_read_status(struct kbd_softc *sc, uint8_t *ret)
{
	return io_read8(sc->sc_cmd, kbd_status, ret);
}

static int
i8042_read_data(struct kbd_softc *sc, uint8_t *ret)
{
	return io_read8(sc->sc_data, kbd_data, ret);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Waits until (status & mask) == want; -ETIMEDOUT after KBD_IO_TIMEOUT_US. */
static int
i8042_wait(struct kbd_softc *sc, uint8_t mask, uint8_t want)
{
	uint64_t start = mono_us();
	uint8_t st;
	int err;

	for (;;) {
		err = i8042_read_status(sc, &st);
		if (err < 0)
			return err;
		if ((st & mask) == want)
			return 0;
		if (mono_us() - start >= KBD_IO_TIMEOUT_US)
			return -ETIMEDOUT;
	}
}

/* Sends a controller command to 0x64; never KBC_PULSE_RESET. */
static int
i8042_command(struct kbd_softc *sc, uint8_t cmd)
{
	int err;

	if (cmd == KBC_PULSE_RESET)
		return -EINVAL;
	err = i8042_wait(sc, KBS_IBF, 0);
	if (err < 0)
		return err;
	return io_write8(sc->sc_cmd, kbd_command, cmd);
}

static int
i8042_write_data(struct kbd_softc *sc, uint8_t v)
{
	int err;

	err = i8042_wait(sc, KBS_IBF, 0);
	if (err < 0)
		return err;
	return io_write8(sc->sc_data, kbd_data, v);
}

/* Sets up the controller: drain, command byte, keyboard enabled. */
static int
i8042_setup(struct kbd_softc *sc)
{
	uint8_t st, v, cb = KBCB_XLATE | KBCB_SYS;
	int err, i;

	for (i = 0; i < KBD_DRAIN_MAX; i++) {
		err = i8042_read_status(sc, &st);
		if (err < 0)
			return err;
		if (!(st & KBS_OBF))
			break;
		err = i8042_read_data(sc, &v);
		if (err < 0)
			return err;
	}
	err = i8042_command(sc, KBC_RCB);
	if (err < 0)
		return err;
	if (i8042_wait(sc, KBS_OBF, KBS_OBF) == 0 &&
	    i8042_read_data(sc, &v) == 0)
		cb = v; /* keep the aux bits as they are */
	cb = (cb | KBCB_XLATE | KBCB_SYS) & ~(KBCB_KBDINT | KBCB_KBDDIS);
	err = i8042_command(sc, KBC_WCB);
	if (err < 0)
		return err;
	err = i8042_write_data(sc, cb);
	if (err < 0)
		return err;
	return i8042_command(sc, KBC_KBDEN);
}

static void
q_push(struct kbd_open *ko, const uint8_t *p, size_t n)
{
	while (n-- > 0) {
		if (ko->ko_len == KBD_QUEUE_MAX) {
			ko->ko_head = (ko->ko_head + 1) % KBD_QUEUE_MAX;
			ko->ko_len--;
			ko->ko_dropped++;
		}
		ko->ko_q[(ko->ko_head + ko->ko_len++) % KBD_QUEUE_MAX] = *p++;
	}
	ko->ko_new = 1;
}

/* Moves up to n queued bytes to buf; returns how many. */
static size_t
q_pop(struct kbd_open *ko, uint8_t *buf, size_t n)
{
	size_t i;

	if (n > ko->ko_len)
		n = ko->ko_len;
	for (i = 0; i < n; i++) {
		buf[i] = ko->ko_q[ko->ko_head];
		ko->ko_head = (ko->ko_head + 1) % KBD_QUEUE_MAX;
	}
	ko->ko_len -= n;
	return n;
}

/* One byte from the keyboard: raw to raw handles, text to the others. */
static void
kbd_input(struct kbd_softc *sc, uint8_t b)
{
	char text[KBD_XLATE_MAX];
	struct kbd_open *ko;
	size_t n;

	n = kbd_xlate(&sc->sc_xl, b, text);
	for (ko = sc->sc_opens; ko != NULL; ko = ko->ko_next) {
		if (ko->ko_raw)
			q_push(ko, &b, 1);
		else if (n > 0)
			q_push(ko, (const uint8_t *)text, n);
	}
}

/* Answers waiting reads of handles that got bytes; tells pollers. */
static void
kbd_wake(struct kbd_softc *sc)
{
	uint8_t buf[KBD_QUEUE_MAX];
	struct kbd_open *ko;
	struct kbd_wait *kw;
	size_t n;

	for (ko = sc->sc_opens; ko != NULL; ko = ko->ko_next) {
		if (!ko->ko_new)
			continue;
		ko->ko_new = 0;
		while (ko->ko_len > 0 && (kw = ko->ko_waits) != NULL) {
			ko->ko_waits = kw->kw_next;
			n = q_pop(ko, buf, ddm_req_size(kw->kw_req));
			ddm_reply(kw->kw_req, (long)n, buf, n);
			free(kw);
		}
		ddm_poll_notify(ko->ko_h);
	}
}

/* Takes what the controller holds; returns the keyboard bytes read. */
static int
kbd_poll_once(struct kbd_softc *sc)
{
	uint8_t st, b;
	int err = 0, n = 0, i;

	for (i = 0; i < KBD_POLL_BATCH; i++) {
		err = i8042_read_status(sc, &st);
		if (err < 0)
			break;
		if (!(st & KBS_OBF))
			break;
		err = i8042_read_data(sc, &b);
		if (err < 0)
			break;
		if (st & KBS_AUXOBF)
			continue; /* a mouse byte: not ours */
		kbd_input(sc, b);
		n++;
	}
	kbd_wake(sc);
	return n > 0 ? n : err < 0 ? err : 0;
}

static void kbd_tick(struct ddm_dev *dev, void *arg);

static void
kbd_arm(struct kbd_softc *sc)
{
	int id;

	id = ddm_timer_add(sc->sc_dev, sc->sc_delay_us, kbd_tick, sc);
	sc->sc_timer = id > 0 ? id : 0;
	if (id < 0)
		ddm_log(sc->sc_dev, "cannot arm the poll timer: %s",
		        strerror(-id));
}

/* The poll timer: fast while keys come, backing off when idle. */
static void
kbd_tick(struct ddm_dev *dev, void *arg)
{
	struct kbd_softc *sc = arg;
	uint64_t ceiling =
	        sc->sc_opens != NULL ? KBD_POLL_IDLE_US : KBD_POLL_CLOSED_US;

	sc->sc_timer = 0;
	if (kbd_poll_once(sc) > 0) {
		sc->sc_delay_us = KBD_POLL_ACTIVE_US;
	} else {
		sc->sc_delay_us *= 2;
		if (sc->sc_delay_us > ceiling)
			sc->sc_delay_us = ceiling;
	}
	kbd_arm(sc);
}

/* Takes ports 0x60 and 0x64 and sets the controller up. */
static int
kbd_attach(struct kbd_softc *sc, struct ddm_dev *dev, struct io *io)
{
	int err;

	sc->sc_dev = dev;
	sc->sc_delay_us = KBD_POLL_ACTIVE_US;
	err = io_region_request(io, IO_SPACE_PORT, KBD_DATA_PORT, 1,
	                        &sc->sc_data);
	if (err < 0)
		return err;
	err = io_region_request(io, IO_SPACE_PORT, KBD_CMD_PORT, 1,
	                        &sc->sc_cmd);
	if (err < 0)
		goto release_data;
	err = i8042_setup(sc);
	if (err < 0)
		goto release_cmd;
	return 0;

release_cmd:
	io_region_release(sc->sc_cmd);
	sc->sc_cmd = NULL;
release_data:
	io_region_release(sc->sc_data);
	sc->sc_data = NULL;
	return err;
}

static void
kbd_detach(struct kbd_softc *sc)
{
	if (sc->sc_timer > 0)
		ddm_timer_cancel(sc->sc_dev, sc->sc_timer);
	sc->sc_timer = 0;
	io_region_release(sc->sc_cmd);
	io_region_release(sc->sc_data);
	sc->sc_cmd = sc->sc_data = NULL;
}

static int
kbd_init(struct ddm_dev *dev, void *arg)
{
	struct kbd_softc *sc = arg;
	int err;

	err = kbd_attach(sc, dev, ddm_io(dev));
	if (err < 0) {
		ddm_log(dev, "cannot set up the i8042: %s", strerror(-err));
		return err;
	}
	kbd_arm(sc);
	return 0;
}

static void
kbd_fini(struct ddm_dev *dev, void *arg)
{
	kbd_detach(arg);
}

static int
kbd_open(struct ddm_handle *h)
{
	struct kbd_softc *sc = h->sc;
	struct kbd_open *ko;

	ko = calloc(1, sizeof(*ko));
	if (ko == NULL)
		return -ENOMEM;
	if (sc->sc_opens == NULL) {
		/* The first reader: what was typed while nothing was open
		 * (polled slowly then) is dropped, and polling speeds up. */
		kbd_poll_once(sc);
		if (sc->sc_timer > 0)
			ddm_timer_cancel(sc->sc_dev, sc->sc_timer);
		sc->sc_delay_us = KBD_POLL_ACTIVE_US;
		kbd_arm(sc);
	}
	ko->ko_h = h;
	ko->ko_next = sc->sc_opens;
	sc->sc_opens = ko;
	h->priv = ko;
	return 0;
}

static void
kbd_release(struct ddm_handle *h)
{
	struct kbd_softc *sc = h->sc;
	struct kbd_open *ko = h->priv, **pp;
	struct kbd_wait *kw;

	if (ko == NULL)
		return;
	for (pp = &sc->sc_opens; *pp != NULL; pp = &(*pp)->ko_next) {
		if (*pp == ko) {
			*pp = ko->ko_next;
			break;
		}
	}
	while ((kw = ko->ko_waits) != NULL) {
		ko->ko_waits = kw->kw_next;
		free(kw);
	}
	free(ko);
	h->priv = NULL;
}

/* Gives what is queued, or suspends until keys come (-EAGAIN if O_NONBLOCK). */
static ssize_t
kbd_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
         off_t off)
{
	struct kbd_open *ko = h->priv;
	struct kbd_wait *kw, **tail;

	if (size == 0)
		return 0;
	if (ko->ko_len > 0 && ko->ko_waits == NULL)
		return (ssize_t)q_pop(ko, buf, size);
	if (h->flags & O_NONBLOCK)
		return -EAGAIN;
	kw = calloc(1, sizeof(*kw));
	if (kw == NULL)
		return -ENOMEM;
	kw->kw_req = r;
	for (tail = &ko->ko_waits; *tail != NULL; tail = &(*tail)->kw_next)
		;
	*tail = kw;
	return DDM_SUSPEND;
}

static ssize_t
kbd_write(struct ddm_handle *h, struct ddm_req *r, const void *buf, size_t size,
          off_t off)
{
	return -EINVAL;
}

/* Forgets suspended read r; libdriver answers it -EINTR. */
static void
kbd_cancel(struct ddm_handle *h, struct ddm_req *r)
{
	struct kbd_open *ko = h->priv;
	struct kbd_wait **pp, *kw;

	for (pp = &ko->ko_waits; *pp != NULL; pp = &(*pp)->kw_next) {
		if ((*pp)->kw_req == r) {
			kw = *pp;
			*pp = kw->kw_next;
			free(kw);
			return;
		}
	}
}

static unsigned int
kbd_poll(struct ddm_handle *h)
{
	struct kbd_open *ko = h->priv;

	return ko->ko_len > 0 ? POLLIN | POLLRDNORM : 0;
}

static int
kbd_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	struct kbd_open *ko = h->priv;
	int v;

	switch (io->cmd) {
	case KDGKBMODE:
		if (io->out == NULL || io->out_len < sizeof(v))
			return -EINVAL;
		v = ko->ko_raw ? K_RAW : K_UNICODE;
		memcpy(io->out, &v, sizeof(v));
		io->out_len = sizeof(v);
		return 0;
	case KDSKBMODE:
		/*
		 * Any handle, read-only too: the mode is this open's own (raw
		 * or text keys for it alone), not the device's, so it needs
		 * no ddm_writable().
		 */
		if (io->arg == K_RAW)
			ko->ko_raw = 1;
		else if (io->arg == K_XLATE || io->arg == K_UNICODE)
			ko->ko_raw = 0;
		else
			return -EINVAL;
		io->out_len = 0;
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct ddm_ioctl_desc kbd_ioctls[] = {
	{ KDGKBMODE, 0, sizeof(int) },
	{ 0, 0, 0 },
};

static const struct ddm_driver_ops kbd_ops = {
	.init = kbd_init,
	.fini = kbd_fini,
	.open = kbd_open,
	.release = kbd_release,
	.read = kbd_read,
	.write = kbd_write,
	.ioctl = kbd_ioctl,
	.poll = kbd_poll,
	.cancel = kbd_cancel,
	.ioctls = kbd_ioctls,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &kbd_ops, sizeof(kbd_ops), &kbd_sc);
}
