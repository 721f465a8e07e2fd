/*
 * perm.c: the permission store, "PATH MODE UID GID" lines in
 * <state_dir>/perms.
 *
 * Loading is forgiving: a malformed line is skipped and counted, and the
 * good lines around it survive.  Saving is atomic: a mkstemp temp file in
 * the same directory is written, fsynced and renamed over the old file, and
 * the directory is fsynced, so a crash leaves the old or the new file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perm.h"

#define PERM_PATH_MAX 255           /* longest node path kept */
#define ID_RESERVED   0xffffffffULL /* (uid_t)-1: not a valid id */
#define TMP_SUFFIX    ".tmp.XXXXXX"
#define FIELD_SEP     " \t"

/* Paths are [a-z0-9_/-] components, no leading/trailing or double '/'. */
static int
valid_path(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > PERM_PATH_MAX || p[0] == '/' || p[n - 1] == '/' ||
	    strstr(p, "//"))
		return 0;
	return strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_/-") == n;
}

/* Parses s, all digits in base (8 or 10), below max. */
static int
parse_num(const char *s, unsigned int base, unsigned long long max,
          unsigned int *ret)
{
	unsigned long long v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p < (char)('0' + base) && v <= max; p++)
		v = v * base + (unsigned long long)(*p - '0');
	if (p == s || *p != '\0' || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* Splits line into its four fields and checks each.  line is modified. */
static int
parse_line(char *line, char **ret_path, mode_t *ret_mode, uid_t *ret_uid,
           gid_t *ret_gid)
{
	char *f[5], *save = NULL;
	unsigned int mode, uid, gid;
	int n;

	for (n = 0; n < 5; n++)
		if (!(f[n] = strtok_r(n ? NULL : line, FIELD_SEP, &save)))
			break;
	if (n != 4 || !valid_path(f[0]) || parse_num(f[1], 8, 07777, &mode) ||
	    parse_num(f[2], 10, ID_RESERVED - 1, &uid) ||
	    parse_num(f[3], 10, ID_RESERVED - 1, &gid))
		return -EINVAL;
	*ret_path = f[0];
	*ret_mode = mode;
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}

/* Reads every line of f into ps, counting malformed ones in *bad. */
static int
read_lines(struct perm_store *ps, FILE *f, unsigned int *bad)
{
	char *line = NULL, *path;
	size_t cap = 0;
	ssize_t len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int r = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (strlen(line) != (size_t)len ||
		    parse_line(line, &path, &mode, &uid, &gid) < 0) {
			(*bad)++;
			continue;
		}
		r = perm_store_set(ps, path, mode, uid, gid);
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
perm_store_open(const char *file, struct perm_store **ret,
                unsigned int *ret_bad)
{
	struct perm_store *ps;
	unsigned int bad = 0;
	struct stat st;
	FILE *f;
	int r;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->file = strdup(file);
	if (!ps->file) {
		r = -ENOMEM;
		goto free_store;
	}
	f = fopen(file, "re");
	if (!f) {
		r = -errno;
		if (r != -ENOENT)
			goto free_store;
		goto done;
	}
	r = fstat(fileno(f), &st) < 0 ? -errno : 0;
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r == 0)
		r = read_lines(ps, f, &bad);
	fclose(f);
	if (r < 0)
		goto free_store;
done:
	if (ret_bad)
		*ret_bad = bad;
	*ret = ps;
	return 0;

free_store:
	perm_store_free(ps);
	return r;
}

void
perm_store_free(struct perm_store *ps)
{
	size_t i;

	if (!ps)
		return;
	for (i = 0; i < ps->n; i++)
		free(ps->entries[i].path);
	free(ps->entries);
	free(ps->file);
	free(ps);
}

const struct perm_entry *
perm_store_get(const struct perm_store *ps, const char *path)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->entries[i].path, path) == 0)
			return &ps->entries[i];
	return NULL;
}

int
perm_store_set(struct perm_store *ps, const char *path, mode_t mode, uid_t uid,
               gid_t gid)
{
	struct perm_entry *e = (struct perm_entry *)perm_store_get(ps, path);

	if (!valid_path(path) || mode > 07777 || uid == (uid_t)-1 ||
	    gid == (gid_t)-1)
		return -EINVAL;
	if (!e) {
		if (ps->n == ps->cap) {
			size_t cap = ps->cap ? 2 * ps->cap : 16;
			struct perm_entry *n;

			n = reallocarray(ps->entries, cap, sizeof(*n));
			if (!n)
				return -ENOMEM;
			ps->entries = n;
			ps->cap = cap;
		}
		e = &ps->entries[ps->n];
		e->path = strdup(path);
		if (!e->path)
			return -ENOMEM;
		ps->n++;
	}
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	return 0;
}

/* Formats the whole store as the file's text. */
static int
format_store(const struct perm_store *ps, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;

	m = open_memstream(&buf, &len);
	if (!m)
		return -errno;
	for (i = 0; i < ps->n; i++)
		fprintf(m, "%s %04o %u %u\n", ps->entries[i].path,
		        (unsigned int)ps->entries[i].mode,
		        (unsigned int)ps->entries[i].uid,
		        (unsigned int)ps->entries[i].gid);
	if (ferror(m) | fclose(m)) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
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

	if (!slash)
		dir = strdup(".");
	else
		dir = strndup(file, slash == file ? 1 : (size_t)(slash - file));
	if (!dir)
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
perm_store_save(const struct perm_store *ps)
{
	char *tmp, *buf = NULL;
	size_t len = 0;
	int fd, r;

	r = format_store(ps, &buf, &len);
	if (r < 0)
		return r;
	tmp = malloc(strlen(ps->file) + sizeof(TMP_SUFFIX));
	if (!tmp) {
		r = -ENOMEM;
		goto free_buf;
	}
	strcpy(tmp, ps->file);
	strcat(tmp, TMP_SUFFIX);
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
	if (r == 0 && rename(tmp, ps->file) < 0)
		r = -errno;
	if (r < 0)
		goto unlink_tmp;
	r = sync_dir(ps->file);
	goto free_tmp;

unlink_tmp:
	unlink(tmp);
free_tmp:
	free(tmp);
free_buf:
	free(buf);
	return r;
}
