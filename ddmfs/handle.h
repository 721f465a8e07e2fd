/*
 * handle.h: the open files of a driver's leaves, as ddmfs tracks them.
 *
 * FUSE's fi->fh is a handle's id (id_new(), idmap.h), which names its
 * driver's slot, so a request on an open file finds its driver without a
 * lookup in the tree.  The id is also what the driver sees as DDM_*.fh.
 * The owning driver's lock guards the table.
 */
#ifndef DDMFS_HANDLE_H
#define DDMFS_HANDLE_H

#include <stdint.h>

#include "idmap.h"

struct handle {
	struct idmap_entry e; /* e.id: the fh */
	uint64_t gen;         /* driver instance it was opened on */
	uint64_t kh;          /* the kernel's poll handle to notify; 0: none */
	int flags;            /* open(2) flags */
	unsigned int node;    /* which node of the instance; HANDLE_NODE_UNKNOWN
	                       * for one an upgrade handed over */
};

#define HANDLE_NODE_UNKNOWN (~0u)

struct handle_table {
	struct idmap map;
};

int handle_add(struct handle_table *t, struct handle *h);
struct handle *handle_find(const struct handle_table *t, uint64_t fh);
struct handle *handle_take(struct handle_table *t, uint64_t fh);
/* Iterates as idmap_next() does. */
struct handle *handle_next(const struct handle_table *t, size_t *pos,
                           struct idmap_entry **cursor);
/* Frees every handle and the index. */
void handle_table_free(struct handle_table *t);

#endif /* DDMFS_HANDLE_H */
