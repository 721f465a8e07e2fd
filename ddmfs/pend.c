/*
 * pend.c: a driver's table of requests in flight (pend.h).  It only
 * stores and selects; see pend.h for who answers what.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "pend.h"

#define P(e) ((struct pend *)(e)) /* the entry is the first member */

int
pend_add(struct pend_table *t, struct pend *p)
{
	int r = idmap_add(&t->map, &p->e);

	if (r == 0 && p->state == PEND_QUEUED)
		t->n_queued++;
	if (r == 0 && p->intr_at != 0)
		t->n_intr++;
	return r;
}

struct pend *
pend_find(const struct pend_table *t, uint64_t id)
{
	return P(idmap_find(&t->map, id));
}

struct pend *
pend_find_unique(const struct pend_table *t, uint64_t unique)
{
	struct idmap_entry *e, *cur = NULL;
	size_t pos = 0;

	while ((e = idmap_next(&t->map, &pos, &cur)) != NULL)
		if (P(e)->unique == unique)
			return P(e);
	return NULL;
}

/* Counts p out of the table's tallies. */
static void
uncount(struct pend_table *t, const struct pend *p)
{
	if (p->state == PEND_QUEUED)
		t->n_queued--;
	if (p->intr_at != 0)
		t->n_intr--;
}

struct pend *
pend_take(struct pend_table *t, uint64_t id)
{
	struct pend *p = P(idmap_take(&t->map, id));

	if (p != NULL)
		uncount(t, p);
	return p;
}

void
pend_set_state(struct pend_table *t, struct pend *p, enum pend_state s)
{
	if (p->state == PEND_QUEUED)
		t->n_queued--;
	p->state = s;
	if (s == PEND_QUEUED)
		t->n_queued++;
}

void
pend_set_intr(struct pend_table *t, struct pend *p, int64_t now)
{
	if (p->intr_at == 0)
		t->n_intr++;
	p->intr_at = now > 0 ? now : 1;
}

/* Takes out the entries sel() picks (setting their err as it says) and
 * returns them as a list, in no particular order. */
static struct pend *
take_if(struct pend_table *t, int (*sel)(struct pend *p, void *arg), void *arg)
{
	struct idmap_entry *e, *cur = NULL;
	struct pend *list = NULL;
	size_t pos = 0;

	while ((e = idmap_next(&t->map, &pos, &cur)) != NULL) {
		struct pend *p = P(e);

		if (!sel(p, arg))
			continue;
		pend_take(t, p->e.id);
		p->link = list;
		list = p;
	}
	return list;
}

static int
sel_lost(struct pend *p, void *arg)
{
	int err = *(int *)arg;

	if (p->state == PEND_QUEUED)
		return 0;
	p->err = err;
	return p->state == PEND_SENT;
}

struct pend *
pend_take_lost(struct pend_table *t, int err)
{
	return take_if(t, sel_lost, &err);
}

static int
sel_queued(struct pend *p, void *arg)
{
	return p->state == PEND_QUEUED;
}

struct pend *
pend_take_queued(struct pend_table *t)
{
	return t->n_queued > 0 ? take_if(t, sel_queued, NULL) : NULL;
}

static int
sel_all(struct pend *p, void *arg)
{
	p->err = *(int *)arg;
	return 1;
}

struct pend *
pend_take_all(struct pend_table *t, int err)
{
	return take_if(t, sel_all, &err);
}

struct expiry {
	int64_t now, grace, next;
	unsigned int n_intr;
};

static int
sel_expired(struct pend *p, void *arg)
{
	struct expiry *x = arg;
	int64_t due = PEND_NO_DEADLINE;
	int err = 0;

	if (p->state == PEND_QUEUED) {
		due = p->due;
		err = -EIO;
	} else if (p->state == PEND_SENT && p->intr_at != 0) {
		due = p->intr_at + x->grace;
		err = -EINTR;
	}
	if (due == PEND_NO_DEADLINE)
		return 0;
	if (x->now < due) {
		if (due < x->next)
			x->next = due;
		return 0;
	}
	p->err = err;
	if (err == -EINTR)
		x->n_intr++;
	return 1;
}

struct pend *
pend_take_expired(struct pend_table *t, int64_t now, int64_t grace_ms,
                  unsigned int *ret_intr, int64_t *ret_next)
{
	struct expiry x = { now, grace_ms, PEND_NO_DEADLINE, 0 };
	struct pend *list = NULL;

	if (t->n_queued > 0 || t->n_intr > 0)
		list = take_if(t, sel_expired, &x);
	*ret_intr = x.n_intr;
	*ret_next = x.next;
	return list;
}

void
pend_table_free(struct pend_table *t)
{
	idmap_free(&t->map);
	t->n_queued = 0;
	t->n_intr = 0;
}
