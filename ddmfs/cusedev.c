/*
 * cusedev.c: the CUSE side of ddmfs: the transport choice, the store of
 * CUSE device numbers ("PATH MAJ MIN" lines in <state_dir>/cuse) and the
 * sysfs check of the device a driver registered, and what supervision
 * does with it when a CUSE driver comes up or dies early.
 *
 * Loading the store is forgiving (a malformed line is skipped and counted);
 * saving is atomic (temp file, fsync, rename, fsync of the directory).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddmfs.h"

#define CDEV_PATH_MAX 255 /* longest node path kept */
#define TMP_SUFFIX    ".tmp.XXXXXX"
#define FIELD_SEP     " \t"
#define DEV_TEXT_MAX  32 /* "MAJ:MIN\n" as sysfs shows it */

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

/* Paths are [a-z0-9_/-] components, no leading/trailing or double '/'. */
static int
valid_path(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > CDEV_PATH_MAX || p[0] == '/' || p[n - 1] == '/' ||
	    strstr(p, "//"))
		return 0;
	return strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_/-") == n;
}

static int
valid_nums(unsigned int maj, unsigned int min)
{
	return maj <= CDEV_MAJOR_MAX && min <= CDEV_MINOR_MAX &&
	       (maj != 0 || min != 0);
}

/* Parses s, all decimal digits, at most max. */
static int
parse_num(const char *s, unsigned int max, unsigned int *ret)
{
	unsigned long long v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (unsigned long long)(*p - '0');
	if (p == s || *p != '\0' || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* Splits line into its three fields and checks each.  line is modified. */
static int
parse_line(char *line, char **ret_path, unsigned int *ret_maj,
           unsigned int *ret_min)
{
	char *f[4], *save = NULL;
	unsigned int maj, min;
	int n;

	for (n = 0; n < 4; n++)
		if (!(f[n] = strtok_r(n ? NULL : line, FIELD_SEP, &save)))
			break;
	if (n != 3 || !valid_path(f[0]) ||
	    parse_num(f[1], CDEV_MAJOR_MAX, &maj) < 0 ||
	    parse_num(f[2], CDEV_MINOR_MAX, &min) < 0 || !valid_nums(maj, min))
		return -EINVAL;
	*ret_path = f[0];
	*ret_maj = maj;
	*ret_min = min;
	return 0;
}

/* Reads every line of f into cs, counting malformed ones in *bad. */
static int
read_lines(struct cdev_store *cs, FILE *f, unsigned int *bad)
{
	char *line = NULL, *path;
	unsigned int maj, min;
	size_t cap = 0;
	ssize_t len;
	int r = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (strlen(line) != (size_t)len ||
		    parse_line(line, &path, &maj, &min) < 0) {
			(*bad)++;
			continue;
		}
		r = cdev_store_set(cs, path, maj, min);
		if (r < 0)
			goto free_line;
	}
	if (ferror(f))
		r = -EIO;
free_line:
	free(line);
	return r;
}

int
cdev_store_open(const char *file, struct cdev_store **ret,
                unsigned int *ret_bad)
{
	struct cdev_store *cs;
	unsigned int bad = 0;
	struct stat st;
	FILE *f;
	int r;

	cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return -ENOMEM;
	cs->file = strdup(file);
	if (cs->file == NULL) {
		r = -ENOMEM;
		goto free_store;
	}
	f = fopen(file, "re");
	if (f == NULL) {
		r = -errno;
		if (r != -ENOENT)
			goto free_store;
		goto done;
	}
	r = fstat(fileno(f), &st) < 0 ? -errno : 0;
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r == 0)
		r = read_lines(cs, f, &bad);
	fclose(f);
	if (r < 0)
		goto free_store;
done:
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
	for (size_t i = 0; i < cs->n; i++)
		free(cs->entries[i].path);
	free(cs->entries);
	free(cs->file);
	free(cs);
}

static struct cdev_entry *
find(const struct cdev_store *cs, const char *path)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->entries[i].path, path) == 0)
			return &cs->entries[i];
	return NULL;
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
	struct cdev_entry *e = find(cs, path);

	if (!valid_path(path) || !valid_nums(maj, min))
		return -EINVAL;
	if (e == NULL) {
		if (cs->n == cs->cap) {
			size_t cap = cs->cap ? 2 * cs->cap : 16;
			struct cdev_entry *n;

			n = reallocarray(cs->entries, cap, sizeof(*n));
			if (n == NULL)
				return -ENOMEM;
			cs->entries = n;
			cs->cap = cap;
		}
		e = &cs->entries[cs->n];
		e->path = strdup(path);
		if (e->path == NULL)
			return -ENOMEM;
		cs->n++;
	}
	e->maj = maj;
	e->min = min;
	return 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsyncs the directory holding file, so a rename in it is durable. */
static int
sync_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir;
	int fd, r = 0;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(file, slash == file ? 1 : (size_t)(slash - file));
	if (dir == NULL)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto free_dir;
	}
	/* some filesystems cannot fsync a directory: nothing more to do */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
free_dir:
	free(dir);
	return r;
}

int
cdev_store_save(const struct cdev_store *cs)
{
	char *tmp, *buf = NULL;
	size_t len = 0;
	FILE *m;
	int fd, r;

	m = open_memstream(&buf, &len);
	if (m == NULL)
		return -errno;
	for (size_t i = 0; i < cs->n; i++)
		fprintf(m, "%s %u %u\n", cs->entries[i].path,
		        cs->entries[i].maj, cs->entries[i].min);
	if (ferror(m) | fclose(m)) {
		r = -ENOMEM;
		goto free_buf;
	}
	if (asprintf(&tmp, "%s" TMP_SUFFIX, cs->file) < 0) {
		r = -ENOMEM;
		goto free_buf;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto free_tmp;
	}
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, cs->file) < 0)
		r = -errno;
	if (r < 0)
		goto unlink_tmp;
	r = sync_dir(cs->file);
	goto free_tmp;

unlink_tmp:
	unlink(tmp);
free_tmp:
	free(tmp);
free_buf:
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
	char name[CDEV_PATH_MAX + 8], file[PATH_MAX], text[DEV_TEXT_MAX];
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

/*
 * d's CUSE driver said HELLO: checks in sysfs that its device exists with
 * the numbers asked for, and learns and saves them if they were not known
 * (lock held).  Returns 0, 1 when the numbers changed, or -EPROTO with
 * why filled in.
 */
int
drv_cuse_up(struct drv *d, char *why, size_t whylen)
{
	struct node *n = d->node;
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
	n->rdev_seen = 1;
	if (maj == n->rdev_maj && min == n->rdev_min)
		return 0;
	n->rdev_maj = maj;
	n->rdev_min = min;
	n->generation++;
	logmsg("%s: CUSE device %u:%u", n->path, maj, min);
	r = cdev_store_set(dfs.cdevs, n->path, maj, min);
	if (r == 0)
		r = cdev_store_save(dfs.cdevs);
	if (r < 0)
		logmsg("%s: saving CUSE numbers: %s", dfs.cdevs->file,
		       strerror(-r));
	return 1;
}

/*
 * d's CUSE driver died before HELLO (lock held).  Numbers from the store
 * that this run has not seen work may belong to something else now (after
 * a reboot): after DRV_CUSE_RETRY such failures the kernel picks new ones.
 */
void
drv_cuse_early_exit(struct drv *d)
{
	struct node *n = d->node;

	if (!n->cuse || n->rdev_seen ||
	    (n->rdev_maj == 0 && n->rdev_min == 0) || d->fails < DRV_CUSE_RETRY)
		return;
	logmsg("%s: CUSE device %u:%u did not come up; letting the kernel "
	       "choose",
	       n->path, n->rdev_maj, n->rdev_min);
	n->rdev_maj = 0;
	n->rdev_min = 0;
}
