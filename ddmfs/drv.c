/*
 * drv.c: driver supervision (drv.h): the state machine, its deadlines,
 * the heartbeat, and the slot table that lets an id name its driver.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>

#include "drv.h"
#include "log.h"
#include "monitor.h"

#define SLOT_CHUNK  1024 /* slots per chunk of the table */
#define SLOT_CHUNKS 1024 /* chunks: room for this many times SLOT_CHUNK */

/* The slot table: chunks are never freed or moved, so a driver pinned
 * by an open handle can be found without a lock. */
static struct drv *_Atomic *slots[SLOT_CHUNKS];
static unsigned int n_slots; /* slots ever used; [0] is never used */
static unsigned int *free_slots, n_free, cap_free;
static bool quitting;

const struct drv_sys *drv_sys;

static int64_t
now(void)
{
	return drv_sys->now();
}

/* Puts d in slot s (0 for the next free one). */
static int
slot_alloc(struct drv *d, unsigned int s)
{
	if (s == 0 && n_free > 0) {
		s = free_slots[--n_free];
	} else {
		if (s == 0)
			s = n_slots == 0 ? 1 : n_slots;
		if (s >= SLOT_CHUNK * SLOT_CHUNKS)
			return -ENOSPC;
		if (slots[s / SLOT_CHUNK] == NULL) {
			slots[s / SLOT_CHUNK] =
			        calloc(SLOT_CHUNK, sizeof(**slots));
			if (slots[s / SLOT_CHUNK] == NULL)
				return -ENOMEM;
		}
		if (atomic_load(&slots[s / SLOT_CHUNK][s % SLOT_CHUNK]) != NULL)
			return -EEXIST;
		if (s >= n_slots)
			n_slots = s + 1;
	}
	atomic_store(&slots[s / SLOT_CHUNK][s % SLOT_CHUNK], d);
	d->slot = s;
	return 0;
}

static void
slot_release(unsigned int s)
{
	unsigned int *p;

	atomic_store(&slots[s / SLOT_CHUNK][s % SLOT_CHUNK], NULL);
	if (n_free == cap_free) {
		unsigned int cap = cap_free ? 2 * cap_free : 16;

		p = reallocarray(free_slots, cap, sizeof(*p));
		if (p == NULL)
			return; /* the slot stays unused */
		free_slots = p;
		cap_free = cap;
	}
	free_slots[n_free++] = s;
}

struct drv *
drv_by_slot(unsigned int slot)
{
	if (slot == 0 || slot >= n_slots || slots[slot / SLOT_CHUNK] == NULL)
		return NULL;
	return atomic_load(&slots[slot / SLOT_CHUNK][slot % SLOT_CHUNK]);
}

void
drv_each(void (*fn)(struct drv *d, void *arg), void *arg)
{
	for (unsigned int s = 1; s < n_slots; s++) {
		struct drv *d = drv_by_slot(s);

		if (d != NULL)
			fn(d, arg);
	}
}

void
drv_conf_free(struct drv_conf *cf)
{
	free(cf->driver);
	free(cf->exe);
	free(cf->io);
	for (size_t i = 0; cf->args != NULL && cf->args[i] != NULL; i++)
		free(cf->args[i]);
	free(cf->args);
	for (size_t i = 0; cf->nodes != NULL && i < cf->n_nodes; i++)
		free(cf->nodes[i]);
	free(cf->nodes);
	memset(cf, 0, sizeof(*cf));
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
drv_conf_same(const struct drv_conf *a, const struct drv_conf *b)
{
	size_t i;

	if (!same_str(a->driver, b->driver) || !same_str(a->exe, b->exe) ||
	    !same_str(a->io, b->io) || a->run_uid != b->run_uid ||
	    a->run_gid != b->run_gid || a->n_ports != b->n_ports ||
	    a->n_nodes != b->n_nodes || a->manual != b->manual ||
	    strcmp(a->pci, b->pci) != 0 || strcmp(a->unbind, b->unbind) != 0)
		return false;
	for (i = 0; i < a->n_nodes; i++)
		if (strcmp(a->nodes[i], b->nodes[i]) != 0)
			return false;
	for (i = 0; i < a->n_ports; i++)
		if (a->ports[i].base != b->ports[i].base ||
		    a->ports[i].len != b->ports[i].len)
			return false;
	for (i = 0; a->args[i] != NULL && b->args[i] != NULL; i++)
		if (strcmp(a->args[i], b->args[i]) != 0)
			return false;
	return a->args[i] == NULL && b->args[i] == NULL;
}

int
drv_new(struct node *n, struct drv_conf *cf, struct drv **ret)
{
	return drv_new_slot(n, n->path, cf, 0, ret);
}

int
drv_new_at(const char *path, struct drv_conf *cf, struct drv **ret)
{
	return drv_new_slot(NULL, path, cf, 0, ret);
}

int
drv_set_node(struct drv *d, unsigned int i, struct node *n)
{
	if (i >= d->cap_nodes) {
		unsigned int cap =
		        i + 1 > d->cf.n_nodes ? i + 1 : d->cf.n_nodes;
		struct node **p = reallocarray(d->nodes, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		memset(p + d->cap_nodes, 0, (cap - d->cap_nodes) * sizeof(*p));
		d->nodes = p;
		d->cap_nodes = cap;
	}
	d->nodes[i] = n;
	if (i >= d->n_nodes)
		d->n_nodes = i + 1;
	if (n != NULL) {
		n->drv = d;
		n->index = i;
	}
	return 0;
}

int
drv_new_slot(struct node *n, const char *path, struct drv_conf *cf,
             unsigned int slot, struct drv **ret)
{
	pthread_condattr_t ca;
	struct drv *d = calloc(1, sizeof(*d));
	int r;

	if (d == NULL)
		return -ENOMEM;
	/* until its HELLO says more (a driver adopted or handed over by an
	 * upgrade may be an old one) */
	d->payload_max = DDM_PAYLOAD_V1;
	d->cap_nodes = cf->n_nodes > 0 ? cf->n_nodes : 1;
	d->nodes = calloc(d->cap_nodes, sizeof(*d->nodes));
	r = d->nodes == NULL ? -ENOMEM : slot_alloc(d, slot);
	if (r < 0) {
		free(d->nodes);
		free(d);
		return r;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->cf = *cf;
	memset(cf, 0, sizeof(*cf));
	d->proc.pidfd = -1;
	d->proc.sock = -1;
	d->timer_at = DRV_NO_DEADLINE;
	if (n != NULL)
		drv_set_node(d, 0, n); /* room for one was made */
	*ret = d;
	return 0;
}

void
drv_free(struct drv *d)
{
	struct pend *p;

	if (d == NULL)
		return;
	slot_release(d->slot);
	p = pend_take_all(&d->pend, -EIO);
	while (p != NULL) {
		struct pend *next = p->link;

		free(p);
		p = next;
	}
	pend_table_free(&d->pend);
	handle_table_free(&d->handles);
	chan_close(d->chan);
	drv_conf_free(&d->cf);
	free(d->nodes);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const char *
drv_state_name(enum drv_state s)
{
	switch (s) {
	case DRV_STARTING:
		return "starting";
	case DRV_RUNNING:
		return "running";
	case DRV_DYING:
		return "dying";
	case DRV_BACKOFF:
		return "backoff";
	case DRV_FAILED:
		return "failed";
	case DRV_STOPPING:
		return "stopping";
	case DRV_MANUAL:
		return "manual";
	default:
		return "stopped";
	}
}

bool
drv_coming_up(const struct drv *d)
{
	switch (d->state) {
	case DRV_STARTING:
	case DRV_DYING:
	case DRV_BACKOFF:
		return !d->removed;
	case DRV_STOPPING:
		return d->want_up && !d->removed;
	default:
		return false;
	}
}

bool
drv_up(const struct drv *d)
{
	return d->state == DRV_RUNNING && d->chan != NULL;
}

void
drv_out_kh(struct drv_out *out, uint64_t kh)
{
	if (out->n_kh == out->cap_kh) {
		size_t cap = out->cap_kh ? 2 * out->cap_kh : 8;
		uint64_t *k = reallocarray(out->kh, cap, sizeof(*k));

		if (k == NULL)
			return;
		out->kh = k;
		out->cap_kh = cap;
	}
	out->kh[out->n_kh++] = kh;
}

void
drv_out_fail(struct drv_out *out, struct pend *list)
{
	while (list != NULL) {
		struct pend *p = list;

		list = p->link;
		p->link = out->fail;
		out->fail = p;
	}
}

/* Starts a new drv_log() window for d once the last one is over. */
static void
log_window(struct drv *d, int64_t t)
{
	if (t - d->log_ms < DRV_LOG_WINDOW_MS)
		return;
	if (d->log_dropped > 0)
		lognode(d, "%s: %lu similar lines suppressed", d->path,
		        d->log_dropped);
	d->log_ms = t;
	d->log_lines = 0;
	d->log_dropped = 0;
}

void
lognode(struct drv *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fields(&d->recent, LOG_NOTICE, d->path, d->cf.driver, d->proc.pid,
	           fmt, ap);
	va_end(ap);
}

void
lognode_info(struct drv *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fields(&d->recent, LOG_INFO, d->path, d->cf.driver, d->proc.pid,
	           fmt, ap);
	va_end(ap);
}

void
drv_log(struct drv *d, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	log_window(d, now());
	if (d->log_lines >= DRV_LOG_BURST) {
		/* the window's end is now a deadline: it logs the count */
		if (d->log_dropped++ == 0)
			drv_sys->wake(d);
		return;
	}
	d->log_lines++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lognode(d, "%s", line);
}

/* Tells waiters and the event loop that d changed. */
static void
changed(struct drv *d)
{
	pthread_cond_broadcast(&d->cond);
	drv_sys->wake(d);
}

static void
arm(struct drv *d, enum drv_timer t, int64_t ms)
{
	d->timer = t;
	d->timer_at = t == TIMER_NONE ? DRV_NO_DEADLINE : now() + ms;
}

/*
 * Ends the current instance's channel: its requests fail with EIO, its
 * handles go stale and their pollers are woken to find out.
 */
static void
lose_chan(struct drv *d, struct drv_out *out)
{
	struct idmap_entry *cur = NULL;
	struct pend *lost;
	struct handle *h;
	size_t pos = 0;

	if (d->chan == NULL)
		return;
	drv_sys->detach_chan(d);
	chan_close(d->chan);
	d->chan = NULL;
	d->ping_id = 0;
	lost = pend_take_lost(&d->pend, -EIO);
	for (struct pend *p = lost; p != NULL; p = p->link)
		d->errors++; /* answered EIO */
	drv_out_fail(out, lost);
	while ((h = handle_next(&d->handles, &pos, &cur)) != NULL)
		if (h->gen == d->gen && h->kh != 0) {
			drv_out_kh(out, h->kh);
			h->kh = 0;
		}
	d->gen++;
}

/* The instance failed: a restart after a backoff, or "failed" (tried
 * again after DRV_FAILED_RETRY_MS) after too many in a row. */
static void
failed_once(struct drv *d)
{
	char extra[32];
	int64_t ms;

	if (d->cf.manual) {
		/* a hand-started driver ended: wait for the next one */
		d->state = DRV_MANUAL;
		arm(d, TIMER_NONE, 0);
		changed(d);
		return;
	}
	if (d->up_ms != 0 && now() - d->up_ms >= DRV_STABLE_MS)
		d->fails = 0;
	d->fails++;
	if (d->fails >= DRV_FAIL_MAX) {
		d->state = DRV_FAILED;
		arm(d, TIMER_RESTART, DRV_FAILED_RETRY_MS);
		lognode(d,
		        "%s: driver %s failed %u times in a row; trying again "
		        "in %d s (or: ddmctl start %s)",
		        d->path, d->cf.driver, d->fails,
		        DRV_FAILED_RETRY_MS / 1000, d->path);
		snprintf(extra, sizeof(extra), "count=%u", d->fails);
		monitor_emit("failed", d->path, extra, "%u failures in a row",
		             d->fails);
	} else {
		ms = (int64_t)DRV_BACKOFF_MIN_MS << (d->fails - 1);
		if (ms > DRV_BACKOFF_MAX_MS)
			ms = DRV_BACKOFF_MAX_MS;
		d->state = DRV_BACKOFF;
		arm(d, TIMER_RESTART, ms);
		logdbg("%s: restarting in %lld ms", d->path, (long long)ms);
	}
	changed(d);
}

/* The process is known: watch it, record it, wait for its HELLO. */
static void
started(struct drv *d, int64_t hello_ms)
{
	struct chan *ch;

	if (chan_new(d->proc.sock, &ch) < 0) {
		drv_sys->signal(d, SIGKILL);
		close(d->proc.sock);
		ch = NULL;
	}
	d->proc.sock = -1;
	d->chan = ch;
	d->state = DRV_STARTING;
	d->started_ms = now();
	d->up_ms = 0;
	d->heard_ms = d->started_ms;
	d->ping_id = 0;
	d->bogus = 0;
	arm(d, TIMER_HELLO, hello_ms);
	drv_sys->attach(d);
	drv_sys->record(d);
	changed(d);
}

/* Tells monitors that d's process (d->proc) started. */
static void
emit_start(struct drv *d, const char *how)
{
	char extra[32];

	snprintf(extra, sizeof(extra), "pid=%d", (int)d->proc.pid);
	monitor_emit("start", d->path, extra, "pid %d%s", (int)d->proc.pid,
	             how);
}

/* Starts a new instance now. */
static void
spawn(struct drv *d)
{
	struct drv_proc p = { .pidfd = -1, .sock = -1 };
	char extra[32];
	int r;

	arm(d, TIMER_NONE, 0);
	d->adopting = false;
	d->up_ms = 0; /* a failed spawn must not count the last run as up */
	if (d->cf.manual) {
		d->state = DRV_MANUAL;
		lognode(d,
		        "%s: waiting for a driver started by hand: %s --attach "
		        "%s",
		        d->path, d->cf.driver, d->path);
		changed(d);
		return;
	}
	if (d->started_ms != 0) {
		d->restarts++;
		snprintf(extra, sizeof(extra), "count=%u", d->restarts);
		monitor_emit("restart", d->path, extra, "restart %u",
		             d->restarts);
	}
	r = drv_sys->spawn(d, &p);
	if (r < 0) {
		d->started_ms = now();
		failed_once(d);
		return;
	}
	d->proc = p;
	lognode_info(d, "%s: driver %s started (pid %d)", d->path, d->cf.driver,
	             (int)p.pid);
	emit_start(d, "");
	started(d, DRV_HELLO_MS);
}

int
drv_attach(struct drv *d, const struct drv_proc *proc)
{
	if (d->state != DRV_MANUAL || d->removed)
		return -EBUSY;
	if (d->started_ms != 0)
		d->restarts++;
	d->proc = *proc;
	lognode(d, "%s: driver %s (pid %d) started by hand attached", d->path,
	        d->cf.driver, (int)proc->pid);
	emit_start(d, " (started by hand)");
	started(d, DRV_HELLO_MS);
	return 0;
}

void
drv_adopt(struct drv *d, const struct drv_proc *proc, struct drv_out *out)
{
	d->proc = *proc;
	d->adopting = true;
	d->want_up = true;
	lognode(d, "%s: adopting driver %s (pid %d) left by an earlier ddmfs",
	        d->path, d->cf.driver, (int)proc->pid);
	emit_start(d, " (adopted)");
	started(d, DRV_ADOPT_MS);
}

void
drv_start(struct drv *d, struct drv_out *out)
{
	if (d->removed)
		return;
	d->want_up = true;
	d->fails = 0;
	switch (d->state) {
	case DRV_STOPPED:
	case DRV_FAILED:
	case DRV_BACKOFF:
		spawn(d);
		break;
	default:
		break; /* running, or an exit restarts it */
	}
	changed(d);
}

void
drv_stop(struct drv *d, struct drv_out *out)
{
	d->want_up = false;
	if (d->proc.pid == 0) {
		arm(d, TIMER_NONE, 0);
		d->state = DRV_STOPPED;
		changed(d);
		return;
	}
	/* the signal first: a driver that sees the hangup before it would
	 * take ddmfs for gone and wait to be adopted; a second stop keeps
	 * the first one's deadline */
	if (d->state != DRV_STOPPING) {
		drv_sys->signal(d, SIGTERM);
		arm(d, TIMER_KILL, DRV_STOP_MS);
	}
	lose_chan(d, out);
	d->state = DRV_STOPPING;
	changed(d);
}

void
drv_restart(struct drv *d, struct drv_out *out)
{
	drv_stop(d, out);
	drv_start(d, out);
}

/* Fails the opens waiting for d once it is neither up nor coming up:
 * ENODEV if its node is gone, else ENXIO. */
static void
fail_queued(struct drv *d, struct drv_out *out)
{
	struct pend *q, *p;

	if (drv_up(d) || drv_coming_up(d))
		return;
	q = pend_take_queued(&d->pend);
	for (p = q; p != NULL; p = p->link)
		p->err = d->removed ? -ENODEV : -ENXIO;
	drv_out_fail(out, q);
}

void
drv_remove(struct drv *d, struct drv_out *out)
{
	d->removed = true;
	drv_stop(d, out);
	fail_queued(d, out);
}

/* Ends the instance of d: its requests fail, its exit restarts it. */
static void
kill_instance(struct drv *d, struct drv_out *out)
{
	/* the signal first: the driver must not see the hangup alone and
	 * take it for ddmfs's death */
	if (d->proc.pid != 0) {
		drv_sys->signal(d, SIGKILL);
		if (d->state != DRV_STOPPING)
			d->state = DRV_DYING;
	}
	lose_chan(d, out);
	changed(d);
}

void
drv_fault(struct drv *d, const char *why, struct drv_out *out)
{
	lognode(d, "%s: driver %s (pid %d): %s; restarting it", d->path,
	        d->cf.driver, (int)d->proc.pid, why);
	kill_instance(d, out);
}

void
drv_heard(struct drv *d, int64_t t)
{
	d->heard_ms = t;
}

void
drv_bogus(struct drv *d, const char *what, struct drv_out *out)
{
	char why[160];

	if (++d->bogus <= DRV_BOGUS_MAX) {
		drv_log(d, "%s: %s ignored", d->path, what);
		return;
	}
	snprintf(why, sizeof(why), "%u bogus messages in a row (%s)", d->bogus,
	         what);
	drv_fault(d, why, out);
}

/* Sends the heartbeat: 0 or -EPIPE. */
static int
drv_ping(struct drv *d, int64_t t)
{
	struct ddm_msg m;

	d->ping_id = id_new(d->slot);
	d->ping_ms = t;
	ddm_msg_init(&m, DDM_PING, d->ping_id, 0);
	/* a ping that cannot go out still counts: its deadline catches a
	 * driver that stopped reading */
	return chan_send(d->chan, &m, NULL, 0, t) < 0 ? -EPIPE : 0;
}

/* Whether a deadline may kill d now: not while a debugger holds it. */
static bool
may_kill(struct drv *d)
{
	return d->proc.pid == 0 || !drv_sys->traced(d);
}

/*
 * The heartbeat of running d: a ping after DRV_PING_INTERVAL_MS of
 * silence, a restart when it stays unanswered and the driver silent for
 * DRV_PING_TIMEOUT_MS.  Returns when it is next due.
 */
static int64_t
heartbeat(struct drv *d, int64_t t, struct drv_out *out)
{
	int64_t last = d->heard_ms;
	char why[96];

	if (!drv_up(d))
		return DRV_NO_DEADLINE;
	if (d->ping_id == 0) {
		if (t - last < DRV_PING_INTERVAL_MS)
			return last + DRV_PING_INTERVAL_MS;
		drv_ping(d, t);
	}
	if (d->ping_ms > last)
		last = d->ping_ms;
	if (t - last < DRV_PING_TIMEOUT_MS)
		return last + DRV_PING_TIMEOUT_MS;
	if (!may_kill(d)) {
		d->heard_ms = t; /* paused: look again later */
		d->ping_id = 0;
		return t + DRV_PING_INTERVAL_MS;
	}
	snprintf(why, sizeof(why), "did not answer for %d s",
	         DRV_PING_TIMEOUT_MS / 1000);
	drv_fault(d, why, out);
	return DRV_NO_DEADLINE;
}

/* A driver that left its socket full for DRV_SEND_TIMEOUT_MS. */
static int64_t
send_stall(struct drv *d, int64_t t, struct drv_out *out)
{
	int64_t since = d->chan != NULL ? chan_stalled_since(d->chan) : 0;
	char why[96];

	if (since == 0)
		return DRV_NO_DEADLINE;
	if (t - since < DRV_SEND_TIMEOUT_MS)
		return since + DRV_SEND_TIMEOUT_MS;
	if (!may_kill(d))
		return t + DRV_PING_INTERVAL_MS;
	snprintf(why, sizeof(why), "did not read its socket for %d s",
	         DRV_SEND_TIMEOUT_MS / 1000);
	drv_fault(d, why, out);
	return DRV_NO_DEADLINE;
}

/* Acts on the timer of d if it is due. */
static void
timer_fired(struct drv *d, struct drv_out *out)
{
	enum drv_timer t = d->timer;

	arm(d, TIMER_NONE, 0);
	switch (t) {
	case TIMER_RESTART:
		if (d->state == DRV_BACKOFF || d->state == DRV_FAILED)
			spawn(d);
		break;
	case TIMER_HELLO:
		if (d->state != DRV_STARTING)
			break;
		if (!may_kill(d)) {
			arm(d, TIMER_HELLO, DRV_PING_INTERVAL_MS);
			break;
		}
		drv_fault(d,
		          d->adopting ? "did not answer the adoption in time"
		                      : "no HELLO in time",
		          out);
		break;
	case TIMER_KILL:
		if (d->proc.pid != 0)
			drv_sys->signal(d, SIGKILL);
		break;
	default:
		break;
	}
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t
drv_tick(struct drv *d, int64_t t, struct drv_out *out)
{
	int64_t next, due;
	unsigned int n_intr;
	struct pend *list;
	char why[96];

	if (d->timer != TIMER_NONE && t >= d->timer_at)
		timer_fired(d, out);
	fail_queued(d, out);
	list = pend_take_expired(&d->pend, t, DRV_INTERRUPT_GRACE_MS, &n_intr,
	                         &next);
	drv_out_fail(out, list);
	if (n_intr > 0 && d->chan != NULL && may_kill(d)) {
		snprintf(why, sizeof(why),
		         "left an interrupted request unanswered for %d ms",
		         DRV_INTERRUPT_GRACE_MS);
		drv_fault(d, why, out);
	}
	next = earliest(next, heartbeat(d, t, out));
	next = earliest(next, send_stall(d, t, out));
	if (d->timer != TIMER_NONE)
		next = earliest(next, d->timer_at);
	log_window(d, t);
	due = d->log_dropped > 0 ? d->log_ms + DRV_LOG_WINDOW_MS
	                         : DRV_NO_DEADLINE;
	return earliest(next, due);
}

int
drv_hello(struct drv *d, const struct ddm_msg *m, char *why, size_t whylen,
          struct drv_out *out)
{
	if (d->state != DRV_STARTING) {
		snprintf(why, whylen, "HELLO while %s",
		         drv_state_name(d->state));
		return -EPROTO;
	}
	if (m->arg0 != DDM_PROTO_VERSION) {
		snprintf(why, whylen, "protocol version %u, not %d", m->arg0,
		         DDM_PROTO_VERSION);
		return -EPROTO;
	}
	d->state = DRV_RUNNING;
	d->up_ms = now();
	d->adopting = false;
	arm(d, TIMER_NONE, 0);
	logdbg("%s: running (pid %d)", d->path, (int)d->proc.pid);
	changed(d);
	return 0;
}

void
drv_hangup(struct drv *d, struct drv_out *out)
{
	logdbg("%s: driver closed its socket", d->path);
	lose_chan(d, out);
	if (d->proc.pid != 0 && d->state != DRV_STOPPING) {
		d->state = DRV_DYING;
		arm(d, TIMER_KILL, DRV_HANGUP_MS);
	}
	changed(d);
}

void
drv_exited(struct drv *d, int status, struct drv_out *out)
{
	pid_t pid = d->proc.pid;
	char extra[48];

	if (pid == 0)
		return;
	if (status < 0) {
		lognode(d, "%s: driver %s (pid %d) is gone", d->path,
		        d->cf.driver, (int)pid);
		snprintf(extra, sizeof(extra), "pid=%d", (int)pid);
		monitor_emit("exit", d->path, extra, "gone");
	} else if (WIFSIGNALED(status)) {
		lognode(d, "%s: driver %s (pid %d) killed by signal %d",
		        d->path, d->cf.driver, (int)pid, WTERMSIG(status));
		snprintf(extra, sizeof(extra), "pid=%d\tsignal=%d", (int)pid,
		         WTERMSIG(status));
		monitor_emit("exit", d->path, extra, "signal %d",
		             WTERMSIG(status));
	} else {
		lognode(d, "%s: driver %s (pid %d) exited with status %d",
		        d->path, d->cf.driver, (int)pid, WEXITSTATUS(status));
		snprintf(extra, sizeof(extra), "pid=%d\tstatus=%d", (int)pid,
		         WEXITSTATUS(status));
		monitor_emit("exit", d->path, extra, "status %d",
		             WEXITSTATUS(status));
	}
	drv_sys->detach_pid(d);
	if (d->proc.pidfd >= 0)
		close(d->proc.pidfd);
	d->proc = (struct drv_proc){ .pidfd = -1, .sock = -1 };
	lose_chan(d, out);
	arm(d, TIMER_NONE, 0);
	drv_sys->record(d);
	if (d->removed || quitting) {
		d->state = DRV_STOPPED;
		changed(d);
	} else if (d->state == DRV_STOPPING) {
		d->state = DRV_STOPPED;
		if (d->want_up)
			spawn(d);
		changed(d);
	} else {
		failed_once(d);
	}
}

void
drv_wait_settled(struct drv *d, int ms)
{
	int64_t end = now() + ms;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (now() < end &&
	       (d->state == DRV_STARTING || d->state == DRV_STOPPING ||
	        d->state == DRV_DYING ||
	        (d->state == DRV_BACKOFF && d->want_up)))
		if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) != 0)
			break;
}

void
drv_set_quitting(void)
{
	quitting = true;
}

bool
drv_quitting(void)
{
	return quitting;
}
