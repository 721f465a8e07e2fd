/*
 * handle.c: the open files of a driver's leaves (handle.h).
 */
#include "config.h"

#include <stdlib.h>

#include "handle.h"

int
handle_add(struct handle_table *t, struct handle *h)
{
	return idmap_add(&t->map, &h->e);
}

struct handle *
handle_find(const struct handle_table *t, uint64_t fh)
{
	return (struct handle *)idmap_find(&t->map, fh);
}

struct handle *
handle_take(struct handle_table *t, uint64_t fh)
{
	return (struct handle *)idmap_take(&t->map, fh);
}

struct handle *
handle_next(const struct handle_table *t, size_t *pos,
            struct idmap_entry **cursor)
{
	return (struct handle *)idmap_next(&t->map, pos, cursor);
}

void
handle_table_free(struct handle_table *t)
{
	struct idmap_entry *e, *cur = NULL;
	size_t pos = 0;

	while ((e = idmap_next(&t->map, &pos, &cur)) != NULL)
		free(e);
	idmap_free(&t->map);
}
