/*
 * check_tree.c: unit tests for ddmfs's node tree (ddmfs/tree.c): the POSIX
 * rules for chmod, chown and chgrp, building the tree from a conf and the
 * permission store, lookups, attributes (regular file or CUSE char device)
 * and the shape comparison that decides whether a reload can apply.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ddmfs.h"

#define OWNER 1000
#define GROUP 100
#define OTHER 2000

/* Two buses: isa0 (rtc0 0644, lp0 0660 group 7) and pci0 (edu0 0600). */
#define CONF_TWO_BUSES                                                         \
	"buses = (\n"                                                          \
	"  { name = \"isa0\"; mode = \"0750\";\n"                              \
	"    devices = (\n"                                                    \
	"      { name = \"rtc0\"; driver = \"ddm-rtc\"; mode = \"0644\"; },\n" \
	"      { name = \"lp0\"; driver = \"ddm-lp\"; mode = \"0660\";\n"      \
	"        group = \"lp\"; } ); },\n"                                    \
	"  { name = \"pci0\";\n"                                               \
	"    devices = (\n"                                                    \
	"      { name = \"edu0\"; driver = \"ddm-edu\"; mode = \"0600\"; } );" \
	" } );\n"

static struct conf *
load(const char *text)
{
	char path[] = "/tmp/check_tree.XXXXXX", err[CONF_ERR_MAX] = "";
	struct conf *c = NULL;
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = conf_load(path, &c, err, sizeof(err));
	unlink(path);
	ck_assert_msg(r == 0, "conf_load: %s", err);
	return c;
}

static struct perm_store *
empty_perms(void)
{
	struct perm_store *ps = NULL;

	ck_assert_int_eq(perm_store_open("/nonexistent/perms", &ps, NULL), 0);
	return ps;
}

/* Every device present: the driver path array tree_build wants. */
static char *all3[] = { "/bin/rtc", "/bin/lp", "/bin/edu" };

/* Builds the tree of CONF_TWO_BUSES into dfs, as ddmfs does. */
static void
build_dfs(char **paths, const struct perm_store *ps)
{
	dfs.conf = load(CONF_TWO_BUSES);
	ck_assert_int_eq(
	        tree_build(dfs.conf, ps, paths, &dfs.nodes, &dfs.n_nodes), 0);
}

static void
teardown_dfs(void)
{
	tree_free(dfs.nodes, dfs.n_nodes);
	conf_free(dfs.conf);
	dfs.nodes = NULL;
	dfs.n_nodes = 0;
	dfs.conf = NULL;
}

START_TEST(test_attr_root_may_change_mode_owner_and_group)
{
	struct cred root = { 0, 0, NULL, 0 };
	mode_t m = 0644;
	uid_t u = OWNER;
	gid_t g = GROUP;

	ck_assert_int_eq(attr_change(&root, &m, &u, &g,
	                             FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	                                     FUSE_SET_ATTR_GID,
	                             S_IFREG | 02600, OTHER, 55),
	                 0);
	ck_assert_uint_eq(m, 02600);
	ck_assert_uint_eq(u, OTHER);
	ck_assert_uint_eq(g, 55);
}
END_TEST

START_TEST(test_attr_owner_may_chmod)
{
	struct cred owner = { OWNER, GROUP, NULL, 0 };
	mode_t m = 0644;
	uid_t u = OWNER;
	gid_t g = GROUP;

	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_MODE, 0600, 0, 0),
	        0);
	ck_assert_uint_eq(m, 0600);
	ck_assert_uint_eq(u, OWNER);
	ck_assert_uint_eq(g, GROUP);
}
END_TEST

START_TEST(test_attr_owner_chgrp_only_to_its_own_groups)
{
	gid_t groups[] = { 30, 40 };
	struct cred owner = { OWNER, GROUP, groups, 2 };
	mode_t m = 0640;
	uid_t u = OWNER;
	gid_t g = GROUP;

	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_GID, 0, 0, 40),
	        0);
	ck_assert_uint_eq(g, 40);
	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_GID, 0, 0, GROUP),
	        0);
	ck_assert_uint_eq(g, GROUP);
	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_GID, 0, 0, 99),
	        -EPERM);
	ck_assert_uint_eq(g, GROUP);
}
END_TEST

START_TEST(test_attr_owner_cannot_give_the_node_away)
{
	struct cred owner = { OWNER, GROUP, NULL, 0 };
	mode_t m = 0644;
	uid_t u = OWNER;
	gid_t g = GROUP;

	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_UID, 0, OTHER, 0),
	        -EPERM);
	ck_assert_uint_eq(u, OWNER);
	/* chown to itself is a no-op that POSIX allows */
	ck_assert_int_eq(
	        attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_UID, 0, OWNER, 0),
	        0);
	ck_assert_uint_eq(u, OWNER);
}
END_TEST

START_TEST(test_attr_others_get_eperm_and_nothing_changes)
{
	gid_t groups[] = { GROUP };
	struct cred other = { OTHER, GROUP, groups, 1 };
	static const int what[] = { FUSE_SET_ATTR_MODE, FUSE_SET_ATTR_UID,
		                    FUSE_SET_ATTR_GID };

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		mode_t m = 0644;
		uid_t u = OWNER;
		gid_t g = GROUP;

		ck_assert_int_eq(attr_change(&other, &m, &u, &g, what[i], 0777,
		                             OTHER, GROUP),
		                 -EPERM);
		ck_assert_uint_eq(m, 0644);
		ck_assert_uint_eq(u, OWNER);
		ck_assert_uint_eq(g, GROUP);
	}
}
END_TEST

START_TEST(test_attr_failed_chgrp_keeps_the_chmod_of_the_same_call_out)
{
	struct cred owner = { OWNER, GROUP, NULL, 0 };
	mode_t m = 0644;
	uid_t u = OWNER;
	gid_t g = GROUP;

	ck_assert_int_eq(attr_change(&owner, &m, &u, &g,
	                             FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_GID,
	                             0600, 0, 99),
	                 -EPERM);
	ck_assert_uint_eq(m, 0644);
	ck_assert_uint_eq(g, GROUP);
}
END_TEST

START_TEST(test_attr_non_root_chmod_drops_setgid_for_a_foreign_group)
{
	struct cred owner = { OWNER, GROUP, NULL, 0 };
	struct cred root = { 0, 0, NULL, 0 };
	mode_t m = 0644;
	uid_t u = OWNER;
	gid_t g = 99; /* the owner is not in it */

	ck_assert_int_eq(attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_MODE,
	                             02750, 0, 0),
	                 0);
	ck_assert_uint_eq(m, 0750);
	g = GROUP;
	ck_assert_int_eq(attr_change(&owner, &m, &u, &g, FUSE_SET_ATTR_MODE,
	                             02750, 0, 0),
	                 0);
	ck_assert_uint_eq(m, 02750);
	g = 99;
	ck_assert_int_eq(
	        attr_change(&root, &m, &u, &g, FUSE_SET_ATTR_MODE, 02750, 0, 0),
	        0);
	ck_assert_uint_eq(m, 02750);
}
END_TEST

START_TEST(test_tree_build_lays_out_root_buses_and_leaves)
{
	struct perm_store *ps = empty_perms();
	const struct node *root, *isa, *rtc, *lp, *pci, *edu;

	build_dfs(all3, ps);
	ck_assert_uint_eq(dfs.n_nodes, 6);
	root = tree_get(FUSE_ROOT_ID);
	ck_assert_int_eq(root->is_dir, 1);
	ck_assert_uint_eq(root->n_kids, 2);
	ck_assert_uint_eq(root->mode, 0755);
	isa = tree_get(root->kids[0]);
	pci = tree_get(root->kids[1]);
	ck_assert_str_eq(isa->path, "isa0");
	ck_assert_str_eq(pci->path, "pci0");
	ck_assert_uint_eq(isa->mode, 0750);
	ck_assert_uint_eq(isa->n_kids, 2);
	rtc = tree_get(isa->kids[0]);
	lp = tree_get(isa->kids[1]);
	edu = tree_get(pci->kids[0]);
	ck_assert_str_eq(rtc->path, "isa0/rtc0");
	ck_assert_str_eq(rtc->name, "rtc0");
	ck_assert_uint_eq(rtc->parent, isa->ino);
	ck_assert_int_eq(rtc->is_dir, 0);
	ck_assert_int_eq(rtc->bus, 0);
	ck_assert_int_eq(rtc->dev, 0);
	ck_assert_uint_eq(rtc->mode, 0644);
	ck_assert_str_eq(lp->path, "isa0/lp0");
	ck_assert_uint_eq(lp->mode, 0660);
	ck_assert_uint_eq(lp->gid, dfs.conf->buses[0].devices[1].gid);
	ck_assert_str_eq(edu->path, "pci0/edu0");
	ck_assert_int_eq(edu->bus, 1);
	ck_assert_uint_eq(edu->parent, pci->ino);
	for (size_t i = 0; i < dfs.n_nodes; i++)
		ck_assert_uint_eq(dfs.nodes[i].ino, i + 1);
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_build_leaves_out_devices_without_a_driver)
{
	char *no_lp[] = { "/bin/rtc", NULL, "/bin/edu" };
	struct perm_store *ps = empty_perms();
	const struct node *isa;

	build_dfs(no_lp, ps);
	ck_assert_uint_eq(dfs.n_nodes, 5);
	isa = tree_find("isa0");
	ck_assert_uint_eq(isa->n_kids, 1);
	ck_assert_ptr_null(tree_find("isa0/lp0"));
	ck_assert_ptr_nonnull(tree_find("isa0/rtc0"));
	ck_assert_int_eq(tree_find("pci0/edu0")->dev, 0);
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_build_takes_attributes_from_the_perm_store)
{
	struct perm_store *ps = empty_perms();
	const struct node *rtc, *isa;

	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0600, 65534, 3), 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0711, 5, 6), 0);
	build_dfs(all3, ps);
	rtc = tree_find("isa0/rtc0");
	isa = tree_find("isa0");
	ck_assert_uint_eq(rtc->mode, 0600);
	ck_assert_uint_eq(rtc->uid, 65534);
	ck_assert_uint_eq(rtc->gid, 3);
	ck_assert_uint_eq(isa->mode, 0711);
	ck_assert_uint_eq(isa->uid, 5);
	ck_assert_uint_eq(tree_find("isa0/lp0")->mode, 0660);
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_child_finds_by_name_within_its_directory)
{
	struct perm_store *ps = empty_perms();
	const struct node *root, *isa;

	build_dfs(all3, ps);
	root = tree_get(FUSE_ROOT_ID);
	isa = tree_child(root, "isa0");
	ck_assert_ptr_eq(isa, tree_find("isa0"));
	ck_assert_ptr_eq(tree_child(isa, "lp0"), tree_find("isa0/lp0"));
	ck_assert_ptr_null(tree_child(isa, "edu0"));
	ck_assert_ptr_null(tree_child(root, "rtc0"));
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_stat_gives_dirs_files_and_cuse_char_devices)
{
	struct perm_store *ps = empty_perms();
	struct node *rtc;
	struct stat st;

	build_dfs(all3, ps);
	tree_stat(tree_find("isa0"), &st);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(st.st_nlink, 2);
	rtc = tree_find("isa0/rtc0");
	tree_stat(rtc, &st);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);
	ck_assert_uint_eq(st.st_rdev, 0);
	ck_assert_uint_eq(st.st_ino, rtc->ino);
	rtc->cuse = 1;
	rtc->rdev_maj = 245;
	rtc->rdev_min = 7;
	tree_stat(rtc, &st);
	ck_assert_uint_eq(st.st_mode, S_IFCHR | 0644);
	ck_assert_uint_eq(major(st.st_rdev), 245);
	ck_assert_uint_eq(minor(st.st_rdev), 7);
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_stat_of_a_cuse_leaf_not_up_yet_is_chr_0_0)
{
	struct perm_store *ps = empty_perms();
	struct node *lp;
	struct stat st;

	build_dfs(all3, ps);
	lp = tree_find("isa0/lp0");
	lp->cuse = 1;
	tree_stat(lp, &st);
	ck_assert_uint_eq(st.st_mode, S_IFCHR | 0660);
	ck_assert_uint_eq(st.st_rdev, makedev(0, 0));
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_same_shape_ignores_attributes_only)
{
	struct conf *a = load(CONF_TWO_BUSES), *b;
	char *text = strdup(CONF_TWO_BUSES), *p;

	/* the same conf with other modes: same shape */
	p = strstr(text, "\"0644\"");
	memcpy(p, "\"0600\"", 6);
	b = load(text);
	ck_assert_int_eq(tree_same_shape(a, b), 1);
	ck_assert_uint_eq(b->buses[0].devices[0].mode, 0600);
	conf_free(b);
	free(text);
	conf_free(a);
}
END_TEST

START_TEST(test_tree_same_shape_sees_renamed_added_and_reordered_nodes)
{
	struct conf *a = load(CONF_TWO_BUSES), *b;
	char *text = strdup(CONF_TWO_BUSES), *p;

	p = strstr(text, "\"edu0\"");
	memcpy(p, "\"edu1\"", 6);
	b = load(text);
	ck_assert_int_eq(tree_same_shape(a, b), 0);
	conf_free(b);
	free(text);

	b = load("buses = ( { name = \"isa0\"; devices = (\n"
	         "  { name = \"lp0\"; driver = \"ddm-lp\"; },\n"
	         "  { name = \"rtc0\"; driver = \"ddm-rtc\"; } ); },\n"
	         "  { name = \"pci0\"; devices = (\n"
	         "  { name = \"edu0\"; driver = \"ddm-edu\"; } ); } );\n");
	ck_assert_int_eq(tree_same_shape(a, b), 0);
	conf_free(b);

	b = load("buses = ( { name = \"isa0\"; devices = (\n"
	         "  { name = \"rtc0\"; driver = \"ddm-rtc\"; },\n"
	         "  { name = \"lp0\"; driver = \"ddm-lp\"; } ); } );\n");
	ck_assert_int_eq(tree_same_shape(a, b), 0);
	ck_assert_int_eq(tree_same_shape(b, a), 0);
	ck_assert_int_eq(tree_same_shape(b, b), 1);
	conf_free(b);
	conf_free(a);
}
END_TEST

START_TEST(test_attr_mode_bits_above_07777_are_dropped)
{
	struct cred root = { 0, 0, NULL, 0 };
	mode_t m = 0644;
	uid_t u = 0;
	gid_t g = 0;

	ck_assert_int_eq(attr_change(&root, &m, &u, &g, FUSE_SET_ATTR_MODE,
	                             S_IFCHR | 017777, 0, 0),
	                 0);
	ck_assert_uint_eq(m, 07777);
}
END_TEST

START_TEST(test_tree_find_rejects_partial_and_unknown_paths)
{
	struct perm_store *ps = empty_perms();

	build_dfs(all3, ps);
	ck_assert_ptr_null(tree_find(""));
	ck_assert_ptr_null(tree_find("isa0/"));
	ck_assert_ptr_null(tree_find("/isa0"));
	ck_assert_ptr_null(tree_find("isa0/rtc0/x"));
	ck_assert_ptr_null(tree_find("isa0/rtc"));
	ck_assert_ptr_null(tree_get(0));
	ck_assert_ptr_null(tree_get(dfs.n_nodes + 1));
	ck_assert_ptr_eq(tree_get(dfs.n_nodes), &dfs.nodes[dfs.n_nodes - 1]);
	ck_assert_ptr_null(tree_child(tree_find("isa0/rtc0"), "rtc0"));
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_of_a_conf_with_every_device_left_out_has_empty_buses)
{
	char *none[] = { NULL, NULL, NULL };
	struct perm_store *ps = empty_perms();

	build_dfs(none, ps);
	ck_assert_uint_eq(dfs.n_nodes, 3);
	ck_assert_uint_eq(tree_find("isa0")->n_kids, 0);
	ck_assert_uint_eq(tree_find("pci0")->n_kids, 0);
	teardown_dfs();
	perm_store_free(ps);
}
END_TEST

static Suite *
tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_attr_root_may_change_mode_owner_and_group);
	tcase_add_test(core, test_attr_owner_may_chmod);
	tcase_add_test(core, test_attr_owner_chgrp_only_to_its_own_groups);
	tcase_add_test(core, test_attr_owner_cannot_give_the_node_away);
	tcase_add_test(core, test_attr_others_get_eperm_and_nothing_changes);
	tcase_add_test(
	        core,
	        test_attr_failed_chgrp_keeps_the_chmod_of_the_same_call_out);
	tcase_add_test(
	        core,
	        test_attr_non_root_chmod_drops_setgid_for_a_foreign_group);
	tcase_add_test(core, test_tree_build_lays_out_root_buses_and_leaves);
	tcase_add_test(core,
	               test_tree_build_leaves_out_devices_without_a_driver);
	tcase_add_test(core,
	               test_tree_build_takes_attributes_from_the_perm_store);
	tcase_add_test(core,
	               test_tree_child_finds_by_name_within_its_directory);
	tcase_add_test(core,
	               test_tree_stat_gives_dirs_files_and_cuse_char_devices);
	tcase_add_test(core,
	               test_tree_stat_of_a_cuse_leaf_not_up_yet_is_chr_0_0);
	tcase_add_test(core, test_tree_same_shape_ignores_attributes_only);
	tcase_add_test(
	        core,
	        test_tree_same_shape_sees_renamed_added_and_reordered_nodes);
	suite_add_tcase(s, core);
	tcase_add_test(limits, test_attr_mode_bits_above_07777_are_dropped);
	tcase_add_test(limits,
	               test_tree_find_rejects_partial_and_unknown_paths);
	tcase_add_test(
	        limits,
	        test_tree_of_a_conf_with_every_device_left_out_has_empty_buses);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
