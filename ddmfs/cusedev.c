/*
 * cusedev.c: the CUSE side of ddmfs: the transport choice, the store of
 * CUSE device numbers ("PATH MAJ MIN" lines in <state_dir>/cuse) and the
 * sysfs check of the device a driver registered, and what becomes of a
 * leaf's numbers when its CUSE driver comes up or dies early.
 *
 * Loading the store is forgiving (a malformed line is skipped and counted,
 * store.c); saving is atomic (temp file, fsync, rename, fsync of the
 * directory, atomic.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "cusedev.h"
#include "log.h"
#include "store.h"
#include "tree.h"

#define DEV_TEXT_MAX   32 /* "MAJ:MIN\n" as sysfs shows it */
#define CDEV_FILE_MODE 0644

_Static_assert(offsetof(struct cdev_entry, path) == 0,
               "store.c needs the path first");

int
cdev_choose(int t, const char *dev, int *ret_cuse)
{
	int have = access(dev, F_OK) == 0, err = errno;

	if (t == CONF_TRANSPORT_FUSE) {
		*ret_cuse = 0;
		return 0;
	}
	if (t == CONF_TRANSPORT_CUSE && !have)
		return -err;
	*ret_cuse = have;
	return 0;
}

static int
valid_nums(unsigned int maj, unsigned int min)
{
	return maj <= CDEV_MAJOR_MAX && min <= CDEV_MINOR_MAX &&
	       (maj != 0 || min != 0);
}

/* Parses one line and sets its entry: 0, 1 if malformed, or -ENOMEM. */
static int
add_line(void *store, char *line)
{
	unsigned int maj, min;
	char *f[3];

	if (store_split(line, f, 3) < 0 || !store_valid_path(f[0]) ||
	    store_parse_num(f[1], 10, CDEV_MAJOR_MAX, &maj) < 0 ||
	    store_parse_num(f[2], 10, CDEV_MINOR_MAX, &min) < 0 ||
	    !valid_nums(maj, min))
		return 1;
	return cdev_store_set(store, f[0], maj, min);
}

int
cdev_store_open(const char *file, struct cdev_store **ret,
                unsigned int *ret_bad)
{
	struct cdev_store *cs;
	unsigned int bad;
	int r;

	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return -ENOMEM;
	cs->file = strdup(file);
	if (cs->file == NULL) {
		r = -ENOMEM;
		goto free_store;
	}
	r = store_load(file, add_line, cs, &bad);
	if (r < 0)
		goto free_store;
	if (ret_bad != NULL)
		*ret_bad = bad;
	*ret = cs;
	return 0;

free_store:
	cdev_store_free(cs);
	return r;
}

void
cdev_store_free(struct cdev_store *cs)
{
	if (cs == NULL)
		return;
	store_free_entries(cs->entries, cs->n, sizeof(*cs->entries));
	store_index_free(&cs->index);
	free(cs->file);
	free(cs);
}

/* The entry for path, through the index when it is in step. */
static struct cdev_entry *
find(const struct cdev_store *cs, const char *path)
{
	if (cs->indexed)
		return store_index_find(&cs->index, cs->entries,
		                        sizeof(*cs->entries), path);
	return store_find(cs->entries, cs->n, sizeof(*cs->entries), path);
}

int
cdev_store_get(const struct cdev_store *cs, const char *path,
               unsigned int *ret_maj, unsigned int *ret_min)
{
	const struct cdev_entry *e = find(cs, path);

	if (e == NULL)
		return -ENOENT;
	*ret_maj = e->maj;
	*ret_min = e->min;
	return 0;
}

int
cdev_store_set(struct cdev_store *cs, const char *path, unsigned int maj,
               unsigned int min)
{
	struct cdev_entry *e;

	if (!store_valid_path(path) || !valid_nums(maj, min))
		return -EINVAL;
	e = find(cs, path);
	if (e == NULL) {
		e = store_append(cs->entries, &cs->n, &cs->cap, sizeof(*e),
		                 path);
		if (e == NULL)
			return -ENOMEM;
		cs->entries = e;
		e = &cs->entries[cs->n - 1];
		if (cs->indexed)
			cs->indexed = store_index_add(&cs->index, cs->entries,
			                              cs->n, sizeof(*e)) == 0;
		else
			cs->indexed = store_index_build(&cs->index, cs->entries,
			                                cs->n, sizeof(*e)) == 0;
	}
	e->maj = maj;
	e->min = min;
	return 0;
}

int
cdev_store_save(const struct cdev_store *cs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int r;

	m = open_memstream(&buf, &len);
	if (m == NULL)
		return -errno;
	for (size_t i = 0; i < cs->n; i++)
		fprintf(m, "%s %u %u\n", cs->entries[i].path,
		        cs->entries[i].maj, cs->entries[i].min);
	r = (ferror(m) | fclose(m)) ? -ENOMEM : 0;
	if (r == 0)
		r = atomic_write(cs->file, buf, len, CDEV_FILE_MODE);
	free(buf);
	return r;
}

int
cdev_name(const char *path, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "ddm!%s", path) >= len)
		return -ENAMETOOLONG;
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '/')
			*p = '!';
	return 0;
}

int
cdev_read_sysfs(const char *sysdir, const char *path, unsigned int *ret_maj,
                unsigned int *ret_min)
{
	char name[STORE_PATH_MAX + 8], file[PATH_MAX], text[DEV_TEXT_MAX];
	unsigned int maj, min;
	char end;
	ssize_t n;
	int fd, r;

	r = cdev_name(path, name, sizeof(name));
	if (r < 0)
		return r;
	if ((size_t)snprintf(file, sizeof(file), "%s/%s/dev", sysdir, name) >=
	    sizeof(file))
		return -ENAMETOOLONG;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	text[n] = '\0';
	if (sscanf(text, "%u:%u%c", &maj, &min, &end) != 3 || end != '\n' ||
	    maj > CDEV_MAJOR_MAX || min > CDEV_MINOR_MAX)
		return -EIO;
	*ret_maj = maj;
	*ret_min = min;
	return 0;
}

int
cdev_up(struct cdev_store *cs, struct node *n, char *why, size_t whylen)
{
	unsigned int maj, min;
	int r;

	r = cdev_read_sysfs(CDEV_SYS_DIR, n->path, &maj, &min);
	if (r < 0) {
		snprintf(why, whylen, "its CUSE device: %s", strerror(-r));
		return -EPROTO;
	}
	if ((n->rdev_maj != 0 || n->rdev_min != 0) &&
	    (maj != n->rdev_maj || min != n->rdev_min)) {
		snprintf(why, whylen, "its CUSE device is %u:%u, not %u:%u",
		         maj, min, n->rdev_maj, n->rdev_min);
		return -EPROTO;
	}
	n->rdev_seen = true;
	if (maj == n->rdev_maj && min == n->rdev_min)
		return 0;
	n->rdev_maj = maj;
	n->rdev_min = min;
	n->generation++;
	logmsg("%s: CUSE device %u:%u", n->path, maj, min);
	if (cs == NULL)
		return 1;
	r = cdev_store_set(cs, n->path, maj, min);
	if (r == 0)
		r = cdev_store_save(cs);
	if (r < 0)
		logmsg("%s: saving CUSE numbers: %s", cs->file, strerror(-r));
	return 1;
}

void
cdev_early_exit(struct node *n, unsigned int fails, unsigned int retry)
{
	if (!n->cuse || n->rdev_seen ||
	    (n->rdev_maj == 0 && n->rdev_min == 0) || fails < retry)
		return;
	logmsg("%s: CUSE device %u:%u did not come up; letting the kernel "
	       "choose",
	       n->path, n->rdev_maj, n->rdev_min);
	n->rdev_maj = 0;
	n->rdev_min = 0;
}
