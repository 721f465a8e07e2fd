/*
 * edu-rogue.c: a hostile driver for QEMU's edu device, for the guest's
 * IOMMU test only (never installed).  It behaves like a driver that was
 * given the function through VFIO and then programs the device to DMA
 * where it mapped nothing.
 *
 * Writing "ADDR LEN" (hex bus address, decimal length, at most 4095)
 * makes edu copy LEN bytes of its own buffer to bus address ADDR, which
 * this driver never mapped through ddm_dma_alloc().  The write is
 * answered at the DMA's completion interrupt (edu raises it whether or
 * not the IOMMU let the bytes through), or ETIMEDOUT after 2 s.  Without
 * an IOMMU the bytes would land in whatever RAM has that physical
 * address; with it the transfer faults and no memory is touched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "edureg.h"

#define ROGUE_TIMEOUT_MS 2000

struct rogue {
	struct ddm_dev *dev;
	struct io_region *regs;
	struct ddm_req *req; /* the write waiting for the interrupt */
	size_t len;
	int timer;
};

static struct rogue rogue_sc;

static int
rogue_init(struct ddm_dev *dev, void *arg)
{
	struct rogue *sc = arg;
	int err;

	sc->dev = dev;
	err = io_region_request(ddm_io(dev), IO_SPACE_MEM, IO_PCI_BAR(EDU_BAR),
	                        EDU_BAR_LEN, &sc->regs);
	if (err == 0)
		err = io_pci_enable_busmaster(ddm_io(dev));
	return err;
}

static void
rogue_end(struct rogue *sc, int err)
{
	if (sc->req == NULL)
		return;
	ddm_timer_cancel(sc->dev, sc->timer);
	if (err < 0)
		ddm_reply_error(sc->req, err);
	else
		ddm_reply(sc->req, (ssize_t)sc->len, NULL, 0);
	sc->req = NULL;
}

static void
rogue_timeout(struct ddm_dev *dev, void *arg)
{
	struct rogue *sc = arg;

	ddm_log(dev, "no DMA interrupt within %d ms", ROGUE_TIMEOUT_MS);
	sc->timer = -1;
	rogue_end(sc, -ETIMEDOUT);
}

static ssize_t
rogue_write(struct ddm_handle *h, struct ddm_req *r, const void *buf,
            size_t size, off_t off)
{
	struct rogue *sc = h->sc;
	char text[64];
	uint64_t addr;
	unsigned int len;
	int err;

	(void)off;
	if (size >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, size);
	text[size] = '\0';
	if (sscanf(text, "%" SCNx64 " %u", &addr, &len) != 2 || len == 0 ||
	    len > EDU_DMA_END_MAX)
		return -EINVAL;
	if (sc->req != NULL)
		return -EBUSY;
	sc->timer = ddm_timer_add(sc->dev, (uint64_t)ROGUE_TIMEOUT_MS * 1000,
	                          rogue_timeout, sc);
	if (sc->timer < 0)
		return sc->timer;
	ddm_log(sc->dev, "DMA of %u bytes to unmapped bus address 0x%" PRIx64,
	        len, addr);
	err = io_write64(sc->regs, edu_dma_src, EDU_DMA_BUF);
	if (err == 0)
		err = io_write64(sc->regs, edu_dma_dst, addr);
	if (err == 0)
		err = io_write64(sc->regs, edu_dma_cnt, len);
	if (err == 0)
		err = io_write64(sc->regs, edu_dma_cmd,
		                 EDU_DMA_START | EDU_DMA_FROM_DEV |
		                         EDU_DMA_IRQ);
	if (err < 0) {
		ddm_timer_cancel(sc->dev, sc->timer);
		return err;
	}
	sc->req = r;
	sc->len = size;
	return DDM_SUSPEND;
}

static void
rogue_cancel(struct ddm_handle *h, struct ddm_req *r)
{
	struct rogue *sc = h->sc;

	if (sc->req == r) {
		ddm_timer_cancel(sc->dev, sc->timer);
		sc->req = NULL;
	}
}

static void
rogue_intr(struct ddm_dev *dev, void *arg, unsigned int vector)
{
	struct rogue *sc = arg;
	uint32_t st;

	(void)dev;
	(void)vector;
	if (io_read32(sc->regs, edu_irq_status, &st) < 0 || st == 0)
		return;
	io_write32(sc->regs, edu_irq_ack, st);
	if (st & EDU_IRQ_DMA)
		rogue_end(sc, 0);
}

static const struct ddm_driver_ops rogue_ops = {
	.init = rogue_init,
	.write = rogue_write,
	.cancel = rogue_cancel,
	.intr = rogue_intr,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &rogue_ops, sizeof(rogue_ops),
	                       &rogue_sc);
}
