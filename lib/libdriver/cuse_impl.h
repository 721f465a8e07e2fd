/*
 * cuse_impl.h: the CUSE transport's private structures, shared by cuse.c
 * (session, answers, control socket) and cuse_req.c (requests in).
 */
#ifndef CUSE_IMPL_H
#define CUSE_IMPL_H

#define FUSE_USE_VERSION 312

#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>

#include "driver_impl.h"

#define QUEUE_MIN 8 /* room for decoded requests waiting for next() */
#define QUEUE_MAX                                                              \
	4096 /* requests queued at most; a release or an                       \
	      * interrupt always finds room */

/* One open file of the device; its address is the fh the kernel echoes. */
struct copen {
	struct fuse_pollhandle *ph; /* the newest poll that asked for notify */
	struct copen *prev, *next;  /* cuse.opens, or cuse.dead (next only) */
};

#define CREQ_SPARE 8 /* struct creq kept for reuse */

/* One request in flight: the transport cookie (ddm_rq.tctx). */
struct creq {
	fuse_req_t req;
	struct cuse *c;
	enum ddm_op op;
	uint64_t id;
	struct copen *co; /* open: the file being opened */
};

/* What the CUSE devices of one instance share: when to say HELLO. */
struct cuse_ctl {
	unsigned int n;      /* devices, each holding a reference */
	unsigned int inited; /* devices that exist */
	bool may_hello;      /* the driver's init succeeded */
	bool hello_sent;
};

struct cuse {
	struct ddm_transport t; /* first member; t.fd is the /dev/cuse fd */
	struct fuse_session *se;
	struct fuse_buf buf; /* one received CUSE message */
	struct cuse_ctl *ctl;
	unsigned int major, minor; /* asked for; 0:0 lets the kernel pick */
	char *devname;             /* "ddm!isa0!rtc0" */
	bool inited;               /* CUSE_INIT answered: the device exists */
	struct ddm_rq *q;          /* a ring of qcap */
	unsigned int qhead, qlen, qcap;
	struct copen *opens; /* open files */
	struct copen *dead;  /* released; freed once their release is served */
	uint64_t last_id;
	/* answered requests' cookies, kept for the next ones */
	struct creq *spare[CREQ_SPARE];
	unsigned int n_spare;
};

/* The open file whose fh the kernel echoes. */
struct copen *cuse_copen(uint64_t fh);
/* Frees co and its pollhandle; NULL is fine. */
void cuse_copen_free(struct copen *co);
/* Moves co from the open list to the dead list. */
void cuse_copen_kill(struct cuse *c, struct copen *co);
/* A zeroed cookie, or NULL; cuse_creq_put() gives it back. */
struct creq *cuse_creq_get(struct cuse *c);
void cuse_creq_put(struct cuse *c, struct creq *cr);
/* Queues rq for next(); 0 or -ENOBUFS (never for a release). */
int cuse_push(struct cuse *c, const struct ddm_rq *rq);
/* A hook suspended tctx's request: its interrupts are heard from now. */
void cuse_suspended(struct ddm_transport *t, void *tctx);
/* CUSE_INIT is answered: the device exists now (cuse.c). */
void cuse_init_done(void *userdata);

extern const struct cuse_lowlevel_ops cuse_clops;

#endif /* CUSE_IMPL_H */
