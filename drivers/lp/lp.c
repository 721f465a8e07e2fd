/*
 * lp.c: ddm-lp, the driver for the PC parallel printer port.
 *
 * Open is exclusive.  An open that finds the port held waits (suspended)
 * up to LP_OPEN_WAIT_MS for the holder's release, then gets -EBUSY: over
 * FUSE the release of a closed file can reach the driver after the next
 * open, and that open must not fail for a port nobody holds.  Waiting opens
 * are served in order.  Read gives one status line
 * "busy=B select=S paperout=P error=E\n" per open, then EOF.  Write sends
 * the bytes one at a time with the strobe handshake.  LPGETSTATUS returns
 * the raw status register as an int (CUSE transport only).
 *
 * Handshake per byte: read the status; paper end gives -ENOSPC, a printer
 * offline (SELECT 0) or reporting an error (nERROR 0) gives -EIO; a busy
 * printer is polled for LP_SPIN_US, then the write is suspended and polled
 * from a timer, 1 ms growing to 10 ms, for up to LP_BUSY_TIMEOUT_MS per
 * byte (-ETIMEDOUT).  A byte the port could not deliver (on sim: the model
 * could not store it) gives the port's error.  Whatever stops a write after
 * some bytes went out, the write returns that short count instead, so no
 * byte is sent twice.  Writes are served one at a time, in the order they
 * arrived.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/lp.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "lpreg.h"

/* Longest wait for a busy printer to take one byte, in milliseconds. */
#define LP_BUSY_TIMEOUT_MS 1000
/* A busy printer is polled in the request loop this long, in us. */
#define LP_SPIN_US 50
/* Minimum strobe pulse width and data setup time, in us. */
#define LP_STROBE_US 1
/* Timer polls of a busy printer start at this delay and double. */
#define LP_POLL_MIN_US 1000
#define LP_POLL_MAX_US 10000
/* Longest wait of an open for the port holder's release, in milliseconds. */
#define LP_OPEN_WAIT_MS 1000

/* One suspended write: the bytes not sent yet, copied from the caller. */
struct lp_job {
	struct ddm_req *lj_req;
	uint8_t *lj_buf;
	size_t lj_len;
	size_t lj_off;     /* bytes of lj_buf sent */
	size_t lj_before;  /* bytes sent before the write was suspended */
	uint64_t lj_dead;  /* give up on the current byte then, mono us */
	uint64_t lj_delay; /* next poll delay, us */
	struct lp_job *lj_next;
};

/* One suspended open, waiting for the port. */
struct lp_waiter {
	struct ddm_req *lw_req;
	struct ddm_handle *lw_h;
	int lw_timer; /* its LP_OPEN_WAIT_MS bound */
	struct lp_waiter *lw_next;
};

struct lp_softc {
	struct ddm_dev *sc_dev;
	struct io_region *sc_ior; /* ports 0x378-0x37a */
	unsigned int sc_timeout_ms;
	int sc_open;                  /* a handle holds the port */
	struct ddm_handle *sc_holder; /* which */
	struct lp_job *sc_jobs;       /* queued writes, the first one active */
	int sc_timer;                 /* pending poll timer id, or 0 */
	struct lp_waiter *sc_waiters; /* opens waiting for the port, in order */
};

/* Per-open state: the status line handed out by read. */
static struct lp_softc lp_sc;

/* Busy-waits us microseconds: the short holds the handshake needs. */
static void
spin_us(uint64_t us)
{
	uint64_t end = ddm_now_us() + us;

	while (ddm_now_us() < end)
		;
}

static int
lpt_read_status(struct lp_softc *sc, uint8_t *ret)
{
	return io_read8(sc->sc_ior, lpt_status, ret);
}

static int
lpt_write_data(struct lp_softc *sc, uint8_t v)
{
	return io_write8(sc->sc_ior, lpt_data, v);
}

static int
lpt_write_control(struct lp_softc *sc, uint8_t v)
{
	return io_write8(sc->sc_ior, lpt_control, v);
}

/*
 * Waits up to LP_SPIN_US for the printer to be ready: 0, -EAGAIN if it
 * stays busy, -ENOSPC for paper end, -EIO if offline or in error.
 */
static int
lp_wait_ready(struct lp_softc *sc)
{
	uint64_t start = ddm_now_us();
	uint8_t st;
	int err;

	for (;;) {
		err = lpt_read_status(sc, &st);
		if (err < 0)
			return err;
		if (st & LPS_NOPAPER)
			return -ENOSPC;
		if (!(st & LPS_SELECT) || !(st & LPS_NERR))
			return -EIO;
		if (st & LPS_NBUSY)
			return 0;
		if (ddm_now_us() - start >= LP_SPIN_US)
			return -EAGAIN;
	}
}

/* Latches b and pulses STROBE; the printer takes it at the falling edge. */
static int
lp_put(struct lp_softc *sc, uint8_t b)
{
	const uint8_t ctl = LPC_NINIT | LPC_SELECTIN;
	int err;

	err = lpt_write_data(sc, b);
	if (err < 0)
		return err;
	spin_us(LP_STROBE_US);
	err = lpt_write_control(sc, ctl | LPC_STROBE);
	if (err < 0)
		return err;
	spin_us(LP_STROBE_US);
	return lpt_write_control(sc, ctl);
}

/*
 * Sends buf[*off..len) while the printer takes bytes; advances *off past
 * each byte strobed.  Returns 0 when all went out, -EAGAIN when the
 * printer stays busy, or another -errno.
 */
static int
lp_push(struct lp_softc *sc, const uint8_t *buf, size_t len, size_t *off)
{
	int err;

	while (*off < len) {
		err = lp_wait_ready(sc);
		if (err < 0)
			return err;
		err = lp_put(sc, buf[*off]);
		if (err < 0)
			return err;
		(*off)++;
	}
	return 0;
}

/* A write's result: the bytes sent if any, else err (0 when all went). */
static long
lp_result(size_t sent, int err)
{
	return sent > 0 || err == 0 ? (long)sent : err;
}

static void
lp_job_free(struct lp_job *lj)
{
	if (lj == NULL)
		return;
	free(lj->lj_buf);
	free(lj);
}

static void lp_tick(struct ddm_dev *dev, void *arg);

/* Polls again after the job's current delay; -errno if no timer. */
static int
lp_arm(struct lp_softc *sc, struct lp_job *lj)
{
	int id;

	id = ddm_timer_add(sc->sc_dev, lj->lj_delay, lp_tick, sc);
	if (id < 0)
		return id;
	sc->sc_timer = id;
	return 0;
}

/* Answers the active job with err (or its count) and drops it. */
static void
lp_job_done(struct lp_softc *sc, int err)
{
	struct lp_job *lj = sc->sc_jobs;

	sc->sc_jobs = lj->lj_next;
	ddm_reply(lj->lj_req, lp_result(lj->lj_before + lj->lj_off, err), NULL,
	          0);
	lp_job_free(lj);
}

/* Starts the poll clock of the job now at the head of the queue. */
static void
lp_job_start(struct lp_softc *sc)
{
	struct lp_job *lj = sc->sc_jobs;

	lj->lj_dead = ddm_now_us() + (uint64_t)sc->sc_timeout_ms * 1000;
	lj->lj_delay = LP_POLL_MIN_US;
}

/* The poll timer: moves the active job on, answers it when it ends. */
static void
lp_tick(struct ddm_dev *dev, void *arg)
{
	struct lp_softc *sc = arg;
	struct lp_job *lj;
	size_t off;
	int err;

	sc->sc_timer = 0;
	while ((lj = sc->sc_jobs) != NULL) {
		off = lj->lj_off;
		err = lp_push(sc, lj->lj_buf, lj->lj_len, &lj->lj_off);
		if (err == -EAGAIN) {
			if (lj->lj_off != off) {
				lp_job_start(sc); /* a byte went: new bound */
			} else if (ddm_now_us() >= lj->lj_dead) {
				lp_job_done(sc, -ETIMEDOUT);
				goto next;
			} else {
				lj->lj_delay *= 2;
				if (lj->lj_delay > LP_POLL_MAX_US)
					lj->lj_delay = LP_POLL_MAX_US;
			}
			err = lp_arm(sc, lj);
			if (err == 0)
				return;
		}
		lp_job_done(sc, err);
next:
		if (sc->sc_jobs != NULL)
			lp_job_start(sc);
	}
}

/* Takes the ports at base and sets the printer running and selected. */
static int
lp_attach(struct lp_softc *sc, struct ddm_dev *dev, struct io *io,
          uint16_t base)
{
	int err;

	sc->sc_dev = dev;
	sc->sc_timeout_ms = LP_BUSY_TIMEOUT_MS;
	err = io_region_request(io, IO_SPACE_PORT, base, LPT_IO_LEN,
	                        &sc->sc_ior);
	if (err < 0)
		return err;
	err = lpt_write_control(sc, LPC_NINIT | LPC_SELECTIN);
	if (err < 0)
		goto release_region;
	return 0;

release_region:
	io_region_release(sc->sc_ior);
	sc->sc_ior = NULL;
	return err;
}

static void
lp_detach(struct lp_softc *sc)
{
	struct lp_waiter *lw;
	struct lp_job *lj;

	if (sc->sc_timer > 0)
		ddm_timer_cancel(sc->sc_dev, sc->sc_timer);
	sc->sc_timer = 0;
	while ((lj = sc->sc_jobs) != NULL) {
		sc->sc_jobs = lj->lj_next;
		lp_job_free(lj);
	}
	while ((lw = sc->sc_waiters) != NULL) {
		sc->sc_waiters = lw->lw_next;
		ddm_timer_cancel(sc->sc_dev, lw->lw_timer);
		free(lw);
	}
	io_region_release(sc->sc_ior);
	sc->sc_ior = NULL;
}

static int
lp_init(struct ddm_dev *dev, void *arg)
{
	uint16_t base, len;
	int err;

	/* the first port range granted is the port's: 0x378, 0x278, ... */
	if (ddm_ports(dev, 0, &base, &len) < 0 || len < LPT_IO_LEN) {
		ddm_log(dev, "no port range of %d ports granted (conf: ports)",
		        LPT_IO_LEN);
		return -EINVAL;
	}
	err = lp_attach(arg, dev, ddm_io(dev), base);
	if (err < 0)
		ddm_log(dev, "cannot take ports 0x%x-0x%x: %s", base,
		        base + LPT_IO_LEN - 1, strerror(-err));
	return err;
}

static void
lp_fini(struct ddm_dev *dev, void *arg)
{
	lp_detach(arg);
}

/* Gives the port to h. */
static int
lp_take(struct lp_softc *sc, struct ddm_handle *h)
{
	sc->sc_open = 1;
	sc->sc_holder = h;
	return 0;
}

/* Takes waiter lw off the queue. */
static void
lp_unwait(struct lp_softc *sc, struct lp_waiter *lw)
{
	struct lp_waiter **pp;

	for (pp = &sc->sc_waiters; *pp != NULL; pp = &(*pp)->lw_next) {
		if (*pp == lw) {
			*pp = lw->lw_next;
			return;
		}
	}
}

/* A waiting open's bound expired: the port is really in use. */
static void
lp_wait_expired(struct ddm_dev *dev, void *arg)
{
	struct lp_waiter *lw = arg;

	lp_unwait(lw->lw_h->sc, lw);
	ddm_reply(lw->lw_req, -EBUSY, NULL, 0);
	free(lw);
}

/* Suspends open r of h until the port is released or LP_OPEN_WAIT_MS. */
static int
lp_wait_port(struct lp_softc *sc, struct ddm_handle *h, struct ddm_req *r)
{
	struct lp_waiter *lw, **tail;
	int id;

	lw = calloc(1, sizeof(*lw));
	if (lw == NULL)
		return -ENOMEM;
	id = ddm_timer_add(sc->sc_dev, (uint64_t)LP_OPEN_WAIT_MS * 1000,
	                   lp_wait_expired, lw);
	if (id < 0) {
		free(lw);
		return -EBUSY;
	}
	*lw = (struct lp_waiter){ .lw_req = r, .lw_h = h, .lw_timer = id };
	for (tail = &sc->sc_waiters; *tail != NULL; tail = &(*tail)->lw_next)
		;
	*tail = lw;
	return DDM_SUSPEND;
}

/* The port is free: the first waiting open that can take it gets it. */
static void
lp_handoff(struct lp_softc *sc)
{
	struct lp_waiter *lw;
	int err;

	while (!sc->sc_open && (lw = sc->sc_waiters) != NULL) {
		sc->sc_waiters = lw->lw_next;
		ddm_timer_cancel(sc->sc_dev, lw->lw_timer);
		err = lp_take(sc, lw->lw_h);
		ddm_reply(lw->lw_req, err, NULL, 0);
		free(lw);
	}
}

/*
 * Takes the port, or waits for its holder's release; without a request to
 * suspend (ddm_open_req() gives NULL) a held port is -EBUSY at once.
 */
static int
lp_open(struct ddm_handle *h)
{
	struct lp_softc *sc = h->sc;
	struct ddm_req *r;

	if (!sc->sc_open)
		return lp_take(sc, h);
	r = ddm_open_req(h);
	if (r == NULL)
		return -EBUSY;
	return lp_wait_port(sc, h, r);
}

static void
lp_release(struct ddm_handle *h)
{
	struct lp_softc *sc = h->sc;

	sc->sc_open = 0;
	sc->sc_holder = NULL;
	lp_handoff(sc);
}

/* Formats the status register as the node's status line. */
static void
lp_format(uint8_t st, char *buf, size_t size)
{
	snprintf(buf, size, "busy=%d select=%d paperout=%d error=%d\n",
	         !(st & LPS_NBUSY), !!(st & LPS_SELECT), !!(st & LPS_NOPAPER),
	         !(st & LPS_NERR));
}

/* The status line of h's snapshot read (ddm_read_text()). */
static ssize_t
lp_status_line(struct ddm_handle *h, char *text, size_t cap)
{
	uint8_t st;
	int err;

	err = lpt_read_status(h->sc, &st);
	if (err < 0)
		return err;
	lp_format(st, text, cap);
	return (ssize_t)strlen(text);
}

static ssize_t
lp_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
        off_t off)
{
	return ddm_read_text(h, buf, size, lp_status_line);
}

/*
 * Sends what it can at once; if the printer stays busy (or another write
 * is waiting), keeps a copy of the rest and suspends.
 */
static ssize_t
lp_write(struct ddm_handle *h, struct ddm_req *r, const void *buf, size_t size,
         off_t fpos)
{
	struct lp_softc *sc = h->sc;
	struct lp_job *lj, **tail;
	size_t off = 0;
	int err;

	if (size == 0)
		return 0;
	if (sc->sc_jobs == NULL) {
		err = lp_push(sc, buf, size, &off);
		if (err != -EAGAIN)
			return lp_result(off, err);
	}
	lj = calloc(1, sizeof(*lj));
	if (lj == NULL)
		return lp_result(off, -ENOMEM);
	lj->lj_buf = malloc(size - off);
	if (lj->lj_buf == NULL)
		goto free_job;
	memcpy(lj->lj_buf, (const uint8_t *)buf + off, size - off);
	lj->lj_len = size - off;
	lj->lj_before = off;
	lj->lj_req = r;
	for (tail = &sc->sc_jobs; *tail != NULL; tail = &(*tail)->lj_next)
		;
	*tail = lj;
	if (sc->sc_jobs != lj)
		return DDM_SUSPEND; /* lp_tick starts it after the others */
	lp_job_start(sc);
	err = lp_arm(sc, lj);
	if (err < 0) {
		sc->sc_jobs = NULL;
		lp_job_free(lj);
		return lp_result(off, err);
	}
	return DDM_SUSPEND;

free_job:
	free(lj);
	return lp_result(off, -ENOMEM);
}

/* Forgets suspended open or write r; libdriver answers it -EINTR. */
static void
lp_cancel(struct ddm_handle *h, struct ddm_req *r)
{
	struct lp_softc *sc = h->sc;
	struct lp_job **pp, *lj;
	struct lp_waiter *lw;

	for (lw = sc->sc_waiters; lw != NULL; lw = lw->lw_next) {
		if (lw->lw_req == r) {
			lp_unwait(sc, lw);
			ddm_timer_cancel(sc->sc_dev, lw->lw_timer);
			free(lw);
			return;
		}
	}

	for (pp = &sc->sc_jobs; *pp != NULL; pp = &(*pp)->lj_next) {
		if ((*pp)->lj_req != r)
			continue;
		lj = *pp;
		*pp = lj->lj_next;
		if (pp == &sc->sc_jobs) {
			if (sc->sc_timer > 0)
				ddm_timer_cancel(sc->sc_dev, sc->sc_timer);
			sc->sc_timer = 0;
			if (sc->sc_jobs != NULL) {
				lp_job_start(sc);
				if (lp_arm(sc, sc->sc_jobs) < 0)
					lp_tick(sc->sc_dev, sc);
			}
		}
		lp_job_free(lj);
		return;
	}
}

/* LPGETSTATUS only reads: no ioctl here changes the device (ddm_writable). */
static int
lp_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	uint8_t st;
	int v, err;

	switch (io->cmd) {
	case LPGETSTATUS:
		if (io->out == NULL || io->out_len < sizeof(v))
			return -EINVAL;
		err = lpt_read_status(h->sc, &st);
		if (err < 0)
			return err;
		v = st;
		memcpy(io->out, &v, sizeof(v));
		io->out_len = sizeof(v);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct ddm_ioctl_desc lp_ioctls[] = {
	{ LPGETSTATUS, 0, sizeof(int) },
	{ 0, 0, 0 },
};

static const struct ddm_driver_ops lp_ops = {
	.init = lp_init,
	.fini = lp_fini,
	.open = lp_open,
	.release = lp_release,
	.read = lp_read,
	.write = lp_write,
	.ioctl = lp_ioctl,
	.cancel = lp_cancel,
	.ioctls = lp_ioctls,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &lp_ops, sizeof(lp_ops), &lp_sc);
}
