/*
 * perm.c: the permission store, "PATH MODE UID GID [a=ACL] [d=ACL]" lines
 * in <state_dir>/perms.
 *
 * Loading is forgiving: a malformed line is skipped and counted, and the
 * good lines around it survive (store.c).  Saving is atomic (atomic.c): a
 * crash leaves the old or the new file.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "perm.h"
#include "store.h"

#define ID_RESERVED    0xffffffffULL /* (uid_t)-1: not a valid id */
#define PERM_FILE_MODE 0644

_Static_assert(offsetof(struct perm_entry, path) == 0,
               "store.c needs the path first");

#define FIELDS_MAX 6 /* PATH MODE UID GID a=... d=... */

/* Parses one line and sets its entry: 0, 1 if malformed, or -ENOMEM. */
static int
add_line(void *store, char *line)
{
	struct perm_entry v = { 0 };
	unsigned int mode, uid, gid;
	char *f[FIELDS_MAX + 1], *save = NULL;
	int n = 0, r;

	while (n <= FIELDS_MAX &&
	       (f[n] = strtok_r(n ? NULL : line, " \t", &save)) != NULL)
		n++;
	if (n < 4 || n > FIELDS_MAX || !store_valid_path(f[0]) ||
	    store_parse_num(f[1], 8, 07777, &mode) < 0 ||
	    store_parse_num(f[2], 10, ID_RESERVED - 1, &uid) < 0 ||
	    store_parse_num(f[3], 10, ID_RESERVED - 1, &gid) < 0)
		return 1;
	v.mode = mode;
	v.uid = uid;
	v.gid = gid;
	for (int i = 4; i < n; i++) {
		struct acl *a = strncmp(f[i], "a=", 2) == 0   ? &v.acl
		                : strncmp(f[i], "d=", 2) == 0 ? &v.dacl
		                                              : NULL;

		if (a == NULL || a->n != 0 || acl_from_text(f[i] + 2, a) < 0)
			return 1;
	}
	if (v.acl.n != 0 && acl_is_minimal(&v.acl))
		return 1; /* a mode in disguise: never written so */
	r = perm_store_put(store, f[0], &v);
	return r == -EINVAL ? 1 : r;
}

int
perm_store_open(const char *file, struct perm_store **ret,
                unsigned int *ret_bad)
{
	struct perm_store *ps;
	unsigned int bad;
	int r;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->file = strdup(file);
	if (!ps->file) {
		r = -ENOMEM;
		goto free_store;
	}
	r = store_load(file, add_line, ps, &bad);
	if (r < 0)
		goto free_store;
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
	if (!ps)
		return;
	store_free_entries(ps->entries, ps->n, sizeof(*ps->entries));
	store_index_free(&ps->index);
	free(ps->file);
	free(ps);
}

/* The entry for path, through the index when it is in step. */
static struct perm_entry *
find(const struct perm_store *ps, const char *path)
{
	if (ps->indexed)
		return store_index_find(&ps->index, ps->entries,
		                        sizeof(*ps->entries), path);
	return store_find(ps->entries, ps->n, sizeof(*ps->entries), path);
}

const struct perm_entry *
perm_store_get(const struct perm_store *ps, const char *path)
{
	return find(ps, path);
}

int
perm_store_set(struct perm_store *ps, const char *path, mode_t mode, uid_t uid,
               gid_t gid)
{
	struct perm_entry *e;

	if (!store_valid_path(path) || mode > 07777 || uid == (uid_t)-1 ||
	    gid == (gid_t)-1)
		return -EINVAL;
	e = find(ps, path);
	if (!e) {
		e = store_append(ps->entries, &ps->n, &ps->cap, sizeof(*e),
		                 path);
		if (!e)
			return -ENOMEM;
		ps->entries = e;
		e = &ps->entries[ps->n - 1];
		/* without an index, finds are linear but right */
		if (ps->indexed)
			ps->indexed = store_index_add(&ps->index, ps->entries,
			                              ps->n, sizeof(*e)) == 0;
		else
			ps->indexed = store_index_build(&ps->index, ps->entries,
			                                ps->n, sizeof(*e)) == 0;
	}
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	if (e->acl.n != 0)
		acl_sync_mode(&e->acl, mode);
	return 0;
}

int
perm_store_put(struct perm_store *ps, const char *path,
               const struct perm_entry *val)
{
	struct acl a = val->acl, d = val->dacl;
	struct perm_entry *e;
	int r;

	if ((a.n != 0 && acl_check(&a) < 0) || (d.n != 0 && acl_check(&d) < 0))
		return -EINVAL;
	r = perm_store_set(ps, path, val->mode, val->uid, val->gid);
	if (r < 0)
		return r;
	e = find(ps, path);
	e->acl = a;
	e->dacl = d;
	if (e->acl.n != 0)
		acl_sync_mode(&e->acl, e->mode);
	return 0;
}

int
perm_store_remove(struct perm_store *ps, const char *path)
{
	int r = store_remove(ps->entries, &ps->n, sizeof(*ps->entries), path);

	/* the entries after it moved down */
	if (r == 0)
		ps->indexed = store_index_build(&ps->index, ps->entries, ps->n,
		                                sizeof(*ps->entries)) == 0;
	return r;
}

int
perm_store_format(const struct perm_store *ps, char **ret_buf, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	m = open_memstream(&buf, &len);
	if (!m)
		return -errno;
	for (size_t i = 0; i < ps->n; i++) {
		const struct perm_entry *e = &ps->entries[i];
		char text[ACL_TEXT_MAX];

		fprintf(m, "%s %04o %u %u", e->path, (unsigned int)e->mode,
		        (unsigned int)e->uid, (unsigned int)e->gid);
		if (e->acl.n != 0) {
			acl_to_text(&e->acl, text, sizeof(text));
			fprintf(m, " a=%s", text);
		}
		if (e->dacl.n != 0) {
			acl_to_text(&e->dacl, text, sizeof(text));
			fprintf(m, " d=%s", text);
		}
		fputc('\n', m);
	}
	if (ferror(m) | fclose(m)) {
		free(buf);
		return -ENOMEM;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int
perm_store_write(const struct perm_store *ps, const char *buf, size_t len)
{
	return atomic_write(ps->file, buf, len, PERM_FILE_MODE);
}

int
perm_store_save(const struct perm_store *ps)
{
	char *buf;
	size_t len;
	int r = perm_store_format(ps, &buf, &len);

	if (r < 0)
		return r;
	r = perm_store_write(ps, buf, len);
	free(buf);
	return r;
}
