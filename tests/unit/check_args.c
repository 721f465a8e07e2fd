/*
 * check_args.c: libdriver's command line (args.c): the PCI options ddmfs
 * gives a PCI instance, --pci and --vfio-fd, parsed and checked before the
 * driver touches anything.  No VFIO device is needed: every case here is
 * one the checks must refuse, or a parse that needs no fd.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver_impl.h"

static const struct ddm_driver_ops no_ops;

/* Parses the NULL-terminated argument list (after argv[0]) into *a. */
static int
parse(struct args *a, ...)
{
	char *argv[16] = { "ddm-test" };
	const char *opts[1] = { NULL };
	int argc = 1;
	va_list ap;
	char *s;

	va_start(ap, a);
	while ((s = va_arg(ap, char *)) != NULL && argc < 15)
		argv[argc++] = s;
	va_end(ap);
	return args_parse("ddm-test", argc, argv, &no_ops, opts, a);
}

START_TEST(test_args_reserved_options_match_the_keys)
{
	size_t n = 0;

	while (ddm_reserved_options[n] != NULL)
		n++;
	ck_assert_uint_eq(n, NKEYS);
	ck_assert_str_eq(ddm_reserved_options[K_PCI], "pci");
	ck_assert_str_eq(ddm_reserved_options[K_VFIO_FD], "vfio-fd");
}
END_TEST

START_TEST(test_args_vfio_fd_gives_container_group_device)
{
	struct args a;

	ck_assert_int_eq(parse(&a, "--io=mmio", "--pci=0000:00:04.0",
	                       "--vfio-fd=24,25,26", NULL),
	                 0);
	ck_assert_int_eq(a.vfio_fd[VFIO_CONTAINER], 24);
	ck_assert_int_eq(a.vfio_fd[VFIO_GROUP], 25);
	ck_assert_int_eq(a.vfio_fd[VFIO_DEVICE], 26);
	ck_assert_str_eq(a.vals[K_PCI], "0000:00:04.0");
	ck_assert_str_eq(a.io, "mmio");
}
END_TEST

START_TEST(test_args_without_vfio_fd_has_none)
{
	struct args a;

	ck_assert_int_eq(parse(&a, "--io=sim", NULL), 0);
	ck_assert_int_eq(a.vfio_fd[0], -1);
	ck_assert_int_eq(a.vfio_fd[1], -1);
	ck_assert_int_eq(a.vfio_fd[2], -1);
	ck_assert_ptr_null(a.vals[K_PCI]);
}
END_TEST

START_TEST(test_args_vfio_fd_needs_three_numbers)
{
	struct args a;

	ck_assert_int_eq(parse(&a, "--vfio-fd=24,25", NULL), -1);
	ck_assert_int_eq(parse(&a, "--vfio-fd=24,25,26,27", NULL), -1);
	ck_assert_int_eq(parse(&a, "--vfio-fd=24,x,26", NULL), -1);
	ck_assert_int_eq(parse(&a, "--vfio-fd=24,,26", NULL), -1);
	ck_assert_int_eq(parse(&a, "--vfio-fd=-1,25,26", NULL), -1);
	ck_assert_int_eq(parse(&a, "--vfio-fd=1,2,3", "--vfio-fd=1,2,3", NULL),
	                 -1);
}
END_TEST

START_TEST(test_args_pci_must_be_a_sysfs_address)
{
	struct args a;

	ck_assert_int_eq(parse(&a, "--pci=0000:01:1f.7", NULL), 0);
	ck_assert_int_eq(parse(&a, "--pci=00:04.0", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000:00:04", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000:00:04.8", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000:00:20.0", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000:00:0G.0", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000-00:04.0", NULL), -1);
	ck_assert_int_eq(parse(&a, "--pci=0000:00:04.0x", NULL), -1);
}
END_TEST

/*
 * A parsed command line that passes args_check() but for what the test
 * changes: a real SOCK_SEQPACKET ddm socket and a node.
 */
struct fixture {
	int sv[2];
	int null[3]; /* three open fds that are no VFIO objects */
	char vfio[64];
};

static struct fixture fx;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fx.sv), 0);
	for (int i = 0; i < 3; i++) {
		fx.null[i] = open("/dev/null", O_RDWR);
		ck_assert_int_ge(fx.null[i], 0);
	}
	snprintf(fx.vfio, sizeof(fx.vfio), "--vfio-fd=%d,%d,%d", fx.null[0],
	         fx.null[1], fx.null[2]);
}

static void
teardown(void)
{
	close(fx.sv[0]);
	close(fx.sv[1]);
	for (int i = 0; i < 3; i++)
		close(fx.null[i]);
}

/* Parses ddm-fd, node and the given options, then runs args_check(). */
static int
check(const char *o1, const char *o2)
{
	char fd[32];
	struct args a;

	snprintf(fd, sizeof(fd), "--ddm-fd=%d", fx.sv[1]);
	ck_assert_int_eq(parse(&a, fd, "--node=pci0/edu0", o1, o2, NULL), 0);
	return args_check("ddm-test", &a);
}

START_TEST(test_args_check_passes_a_plain_sim_driver)
{
	ck_assert_int_eq(check("--io=sim", NULL), 0);
}
END_TEST

START_TEST(test_args_mmio_needs_vfio_fd)
{
	ck_assert_int_eq(check("--io=mmio", NULL), -1);
}
END_TEST

START_TEST(test_args_vfio_fd_needs_mmio)
{
	ck_assert_int_eq(check("--io=sim", fx.vfio), -1);
	ck_assert_int_eq(check(fx.vfio, NULL), -1); /* the default is sim */
}
END_TEST

START_TEST(test_args_vfio_fds_must_be_open)
{
	char v[64];
	int closed = dup(fx.null[2]);

	close(closed);
	snprintf(v, sizeof(v), "--vfio-fd=%d,%d,%d", fx.null[0], fx.null[1],
	         closed);
	ck_assert_int_eq(check("--io=mmio", v), -1);
}
END_TEST

START_TEST(test_args_vfio_fds_must_differ_from_each_other_and_ddm_fd)
{
	char v[64];

	snprintf(v, sizeof(v), "--vfio-fd=%d,%d,%d", fx.null[0], fx.null[0],
	         fx.null[2]);
	ck_assert_int_eq(check("--io=mmio", v), -1);
	snprintf(v, sizeof(v), "--vfio-fd=%d,%d,%d", fx.null[0], fx.null[1],
	         fx.sv[1]);
	ck_assert_int_eq(check("--io=mmio", v), -1);
}
END_TEST

START_TEST(test_args_vfio_fds_must_be_vfio_objects)
{
	/* open, distinct, but /dev/null: no VFIO container */
	ck_assert_int_eq(check("--io=mmio", fx.vfio), -1);
}
END_TEST

static Suite *
args_suite(void)
{
	Suite *s = suite_create("args");
	TCase *core = tcase_create("Core");
	TCase *lim = tcase_create("Limits");

	tcase_add_test(core, test_args_reserved_options_match_the_keys);
	tcase_add_test(core, test_args_vfio_fd_gives_container_group_device);
	tcase_add_test(core, test_args_without_vfio_fd_has_none);
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_args_check_passes_a_plain_sim_driver);
	suite_add_tcase(s, core);

	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(lim, test_args_vfio_fd_needs_three_numbers);
	tcase_add_test(lim, test_args_pci_must_be_a_sysfs_address);
	tcase_add_test(lim, test_args_mmio_needs_vfio_fd);
	tcase_add_test(lim, test_args_vfio_fd_needs_mmio);
	tcase_add_test(lim, test_args_vfio_fds_must_be_open);
	tcase_add_test(
	        lim, test_args_vfio_fds_must_differ_from_each_other_and_ddm_fd);
	tcase_add_test(lim, test_args_vfio_fds_must_be_vfio_objects);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(args_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
