/*
 * check_edu.c: ddm-edu's logic that needs no device: the text a write
 * must hold, and how the device's last result reaches each open (the line
 * of each computation once, then EOF; an error once).  The driver is
 * included so its statics can be reached; its main() is renamed away.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define main edu_main_unused
#include "edu.c"
#undef main

START_TEST(test_edu_write_takes_a_decimal_n_with_an_optional_newline)
{
	ck_assert_int_eq(edu_parse_n("5", 1), 5);
	ck_assert_int_eq(edu_parse_n("5\n", 2), 5);
	ck_assert_int_eq(edu_parse_n("0", 1), 0);
	ck_assert_int_eq(edu_parse_n("12\n", 3), 12);
	ck_assert_int_eq(edu_parse_n("07", 2), 7);
}
END_TEST

START_TEST(test_edu_write_refuses_what_the_device_cannot_compute)
{
	/* 13! needs 33 bits; the result register has 32 */
	ck_assert_int_eq(edu_parse_n("13", 2), -EINVAL);
	ck_assert_int_eq(edu_parse_n("", 0), -EINVAL);
	ck_assert_int_eq(edu_parse_n("\n", 1), -EINVAL);
	ck_assert_int_eq(edu_parse_n("x", 1), -EINVAL);
	ck_assert_int_eq(edu_parse_n("-1", 2), -EINVAL);
	ck_assert_int_eq(edu_parse_n(" 5", 2), -EINVAL);
	ck_assert_int_eq(edu_parse_n("5\n\n", 3), -EINVAL);
	ck_assert_int_eq(edu_parse_n("100", 3), -EINVAL);
}
END_TEST

/* A handle as libdriver would give it, with ddm-edu's per-open state. */
static struct ddm_handle *
new_handle(struct edu_softc *sc)
{
	struct ddm_handle *h = calloc(1, sizeof(*h));

	ck_assert_ptr_nonnull(h);
	h->sc = sc;
	ck_assert_int_eq(edu_open(h), 0);
	return h;
}

static void
free_handle(struct ddm_handle *h)
{
	edu_release(h);
	ck_assert_ptr_null(h->priv);
	free(h);
}

/* The device finished computation number gen with value v. */
static void
finish(struct edu_softc *sc, uint64_t gen, uint32_t v)
{
	sc->sc_fact = EDU_FACT_DONE;
	sc->sc_fact_gen = gen;
	sc->sc_fact_val = v;
}

START_TEST(test_edu_each_open_reads_each_result_once_then_eof)
{
	struct edu_softc sc = { 0 };
	struct ddm_handle *h1 = new_handle(&sc), *h2 = new_handle(&sc);
	char buf[32];

	finish(&sc, 1, 120);
	edu_snapshot(&sc, h1);
	ck_assert_int_eq(edu_take(h1, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "120\n", 4), 0);
	edu_snapshot(&sc, h1);
	ck_assert_int_eq(edu_take(h1, buf, sizeof(buf)), 0);
	/* another open reads the same result */
	edu_snapshot(&sc, h2);
	ck_assert_int_eq(edu_take(h2, buf, sizeof(buf)), 4);
	/* a new computation: the first open reads again */
	finish(&sc, 2, 479001600);
	edu_snapshot(&sc, h1);
	ck_assert_int_eq(edu_take(h1, buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, "479001600\n", 10), 0);
	free_handle(h1);
	free_handle(h2);
}
END_TEST

START_TEST(test_edu_a_short_read_goes_on_where_it_ended)
{
	struct edu_softc sc = { 0 };
	struct ddm_handle *h = new_handle(&sc);
	char buf[32];

	finish(&sc, 1, 720);
	edu_snapshot(&sc, h);
	ck_assert_int_eq(edu_take(h, buf, 2), 2);
	ck_assert_int_eq(memcmp(buf, "72", 2), 0);
	edu_snapshot(&sc, h); /* same computation: no new line */
	ck_assert_int_eq(edu_take(h, buf, sizeof(buf)), 2);
	ck_assert_int_eq(memcmp(buf, "0\n", 2), 0);
	ck_assert_int_eq(edu_take(h, buf, sizeof(buf)), 0);
	free_handle(h);
}
END_TEST

START_TEST(test_edu_a_timed_out_computation_is_etimedout_once)
{
	struct edu_softc sc = { 0 };
	struct ddm_handle *h = new_handle(&sc);
	char buf[32];

	sc.sc_fact = EDU_FACT_FAILED;
	sc.sc_fact_gen = 1;
	edu_snapshot(&sc, h);
	ck_assert_int_eq(edu_take(h, buf, sizeof(buf)), -ETIMEDOUT);
	ck_assert_int_eq(edu_take(h, buf, sizeof(buf)), 0);
	free_handle(h);
}
END_TEST

START_TEST(test_edu_read_before_any_computation_is_eof)
{
	struct edu_softc sc = { 0 };
	struct ddm_handle *h = new_handle(&sc);
	char buf[32];

	ck_assert_int_eq(edu_read_hook(h, NULL, buf, sizeof(buf), 0), 0);
	free_handle(h);
}
END_TEST

START_TEST(test_edu_nonblocking_read_while_computing_is_eagain)
{
	struct edu_softc sc = { .sc_fact = EDU_FACT_BUSY, .sc_fact_gen = 1 };
	struct ddm_handle *h = new_handle(&sc);
	char buf[32];

	h->flags = O_RDONLY | O_NONBLOCK;
	ck_assert_int_eq(edu_read_hook(h, NULL, buf, sizeof(buf), 0), -EAGAIN);
	ck_assert_ptr_null(sc.sc_readers);
	ck_assert_uint_eq(edu_poll(h), 0);
	sc.sc_fact = EDU_FACT_DONE;
	ck_assert_uint_eq(edu_poll(h), POLLIN | POLLOUT);
	free_handle(h);
}
END_TEST

START_TEST(test_edu_dma_ioctls_check_ranges_before_the_device)
{
	struct edu_softc sc = { 0 };
	struct ddm_handle *h = new_handle(&sc);
	struct edu_dma d = { 0 };
	struct ddm_ioctl io = { .cmd = EDU_IOC_DMA_FROM,
		                .in = &d,
		                .in_len = sizeof(d),
		                .out = &d,
		                .out_len = sizeof(d) };

	struct io *sim;

	/*
	 * The "device" is a sim port region: a request that passes the
	 * checks reaches it and gets -ERANGE there, not -EINVAL.
	 */
	ck_assert_int_eq(io_open(&(struct io_opts){ .backend = "sim" }, &sim),
	                 0);
	ck_assert_int_eq(
	        io_region_request(sim, IO_SPACE_PORT, 0x70, 2, &sc.sc_regs), 0);
	h->flags = O_RDWR;
	d.len = 10;
	d.off = EDU_DMA_END_MAX - 10;
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -ERANGE);
	d.len = 0;
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -EINVAL);
	d.len = EDU_DMA_BUF_LEN; /* QEMU cannot reach the last byte */
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -EINVAL);
	d.len = 10;
	d.off = EDU_DMA_END_MAX - 9;
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -EINVAL);
	d.off = 0xfffffff8u; /* off + len wraps */
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -EINVAL);
	ck_assert_ptr_null(sc.sc_jobs);
	/* writing the device needs a handle open for writing */
	io.cmd = EDU_IOC_DMA_TO;
	h->flags = O_RDONLY;
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -EBADF);
	io.cmd = 0x1234;
	ck_assert_int_eq(edu_ioctl(h, NULL, &io), -ENOTTY);
	free_handle(h);
	io_close(sim);
}
END_TEST

static Suite *
edu_suite(void)
{
	Suite *s = suite_create("edu");
	TCase *core = tcase_create("Core");
	TCase *lim = tcase_create("Limits");

	tcase_add_test(
	        core,
	        test_edu_write_takes_a_decimal_n_with_an_optional_newline);
	tcase_add_test(core,
	               test_edu_each_open_reads_each_result_once_then_eof);
	tcase_add_test(core, test_edu_a_short_read_goes_on_where_it_ended);
	tcase_add_test(core, test_edu_read_before_any_computation_is_eof);
	suite_add_tcase(s, core);

	tcase_add_test(lim,
	               test_edu_write_refuses_what_the_device_cannot_compute);
	tcase_add_test(lim, test_edu_a_timed_out_computation_is_etimedout_once);
	tcase_add_test(lim,
	               test_edu_nonblocking_read_while_computing_is_eagain);
	tcase_add_test(lim, test_edu_dma_ioctls_check_ranges_before_the_device);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(edu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
