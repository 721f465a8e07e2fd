/*
 * check_ctl.c: unit tests for ddmfs's control commands (ddmfs/ctl.c),
 * driven through ctl_handle() on a tree that sync_conf() builds from a
 * conf file: no mount, no socket, no driver processes.  A fake drv_sys
 * stands in for the outside world: its spawn hands back a socketpair end
 * and a made-up pid, and a small thread plays the event loop, answering
 * each spawn with a HELLO and each SIGTERM or SIGKILL with the exit.
 * Each test checks the exact reply text.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "ddmfs.h"
#include "drv.h"
#include "fwd.h"
#include "perm.h"
#include "proc.h"
#include "sync.h"
#include "tree.h"

#define FIRST_PID  4242
#define SETTLE_MS  5000 /* the fake event loop answers well within this */
#define EVENTS_MAX 64
#define PEERS_MAX  64

/* isa0 with lp0 and rtc0; owners and groups by number so no name lookup
 * decides the text. */
#define LP0                                                                    \
	"  { name = \"lp0\"; driver = \"ddm-lp\"; mode = \"0660\";\n"          \
	"    owner = \"0\"; group = \"0\"; }"
#define RTC0(mode)                                                             \
	"  { name = \"rtc0\"; driver = \"ddm-rtc\"; mode = \"" mode "\";\n"    \
	"    owner = \"0\"; group = \"0\"; }"
#define CONF_ISA0(rtc_mode)                                                    \
	"buses = ( { name = \"isa0\"; devices = (\n" LP0                       \
	",\n" RTC0(rtc_mode) " ); } );\n"

static char tmp[64], conf_path[128], driver_dir[128];
static struct drv *lp, *rtc;

/* The fake outside world. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct event {
	struct drv *d;
	pid_t pid; /* the instance it is about */
	bool exit; /* else HELLO */
} q[EVENTS_MAX];
static unsigned int n_q;
static bool q_stop;
static pthread_t loop;
static unsigned int n_spawn;
static int last_sig;
static char *spawned_io;     /* d->cf.io at the newest spawn */
static char *spawned_arg0;   /* d->cf.args[0] there, NULL if none */
static int peers[PEERS_MAX]; /* the drivers' ends of their sockets */
static unsigned int n_peers;

static void
push(struct drv *d, pid_t pid, bool exit)
{
	pthread_mutex_lock(&q_lock);
	ck_assert_uint_lt(n_q, EVENTS_MAX);
	q[n_q++] = (struct event){ d, pid, exit };
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

/* The event loop's part: a HELLO from each new instance, the exit of each
 * one signalled, as ev.c would hand them to drv.c. */
static void *
fake_loop(void *arg)
{
	for (;;) {
		struct drv_out out = { 0 };
		struct event e;
		char why[128];
		struct ddm_msg m;

		pthread_mutex_lock(&q_lock);
		while (n_q == 0 && !q_stop)
			pthread_cond_wait(&q_cond, &q_lock);
		if (n_q == 0) {
			pthread_mutex_unlock(&q_lock);
			return NULL;
		}
		e = q[0];
		memmove(q, q + 1, --n_q * sizeof(*q));
		pthread_mutex_unlock(&q_lock);

		pthread_rwlock_rdlock(&dfs.tree_lock);
		pthread_mutex_lock(&e.d->lock);
		if (e.d->proc.pid == e.pid && e.exit) {
			drv_exited(e.d, W_EXITCODE(0, SIGTERM), &out);
		} else if (e.d->proc.pid == e.pid &&
		           e.d->state == DRV_STARTING) {
			ddm_msg_init(&m, DDM_HELLO, 0, 0);
			m.arg0 = DDM_PROTO_VERSION;
			drv_hello(e.d, &m, why, sizeof(why), &out);
		}
		pthread_mutex_unlock(&e.d->lock);
		pthread_rwlock_unlock(&dfs.tree_lock);
		fwd_finish(&out);
	}
}

static int
fake_spawn(struct drv *d, struct drv_proc *ret)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    n_peers == PEERS_MAX)
		return -EMFILE;
	peers[n_peers++] = sv[1];
	free(spawned_io);
	free(spawned_arg0);
	spawned_io = strdup(d->cf.io);
	spawned_arg0 = d->cf.args[0] ? strdup(d->cf.args[0]) : NULL;
	ret->pid = FIRST_PID + (pid_t)n_spawn++;
	ret->pidfd = -1;
	ret->sock = sv[0];
	ret->start_time = 0;
	push(d, ret->pid, false);
	return 0;
}

static void
fake_signal(struct drv *d, int sig)
{
	last_sig = sig;
	if (sig == SIGTERM || sig == SIGKILL)
		push(d, d->proc.pid, true);
}

static bool
fake_traced(struct drv *d)
{
	return false;
}

static void
fake_nothing(struct drv *d)
{
}

static const struct drv_sys fake_sys = {
	.now = proc_now,
	.spawn = fake_spawn,
	.signal = fake_signal,
	.traced = fake_traced,
	.attach = fake_nothing,
	.detach_chan = fake_nothing,
	.detach_pid = fake_nothing,
	.wake = fake_nothing,
	.record = fake_nothing,
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_conf(const char *text)
{
	write_file(conf_path, text, 0644);
}

/* Waits (bounded) for d to leave the transitional states. */
static void
settle(struct drv *d)
{
	pthread_mutex_lock(&d->lock);
	drv_wait_settled(d, SETTLE_MS);
	pthread_mutex_unlock(&d->lock);
}

/* The driver of the node at path. */
static struct drv *
drv_at(const char *path)
{
	struct node *n = tree_find(path);

	ck_assert_msg(n != NULL, "no node %s", path);
	ck_assert_ptr_nonnull(n->drv);
	return n->drv;
}

/* dfs as ddmfs sets it up from CONF_ISA0("0644"): lp0 running (pid
 * 4242, 2 restarts, 17 requests), rtc0 stopped. */
static void
setup(void)
{
	static const char *const drivers[] = { "ddm-lp", "ddm-rtc", "ddm-kbd",
		                               "ddm-edu" };
	char err[CONF_ERR_MAX] = "", path[256];
	struct sync_result res;
	struct conf *c = NULL;

	strcpy(tmp, "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(conf_path, sizeof(conf_path), "%s/ddmfs.conf", tmp);
	snprintf(driver_dir, sizeof(driver_dir), "%s/drivers", tmp);
	ck_assert_int_eq(mkdir(driver_dir, 0755), 0);
	for (size_t i = 0; i < sizeof(drivers) / sizeof(*drivers); i++) {
		snprintf(path, sizeof(path), "%s/%s", driver_dir, drivers[i]);
		write_file(path, "#!/bin/sh\nexit 1\n", 0755);
	}
	write_conf(CONF_ISA0("0644"));
	dfs.conf_file = conf_path;
	dfs.driver_path = driver_dir;
	ck_assert_int_eq(
	        perm_store_open("/nonexistent/perms", &dfs.perms, NULL), 0);
	drv_sys = &fake_sys;
	ck_assert_int_eq(pthread_create(&loop, NULL, fake_loop, NULL), 0);
	ck_assert_int_eq(tree_init(), 0);
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(sync_conf(c, false, &res), 0);
	ck_assert_uint_eq(res.added, 2);
	sync_result_free(&res);
	lp = drv_at("isa0/lp0");
	rtc = drv_at("isa0/rtc0");
	ck_assert_int_eq(rtc->state, DRV_STOPPED);
	pthread_mutex_lock(&lp->lock);
	drv_start(lp, &(struct drv_out){ 0 });
	pthread_mutex_unlock(&lp->lock);
	settle(lp);
	ck_assert_int_eq(lp->state, DRV_RUNNING);
	ck_assert_int_eq(lp->proc.pid, FIRST_PID);
	lp->restarts = 2;
	lp->requests = 17;
}

static void
free_drv(struct drv *d, void *arg)
{
	d->proc.pid = 0;
	if (d->nodes[0] != NULL)
		d->nodes[0]->drv = NULL;
	drv_free(d);
}

static void
teardown(void)
{
	char cmd[128];

	pthread_mutex_lock(&q_lock);
	q_stop = true;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	pthread_join(loop, NULL);
	drv_each(free_drv, NULL);
	tree_free();
	perm_store_free(dfs.perms);
	conf_free(dfs.conf);
	dfs.conf = NULL;
	for (unsigned int i = 0; i < n_peers; i++)
		close(peers[i]);
	free(spawned_io);
	free(spawned_arg0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs line as uid peer; checks the return value and the exact reply. */
static void
expect(const char *line, uid_t peer, int want_r, const char *want_reply)
{
	char *reply = NULL;

	ck_assert_int_eq(ctl_handle(line, peer, &reply), want_r);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(reply, want_reply);
	free(reply);
}

START_TEST(test_ctl_list_gives_one_line_per_node_with_transport)
{
	expect("list", 1000, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4242\t2\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_list_shows_cuse_for_cuse_nodes)
{
	lp->nodes[0]->cuse = true;
	rtc->nodes[0]->cuse = true;
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4242\t2\tcuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tcuse\n");
}
END_TEST

START_TEST(test_ctl_status_of_a_fuse_node)
{
	expect("status isa0/lp0", 1000, 0,
	       "OK\n"
	       "node: isa0/lp0\n"
	       "driver: ddm-lp\n"
	       "state: running\n"
	       "pid: 4242\n"
	       "restarts: 2\n"
	       "transport: fuse\n"
	       "requests: 17\n"
	       "mode: 0660\n"
	       "owner: root\n"
	       "group: root\n");
}
END_TEST

START_TEST(test_ctl_status_of_a_cuse_node_has_its_rdev)
{
	struct node *n = rtc->nodes[0];

	n->cuse = true;
	n->rdev_maj = 245;
	n->rdev_min = 7;
	expect("status isa0/rtc0", 1000, 0,
	       "OK\n"
	       "node: isa0/rtc0\n"
	       "driver: ddm-rtc\n"
	       "state: stopped\n"
	       "pid: -\n"
	       "restarts: 0\n"
	       "transport: cuse\n"
	       "rdev: 245:7\n"
	       "requests: 0\n"
	       "mode: 0644\n"
	       "owner: root\n"
	       "group: root\n");
}
END_TEST

START_TEST(test_ctl_unknown_node_and_bus_are_no_node)
{
	expect("status isa0/kbd0", 0, -ENOENT, "ERR no node isa0/kbd0\n");
	expect("status isa0", 0, -ENOENT, "ERR no node isa0\n");
	expect("restart pci0/edu0", 0, -ENOENT, "ERR no node pci0/edu0\n");
	expect("stop isa0", 0, -ENOENT, "ERR no node isa0\n");
}
END_TEST

START_TEST(test_ctl_usage_errors_name_the_problem)
{
	expect("frobnicate isa0/lp0", 0, -EINVAL,
	       "ERR unknown command \"frobnicate\"\n");
	expect("", 0, -EINVAL, "ERR unknown command \"\"\n");
	expect("status", 0, -EINVAL, "ERR status: wrong number of arguments\n");
	expect("list isa0/lp0", 0, -EINVAL,
	       "ERR list: wrong number of arguments\n");
	expect("stop isa0/lp0 now", 0, -EINVAL,
	       "ERR stop: wrong number of arguments\n");
	expect("reload now", 0, -EINVAL,
	       "ERR reload: wrong number of arguments\n");
}
END_TEST

START_TEST(test_ctl_mutating_commands_are_root_only)
{
	expect("stop isa0/lp0", 1000, -EPERM,
	       "ERR stop: permission denied (root only)\n");
	expect("reload", 65534, -EPERM,
	       "ERR reload: permission denied (root only)\n");
	expect("restart isa0/lp0", 65534, -EPERM,
	       "ERR restart: permission denied (root only)\n");
	expect("start isa0/rtc0", 1, -EPERM,
	       "ERR start: permission denied (root only)\n");
	ck_assert_int_eq(rtc->state, DRV_STOPPED);
	ck_assert_int_eq(lp->state, DRV_RUNNING);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_int_eq(last_sig, 0);
}
END_TEST

START_TEST(test_ctl_stop_stops_a_running_driver)
{
	expect("stop isa0/lp0", 0, 0, "OK\n");
	ck_assert_int_eq(last_sig, SIGTERM);
	ck_assert_int_eq(lp->state, DRV_STOPPED);
	ck_assert_uint_eq(n_spawn, 1);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\tstopped\t-\t2\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_start_brings_a_stopped_driver_up)
{
	expect("start isa0/rtc0", 0, 0, "OK\n");
	ck_assert_uint_eq(n_spawn, 2);
	ck_assert_int_eq(rtc->state, DRV_RUNNING);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4242\t2\tfuse\n"
	       "isa0/rtc0\trunning\t4243\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_restart_gives_a_running_driver_a_new_process)
{
	expect("restart isa0/lp0", 0, 0, "OK\n");
	ck_assert_int_eq(last_sig, SIGTERM);
	ck_assert_uint_eq(n_spawn, 2);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4243\t3\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_reload_applies_new_modes)
{
	write_conf(CONF_ISA0("0600"));
	expect("reload", 0, 0, "OK\nreload: 0 added, 0 removed, 0 restarted\n");
	ck_assert_uint_eq(rtc->nodes[0]->mode, 0600);
	ck_assert_uint_eq(lp->nodes[0]->mode, 0660);
	ck_assert_int_eq(lp->proc.pid, FIRST_PID);
	ck_assert_uint_eq(n_spawn, 1);
}
END_TEST

START_TEST(test_ctl_reload_adds_and_removes_nodes)
{
	write_conf("buses = ( { name = \"isa0\"; devices = (\n"
	           "  { name = \"kbd0\"; driver = \"ddm-kbd\"; owner = \"0\";\n"
	           "    group = \"0\"; },\n" RTC0(
	                   "0644") " ); },\n"
	                           "  { name = \"pci0\"; devices = (\n"
	                           "  { name = \"edu0\"; driver = \"ddm-edu\"; "
	                           "owner = \"0\";\n"
	                           "    group = \"0\"; } ); } );\n");
	expect("reload", 0, 0,
	       "OK\n"
	       "reload: isa0/lp0 removed\n"
	       "reload: isa0/kbd0 added\n"
	       "reload: pci0/edu0 added\n"
	       "reload: 2 added, 1 removed, 0 restarted\n");
	/* the removed node's driver was told to stop, and stays stopped */
	settle(lp);
	ck_assert_int_eq(lp->state, DRV_STOPPED);
	ck_assert(lp->removed);
	ck_assert_ptr_null(lp->nodes[0]);
	settle(drv_at("isa0/kbd0"));
	settle(drv_at("pci0/edu0"));
	ck_assert_uint_eq(n_spawn, 3);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/kbd0\trunning\t4243\t0\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n"
	       "pci0/edu0\trunning\t4244\t0\tfuse\n");
	expect("status isa0/lp0", 0, -ENOENT, "ERR no node isa0/lp0\n");
	ck_assert_uint_eq(tree_find("isa0/kbd0")->mode, 0600);
	ck_assert_ptr_eq(drv_at("isa0/rtc0"), rtc);
}
END_TEST

START_TEST(test_ctl_reload_removes_a_bus_with_its_nodes)
{
	write_conf("buses = ( { name = \"pci0\"; devices = (\n"
	           "  { name = \"edu0\"; driver = \"ddm-edu\"; } ); } );\n");
	expect("reload", 0, 0,
	       "OK\n"
	       "reload: isa0/rtc0 removed\n"
	       "reload: isa0/lp0 removed\n"
	       "reload: isa0 removed\n"
	       "reload: pci0/edu0 added\n"
	       "reload: 1 added, 2 removed, 0 restarted\n");
	ck_assert_ptr_null(tree_find("isa0"));
	ck_assert_ptr_nonnull(tree_find("pci0/edu0"));
	settle(lp);
	ck_assert_int_eq(lp->state, DRV_STOPPED);
}
END_TEST

START_TEST(test_ctl_reload_restarts_a_driver_whose_settings_changed)
{
	write_conf("buses = ( { name = \"isa0\"; devices = (\n"
	           "  { name = \"lp0\"; driver = \"ddm-lp\"; io = \"pio\";\n"
	           "    ports = [ \"0x378-0x37a\" ]; user = \"0\";\n"
	           "    args = [ \"--verbose\" ]; mode = \"0660\";\n"
	           "    owner = \"0\"; group = \"0\"; },\n" RTC0(
	                   "0644") " ); } );\n");
	expect("reload", 0, 0,
	       "OK\n"
	       "reload: isa0/lp0 restarted with its new driver settings\n"
	       "reload: 0 added, 0 removed, 1 restarted\n");
	settle(lp);
	ck_assert_int_eq(last_sig, SIGTERM);
	ck_assert_uint_eq(n_spawn, 2);
	ck_assert_int_eq(lp->state, DRV_RUNNING);
	ck_assert_int_eq(lp->proc.pid, FIRST_PID + 1);
	/* the new instance was started with the new settings */
	ck_assert_str_eq(spawned_io, "pio");
	ck_assert_str_eq(spawned_arg0, "--verbose");
	ck_assert_uint_eq(lp->cf.n_ports, 1);
	ck_assert_uint_eq(lp->cf.run_uid, 0);
	/* the same conf again changes nothing */
	expect("reload", 0, 0, "OK\nreload: 0 added, 0 removed, 0 restarted\n");
	ck_assert_uint_eq(n_spawn, 2);
}
END_TEST

START_TEST(test_ctl_reload_of_a_stopped_driver_takes_new_settings_quietly)
{
	write_conf("buses = ( { name = \"isa0\"; devices = (\n" LP0 ",\n"
	           "  { name = \"rtc0\"; driver = \"ddm-rtc\"; io = \"pio\";\n"
	           "    ports = [ \"0x70-0x71\" ]; user = \"0\";\n"
	           "    mode = \"0644\"; owner = \"0\"; group = \"0\"; }\n"
	           " ); } );\n");
	expect("reload", 0, 0, "OK\nreload: 0 added, 0 removed, 0 restarted\n");
	ck_assert_int_eq(rtc->state, DRV_STOPPED);
	ck_assert_uint_eq(n_spawn, 1);
	ck_assert_str_eq(rtc->cf.io, "pio");
	/* and starts with them */
	expect("start isa0/rtc0", 0, 0, "OK\n");
	ck_assert_str_eq(spawned_io, "pio");
}
END_TEST

START_TEST(test_ctl_reload_leaves_out_a_node_whose_driver_is_missing)
{
	char want[512];

	write_conf("buses = ( { name = \"isa0\"; devices = (\n" LP0 ",\n"
	           "  { name = \"rtc0\"; driver = \"ddm-nosuch\"; } ); } );\n");
	snprintf(want, sizeof(want),
	         "OK\n"
	         "%s:4: driver \"ddm-nosuch\" not found in %s; device "
	         "isa0/rtc0 left out\n"
	         "reload: isa0/rtc0 removed\n"
	         "reload: 0 added, 1 removed, 0 restarted\n",
	         conf_path, driver_dir);
	expect("reload", 0, 0, want);
	ck_assert_ptr_null(tree_find("isa0/rtc0"));
	expect("list", 0, 0, "OK\nisa0/lp0\trunning\t4242\t2\tfuse\n");
}
END_TEST

START_TEST(test_ctl_reload_says_a_transport_change_waits_for_a_restart)
{
	char want[256];

	write_conf("transport = \"cuse\";\n" CONF_ISA0("0644"));
	snprintf(want, sizeof(want),
	         "OK\nreload: %s: the transport changes when ddmfs "
	         "restarts\nreload: 0 added, 0 removed, 0 restarted\n",
	         conf_path);
	expect("reload", 0, 0, want);
	/* the nodes keep the transport they have */
	ck_assert(!dfs.cuse);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4242\t2\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_overlong_words_are_cut_not_overrun)
{
	char line[2048], name[512], want[600];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "status ", 7);
	/* a word beyond the 511 bytes kept reads as one argument too many */
	expect(line, 0, -EINVAL, "ERR status: wrong number of arguments\n");
	line[7 + 511] = '\0';
	memset(name, 'x', 511);
	name[511] = '\0';
	snprintf(want, sizeof(want), "ERR no node %s\n", name);
	expect(line, 0, -ENOENT, want);
}
END_TEST

START_TEST(test_ctl_bad_reloaded_conf_reports_file_and_line_and_keeps_old)
{
	char want[256];

	write_conf("buses = (\n  { name = \"ISA0\"; } );\n");
	snprintf(want, sizeof(want),
	         "ERR reload: %s:2: bus name \"ISA0\" must match "
	         "[a-z0-9_-]{1,32}\n",
	         conf_path);
	expect("reload", 0, -EINVAL, want);
	ck_assert_str_eq(dfs.conf->buses[0].name, "isa0");
	ck_assert_ptr_eq(drv_at("isa0/rtc0"), rtc);
	ck_assert_uint_eq(rtc->nodes[0]->mode, 0644);
	ck_assert_int_eq(lp->state, DRV_RUNNING);
	ck_assert_int_eq(last_sig, 0);
	expect("list", 0, 0,
	       "OK\n"
	       "isa0/lp0\trunning\t4242\t2\tfuse\n"
	       "isa0/rtc0\tstopped\t-\t0\tfuse\n");
}
END_TEST

START_TEST(test_ctl_reload_of_an_unreadable_conf_keeps_the_tree)
{
	char want[256];

	ck_assert_int_eq(unlink(conf_path), 0);
	snprintf(want, sizeof(want), "ERR reload: %s: %s\n", conf_path,
	         strerror(ENOENT));
	expect("reload", 0, -ENOENT, want);
	ck_assert_ptr_eq(drv_at("isa0/lp0"), lp);
	ck_assert_ptr_eq(drv_at("isa0/rtc0"), rtc);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core,
	               test_ctl_list_gives_one_line_per_node_with_transport);
	tcase_add_test(core, test_ctl_list_shows_cuse_for_cuse_nodes);
	tcase_add_test(core, test_ctl_status_of_a_fuse_node);
	tcase_add_test(core, test_ctl_status_of_a_cuse_node_has_its_rdev);
	tcase_add_test(core, test_ctl_unknown_node_and_bus_are_no_node);
	tcase_add_test(core, test_ctl_usage_errors_name_the_problem);
	tcase_add_test(core, test_ctl_mutating_commands_are_root_only);
	tcase_add_test(core, test_ctl_stop_stops_a_running_driver);
	tcase_add_test(core, test_ctl_start_brings_a_stopped_driver_up);
	tcase_add_test(core,
	               test_ctl_restart_gives_a_running_driver_a_new_process);
	tcase_add_test(core, test_ctl_reload_applies_new_modes);
	tcase_add_test(core, test_ctl_reload_adds_and_removes_nodes);
	tcase_add_test(core, test_ctl_reload_removes_a_bus_with_its_nodes);
	tcase_add_test(
	        core, test_ctl_reload_restarts_a_driver_whose_settings_changed);
	tcase_add_test(
	        core,
	        test_ctl_reload_of_a_stopped_driver_takes_new_settings_quietly);
	tcase_add_test(
	        core,
	        test_ctl_reload_says_a_transport_change_waits_for_a_restart);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_ctl_overlong_words_are_cut_not_overrun);
	tcase_add_test(
	        limits,
	        test_ctl_bad_reloaded_conf_reports_file_and_line_and_keeps_old);
	tcase_add_test(limits,
	               test_ctl_reload_of_an_unreadable_conf_keeps_the_tree);
	tcase_add_test(
	        limits,
	        test_ctl_reload_leaves_out_a_node_whose_driver_is_missing);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ctl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
