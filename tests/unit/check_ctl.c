/*
 * check_ctl.c: unit tests for ddmfs's control commands (ddmfs/ctl.c),
 * driven through ctl_handle() on a tree built in memory: no mount, no
 * socket, no driver processes.  Each test checks the exact reply text.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddmfs.h"

/* isa0 with lp0 and rtc0; owners and groups by number so no name lookup
 * decides the text. */
#define CONF_ISA0(rtc_mode)                                                    \
	"buses = ( { name = \"isa0\"; devices = (\n"                           \
	"  { name = \"lp0\"; driver = \"ddm-lp\"; mode = \"0660\";\n"          \
	"    owner = \"0\"; group = \"0\"; },\n"                               \
	"  { name = \"rtc0\"; driver = \"ddm-rtc\"; mode = \"" rtc_mode        \
	"\";\n"                                                                \
	"    owner = \"0\"; group = \"0\"; } ); } );\n"

static char conf_path[64];
static struct drv *lp, *rtc;

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static struct drv *
fake_drv(const char *path)
{
	struct drv *d = calloc(1, sizeof(*d));
	struct node *n = tree_find(path);

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(n);
	d->node = n;
	d->path = strdup("/d/driver");
	d->pidfd = -1;
	d->timerfd = -1;
	n->drv = d;
	return d;
}

/* dfs as ddmfs sets it up: lp0 running, rtc0 stopped. */
static void
setup(void)
{
	static char *paths[] = { "/d/ddm-lp", "/d/ddm-rtc" };
	char err[CONF_ERR_MAX] = "";
	int fd;

	strcpy(conf_path, "/tmp/check_ctl.XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	write_conf(CONF_ISA0("0644"));
	ck_assert_int_eq(conf_load(conf_path, &dfs.conf, err, sizeof(err)), 0);
	dfs.conf_file = conf_path;
	ck_assert_int_eq(
	        perm_store_open("/nonexistent/perms", &dfs.perms, NULL), 0);
	ck_assert_int_eq(tree_build(dfs.conf, dfs.perms, paths, &dfs.nodes,
	                            &dfs.n_nodes),
	                 0);
	lp = fake_drv("isa0/lp0");
	lp->state = DRV_RUNNING;
	lp->pid = 4242;
	lp->restarts = 2;
	lp->requests = 17;
	rtc = fake_drv("isa0/rtc0");
	rtc->state = DRV_STOPPED;
}

static void
teardown(void)
{
	for (size_t i = 0; i < dfs.n_nodes; i++)
		if (dfs.nodes[i].drv != NULL) {
			free(dfs.nodes[i].drv->path);
			free(dfs.nodes[i].drv);
		}
	tree_free(dfs.nodes, dfs.n_nodes);
	perm_store_free(dfs.perms);
	conf_free(dfs.conf);
	unlink(conf_path);
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
	lp->node->cuse = 1;
	rtc->node->cuse = 1;
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
	struct node *n = rtc->node;

	n->cuse = 1;
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
}
END_TEST

START_TEST(test_ctl_reload_applies_new_modes)
{
	write_conf(CONF_ISA0("0600"));
	expect("reload", 0, 0, "OK\n");
	ck_assert_uint_eq(rtc->node->mode, 0600);
	ck_assert_uint_eq(lp->node->mode, 0660);
}
END_TEST

START_TEST(test_ctl_reload_of_a_new_shape_is_refused_and_keeps_the_tree)
{
	char want[256];

	write_conf("buses = ( { name = \"isa0\"; devices = (\n"
	           "  { name = \"lp0\"; driver = \"ddm-lp\"; } ); } );\n");
	snprintf(want, sizeof(want),
	         "ERR reload: %s: buses or devices were added, removed or "
	         "renamed; restart ddmfs to apply that\n",
	         conf_path);
	expect("reload", 0, -EINVAL, want);
	ck_assert_uint_eq(dfs.conf->buses[0].n_devices, 2);
	ck_assert_ptr_nonnull(tree_find("isa0/rtc0"));
}
END_TEST

START_TEST(test_ctl_reload_says_a_transport_change_waits_for_a_restart)
{
	char want[256];

	write_conf("transport = \"fuse\";\n" CONF_ISA0("0644"));
	snprintf(want, sizeof(want),
	         "OK\nreload: %s: the transport changes when ddmfs "
	         "restarts\n",
	         conf_path);
	expect("reload", 0, 0, want);
	ck_assert_int_eq(dfs.conf->transport, CONF_TRANSPORT_AUTO);
}
END_TEST

START_TEST(test_ctl_reload_keeps_driver_settings_and_takes_only_modes)
{
	const struct conf_device *cd = &dfs.conf->buses[0].devices[1];
	uid_t run_uid = cd->run_uid;

	write_conf("buses = ( { name = \"isa0\"; devices = (\n"
	           "  { name = \"lp0\"; driver = \"ddm-lp\"; mode = "
	           "\"0660\";\n"
	           "    owner = \"0\"; group = \"0\"; },\n"
	           "  { name = \"rtc0\"; driver = \"ddm-evil\"; io = \"pio\";\n"
	           "    ports = [ \"0x70-0x71\" ]; user = \"0\";\n"
	           "    args = [ \"--verbose\" ]; mode = \"0640\";\n"
	           "    owner = \"0\"; group = \"0\"; } ); } );\n");
	expect("reload", 0, 0,
	       "OK\nreload: isa0/rtc0: driver settings changed; restart "
	       "ddmfs to apply them\n");
	cd = &dfs.conf->buses[0].devices[1];
	ck_assert_uint_eq(rtc->node->mode, 0640);
	ck_assert_uint_eq(cd->mode, 0640);
	ck_assert_str_eq(cd->driver, "ddm-rtc");
	ck_assert_str_eq(cd->io, "sim");
	ck_assert_uint_eq(cd->n_ports, 0);
	ck_assert_uint_eq(cd->run_uid, run_uid);
	ck_assert_ptr_null(cd->args[0]);
	ck_assert_str_eq(dfs.conf->buses[0].devices[0].driver, "ddm-lp");
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
	ck_assert_uint_eq(rtc->node->mode, 0644);
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
	tcase_add_test(core, test_ctl_reload_applies_new_modes);
	tcase_add_test(
	        core,
	        test_ctl_reload_of_a_new_shape_is_refused_and_keeps_the_tree);
	tcase_add_test(
	        core,
	        test_ctl_reload_says_a_transport_change_waits_for_a_restart);
	tcase_add_test(
	        core,
	        test_ctl_reload_keeps_driver_settings_and_takes_only_modes);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_ctl_overlong_words_are_cut_not_overrun);
	tcase_add_test(
	        limits,
	        test_ctl_bad_reloaded_conf_reports_file_and_line_and_keeps_old);
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
