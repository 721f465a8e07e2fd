/*
 * drv.h: driver supervision.  One struct drv per driver instance outlives
 * its processes; this module decides what happens to it.
 *
 *   stopped -> starting -(HELLO)-> running -(killed, hung up)-> dying
 *   dying -(exit)-> backoff -(delay)-> starting
 *   too many quick failures in a row: failed, retried after
 *   DRV_FAILED_RETRY_MS;  ddmctl stop: stopping -> stopped;
 *   ddmctl restart: stopping -> starting;  ddmctl start: starting.
 *   spawn = "manual": where a spawn would be, manual, until a driver
 *   started by hand attaches (drv_attach()): starting; its exit goes
 *   back to manual, with no backoff and no failure counted.
 *
 * Opens wait (queued, pend.h) while a driver is starting, dying, in
 * backoff or restarting; they fail with ENXIO when it is stopped or
 * failed.  Every deadline is a time this module computes (drv_tick()
 * acts on the due ones and says when the next is due); none is a timer
 * fd.  While a driver is traced (a debugger holds it), the deadlines that
 * would kill it are paused.
 *
 * The caller holds d->lock for every call but drv_new/drv_free/the slot
 * table.  What must happen outside the lock (answering failed requests,
 * waking pollers) is put in a struct drv_out for the caller to finish
 * (fwd_finish()).  The outside world (spawning, signals, the event loop,
 * the clock) is reached through struct drv_sys, so unit tests can
 * replace it.
 */
#ifndef DDMFS_DRV_H
#define DDMFS_DRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"
#include "conf.h"
#include "handle.h"
#include "log.h"
#include "pend.h"
#include "tree.h"

#define DRV_BACKOFF_MIN_MS  100   /* first restart delay, doubled per failure */
#define DRV_BACKOFF_MAX_MS  5000  /* the delay never exceeds this */
#define DRV_FAIL_MAX        5     /* failures in a row before "failed" */
#define DRV_FAILED_RETRY_MS 60000 /* a failed driver is tried again after */
#define DRV_STABLE_MS       2000  /* up this long: the failures in a row end */
#define DRV_HELLO_MS        5000  /* time a new driver has to send HELLO */
#define DRV_ADOPT_MS        3000  /* time an orphan has to answer DDM_ADOPT */
#define DRV_STOP_MS         2000  /* SIGTERM to SIGKILL when stopping */
#define DRV_HANGUP_MS       500   /* socket closed to SIGKILL if still alive */
#define DRV_OPEN_WAIT_MS    3000  /* an open waits this long for a restart */
#define DRV_SEND_TIMEOUT_MS                                                    \
	5000 /* a driver that leaves its socket full this long is restarted */
#define DRV_INTERRUPT_GRACE_MS                                                 \
	1000 /* an interrupted request still unanswered after this long is     \
	      * answered EINTR by ddmfs, and the driver is restarted */
#define DRV_PING_INTERVAL_MS 2000 /* a driver silent this long is pinged */
#define DRV_PING_TIMEOUT_MS                                                    \
	5000 /* a ping unanswered (and the driver silent) this long            \
	      * restarts the driver */
#define DRV_BOGUS_MAX     8  /* bogus messages in a row before a fault */
#define DRV_LOG_BURST     10 /* log lines per driver per window */
#define DRV_LOG_WINDOW_MS 10000
#define DRV_NO_DEADLINE   PEND_NO_DEADLINE

enum drv_state {
	DRV_STOPPED,
	DRV_STARTING, /* spawned or being adopted, waiting for DDM_HELLO */
	DRV_RUNNING,
	DRV_DYING,    /* killed or hung up; restarted once it has exited */
	DRV_BACKOFF,  /* waiting to be restarted */
	DRV_FAILED,   /* failed too often; tried again later */
	DRV_STOPPING, /* told to stop (or restart), waiting for the exit */
	DRV_MANUAL,   /* spawn = "manual": waiting for a hand-started driver
	               * to attach (ddmctl's socket, "attach NODE") */
};

enum drv_timer {
	TIMER_NONE,
	TIMER_RESTART, /* backoff or failed retry over: spawn */
	TIMER_HELLO,   /* no DDM_HELLO in time: kill */
	TIMER_KILL,    /* SIGTERM or hangup not obeyed in time: SIGKILL */
};

/* How a driver is started: a copy of its conf entry, fixed per instance. */
struct drv_conf {
	char *driver; /* bare name, "ddm-rtc" */
	char *exe;    /* the binary found along the driver path */
	char *io;     /* "sim", "pio", "devport" */
	struct conf_ports ports[CONF_PORTS_MAX];
	unsigned int n_ports;
	uid_t run_uid;
	gid_t run_gid;
	char **args; /* NULL-terminated */
	/* its nodes, as --nodes gives them: "rtc0", "nvram0:nvram" */
	char **nodes; /* n_nodes strings, allocated */
	unsigned int n_nodes;
	bool manual; /* spawn = "manual": a driver started by hand attaches */
	char pci[CONF_PCI_ADDR_MAX];    /* its PCI function; "": none */
	char unbind[CONF_NAME_MAX + 1]; /* kernel driver of its ports; "" */
};

/* A process that drv_sys.spawn started (or that adoption found). */
struct drv_proc {
	pid_t pid;
	int pidfd;
	int sock;            /* ddmfs's end of the driver socket */
	uint64_t start_time; /* /proc/PID/stat starttime, for the records */
};

struct drv {
	unsigned int slot; /* in the slot table; names its ids (idmap.h) */
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* state changes (CLOCK_MONOTONIC) */
	char path[NODE_PATH_MAX]; /* the instance's (its conf entry), for logs
	                           */
	/* its leaves, by index (DDM_OPEN.arg1); NULL once removed (tree
	 * lock) */
	struct node **nodes; /* cap_nodes allocated */
	unsigned int n_nodes, cap_nodes;
	struct drv_conf cf;
	enum drv_state state;
	bool want_up;  /* started by the admin; a stopping driver restarts */
	bool removed;  /* its node went away: never started again */
	bool adopting; /* starting: an orphan of an earlier ddmfs */
	struct drv_proc proc; /* pid 0: no process */
	struct chan *chan;    /* NULL: no instance to talk to */
	uint64_t gen;         /* bumped when an instance goes away */
	unsigned int fails;   /* failures in a row */
	unsigned int restarts;
	/* the largest payload its driver takes (DDM_HELLO.arg2); read
	 * without d->lock by the forwarding path */
	_Atomic unsigned int payload_max;
	uint64_t requests;      /* forwarded to the driver, for ddmctl */
	uint64_t errors;        /* of those, answered with an error */
	struct log_ring recent; /* its last log lines, for ddmctl status */
	unsigned int pins; /* holders that keep a removed driver allocated */
	int64_t started_ms;
	int64_t up_ms; /* this instance said HELLO then; 0: not yet */
	enum drv_timer timer;
	int64_t timer_at;
	int64_t heard_ms; /* the instance's last message */
	uint64_t ping_id; /* the DDM_PING not answered yet; 0: none */
	int64_t ping_ms;
	unsigned int bogus; /* bogus messages in a row */
	int64_t log_ms;     /* start of the drv_log() window */
	unsigned int log_lines;
	unsigned long log_dropped;
	struct pend_table pend;
	struct handle_table handles;
	void *ev; /* the event loop's own data */
};

/* What a call leaves for its caller to do once d->lock is dropped. */
struct drv_out {
	struct pend *fail; /* answer each with its err */
	uint64_t *kh;      /* kernel poll handles to wake */
	size_t n_kh, cap_kh;
};

struct drv_sys {
	int64_t (*now)(void); /* CLOCK_MONOTONIC in ms */
	/* Starts d's driver: 0 with *ret filled, or -errno (logged). */
	int (*spawn)(struct drv *d, struct drv_proc *ret);
	/* Sends sig to d's process. */
	void (*signal)(struct drv *d, int sig);
	/* Whether d's process is being traced (a debugger). */
	bool (*traced)(struct drv *d);
	/* The event loop starts or stops watching d's socket and pidfd. */
	void (*attach)(struct drv *d);
	void (*detach_chan)(struct drv *d);
	void (*detach_pid)(struct drv *d);
	/* d's deadlines or state changed: the event loop looks again. */
	void (*wake)(struct drv *d);
	/* A worker sent a request to d on ch (a reference it holds; no
	 * lock held, d pinned) while others wait: it answers what d's driver
	 * sent back so far.  NULL: the event loop alone receives. */
	void (*receive)(struct drv *d, struct chan *ch);
	/* d's process changed: the adoption records must follow. */
	void (*record)(struct drv *d);
};

extern const struct drv_sys *drv_sys;

/* A new stopped driver instance at path ("bus/name"), started as cf says
 * (cf is moved in, and freed with d), with node n (may be NULL) as its
 * first node: 0 or -errno. */
int drv_new(struct node *n, struct drv_conf *cf, struct drv **ret);
int drv_new_at(const char *path, struct drv_conf *cf, struct drv **ret);
/* Makes n node i of d (tree lock held): 0 or -ENOMEM. */
int drv_set_node(struct drv *d, unsigned int i, struct node *n);
/* The same in a given slot (an upgrade keeps every driver's slot, since
 * ids name it), for node n or, with n NULL, a removed one at path:
 * -EEXIST if the slot is taken. */
int drv_new_slot(struct node *n, const char *path, struct drv_conf *cf,
                 unsigned int slot, struct drv **ret);
/* Frees d (no process, no handles, no requests); NULL is fine. */
void drv_free(struct drv *d);
void drv_conf_free(struct drv_conf *cf);
/* Whether a and b start the driver the same way. */
bool drv_conf_same(const struct drv_conf *a, const struct drv_conf *b);
/* d's slot table entry (dfs.tree_lock for slots not pinned otherwise). */
struct drv *drv_by_slot(unsigned int slot);
/* Calls fn on every driver (tree lock held). */
void drv_each(void (*fn)(struct drv *d, void *arg), void *arg);

const char *drv_state_name(enum drv_state s);
/* Whether opens on d wait for it to come up (rather than fail). */
bool drv_coming_up(const struct drv *d);
/* Whether d has an instance that takes requests. */
bool drv_up(const struct drv *d);

void drv_start(struct drv *d, struct drv_out *out);
void drv_stop(struct drv *d, struct drv_out *out);
void drv_restart(struct drv *d, struct drv_out *out);
/* Its node is gone: stop for good; handles get ENODEV from now on. */
void drv_remove(struct drv *d, struct drv_out *out);
/* Kills d's instance for breaking the protocol (why is logged). */
void drv_fault(struct drv *d, const char *why, struct drv_out *out);
/* DDM_HELLO: -EPROTO with why for a HELLO out of place. */
int drv_hello(struct drv *d, const struct ddm_msg *m, char *why, size_t whylen,
              struct drv_out *out);
/* d's driver closed its socket. */
void drv_hangup(struct drv *d, struct drv_out *out);
/* d's process exited; status as waitpid() gives it, -1: unknown. */
void drv_exited(struct drv *d, int status, struct drv_out *out);
/* Acts on d's deadlines due at now; returns the next one. */
int64_t drv_tick(struct drv *d, int64_t now, struct drv_out *out);
/* A message from d's driver was heard (resets the heartbeat). */
void drv_heard(struct drv *d, int64_t now);
/* Counts a bogus message; more than DRV_BOGUS_MAX in a row: a fault. */
void drv_bogus(struct drv *d, const char *what, struct drv_out *out);
/* A driver started by hand attached to manual d, as proc (its socket is
 * ddmfs's end): starting.  -EBUSY unless d waits for one. */
int drv_attach(struct drv *d, const struct drv_proc *proc);
/* Takes over an orphan of an earlier ddmfs that proc describes
 * (its socket already got DDM_ADOPT): starting, with DRV_ADOPT_MS. */
void drv_adopt(struct drv *d, const struct drv_proc *proc, struct drv_out *out);
/* Logs a line about d with its node, driver and pid as fields, and
 * keeps it in d->recent (d->lock held). */
void lognode(struct drv *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The same for routine news (a start): on stderr only with -d. */
void lognode_info(struct drv *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Logs a line about d, at most DRV_LOG_BURST per DRV_LOG_WINDOW_MS. */
void drv_log(struct drv *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Waits (lock held) up to ms for d to leave the transitional states. */
void drv_wait_settled(struct drv *d, int ms);
/* ddmfs is quitting: exits no longer restart anything. */
void drv_set_quitting(void);
/* Whether ddmfs is shutting down (drv_set_quitting() was called). */
bool drv_quitting(void);

/* Adds kh to out's poll wakeups (dropped on ENOMEM: pollers re-poll). */
void drv_out_kh(struct drv_out *out, uint64_t kh);
/* Puts a list of pends (p->link) on out's fail list. */
void drv_out_fail(struct drv_out *out, struct pend *list);

#endif /* DDMFS_DRV_H */
