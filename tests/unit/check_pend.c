/*
 * check_pend.c: unit tests for a driver's table of requests in flight
 * (ddmfs/pend.c) and the id hash table under it (ddmfs/idmap.c): adding,
 * finding and taking entries; what each "take" hands back when a driver
 * instance is lost, when it comes up, and when deadlines pass (with an
 * injected now); the counts of queued and interrupted entries; and the
 * index holding thousands of entries.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "pend.h"

#define SLOT  7
#define GRACE 1000 /* ms: the grace an interrupted request gets */

static struct pend_table t;

static void
setup(void)
{
	memset(&t, 0, sizeof(t));
}

static void
teardown(void)
{
	pend_table_free(&t);
}

/* A new entry in state s, added to t. */
static struct pend *
add(enum pend_state s)
{
	struct pend *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p->e.id = id_new(SLOT);
	p->state = s;
	ck_assert_int_eq(pend_add(&t, p), 0);
	return p;
}

/* Whether list (linked by p->link) holds p. */
static bool
on_list(const struct pend *list, const struct pend *p)
{
	for (; list != NULL; list = list->link)
		if (list == p)
			return true;
	return false;
}

static unsigned int
list_len(const struct pend *list)
{
	unsigned int n = 0;

	for (; list != NULL; list = list->link)
		n++;
	return n;
}

START_TEST(test_pend_add_find_take)
{
	struct pend *a = add(PEND_NEW), *b = add(PEND_SENT);

	ck_assert_uint_eq(t.map.n, 2);
	ck_assert_ptr_eq(pend_find(&t, a->e.id), a);
	ck_assert_ptr_eq(pend_find(&t, b->e.id), b);
	ck_assert_ptr_null(pend_find(&t, b->e.id + 1000));
	ck_assert_ptr_eq(pend_take(&t, a->e.id), a);
	ck_assert_ptr_null(pend_find(&t, a->e.id));
	ck_assert_ptr_null(pend_take(&t, a->e.id));
	ck_assert_ptr_eq(pend_find(&t, b->e.id), b);
	ck_assert_uint_eq(t.map.n, 1);
	free(a);
	free(pend_take(&t, b->e.id));
	ck_assert_uint_eq(t.map.n, 0);
}
END_TEST

START_TEST(test_pend_find_unique_finds_by_the_kernels_id)
{
	struct pend *a = add(PEND_SENT), *b = add(PEND_NEW);

	a->unique = 77;
	b->unique = 78;
	ck_assert_ptr_eq(pend_find_unique(&t, 78), b);
	ck_assert_ptr_eq(pend_find_unique(&t, 77), a);
	ck_assert_ptr_null(pend_find_unique(&t, 79));
	free(pend_take(&t, a->e.id));
	free(pend_take(&t, b->e.id));
}
END_TEST

START_TEST(test_pend_take_lost_takes_sent_entries_and_only_marks_new_ones)
{
	struct pend *fresh = add(PEND_NEW), *s1 = add(PEND_SENT),
	            *s2 = add(PEND_SENT), *q = add(PEND_QUEUED), *list;

	list = pend_take_lost(&t, -EIO);
	ck_assert_uint_eq(list_len(list), 2);
	ck_assert(on_list(list, s1));
	ck_assert(on_list(list, s2));
	ck_assert_int_eq(s1->err, -EIO);
	ck_assert_int_eq(s2->err, -EIO);
	/* the new one stays for its worker to answer, marked failed */
	ck_assert_ptr_eq(pend_find(&t, fresh->e.id), fresh);
	ck_assert_int_eq(fresh->err, -EIO);
	/* the queued open stays, unmarked, for the next instance */
	ck_assert_ptr_eq(pend_find(&t, q->e.id), q);
	ck_assert_int_eq(q->err, 0);
	ck_assert_uint_eq(t.n_queued, 1);
	ck_assert_uint_eq(t.map.n, 2);
	free(s1);
	free(s2);
	free(pend_take(&t, fresh->e.id));
	free(pend_take(&t, q->e.id));
	ck_assert_uint_eq(t.n_queued, 0);
}
END_TEST

START_TEST(test_pend_take_queued_takes_only_the_queued_opens)
{
	struct pend *q1 = add(PEND_QUEUED), *q2 = add(PEND_QUEUED),
	            *s = add(PEND_SENT), *list;

	ck_assert_uint_eq(t.n_queued, 2);
	list = pend_take_queued(&t);
	ck_assert_uint_eq(list_len(list), 2);
	ck_assert(on_list(list, q1));
	ck_assert(on_list(list, q2));
	ck_assert_int_eq(q1->err, 0);
	ck_assert_uint_eq(t.n_queued, 0);
	ck_assert_ptr_null(pend_find(&t, q1->e.id));
	ck_assert_ptr_eq(pend_find(&t, s->e.id), s);
	ck_assert_ptr_null(pend_take_queued(&t));
	free(q1);
	free(q2);
	free(pend_take(&t, s->e.id));
}
END_TEST

START_TEST(test_pend_take_all_takes_every_state_with_err)
{
	struct pend *a = add(PEND_NEW), *b = add(PEND_SENT),
	            *c = add(PEND_QUEUED), *list;

	pend_set_intr(&t, b, 10);
	list = pend_take_all(&t, -ENODEV);
	ck_assert_uint_eq(list_len(list), 3);
	ck_assert_int_eq(a->err, -ENODEV);
	ck_assert_int_eq(b->err, -ENODEV);
	ck_assert_int_eq(c->err, -ENODEV);
	ck_assert_uint_eq(t.map.n, 0);
	ck_assert_uint_eq(t.n_queued, 0);
	ck_assert_uint_eq(t.n_intr, 0);
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_pend_take_expired_fails_queued_eio_and_interrupted_eintr)
{
	struct pend *q1 = add(PEND_QUEUED), *q2 = add(PEND_QUEUED),
	            *s1 = add(PEND_SENT), *s2 = add(PEND_SENT), *list;
	unsigned int n_intr = 99;
	int64_t next = 0;

	q1->due = 1000;
	q2->due = 2000;
	pend_set_intr(&t, s1, 500); /* due at 500 + GRACE */
	ck_assert_uint_eq(t.n_intr, 1);

	list = pend_take_expired(&t, 999, GRACE, &n_intr, &next);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(n_intr, 0);
	ck_assert_int_eq(next, 1000);

	list = pend_take_expired(&t, 1000, GRACE, &n_intr, &next);
	ck_assert_ptr_eq(list, q1);
	ck_assert_ptr_null(q1->link);
	ck_assert_int_eq(q1->err, -EIO);
	ck_assert_uint_eq(n_intr, 0);
	ck_assert_int_eq(next, 1500);
	ck_assert_uint_eq(t.n_queued, 1);

	list = pend_take_expired(&t, 1500, GRACE, &n_intr, &next);
	ck_assert_ptr_eq(list, s1);
	ck_assert_int_eq(s1->err, -EINTR);
	ck_assert_uint_eq(n_intr, 1);
	ck_assert_int_eq(next, 2000);
	ck_assert_uint_eq(t.n_intr, 0);

	list = pend_take_expired(&t, 5000, GRACE, &n_intr, &next);
	ck_assert_ptr_eq(list, q2);
	ck_assert_int_eq(q2->err, -EIO);
	ck_assert_uint_eq(n_intr, 0);
	ck_assert_int_eq(next, PEND_NO_DEADLINE);
	ck_assert_uint_eq(t.n_queued, 0);

	/* a sent request that was not interrupted has no deadline */
	ck_assert_ptr_eq(pend_find(&t, s2->e.id), s2);
	ck_assert_int_eq(s2->err, 0);
	ck_assert_uint_eq(t.map.n, 1);
	free(q1);
	free(q2);
	free(s1);
	free(pend_take(&t, s2->e.id));
}
END_TEST

START_TEST(test_pend_take_expired_counts_every_interrupted_one)
{
	struct pend *s[3], *list;
	unsigned int n_intr = 0;
	int64_t next = 0;

	for (int i = 0; i < 3; i++) {
		s[i] = add(PEND_SENT);
		pend_set_intr(&t, s[i], 100 + i);
	}
	list = pend_take_expired(&t, 100 + 1 + GRACE, GRACE, &n_intr, &next);
	ck_assert_uint_eq(list_len(list), 2);
	ck_assert_uint_eq(n_intr, 2);
	ck_assert_int_eq(next, 100 + 2 + GRACE);
	ck_assert_ptr_eq(pend_find(&t, s[2]->e.id), s[2]);
	ck_assert_uint_eq(t.n_intr, 1);
	free(s[0]);
	free(s[1]);
	free(pend_take(&t, s[2]->e.id));
	ck_assert_uint_eq(t.n_intr, 0);
}
END_TEST

START_TEST(test_pend_set_state_and_set_intr_keep_the_counts_right)
{
	struct pend *p = add(PEND_NEW), *q = add(PEND_QUEUED);

	ck_assert_uint_eq(t.n_queued, 1);
	pend_set_state(&t, p, PEND_QUEUED);
	ck_assert_uint_eq(t.n_queued, 2);
	pend_set_state(&t, p, PEND_QUEUED);
	ck_assert_uint_eq(t.n_queued, 2);
	pend_set_state(&t, q, PEND_SENT);
	ck_assert_uint_eq(t.n_queued, 1);
	ck_assert_int_eq(q->state, PEND_SENT);
	pend_set_intr(&t, q, 50);
	pend_set_intr(&t, q, 60); /* again: still one */
	ck_assert_uint_eq(t.n_intr, 1);
	ck_assert_int_eq(q->intr_at, 60);
	free(pend_take(&t, q->e.id));
	ck_assert_uint_eq(t.n_intr, 0);
	free(pend_take(&t, p->e.id));
	ck_assert_uint_eq(t.n_queued, 0);
}
END_TEST

START_TEST(test_pend_added_queued_or_interrupted_is_counted)
{
	struct pend *p = calloc(1, sizeof(*p));

	/* as an upgrade hands them over: already queued and interrupted */
	p->e.id = id_new(SLOT);
	p->state = PEND_QUEUED;
	p->intr_at = 5;
	ck_assert_int_eq(pend_add(&t, p), 0);
	ck_assert_uint_eq(t.n_queued, 1);
	ck_assert_uint_eq(t.n_intr, 1);
	free(pend_take(&t, p->e.id));
	ck_assert_uint_eq(t.n_queued, 0);
	ck_assert_uint_eq(t.n_intr, 0);
}
END_TEST

START_TEST(test_pend_intr_at_time_0_still_counts_as_interrupted)
{
	struct pend *p = add(PEND_SENT), *list;
	unsigned int n_intr = 0;
	int64_t next = 0;

	pend_set_intr(&t, p, 0);
	ck_assert_int_ne(p->intr_at, 0);
	list = pend_take_expired(&t, GRACE + 1, GRACE, &n_intr, &next);
	ck_assert_ptr_eq(list, p);
	ck_assert_uint_eq(n_intr, 1);
	free(p);
}
END_TEST

START_TEST(test_pend_empty_table_finds_and_expires_nothing)
{
	unsigned int n_intr = 9;
	int64_t next = 0;

	ck_assert_ptr_null(pend_find(&t, 1));
	ck_assert_ptr_null(pend_take(&t, 1));
	ck_assert_ptr_null(pend_find_unique(&t, 1));
	ck_assert_ptr_null(pend_take_lost(&t, -EIO));
	ck_assert_ptr_null(pend_take_queued(&t));
	ck_assert_ptr_null(pend_take_all(&t, -EIO));
	ck_assert_ptr_null(pend_take_expired(&t, 1000, GRACE, &n_intr, &next));
	ck_assert_uint_eq(n_intr, 0);
	ck_assert_int_eq(next, PEND_NO_DEADLINE);
}
END_TEST

#define MANY 20000

START_TEST(test_idmap_grows_to_hold_thousands_of_entries)
{
	struct idmap m = { 0 };
	struct idmap_entry *e = calloc(MANY, sizeof(*e)), *it, *cur = NULL;
	unsigned char *seen = calloc(MANY, 1);
	size_t pos = 0, n = 0;

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(seen);
	for (size_t i = 0; i < MANY; i++) {
		e[i].id = id_new(SLOT);
		ck_assert_int_eq(idmap_add(&m, &e[i]), 0);
	}
	ck_assert_uint_eq(m.n, MANY);
	/* the buckets grew along: chains stay short */
	ck_assert_uint_ge(m.nb, MANY / 2);
	ck_assert_uint_eq(m.nb & (m.nb - 1), 0);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_ptr_eq(idmap_find(&m, e[i].id), &e[i]);
	/* every other one out */
	for (size_t i = 0; i < MANY; i += 2)
		ck_assert_ptr_eq(idmap_take(&m, e[i].id), &e[i]);
	ck_assert_uint_eq(m.n, MANY / 2);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_ptr_eq(idmap_find(&m, e[i].id), i % 2 ? &e[i] : NULL);
	/* iteration sees each one left exactly once */
	while ((it = idmap_next(&m, &pos, &cur)) != NULL) {
		size_t i = (size_t)(it - e);

		ck_assert_uint_lt(i, MANY);
		ck_assert_uint_eq(i % 2, 1);
		ck_assert_uint_eq(seen[i], 0);
		seen[i] = 1;
		n++;
	}
	ck_assert_uint_eq(n, MANY / 2);
	idmap_free(&m);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_ptr_null(idmap_find(&m, e[1].id));
	free(seen);
	free(e);
}
END_TEST

START_TEST(test_pend_take_lost_of_thousands_takes_each_once)
{
	struct pend *list;

	for (int i = 0; i < MANY; i++)
		add(i % 3 == 0 ? PEND_QUEUED : PEND_SENT);
	list = pend_take_lost(&t, -EIO);
	ck_assert_uint_eq(list_len(list), MANY - (MANY + 2) / 3);
	ck_assert_uint_eq(t.map.n, (MANY + 2) / 3);
	ck_assert_uint_eq(t.n_queued, (MANY + 2) / 3);
	while (list != NULL) {
		struct pend *next = list->link;

		ck_assert_int_eq(list->state, PEND_SENT);
		free(list);
		list = next;
	}
	list = pend_take_queued(&t);
	ck_assert_uint_eq(list_len(list), (MANY + 2) / 3);
	ck_assert_uint_eq(t.map.n, 0);
	while (list != NULL) {
		struct pend *next = list->link;

		free(list);
		list = next;
	}
}
END_TEST

START_TEST(test_id_names_its_slot_and_never_repeats)
{
	uint64_t a = id_new(3), b = id_new(3), c = id_new(12345), d;

	ck_assert_uint_eq(id_last(), c & ID_SEQ_MASK);
	ck_assert_uint_eq(id_slot(a), 3);
	ck_assert_uint_eq(id_slot(c), 12345);
	ck_assert_uint_gt(b & ID_SEQ_MASK, a & ID_SEQ_MASK);
	ck_assert_uint_gt(c & ID_SEQ_MASK, b & ID_SEQ_MASK);
	/* an upgrade hands over ids of an earlier ddmfs: later ones follow */
	id_seen((uint64_t)5 << ID_SLOT_SHIFT | 1000000);
	d = id_new(5);
	ck_assert_uint_gt(d & ID_SEQ_MASK, 1000000);
	ck_assert_uint_eq(id_slot(d), 5);
	/* a smaller one changes nothing */
	id_seen(1);
	ck_assert_uint_gt(id_new(5) & ID_SEQ_MASK, d & ID_SEQ_MASK);
}
END_TEST

static Suite *
pend_suite(void)
{
	Suite *s = suite_create("pend");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_pend_add_find_take);
	tcase_add_test(core, test_pend_find_unique_finds_by_the_kernels_id);
	tcase_add_test(
	        core,
	        test_pend_take_lost_takes_sent_entries_and_only_marks_new_ones);
	tcase_add_test(core, test_pend_take_queued_takes_only_the_queued_opens);
	tcase_add_test(core, test_pend_take_all_takes_every_state_with_err);
	tcase_add_test(
	        core,
	        test_pend_take_expired_fails_queued_eio_and_interrupted_eintr);
	tcase_add_test(core,
	               test_pend_take_expired_counts_every_interrupted_one);
	tcase_add_test(core,
	               test_pend_set_state_and_set_intr_keep_the_counts_right);
	tcase_add_test(core, test_pend_added_queued_or_interrupted_is_counted);
	tcase_add_test(core, test_id_names_its_slot_and_never_repeats);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits,
	               test_pend_intr_at_time_0_still_counts_as_interrupted);
	tcase_add_test(limits, test_pend_empty_table_finds_and_expires_nothing);
	tcase_add_test(limits, test_idmap_grows_to_hold_thousands_of_entries);
	tcase_add_test(limits,
	               test_pend_take_lost_of_thousands_takes_each_once);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pend_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
