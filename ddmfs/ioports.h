/*
 * ioports.h: whether the kernel holds a port range ddmfs would grant.
 *
 * ddmfs never drives what a kernel driver holds.  /proc/ioports lists the
 * claims, nested by indentation; bus windows ("PCI Bus 0000:00", "PCI
 * conf1") and the PC's fixed platform reservations ("dma1", "pic1",
 * "timer0", "keyboard", ...) are no driver's and do not count.  Anything
 * else overlapping a granted range is a kernel driver's claim; sysfs may
 * tell which driver (the guest's rtc_cmos claims 0x70-0x77 as "rtc0").
 */
#ifndef DDMFS_IOPORTS_H
#define DDMFS_IOPORTS_H

#include <stddef.h>

#define IOPORTS_PATH "/proc/ioports"

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

#endif /* DDMFS_IOPORTS_H */
