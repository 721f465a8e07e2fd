/*
 * ioports.h: whether the kernel holds a port range ddmfs would grant.
 *
 * ddmfs never drives what a kernel driver holds.  /proc/ioports lists the
 * claims, nested by indentation; bus windows ("PCI Bus 0000:00", "PCI
 * conf1") and the PC's fixed platform reservations ("dma1", "pic1",
 * "timer0", "keyboard", ...) are no driver's and do not count.  Anything
 * else overlapping a granted range is a kernel driver's claim; sysfs may
 * tell which driver (the guest's rtc_cmos claims 0x70-0x77 as "rtc0").
 *
 * A conf entry may name the kernel driver to take its ports from
 * (unbind = "rtc_cmos"): ddmfs then unbinds that driver's devices before
 * it starts the instance, notes them in the state directory's "unbound"
 * file ("DRIVER BUS DEVICE" lines, so that an upgraded or restarted ddmfs
 * still knows), and binds them back when the instance is gone for good.
 */
#ifndef DDMFS_IOPORTS_H
#define DDMFS_IOPORTS_H

#include <stddef.h>

#include "conf.h"

#define IOPORTS_PATH         "/proc/ioports"
#define IOPORTS_UNBOUND_FILE "unbound" /* in the state directory */
#define IOPORTS_NAME_MAX     64        /* bus, driver and device names */

struct ioport_claim {
	unsigned int first, last; /* the claimed range, inclusive */
	char name[64];            /* as /proc/ioports names it */
};

/*
 * Looks in text (the contents of /proc/ioports) for a claim overlapping
 * ports [base, base + len) that is neither a bus window nor a platform
 * reservation: 1 with it in *ret, 0 if there is none.
 */
int ioports_claimed(const char *text, unsigned int base, unsigned int len,
                    struct ioport_claim *ret);

/*
 * The kernel driver behind claim name, looked up below sysfs_root
 * ("/sys"): a driver of that name, or the driver of a device of that name
 * in some class.  0 with the driver's name in buf, or -ENOENT.
 */
int ioports_driver(const char *sysfs_root, const char *name, char *buf,
                   size_t len);

/*
 * Makes sure no kernel driver holds ports[0..n) before ddmfs grants them:
 * a claim by kernel driver unbind ("" for none) is taken from it
 * (ioports_unbind()); any other claim is refused.  dfd is the state
 * directory.  0, or -errno (-EBUSY: held) with why.
 */
int ioports_take(int dfd, const struct conf_ports *ports, unsigned int n,
                 const char *unbind, char *why, size_t whylen);
/*
 * Unbinds every device kernel driver drv holds, on any bus below
 * sysfs_root, and appends them to the unbound file in dfd.  0, or -errno
 * with why (-ENOENT: it holds none).
 */
int ioports_unbind(const char *sysfs_root, int dfd, const char *drv, char *why,
                   size_t whylen);
/* Binds the devices the unbound file in dfd notes for drv back to it. */
void ioports_rebind(const char *sysfs_root, int dfd, const char *drv);

#endif /* DDMFS_IOPORTS_H */
