/*
 * sysfs.h: the few sysfs operations ddmfs needs to hand devices between
 * kernel drivers and its own (vfio.c for PCI functions, ioports.c for the
 * kernel driver that holds a port range).
 */
#ifndef DDMFS_SYSFS_H
#define DDMFS_SYSFS_H

#include <stddef.h>
#include <sys/types.h>

/* Writes val to the sysfs file path: 0 or -errno. */
int sysfs_write(const char *path, const char *val);
/*
 * Reads up to len - 1 bytes of the small file path into buf, NUL ended:
 * the byte count, or -errno.
 */
ssize_t sysfs_read(const char *path, char *buf, size_t len);
/*
 * The last component of the target of symlink dir/link (link NULL: of
 * dir itself) into buf ("" on failure): 0 or -errno.
 */
int sysfs_link_base(const char *dir, const char *link, char *buf, size_t len);

#endif /* DDMFS_SYSFS_H */
