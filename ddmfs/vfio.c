/*
 * vfio.c: a PCI function for its driver through VFIO (vfio.h): binding it
 * to vfio-pci, opening its container, group and device, giving it back,
 * and its interrupts as the kernel counts them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sysfs.h"
#include "vfio.h"

#define PCI_SYSFS    "/sys/bus/pci/devices"
#define PCI_PROBE    "/sys/bus/pci/drivers_probe"
#define VFIO_UNBIND  "/sys/bus/pci/drivers/vfio-pci/unbind"
#define GROUPS_SYSFS "/sys/kernel/iommu_groups"
#define VFIO_DIR     "/dev/vfio"
#define VFIO_WAIT_MS 2000 /* for /dev/vfio/<group> after the probe */
#define VFIO_POLL_MS 10

/* Refuses group g if a function but addr in it has a non-vfio driver. */
static int
check_group(const char *addr, const char *g, char *why, size_t whylen)
{
	char dir[PATH_MAX], fdir[PATH_MAX], drv[NAME_MAX + 1];
	struct dirent *e;
	int r = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/devices", GROUPS_SYSFS, g);
	d = opendir(dir);
	if (d == NULL) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", dir, strerror(-r));
		return r;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, addr) == 0)
			continue;
		snprintf(fdir, sizeof(fdir), "%s/%s", PCI_SYSFS, e->d_name);
		if (sysfs_link_base(fdir, "driver", drv, sizeof(drv)) < 0 ||
		    strcmp(drv, "vfio-pci") == 0)
			continue;
		snprintf(why, whylen,
		         "IOMMU group %s also holds %s, bound to %s: VFIO "
		         "needs the whole group",
		         g, e->d_name, drv);
		r = -EBUSY;
		break;
	}
	closedir(d);
	return r;
}

/* Waits up to VFIO_WAIT_MS for path to exist: 0 or -ETIMEDOUT. */
static int
wait_for(const char *path)
{
	struct timespec pause = { 0, VFIO_POLL_MS * 1000000L };

	for (int ms = 0; ms <= VFIO_WAIT_MS; ms += VFIO_POLL_MS) {
		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

/* Binds addr (sysfs dir dev, now bound to drv or "") to vfio-pci. */
static int
bind_vfio(const char *addr, const char *dev, const char *drv, char *why,
          size_t whylen)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/driver_override", dev);
	r = sysfs_write(path, "vfio-pci");
	if (r == 0 && drv[0] != '\0') {
		snprintf(path, sizeof(path), "%s/driver/unbind", dev);
		r = sysfs_write(path, addr);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s", PCI_PROBE);
		r = sysfs_write(path, addr);
	}
	if (r < 0)
		snprintf(why, whylen, "binding to vfio-pci: %s: %s", path,
		         strerror(-r));
	return r;
}

int
vfio_request_fd(const char *addr, int fd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0)
		return -1;
	*set = (struct vfio_irq_set){ .argsz = sizeof(buf),
		                      .flags = VFIO_IRQ_SET_DATA_EVENTFD |
		                               VFIO_IRQ_SET_ACTION_TRIGGER,
		                      .index = VFIO_PCI_REQ_IRQ_INDEX,
		                      .start = 0,
		                      .count = 1 };
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(fd, VFIO_DEVICE_SET_IRQS, set) < 0) {
		logmsg("vfio: %s: no device request channel (%s): an unplug "
		       "waits for its driver to stop",
		       addr, strerror(errno));
		close(efd);
		return -1;
	}
	return efd;
}

int
vfio_open(const char *addr, int ret_fds[3], int *ret_req, char *why,
          size_t whylen)
{
	char dev[128], gpath[PATH_MAX], drv[NAME_MAX + 1];
	char g[NAME_MAX + 1];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int r, c = -1, grp = -1, fd;
	const char *step;

	snprintf(dev, sizeof(dev), "%s/%s", PCI_SYSFS, addr);
	if (access(dev, F_OK) < 0) {
		r = -errno;
		snprintf(why, whylen, "no PCI function %s: %s", addr,
		         strerror(-r));
		return r;
	}
	if (sysfs_link_base(dev, "iommu_group", g, sizeof(g)) < 0) {
		snprintf(why, whylen,
		         "%s has no IOMMU group: VFIO needs an IOMMU", addr);
		return -ENODEV;
	}
	r = check_group(addr, g, why, whylen);
	if (r < 0)
		return r;
	sysfs_link_base(dev, "driver", drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci") != 0) {
		r = bind_vfio(addr, dev, drv, why, whylen);
		if (r < 0)
			return r;
	}
	snprintf(gpath, sizeof(gpath), "%s/%s", VFIO_DIR, g);
	if (wait_for(gpath) < 0) {
		snprintf(why, whylen, "%s did not appear within %d ms", gpath,
		         VFIO_WAIT_MS);
		return -ETIMEDOUT;
	}
	step = VFIO_DIR "/vfio";
	c = open(step, O_RDWR | O_CLOEXEC);
	if (c < 0)
		goto fail;
	step = "VFIO_GET_API_VERSION";
	if (ioctl(c, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		errno = EPROTO;
		goto fail;
	}
	step = "VFIO_CHECK_EXTENSION(TYPE1)";
	if (ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		errno = errno ? errno : ENOTSUP;
		goto fail;
	}
	step = gpath;
	grp = open(gpath, O_RDWR | O_CLOEXEC);
	if (grp < 0)
		goto fail;
	step = "VFIO_GROUP_GET_STATUS";
	if (ioctl(grp, VFIO_GROUP_GET_STATUS, &st) < 0)
		goto fail;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(why, whylen,
		         "IOMMU group %s is not viable: a function in it is "
		         "bound to another driver",
		         g);
		r = -EBUSY;
		goto close_all;
	}
	step = "VFIO_GROUP_SET_CONTAINER";
	if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &c) < 0)
		goto fail;
	step = "VFIO_SET_IOMMU(TYPE1)";
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		goto fail;
	step = "VFIO_GROUP_GET_DEVICE_FD";
	fd = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (fd < 0)
		goto fail;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	*ret_req = vfio_request_fd(addr, fd);
	ret_fds[0] = c;
	ret_fds[1] = grp;
	ret_fds[2] = fd;
	return 0;

fail:
	r = -errno;
	snprintf(why, whylen, "%s: %s: %s", addr, step, strerror(-r));
close_all:
	if (grp >= 0)
		close(grp);
	if (c >= 0)
		close(c);
	return r;
}

void
vfio_release(const char *addr)
{
	char dev[128], path[PATH_MAX], drv[NAME_MAX + 1], over[32] = "";
	ssize_t n;
	int r, fd;

	snprintf(dev, sizeof(dev), "%s/%s", PCI_SYSFS, addr);
	snprintf(path, sizeof(path), "%s/driver_override", dev);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* unplugged: nothing to give back */
	n = read(fd, over, sizeof(over) - 1);
	close(fd);
	if (n <= 0 || strncmp(over, "vfio-pci\n", 9) != 0)
		return; /* ddmfs never bound it, or someone else rebound it */
	r = sysfs_write(path, "\n");
	if (r < 0)
		logmsg("vfio: %s: clearing driver_override: %s", addr,
		       strerror(-r));
	if (sysfs_link_base(dev, "driver", drv, sizeof(drv)) == 0 &&
	    strcmp(drv, "vfio-pci") == 0) {
		r = sysfs_write(VFIO_UNBIND, addr);
		if (r < 0)
			logmsg("vfio: %s: unbinding from vfio-pci: %s", addr,
			       strerror(-r));
	}
	r = sysfs_write(PCI_PROBE, addr);
	if (r < 0)
		logmsg("vfio: %s: probing for its kernel driver: %s", addr,
		       strerror(-r));
	else
		logmsg("vfio: %s given back to the kernel", addr);
}

int
vfio_adopt_request(const char *addr, int pidfd, int num)
{
	char link[64], target[64] = "";
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, num, 0), efd;
	ssize_t n;

	if (fd < 0) {
		logmsg("vfio: %s: cannot take the driver's device fd: %s", addr,
		       strerror(errno));
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 ||
	    strncmp(target, "anon_inode:[vfio-device]", (size_t)n) != 0) {
		logmsg("vfio: %s: the driver's fd %d is no VFIO device: an "
		       "unplug waits for its driver to stop",
		       addr, num);
		close(fd);
		return -1;
	}
	efd = vfio_request_fd(addr, fd);
	close(fd);
	return efd;
}

/* Sums the per-CPU counts after "IRQ:" at the start of line. */
static long long
line_count(const char *line)
{
	const char *s = strchr(line, ':');
	long long sum = 0;
	char *end;

	if (s == NULL)
		return 0;
	for (s++;;) {
		unsigned long long v = strtoull(s, &end, 10);

		/* a count is digits between blanks; the chip name ends them */
		if (end == s || (*end != ' ' && *end != '\t' && *end != '\n'))
			break;
		sum += (long long)v;
		s = end;
	}
	return sum;
}

long long
vfio_irq_parse(const char *text, const char *addr)
{
	char tag[64];
	long long sum = -1;

	snprintf(tag, sizeof(tag), "(%s)", addr);
	for (const char *s = text; s != NULL && *s != '\0';) {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		const char *v = memmem(s, n, "vfio-", 5);

		if (v != NULL &&
		    memmem(v, n - (size_t)(v - s), tag, strlen(tag)) != NULL)
			sum = (sum < 0 ? 0 : sum) + line_count(s);
		s = nl != NULL ? nl + 1 : NULL;
	}
	return sum;
}

long long
vfio_irq_count(const char *addr)
{
	/* 2 CPUs' lines are short; a big machine's file can be large */
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	long long r = -1;
	ssize_t n;
	int fd;

	if (buf == NULL)
		return -1;
	fd = open(VFIO_INTERRUPTS_PATH, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && (n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1) {
			char *more = cap < 4 * 1024 * 1024
			                     ? realloc(buf, cap * 2)
			                     : NULL;

			if (more == NULL)
				break;
			buf = more;
			cap *= 2;
		}
	}
	if (fd >= 0) {
		buf[len] = '\0';
		r = vfio_irq_parse(buf, addr);
		close(fd);
	}
	free(buf);
	return r;
}
