/*
 * kbd.c: ddm-kbd, the driver for the PC keyboard and PS/2 mouse behind an
 * i8042.  It serves two kinds of node: "kbd" (keys) and "aux" (the mouse on
 * the controller's aux port); the mouse is set up only when the instance
 * has an aux node, so a keyboard-only instance never touches it.  The two
 * ports come from the conf's grants.
 *
 * ISA interrupts do not reach user space, so the controller is polled from
 * a timer: every KBD_POLL_ACTIVE_US while bytes arrive, backing off by
 * doubling to KBD_POLL_IDLE_US when idle, or to KBD_POLL_CLOSED_US while
 * nothing is open (nobody waits for keys then, so idle costs almost
 * nothing).  Every open handle sees every key; keys that arrive while
 * nothing is open are dropped.  A handle reads text (kbdmap.c) unless
 * KDSKBMODE K_RAW switched it to raw set-1 scancodes.  Each handle queues
 * up to KBD_QUEUE_MAX bytes and drops the oldest when it overflows.  Read
 * blocks (suspends) until data arrives; poll reports POLLIN.
 *
 * The aux node gives the mouse's 3-byte PS/2 packets, whole ones only, to
 * every open handle, as Linux psmouse gathers them: a packet starts only
 * with a byte that has PSM0_SYNC set (others are dropped until one comes),
 * and a part packet older than KBD_AUX_GAP_US is thrown away.  The status
 * register's KBS_AUXOBF tells mouse bytes from keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
/* Longest wait for the mouse to answer a command at start, in us. */
#define KBD_AUX_ACK_US 200000
/* Times a command the mouse asked to resend (0xfe) is sent at most. */
#define KBD_AUX_TRIES 3
/* A part packet whose last byte is older than this is dropped, in us. */
#define KBD_AUX_GAP_US 500000

/* The kinds of node, indexes into kbd_kinds. */
#define KBD_KIND_KBD 0
#define KBD_KIND_AUX 1
#define KBD_KINDS    2

/* A suspended read. */
struct kbd_wait {
	struct ddm_req *kw_req;
	struct kbd_wait *kw_next;
};

/* Per-open state. */
struct kbd_open {
	int ko_raw;     /* 1 = raw set-1 bytes, 0 = text */
	size_t ko_unit; /* bytes are queued and read in units: 1, or a packet */
	uint8_t ko_q[KBD_QUEUE_MAX];
	size_t ko_head, ko_len;
	uint64_t ko_dropped;
	struct kbd_wait *ko_waits;
};

struct kbd_softc {
	struct ddm_dev *sc_dev;
	struct io_region *sc_data; /* the data port (0x60) */
	struct io_region *sc_cmd;  /* the status/command port (0x64) */
	struct kbd_xlate sc_xl;
	struct ddm_node *sc_kbd;          /* the kbd node, or NULL */
	struct ddm_node *sc_aux;          /* the aux node, or NULL: no mouse */
	int sc_aux_up;                    /* the mouse reports movement */
	unsigned int sc_nopen[KBD_KINDS]; /* open handles of each kind */
	int sc_new[KBD_KINDS];            /* a kind got bytes in this poll */
	uint8_t sc_pkt[PSM_PACKET];       /* the mouse packet being gathered */
	size_t sc_pkt_len;
	uint64_t sc_pkt_us;      /* when its last byte came */
	uint64_t sc_aux_skipped; /* mouse bytes dropped to resync */
	uint64_t sc_delay_us;    /* next poll delay */
	int sc_timer;            /* pending poll timer id, or 0 */
};

static struct kbd_softc kbd_sc;

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

/* Waits until (status & mask) == want; -ETIMEDOUT after KBD_IO_TIMEOUT_US. */
static int
i8042_wait(struct kbd_softc *sc, uint8_t mask, uint8_t want)
{
	uint64_t start = ddm_now_us();
	uint8_t st;
	int err;

	for (;;) {
		err = i8042_read_status(sc, &st);
		if (err < 0)
			return err;
		if ((st & mask) == want)
			return 0;
		if (ddm_now_us() - start >= KBD_IO_TIMEOUT_US)
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

/*
 * Waits up to timeout_us for a byte from the mouse.  Keys that come
 * meanwhile are dropped: this runs at start and stop, with nothing open.
 */
static int
i8042_read_aux(struct kbd_softc *sc, uint8_t *ret, uint64_t timeout_us)
{
	uint64_t start = ddm_now_us();
	uint8_t st, b;
	int err;

	for (;;) {
		err = i8042_read_status(sc, &st);
		if (err < 0)
			return err;
		if (st & KBS_OBF) {
			err = i8042_read_data(sc, &b);
			if (err < 0)
				return err;
			if (st & KBS_AUXOBF) {
				*ret = b;
				return 0;
			}
		}
		if (ddm_now_us() - start >= timeout_us)
			return -ETIMEDOUT;
	}
}

/*
 * Sends one command byte to the mouse (KBC_AUXWRITE, then the byte) and
 * waits for its ACK, skipping movement bytes sent before it; sends it again
 * when the mouse asks (PSM_RESEND), up to KBD_AUX_TRIES times.
 */
static int
aux_command(struct kbd_softc *sc, uint8_t cmd)
{
	uint8_t b;
	int err, tries, i;

	for (tries = 0; tries < KBD_AUX_TRIES; tries++) {
		err = i8042_command(sc, KBC_AUXWRITE);
		if (err < 0)
			return err;
		err = i8042_write_data(sc, cmd);
		if (err < 0)
			return err;
		for (i = 0; i < KBD_DRAIN_MAX; i++) {
			err = i8042_read_aux(sc, &b, KBD_AUX_ACK_US);
			if (err < 0)
				return err;
			if (b == PSM_ACK)
				return 0;
			if (b == PSM_ERROR)
				return -EIO;
			if (b == PSM_RESEND)
				break;
		}
		if (i == KBD_DRAIN_MAX)
			return -EIO; /* a stream of bytes, never the ACK */
	}
	return -EIO;
}

/*
 * Turns the mouse on, as Linux does: the aux interface enabled, the mouse's
 * defaults, then data reporting.
 */
static int
aux_setup(struct kbd_softc *sc)
{
	int err;

	err = i8042_command(sc, KBC_AUXEN);
	if (err < 0)
		return err;
	err = aux_command(sc, PSMC_DEFAULTS);
	if (err < 0)
		return err;
	err = aux_command(sc, PSMC_ENABLE);
	if (err < 0)
		return err;
	sc->sc_pkt_len = 0;
	sc->sc_aux_up = 1;
	return 0;
}

/*
 * Sets up the controller: drain, command byte, keyboard enabled.  With an
 * aux node the command byte enables the aux interface too (its clock on,
 * its interrupt off: nothing takes IRQ 12); else its bits stay as they are.
 */
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
	if (sc->sc_aux != NULL)
		cb &= ~(KBCB_AUXINT | KBCB_AUXDIS);
	err = i8042_command(sc, KBC_WCB);
	if (err < 0)
		return err;
	err = i8042_write_data(sc, cb);
	if (err < 0)
		return err;
	return i8042_command(sc, KBC_KBDEN);
}

/*
 * Queues n bytes (whole units); when full, drops the oldest units to make
 * room, so a mouse handle never holds part of a packet.
 */
static void
q_push(struct kbd_open *ko, const uint8_t *p, size_t n)
{
	size_t cap = KBD_QUEUE_MAX - KBD_QUEUE_MAX % ko->ko_unit;

	while (n-- > 0) {
		if (ko->ko_len == cap) {
			ko->ko_head =
			        (ko->ko_head + ko->ko_unit) % KBD_QUEUE_MAX;
			ko->ko_len -= ko->ko_unit;
			ko->ko_dropped += ko->ko_unit;
		}
		ko->ko_q[(ko->ko_head + ko->ko_len++) % KBD_QUEUE_MAX] = *p++;
	}
}

/* Moves up to n queued bytes, whole units only, to buf; returns how many. */
static size_t
q_pop(struct kbd_open *ko, uint8_t *buf, size_t n)
{
	size_t i;

	if (n > ko->ko_len)
		n = ko->ko_len;
	n -= n % ko->ko_unit;
	for (i = 0; i < n; i++) {
		buf[i] = ko->ko_q[ko->ko_head];
		ko->ko_head = (ko->ko_head + 1) % KBD_QUEUE_MAX;
	}
	ko->ko_len -= n;
	return n;
}

/* One key byte, and the text it gave, for key_to(). */
struct kbd_key {
	uint8_t kk_b;
	const char *kk_text;
	size_t kk_len;
};

/* Queues a key on one kbd handle: raw or as text, as the handle reads. */
static void
key_to(struct ddm_handle *h, void *arg)
{
	const struct kbd_key *kk = arg;
	struct kbd_open *ko = h->priv;

	if (ko->ko_raw)
		q_push(ko, &kk->kk_b, 1);
	else if (kk->kk_len > 0)
		q_push(ko, (const uint8_t *)kk->kk_text, kk->kk_len);
}

/* One byte from the keyboard: raw to raw handles, text to the others. */
static void
kbd_input(struct kbd_softc *sc, uint8_t b)
{
	char text[KBD_XLATE_MAX];
	struct kbd_key kk = { .kk_b = b, .kk_text = text };

	kk.kk_len = kbd_xlate(&sc->sc_xl, b, text);
	if (sc->sc_kbd == NULL || sc->sc_nopen[KBD_KIND_KBD] == 0)
		return;
	ddm_each_handle(sc->sc_dev, sc->sc_kbd, key_to, &kk);
	sc->sc_new[KBD_KIND_KBD] = 1;
}

static void
packet_to(struct ddm_handle *h, void *arg)
{
	q_push(h->priv, arg, PSM_PACKET);
}

/*
 * One byte from the mouse: gathered into a packet, which goes to every aux
 * handle once whole.  A packet starts only with PSM0_SYNC set.
 */
static void
aux_input(struct kbd_softc *sc, uint8_t b)
{
	uint64_t now = ddm_now_us();

	if (sc->sc_pkt_len > 0 && now - sc->sc_pkt_us > KBD_AUX_GAP_US) {
		sc->sc_aux_skipped += sc->sc_pkt_len; /* the rest never came */
		sc->sc_pkt_len = 0;
	}
	sc->sc_pkt_us = now;
	if (sc->sc_pkt_len == 0 && !(b & PSM0_SYNC)) {
		sc->sc_aux_skipped++;
		return;
	}
	sc->sc_pkt[sc->sc_pkt_len++] = b;
	if (sc->sc_pkt_len < PSM_PACKET)
		return;
	sc->sc_pkt_len = 0;
	if (sc->sc_nopen[KBD_KIND_AUX] == 0)
		return;
	ddm_each_handle(sc->sc_dev, sc->sc_aux, packet_to, sc->sc_pkt);
	sc->sc_new[KBD_KIND_AUX] = 1;
}

/* Answers h's waiting reads while it has bytes queued. */
static void
answer_waits(struct ddm_handle *h, void *arg)
{
	uint8_t buf[KBD_QUEUE_MAX];
	struct kbd_open *ko = h->priv;
	struct kbd_wait *kw;
	size_t n;

	while (ko->ko_len > 0 && (kw = ko->ko_waits) != NULL) {
		ko->ko_waits = kw->kw_next;
		n = q_pop(ko, buf, ddm_req_size(kw->kw_req));
		ddm_reply(kw->kw_req, (long)n, buf, n);
		free(kw);
	}
}

/* Answers waiting reads on the nodes that got bytes; tells pollers. */
static void
kbd_wake(struct kbd_softc *sc)
{
	struct ddm_node *nodes[KBD_KINDS] = { sc->sc_kbd, sc->sc_aux };
	int k;

	for (k = 0; k < KBD_KINDS; k++) {
		if (!sc->sc_new[k])
			continue;
		sc->sc_new[k] = 0;
		ddm_each_handle(sc->sc_dev, nodes[k], answer_waits, NULL);
		ddm_poll_notify_node(nodes[k]);
	}
}

/*
 * Takes what the controller holds; returns the bytes read, keys and (with
 * the mouse up) mouse bytes.
 */
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
		if (st & KBS_AUXOBF) {
			if (!sc->sc_aux_up)
				continue; /* a mouse byte: not ours */
			aux_input(sc, b);
		} else {
			kbd_input(sc, b);
		}
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
	        sc->sc_nopen[KBD_KIND_KBD] + sc->sc_nopen[KBD_KIND_AUX] > 0
	                ? KBD_POLL_IDLE_US
	                : KBD_POLL_CLOSED_US;

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

/*
 * The data and status/command ports from the conf's grants: two ranges of
 * which the lower is data (ports = [ "0x60", "0x64" ]), or one range of at
 * least five ports with data first and status/command four above.
 */
static int
kbd_find_ports(struct ddm_dev *dev, uint16_t *ret_data, uint16_t *ret_cmd)
{
	uint16_t b0, l0, b1, l1;

	if (ddm_ports(dev, 0, &b0, &l0) == 0) {
		if (ddm_ports(dev, 1, &b1, &l1) == 0 && b0 != b1) {
			*ret_data = b0 < b1 ? b0 : b1;
			*ret_cmd = b0 < b1 ? b1 : b0;
			return 0;
		}
		if (l0 >= 5) {
			*ret_data = b0;
			*ret_cmd = b0 + 4;
			return 0;
		}
	}
	ddm_log(dev, "no i8042 ports granted: the conf must grant the data and "
	             "status/command ports (ports = [ \"0x60\", \"0x64\" ])");
	return -EINVAL;
}

/* Finds the instance's kbd and aux nodes; at most one of each. */
static int
kbd_find_nodes(struct kbd_softc *sc, struct ddm_dev *dev)
{
	struct ddm_node *n, **slot;
	unsigned int i;

	sc->sc_kbd = sc->sc_aux = NULL;
	for (i = 0; i < ddm_node_count(dev); i++) {
		n = ddm_node_at(dev, i);
		slot = n->kind == KBD_KIND_AUX ? &sc->sc_aux : &sc->sc_kbd;
		if (*slot != NULL) {
			ddm_log(dev, "nodes %s and %s: one i8042 has one %s",
			        (*slot)->name, n->name,
			        n->kind == KBD_KIND_AUX ? "aux port"
			                                : "keyboard");
			return -EINVAL;
		}
		*slot = n;
	}
	return 0;
}

/*
 * Takes the data and command ports and sets the controller up, and the
 * mouse if the instance has an aux node (sc_aux).  A mouse that does not
 * answer is logged and left off: the keyboard works without it, and
 * opens of the aux node give ENODEV.
 */
static int
kbd_attach(struct kbd_softc *sc, struct ddm_dev *dev, struct io *io,
           uint16_t data, uint16_t cmd)
{
	int err;

	sc->sc_dev = dev;
	sc->sc_delay_us = KBD_POLL_ACTIVE_US;
	err = io_region_request(io, IO_SPACE_PORT, data, 1, &sc->sc_data);
	if (err < 0)
		return err;
	err = io_region_request(io, IO_SPACE_PORT, cmd, 1, &sc->sc_cmd);
	if (err < 0)
		goto release_data;
	err = i8042_setup(sc);
	if (err < 0)
		goto release_cmd;
	if (sc->sc_aux != NULL) {
		err = aux_setup(sc);
		if (err < 0)
			ddm_log(dev,
			        "%s: no mouse answered on the aux port: %s",
			        sc->sc_aux->name, strerror(-err));
	}
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
	if (sc->sc_aux_up)
		aux_command(sc, PSMC_DISABLE); /* stop streaming into nobody */
	sc->sc_aux_up = 0;
	io_region_release(sc->sc_cmd);
	io_region_release(sc->sc_data);
	sc->sc_cmd = sc->sc_data = NULL;
}

static int
kbd_init(struct ddm_dev *dev, void *arg)
{
	struct kbd_softc *sc = arg;
	uint16_t data, cmd;
	int err;

	err = kbd_find_nodes(sc, dev);
	if (err < 0)
		return err;
	err = kbd_find_ports(dev, &data, &cmd);
	if (err < 0)
		return err;
	err = kbd_attach(sc, dev, ddm_io(dev), data, cmd);
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
	unsigned int kind = h->node->kind;
	struct kbd_open *ko;

	if (kind == KBD_KIND_AUX && !sc->sc_aux_up)
		return -ENODEV;
	ko = calloc(1, sizeof(*ko));
	if (ko == NULL)
		return -ENOMEM;
	ko->ko_unit = kind == KBD_KIND_AUX ? PSM_PACKET : 1;
	if (sc->sc_nopen[kind] == 0) {
		/* The node's first reader: what came while nothing was open
		 * (polled slowly then) is dropped, and polling speeds up. */
		kbd_poll_once(sc);
		if (sc->sc_timer > 0)
			ddm_timer_cancel(sc->sc_dev, sc->sc_timer);
		sc->sc_delay_us = KBD_POLL_ACTIVE_US;
		kbd_arm(sc);
	}
	sc->sc_nopen[kind]++;
	h->priv = ko;
	return 0;
}

static void
kbd_release(struct ddm_handle *h)
{
	struct kbd_softc *sc = h->sc;
	struct kbd_open *ko = h->priv;
	struct kbd_wait *kw;

	if (ko == NULL)
		return;
	sc->sc_nopen[h->node->kind]--;
	while ((kw = ko->ko_waits) != NULL) {
		ko->ko_waits = kw->kw_next;
		free(kw);
	}
	free(ko);
	h->priv = NULL;
}

/*
 * Gives what is queued (whole packets on aux, -EINVAL if size holds none),
 * or suspends until bytes come (-EAGAIN if O_NONBLOCK).
 */
static ssize_t
kbd_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
         off_t off)
{
	struct kbd_open *ko = h->priv;
	struct kbd_wait *kw, **tail;

	if (size == 0)
		return 0;
	if (size < ko->ko_unit)
		return -EINVAL;
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

	if (h->node->kind != KBD_KIND_KBD)
		return -ENOTTY; /* the keyboard modes mean nothing to a mouse */
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

static const struct ddm_kind kbd_kinds[] = {
	[KBD_KIND_KBD] = { .name = "kbd" },
	[KBD_KIND_AUX] = { .name = "aux" },
	{ .name = NULL },
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
	.kinds = kbd_kinds,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &kbd_ops, sizeof(kbd_ops), &kbd_sc);
}
