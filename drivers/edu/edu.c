/*
 * edu.c: ddm-edu, the driver for QEMU's "edu" PCI device (edureg.h), a PCI
 * instance: ddmfs gives it --io=mmio and the function's VFIO fds.
 *
 * At start it checks the id register and the liveness register (a value
 * written comes back inverted), acknowledges stale interrupts, turns on bus
 * mastering (DMA and MSI need it) and takes a 4 KiB DMA buffer.
 *
 * Factorial.  Writing a decimal N (0..EDU_FACT_MAX, an optional newline)
 * starts N! with the completion interrupt on and answers the write at
 * once; a write while one runs gets EBUSY, a bad N EINVAL.  The result
 * belongs to the device, not to an open: a read gives the last result as
 * a line "N!\n" (120 for 5), then EOF, like a text file; a read while a
 * computation runs waits (suspended, or EAGAIN with O_NONBLOCK) for its
 * interrupt.  Each open remembers which computation it read: after a new
 * one, the same open reads again the new line.  Before any computation a
 * read gives EOF.  No interrupt within EDU_FACT_TIMEOUT_MS: the waiting
 * reads, and the next read of each open, get ETIMEDOUT.  poll: POLLIN and
 * POLLOUT unless a computation runs.
 *
 * DMA.  EDU_IOC_DMA_TO and EDU_IOC_DMA_FROM (edureg.h) move up to 4095
 * bytes (QEMU's edu cannot reach the last byte of its 4 KiB buffer)
 * between the caller and the device's buffer through the DMA buffer, one
 * transfer at a time in arrival order, each answered at its completion
 * interrupt (EDU_DMA_TIMEOUT_MS bound).  A cancelled transfer still runs
 * to its end on the device; only its answer is dropped.
 *
 * The interrupt handler reads the causes (irq_status), acknowledges them
 * (irq_ack) and finishes the factorial or the DMA they name.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "edureg.h"

/* Longest wait for a factorial's interrupt, in milliseconds. */
#define EDU_FACT_TIMEOUT_MS 1000
/* Longest wait for a DMA's interrupt (QEMU takes ~100 ms), in ms. */
#define EDU_DMA_TIMEOUT_MS 2000
/* The longest text a write of N may be: "12\n". */
#define EDU_WRITE_MAX 16

enum edu_fact_state {
	EDU_FACT_NONE,   /* nothing computed yet */
	EDU_FACT_BUSY,   /* running; reads wait */
	EDU_FACT_DONE,   /* sc_fact_val holds the last result */
	EDU_FACT_FAILED, /* the last one timed out */
};

/* A read waiting for the factorial. */
struct edu_reader {
	struct ddm_req *er_req;
	struct ddm_handle *er_h;
	struct edu_reader *er_next;
};

/* One DMA ioctl; the queue's head is on the device. */
struct edu_job {
	struct ddm_req *ej_req; /* NULL: cancelled, the device still runs it */
	unsigned int ej_cmd;    /* EDU_IOC_DMA_TO or _FROM */
	struct edu_dma ej_dma;  /* TO: the bytes; FROM: filled at the end */
	struct edu_job *ej_next;
};

/* Per open: the line of the computation it last read. */
struct edu_open {
	uint64_t eo_gen; /* sc_fact_gen it read; 0: none */
	char eo_text[24];
	size_t eo_len, eo_pos;
	int eo_err; /* that computation failed: its error, once */
};

struct edu_softc {
	struct ddm_dev *sc_dev;
	struct io_region *sc_regs; /* BAR 0 */
	enum edu_fact_state sc_fact;
	unsigned int sc_fact_n;
	uint32_t sc_fact_val;
	uint64_t sc_fact_gen; /* computations started */
	int sc_fact_timer;
	struct edu_reader *sc_readers;
	void *sc_dma_cpu; /* the DMA buffer, EDU_DMA_BUF_LEN bytes */
	uint64_t sc_dma_iova;
	struct edu_job *sc_jobs;
	int sc_dma_timer;
};

static struct edu_softc edu_sc;

static int
edu_read(struct edu_softc *sc, uint64_t reg, uint32_t *ret)
{
	return io_read32(sc->sc_regs, reg, ret);
}

static int
edu_write(struct edu_softc *sc, uint64_t reg, uint32_t v)
{
	return io_write32(sc->sc_regs, reg, v);
}

static int
edu_write64(struct edu_softc *sc, uint64_t reg, uint64_t v)
{
	return io_write64(sc->sc_regs, reg, v);
}

/* Checks the id and liveness registers: 0, -ENODEV or -EIO. */
static int
edu_probe(struct edu_softc *sc)
{
	uint32_t id, probe, v;
	int err;

	err = edu_read(sc, edu_id, &id);
	if (err < 0)
		return err;
	if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		ddm_log(sc->sc_dev, "not an edu device: id 0x%08x", id);
		return -ENODEV;
	}
	probe = 0x5a000000u | (uint32_t)(ddm_now_us() & 0xffffff);
	err = edu_write(sc, edu_live, probe);
	if (err == 0)
		err = edu_read(sc, edu_live, &v);
	if (err < 0)
		return err;
	if (v != ~probe) {
		ddm_log(sc->sc_dev,
		        "liveness check failed: wrote 0x%08x, read 0x%08x "
		        "(want 0x%08x)",
		        probe, v, ~probe);
		return -EIO;
	}
	ddm_log(sc->sc_dev, "edu %u.%u at %s", EDU_ID_MAJOR(id),
	        EDU_ID_MINOR(id),
	        ddm_pci(sc->sc_dev) ? ddm_pci(sc->sc_dev) : "?");
	return 0;
}

static int
edu_init(struct ddm_dev *dev, void *arg)
{
	struct edu_softc *sc = arg;
	struct io *io = ddm_io(dev);
	uint32_t st;
	int err;

	sc->sc_dev = dev;
	err = io_region_request(io, IO_SPACE_MEM, IO_PCI_BAR(EDU_BAR),
	                        EDU_BAR_LEN, &sc->sc_regs);
	if (err < 0) {
		ddm_log(dev,
		        "cannot map BAR %d: %s (a PCI instance: "
		        "--io=mmio --vfio-fd)",
		        EDU_BAR, strerror(-err));
		return err;
	}
	err = edu_probe(sc);
	if (err < 0)
		goto release_regs;
	/* a previous driver may have left interrupts pending */
	err = edu_read(sc, edu_irq_status, &st);
	if (err == 0 && st != 0)
		err = edu_write(sc, edu_irq_ack, st);
	if (err < 0)
		goto release_regs;
	err = io_pci_enable_busmaster(io);
	if (err < 0) {
		ddm_log(dev, "cannot enable bus mastering: %s", strerror(-err));
		goto release_regs;
	}
	err = ddm_dma_alloc(dev, EDU_DMA_BUF_LEN, &sc->sc_dma_cpu,
	                    &sc->sc_dma_iova);
	if (err < 0) {
		ddm_log(dev, "cannot get a DMA buffer: %s", strerror(-err));
		goto release_regs;
	}
	return 0;

release_regs:
	io_region_release(sc->sc_regs);
	sc->sc_regs = NULL;
	return err;
}

static void
edu_fini(struct ddm_dev *dev, void *arg)
{
	struct edu_softc *sc = arg;
	struct edu_reader *er;
	struct edu_job *ej;

	if (sc->sc_fact_timer > 0)
		ddm_timer_cancel(dev, sc->sc_fact_timer);
	if (sc->sc_dma_timer > 0)
		ddm_timer_cancel(dev, sc->sc_dma_timer);
	sc->sc_fact_timer = sc->sc_dma_timer = 0;
	while ((er = sc->sc_readers) != NULL) {
		sc->sc_readers = er->er_next;
		free(er);
	}
	while ((ej = sc->sc_jobs) != NULL) {
		sc->sc_jobs = ej->ej_next;
		free(ej);
	}
	ddm_dma_free(dev, sc->sc_dma_cpu);
	sc->sc_dma_cpu = NULL;
	io_region_release(sc->sc_regs);
	sc->sc_regs = NULL;
}

static int
edu_open(struct ddm_handle *h)
{
	struct edu_open *eo = calloc(1, sizeof(*eo));

	if (eo == NULL)
		return -ENOMEM;
	h->priv = eo;
	return 0;
}

static void
edu_release(struct ddm_handle *h)
{
	free(h->priv);
	h->priv = NULL;
}

/* Takes the device's last result as h's line, if h has not read it. */
static void
edu_snapshot(struct edu_softc *sc, struct ddm_handle *h)
{
	struct edu_open *eo = h->priv;

	if (eo->eo_gen == sc->sc_fact_gen)
		return;
	eo->eo_gen = sc->sc_fact_gen;
	eo->eo_pos = 0;
	eo->eo_err = 0;
	eo->eo_len = 0;
	if (sc->sc_fact == EDU_FACT_FAILED)
		eo->eo_err = -ETIMEDOUT;
	else
		eo->eo_len = (size_t)snprintf(eo->eo_text, sizeof(eo->eo_text),
		                              "%u\n", sc->sc_fact_val);
}

/* The next bytes of h's line into buf: how many (0: EOF), or -errno. */
static ssize_t
edu_take(struct ddm_handle *h, void *buf, size_t size)
{
	struct edu_open *eo = h->priv;
	size_t n = eo->eo_len - eo->eo_pos;
	int err = eo->eo_err;

	if (err < 0) {
		eo->eo_err = 0; /* once, then EOF */
		return err;
	}
	if (n > size)
		n = size;
	memcpy(buf, eo->eo_text + eo->eo_pos, n);
	eo->eo_pos += n;
	return (ssize_t)n;
}

static ssize_t
edu_read_hook(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
              off_t off)
{
	struct edu_softc *sc = h->sc;
	struct edu_reader *er;

	switch (sc->sc_fact) {
	case EDU_FACT_NONE:
		return 0;
	case EDU_FACT_BUSY:
		if (h->flags & O_NONBLOCK)
			return -EAGAIN;
		er = calloc(1, sizeof(*er));
		if (er == NULL)
			return -ENOMEM;
		*er = (struct edu_reader){ .er_req = r,
			                   .er_h = h,
			                   .er_next = sc->sc_readers };
		sc->sc_readers = er;
		return DDM_SUSPEND;
	case EDU_FACT_DONE:
	case EDU_FACT_FAILED:
		break;
	}
	edu_snapshot(sc, h);
	return edu_take(h, buf, size);
}

/* The factorial ended (its interrupt, or the timeout): answers the reads. */
static void
edu_fact_end(struct edu_softc *sc, enum edu_fact_state st)
{
	struct edu_reader *er;
	char buf[sizeof(((struct edu_open *)0)->eo_text)];
	ssize_t n;

	sc->sc_fact = st;
	if (sc->sc_fact_timer > 0)
		ddm_timer_cancel(sc->sc_dev, sc->sc_fact_timer);
	sc->sc_fact_timer = 0;
	while ((er = sc->sc_readers) != NULL) {
		sc->sc_readers = er->er_next;
		edu_snapshot(sc, er->er_h);
		n = edu_take(er->er_h, buf,
		             ddm_req_size(er->er_req) < sizeof(buf)
		                     ? ddm_req_size(er->er_req)
		                     : sizeof(buf));
		if (n < 0)
			ddm_reply_error(er->er_req, (int)n);
		else
			ddm_reply(er->er_req, n, buf, (size_t)n);
		free(er);
	}
	ddm_poll_notify_node(ddm_node_at(sc->sc_dev, 0));
}

static void
edu_fact_timeout(struct ddm_dev *dev, void *arg)
{
	struct edu_softc *sc = arg;

	sc->sc_fact_timer = 0;
	ddm_log(dev, "no interrupt for %u! within %d ms", sc->sc_fact_n,
	        EDU_FACT_TIMEOUT_MS);
	edu_fact_end(sc, EDU_FACT_FAILED);
}

/* The factorial interrupt: takes the result. */
static void
edu_fact_done(struct edu_softc *sc)
{
	uint32_t st, v;

	if (sc->sc_fact != EDU_FACT_BUSY)
		return;
	if (edu_read(sc, edu_status, &st) < 0 || (st & EDU_STATUS_COMPUTING) ||
	    edu_read(sc, edu_fact, &v) < 0)
		return; /* not really done: the timeout decides */
	sc->sc_fact_val = v;
	edu_fact_end(sc, EDU_FACT_DONE);
}

/* Parses "N" or "N\n", N at most EDU_FACT_MAX: N, or -EINVAL. */
static int
edu_parse_n(const char *buf, size_t size)
{
	unsigned int n = 0;
	size_t i;

	if (size > 0 && buf[size - 1] == '\n')
		size--;
	if (size == 0 || size > 2)
		return -EINVAL;
	for (i = 0; i < size; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		n = n * 10 + (unsigned int)(buf[i] - '0');
	}
	return n <= EDU_FACT_MAX ? (int)n : -EINVAL;
}

static ssize_t
edu_write_hook(struct ddm_handle *h, struct ddm_req *r, const void *buf,
               size_t size, off_t off)
{
	struct edu_softc *sc = h->sc;
	uint32_t st;
	int n, err, id;

	if (size > EDU_WRITE_MAX)
		return -EINVAL;
	n = edu_parse_n(buf, size);
	if (n < 0)
		return n;
	if (sc->sc_fact == EDU_FACT_BUSY)
		return -EBUSY;
	err = edu_read(sc, edu_status, &st);
	if (err < 0)
		return err;
	if (st & EDU_STATUS_COMPUTING)
		return -EBUSY; /* one that timed out still runs */
	id = ddm_timer_add(sc->sc_dev, (uint64_t)EDU_FACT_TIMEOUT_MS * 1000,
	                   edu_fact_timeout, sc);
	if (id < 0)
		return id;
	err = edu_write(sc, edu_status, EDU_STATUS_IRQFACT);
	if (err == 0)
		err = edu_write(sc, edu_fact, (uint32_t)n);
	if (err < 0) {
		ddm_timer_cancel(sc->sc_dev, id);
		return err;
	}
	sc->sc_fact_timer = id;
	sc->sc_fact = EDU_FACT_BUSY;
	sc->sc_fact_n = (unsigned int)n;
	sc->sc_fact_gen++;
	ddm_poll_notify_node(h->node);
	return (ssize_t)size;
}

static unsigned int
edu_poll(struct ddm_handle *h)
{
	struct edu_softc *sc = h->sc;

	return sc->sc_fact == EDU_FACT_BUSY ? 0 : POLLIN | POLLOUT;
}

static void edu_dma_next(struct edu_softc *sc);

/* Answers the DMA at the head of the queue with err and starts the next. */
static void
edu_dma_end(struct edu_softc *sc, int err)
{
	struct edu_job *ej = sc->sc_jobs;

	if (sc->sc_dma_timer > 0)
		ddm_timer_cancel(sc->sc_dev, sc->sc_dma_timer);
	sc->sc_dma_timer = 0;
	sc->sc_jobs = ej->ej_next;
	if (ej->ej_req != NULL && err < 0) {
		ddm_reply_error(ej->ej_req, err);
	} else if (ej->ej_req != NULL && ej->ej_cmd == EDU_IOC_DMA_FROM) {
		memcpy(ej->ej_dma.data, sc->sc_dma_cpu, ej->ej_dma.len);
		ddm_reply(ej->ej_req, 0, &ej->ej_dma, sizeof(ej->ej_dma));
	} else if (ej->ej_req != NULL) {
		ddm_reply(ej->ej_req, 0, NULL, 0);
	}
	free(ej);
	edu_dma_next(sc);
}

static void
edu_dma_timeout(struct ddm_dev *dev, void *arg)
{
	struct edu_softc *sc = arg;

	sc->sc_dma_timer = 0;
	ddm_log(dev, "no DMA interrupt within %d ms", EDU_DMA_TIMEOUT_MS);
	edu_dma_end(sc, -ETIMEDOUT);
}

/* Programs the DMA of the job at the head of the queue: 0 or -errno. */
static int
edu_dma_start(struct edu_softc *sc)
{
	struct edu_job *ej = sc->sc_jobs;
	uint64_t dev_addr = EDU_DMA_BUF + ej->ej_dma.off;
	uint32_t cmd = EDU_DMA_START | EDU_DMA_IRQ;
	uint64_t src = sc->sc_dma_iova, dst = dev_addr;
	uint32_t busy;
	int err, id;

	err = edu_read(sc, edu_dma_cmd, &busy);
	if (err < 0)
		return err;
	if (busy & EDU_DMA_START)
		return -EBUSY; /* one that timed out still runs */
	if (ej->ej_cmd == EDU_IOC_DMA_TO) {
		memcpy(sc->sc_dma_cpu, ej->ej_dma.data, ej->ej_dma.len);
	} else {
		src = dev_addr;
		dst = sc->sc_dma_iova;
		cmd |= EDU_DMA_FROM_DEV;
	}
	id = ddm_timer_add(sc->sc_dev, (uint64_t)EDU_DMA_TIMEOUT_MS * 1000,
	                   edu_dma_timeout, sc);
	if (id < 0)
		return id;
	/* the buffer's bytes are ordered before the start by io's fences */
	err = edu_write64(sc, edu_dma_src, src);
	if (err == 0)
		err = edu_write64(sc, edu_dma_dst, dst);
	if (err == 0)
		err = edu_write64(sc, edu_dma_cnt, ej->ej_dma.len);
	if (err == 0)
		err = edu_write64(sc, edu_dma_cmd, cmd);
	if (err < 0) {
		ddm_timer_cancel(sc->sc_dev, id);
		return err;
	}
	sc->sc_dma_timer = id;
	return 0;
}

/* Starts queued DMAs until one runs (or none is left). */
static void
edu_dma_next(struct edu_softc *sc)
{
	int err;

	while (sc->sc_jobs != NULL && sc->sc_dma_timer == 0) {
		err = edu_dma_start(sc);
		if (err == 0)
			return;
		edu_dma_end(sc, err);
		return; /* edu_dma_end went on with the rest */
	}
}

/* The DMA interrupt. */
static void
edu_dma_done(struct edu_softc *sc)
{
	uint32_t cmd;

	if (sc->sc_jobs == NULL || sc->sc_dma_timer == 0)
		return;
	if (edu_read(sc, edu_dma_cmd, &cmd) < 0 || (cmd & EDU_DMA_START))
		return; /* not done: the timeout decides */
	edu_dma_end(sc, 0);
}

static int
edu_ioctl(struct ddm_handle *h, struct ddm_req *r, struct ddm_ioctl *io)
{
	struct edu_softc *sc = h->sc;
	const size_t hdr = offsetof(struct edu_dma, data);
	struct edu_dma req;
	struct edu_job *ej, **tail;
	int err;

	if (io->cmd != EDU_IOC_DMA_TO && io->cmd != EDU_IOC_DMA_FROM)
		return -ENOTTY;
	if (io->cmd == EDU_IOC_DMA_TO && !ddm_writable(h))
		return -EBADF;
	if (io->in == NULL || io->in_len < hdr)
		return -EINVAL;
	memcpy(&req, io->in, hdr);
	if (req.len == 0 || req.len > EDU_DMA_END_MAX ||
	    req.off > EDU_DMA_END_MAX - req.len)
		return -EINVAL;
	if (io->cmd == EDU_IOC_DMA_TO && io->in_len < hdr + req.len)
		return -EINVAL;
	if (io->cmd == EDU_IOC_DMA_FROM && io->out_len < sizeof(req))
		return -EINVAL;
	ej = calloc(1, sizeof(*ej));
	if (ej == NULL)
		return -ENOMEM;
	ej->ej_req = r;
	ej->ej_cmd = io->cmd;
	ej->ej_dma.len = req.len;
	ej->ej_dma.off = req.off;
	if (io->cmd == EDU_IOC_DMA_TO)
		memcpy(ej->ej_dma.data, (const uint8_t *)io->in + hdr, req.len);
	for (tail = &sc->sc_jobs; *tail != NULL; tail = &(*tail)->ej_next)
		;
	*tail = ej;
	if (sc->sc_jobs == ej) {
		err = edu_dma_start(sc);
		if (err < 0) {
			sc->sc_jobs = NULL;
			free(ej);
			return err;
		}
	}
	return DDM_SUSPEND;
}

/* Forgets suspended request r (a read or a DMA); libdriver answers EINTR. */
static void
edu_cancel(struct ddm_handle *h, struct ddm_req *r)
{
	struct edu_softc *sc = h->sc;
	struct edu_reader **pr, *er;
	struct edu_job **pj, *ej;

	for (pr = &sc->sc_readers; (er = *pr) != NULL; pr = &er->er_next) {
		if (er->er_req == r) {
			*pr = er->er_next;
			free(er);
			return;
		}
	}
	for (pj = &sc->sc_jobs; (ej = *pj) != NULL; pj = &ej->ej_next) {
		if (ej->ej_req != r)
			continue;
		if (ej == sc->sc_jobs && sc->sc_dma_timer != 0) {
			ej->ej_req = NULL; /* on the device: let it finish */
		} else {
			*pj = ej->ej_next;
			free(ej);
		}
		return;
	}
}

/* Reads the interrupt's causes, acknowledges them and acts on them. */
static void
edu_intr(struct ddm_dev *dev, void *arg, unsigned int vector)
{
	struct edu_softc *sc = arg;
	uint32_t st;

	if (sc->sc_regs == NULL || edu_read(sc, edu_irq_status, &st) < 0 ||
	    st == 0)
		return; /* not ours (a shared INTx line) */
	if (edu_write(sc, edu_irq_ack, st) < 0)
		return;
	if (st & EDU_IRQ_FACT)
		edu_fact_done(sc);
	if (st & EDU_IRQ_DMA)
		edu_dma_done(sc);
}

static const struct ddm_driver_ops edu_ops = {
	.init = edu_init,
	.fini = edu_fini,
	.open = edu_open,
	.release = edu_release,
	.read = edu_read_hook,
	.write = edu_write_hook,
	.ioctl = edu_ioctl,
	.poll = edu_poll,
	.cancel = edu_cancel,
	.intr = edu_intr,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &edu_ops, sizeof(edu_ops), &edu_sc);
}
