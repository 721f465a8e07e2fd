/*
 * ioports.c: kernel claims on I/O ports, from /proc/ioports (ioports.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "ioports.h"
#include "log.h"
#include "sysfs.h"

#define TEXT_SIZE_MAX (64 * 1024) /* the most of a file read, bytes */

/* x86's standard_io_resources, and other names that are no driver's. */
static const char *const platform[] = {
	"dma1", "pic1", "timer0", "timer1",   "keyboard", "dma page reg",
	"pic2", "dma2", "fpu",    "reserved", NULL,
};

static bool
not_a_driver(const char *name)
{
	if (strncmp(name, "PCI Bus", 7) == 0 ||
	    strncmp(name, "PCI conf", 8) == 0)
		return true;
	for (size_t i = 0; platform[i] != NULL; i++)
		if (strcmp(name, platform[i]) == 0)
			return true;
	return false;
}

/* Parses one line "  0070-0077 : rtc0": 0, or -1 if it is not one. */
static int
parse_line(const char *line, struct ioport_claim *ret)
{
	unsigned long first, last;
	const char *s = line + strspn(line, " \t");
	char *end;
	size_t n;

	first = strtoul(s, &end, 16);
	if (end == s || *end != '-')
		return -1;
	s = end + 1;
	last = strtoul(s, &end, 16);
	if (end == s || strncmp(end, " : ", 3) != 0 || last < first ||
	    last > 0xffff)
		return -1;
	s = end + 3;
	n = strcspn(s, "\n");
	if (n == 0 || n >= sizeof(ret->name))
		return -1;
	ret->first = (unsigned int)first;
	ret->last = (unsigned int)last;
	memcpy(ret->name, s, n);
	ret->name[n] = '\0';
	return 0;
}

int
ioports_claimed(const char *text, unsigned int base, unsigned int len,
                struct ioport_claim *ret)
{
	unsigned int last = base + len - 1;
	struct ioport_claim c;

	if (len == 0)
		return 0;
	for (const char *s = text; s != NULL && *s != '\0';) {
		if (parse_line(s, &c) == 0 && c.first <= last &&
		    base <= c.last && !not_a_driver(c.name)) {
			*ret = c;
			return 1;
		}
		s = strchr(s, '\n');
		if (s != NULL)
			s++;
	}
	return 0;
}

int
ioports_driver(const char *sysfs_root, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;
	int r = -ENOENT;

	if (strchr(name, '/') != NULL || name[0] == '.')
		return -ENOENT;
	/* a driver of that name on some bus (the host's "rtc_cmos") */
	snprintf(path, sizeof(path), "%s/bus", sysfs_root);
	dir = opendir(path);
	while (dir != NULL && (e = readdir(dir)) != NULL && r < 0) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/bus/%s/drivers/%s", sysfs_root,
		         e->d_name, name);
		if (access(path, F_OK) == 0) {
			snprintf(buf, len, "%s", name);
			r = 0;
		}
	}
	if (dir != NULL)
		closedir(dir);
	if (r == 0)
		return 0;
	/* a device of that name in some class (the guest's "rtc0") */
	snprintf(path, sizeof(path), "%s/class", sysfs_root);
	dir = opendir(path);
	while (dir != NULL && (e = readdir(dir)) != NULL && r < 0) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/class/%s/%s/device/driver",
		         sysfs_root, e->d_name, name);
		r = sysfs_link_base(path, NULL, buf, len) < 0 || buf[0] == '\0'
		            ? -ENOENT
		            : 0;
	}
	if (dir != NULL)
		closedir(dir);
	return r;
}

/* Reads the unbound file in dfd into a string (NULL: none, or empty). */
static char *
read_unbound(int dfd)
{
	int fd = openat(dfd, IOPORTS_UNBOUND_FILE,
	                O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = calloc(1, TEXT_SIZE_MAX + 1);
	n = buf != NULL ? read(fd, buf, TEXT_SIZE_MAX) : -1;
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
save_unbound(int dfd, const char *text)
{
	int r;

	if (text[0] == '\0') {
		if (unlinkat(dfd, IOPORTS_UNBOUND_FILE, 0) < 0 &&
		    errno != ENOENT)
			logmsg("ports: cannot remove %s: %s",
			       IOPORTS_UNBOUND_FILE, strerror(errno));
		return;
	}
	/* a reboot binds every kernel driver again: no fsync needed */
	r = atomic_write_at(dfd, IOPORTS_UNBOUND_FILE, text, strlen(text), 0600,
	                    false);
	if (r < 0)
		logmsg("ports: cannot save %s: %s", IOPORTS_UNBOUND_FILE,
		       strerror(-r));
}

/* Is name a bus, driver or device name fit for a path and a line? */
static bool
plain_name(const char *name)
{
	return name[0] != '\0' && name[0] != '.' &&
	       strlen(name) < IOPORTS_NAME_MAX &&
	       name[strcspn(name, "/ \t\n")] == '\0';
}

int
ioports_unbind(const char *sysfs_root, int dfd, const char *drv, char *why,
               size_t whylen)
{
	char path[PATH_MAX], line[3 * NAME_MAX + 4], *text, *more;
	struct dirent *b, *e;
	DIR *buses, *dir;
	size_t len;
	int r = 0, n = 0;
	struct stat st;

	if (!plain_name(drv)) {
		snprintf(why, whylen, "no kernel driver \"%s\"", drv);
		return -EINVAL;
	}
	text = read_unbound(dfd);
	if (text == NULL)
		text = strdup("");
	if (text == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/bus", sysfs_root);
	buses = opendir(path);
	while (buses != NULL && r == 0 && (b = readdir(buses)) != NULL) {
		if (!plain_name(b->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/bus/%s/drivers/%s", sysfs_root,
		         b->d_name, drv);
		dir = opendir(path);
		while (dir != NULL && r == 0 && (e = readdir(dir)) != NULL) {
			/* its devices are the symlinks but "module" */
			if (!plain_name(e->d_name) ||
			    strcmp(e->d_name, "module") == 0 ||
			    fstatat(dirfd(dir), e->d_name, &st,
			            AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISLNK(st.st_mode))
				continue;
			snprintf(path, sizeof(path),
			         "%s/bus/%s/drivers/%s/unbind", sysfs_root,
			         b->d_name, drv);
			r = sysfs_write(path, e->d_name);
			if (r < 0) {
				snprintf(why, whylen,
				         "unbinding %s from kernel "
				         "driver %s: %s",
				         e->d_name, drv, strerror(-r));
				break;
			}
			logmsg("ports: %s %s unbound from kernel driver %s",
			       b->d_name, e->d_name, drv);
			n++;
			snprintf(line, sizeof(line), "%s %s %s\n", drv,
			         b->d_name, e->d_name);
			len = strlen(text);
			more = realloc(text, len + strlen(line) + 1);
			if (more == NULL) {
				r = -ENOMEM;
				break;
			}
			text = more;
			strcpy(text + len, line);
		}
		if (dir != NULL)
			closedir(dir);
	}
	if (buses != NULL)
		closedir(buses);
	if (n > 0)
		save_unbound(dfd, text);
	free(text);
	if (r == 0 && n == 0) {
		snprintf(why, whylen,
		         "kernel driver %s holds no device to "
		         "unbind",
		         drv);
		r = -ENOENT;
	}
	return r;
}

void
ioports_rebind(const char *sysfs_root, int dfd, const char *drv)
{
	char *text = read_unbound(dfd), *keep, *line, *save = NULL;
	char path[PATH_MAX], d[IOPORTS_NAME_MAX], bus[IOPORTS_NAME_MAX],
	        dev[IOPORTS_NAME_MAX];
	size_t k = 0;
	int r;

	if (text == NULL)
		return;
	keep = calloc(1, strlen(text) + 1);
	if (keep == NULL) {
		free(text);
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %63s %63s", d, bus, dev) != 3 ||
		    !plain_name(d) || !plain_name(bus) || !plain_name(dev))
			continue; /* garbage: dropped */
		if (strcmp(d, drv) != 0) {
			k += (size_t)sprintf(keep + k, "%s\n", line);
			continue;
		}
		snprintf(path, sizeof(path), "%s/bus/%s/drivers/%s/bind",
		         sysfs_root, bus, d);
		r = sysfs_write(path, dev);
		if (r < 0)
			logmsg("ports: %s %s: binding it back to kernel driver "
			       "%s: %s",
			       bus, dev, d, strerror(-r));
		else
			logmsg("ports: %s %s given back to kernel driver %s",
			       bus, dev, d);
	}
	save_unbound(dfd, keep);
	free(keep);
	free(text);
}

/* Reads /proc/ioports into a string (NULL: unreadable). */
static char *
read_ioports(void)
{
	char *buf = calloc(1, TEXT_SIZE_MAX + 1);
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(IOPORTS_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || buf == NULL) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	while (len < TEXT_SIZE_MAX &&
	       (n = read(fd, buf + len, TEXT_SIZE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	return buf;
}

/* The first kernel claim on ports[0..n) in text: its index, or -1. */
static int
first_claim(const char *text, const struct conf_ports *ports, unsigned int n,
            struct ioport_claim *c)
{
	for (unsigned int i = 0; i < n; i++)
		if (ioports_claimed(text, ports[i].base, ports[i].len, c) == 1)
			return (int)i;
	return -1;
}

int
ioports_take(int dfd, const struct conf_ports *ports, unsigned int n,
             const char *unbind, char *why, size_t whylen)
{
	char drv[IOPORTS_NAME_MAX] = "", *text = read_ioports();
	struct ioport_claim c;
	int i, r;

	if (text == NULL) {
		snprintf(why, whylen,
		         "%s: cannot read it: ddmfs does not grant "
		         "ports it cannot check",
		         IOPORTS_PATH);
		return -EACCES;
	}
	i = first_claim(text, ports, n, &c);
	free(text);
	if (i < 0)
		return 0;
	if (ioports_driver("/sys", c.name, drv, sizeof(drv)) < 0)
		snprintf(drv, sizeof(drv), "%s", c.name);
	if (unbind[0] == '\0' || strcmp(unbind, drv) != 0) {
		snprintf(why, whylen,
		         "ports 0x%x-0x%x are held by kernel driver %s "
		         "(%s: %04x-%04x : %s); ddmfs does not drive them "
		         "unless the conf says unbind = \"%s\"",
		         ports[i].base, ports[i].base + ports[i].len - 1, drv,
		         IOPORTS_PATH, c.first, c.last, c.name, drv);
		return -EBUSY;
	}
	r = ioports_unbind("/sys", dfd, drv, why, whylen);
	if (r < 0)
		return r;
	text = read_ioports();
	i = text != NULL ? first_claim(text, ports, n, &c) : 0;
	free(text);
	if (i >= 0) {
		snprintf(why, whylen,
		         "ports 0x%x-0x%x are still held (%s) after unbinding "
		         "kernel driver %s",
		         ports[i].base, ports[i].base + ports[i].len - 1,
		         c.name, drv);
		ioports_rebind("/sys", dfd, drv);
		return -EBUSY;
	}
	return 0;
}
