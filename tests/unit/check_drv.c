/*
 * check_drv.c: unit tests for the driver supervisor (ddmfs/drv.c): its
 * state machine, deadlines and heartbeat, driven through a fake struct
 * drv_sys with an injected clock and a fake spawn that hands back one end
 * of a socketpair and a made-up pid.  No process is started; every test
 * checks the states, the signals the fake received and the spawn count.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drv.h"
#include "tree.h"

#define SIGS_MAX  64
#define FIRST_PID 1000
#define EXIT_1    W_EXITCODE(1, 0) /* a status as waitpid() gives it */
#define EPOCH     1000000 /* the fake clock's 0 (drv.c takes 0 for "never") */

/* The fake outside world, and what it was asked to do. */
static int64_t now_ms;
static unsigned int n_spawn, n_attach, n_detach_chan, n_detach_pid, n_record;
static int spawn_err; /* spawns fail with this while it is set */
static bool traced;
static int sigs[SIGS_MAX];
static unsigned int n_sigs;
static int peer = -1; /* the driver's end of the newest socket */

static struct drv *d;
static struct drv_out out;

/* Test time t as the module sees it, and back. */
static int64_t
at(int64_t t)
{
	return t + EPOCH;
}

static int64_t
rel(int64_t t)
{
	return t == DRV_NO_DEADLINE ? t : t - EPOCH;
}

static int64_t
fake_now(void)
{
	return at(now_ms);
}

static int
fake_spawn(struct drv *drv, struct drv_proc *ret)
{
	int sv[2];

	n_spawn++;
	if (spawn_err != 0)
		return spawn_err;
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	if (peer >= 0)
		close(peer);
	peer = sv[1];
	ret->pid = FIRST_PID + (pid_t)n_spawn;
	ret->pidfd = -1;
	ret->sock = sv[0];
	ret->start_time = 0;
	return 0;
}

static void
fake_signal(struct drv *drv, int sig)
{
	ck_assert_uint_lt(n_sigs, SIGS_MAX);
	sigs[n_sigs++] = sig;
}

static bool
fake_traced(struct drv *drv)
{
	return traced;
}

static void
fake_attach(struct drv *drv)
{
	n_attach++;
}

static void
fake_detach_chan(struct drv *drv)
{
	n_detach_chan++;
}

static void
fake_detach_pid(struct drv *drv)
{
	n_detach_pid++;
}

static void
fake_wake(struct drv *drv)
{
}

static void
fake_record(struct drv *drv)
{
	n_record++;
}

static const struct drv_sys fake_sys = {
	.now = fake_now,
	.spawn = fake_spawn,
	.signal = fake_signal,
	.traced = fake_traced,
	.attach = fake_attach,
	.detach_chan = fake_detach_chan,
	.detach_pid = fake_detach_pid,
	.wake = fake_wake,
	.record = fake_record,
};

/* Frees what out holds (tests look at it first) and empties it. */
static void
out_clear(void)
{
	while (out.fail != NULL) {
		struct pend *p = out.fail;

		out.fail = p->link;
		free(p);
	}
	free(out.kh);
	memset(&out, 0, sizeof(out));
}

/* A stopped driver for isa0/rtc0 in d, the clock at 0. */
static void
setup(void)
{
	struct drv_conf cf = { 0 };
	struct node *bus, *n;

	drv_sys = &fake_sys;
	ck_assert_int_eq(tree_init(), 0);
	bus = tree_add(tree_root(), "isa0", true);
	n = tree_add(bus, "rtc0", false);
	ck_assert_ptr_nonnull(n);
	cf.driver = strdup("ddm-rtc");
	cf.exe = strdup("/d/ddm-rtc");
	cf.io = strdup("sim");
	cf.args = calloc(1, sizeof(*cf.args));
	ck_assert_ptr_nonnull(cf.args);
	ck_assert_int_eq(drv_new(n, &cf, &d), 0);
	ck_assert_ptr_null(cf.driver); /* moved in */
}

static void
teardown(void)
{
	out_clear();
	/* drv_free() wants no process and no requests left */
	d->proc.pid = 0;
	drv_free(d);
	d = NULL;
	tree_free();
	if (peer >= 0)
		close(peer);
	peer = -1;
}

/* The clock moves to t and d's deadlines due by then act. */
static int64_t
tick(int64_t t)
{
	now_ms = t;
	return rel(drv_tick(d, at(t), &out));
}

static int
hello_version(uint32_t version, char *why, size_t whylen)
{
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_HELLO, 0, 0);
	m.arg0 = version;
	return drv_hello(d, &m, why, whylen, &out);
}

/* The driver says HELLO at the current time. */
static void
hello(void)
{
	char why[128] = "";

	ck_assert_msg(hello_version(DDM_PROTO_VERSION, why, sizeof(why)) == 0,
	              "drv_hello: %s", why);
}

/* The driver process exits now (status 1). */
static void
exits(void)
{
	drv_exited(d, EXIT_1, &out);
}

/* Started and running at time t. */
static void
run_at(int64_t t)
{
	now_ms = t;
	drv_start(d, &out);
	ck_assert_int_eq(d->state, DRV_STARTING);
	hello();
	ck_assert_int_eq(d->state, DRV_RUNNING);
}

/* A request entry for d in state s. */
static struct pend *
pend(enum pend_state s)
{
	struct pend *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p->e.id = id_new(d->slot);
	p->op = s == PEND_QUEUED ? DDM_OPEN : DDM_READ;
	p->state = s;
	ck_assert_int_eq(pend_add(&d->pend, p), 0);
	return p;
}

/* Reads one packet at the driver's end without waiting: its op, 0 if
 * none (its id in *ret_id). */
static unsigned int
peer_read(uint64_t *ret_id)
{
	static char buf[DDM_MSG_MAX];
	const void *payload;
	struct ddm_msg m;
	ssize_t n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return 0;
	ck_assert_int_eq(ddm_msg_unpack(buf, (size_t)n, &m, &payload), 0);
	if (ret_id != NULL)
		*ret_id = m.id;
	return m.op;
}

START_TEST(test_drv_start_spawns_and_hello_makes_it_running)
{
	ck_assert_int_eq(d->state, DRV_STOPPED);
	ck_assert(!drv_coming_up(d));
	ck_assert(!drv_up(d));
	ck_assert_str_eq(d->path, "isa0/rtc0");
	ck_assert_ptr_eq(d->nodes[0]->drv, d);
	ck_assert_uint_eq(d->n_nodes, 1);
	ck_assert_ptr_eq(drv_by_slot(d->slot), d);
	now_ms = 50;
	drv_start(d, &out);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert_str_eq(drv_state_name(d->state), "starting");
	ck_assert_int_eq(d->proc.pid, FIRST_PID + 1);
	ck_assert_ptr_nonnull(d->chan);
	ck_assert(d->want_up);
	ck_assert(drv_coming_up(d)); /* opens wait for it */
	ck_assert(!drv_up(d));
	ck_assert_uint_eq(n_attach, 1);
	ck_assert_uint_eq(n_record, 1);
	ck_assert_int_eq(d->timer, TIMER_HELLO);
	ck_assert_int_eq(rel(d->timer_at), 50 + DRV_HELLO_MS);
	hello();
	ck_assert_int_eq(d->state, DRV_RUNNING);
	ck_assert(drv_up(d));
	ck_assert(!drv_coming_up(d));
	ck_assert_int_eq(d->timer, TIMER_NONE);
	ck_assert_uint_eq(d->restarts, 0);
	ck_assert_uint_eq(n_sigs, 0);
	/* starting a running driver again does nothing */
	drv_start(d, &out);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_RUNNING);
}
END_TEST

START_TEST(test_drv_quick_exits_back_off_100_200_400_800_ms_then_fail)
{
	static const int64_t delays[] = { 100, 200, 400, 800 };
	int64_t t = 0;

	run_at(t);
	for (unsigned int i = 0; i < 4; i++) {
		exits();
		ck_assert_int_eq(d->state, DRV_BACKOFF);
		ck_assert(drv_coming_up(d));
		ck_assert_uint_eq(d->fails, i + 1);
		ck_assert_int_eq(d->proc.pid, 0);
		ck_assert_ptr_null(d->chan);
		/* nothing until the delay is over, then a spawn */
		ck_assert_int_eq(tick(t + delays[i] - 1), t + delays[i]);
		ck_assert_uint_eq(n_spawn, i + 1);
		ck_assert_int_eq(d->state, DRV_BACKOFF);
		tick(t + delays[i]);
		ck_assert_uint_eq(n_spawn, i + 2);
		ck_assert_int_eq(d->state, DRV_STARTING);
		ck_assert_uint_eq(d->restarts, i + 1);
		t += delays[i];
		/* the next instance dies before its HELLO */
	}
	ck_assert_uint_eq(n_sigs, 0);
	exits();
	ck_assert_uint_eq(d->fails, DRV_FAIL_MAX);
	ck_assert_int_eq(d->state, DRV_FAILED);
}
END_TEST

START_TEST(test_drv_failed_driver_is_retried_after_failed_retry_ms)
{
	int64_t t = 0;

	spawn_err = -ENOENT; /* its binary went away */
	now_ms = t;
	drv_start(d, &out);
	for (unsigned int i = 1; i < DRV_FAIL_MAX; i++) {
		ck_assert_int_eq(d->state, DRV_BACKOFF);
		t = rel(d->timer_at);
		tick(t);
	}
	ck_assert_uint_eq(n_spawn, DRV_FAIL_MAX);
	ck_assert_int_eq(d->state, DRV_FAILED);
	ck_assert_str_eq(drv_state_name(d->state), "failed");
	ck_assert(!drv_coming_up(d)); /* opens fail at once */
	ck_assert_int_eq(tick(t + DRV_FAILED_RETRY_MS - 1),
	                 t + DRV_FAILED_RETRY_MS);
	ck_assert_uint_eq(n_spawn, DRV_FAIL_MAX);
	spawn_err = 0;
	tick(t + DRV_FAILED_RETRY_MS);
	ck_assert_uint_eq(n_spawn, DRV_FAIL_MAX + 1);
	ck_assert_int_eq(d->state, DRV_STARTING);
	/* failing again it waits the long delay again, not a backoff */
	exits();
	ck_assert_int_eq(d->state, DRV_FAILED);
	ck_assert_int_eq(rel(d->timer_at),
	                 t + DRV_FAILED_RETRY_MS + DRV_FAILED_RETRY_MS);
}
END_TEST

START_TEST(test_drv_admin_start_of_a_failed_driver_spawns_at_once)
{
	spawn_err = -ENOENT;
	now_ms = 0;
	drv_start(d, &out);
	while (d->state == DRV_BACKOFF)
		tick(rel(d->timer_at));
	ck_assert_int_eq(d->state, DRV_FAILED);
	spawn_err = 0;
	drv_start(d, &out);
	ck_assert_uint_eq(n_spawn, DRV_FAIL_MAX + 1);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert_uint_eq(d->fails, 0);
}
END_TEST

START_TEST(test_drv_a_run_longer_than_stable_ms_resets_the_failure_count)
{
	run_at(0);
	/* three quick failures */
	for (int i = 0; i < 3; i++) {
		exits();
		tick(rel(d->timer_at));
		hello();
	}
	ck_assert_uint_eq(d->fails, 3);
	/* up just short of DRV_STABLE_MS: a fourth failure in a row */
	tick(rel(d->started_ms) + DRV_STABLE_MS - 1);
	exits();
	ck_assert_uint_eq(d->fails, 4);
	ck_assert_int_eq(rel(d->timer_at), now_ms + 800);
	tick(rel(d->timer_at));
	hello();
	/* up DRV_STABLE_MS: the failures in a row are over */
	tick(rel(d->started_ms) + DRV_STABLE_MS);
	exits();
	ck_assert_uint_eq(d->fails, 1);
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	ck_assert_int_eq(rel(d->timer_at), now_ms + DRV_BACKOFF_MIN_MS);
}
END_TEST

/*
 * Regression (ddmfs/drv.c, failed_once): "up" for DRV_STABLE_MS is
 * measured from the HELLO, not from the spawn.  Measured from the spawn,
 * a driver that never says HELLO and is killed at DRV_HELLO_MS
 * (> DRV_STABLE_MS) counted as having been up: its failures never added
 * up, and it was restarted every 5 s for ever instead of becoming "failed".
 */
START_TEST(test_drv_hello_timeouts_in_a_row_end_in_failed)
{
	now_ms = 0;
	drv_start(d, &out);
	for (unsigned int i = 1; i <= DRV_FAIL_MAX; i++) {
		ck_assert_int_eq(d->state, DRV_STARTING);
		tick(rel(d->timer_at)); /* no HELLO in time */
		ck_assert_int_eq(d->state, DRV_DYING);
		ck_assert_int_eq(sigs[n_sigs - 1], SIGKILL);
		exits();
		ck_assert_msg(d->fails == i,
		              "failure %u in a row counted as %u", i, d->fails);
		if (d->state == DRV_BACKOFF)
			tick(rel(d->timer_at));
	}
	ck_assert_int_eq(d->state, DRV_FAILED);
}
END_TEST

START_TEST(test_drv_killed_driver_is_dying_and_opens_wait_until_it_exits)
{
	struct pend *sent, *fresh, *queued;

	run_at(0);
	sent = pend(PEND_SENT);
	fresh = pend(PEND_NEW);
	queued = pend(PEND_QUEUED);
	drv_fault(d, "test", &out);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
	ck_assert_str_eq(drv_state_name(d->state), "dying");
	ck_assert(drv_coming_up(d));
	ck_assert(!drv_up(d));
	ck_assert_ptr_null(d->chan);
	ck_assert_uint_eq(n_detach_chan, 1);
	/* the sent request fails now; the new one is its worker's */
	ck_assert_ptr_eq(out.fail, sent);
	ck_assert_ptr_null(sent->link);
	ck_assert_int_eq(sent->err, -EIO);
	ck_assert_int_eq(fresh->err, -EIO);
	ck_assert_ptr_eq(pend_find(&d->pend, fresh->e.id), fresh);
	ck_assert_ptr_eq(pend_find(&d->pend, queued->e.id), queued);
	/* the driver hangs up as it dies: nothing changes */
	tick(10);
	ck_assert_int_eq(d->state, DRV_DYING);
	ck_assert(drv_coming_up(d));
	exits();
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	ck_assert(drv_coming_up(d));
	ck_assert_uint_eq(n_detach_pid, 1);
	ck_assert_uint_eq(n_spawn, 1);
	free(pend_take(&d->pend, fresh->e.id));
	free(pend_take(&d->pend, queued->e.id));
}
END_TEST

START_TEST(test_drv_lost_instance_wakes_its_pollers_and_ages_its_handles)
{
	struct handle *h = calloc(1, sizeof(*h)), *old = calloc(1, sizeof(*h));
	uint64_t gen;

	run_at(0);
	gen = d->gen;
	h->e.id = id_new(d->slot);
	h->gen = gen;
	h->kh = 55;
	old->e.id = id_new(d->slot);
	old->gen = gen - 1; /* opened on an earlier instance */
	old->kh = 66;
	ck_assert_int_eq(handle_add(&d->handles, h), 0);
	ck_assert_int_eq(handle_add(&d->handles, old), 0);
	drv_fault(d, "test", &out);
	ck_assert_uint_eq(out.n_kh, 1);
	ck_assert_uint_eq(out.kh[0], 55);
	ck_assert_uint_eq(h->kh, 0);
	ck_assert_uint_eq(d->gen, gen + 1);
}
END_TEST

START_TEST(test_drv_stop_sends_sigterm_then_sigkill_after_stop_ms)
{
	run_at(0);
	now_ms = 1000;
	drv_stop(d, &out);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGTERM);
	ck_assert_int_eq(d->state, DRV_STOPPING);
	ck_assert_str_eq(drv_state_name(d->state), "stopping");
	ck_assert(!d->want_up);
	ck_assert(!drv_coming_up(d)); /* opens fail */
	ck_assert_ptr_null(d->chan);
	tick(1000 + DRV_STOP_MS - 1);
	ck_assert_uint_eq(n_sigs, 1);
	tick(1000 + DRV_STOP_MS);
	ck_assert_uint_eq(n_sigs, 2);
	ck_assert_int_eq(sigs[1], SIGKILL);
	exits();
	ck_assert_int_eq(d->state, DRV_STOPPED);
	ck_assert_int_eq(d->proc.pid, 0);
	ck_assert_int_eq(d->timer, TIMER_NONE);
	tick(1000000);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_uint_eq(n_sigs, 2);
	ck_assert_int_eq(d->state, DRV_STOPPED);
}
END_TEST

/*
 * Regression (ddmfs/drv.c, drv_stop): a stop of a driver that is already
 * stopping leaves TIMER_KILL as it is.  Re-arming it put the SIGKILL off
 * by DRV_STOP_MS at each repeated stop (or a reload that removes the node
 * meanwhile), so a driver that ignores SIGTERM outlived DRV_STOP_MS for as
 * long as stops kept coming.  Expected: SIGKILL DRV_STOP_MS after the
 * SIGTERM.
 */
START_TEST(test_drv_stop_again_does_not_put_off_the_sigkill)
{
	run_at(0);
	now_ms = 1000;
	drv_stop(d, &out);
	now_ms = 1000 + DRV_STOP_MS / 2;
	drv_stop(d, &out);
	drv_remove(d, &out);
	ck_assert_uint_eq(n_sigs, 1); /* one SIGTERM */
	tick(1000 + DRV_STOP_MS);
	ck_assert_uint_eq(n_sigs, 2);
	ck_assert_int_eq(sigs[1], SIGKILL);
}
END_TEST

START_TEST(test_drv_stop_without_a_process_is_stopped_at_once)
{
	run_at(0);
	exits();
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	drv_stop(d, &out);
	ck_assert_int_eq(d->state, DRV_STOPPED);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert(!drv_coming_up(d));
	/* the backoff's restart is off */
	tick(1000000);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_STOPPED);
}
END_TEST

START_TEST(test_drv_restart_spawns_at_once_after_the_exit_without_backoff)
{
	run_at(0);
	now_ms = 5000;
	drv_restart(d, &out);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGTERM);
	ck_assert_int_eq(d->state, DRV_STOPPING);
	ck_assert(d->want_up);
	ck_assert(drv_coming_up(d)); /* opens wait for the new instance */
	ck_assert_uint_eq(n_spawn, 1);
	exits();
	ck_assert_uint_eq(n_spawn, 2);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert_int_eq(d->proc.pid, FIRST_PID + 2);
	ck_assert_uint_eq(d->fails, 0);
	ck_assert_uint_eq(d->restarts, 1);
	hello();
	ck_assert_int_eq(d->state, DRV_RUNNING);
}
END_TEST

START_TEST(test_drv_restart_of_a_stopped_driver_just_starts_it)
{
	drv_restart(d, &out);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_STARTING);
}
END_TEST

START_TEST(test_drv_hello_timeout_faults_unless_traced)
{
	now_ms = 0;
	drv_start(d, &out);
	ck_assert_int_eq(tick(DRV_HELLO_MS - 1), DRV_HELLO_MS);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert_uint_eq(n_sigs, 0);
	/* a debugger holds it: the deadline waits */
	traced = true;
	tick(DRV_HELLO_MS);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->timer, TIMER_HELLO);
	traced = false;
	tick(rel(d->timer_at));
	ck_assert_int_eq(d->state, DRV_DYING);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
}
END_TEST

START_TEST(test_drv_heartbeat_pings_after_silence_and_faults_without_answer)
{
	uint64_t id = 0;

	run_at(0);
	ck_assert_int_eq(tick(DRV_PING_INTERVAL_MS - 1), DRV_PING_INTERVAL_MS);
	ck_assert_uint_eq(peer_read(NULL), 0);
	ck_assert_int_eq(tick(DRV_PING_INTERVAL_MS),
	                 DRV_PING_INTERVAL_MS + DRV_PING_TIMEOUT_MS);
	ck_assert_uint_eq(peer_read(&id), DDM_PING);
	ck_assert_uint_eq(id, d->ping_id);
	ck_assert_uint_ne(id, 0);
	ck_assert_uint_eq(id_slot(id), d->slot);
	/* one ping at a time */
	tick(DRV_PING_INTERVAL_MS + DRV_PING_TIMEOUT_MS - 1);
	ck_assert_uint_eq(peer_read(NULL), 0);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->state, DRV_RUNNING);
	tick(DRV_PING_INTERVAL_MS + DRV_PING_TIMEOUT_MS);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
}
END_TEST

START_TEST(test_drv_heartbeat_waits_for_silence_and_an_answer_ends_it)
{
	run_at(0);
	/* heard from at 1500: the silence starts there */
	drv_heard(d, at(1500));
	ck_assert_int_eq(tick(DRV_PING_INTERVAL_MS),
	                 1500 + DRV_PING_INTERVAL_MS);
	ck_assert_uint_eq(peer_read(NULL), 0);
	tick(1500 + DRV_PING_INTERVAL_MS);
	ck_assert_uint_eq(peer_read(NULL), DDM_PING);
	/* the answer, as fwd_reply() takes it */
	d->ping_id = 0;
	drv_heard(d, at(4000));
	tick(1500 + DRV_PING_INTERVAL_MS + DRV_PING_TIMEOUT_MS);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->state, DRV_RUNNING);
	ck_assert_uint_eq(peer_read(NULL), DDM_PING); /* the next one */
}
END_TEST

START_TEST(test_drv_heartbeat_never_faults_a_traced_driver)
{
	int64_t t;

	run_at(0);
	traced = true;
	tick(DRV_PING_INTERVAL_MS);
	ck_assert_uint_eq(peer_read(NULL), DDM_PING);
	for (t = DRV_PING_INTERVAL_MS; t <= 60000; t += 500)
		tick(t);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->state, DRV_RUNNING);
	/* let go of: the next silent stretch is a fault again */
	traced = false;
	while (peer_read(NULL) != 0)
		;
	for (; n_sigs == 0 && t <= 120000; t += 500)
		tick(t);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_le(t, 60000 + DRV_PING_INTERVAL_MS + DRV_PING_TIMEOUT_MS +
	                            1000);
}
END_TEST

START_TEST(test_drv_interrupted_request_past_grace_is_eintr_and_faults)
{
	struct pend *p, *other;

	run_at(0);
	drv_heard(d, at(1000000)); /* keep the heartbeat out of it */
	p = pend(PEND_SENT);
	other = pend(PEND_SENT);
	pend_set_intr(&d->pend, p, at(1000));
	tick(1000 + DRV_INTERRUPT_GRACE_MS - 1);
	ck_assert_ptr_null(out.fail);
	ck_assert_uint_eq(n_sigs, 0);
	tick(1000 + DRV_INTERRUPT_GRACE_MS);
	/* the request is answered EINTR, the driver is killed, and its other
	 * request fails with the instance */
	ck_assert_int_eq(p->err, -EINTR);
	ck_assert_int_eq(other->err, -EIO);
	ck_assert_ptr_null(pend_find(&d->pend, p->e.id));
	ck_assert_ptr_null(pend_find(&d->pend, other->e.id));
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
}
END_TEST

START_TEST(test_drv_interrupted_request_of_a_traced_driver_fails_alone)
{
	struct pend *p;

	run_at(0);
	drv_heard(d, at(1000000));
	traced = true;
	p = pend(PEND_SENT);
	pend_set_intr(&d->pend, p, at(1000));
	tick(1000 + DRV_INTERRUPT_GRACE_MS);
	ck_assert_ptr_eq(out.fail, p);
	ck_assert_int_eq(p->err, -EINTR);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->state, DRV_RUNNING);
}
END_TEST

START_TEST(test_drv_queued_open_past_its_wait_is_eio)
{
	struct pend *p;

	now_ms = 0;
	drv_start(d, &out);
	p = pend(PEND_QUEUED);
	p->due = at(DRV_OPEN_WAIT_MS);
	ck_assert_int_eq(tick(DRV_OPEN_WAIT_MS - 1), DRV_OPEN_WAIT_MS);
	ck_assert_ptr_null(out.fail);
	tick(DRV_OPEN_WAIT_MS);
	ck_assert_ptr_eq(out.fail, p);
	ck_assert_int_eq(p->err, -EIO);
	ck_assert_int_eq(d->state, DRV_STARTING); /* the driver is fine */
}
END_TEST

START_TEST(test_drv_stop_fails_queued_opens_with_enxio)
{
	struct pend *queued;

	now_ms = 0;
	drv_start(d, &out);
	queued = pend(PEND_QUEUED);
	queued->due = at(DRV_OPEN_WAIT_MS);
	drv_stop(d, &out);
	ck_assert(!drv_coming_up(d));
	tick(10);
	ck_assert_ptr_eq(out.fail, queued);
	ck_assert_int_eq(queued->err, -ENXIO);
	ck_assert_ptr_null(pend_find(&d->pend, queued->e.id));
}
END_TEST

START_TEST(test_drv_failed_driver_fails_queued_opens_with_enxio)
{
	struct pend *queued;

	spawn_err = -ENOENT;
	now_ms = 0;
	drv_start(d, &out);
	queued = pend(PEND_QUEUED);
	queued->due = at(DRV_FAILED_RETRY_MS);
	while (d->state == DRV_BACKOFF) {
		ck_assert_ptr_null(out.fail); /* still coming up: it waits */
		tick(rel(d->timer_at));
	}
	ck_assert_int_eq(d->state, DRV_FAILED);
	ck_assert_ptr_eq(out.fail, queued);
	ck_assert_int_eq(queued->err, -ENXIO);
}
END_TEST

START_TEST(test_drv_adopt_takes_over_the_orphan_with_the_same_pid)
{
	struct drv_proc orphan = { .pid = 777, .pidfd = -1 };
	int sv[2];

	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	orphan.sock = sv[0];
	now_ms = 100;
	drv_adopt(d, &orphan, &out);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert(d->adopting);
	ck_assert(d->want_up);
	ck_assert(drv_coming_up(d));
	ck_assert_int_eq(d->proc.pid, 777);
	ck_assert_ptr_nonnull(d->chan);
	ck_assert_int_eq(rel(d->timer_at), 100 + DRV_ADOPT_MS);
	ck_assert_uint_eq(n_spawn, 0);
	ck_assert_uint_eq(n_attach, 1);
	ck_assert_uint_eq(n_record, 1);
	hello();
	ck_assert_int_eq(d->state, DRV_RUNNING);
	ck_assert(!d->adopting);
	ck_assert_int_eq(d->proc.pid, 777);
	ck_assert_uint_eq(n_spawn, 0);
	ck_assert_uint_eq(n_sigs, 0);
}
END_TEST

START_TEST(test_drv_adopted_orphan_that_does_not_answer_is_faulted)
{
	struct drv_proc orphan = { .pid = 777, .pidfd = -1 };
	int sv[2];

	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	orphan.sock = sv[0];
	now_ms = 0;
	drv_adopt(d, &orphan, &out);
	tick(DRV_ADOPT_MS - 1);
	ck_assert_uint_eq(n_sigs, 0);
	tick(DRV_ADOPT_MS);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
	/* once it is gone a fresh instance is spawned */
	exits();
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	tick(rel(d->timer_at));
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_STARTING);
	ck_assert(!d->adopting);
	ck_assert_int_eq(d->proc.pid, FIRST_PID + 1);
}
END_TEST

START_TEST(test_drv_remove_never_restarts)
{
	struct pend *queued;

	run_at(0);
	queued = pend(PEND_QUEUED);
	drv_remove(d, &out);
	ck_assert(d->removed);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGTERM);
	ck_assert_int_eq(d->state, DRV_STOPPING);
	ck_assert(!drv_coming_up(d));
	/* opens waiting for it fail: the node is gone */
	ck_assert_ptr_eq(out.fail, queued);
	ck_assert_int_eq(queued->err, -ENODEV);
	exits();
	ck_assert_int_eq(d->state, DRV_STOPPED);
	tick(1000000);
	drv_start(d, &out);
	drv_restart(d, &out);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_STOPPED);
}
END_TEST

START_TEST(test_drv_remove_of_a_restarting_driver_never_restarts_it)
{
	run_at(0);
	drv_restart(d, &out);
	drv_remove(d, &out);
	ck_assert(!drv_coming_up(d));
	exits();
	ck_assert_int_eq(d->state, DRV_STOPPED);
	ck_assert_uint_eq(n_spawn, 1);
	/* and in a backoff */
	d->removed = false;
	drv_start(d, &out);
	ck_assert_uint_eq(n_spawn, 2);
	exits();
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	drv_remove(d, &out);
	ck_assert_int_eq(d->state, DRV_STOPPED);
	tick(1000000);
	ck_assert_uint_eq(n_spawn, 2);
}
END_TEST

START_TEST(test_drv_hangup_makes_it_dying_and_kills_it_if_it_lingers)
{
	run_at(0);
	now_ms = 300;
	drv_hangup(d, &out);
	ck_assert_int_eq(d->state, DRV_DYING);
	ck_assert_ptr_null(d->chan);
	ck_assert(drv_coming_up(d));
	tick(300 + DRV_HANGUP_MS - 1);
	ck_assert_uint_eq(n_sigs, 0);
	tick(300 + DRV_HANGUP_MS);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
}
END_TEST

START_TEST(test_drv_driver_that_leaves_its_socket_full_is_faulted)
{
	struct ddm_msg m;
	int r = 0;

	run_at(0);
	drv_heard(d, at(1000000)); /* keep the heartbeat out of it */
	for (uint64_t id = 1; id < 100000 && r == 0; id++) {
		ddm_msg_init(&m, DDM_READ, id, 0);
		r = chan_send(d->chan, &m, NULL, 0, at(1000));
	}
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(tick(1000), 1000 + DRV_SEND_TIMEOUT_MS);
	tick(1000 + DRV_SEND_TIMEOUT_MS - 1);
	ck_assert_uint_eq(n_sigs, 0);
	tick(1000 + DRV_SEND_TIMEOUT_MS);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
}
END_TEST

START_TEST(test_drv_spawn_failure_backs_off_like_an_exit)
{
	spawn_err = -EACCES;
	now_ms = 0;
	drv_start(d, &out);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(d->state, DRV_BACKOFF);
	ck_assert_uint_eq(d->fails, 1);
	ck_assert_int_eq(d->proc.pid, 0);
	ck_assert_uint_eq(n_attach, 0);
	spawn_err = 0;
	tick(DRV_BACKOFF_MIN_MS);
	ck_assert_uint_eq(n_spawn, 2);
	ck_assert_int_eq(d->state, DRV_STARTING);
}
END_TEST

/*
 * Regression (ddmfs/drv.c, spawn): up_ms was left over from the last
 * run, so after a run longer than DRV_STABLE_MS every failed spawn reset
 * the failure count, and a driver whose binary went away was retried
 * every DRV_BACKOFF_MIN_MS for ever instead of becoming "failed".
 */
START_TEST(test_drv_spawn_failures_after_a_long_run_end_in_failed)
{
	run_at(0);
	tick(DRV_STABLE_MS + 1000);
	spawn_err = -ENOENT; /* its binary went away */
	exits();
	ck_assert_uint_eq(d->fails, 1);
	for (unsigned int i = 2; i <= DRV_FAIL_MAX; i++) {
		ck_assert_int_eq(d->state, DRV_BACKOFF);
		tick(rel(d->timer_at));
		ck_assert_msg(d->fails == i,
		              "failure %u in a row counted as %u", i, d->fails);
	}
	ck_assert_int_eq(d->state, DRV_FAILED);
}
END_TEST

START_TEST(test_drv_hello_out_of_place_or_of_another_version_is_eproto)
{
	char why[128] = "";

	ck_assert_int_eq(hello_version(DDM_PROTO_VERSION, why, sizeof(why)),
	                 -EPROTO);
	ck_assert_str_eq(why, "HELLO while stopped");
	now_ms = 0;
	drv_start(d, &out);
	ck_assert_int_eq(hello_version(DDM_PROTO_VERSION + 1, why, sizeof(why)),
	                 -EPROTO);
	ck_assert_int_eq(d->state, DRV_STARTING);
	hello();
	ck_assert_int_eq(hello_version(DDM_PROTO_VERSION, why, sizeof(why)),
	                 -EPROTO);
	ck_assert_str_eq(why, "HELLO while running");
}
END_TEST

START_TEST(test_drv_bogus_messages_fault_only_past_bogus_max_in_a_row)
{
	run_at(0);
	for (int i = 0; i < DRV_BOGUS_MAX; i++)
		drv_bogus(d, "reply to an unknown id", &out);
	ck_assert_uint_eq(n_sigs, 0);
	ck_assert_int_eq(d->state, DRV_RUNNING);
	drv_bogus(d, "reply to an unknown id", &out);
	ck_assert_uint_eq(n_sigs, 1);
	ck_assert_int_eq(sigs[0], SIGKILL);
	ck_assert_int_eq(d->state, DRV_DYING);
}
END_TEST

START_TEST(test_drv_exit_while_quitting_restarts_nothing)
{
	run_at(0);
	drv_set_quitting();
	exits();
	ck_assert_int_eq(d->state, DRV_STOPPED);
	tick(1000000);
	ck_assert_uint_eq(n_spawn, 1);
}
END_TEST

START_TEST(test_drv_conf_same_compares_every_setting)
{
	char *args_a[] = { "-v", NULL }, *args_b[] = { "-v", "-x", NULL };
	struct drv_conf a = { .driver = "ddm-rtc",
		              .exe = "/d/ddm-rtc",
		              .io = "sim",
		              .n_ports = 1,
		              .run_uid = 1,
		              .run_gid = 2,
		              .args = args_a };
	struct drv_conf b = a;

	a.ports[0] = b.ports[0] = (struct conf_ports){ 0x70, 2 };
	ck_assert(drv_conf_same(&a, &b));
	b.io = "pio";
	ck_assert(!drv_conf_same(&a, &b));
	b = a;
	b.ports[0].len = 3;
	ck_assert(!drv_conf_same(&a, &b));
	b = a;
	b.run_uid = 3;
	ck_assert(!drv_conf_same(&a, &b));
	b = a;
	b.args = args_b;
	ck_assert(!drv_conf_same(&a, &b));
	ck_assert(!drv_conf_same(&b, &a));
	b = a;
	b.exe = "/e/ddm-rtc";
	ck_assert(!drv_conf_same(&a, &b));
}
END_TEST

static Suite *
drv_suite(void)
{
	Suite *s = suite_create("drv");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_drv_start_spawns_and_hello_makes_it_running);
	tcase_add_test(
	        core,
	        test_drv_quick_exits_back_off_100_200_400_800_ms_then_fail);
	tcase_add_test(core,
	               test_drv_failed_driver_is_retried_after_failed_retry_ms);
	tcase_add_test(core,
	               test_drv_admin_start_of_a_failed_driver_spawns_at_once);
	tcase_add_test(
	        core,
	        test_drv_a_run_longer_than_stable_ms_resets_the_failure_count);
	tcase_add_test(
	        core,
	        test_drv_killed_driver_is_dying_and_opens_wait_until_it_exits);
	tcase_add_test(
	        core,
	        test_drv_lost_instance_wakes_its_pollers_and_ages_its_handles);
	tcase_add_test(core,
	               test_drv_stop_sends_sigterm_then_sigkill_after_stop_ms);
	tcase_add_test(
	        core,
	        test_drv_restart_spawns_at_once_after_the_exit_without_backoff);
	tcase_add_test(core, test_drv_hello_timeout_faults_unless_traced);
	tcase_add_test(
	        core,
	        test_drv_heartbeat_pings_after_silence_and_faults_without_answer);
	tcase_add_test(
	        core,
	        test_drv_heartbeat_waits_for_silence_and_an_answer_ends_it);
	tcase_add_test(core, test_drv_heartbeat_never_faults_a_traced_driver);
	tcase_add_test(
	        core,
	        test_drv_interrupted_request_past_grace_is_eintr_and_faults);
	tcase_add_test(
	        core,
	        test_drv_interrupted_request_of_a_traced_driver_fails_alone);
	tcase_add_test(core, test_drv_queued_open_past_its_wait_is_eio);
	tcase_add_test(core, test_drv_stop_fails_queued_opens_with_enxio);
	tcase_add_test(core,
	               test_drv_failed_driver_fails_queued_opens_with_enxio);
	tcase_add_test(core,
	               test_drv_adopt_takes_over_the_orphan_with_the_same_pid);
	tcase_add_test(core,
	               test_drv_adopted_orphan_that_does_not_answer_is_faulted);
	tcase_add_test(core, test_drv_remove_never_restarts);
	tcase_add_test(
	        core,
	        test_drv_hangup_makes_it_dying_and_kills_it_if_it_lingers);
	tcase_add_test(core,
	               test_drv_driver_that_leaves_its_socket_full_is_faulted);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_drv_hello_timeouts_in_a_row_end_in_failed);
	tcase_add_test(limits,
	               test_drv_stop_again_does_not_put_off_the_sigkill);
	tcase_add_test(limits,
	               test_drv_stop_without_a_process_is_stopped_at_once);
	tcase_add_test(limits,
	               test_drv_restart_of_a_stopped_driver_just_starts_it);
	tcase_add_test(
	        limits,
	        test_drv_remove_of_a_restarting_driver_never_restarts_it);
	tcase_add_test(limits, test_drv_spawn_failure_backs_off_like_an_exit);
	tcase_add_test(limits,
	               test_drv_spawn_failures_after_a_long_run_end_in_failed);
	tcase_add_test(
	        limits,
	        test_drv_hello_out_of_place_or_of_another_version_is_eproto);
	tcase_add_test(
	        limits,
	        test_drv_bogus_messages_fault_only_past_bogus_max_in_a_row);
	tcase_add_test(limits, test_drv_exit_while_quitting_restarts_nothing);
	tcase_add_test(limits, test_drv_conf_same_compares_every_setting);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(drv_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
