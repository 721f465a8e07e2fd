/*
 * vfio.c: what a PCI driver gets through the VFIO fds ddmfs passes
 * (--vfio-fd=CONTAINER,GROUP,DEVICE): interrupts and DMA buffers.
 *
 * Interrupts: with an intr hook, MSI is set up with one eventfd per vector
 * (VFIO_DEVICE_SET_IRQS, up to DDM_IRQ_MAX vectors, else one); a function
 * without MSI gets INTx, which VFIO masks when it fires, so it is unmasked
 * (VFIO_IRQ_SET_ACTION_UNMASK) after each call of the hook.  The loop
 * watches the eventfds; the hook runs on the loop thread like every other.
 *
 * DMA: anonymous memory mapped into the container's IOMMU at an IOVA from
 * DMA_IOVA_BASE to DMA_IOVA_END (first fit, page granular), so even a
 * device with a 28-bit DMA mask reaches it.  VFIO pins the pages (they
 * count against RLIMIT_MEMLOCK); they are unmapped on free and at exit.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "driver_impl.h"

#define DMA_IOVA_BASE 0x100000ull   /* 1 MiB: keep IOVA 0 unused */
#define DMA_IOVA_END  0x10000000ull /* 256 MiB: a 28-bit DMA mask */

struct dma_buf {
	void *cpu;
	size_t len; /* whole pages */
	uint64_t iova;
	struct dma_buf *next; /* by iova */
};

/* Sets the trigger eventfds of irq index (n of them; 0: off). */
static int
set_irqs(struct ddm_dev *dev, unsigned int index, const int *fds,
         unsigned int n)
{
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int);
	struct vfio_irq_set *set;
	int err = 0;

	set = calloc(1, sz);
	if (set == NULL)
		return -ENOMEM;
	set->argsz = (uint32_t)sz;
	set->flags =
	        (n > 0 ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
	        VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = n;
	if (n > 0)
		memcpy(set->data, fds, n * sizeof(int));
	if (ioctl(dev->vfio_fd[VFIO_DEVICE], VFIO_DEVICE_SET_IRQS, set) < 0)
		err = -errno;
	free(set);
	return err;
}

/* INTx fired and VFIO masked it: unmask it for the next one. */
static void
unmask_intx(struct ddm_dev *dev)
{
	struct vfio_irq_set set = { .argsz = sizeof(set),
		                    .flags = VFIO_IRQ_SET_DATA_NONE |
		                             VFIO_IRQ_SET_ACTION_UNMASK,
		                    .index = VFIO_PCI_INTX_IRQ_INDEX,
		                    .start = 0,
		                    .count = 1 };

	if (ioctl(dev->vfio_fd[VFIO_DEVICE], VFIO_DEVICE_SET_IRQS, &set) < 0)
		ddm_log(dev, "cannot unmask INTx: %s", strerror(errno));
}

static void
on_irq(struct ddm_dev *dev, int fd, unsigned int events, void *arg)
{
	unsigned int vector;
	uint64_t n;

	for (vector = 0; vector < dev->n_irq; vector++)
		if (dev->irq_fd[vector] == fd)
			break;
	if (vector == dev->n_irq || read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	dev->intr_count += n;
	dev->ops.intr(dev, dev->sc, vector);
	if (dev->irq_index == VFIO_PCI_INTX_IRQ_INDEX)
		unmask_intx(dev);
}

/* How many vectors of irq index the function has with eventfds (0: none). */
static unsigned int
irq_count(struct ddm_dev *dev, unsigned int index)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };

	if (ioctl(dev->vfio_fd[VFIO_DEVICE], VFIO_DEVICE_GET_IRQ_INFO, &ii) <
	            0 ||
	    !(ii.flags & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	return ii.count;
}

/* Sets up n vectors of irq index with fresh eventfds: 0 or -errno. */
static int
irq_enable(struct ddm_dev *dev, unsigned int index, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		dev->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->irq_fd[i] < 0) {
			err = -errno;
			goto close_fds;
		}
	}
	err = set_irqs(dev, index, dev->irq_fd, n);
	if (err < 0)
		goto close_fds;
	dev->irq_index = (int)index;
	dev->n_irq = n;
	return 0;

close_fds:
	while (i-- > 0)
		close(dev->irq_fd[i]);
	return err;
}

int
intr_init(struct ddm_dev *dev)
{
	unsigned int n, i;
	int err;

	dev->irq_index = -1;
	if (dev->vfio_fd[VFIO_DEVICE] < 0 || dev->ops.intr == NULL)
		return 0;
	n = irq_count(dev, VFIO_PCI_MSI_IRQ_INDEX);
	if (n > DDM_IRQ_MAX)
		n = DDM_IRQ_MAX;
	err = -ENODEV;
	if (n > 0)
		err = irq_enable(dev, VFIO_PCI_MSI_IRQ_INDEX, n);
	if (err < 0 && n > 1)
		err = irq_enable(dev, VFIO_PCI_MSI_IRQ_INDEX, 1);
	if (err < 0 && irq_count(dev, VFIO_PCI_INTX_IRQ_INDEX) > 0)
		err = irq_enable(dev, VFIO_PCI_INTX_IRQ_INDEX, 1);
	if (err < 0) {
		ddm_log(dev, "cannot set up interrupts (MSI or INTx): %s",
		        strerror(-err));
		return err;
	}
	for (i = 0; i < dev->n_irq; i++) {
		err = ddm_fd_watch(dev, dev->irq_fd[i], EPOLLIN, on_irq, NULL);
		if (err < 0) {
			ddm_log(dev, "cannot watch interrupts: %s",
			        strerror(-err));
			intr_fini(dev);
			return err;
		}
	}
	return 0;
}

void
intr_fini(struct ddm_dev *dev)
{
	if (dev->irq_index < 0)
		return;
	set_irqs(dev, (unsigned int)dev->irq_index, NULL, 0);
	for (unsigned int i = 0; i < dev->n_irq; i++) {
		ddm_fd_unwatch(dev, dev->irq_fd[i]);
		close(dev->irq_fd[i]);
	}
	dev->n_irq = 0;
	dev->irq_index = -1;
}

uint64_t
ddm_intr_count(struct ddm_dev *dev)
{
	return dev->intr_count;
}

const char *
ddm_pci(struct ddm_dev *dev)
{
	return dev->pci;
}

int
ddm_dma_alloc(struct ddm_dev *dev, size_t len, void **ret_cpu,
              uint64_t *ret_iova)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct dma_buf *b, **pp;
	uint64_t iova = DMA_IOVA_BASE;
	void *cpu;
	int err;

	if (dev->vfio_fd[VFIO_CONTAINER] < 0)
		return -ENODEV;
	if (len == 0 || len > DMA_IOVA_END - DMA_IOVA_BASE || ret_cpu == NULL ||
	    ret_iova == NULL)
		return -EINVAL;
	len = (len + page - 1) & ~(page - 1);
	/* first fit: the lowest gap between buffers that holds len */
	for (pp = &dev->dma_bufs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->iova - iova >= len)
			break;
		iova = (*pp)->iova + (*pp)->len;
	}
	if (DMA_IOVA_END - iova < len)
		return -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	cpu = mmap(NULL, len, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cpu == MAP_FAILED) {
		err = -errno;
		goto free_b;
	}
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)cpu;
	map.iova = iova;
	map.size = len;
	if (ioctl(dev->vfio_fd[VFIO_CONTAINER], VFIO_IOMMU_MAP_DMA, &map) < 0) {
		err = -errno;
		goto unmap_cpu;
	}
	*b = (struct dma_buf){
		.cpu = cpu, .len = len, .iova = iova, .next = *pp
	};
	*pp = b;
	*ret_cpu = cpu;
	*ret_iova = iova;
	return 0;

unmap_cpu:
	munmap(cpu, len);
free_b:
	free(b);
	return err;
}

/* Takes b out of the IOMMU and frees it (already off the list). */
static void
dma_release(struct ddm_dev *dev, struct dma_buf *b)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap),
		                                    .iova = b->iova,
		                                    .size = b->len };

	if (ioctl(dev->vfio_fd[VFIO_CONTAINER], VFIO_IOMMU_UNMAP_DMA, &unmap) <
	    0)
		ddm_log(dev, "cannot unmap DMA at 0x%llx: %s",
		        (unsigned long long)b->iova, strerror(errno));
	munmap(b->cpu, b->len);
	free(b);
}

void
ddm_dma_free(struct ddm_dev *dev, void *cpu)
{
	struct dma_buf **pp, *b;

	if (cpu == NULL)
		return;
	for (pp = &dev->dma_bufs; (b = *pp) != NULL; pp = &b->next) {
		if (b->cpu == cpu) {
			*pp = b->next;
			dma_release(dev, b);
			return;
		}
	}
}

void
dma_fini(struct ddm_dev *dev)
{
	struct dma_buf *b;

	while ((b = dev->dma_bufs) != NULL) {
		dev->dma_bufs = b->next;
		dma_release(dev, b);
	}
}
