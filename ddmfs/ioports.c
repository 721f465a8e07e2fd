/*
 * ioports.c: kernel claims on I/O ports, from /proc/ioports (ioports.h).
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioports.h"

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

/* The last component of symlink path, in buf: 0 or -ENOENT. */
static int
link_base(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *b;

	if (n <= 0)
		return -ENOENT;
	target[n] = '\0';
	b = strrchr(target, '/');
	snprintf(buf, len, "%s", b != NULL ? b + 1 : target);
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
		r = link_base(path, buf, len);
	}
	if (dir != NULL)
		closedir(dir);
	return r;
}
