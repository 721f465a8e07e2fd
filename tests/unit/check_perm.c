/*
 * check_perm.c: unit tests for the permission store (ddmfs/perm.c).
 *
 * Also the ACLs it stores (ddmfs/acl.c): xattr values, short text, the mode
 * and mask kept in step.  Every store test works in its own temp
 * directory: round trips through the file,
 * forgiving loads (garbage, malformed lines, leftover temp files) and saves
 * that fail without touching the old file or leaving a temp file behind.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "acl.h"
#include "perm.h"

static char dir[64];
static char file[128];

static void
make_dir(void)
{
	strcpy(dir, "/tmp/check_perm.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/perms", dir);
}

static void
remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Counts the entries of d whose name starts with prefix. */
static int
count_prefixed(const char *d, const char *prefix)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(dp);
	return n;
}

static struct perm_store *
open_ok(const char *path, unsigned int *bad)
{
	struct perm_store *ps = NULL;

	ck_assert_int_eq(perm_store_open(path, &ps, bad), 0);
	ck_assert_ptr_nonnull(ps);
	return ps;
}

static void
assert_entry(const struct perm_store *ps, const char *path, mode_t mode,
             uid_t uid, gid_t gid)
{
	const struct perm_entry *e = perm_store_get(ps, path);

	ck_assert_msg(e != NULL, "no entry for %s", path);
	ck_assert_str_eq(e->path, path);
	ck_assert_uint_eq(e->mode, mode);
	ck_assert_uint_eq(e->uid, uid);
	ck_assert_uint_eq(e->gid, gid);
}

START_TEST(test_perm_missing_file_gives_empty_store)
{
	struct perm_store *ps;
	unsigned int bad = 99;

	make_dir();
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(ps->n, 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_str_eq(ps->file, file);
	ck_assert_ptr_null(perm_store_get(ps, "isa0"));
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_round_trip_keeps_mode_uid_gid)
{
	struct perm_store *ps;
	struct stat st;
	unsigned int bad = 99;

	make_dir();
	ps = open_ok(file, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0750, 0, 100), 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0640, 65534, 0), 0);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);

	ck_assert_str_eq(slurp(file),
	                 "isa0 0750 0 100\nisa0/rtc0 0640 65534 0\n");
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(count_prefixed(dir, "perms.tmp."), 0);

	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ps->n, 2);
	assert_entry(ps, "isa0", 0750, 0, 100);
	assert_entry(ps, "isa0/rtc0", 0640, 65534, 0);
	ck_assert_ptr_null(perm_store_get(ps, "isa0/rtc"));
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_set_overwrites_existing_entry)
{
	struct perm_store *ps;

	make_dir();
	write_file(file, "isa0/lp0 0600 0 0\n", 18);
	ps = open_ok(file, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0/lp0", 0666, 12, 34), 0);
	ck_assert_uint_eq(ps->n, 1);
	assert_entry(ps, "isa0/lp0", 0666, 12, 34);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);
	ck_assert_str_eq(slurp(file), "isa0/lp0 0666 12 34\n");
	remove_dir();
}
END_TEST

START_TEST(test_perm_remove_forgets_one_entry_and_keeps_the_order)
{
	struct perm_store *ps;

	make_dir();
	ps = open_ok(file, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0750, 0, 0), 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0/lp0", 0600, 1, 2), 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0640, 3, 4), 0);
	ck_assert_int_eq(perm_store_remove(ps, "isa0/lp0"), 0);
	ck_assert_uint_eq(ps->n, 2);
	ck_assert_ptr_null(perm_store_get(ps, "isa0/lp0"));
	assert_entry(ps, "isa0/rtc0", 0640, 3, 4);
	ck_assert_int_eq(perm_store_remove(ps, "isa0/lp0"), -ENOENT);
	ck_assert_int_eq(perm_store_remove(ps, "isa0/rtc"), -ENOENT);
	ck_assert_uint_eq(ps->n, 2);
	ck_assert_int_eq(perm_store_save(ps), 0);
	ck_assert_int_eq(perm_store_remove(ps, "isa0/rtc0"), 0);
	ck_assert_int_eq(perm_store_remove(ps, "isa0"), 0);
	ck_assert_uint_eq(ps->n, 0);
	/* an entry set again after removal is appended anew */
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0600, 5, 6), 0);
	assert_entry(ps, "isa0/rtc0", 0600, 5, 6);
	perm_store_free(ps);
	ck_assert_str_eq(slurp(file), "isa0 0750 0 0\nisa0/rtc0 0640 3 4\n");
	remove_dir();
}
END_TEST

START_TEST(test_perm_later_duplicate_line_wins)
{
	struct perm_store *ps;

	make_dir();
	write_file(file, "a 0600 0 0\na 0644 1 1\n", 22);
	ps = open_ok(file, NULL);
	ck_assert_uint_eq(ps->n, 1);
	assert_entry(ps, "a", 0644, 1, 1);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_leftover_temp_file_does_not_break_loading)
{
	char tmp[160];
	struct perm_store *ps;
	unsigned int bad = 99;

	make_dir();
	write_file(file, "isa0/rtc0 0644 0 0\n", 19);
	snprintf(tmp, sizeof(tmp), "%s.tmp.AbC123", file);
	write_file(tmp, "isa0/rtc0 07", 12); /* a crash mid-write */
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ps->n, 1);
	assert_entry(ps, "isa0/rtc0", 0644, 0, 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0600, 0, 0), 0);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);
	ck_assert_str_eq(slurp(file), "isa0/rtc0 0600 0 0\n");
	ck_assert_str_eq(slurp(tmp), "isa0/rtc0 07");
	remove_dir();
}
END_TEST

START_TEST(test_perm_garbage_file_loads_as_empty_store)
{
	char garbage[3000];
	struct perm_store *ps;
	unsigned int bad = 0;
	size_t i;

	make_dir();
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)((i * 7919u + 13u) % 256u);
	write_file(file, garbage, sizeof(garbage));
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(ps->n, 0);
	ck_assert_uint_gt(bad, 0);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0755, 0, 0), 0);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);
	ck_assert_str_eq(slurp(file), "isa0 0755 0 0\n");
	remove_dir();
}
END_TEST

START_TEST(test_perm_malformed_lines_are_skipped_and_counted)
{
	static const char text[] = "isa0 0755 0 0\n"
	                           "/isa0 0644 0 0\n"
	                           "isa0/../etc 0644 0 0\n"
	                           "isa0/ 0644 0 0\n"
	                           "isa0//rtc0 0644 0 0\n"
	                           "Isa0 0644 0 0\n"
	                           "isa0 0999 0 0\n"
	                           "isa0 010000 0 0\n"
	                           "isa0 0644 x 0\n"
	                           "isa0 0644 0 -1\n"
	                           "isa0 0644 4294967295 0\n"
	                           "isa0 0644 0\n"
	                           "isa0 0644 0 0 extra\n"
	                           "\n"
	                           "isa0/rtc0\t0600  65534 0\n"
	                           "isa0/kbd0 0600 0 0\0 hidden\n"
	                           "pci0/gone 0640 7 8";
	struct perm_store *ps;
	unsigned int bad = 0;

	make_dir();
	write_file(file, text, sizeof(text) - 1);
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 13);
	ck_assert_uint_eq(ps->n, 3);
	assert_entry(ps, "isa0", 0755, 0, 0);
	assert_entry(ps, "isa0/rtc0", 0600, 65534, 0);
	assert_entry(ps, "pci0/gone", 0640, 7, 8);
	ck_assert_ptr_null(perm_store_get(ps, "isa0/kbd0"));
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_set_rejects_what_the_file_cannot_hold)
{
	struct perm_store *ps;

	make_dir();
	ps = open_ok(file, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0 rtc0", 0644, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "isa0\nx", 0644, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "/isa0", 0644, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "../x", 0644, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "", 0644, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 010000, 0, 0), -EINVAL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0644, (uid_t)-1, 0),
	                 -EINVAL);
	ck_assert_uint_eq(ps->n, 0);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_save_into_missing_dir_fails_with_enoent)
{
	struct perm_store *ps;
	char missing[160];

	make_dir();
	snprintf(missing, sizeof(missing), "%s/no/such/perms", dir);
	ps = open_ok(missing, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0755, 0, 0), 0);
	ck_assert_int_eq(perm_store_save(ps), -ENOENT);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_failed_save_keeps_old_file_and_no_temp)
{
	struct perm_store *ps;
	char inner[160];

	make_dir();
	write_file(file, "isa0 0700 0 0\n", 14);
	ps = open_ok(file, NULL);
	ck_assert_int_eq(perm_store_set(ps, "isa0", 0777, 0, 0), 0);
	if (geteuid() != 0) {
		/* a directory we cannot write to */
		ck_assert_int_eq(chmod(dir, 0555), 0);
		ck_assert_int_eq(perm_store_save(ps), -EACCES);
		ck_assert_int_eq(chmod(dir, 0755), 0);
		ck_assert_str_eq(slurp(file), "isa0 0700 0 0\n");
	}
	/* root writes anywhere: make the rename itself fail instead */
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(mkdir(file, 0755), 0);
	snprintf(inner, sizeof(inner), "%s/keep", file);
	write_file(inner, "old\n", 4);
	ck_assert_int_eq(perm_store_save(ps), -EISDIR);
	ck_assert_str_eq(slurp(inner), "old\n");
	ck_assert_int_eq(count_prefixed(dir, "perms.tmp."), 0);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_open_of_a_directory_fails)
{
	struct perm_store *sentinel = (struct perm_store *)&sentinel;
	struct perm_store *ps = sentinel;
	unsigned int bad = 99;

	make_dir();
	ck_assert_int_eq(perm_store_open(dir, &ps, &bad), -EISDIR);
	ck_assert_ptr_eq(ps, sentinel);
	ck_assert_uint_eq(bad, 99);
	remove_dir();
}
END_TEST

START_TEST(test_perm_thousand_entries_and_extreme_values_round_trip)
{
	struct perm_store *ps;
	char path[32];
	unsigned int bad = 99;
	int i;

	make_dir();
	ps = open_ok(file, NULL);
	for (i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path), "bus%d/dev%d", i % 7, i);
		ck_assert_int_eq(perm_store_set(ps, path, (mode_t)(i % 07777),
		                                (uid_t)i, (gid_t)(2 * i)),
		                 0);
	}
	ck_assert_int_eq(
	        perm_store_set(ps, "max", 07777, 4294967294u, 4294967294u), 0);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ps->n, 1001);
	assert_entry(ps, "bus5/dev999", 999 % 07777, 999, 1998);
	assert_entry(ps, "max", 07777, 4294967294u, 4294967294u);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

START_TEST(test_perm_path_of_255_chars_is_kept_and_256_rejected)
{
	struct perm_store *ps;
	char path[300];

	make_dir();
	ps = open_ok(file, NULL);
	memset(path, 'a', 255);
	path[255] = '\0';
	ck_assert_int_eq(perm_store_set(ps, path, 0600, 0, 0), 0);
	path[255] = 'a';
	path[256] = '\0';
	ck_assert_int_eq(perm_store_set(ps, path, 0600, 0, 0), -EINVAL);
	ck_assert_uint_eq(ps->n, 1);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

/* An xattr value from (tag, perm, id) triples, little-endian. */
static size_t
xattr_of(unsigned char *buf, unsigned int version, const uint32_t *t,
         unsigned int n)
{
	size_t len = 4;

	for (int b = 0; b < 4; b++)
		buf[b] = (unsigned char)(version >> (8 * b));
	for (unsigned int i = 0; i < n; i++, len += 8) {
		buf[len] = (unsigned char)t[3 * i];
		buf[len + 1] = 0;
		buf[len + 2] = (unsigned char)t[3 * i + 1];
		buf[len + 3] = 0;
		for (int b = 0; b < 4; b++)
			buf[len + 4 + b] =
			        (unsigned char)(t[3 * i + 2] >> (8 * b));
	}
	return len;
}

#define NO ACL_NO_ID

START_TEST(test_acl_xattr_round_trip_sorts_entries)
{
	/* out of order on purpose: the kernel's order comes back */
	static const uint32_t t[] = {
		ACL_TAG_OTHER,     0, NO, ACL_TAG_USER,     4, 1000,
		ACL_TAG_MASK,      6, NO, ACL_TAG_USER_OBJ, 6, NO,
		ACL_TAG_GROUP,     2, 7,  ACL_TAG_USER,     1, 5,
		ACL_TAG_GROUP_OBJ, 4, NO
	};
	unsigned char in[128], out[128];
	char text[ACL_TEXT_MAX];
	struct acl a, b;
	size_t len = xattr_of(in, 2, t, 7);

	ck_assert_int_eq(acl_from_xattr(in, len, &a), 0);
	ck_assert_uint_eq(a.n, 7);
	acl_to_text(&a, text, sizeof(text));
	ck_assert_str_eq(
	        text, "u::rw-,u:5:--x,u:1000:r--,g::r--,g:7:-w-,m::rw-,o::---");
	ck_assert_int_eq(acl_to_xattr(&a, NULL, 0), (int)len);
	ck_assert_int_eq(acl_to_xattr(&a, out, len - 1), -ERANGE);
	ck_assert_int_eq(acl_to_xattr(&a, out, sizeof(out)), (int)len);
	ck_assert_int_eq(acl_from_xattr(out, len, &b), 0);
	ck_assert(acl_equal(&a, &b));
	ck_assert_int_eq(acl_from_text(text, &b), 0);
	ck_assert(acl_equal(&a, &b));
	ck_assert_uint_eq(acl_mode(&a, 04000), 04660);
}
END_TEST

START_TEST(test_acl_malformed_xattr_is_einval_and_leaves_ret)
{
	static const uint32_t base[] = { ACL_TAG_USER_OBJ,  6, NO,
		                         ACL_TAG_GROUP_OBJ, 4, NO,
		                         ACL_TAG_OTHER,     0, NO };
	static const uint32_t twice[] = {
		ACL_TAG_USER_OBJ, 6, NO, ACL_TAG_USER,      4, 9,
		ACL_TAG_USER,     6, 9,  ACL_TAG_GROUP_OBJ, 4, NO,
		ACL_TAG_MASK,     6, NO, ACL_TAG_OTHER,     0, NO
	};
	static const uint32_t no_mask[] = { ACL_TAG_USER_OBJ,  6, NO,
		                            ACL_TAG_GROUP,     4, 9,
		                            ACL_TAG_GROUP_OBJ, 4, NO,
		                            ACL_TAG_OTHER,     0, NO };
	static const uint32_t two_owners[] = { ACL_TAG_USER_OBJ,  6, NO,
		                               ACL_TAG_USER_OBJ,  4, NO,
		                               ACL_TAG_GROUP_OBJ, 4, NO,
		                               ACL_TAG_OTHER,     0, NO };
	static const uint32_t bad_tag[] = {
		ACL_TAG_USER_OBJ,  6, NO, 0x40,          4, NO,
		ACL_TAG_GROUP_OBJ, 4, NO, ACL_TAG_OTHER, 0, NO
	};
	static const uint32_t bad_perm[] = { ACL_TAG_USER_OBJ,  8, NO,
		                             ACL_TAG_GROUP_OBJ, 4, NO,
		                             ACL_TAG_OTHER,     0, NO };
	static const uint32_t no_id[] = { ACL_TAG_USER_OBJ,  6, NO,
		                          ACL_TAG_USER,      4, NO,
		                          ACL_TAG_GROUP_OBJ, 4, NO,
		                          ACL_TAG_MASK,      4, NO,
		                          ACL_TAG_OTHER,     0, NO };
	unsigned char buf[128];
	struct acl a = { .n = 42 };
	size_t len;

	len = xattr_of(buf, 2, base, 3);
	ck_assert_int_eq(acl_from_xattr(buf, len - 1, &a), -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, len + 3, &a), -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, 4, &a), -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, 2, &a), -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 1, base, 3), &a),
	                 -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, base, 2), &a),
	                 -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, twice, 6), &a),
	                 -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, no_mask, 4), &a),
	                 -EINVAL);
	ck_assert_int_eq(
	        acl_from_xattr(buf, xattr_of(buf, 2, two_owners, 4), &a),
	        -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, bad_tag, 4), &a),
	                 -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, bad_perm, 3), &a),
	                 -EINVAL);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, no_id, 5), &a),
	                 -EINVAL);
	ck_assert_uint_eq(a.n, 42);
	ck_assert_int_eq(acl_from_xattr(buf, xattr_of(buf, 2, base, 3), &a), 0);
	ck_assert_uint_eq(a.n, 3);
	ck_assert(acl_is_minimal(&a));
}
END_TEST

START_TEST(test_acl_text_entries_parse_and_refuse)
{
	struct acl_entry e;
	bool def = true;

	ck_assert_int_eq(acl_parse_entry("u:1000:rw-", false, &e, &def), 0);
	ck_assert(!def);
	ck_assert_uint_eq(e.tag, ACL_TAG_USER);
	ck_assert_uint_eq(e.id, 1000);
	ck_assert_uint_eq(e.perm, 6);
	ck_assert_int_eq(acl_parse_entry("d:g::r-x", false, &e, &def), 0);
	ck_assert(def);
	ck_assert_uint_eq(e.tag, ACL_TAG_GROUP_OBJ);
	ck_assert_uint_eq(e.perm, 5);
	ck_assert_int_eq(acl_parse_entry("mask::rw", false, &e, NULL), 0);
	ck_assert_uint_eq(e.tag, ACL_TAG_MASK);
	ck_assert_uint_eq(e.perm, 6);
	ck_assert_int_eq(acl_parse_entry("u:root:r--", true, &e, NULL), 0);
	ck_assert_uint_eq(e.id, 0);
	ck_assert_int_eq(acl_parse_entry("u:root:r--", false, &e, NULL),
	                 -EINVAL);
	ck_assert_int_eq(acl_parse_entry("d:u::r--", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("x::r--", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("o:5:r--", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("u:5:rwq", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("u:5:rr", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("u:5:", false, &e, NULL), -EINVAL);
	ck_assert_int_eq(acl_parse_entry("u:4294967295:r", false, &e, NULL),
	                 -EINVAL);
	ck_assert_int_eq(acl_parse_entry("u:5", false, &e, NULL), -EINVAL);
}
END_TEST

START_TEST(test_acl_mode_and_mask_stay_in_step)
{
	struct acl a;
	struct acl_entry add = { ACL_TAG_USER, 6, 65534 };

	ck_assert_int_eq(acl_from_text("u::rw-,g::r--,o::---", &a), 0);
	/* setfacl -m: the mask is the group class's union */
	ck_assert_int_eq(acl_merge(&a, 0640, &add, 1), 0);
	ck_assert_uint_eq(acl_mode(&a, 0640), 0660);
	acl_sync_mode(&a, 0604); /* chmod: the mask follows */
	{
		char text[ACL_TEXT_MAX];

		acl_to_text(&a, text, sizeof(text));
		ck_assert_str_eq(text,
		                 "u::rw-,u:65534:rw-,g::r--,m::---,o::r--");
	}
}
END_TEST

START_TEST(test_acl_inherit_masks_the_default_acl_with_the_mode)
{
	struct acl def, a;
	char text[ACL_TEXT_MAX];
	mode_t mode = 0640;

	ck_assert_int_eq(
	        acl_from_text("u::rwx,u:7:rw-,g::r-x,m::rwx,o::r-x", &def), 0);
	acl_inherit(&def, &mode, &a);
	acl_to_text(&a, text, sizeof(text));
	ck_assert_str_eq(text, "u::rw-,u:7:rw-,g::r-x,m::r--,o::---");
	ck_assert_uint_eq(mode, 0640);
	/* a default ACL of base entries only gives no ACL, a narrower mode */
	ck_assert_int_eq(acl_from_text("u::rw-,g::---,o::---", &def), 0);
	mode = 0666;
	acl_inherit(&def, &mode, &a);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_uint_eq(mode, 0600);
}
END_TEST

START_TEST(test_perm_acl_fields_round_trip_and_old_lines_still_load)
{
	static const char text[] =
	        "isa0 0755 0 0 d=u::rwx,u:65534:r-x,g::r-x,m::r-x,o::r-x\n"
	        "isa0/rtc0 0640 0 0 a=u::rw-,u:65534:r--,g::---,m::r--,o::---\n"
	        "isa0/lp0 0600 7 8\n";
	struct perm_store *ps;
	const struct perm_entry *e;
	unsigned int bad = 99;

	make_dir();
	write_file(file, text, sizeof(text) - 1);
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ps->n, 3);
	e = perm_store_get(ps, "isa0/rtc0");
	ck_assert_uint_eq(e->acl.n, 5);
	ck_assert_uint_eq(e->dacl.n, 0);
	ck_assert_uint_eq(e->acl.e[1].id, 65534);
	ck_assert_uint_eq(perm_store_get(ps, "isa0")->dacl.n, 5);
	ck_assert_uint_eq(perm_store_get(ps, "isa0/lp0")->acl.n, 0);
	/* a chmod through the store moves the mask */
	ck_assert_int_eq(perm_store_set(ps, "isa0/rtc0", 0600, 0, 0), 0);
	ck_assert_int_eq(perm_store_save(ps), 0);
	perm_store_free(ps);
	ck_assert_str_eq(
	        slurp(file),
	        "isa0 0755 0 0 d=u::rwx,u:65534:r-x,g::r-x,m::r-x,o::r-x\n"
	        "isa0/rtc0 0600 0 0 a=u::rw-,u:65534:r--,g::---,m::---,o::---\n"
	        "isa0/lp0 0600 7 8\n");
	remove_dir();
}
END_TEST

START_TEST(test_perm_malformed_acl_fields_skip_their_line)
{
	static const char text[] =
	        "isa0/a 0640 0 0 a=u::rw-,u:5:r--,g::---,o::---\n" /* no m */
	        "isa0/b 0640 0 0 a=u::rw-,g::r--,o::---\n"         /* minimal */
	        "isa0/c 0640 0 0 a=u::rw-,u:5:r,g::-,m::r,o::- a=u::rw-\n"
	        "isa0/d 0640 0 0 x=u::rw-\n"
	        "isa0/e 0640 0 0 a=\n"
	        "isa0/f 0640 0 0 a=u::rw-,u:bob:r,g::-,m::r,o::-\n"
	        "isa0/g 0640 0 0 a=u::rw-,u:5:r,u:5:w,g::-,m::rw,o::-\n"
	        "isa0/h 0640 0 0 a=u::rw-,u:5:r,g::-,m::r,o::- d=u::rw-,g::-,"
	        "o::- z\n"
	        "isa0/ok 0640 0 0 d=u::rw-,g::---,o::---\n";
	struct perm_store *ps;
	unsigned int bad = 0;

	make_dir();
	write_file(file, text, sizeof(text) - 1);
	ps = open_ok(file, &bad);
	ck_assert_uint_eq(bad, 8);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(perm_store_get(ps, "isa0/ok")->dacl.n, 3);
	perm_store_free(ps);
	remove_dir();
}
END_TEST

static Suite *
perm_suite(void)
{
	Suite *s = suite_create("perm");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_perm_missing_file_gives_empty_store);
	tcase_add_test(core, test_acl_xattr_round_trip_sorts_entries);
	tcase_add_test(core, test_acl_malformed_xattr_is_einval_and_leaves_ret);
	tcase_add_test(core, test_acl_text_entries_parse_and_refuse);
	tcase_add_test(core, test_acl_mode_and_mask_stay_in_step);
	tcase_add_test(core,
	               test_acl_inherit_masks_the_default_acl_with_the_mode);
	tcase_add_test(
	        core, test_perm_acl_fields_round_trip_and_old_lines_still_load);
	tcase_add_test(core, test_perm_malformed_acl_fields_skip_their_line);
	tcase_add_test(core, test_perm_round_trip_keeps_mode_uid_gid);
	tcase_add_test(core, test_perm_set_overwrites_existing_entry);
	tcase_add_test(core,
	               test_perm_remove_forgets_one_entry_and_keeps_the_order);
	tcase_add_test(core, test_perm_later_duplicate_line_wins);
	tcase_add_test(core,
	               test_perm_leftover_temp_file_does_not_break_loading);
	tcase_add_test(core, test_perm_garbage_file_loads_as_empty_store);
	tcase_add_test(core, test_perm_malformed_lines_are_skipped_and_counted);
	tcase_add_test(core, test_perm_set_rejects_what_the_file_cannot_hold);
	tcase_add_test(core, test_perm_save_into_missing_dir_fails_with_enoent);
	tcase_add_test(core, test_perm_failed_save_keeps_old_file_and_no_temp);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_perm_open_of_a_directory_fails);
	tcase_add_test(
	        limits,
	        test_perm_thousand_entries_and_extreme_values_round_trip);
	tcase_add_test(limits,
	               test_perm_path_of_255_chars_is_kept_and_256_rejected);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(perm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
