/*
 * edureg.h: registers of QEMU's "edu" educational PCI device (1234:11e8,
 * QEMU docs/specs/edu.rst), and ddm-edu's ioctls.
 *
 * BAR 0 is 1 MiB of memory-mapped registers.  Below 0x80 only 32-bit
 * accesses work (others read all ones and are dropped when written); the
 * DMA registers from 0x80 take 32- or 64-bit accesses.  The device raises
 * an interrupt (MSI if enabled, else INTx) by ORing a cause into the
 * interrupt status register; the handler must write the same bits to the
 * acknowledge register, with MSI too, or INTx stays asserted.  DMA moves
 * bytes between a bus address (an IOVA, masked to 28 bits by default) and
 * the device's own 4 KiB buffer at EDU_DMA_BUF; a transfer that leaves
 * that buffer makes QEMU abort, so every range is checked before it goes
 * to the device.  QEMU finishes a DMA about 100 ms after it starts.
 */
#ifndef EDUREG_H
#define EDUREG_H

#include <stdint.h>
#include <sys/ioctl.h>

/* clang-format off */
#define EDU_VENDOR      0x1234
#define EDU_DEVICE      0x11e8
#define EDU_BAR         0               /* the register BAR */
#define EDU_BAR_LEN     0x100000        /* 1 MiB */

#define edu_id          0x00    /* identification; read only */
#define  EDU_ID_MAGIC_MASK 0x0000ffff
#define  EDU_ID_MAGIC   0x000000ed      /* 0xRRrr00ed */
#define  EDU_ID_MAJOR(v) (((v) >> 24) & 0xff)
#define  EDU_ID_MINOR(v) (((v) >> 16) & 0xff)

#define edu_live        0x04    /* liveness: reads back ~(last write) */

#define edu_fact        0x08    /* write N: starts N!; read: the result,
                                 * 32 bits, valid once COMPUTING is 0 */
#define  EDU_FACT_MAX   12      /* 13! does not fit 32 bits */

#define edu_status      0x20
#define  EDU_STATUS_COMPUTING 0x01 /* 1 = factorial running; read only */
#define  EDU_STATUS_IRQFACT 0x80 /* 1 = interrupt EDU_IRQ_FACT when done */

#define edu_irq_status  0x24    /* causes of the pending interrupt; RO */
#define  EDU_IRQ_FACT   0x00000001 /* a factorial finished */
#define  EDU_IRQ_DMA    0x00000100 /* a DMA finished */
#define edu_irq_raise   0x60    /* write: ORs the value into irq_status */
#define edu_irq_ack     0x64    /* write: clears those bits of irq_status;
                                 * INTx drops when it reaches 0 */

#define edu_dma_src     0x80    /* 64-bit source address */
#define edu_dma_dst     0x88    /* 64-bit destination address */
#define edu_dma_cnt     0x90    /* bytes to move */
#define edu_dma_cmd     0x98
#define  EDU_DMA_START  0x01    /* 1 = start; reads 1 until done */
#define  EDU_DMA_FROM_DEV 0x02  /* 0 = RAM to device, 1 = device to RAM */
#define  EDU_DMA_IRQ    0x04    /* 1 = interrupt EDU_IRQ_DMA when done */

#define EDU_DMA_BUF     0x40000 /* the device's buffer, as a DMA address */
#define EDU_DMA_BUF_LEN 4096
/*
 * QEMU (7.2 at least) refuses a transfer that ends exactly at the end of
 * the buffer (its range check wants the end inside), and aborts the whole
 * machine: a transfer must end at or before this offset, so the buffer's
 * last byte cannot be reached.
 */
#define EDU_DMA_END_MAX (EDU_DMA_BUF_LEN - 1)
/* clang-format on */

/*
 * ddm-edu's ioctls: move len bytes between data and the device's buffer
 * at off (len >= 1 and off + len <= EDU_DMA_END_MAX, 4095; else EINVAL)
 * by DMA, waiting for the DMA's interrupt.  EDU_IOC_DMA_TO writes the
 * device (the node must be open for writing, else EBADF); EDU_IOC_DMA_FROM
 * fills data[0..len).  A DMA that does not finish within 2 s gives
 * ETIMEDOUT; while one runs, others wait their turn.
 */
struct edu_dma {
	uint32_t len;
	uint32_t off;
	uint8_t data[EDU_DMA_BUF_LEN];
};

#define EDU_IOC_MAGIC    'E'
#define EDU_IOC_DMA_TO   _IOW(EDU_IOC_MAGIC, 1, struct edu_dma)
#define EDU_IOC_DMA_FROM _IOWR(EDU_IOC_MAGIC, 2, struct edu_dma)

#endif /* EDUREG_H */
