/*
 * vfio.h: a PCI function for its driver through VFIO (DESIGN.md, "PCI").
 *
 * vfio_open() binds a function to vfio-pci and opens what its driver gets
 * (proc.c, at each start); vfio_release() gives it back to the kernel
 * once its instance is removed and its driver has exited.  The interrupts
 * of a running driver are the kernel's count (/proc/interrupts), which a
 * driver cannot fake, for ddmctl status.
 */
#ifndef DDMFS_VFIO_H
#define DDMFS_VFIO_H

#include <stddef.h>

#define VFIO_INTERRUPTS_PATH "/proc/interrupts"

/*
 * Binds function addr to vfio-pci (driver_override, unbind, probe) unless
 * it is already, waits for its group's /dev/vfio/<group>, and opens the
 * container (TYPE1 IOMMU set), the group (in that container) and the
 * device: ret_fds[0..2], close-on-exec.  *ret_req gets an eventfd the
 * kernel signals when it wants the function back (hot-unplug), or -1 if
 * the kernel has no such request.  Refuses a group that holds a function
 * bound to another driver.  0, or -errno with why.
 */
int vfio_open(const char *addr, int ret_fds[3], int *ret_req, char *why,
              size_t whylen);
/*
 * Gives addr back to the kernel, if its driver_override is still
 * "vfio-pci": clears it, unbinds it from vfio-pci and probes it again.
 * Logs what fails.
 */
void vfio_release(const char *addr);

/*
 * A fresh eventfd for the device request (unplug) interrupt of VFIO
 * device fd, which the kernel signals when it wants the function back,
 * or -1 (logged).
 */
int vfio_request_fd(const char *addr, int fd);
/*
 * The same for the function addr of an adopted driver, whose device fd is
 * fd number num in the process of pidfd (the request eventfd of the
 * ddmfs that died went with it): the eventfd, or -1 (logged).
 */
int vfio_adopt_request(const char *addr, int pidfd, int num);

/*
 * The interrupts counted in text (the contents of /proc/interrupts) for
 * the VFIO vectors of function addr ("vfio-msi[0](ADDR)",
 * "vfio-intx(ADDR)"), summed over CPUs and vectors; -1 if it has none.
 * An INTx line another device shares counts that device's too.
 */
long long vfio_irq_parse(const char *text, const char *addr);
/* The same from /proc/interrupts now: the count, or -1. */
long long vfio_irq_count(const char *addr);

#endif /* DDMFS_VFIO_H */
