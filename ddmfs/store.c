/*
 * store.c: the path-keyed entry arrays and the forgiving line reader that
 * the permission store and the CUSE number store are built on.  Loading
 * skips and counts a malformed line, and the good lines around it survive.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

#define FIELD_SEP " \t"

/* The path of entry i; every entry type begins with its char *path. */
static char **
path_of(const void *entries, size_t i, size_t size)
{
	return (char **)((const char *)entries + i * size);
}

int
store_valid_path(const char *p)
{
	size_t n = strlen(p);

	if (strcmp(p, "/") == 0)
		return 1; /* the root */
	if (n == 0 || n > STORE_PATH_MAX || p[0] == '/' || p[n - 1] == '/' ||
	    strstr(p, "//"))
		return 0;
	return strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_/-") == n;
}

int
store_parse_num(const char *s, unsigned int base, unsigned long long max,
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

int
store_split(char *line, char **ret_fields, int n)
{
	char *f[STORE_FIELDS_MAX + 1], *save = NULL;
	int i;

	if (n < 1 || n > STORE_FIELDS_MAX)
		return -EINVAL;
	for (i = 0; i <= n; i++)
		if ((f[i] = strtok_r(i ? NULL : line, FIELD_SEP, &save)) ==
		    NULL)
			break;
	if (i != n)
		return -EINVAL;
	memcpy(ret_fields, f, (size_t)n * sizeof(*f));
	return 0;
}

void *
store_find(const void *entries, size_t n, size_t size, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(*path_of(entries, i, size), path) == 0)
			return path_of(entries, i, size);
	return NULL;
}

void *
store_append(void *entries, size_t *n, size_t *cap, size_t size,
             const char *path)
{
	char *dup = strdup(path), *e;
	size_t new_cap = *cap;

	if (dup == NULL)
		return NULL;
	if (*n == *cap) {
		new_cap = *cap ? 2 * *cap : 16;
		entries = reallocarray(entries, new_cap, size);
		if (entries == NULL) {
			free(dup);
			return NULL;
		}
	}
	e = (char *)entries + *n * size;
	memset(e, 0, size);
	*(char **)e = dup;
	*cap = new_cap;
	(*n)++;
	return entries;
}

int
store_remove(void *entries, size_t *n, size_t size, const char *path)
{
	char **e = store_find(entries, *n, size, path);
	size_t i;

	if (e == NULL)
		return -ENOENT;
	i = (size_t)((char *)e - (char *)entries) / size;
	free(*e);
	memmove(e, (char *)e + size, (*n - i - 1) * size);
	(*n)--;
	return 0;
}

void
store_free_entries(void *entries, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++)
		free(*path_of(entries, i, size));
	free(entries);
}

/* FNV-1a of path. */
static size_t
hash(const char *path)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *path != '\0'; path++)
		h = (h ^ (unsigned char)*path) * 1099511628211ULL;
	return (size_t)h;
}

void *
store_index_find(const struct store_index *x, const void *entries, size_t size,
                 const char *path)
{
	if (x->cap == 0)
		return NULL;
	for (size_t i = hash(path) & (x->cap - 1); x->slots[i] != 0;
	     i = (i + 1) & (x->cap - 1)) {
		char **p = path_of(entries, x->slots[i] - 1, size);

		if (strcmp(*p, path) == 0)
			return p;
	}
	return NULL;
}

/* Puts entry i into x, which has room. */
static void
index_put(struct store_index *x, const void *entries, size_t i, size_t size)
{
	size_t s = hash(*path_of(entries, i, size)) & (x->cap - 1);

	while (x->slots[s] != 0)
		s = (s + 1) & (x->cap - 1);
	x->slots[s] = i + 1;
}

int
store_index_build(struct store_index *x, const void *entries, size_t n,
                  size_t size)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	free(x->slots);
	x->slots = calloc(cap, sizeof(*x->slots));
	if (x->slots == NULL) {
		x->cap = 0;
		return -ENOMEM;
	}
	x->cap = cap;
	for (size_t i = 0; i < n; i++)
		index_put(x, entries, i, size);
	return 0;
}

int
store_index_add(struct store_index *x, const void *entries, size_t n,
                size_t size)
{
	if (2 * n > x->cap)
		return store_index_build(x, entries, n, size);
	index_put(x, entries, n - 1, size);
	return 0;
}

void
store_index_free(struct store_index *x)
{
	free(x->slots);
	x->slots = NULL;
	x->cap = 0;
}

/* Reads every line of f into store, counting malformed ones in *bad. */
static int
read_lines(FILE *f, int (*add_line)(void *store, char *line), void *store,
           unsigned int *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		/* a NUL byte inside: malformed whatever add_line thinks */
		r = strlen(line) != (size_t)len ? 1 : add_line(store, line);
		if (r < 0)
			goto free_line;
		if (r > 0)
			(*bad)++;
	}
	r = ferror(f) ? -EIO : 0;
free_line:
	free(line);
	return r;
}

int
store_load(const char *file, int (*add_line)(void *store, char *line),
           void *store, unsigned int *ret_bad)
{
	unsigned int bad = 0;
	struct stat st;
	FILE *f;
	int r;

	f = fopen(file, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			return -errno;
		*ret_bad = 0;
		return 0;
	}
	r = fstat(fileno(f), &st) < 0 ? -errno : 0;
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r == 0)
		r = read_lines(f, add_line, store, &bad);
	fclose(f);
	if (r < 0)
		return r;
	*ret_bad = bad;
	return 0;
}
