/*
 * records.c: the records of live drivers, for adoption (records.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "records.h"

#define BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_MAX  64
#define STAT_MAX     1024

static int
boot_id(char buf[BOOT_ID_MAX])
{
	int fd = open(BOOT_ID_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, BOOT_ID_MAX - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int
records_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[STAT_MAX], *p;
	unsigned long long start;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip past the
	 * last ')', then state is field 3 and starttime field 22 */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -EIO;
	p++;
	for (int field = 2; field < 21; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -EIO;
	}
	if (sscanf(p, " %llu", &start) != 1)
		return -EIO;
	*ret = start;
	return 0;
}

int
records_save(int dfd, const struct record *records, size_t n)
{
	char id[BOOT_ID_MAX], *buf = NULL;
	size_t len = 0;
	FILE *m;
	int r;

	r = boot_id(id);
	if (r < 0)
		return r;
	m = open_memstream(&buf, &len);
	if (m == NULL)
		return -errno;
	fprintf(m, "boot %s\n", id);
	for (size_t i = 0; i < n; i++)
		fprintf(m, "%s %d %llu\n", records[i].node, (int)records[i].pid,
		        (unsigned long long)records[i].start);
	r = (ferror(m) | fclose(m)) ? -ENOMEM : 0;
	if (r == 0)
		r = atomic_write_at(dfd, RECORDS_FILE, buf, len, 0600, false);
	free(buf);
	return r;
}

void
records_free(struct record *records, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(records[i].node);
	free(records);
}

int
records_load(int dfd, struct record **ret, size_t *ret_n)
{
	char id[BOOT_ID_MAX], *line = NULL, node[256];
	struct record *rs = NULL, *grown;
	size_t n = 0, cap = 0, lcap = 0;
	unsigned long long start;
	bool this_boot = false;
	int fd, pid, r = 0;
	FILE *f;

	*ret = NULL;
	*ret_n = 0;
	if (boot_id(id) < 0)
		return 0;
	fd = openat(dfd, RECORDS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -errno;
	}
	while (getline(&line, &lcap, f) > 0) {
		char boot[BOOT_ID_MAX + 1];

		if (sscanf(line, "boot %64s", boot) == 1) {
			this_boot = strcmp(boot, id) == 0;
			continue;
		}
		if (!this_boot ||
		    sscanf(line, "%255s %d %llu", node, &pid, &start) != 3 ||
		    pid <= 1)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = reallocarray(rs, cap, sizeof(*rs));
			if (grown == NULL) {
				r = -ENOMEM;
				break;
			}
			rs = grown;
		}
		rs[n].node = strdup(node);
		if (rs[n].node == NULL) {
			r = -ENOMEM;
			break;
		}
		rs[n].pid = pid;
		rs[n].start = start;
		n++;
	}
	free(line);
	fclose(f);
	if (r < 0) {
		records_free(rs, n);
		return r;
	}
	*ret = rs;
	*ret_n = n;
	return 0;
}
