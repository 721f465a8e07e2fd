/*
 * idmap.c: the intrusive id hash table (idmap.h).
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "idmap.h"

#define IDMAP_MIN 16 /* buckets of a new table */

static atomic_uint_fast64_t id_seq;

uint64_t
id_new(unsigned int slot)
{
	uint64_t s = (atomic_fetch_add(&id_seq, 1) + 1) & ID_SEQ_MASK;

	return (uint64_t)slot << ID_SLOT_SHIFT | s;
}

uint64_t
id_last(void)
{
	return atomic_load(&id_seq);
}

void
id_seen(uint64_t id)
{
	uint_fast64_t s = id & ID_SEQ_MASK, cur = atomic_load(&id_seq);

	while (cur < s && !atomic_compare_exchange_weak(&id_seq, &cur, s))
		;
}

unsigned int
id_slot(uint64_t id)
{
	return (unsigned int)(id >> ID_SLOT_SHIFT);
}

static size_t
slot(const struct idmap *m, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (m->nb - 1);
}

/* Doubles the buckets: 0 or -ENOMEM (the old array stays in use). */
static int
grow(struct idmap *m)
{
	size_t nb = m->nb ? 2 * m->nb : IDMAP_MIN, old_nb = m->nb;
	struct idmap_entry **old = m->b, *e, *next;

	m->b = calloc(nb, sizeof(*m->b));
	if (m->b == NULL) {
		m->b = old;
		return -ENOMEM;
	}
	m->nb = nb;
	for (size_t i = 0; i < old_nb; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			e->next = m->b[slot(m, e->id)];
			m->b[slot(m, e->id)] = e;
		}
	free(old);
	return 0;
}

int
idmap_add(struct idmap *m, struct idmap_entry *e)
{
	size_t i;

	if ((m->nb == 0 || m->n >= 2 * m->nb) && grow(m) < 0 && m->nb == 0)
		return -ENOMEM;
	i = slot(m, e->id);
	e->next = m->b[i];
	m->b[i] = e;
	m->n++;
	return 0;
}

struct idmap_entry *
idmap_find(const struct idmap *m, uint64_t id)
{
	if (m->nb == 0)
		return NULL;
	for (struct idmap_entry *e = m->b[slot(m, id)]; e != NULL; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

struct idmap_entry *
idmap_take(struct idmap *m, uint64_t id)
{
	if (m->nb == 0)
		return NULL;
	for (struct idmap_entry **pe = &m->b[slot(m, id)]; *pe != NULL;
	     pe = &(*pe)->next) {
		struct idmap_entry *e = *pe;

		if (e->id == id) {
			*pe = e->next;
			m->n--;
			return e;
		}
	}
	return NULL;
}

void
idmap_free(struct idmap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = 0;
	m->n = 0;
}

struct idmap_entry *
idmap_next(const struct idmap *m, size_t *pos, struct idmap_entry **cursor)
{
	struct idmap_entry *e = *cursor;

	while (e == NULL) {
		if (*pos >= m->nb)
			return NULL;
		e = m->b[(*pos)++];
	}
	*cursor = e->next;
	return e;
}
