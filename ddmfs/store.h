/*
 * store.h: what the permission store (perm.c) and the CUSE number store
 * (cusedev.c) share: a growable array of entries keyed by a node path, and
 * reading the text file such a store lives in, one "PATH FIELD..." line an
 * entry.  Each store keeps its own typed array; an entry type must begin
 * with its "char *path" member, and these functions take the entry size.
 */
#ifndef DDMFS_STORE_H
#define DDMFS_STORE_H

#include <stddef.h>

#define STORE_PATH_MAX   255 /* longest node path kept */
#define STORE_FIELDS_MAX 4   /* fields a line may have */

/* 1 if p is [a-z0-9_/-] components, no leading/trailing or double '/',
 * or "/" alone (the root). */
int store_valid_path(const char *p);
/* Parses s, all digits in base (2 to 10), at most max: 0 or -EINVAL. */
int store_parse_num(const char *s, unsigned int base, unsigned long long max,
                    unsigned int *ret);
/*
 * Splits line (modified) at blanks into exactly n (1 to STORE_FIELDS_MAX)
 * fields: 0, or -EINVAL for any other number of fields.
 */
int store_split(char *line, char **ret_fields, int n);

/* The entry for path in entries[0..n), each size bytes, or NULL. */
void *store_find(const void *entries, size_t n, size_t size, const char *path);
/*
 * Appends an entry for path (copied) to entries[0..*n), *cap allocated:
 * returns the array, perhaps moved, with the new entry zeroed but for its
 * path and *n counted up.  NULL when out of memory; then entries, *n and
 * *cap are as they were.
 */
void *store_append(void *entries, size_t *n, size_t *cap, size_t size,
                   const char *path);
/*
 * Removes the entry for path from entries[0..*n), each size bytes, keeping
 * the order of the others: 0, or -ENOENT (nothing changed) if none.
 */
int store_remove(void *entries, size_t *n, size_t size, const char *path);
/* Frees the paths of entries[0..n) and the array; NULL is fine. */
void store_free_entries(void *entries, size_t n, size_t size);

/*
 * A hash index of such an array by path, so that a store of many entries
 * finds one in constant time: a store keeps it in step after each append
 * (store_index_add) and each removal (store_index_build).
 */
struct store_index {
	size_t *slots; /* entry index + 1; 0: empty */
	size_t cap;    /* a power of two, or 0 */
};

/* The entry for path in entries (indexed by x), or NULL. */
void *store_index_find(const struct store_index *x, const void *entries,
                       size_t size, const char *path);
/* Indexes entry n - 1 (just appended): 0, or -ENOMEM with x unusable
 * until the next successful store_index_build(). */
int store_index_add(struct store_index *x, const void *entries, size_t n,
                    size_t size);
/* Indexes entries[0..n) anew: 0 or -ENOMEM (x emptied). */
int store_index_build(struct store_index *x, const void *entries, size_t n,
                      size_t size);
void store_index_free(struct store_index *x);

/*
 * Reads file a line at a time and hands each non-empty one (newline cut,
 * modifiable) to add_line(store, line), which returns 0, 1 for a malformed
 * line (skipped), or -errno to give up.  A line holding a NUL byte is
 * malformed too.  *ret_bad counts the malformed lines.  A missing file
 * reads as empty.  Returns 0, -EISDIR for a directory, -EIO for a read
 * error, or the -errno of the open or of add_line.
 */
int store_load(const char *file, int (*add_line)(void *store, char *line),
               void *store, unsigned int *ret_bad);

#endif /* DDMFS_STORE_H */
