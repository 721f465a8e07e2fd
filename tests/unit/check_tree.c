/*
 * check_tree.c: unit tests for ddmfs's node tree (ddmfs/tree.c): the POSIX
 * rules for chmod, chown and chgrp; the dynamic tree (nodes added and
 * removed one by one, children kept sorted, inode numbers never reused);
 * lookups by path; attributes from the permission store or the node's
 * defaults; and stat (directory, regular file or CUSE char device).
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

#include "perm.h"
#include "tree.h"

#define OWNER 1000
#define GROUP 100
#define OTHER 2000

static struct node *isa, *pci, *rtc, *lp, *edu;

static void
setup_tree(void)
{
	ck_assert_int_eq(tree_init(), 0);
}

static void
teardown_tree(void)
{
	tree_free();
}

/* root -> isa0 (lp0, rtc0), pci0 (edu0), each added out of name order. */
static void
build(void)
{
	struct node *root = tree_root();

	pci = tree_add(root, "pci0", true);
	isa = tree_add(root, "isa0", true);
	ck_assert_ptr_nonnull(pci);
	ck_assert_ptr_nonnull(isa);
	rtc = tree_add(isa, "rtc0", false);
	lp = tree_add(isa, "lp0", false);
	edu = tree_add(pci, "edu0", false);
	ck_assert_ptr_nonnull(rtc);
	ck_assert_ptr_nonnull(lp);
	ck_assert_ptr_nonnull(edu);
}

static struct perm_store *
empty_perms(void)
{
	struct perm_store *ps = NULL;

	ck_assert_int_eq(perm_store_open("/nonexistent/perms", &ps, NULL), 0);
	return ps;
}

/* tree_walk() callback: appends each node's path and a blank to arg. */
static void
walk_note(struct node *n, void *arg)
{
	char *seen = arg;

	strcat(seen, n->path);
	strcat(seen, " ");
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

START_TEST(test_tree_init_makes_a_0755_root_with_ino_1)
{
	struct node *root = tree_root();

	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(root->ino, FUSE_ROOT_ID);
	ck_assert_ptr_eq(root->parent, root);
	ck_assert_int_eq(root->is_dir, 1);
	ck_assert_uint_eq(root->n_kids, 0);
	ck_assert_uint_eq(root->mode, 0755);
	ck_assert_str_eq(root->path, "");
	ck_assert_ptr_eq(tree_get(FUSE_ROOT_ID), root);
	ck_assert_uint_eq(tree_next_ino(), FUSE_ROOT_ID + 1);
}
END_TEST

START_TEST(test_tree_add_keeps_children_sorted_by_name)
{
	struct node *root = tree_root();

	build();
	ck_assert_ptr_nonnull(tree_add(root, "acpi0", true));
	ck_assert_ptr_nonnull(tree_add(isa, "kbd0", false));
	ck_assert_uint_eq(root->n_kids, 3);
	ck_assert_str_eq(root->kids[0]->name, "acpi0");
	ck_assert_str_eq(root->kids[1]->name, "isa0");
	ck_assert_str_eq(root->kids[2]->name, "pci0");
	ck_assert_uint_eq(isa->n_kids, 3);
	ck_assert_str_eq(isa->kids[0]->name, "kbd0");
	ck_assert_str_eq(isa->kids[1]->name, "lp0");
	ck_assert_str_eq(isa->kids[2]->name, "rtc0");
}
END_TEST

START_TEST(test_tree_add_gives_paths_parents_and_the_next_inos)
{
	fuse_ino_t next;
	struct node *n;

	build();
	ck_assert_str_eq(isa->path, "isa0");
	ck_assert_str_eq(rtc->path, "isa0/rtc0");
	ck_assert_str_eq(rtc->name, "rtc0");
	ck_assert_str_eq(edu->path, "pci0/edu0");
	ck_assert_ptr_eq(rtc->parent, isa);
	ck_assert_ptr_eq(isa->parent, tree_root());
	ck_assert_int_eq(isa->is_dir, 1);
	ck_assert_int_eq(rtc->is_dir, 0);
	/* numbered in the order they were added, from 2 */
	ck_assert_uint_eq(pci->ino, 2);
	ck_assert_uint_eq(isa->ino, 3);
	ck_assert_uint_eq(rtc->ino, 4);
	ck_assert_uint_eq(lp->ino, 5);
	ck_assert_uint_eq(edu->ino, 6);
	ck_assert_ptr_eq(tree_get(5), lp);
	next = tree_next_ino();
	ck_assert_uint_eq(next, 7);
	n = tree_add(isa, "kbd0", false);
	ck_assert_uint_eq(n->ino, next);
}
END_TEST

START_TEST(test_tree_find_and_child_look_up_by_path_and_name)
{
	struct node *root = tree_root();

	build();
	ck_assert_ptr_eq(tree_find("isa0"), isa);
	ck_assert_ptr_eq(tree_find("isa0/rtc0"), rtc);
	ck_assert_ptr_eq(tree_find("isa0/lp0"), lp);
	ck_assert_ptr_eq(tree_find("pci0/edu0"), edu);
	ck_assert_ptr_eq(tree_child(root, "isa0"), isa);
	ck_assert_ptr_eq(tree_child(isa, "lp0"), lp);
	ck_assert_ptr_null(tree_child(isa, "edu0"));
	ck_assert_ptr_null(tree_child(root, "rtc0"));
	ck_assert_ptr_null(tree_child(rtc, "rtc0"));
}
END_TEST

START_TEST(test_tree_root_key_is_slash_and_finds_the_root)
{
	build();
	ck_assert_str_eq(ROOT_KEY, "/");
	ck_assert_str_eq(tree_key(tree_root()), "/");
	ck_assert_str_eq(tree_key(isa), "isa0");
	ck_assert_str_eq(tree_key(rtc), "isa0/rtc0");
	ck_assert_ptr_eq(tree_find("/"), tree_root());
}
END_TEST

START_TEST(test_tree_walk_visits_every_node_depth_first_in_name_order)
{
	char seen[256] = "";

	build();
	tree_walk(walk_note, seen);
	ck_assert_str_eq(seen, "isa0 isa0/lp0 isa0/rtc0 pci0 pci0/edu0 ");
}
END_TEST

START_TEST(test_tree_stat_gives_dirs_files_and_cuse_char_devices)
{
	struct timespec mounted = { 1000, 5 };
	struct stat st;

	build();
	isa->mode = 0750;
	tree_stat(isa, &mounted, &st);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_uint_eq(st.st_ino, isa->ino);
	rtc->mode = 0644;
	rtc->uid = 7;
	rtc->gid = 8;
	rtc->ctime = (struct timespec){ 2000, 9 };
	tree_stat(rtc, &mounted, &st);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_uint_eq(st.st_rdev, 0);
	ck_assert_uint_eq(st.st_ino, rtc->ino);
	ck_assert_uint_eq(st.st_uid, 7);
	ck_assert_uint_eq(st.st_gid, 8);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000);
	ck_assert_int_eq(st.st_atim.tv_nsec, 5);
	ck_assert_int_eq(st.st_ctim.tv_sec, 2000);
	ck_assert_int_eq(st.st_ctim.tv_nsec, 9);
	rtc->cuse = true;
	rtc->rdev_maj = 245;
	rtc->rdev_min = 7;
	tree_stat(rtc, &mounted, &st);
	ck_assert_uint_eq(st.st_mode, S_IFCHR | 0644);
	ck_assert_uint_eq(major(st.st_rdev), 245);
	ck_assert_uint_eq(minor(st.st_rdev), 7);
}
END_TEST

START_TEST(test_tree_stat_of_a_cuse_leaf_not_up_yet_is_chr_0_0)
{
	struct timespec mounted = { 0, 0 };
	struct stat st;

	build();
	lp->mode = 0660;
	lp->cuse = true;
	tree_stat(lp, &mounted, &st);
	ck_assert_uint_eq(st.st_mode, S_IFCHR | 0660);
	ck_assert_uint_eq(st.st_rdev, makedev(0, 0));
}
END_TEST

START_TEST(test_tree_refresh_takes_the_perm_store_over_the_defaults)
{
	struct perm_store *ps = empty_perms();
	struct node *root = tree_root();

	build();
	rtc->def_mode = 0644;
	rtc->def_uid = 0;
	rtc->def_gid = 0;
	lp->def_mode = 0660;
	lp->def_uid = 0;
	lp->def_gid = 7;
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0600, 65534, 3), 0);
	ck_assert_int_eq(perm_store_set(ps, "/", 0711, 5, 6), 0);
	tree_refresh(ps, rtc);
	tree_refresh(ps, lp);
	tree_refresh(ps, root);
	ck_assert_uint_eq(rtc->mode, 0600);
	ck_assert_uint_eq(rtc->uid, 65534);
	ck_assert_uint_eq(rtc->gid, 3);
	ck_assert_uint_eq(lp->mode, 0660);
	ck_assert_uint_eq(lp->uid, 0);
	ck_assert_uint_eq(lp->gid, 7);
	ck_assert_uint_eq(root->mode, 0711);
	ck_assert_uint_eq(root->uid, 5);
	ck_assert_uint_eq(root->gid, 6);
	/* the entry forgotten: back to the defaults */
	ck_assert_int_eq(perm_store_remove(ps, "isa0/rtc0"), 0);
	tree_refresh(ps, rtc);
	ck_assert_uint_eq(rtc->mode, 0644);
	ck_assert_uint_eq(rtc->uid, 0);
	ck_assert_uint_eq(rtc->gid, 0);
	perm_store_free(ps);
}
END_TEST

START_TEST(test_tree_refresh_without_a_store_uses_the_defaults)
{
	build();
	edu->def_mode = 0600;
	edu->def_uid = 12;
	edu->def_gid = 34;
	edu->mode = 0777;
	tree_refresh(NULL, edu);
	ck_assert_uint_eq(edu->mode, 0600);
	ck_assert_uint_eq(edu->uid, 12);
	ck_assert_uint_eq(edu->gid, 34);
}
END_TEST

START_TEST(test_tree_remove_never_reuses_an_inode_number)
{
	fuse_ino_t lp_ino, next;
	struct node *n;

	build();
	lp_ino = lp->ino;
	next = tree_next_ino();
	tree_remove(lp);
	ck_assert_ptr_null(tree_get(lp_ino));
	ck_assert_ptr_null(tree_find("isa0/lp0"));
	ck_assert_uint_eq(isa->n_kids, 1);
	ck_assert_ptr_eq(isa->kids[0], rtc);
	/* the same name again gets a new number */
	n = tree_add(isa, "lp0", false);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->ino, next);
	ck_assert_uint_ne(n->ino, lp_ino);
	ck_assert_ptr_null(tree_get(lp_ino));
	ck_assert_ptr_eq(tree_find("isa0/lp0"), n);
	/* the newest node too: its number is not handed out again */
	next = tree_next_ino();
	tree_remove(n);
	n = tree_add(isa, "lp0", false);
	ck_assert_uint_eq(n->ino, next);
	ck_assert_uint_eq(tree_next_ino(), next + 1);
}
END_TEST

START_TEST(test_tree_add_ino_takes_a_given_number_and_continues_after_it)
{
	struct node *n, *m;

	build();
	n = tree_add_ino(isa, "kbd0", false, 100);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->ino, 100);
	ck_assert_ptr_eq(tree_get(100), n);
	ck_assert_uint_eq(tree_next_ino(), 101);
	m = tree_add(isa, "mouse0", false);
	ck_assert_uint_eq(m->ino, 101);
	/* a number in use is refused */
	ck_assert_ptr_null(tree_add_ino(isa, "x0", false, rtc->ino));
	ck_assert_ptr_null(tree_child(isa, "x0"));
}
END_TEST

START_TEST(test_tree_add_refuses_duplicate_names)
{
	fuse_ino_t next;

	build();
	next = tree_next_ino();
	ck_assert_ptr_null(tree_add(tree_root(), "isa0", true));
	ck_assert_ptr_null(tree_add(isa, "rtc0", false));
	ck_assert_ptr_null(tree_add(isa, "rtc0", true));
	ck_assert_uint_eq(tree_root()->n_kids, 2);
	ck_assert_uint_eq(isa->n_kids, 2);
	ck_assert_ptr_eq(tree_find("isa0/rtc0"), rtc);
	ck_assert_uint_eq(tree_next_ino(), next);
}
END_TEST

START_TEST(test_tree_add_refuses_names_over_conf_name_max)
{
	char name[CONF_NAME_MAX + 2];
	struct node *n;

	build();
	memset(name, 'a', CONF_NAME_MAX + 1);
	name[CONF_NAME_MAX + 1] = '\0';
	ck_assert_ptr_null(tree_add(isa, name, false));
	ck_assert_uint_eq(isa->n_kids, 2);
	/* CONF_NAME_MAX itself is fine, also under a bus of that length */
	name[CONF_NAME_MAX] = '\0';
	n = tree_add(tree_root(), name, true);
	ck_assert_ptr_nonnull(n);
	n = tree_add(n, name, false);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(strlen(n->path), 2 * CONF_NAME_MAX + 1);
	ck_assert_ptr_eq(tree_find(n->path), n);
}
END_TEST

START_TEST(test_tree_add_under_a_leaf_is_refused)
{
	build();
	ck_assert_ptr_null(tree_add(rtc, "x", false));
	ck_assert_uint_eq(rtc->n_kids, 0);
}
END_TEST

START_TEST(test_tree_remove_leaves_the_root_and_nonempty_dirs_alone)
{
	build();
	tree_remove(isa);
	ck_assert_ptr_eq(tree_find("isa0"), isa);
	ck_assert_ptr_eq(tree_find("isa0/rtc0"), rtc);
	tree_remove(tree_root());
	ck_assert_ptr_nonnull(tree_root());
	ck_assert_uint_eq(tree_root()->n_kids, 2);
	/* emptied first, a bus goes */
	tree_remove(rtc);
	tree_remove(lp);
	tree_remove(isa);
	ck_assert_ptr_null(tree_find("isa0"));
	ck_assert_uint_eq(tree_root()->n_kids, 1);
	ck_assert_ptr_eq(tree_root()->kids[0], pci);
}
END_TEST

START_TEST(test_tree_find_rejects_partial_and_unknown_paths)
{
	char long_name[CONF_NAME_MAX + 8];

	build();
	ck_assert_ptr_null(tree_find(""));
	ck_assert_ptr_null(tree_find("isa0/"));
	ck_assert_ptr_null(tree_find("/isa0"));
	ck_assert_ptr_null(tree_find("isa0/rtc0/x"));
	ck_assert_ptr_null(tree_find("isa0//rtc0"));
	ck_assert_ptr_null(tree_find("isa0/rtc"));
	ck_assert_ptr_null(tree_find("//"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_ptr_null(tree_find(long_name));
	ck_assert_ptr_null(tree_get(0));
	ck_assert_ptr_null(tree_get(tree_next_ino()));
	ck_assert_ptr_null(tree_get(1000000));
}
END_TEST

START_TEST(test_tree_many_nodes_stay_sorted_and_findable)
{
	char name[16], path[40];

	build();
	/* added in descending order, so every add inserts at the front */
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "d%03d", i);
		ck_assert_ptr_nonnull(tree_add(pci, name, false));
	}
	ck_assert_uint_eq(pci->n_kids, 1001);
	for (unsigned int i = 1; i < pci->n_kids; i++)
		ck_assert_int_lt(
		        strcmp(pci->kids[i - 1]->name, pci->kids[i]->name), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "pci0/d%03d", i);
		ck_assert_ptr_nonnull(tree_find(path));
		ck_assert_str_eq(tree_find(path)->path, path);
	}
}
END_TEST

static Suite *
tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup_tree, teardown_tree);
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
	tcase_add_test(core, test_tree_init_makes_a_0755_root_with_ino_1);
	tcase_add_test(core, test_tree_add_keeps_children_sorted_by_name);
	tcase_add_test(core,
	               test_tree_add_gives_paths_parents_and_the_next_inos);
	tcase_add_test(core, test_tree_find_and_child_look_up_by_path_and_name);
	tcase_add_test(core, test_tree_root_key_is_slash_and_finds_the_root);
	tcase_add_test(
	        core,
	        test_tree_walk_visits_every_node_depth_first_in_name_order);
	tcase_add_test(core,
	               test_tree_stat_gives_dirs_files_and_cuse_char_devices);
	tcase_add_test(core,
	               test_tree_stat_of_a_cuse_leaf_not_up_yet_is_chr_0_0);
	tcase_add_test(
	        core, test_tree_refresh_takes_the_perm_store_over_the_defaults);
	tcase_add_test(core,
	               test_tree_refresh_without_a_store_uses_the_defaults);
	tcase_add_test(core, test_tree_remove_never_reuses_an_inode_number);
	tcase_add_test(
	        core,
	        test_tree_add_ino_takes_a_given_number_and_continues_after_it);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup_tree, teardown_tree);
	tcase_add_test(limits, test_attr_mode_bits_above_07777_are_dropped);
	tcase_add_test(limits, test_tree_add_refuses_duplicate_names);
	tcase_add_test(limits, test_tree_add_refuses_names_over_conf_name_max);
	tcase_add_test(limits, test_tree_add_under_a_leaf_is_refused);
	tcase_add_test(
	        limits,
	        test_tree_remove_leaves_the_root_and_nonempty_dirs_alone);
	tcase_add_test(limits,
	               test_tree_find_rejects_partial_and_unknown_paths);
	tcase_add_test(limits, test_tree_many_nodes_stay_sorted_and_findable);
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
