/*
 * idmap.h: an intrusive hash table keyed by a 64-bit id, the index under
 * the pending-request table (pend.c) and a driver's handle table
 * (handle.c).  An entry type embeds struct idmap_entry; the table never
 * allocates entries, only its bucket array, which doubles as it fills.
 * No locking: the owner's lock guards it.
 */
#ifndef DDMFS_IDMAP_H
#define DDMFS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_entry {
	uint64_t id;
	struct idmap_entry *next; /* bucket chain */
};

struct idmap {
	struct idmap_entry **b;
	size_t nb; /* buckets, a power of two; 0 before the first add */
	size_t n;  /* entries */
};

/* Adds e (e->id set, not in the map): 0 or -ENOMEM. */
int idmap_add(struct idmap *m, struct idmap_entry *e);
/* The entry with id, or NULL. */
struct idmap_entry *idmap_find(const struct idmap *m, uint64_t id);
/* Takes the entry with id out and returns it, or NULL. */
struct idmap_entry *idmap_take(struct idmap *m, uint64_t id);
/* Frees the bucket array (not the entries); the map is empty again. */
void idmap_free(struct idmap *m);

/*
 * Ids of requests and handles: a driver's slot (drv.h) in the top bits
 * and, below, a sequence number that never repeats in this ddmfs (nor
 * across its upgrades), so an id alone names its driver.
 */
#define ID_SLOT_SHIFT 40
#define ID_SEQ_MASK   ((UINT64_C(1) << ID_SLOT_SHIFT) - 1)

/* A new id in slot. */
uint64_t id_new(unsigned int slot);
/* The last sequence number given (for an upgrade). */
uint64_t id_last(void);
/* Makes later ids' sequence numbers larger than id's (an upgrade). */
void id_seen(uint64_t id);
/* The slot an id belongs to. */
unsigned int id_slot(uint64_t id);

/*
 * Iterates: *pos starts at 0; returns each entry once, then NULL.  The
 * current entry may be taken out (idmap_take) between calls; nothing else
 * may change.
 */
struct idmap_entry *idmap_next(const struct idmap *m, size_t *pos,
                               struct idmap_entry **cursor);

#endif /* DDMFS_IDMAP_H */
