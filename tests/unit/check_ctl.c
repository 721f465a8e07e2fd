/*
 * check_ctl.c: unit tests for ddmfs's control commands (ddmfs/ctl.c),
 * driven through ctl_handle() on a tree that sync_conf() builds from a
 * conf file: no mount, no socket, no driver processes.  A fake drv_sys
 * stands in for the outside world: its spawn hands back a socketpair end
 * and a made-up pid, and a small thread plays the event loop, answering
 * each spawn with a HELLO and each SIGTERM or SIGKILL with the exit.
 * Each test checks the exact reply text (status: without its log
 * lines, whose times vary; those are checked on their own).
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
#include "monitor.h"
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
	lp->errors = 3;
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

/* list records for the conf's nodes (no ports granted: "-"). */
#define LP_ROW(transport, state, pid, restarts)                                \
	"node\tisa0/lp0\tddm-lp\tlp0\t" transport "\t" state "\t" pid          \
	"\t" restarts "\t0660\troot\troot\t-\n"
#define RTC_ROW(transport, state, pid, restarts)                               \
	"node\tisa0/rtc0\tddm-rtc\trtc0\t" transport "\t" state "\t" pid       \
	"\t" restarts "\t0644\troot\troot\t-\n"

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

/*
 * Runs "status NODE" as uid peer: the reply without its "log" records
 * must be want_reply, and the last log record must end with last_log
 * (NULL: there must be none).
 */
static void
expect_status(const char *node, uid_t peer, const char *want_reply,
              const char *last_log)
{
	char line[256], *reply = NULL, *kept, *p, *nl, last[512] = "";
	size_t k = 0;

	snprintf(line, sizeof(line), "status %s", node);
	ck_assert_int_eq(ctl_handle(line, peer, &reply), 0);
	kept = calloc(1, strlen(reply) + 1);
	ck_assert_ptr_nonnull(kept);
	for (p = reply; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		if (strncmp(p, "log\t", 4) == 0) {
			snprintf(last, sizeof(last), "%.*s", (int)(nl - p), p);
			continue;
		}
		memcpy(kept + k, p, (size_t)(nl - p) + 1);
		k += (size_t)(nl - p) + 1;
	}
	ck_assert_str_eq(kept, want_reply);
	if (last_log == NULL) {
		ck_assert_str_eq(last, "");
	} else {
		ck_assert_uint_ge(strlen(last), strlen(last_log));
		ck_assert_str_eq(last + strlen(last) - strlen(last_log),
		                 last_log);
	}
	free(kept);
	free(reply);
}

START_TEST(test_ctl_list_gives_one_line_per_node_with_transport)
{
	expect("list", 1000, 0,
	       "OK\n" LP_ROW("fuse", "running", "4242", "2")
	               RTC_ROW("fuse", "stopped", "-", "0"));
}
END_TEST

START_TEST(test_ctl_list_shows_cuse_for_cuse_nodes)
{
	lp->nodes[0]->cuse = true;
	rtc->nodes[0]->cuse = true;
	expect("list", 0, 0,
	       "OK\n" LP_ROW("cuse", "running", "4242", "2")
	               RTC_ROW("cuse", "stopped", "-", "0"));
}
END_TEST

START_TEST(test_ctl_status_of_a_fuse_node)
{
	expect_status("isa0/lp0", 1000,
	              "OK\n"
	              "node\tisa0/lp0\n"
	              "driver\tddm-lp\n"
	              "instance\tlp0\n"
	              "state\trunning\n"
	              "pid\t4242\n"
	              "restarts\t2\n"
	              "transport\tfuse\n"
	              "requests\t17\n"
	              "errors\t3\n"
	              "mode\t0660\n"
	              "owner\troot\n"
	              "group\troot\n",
	              "isa0/lp0: driver ddm-lp started (pid 4242)");
}
END_TEST

START_TEST(test_ctl_status_of_a_cuse_node_has_its_rdev)
{
	struct node *n = rtc->nodes[0];

	n->cuse = true;
	n->rdev_maj = 245;
	n->rdev_min = 7;
	expect_status("isa0/rtc0", 1000,
	              "OK\n"
	              "node\tisa0/rtc0\n"
	              "driver\tddm-rtc\n"
	              "instance\trtc0\n"
	              "state\tstopped\n"
	              "pid\t-\n"
	              "restarts\t0\n"
	              "transport\tcuse\n"
	              "rdev\t245:7\n"
	              "requests\t0\n"
	              "errors\t0\n"
	              "mode\t0644\n"
	              "owner\troot\n"
	              "group\troot\n",
	              NULL);
}
END_TEST

START_TEST(test_ctl_unknown_node_and_bus_are_no_node)
{
	expect("status isa0/kbd0", 0, -ENOENT,
	       "ERR ENOENT No node isa0/kbd0.\n");
	expect("status isa0", 0, -ENOENT, "ERR ENOENT No node isa0.\n");
	expect("restart pci0/edu0", 0, -ENOENT,
	       "ERR ENOENT No node pci0/edu0.\n");
	expect("stop isa0", 0, -ENOENT, "ERR ENOENT No node isa0.\n");
}
END_TEST

START_TEST(test_ctl_usage_errors_name_the_problem)
{
	expect("frobnicate isa0/lp0", 0, -EINVAL,
	       "ERR EINVAL Unknown command \"frobnicate\".\n");
	expect("", 0, -EINVAL, "ERR EINVAL Unknown command \"\".\n");
	expect("status", 0, -EINVAL, "ERR EINVAL Usage: status NODE.\n");
	expect("list isa0/lp0", 0, -EINVAL,
	       "ERR EINVAL list takes no argument but --all.\n");
	expect("list --all now", 0, -EINVAL,
	       "ERR EINVAL Usage: list [--all].\n");
	expect("tree isa0", 0, -EINVAL, "ERR EINVAL Usage: tree.\n");
	expect("stop isa0/lp0 now", 0, -EINVAL,
	       "ERR EINVAL Usage: stop NODE.\n");
	expect("reload now", 0, -EINVAL, "ERR EINVAL Usage: reload.\n");
}
END_TEST

START_TEST(test_ctl_mutating_commands_are_root_only)
{
	expect("stop isa0/lp0", 1000, -EPERM,
	       "ERR EPERM Permission denied: only root may stop.\n");
	expect("reload", 65534, -EPERM,
	       "ERR EPERM Permission denied: only root may reload.\n");
	expect("restart isa0/lp0", 65534, -EPERM,
	       "ERR EPERM Permission denied: only root may restart.\n");
	expect("reset isa0/rtc0", 1000, -EPERM,
	       "ERR EPERM Permission denied: only root may reset.\n");
	expect("start isa0/rtc0", 1, -EPERM,
	       "ERR EPERM Permission denied: only root may start.\n");
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
	       "OK\n" LP_ROW("fuse", "stopped", "-", "2")
	               RTC_ROW("fuse", "stopped", "-", "0"));
}
END_TEST

START_TEST(test_ctl_start_brings_a_stopped_driver_up)
{
	expect("start isa0/rtc0", 0, 0, "OK\n");
	ck_assert_uint_eq(n_spawn, 2);
	ck_assert_int_eq(rtc->state, DRV_RUNNING);
	expect("list", 0, 0,
	       "OK\n" LP_ROW("fuse", "running", "4242", "2")
	               RTC_ROW("fuse", "running", "4243", "0"));
}
END_TEST

START_TEST(test_ctl_restart_gives_a_running_driver_a_new_process)
{
	expect("restart isa0/lp0", 0, 0, "OK\n");
	ck_assert_int_eq(last_sig, SIGTERM);
	ck_assert_uint_eq(n_spawn, 2);
	expect("list", 0, 0,
	       "OK\n" LP_ROW("fuse", "running", "4243", "3")
	               RTC_ROW("fuse", "stopped", "-", "0"));
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
	       "node\tisa0/kbd0\tddm-kbd\tkbd0\tfuse\trunning\t4243\t0\t0600\t"
	       "root\troot\t-\n" RTC_ROW(
	               "fuse", "stopped", "-",
	               "0") "node\tpci0/"
	                    "edu0\tddm-"
	                    "edu\tedu0\tfuse\trunning\t4244\t0\t0600\t"
	                    "root\troot\t-\n");
	expect("status isa0/lp0", 0, -ENOENT, "ERR ENOENT No node isa0/lp0.\n");
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
	expect("list", 0, 0, "OK\n" LP_ROW("fuse", "running", "4242", "2"));
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
	       "OK\n" LP_ROW("fuse", "running", "4242", "2")
	               RTC_ROW("fuse", "stopped", "-", "0"));
}
END_TEST

START_TEST(test_ctl_overlong_words_are_cut_not_overrun)
{
	char line[2048], name[64], want[128];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "status ", 7);
	/* the name is looked up whole and quoted cut to 63 bytes */
	memset(name, 'x', 63);
	name[63] = '\0';
	snprintf(want, sizeof(want), "ERR ENOENT No node %s.\n", name);
	expect(line, 0, -ENOENT, want);
	/* words past the few a verb takes are a usage error */
	expect("status a b c d e f g h", 0, -EINVAL,
	       "ERR EINVAL Usage: status NODE.\n");
}
END_TEST

START_TEST(test_ctl_bad_reloaded_conf_reports_file_and_line_and_keeps_old)
{
	char want[256];

	write_conf("buses = (\n  { name = \"ISA0\"; } );\n");
	snprintf(want, sizeof(want),
	         "ERR EIO reload: %s:2: bus name \"ISA0\" must match "
	         "[a-z0-9_-]{1,32}\n",
	         conf_path);
	expect("reload", 0, -EIO, want);
	ck_assert_str_eq(dfs.conf->buses[0].name, "isa0");
	ck_assert_ptr_eq(drv_at("isa0/rtc0"), rtc);
	ck_assert_uint_eq(rtc->nodes[0]->mode, 0644);
	ck_assert_int_eq(lp->state, DRV_RUNNING);
	ck_assert_int_eq(last_sig, 0);
	expect("list", 0, 0,
	       "OK\n" LP_ROW("fuse", "running", "4242", "2")
	               RTC_ROW("fuse", "stopped", "-", "0"));
}
END_TEST

START_TEST(test_ctl_reload_of_an_unreadable_conf_keeps_the_tree)
{
	char want[256];

	ck_assert_int_eq(unlink(conf_path), 0);
	snprintf(want, sizeof(want), "ERR EIO reload: %s: %s\n", conf_path,
	         strerror(ENOENT));
	expect("reload", 0, -EIO, want);
	ck_assert_ptr_eq(drv_at("isa0/lp0"), lp);
	ck_assert_ptr_eq(drv_at("isa0/rtc0"), rtc);
}
END_TEST

START_TEST(test_ctl_tree_gives_dirs_before_their_leaves)
{
	expect("tree", 1000, 0,
	       "OK\n"
	       "dir\tisa0\n"
	       "leaf\tisa0/lp0\trunning\tddm-lp\n"
	       "leaf\tisa0/rtc0\tstopped\tddm-rtc\n");
}
END_TEST

/* m's events without their times, or "" when none came within ms. */
static char *
take_untimed(struct monitor *m, int ms)
{
	char *text = NULL, *out, *p, *nl;
	size_t k = 0;

	ck_assert_int_eq(monitor_take(m, ms, &text), 0);
	if (text == NULL)
		return strdup("");
	out = calloc(1, strlen(text) + 1);
	ck_assert_ptr_nonnull(out);
	for (p = text; *p != '\0'; p = nl + 1) {
		char *tab = strchr(p, '\t');

		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_ptr_nonnull(tab);
		memcpy(out + k, tab + 1, (size_t)(nl - tab));
		k += (size_t)(nl - tab);
	}
	free(text);
	return out;
}

START_TEST(test_ctl_restart_shows_on_a_monitor_as_exit_restart_start)
{
	struct monitor *m = NULL;
	char *got;

	ck_assert_int_eq(monitor_open(&m), 0);
	expect("restart isa0/lp0", 0, 0, "OK\n");
	got = take_untimed(m, 1000);
	ck_assert_str_eq(got, "exit\tisa0/lp0\tsignal 15\tpid=4242\tsignal=15\n"
	                      "restart\tisa0/lp0\trestart 3\tcount=3\n"
	                      "start\tisa0/lp0\tpid 4243\tpid=4243\n");
	free(got);
	monitor_close(m);
}
END_TEST

START_TEST(test_ctl_reload_shows_on_a_monitor_as_remove_and_add)
{
	struct monitor *m = NULL;
	char *got, *rm, *add;

	ck_assert_int_eq(monitor_open(&m), 0);
	write_conf("buses = ( { name = \"isa0\"; devices = (\n"
	           "  { name = \"kbd0\"; driver = \"ddm-kbd\"; owner = \"0\";\n"
	           "    group = \"0\"; },\n" RTC0("0644") " ); } );\n");
	expect("reload", 0, 0,
	       "OK\n"
	       "reload: isa0/lp0 removed\n"
	       "reload: isa0/kbd0 added\n"
	       "reload: 1 added, 1 removed, 0 restarted\n");
	settle(drv_at("isa0/kbd0"));
	got = take_untimed(m, 1000);
	/* remove before add; lp0's driver is told to stop and exits (when
	 * the fake event loop gets to it), kbd0's starts */
	rm = strstr(got, "remove\tisa0/lp0\treload\n");
	add = strstr(got, "add\tisa0/kbd0\treload\n");
	ck_assert_ptr_nonnull(rm);
	ck_assert_ptr_nonnull(add);
	ck_assert(rm < add);
	ck_assert_ptr_nonnull(
	        strstr(got, "start\tisa0/kbd0\tpid 4243\tpid=4243\n"));
	ck_assert_ptr_nonnull(strstr(
	        got, "exit\tisa0/lp0\tsignal 15\tpid=4242\tsignal=15\n"));
	free(got);
	monitor_close(m);
}
END_TEST

START_TEST(test_monitor_a_full_queue_counts_what_it_loses)
{
	struct monitor *a = NULL, *b = NULL;
	char *text = NULL, *got;
	size_t lines = 0;

	ck_assert_int_eq(monitor_open(&a), 0);
	ck_assert_int_eq(monitor_open(&b), 0);
	for (int i = 0; i < MON_QUEUE_MAX + 7; i++)
		monitor_emit("perm", "isa0/lp0", NULL, "change %d", i);
	ck_assert_int_eq(monitor_take(a, 0, &text), 0);
	ck_assert_ptr_nonnull(text);
	for (char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_uint_eq(lines, MON_QUEUE_MAX + 1);
	ck_assert_ptr_nonnull(strstr(text, "\tperm\tisa0/lp0\tchange 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\tperm\tisa0/lp0\tchange 255\n"));
	ck_assert_ptr_null(strstr(text, "change 256"));
	ck_assert_ptr_nonnull(
	        strstr(text, "\tlost\t-\t7 events lost\tcount=7\n"));
	free(text);
	/* the other monitor lost the same, and nothing is left in a */
	got = take_untimed(b, 0);
	ck_assert_ptr_nonnull(strstr(got, "lost\t-\t7 events lost\tcount=7\n"));
	free(got);
	got = take_untimed(a, 10);
	ck_assert_str_eq(got, "");
	free(got);
	/* once there is room, events queue again */
	monitor_emit("perm", "isa0/lp0", "mode=0600", "mode %04o", 0600);
	got = take_untimed(a, 0);
	ck_assert_str_eq(got, "perm\tisa0/lp0\tmode 0600\tmode=0600\n");
	free(got);
	monitor_close(a);
	monitor_close(b);
}
END_TEST

START_TEST(test_monitor_an_event_stays_one_line_of_four_fields)
{
	struct monitor *m = NULL;
	char *got;

	ck_assert_int_eq(monitor_open(&m), 0);
	monitor_emit("exit", "isa0/\tlp0", NULL, "a\tb\nc");
	got = take_untimed(m, 0);
	ck_assert_str_eq(got, "exit\tisa0/ lp0\ta b c\n");
	free(got);
	monitor_close(m);
}
END_TEST

START_TEST(test_monitor_shutdown_ends_a_waiting_take)
{
	struct monitor *m = NULL;
	char *text = NULL;

	ck_assert_int_eq(monitor_open(&m), 0);
	monitor_emit("upgrade", "-", NULL, "handing over");
	monitor_shutdown();
	/* what was queued still comes, with the news */
	ck_assert_int_eq(monitor_take(m, 60000, &text), -ESHUTDOWN);
	ck_assert_ptr_nonnull(strstr(text, "\tupgrade\t-\thanding over\n"));
	free(text);
	ck_assert_int_eq(monitor_take(m, 60000, &text), -ESHUTDOWN);
	ck_assert_ptr_null(text);
	monitor_close(m);
	/* no new monitor while shut */
	ck_assert_int_eq(monitor_open(&m), -EBUSY);
	monitor_resume();
	ck_assert_int_eq(monitor_open(&m), 0);
	monitor_close(m);
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
	tcase_add_test(core, test_ctl_tree_gives_dirs_before_their_leaves);
	tcase_add_test(
	        core,
	        test_ctl_restart_shows_on_a_monitor_as_exit_restart_start);
	tcase_add_test(core,
	               test_ctl_reload_shows_on_a_monitor_as_remove_and_add);
	tcase_add_test(core, test_monitor_a_full_queue_counts_what_it_loses);
	tcase_add_test(core,
	               test_monitor_an_event_stays_one_line_of_four_fields);
	tcase_add_test(core, test_monitor_shutdown_ends_a_waiting_take);
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
