/*
 * pend.h: a driver's table of requests in flight.
 *
 * A plain table: it stores, finds and takes out entries, and hands its
 * caller the entries whose turn has come (a driver died, a queued open
 * may go out, a deadline passed).  It never answers, sends or restarts
 * anything: the caller (fwd.c, drv.c) acts on what it returns, after
 * dropping its lock.  The owning driver's lock guards it.
 *
 * Life of an entry: a worker adds it (PEND_NEW: only that worker may
 * answer it; others only mark it failed or interrupted), then sends it
 * (PEND_SENT: whoever takes it out answers it, once) or, for an open
 * whose driver is coming up, parks it (PEND_QUEUED, with a deadline).
 */
#ifndef DDMFS_PEND_H
#define DDMFS_PEND_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "ddm_proto.h"
#include "idmap.h"

#define PEND_NO_DEADLINE INT64_MAX /* a time that never comes */

enum pend_state {
	PEND_NEW,    /* added, its worker still owns it */
	PEND_SENT,   /* with the driver */
	PEND_QUEUED, /* an open waiting for its driver to come up */
};

struct pend {
	struct idmap_entry e; /* e.id: the request id the driver sees */
	fuse_req_t req;       /* NULL once handed over by an upgrade */
	uint64_t unique;      /* the kernel's id of the request */
	enum ddm_op op;
	enum pend_state state;
	uint64_t fh;   /* the handle (DDM_OPEN: the new one) */
	size_t size;   /* read: asked for; write: given; ioctl: out size */
	int flags;     /* DDM_OPEN: the open flags */
	uint32_t node; /* DDM_OPEN: which node of the instance */
	uint32_t uid, gid, pid; /* the caller */
	bool intr;              /* interrupted while PEND_NEW */
	int err;     /* -errno: fail it (set while PEND_NEW, or on a list) */
	int64_t due; /* PEND_QUEUED: fail it -EIO at this time */
	int64_t intr_at;   /* DDM_INTERRUPT sent at this time; 0: not */
	struct pend *link; /* on a list handed to the caller */
	/* with -d (fwd.c): when it came, in µs (0: not traced), and what it
	 * asks, "isa0/rtc0: read 4096 @0"; room only when traced */
	int64_t trace_us;
	char trace[];
};

struct pend_table {
	struct idmap map;
	unsigned int n_queued; /* entries in PEND_QUEUED */
	unsigned int n_intr;   /* entries with intr_at set */
};

/* Adds p (p->e.id set): 0 or -ENOMEM. */
int pend_add(struct pend_table *t, struct pend *p);
/* The entry for id, or NULL. */
struct pend *pend_find(const struct pend_table *t, uint64_t id);
/* Takes the entry for id out, or returns NULL. */
struct pend *pend_take(struct pend_table *t, uint64_t id);
/* The entry whose kernel id is unique, or NULL (a scan: rare use). */
struct pend *pend_find_unique(const struct pend_table *t, uint64_t unique);
/* Sets p's state, keeping the counts right. */
void pend_set_state(struct pend_table *t, struct pend *p, enum pend_state s);
/* Marks p interrupted at now (its DDM_INTERRUPT went out). */
void pend_set_intr(struct pend_table *t, struct pend *p, int64_t now);

/*
 * The driver instance is gone: takes out every sent entry, with err set,
 * and returns them as a list; entries still PEND_NEW only get err set
 * (their worker answers them); queued opens stay, for the next instance.
 */
struct pend *pend_take_lost(struct pend_table *t, int err);
/* Takes out every queued open (to send now), as a list. */
struct pend *pend_take_queued(struct pend_table *t);
/* Takes out every entry, whatever its state, with err set, as a list. */
struct pend *pend_take_all(struct pend_table *t, int err);
/*
 * Takes out the entries whose deadline passed at now: queued opens past
 * their due time (err -EIO) and interrupted requests unanswered for
 * grace_ms (err -EINTR).  *ret_intr counts the latter.  *ret_next gets the
 * next deadline still ahead, PEND_NO_DEADLINE for none.
 */
struct pend *pend_take_expired(struct pend_table *t, int64_t now,
                               int64_t grace_ms, unsigned int *ret_intr,
                               int64_t *ret_next);
/* Frees the index (not the entries). */
void pend_table_free(struct pend_table *t);

#endif /* DDMFS_PEND_H */
