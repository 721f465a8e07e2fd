/*
 * check_lp.c: unit tests of drivers/lp against the sim parallel port, also
 * one whose output file lies on a filesystem that fills up.
 *
 * libdriver's reply and timer calls are replaced by fakes that record what
 * the driver asked for; the test fires the timers itself, after really
 * waiting their delay.  ddm_open_req() gives the request the test names in
 * open_req (NULL: an open that cannot suspend).  A hook on io_write8 can change
 * the printer's condition after the n-th strobe, to stop a write part-way.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ddm_driver.h"
#include "ddm_io.h"
#include "lpreg.h"
#include "tinyfs.h"

#define LPT1_BASE 0x378 /* the PC's first parallel port */

struct ddm_req {
	int replied;
	long result;
};

struct ftimer {
	int live;
	uint64_t delay;
	ddm_timer_fn *fn;
	void *arg;
};

#define NTIMERS 8
#define NDELAYS 256

static struct io *sim;
static struct ftimer timers[NTIMERS];
static uint64_t delays[NDELAYS]; /* every delay asked for, in order */
static int ndelays;
static int strobes;    /* falling STROBE edges seen */
static int hook_after; /* change the state after this many */
static const char *hook_state;
static struct ddm_req *open_req; /* what ddm_open_req() gives */

static void
fake_reply(struct ddm_req *r, long result, const void *data, size_t len)
{
	ck_assert_int_eq(r->replied, 0);
	r->replied = 1;
	r->result = result;
}

static int
fake_timer_add(struct ddm_dev *dev, uint64_t delay_us, ddm_timer_fn *fn,
               void *arg)
{
	int i;

	for (i = 0; i < NTIMERS; i++) {
		if (timers[i].live)
			continue;
		timers[i] = (struct ftimer){ 1, delay_us, fn, arg };
		if (ndelays < NDELAYS)
			delays[ndelays++] = delay_us;
		return i + 1;
	}
	return -ENOMEM;
}

static void
fake_timer_cancel(struct ddm_dev *dev, int id)
{
	ck_assert_int_gt(id, 0);
	timers[id - 1].live = 0;
}

static struct ddm_req *
fake_open_req(struct ddm_handle *h)
{
	return open_req;
}

/* ddm_read_text() as libdriver does it, the text kept per handle here. */
static struct {
	struct ddm_handle *h;
	char text[4096];
	size_t len, pos;
} texts[4];

static ssize_t
fake_read_text(struct ddm_handle *h, void *buf, size_t size, ddm_text_fn *fill)
{
	size_t i, n;
	ssize_t len;

	for (i = 0; i < 4 && texts[i].h != NULL && texts[i].h != h; i++)
		;
	ck_assert_uint_lt(i, 4);
	if (texts[i].h == NULL) {
		len = fill(h, texts[i].text, sizeof(texts[i].text));
		if (len < 0)
			return len;
		texts[i].h = h;
		texts[i].len = (size_t)len;
		texts[i].pos = 0;
	}
	n = texts[i].len - texts[i].pos;
	if (n > size)
		n = size;
	memcpy(buf, texts[i].text + texts[i].pos, n);
	texts[i].pos += n;
	return (ssize_t)n;
}

static uint64_t
fake_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* io_write8 that counts strobes and may change the printer afterwards. */
static int
hook_io_write8(struct io_region *r, uint64_t off, uint8_t v)
{
	static uint8_t last;
	int err = io_write8(r, off, v);

	if (off == lpt_control) {
		if ((last & LPC_STROBE) && !(v & LPC_STROBE) &&
		    ++strobes == hook_after)
			ck_assert_int_eq(
			        io_sim_set_state(sim, 0x378, hook_state), 0);
		last = v;
	}
	return err;
}

#define ddm_reply        fake_reply
#define ddm_timer_add    fake_timer_add
#define ddm_timer_cancel fake_timer_cancel
#define ddm_open_req     fake_open_req
#define ddm_read_text    fake_read_text
#define ddm_now_us       fake_now_us
#define io_write8        hook_io_write8
#define main             lp_main_unused
#include "lp.c"
#undef main
#undef io_write8

static struct lp_softc sc;

/* Fires timers, each after really waiting its delay, until none is left. */
static int
run_timers(void)
{
	struct timespec ts;
	int i, fired = 0, any;

	do {
		any = 0;
		for (i = 0; i < NTIMERS; i++) {
			if (!timers[i].live)
				continue;
			any = 1;
			ts.tv_sec = (time_t)(timers[i].delay / 1000000);
			ts.tv_nsec = (long)(timers[i].delay % 1000000) * 1000;
			nanosleep(&ts, NULL);
			timers[i].live = 0;
			timers[i].fn(NULL, timers[i].arg);
			fired++;
			ck_assert_int_lt(fired, 1000);
		}
	} while (any);
	return fired;
}

static int
live_timers(void)
{
	int i, n = 0;

	for (i = 0; i < NTIMERS; i++)
		n += timers[i].live;
	return n;
}

static void
setup(void)
{
	struct io_opts o = { .backend = "sim", .name = "lp0" };

	ck_assert_int_eq(io_open(&o, &sim), 0);
	memset(&sc, 0, sizeof(sc));
	memset(timers, 0, sizeof(timers));
	memset(texts, 0, sizeof(texts));
	ndelays = 0;
	strobes = 0;
	hook_after = -1;
	open_req = NULL;
	ck_assert_int_eq(lp_attach(&sc, NULL, sim, LPT1_BASE), 0);
}

static void
teardown(void)
{
	lp_detach(&sc);
	io_close(sim);
}

static char tmpdir[64];

/*
 * Puts the driver on a port whose output file lp0.out lies on a tinyfs
 * mounted on tmpdir; returns the tinyfs's fd.
 */
static int
attach_on_tinyfs(void)
{
	struct io_opts o = { .backend = "sim", .name = "lp0" };

	lp_detach(&sc);
	io_close(sim);
	strcpy(tmpdir, "/tmp/check_lp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	o.sim_dirfd = tinyfs_mount(tmpdir);
	ck_assert_int_eq(io_open(&o, &sim), 0);
	memset(&sc, 0, sizeof(sc));
	ck_assert_int_eq(lp_attach(&sc, NULL, sim, LPT1_BASE), 0);
	return o.sim_dirfd;
}

static void
detach_from_tinyfs(int dfd)
{
	close(dfd);
	tinyfs_unmount(tmpdir);
	rmdir(tmpdir);
}

static void
set_state(const char *s)
{
	ck_assert_int_eq(io_sim_set_state(sim, 0x378, s), 0);
}

/* Checks that the printer received exactly the bytes in s. */
static void
check_printed(const char *s)
{
	char buf[256];
	int n;

	memset(buf, 0, sizeof(buf));
	n = io_sim_take(sim, 0x378, buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, strlen(s));
	ck_assert_str_eq(buf, s);
}

static void
check_status_line(const char *state, const char *line)
{
	struct ddm_handle h = { .sc = &sc };
	char buf[128];

	set_state(state);
	ck_assert_int_eq(lp_open(&h), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(lp_read(&h, NULL, buf, sizeof(buf), 0), strlen(line));
	ck_assert_str_eq(buf, line);
	ck_assert_int_eq(lp_read(&h, NULL, buf, sizeof(buf), 0), 0);
	lp_release(&h);
	memset(texts, 0, sizeof(texts)); /* libdriver frees it with h */
}

START_TEST(test_lp_attach_selects_printer_out_of_reset)
{
	uint8_t v;

	ck_assert_int_eq(io_read8(sc.sc_ior, lpt_control, &v), 0);
	ck_assert_uint_eq(v & 0x3f, LPC_NINIT | LPC_SELECTIN);
	ck_assert_uint_eq(sc.sc_timeout_ms, LP_BUSY_TIMEOUT_MS);
}
END_TEST

START_TEST(test_lp_write_to_ready_printer_sends_every_byte)
{
	struct ddm_handle h = { .sc = &sc };

	ck_assert_int_eq(lp_write(&h, NULL, "hello\n", 6, 0), 6);
	ck_assert_int_eq(strobes, 6);
	ck_assert_int_eq(ndelays, 0);
	check_printed("hello\n");
	ck_assert_int_eq(lp_write(&h, NULL, "", 0, 0), 0);
	check_printed("");
}
END_TEST

START_TEST(test_lp_busy_then_ready_finishes_from_timer)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req req = { 0 };
	char data[] = "xyz";
	int i;

	set_state("busy:30");
	ck_assert_int_eq(lp_write(&h, &req, data, 3, 0), DDM_SUSPEND);
	memset(data, '!', 3); /* the driver kept its own copy */
	check_printed("");
	ck_assert_int_gt(run_timers(), 1);
	ck_assert_int_eq(req.replied, 1);
	ck_assert_int_eq(req.result, 3);
	check_printed("xyz");
	/* Polls start at 1 ms and back off, doubling, to 10 ms. */
	ck_assert_uint_eq(delays[0], 1000);
	ck_assert_uint_eq(delays[1], 2000);
	for (i = 1; i < ndelays; i++)
		ck_assert_uint_eq(delays[i], delays[i - 1] * 2 > 10000
		                                     ? 10000
		                                     : delays[i - 1] * 2);
}
END_TEST

START_TEST(test_lp_writes_are_served_in_order)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req r1 = { 0 }, r2 = { 0 };

	set_state("busy:10");
	ck_assert_int_eq(lp_write(&h, &r1, "ab", 2, 0), DDM_SUSPEND);
	ck_assert_int_eq(lp_write(&h, &r2, "cd", 2, 0), DDM_SUSPEND);
	ck_assert_int_eq(live_timers(), 1); /* one poll serves the queue */
	run_timers();
	ck_assert_int_eq(r1.result, 2);
	ck_assert_int_eq(r2.result, 2);
	check_printed("abcd");
}
END_TEST

START_TEST(test_lp_status_line_format)
{
	check_status_line("ready", "busy=0 select=1 paperout=0 error=0\n");
	check_status_line("busy", "busy=1 select=1 paperout=0 error=0\n");
	check_status_line("paperout", "busy=1 select=1 paperout=1 error=0\n");
	check_status_line("offline", "busy=1 select=0 paperout=0 error=0\n");
	check_status_line("error", "busy=1 select=1 paperout=0 error=1\n");
}
END_TEST

START_TEST(test_lp_status_line_in_short_reads)
{
	struct ddm_handle h = { .sc = &sc };
	char buf[64];

	ck_assert_int_eq(lp_open(&h), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(lp_read(&h, NULL, buf, 7, 0), 7);
	set_state("offline"); /* the line was taken at the first read */
	ck_assert_int_eq(lp_read(&h, NULL, buf + 7, 50, 0), 28);
	ck_assert_str_eq(buf, "busy=0 select=1 paperout=0 error=0\n");
	ck_assert_int_eq(lp_read(&h, NULL, buf, 50, 0), 0);
	lp_release(&h);
}
END_TEST

START_TEST(test_lp_open_is_exclusive)
{
	struct ddm_handle h1 = { .sc = &sc }, h2 = { .sc = &sc };

	ck_assert_int_eq(lp_open(&h1), 0);
	ck_assert_int_eq(lp_open(&h2), -EBUSY);
	ck_assert_ptr_ne(sc.sc_holder, &h2);
	lp_release(&h1);
	ck_assert_int_eq(lp_open(&h2), 0);
	lp_release(&h2);
}
END_TEST

/* Opens h as the loop would, with request r to suspend. */
static int
open_with(struct ddm_handle *h, struct ddm_req *r)
{
	open_req = r;
	return lp_open(h);
}

START_TEST(test_lp_second_open_waits_and_gets_port_on_release)
{
	struct ddm_handle h1 = { .sc = &sc }, h2 = { .sc = &sc };
	struct ddm_req r1 = { 0 }, r2 = { 0 };

	ck_assert_int_eq(open_with(&h1, &r1), 0);
	ck_assert_int_eq(open_with(&h2, &r2), DDM_SUSPEND);
	ck_assert_int_eq(r2.replied, 0);
	ck_assert_ptr_ne(sc.sc_holder, &h2);
	ck_assert_int_eq(live_timers(), 1);
	ck_assert_uint_eq(delays[0], LP_OPEN_WAIT_MS * 1000);
	ck_assert_uint_eq(LP_OPEN_WAIT_MS, 1000);
	lp_release(&h1);
	ck_assert_int_eq(r2.replied, 1);
	ck_assert_int_eq(r2.result, 0);
	ck_assert_ptr_eq(sc.sc_holder, &h2);
	ck_assert_int_eq(live_timers(), 0); /* the bound is cancelled */
	ck_assert_int_eq(sc.sc_open, 1);
	ck_assert_int_eq(r1.replied, 0); /* answered by its own return */
	lp_release(&h2);
	ck_assert_int_eq(sc.sc_open, 0);
}
END_TEST

START_TEST(test_lp_waiting_opens_are_served_in_order)
{
	struct ddm_handle h1 = { .sc = &sc }, h2 = { .sc = &sc },
	                  h3 = { .sc = &sc };
	struct ddm_req r2 = { 0 }, r3 = { 0 };

	ck_assert_int_eq(open_with(&h1, NULL), 0);
	ck_assert_int_eq(open_with(&h2, &r2), DDM_SUSPEND);
	ck_assert_int_eq(open_with(&h3, &r3), DDM_SUSPEND);
	lp_release(&h1);
	ck_assert_int_eq(r2.result, 0);
	ck_assert_int_eq(r2.replied, 1);
	ck_assert_int_eq(r3.replied, 0); /* keeps waiting, its bound too */
	ck_assert_int_eq(live_timers(), 1);
	lp_release(&h2);
	ck_assert_int_eq(r3.replied, 1);
	ck_assert_int_eq(r3.result, 0);
	ck_assert_ptr_eq(sc.sc_holder, &h3);
	ck_assert_int_eq(live_timers(), 0);
	lp_release(&h3);
}
END_TEST

START_TEST(test_lp_getstatus_returns_status_register)
{
	struct ddm_handle h = { .sc = &sc };
	int v = -1;
	struct ddm_ioctl io = { .cmd = LPGETSTATUS,
		                .out = &v,
		                .out_len = sizeof(v) };

	ck_assert_int_eq(lp_ioctl(&h, NULL, &io), 0);
	ck_assert_int_eq(v, 0xdf); /* idle and ready */
	ck_assert_int_eq(io.out_len, sizeof(int));
	set_state("paperout");
	ck_assert_int_eq(lp_ioctl(&h, NULL, &io), 0);
	ck_assert_int_eq(v, 0x7f); /* nBUSY 0, PE 1 */
	ck_assert_int_eq(lp_ioctls[0].cmd, LPGETSTATUS);
	ck_assert_int_eq(lp_ioctls[0].out_size, sizeof(int));
	io.cmd = LPRESET;
	ck_assert_int_eq(lp_ioctl(&h, NULL, &io), -ENOTTY);
}
END_TEST

START_TEST(test_lp_busy_past_timeout_is_etimedout_and_sends_nothing)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req req = { 0 };
	uint64_t t0;

	sc.sc_timeout_ms = 40;
	set_state("busy");
	t0 = fake_now_us();
	ck_assert_int_eq(lp_write(&h, &req, "abc", 3, 0), DDM_SUSPEND);
	run_timers();
	ck_assert_int_ge(fake_now_us() - t0, 40000);
	ck_assert_int_eq(req.replied, 1);
	ck_assert_int_eq(req.result, -ETIMEDOUT);
	ck_assert_int_eq(strobes, 0);
	check_printed("");
}
END_TEST

START_TEST(test_lp_busy_part_way_gives_short_count_never_twice)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req req = { 0 };

	sc.sc_timeout_ms = 20;
	hook_after = 2;
	hook_state = "busy";
	ck_assert_int_eq(lp_write(&h, &req, "abcd", 4, 0), DDM_SUSPEND);
	run_timers();
	ck_assert_int_eq(req.result, 2);
	check_printed("ab");
	set_state("ready");
	ck_assert_int_eq(lp_write(&h, NULL, "cd", 2, 0), 2);
	check_printed("cd");
}
END_TEST

START_TEST(test_lp_paper_out_is_enospc)
{
	struct ddm_handle h = { .sc = &sc };

	set_state("paperout");
	ck_assert_int_eq(lp_write(&h, NULL, "abc", 3, 0), -ENOSPC);
	check_printed("");
	ck_assert_int_eq(ndelays, 0);
}
END_TEST

START_TEST(test_lp_paper_out_part_way_gives_short_count)
{
	struct ddm_handle h = { .sc = &sc };

	hook_after = 1;
	hook_state = "paperout";
	ck_assert_int_eq(lp_write(&h, NULL, "abc", 3, 0), 1);
	check_printed("a");
	ck_assert_int_eq(lp_write(&h, NULL, "bc", 2, 0), -ENOSPC);
}
END_TEST

START_TEST(test_lp_offline_is_eio)
{
	struct ddm_handle h = { .sc = &sc };

	set_state("offline");
	ck_assert_int_eq(lp_write(&h, NULL, "abc", 3, 0), -EIO);
	check_printed("");
}
END_TEST

START_TEST(test_lp_printer_error_is_eio)
{
	struct ddm_handle h = { .sc = &sc };

	set_state("error");
	ck_assert_int_eq(lp_write(&h, NULL, "abc", 3, 0), -EIO);
	check_printed("");
}
END_TEST

START_TEST(test_lp_cancel_drops_suspended_write)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req r1 = { 0 }, r2 = { 0 };

	set_state("busy");
	ck_assert_int_eq(lp_write(&h, &r1, "ab", 2, 0), DDM_SUSPEND);
	ck_assert_int_eq(lp_write(&h, &r2, "cd", 2, 0), DDM_SUSPEND);
	lp_cancel(&h, &r1);
	set_state("ready");
	run_timers();
	ck_assert_int_eq(r1.replied, 0);
	ck_assert_int_eq(r2.result, 2);
	check_printed("cd");
	lp_cancel(&h, &r2); /* no longer known: ignored */
	ck_assert_ptr_null(sc.sc_jobs);
}
END_TEST

START_TEST(test_lp_waiting_open_gets_ebusy_after_bound)
{
	struct ddm_handle h1 = { .sc = &sc }, h2 = { .sc = &sc },
	                  h3 = { .sc = &sc };
	struct ddm_req r2 = { 0 }, r3 = { 0 };
	uint64_t t0;

	ck_assert_int_eq(open_with(&h1, NULL), 0);
	t0 = fake_now_us();
	ck_assert_int_eq(open_with(&h2, &r2), DDM_SUSPEND);
	ck_assert_int_eq(run_timers(), 1);
	ck_assert_uint_ge(fake_now_us() - t0, LP_OPEN_WAIT_MS * 1000);
	ck_assert_int_eq(r2.replied, 1);
	ck_assert_int_eq(r2.result, -EBUSY);
	ck_assert_ptr_ne(sc.sc_holder, &h2);
	ck_assert_ptr_null(sc.sc_waiters);
	ck_assert_int_eq(sc.sc_open, 1); /* h1 still holds the port */
	lp_release(&h1);
	ck_assert_int_eq(r2.replied, 1); /* not answered twice */
	ck_assert_int_eq(open_with(&h3, &r3), 0);
	lp_release(&h3);
}
END_TEST

START_TEST(test_lp_cancel_drops_waiting_open)
{
	struct ddm_handle h1 = { .sc = &sc }, h2 = { .sc = &sc },
	                  h3 = { .sc = &sc };
	struct ddm_req r2 = { 0 }, r3 = { 0 };

	ck_assert_int_eq(open_with(&h1, NULL), 0);
	ck_assert_int_eq(open_with(&h2, &r2), DDM_SUSPEND);
	ck_assert_int_eq(open_with(&h3, &r3), DDM_SUSPEND);
	ck_assert_int_eq(live_timers(), 2);
	lp_cancel(&h2, &r2);
	ck_assert_int_eq(live_timers(), 1); /* its bound is gone */
	ck_assert_int_eq(r2.replied, 0);    /* libdriver answers -EINTR */
	lp_release(&h1);
	ck_assert_int_eq(r2.replied, 0);
	ck_assert_ptr_ne(sc.sc_holder, &h2);
	ck_assert_int_eq(r3.replied, 1);
	ck_assert_int_eq(r3.result, 0);
	lp_cancel(&h3, &r3); /* no longer waiting: ignored */
	ck_assert_ptr_eq(sc.sc_holder, &h3);
	ck_assert_int_eq(sc.sc_open, 1);
	lp_release(&h3);
}
END_TEST

START_TEST(test_lp_write_fails_when_the_byte_cannot_be_stored)
{
	struct ddm_handle h = { .sc = &sc };
	struct ddm_req req = { 0 };
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = attach_on_tinyfs();
	tinyfs_fill(dfd);
	ck_assert_int_eq(lp_write(&h, NULL, "abc", 3, 0), -ENOSPC);
	check_printed("");
	/* The same from the timer, for a write that had to wait. */
	set_state("busy:10");
	ck_assert_int_eq(lp_write(&h, &req, "abc", 3, 0), DDM_SUSPEND);
	run_timers();
	ck_assert_int_eq(req.replied, 1);
	ck_assert_int_eq(req.result, -ENOSPC);
	check_printed("");
	detach_from_tinyfs(dfd);
}
END_TEST

START_TEST(test_lp_write_stopped_by_a_full_disk_gives_short_count)
{
	struct ddm_handle h = { .sc = &sc };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *buf;
	int dfd;

	if (geteuid() != 0)
		return; /* mounting needs root */
	dfd = attach_on_tinyfs();
	/* lp0.out gets a page of its own; then the disk fills up. */
	ck_assert_int_eq(lp_write(&h, NULL, "ab", 2, 0), 2);
	tinyfs_fill(dfd);
	buf = malloc(page);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 'x', page);
	ck_assert_int_eq(lp_write(&h, NULL, buf, page, 0), page - 2);
	ck_assert_int_eq(lp_write(&h, NULL, "y", 1, 0), -ENOSPC);
	free(buf);
	detach_from_tinyfs(dfd);
}
END_TEST

static Suite *
lp_suite(void)
{
	Suite *s = suite_create("lp");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lp_attach_selects_printer_out_of_reset);
	tcase_add_test(tc, test_lp_write_to_ready_printer_sends_every_byte);
	tcase_add_test(tc, test_lp_busy_then_ready_finishes_from_timer);
	tcase_add_test(tc, test_lp_writes_are_served_in_order);
	tcase_add_test(tc, test_lp_status_line_format);
	tcase_add_test(tc, test_lp_status_line_in_short_reads);
	tcase_add_test(tc, test_lp_open_is_exclusive);
	tcase_add_test(tc, test_lp_second_open_waits_and_gets_port_on_release);
	tcase_add_test(tc, test_lp_waiting_opens_are_served_in_order);
	tcase_add_test(tc, test_lp_getstatus_returns_status_register);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(
	        tl, test_lp_busy_past_timeout_is_etimedout_and_sends_nothing);
	tcase_add_test(tl, test_lp_busy_part_way_gives_short_count_never_twice);
	tcase_add_test(tl, test_lp_paper_out_is_enospc);
	tcase_add_test(tl, test_lp_paper_out_part_way_gives_short_count);
	tcase_add_test(tl, test_lp_offline_is_eio);
	tcase_add_test(tl, test_lp_printer_error_is_eio);
	tcase_add_test(tl, test_lp_cancel_drops_suspended_write);
	tcase_add_test(tl, test_lp_waiting_open_gets_ebusy_after_bound);
	tcase_add_test(tl, test_lp_cancel_drops_waiting_open);
	tcase_add_test(tl, test_lp_write_fails_when_the_byte_cannot_be_stored);
	tcase_add_test(tl,
	               test_lp_write_stopped_by_a_full_disk_gives_short_count);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
