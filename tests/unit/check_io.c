/*
 * check_io.c: libio's core: backend choice, grant parsing, region
 * bookkeeping and access checks.  The pio backend is only asked to
 * refuse; the devport backend runs on a temp file standing in for
 * /dev/port: no port is ever read or written on this host.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddm_io.h"

static struct io *
open_io(const char *backend, const char *grants)
{
	struct io_opts o = { .backend = backend, .grants = grants };
	struct io *io = NULL;

	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_ptr_nonnull(io);
	return io;
}

static int
try_open(const char *backend, const char *grants)
{
	struct io_opts o = { .backend = backend, .grants = grants };
	struct io *io = (struct io *)0x1;
	int r = io_open(&o, &io);

	if (r == 0)
		io_close(io);
	else
		ck_assert_ptr_eq(io, (struct io *)0x1);
	return r;
}

START_TEST(test_io_open_names_its_backend)
{
	struct io *io = open_io("sim", NULL);

	ck_assert_str_eq(io_backend(io), "sim");
	io_close(io);
	io = open_io("pio", NULL);
	ck_assert_str_eq(io_backend(io), "pio");
	io_close(io);
}
END_TEST

START_TEST(test_io_open_unknown_backend_is_einval)
{
	ck_assert_int_eq(try_open("mmio-nope", NULL), -EINVAL);
	ck_assert_int_eq(try_open("", NULL), -EINVAL);
	ck_assert_int_eq(try_open(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_io_grants_accept_ranges_and_single_ports)
{
	ck_assert_int_eq(try_open("pio", "0x70-0x71,0x378-0x37a"), 0);
	ck_assert_int_eq(try_open("pio", "0x80"), 0);
	ck_assert_int_eq(try_open("pio", "128,0x60-0x64"), 0);
	ck_assert_int_eq(try_open("pio", "0xffff"), 0);
}
END_TEST

START_TEST(test_io_grants_bad_syntax_is_einval)
{
	static const char *const bad[] = {
		"0x70-",      "-0x71",   "0x70-0x71,", ",0x70", "0x",
		"0x71-0x70",  "0x10000", "0x70 0x71",  "zz",    "0x70-0x71;",
		"0x70--0x71", " 0x70",   "0x-1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(try_open("pio", bad[i]) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(try_open("sim", "0x70-"), -EINVAL);
}
END_TEST

START_TEST(test_io_grants_overlapping_are_einval)
{
	ck_assert_int_eq(try_open("pio", "0x70-0x71,0x71-0x72"), -EINVAL);
	ck_assert_int_eq(try_open("pio", "0x60-0x64,0x62"), -EINVAL);
	ck_assert_int_eq(try_open("pio", "0x80,0x80"), -EINVAL);
	ck_assert_int_eq(try_open("pio", "0x70-0x71,0x72-0x73"), 0);
}
END_TEST

START_TEST(test_io_region_overlap_is_ebusy)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *a, *b = (struct io_region *)0x1;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x60, 1, &a), 0);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x60, 5, &b),
	                 -EBUSY);
	ck_assert_ptr_eq(b, (struct io_region *)0x1);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x64, 1, &b), 0);
	io_close(io);
}
END_TEST

START_TEST(test_io_access_outside_region_is_erange)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;
	uint32_t v32 = 7;
	uint16_t v16 = 7;
	uint8_t v8 = 7;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x378, 3, &r), 0);
	ck_assert_int_eq(io_read8(r, 3, &v8), -ERANGE);
	ck_assert_int_eq(io_read16(r, 2, &v16), -ERANGE);
	ck_assert_int_eq(io_read32(r, 0, &v32), -ERANGE);
	ck_assert_int_eq(io_write8(r, UINT64_MAX, 0), -ERANGE);
	ck_assert_int_eq(io_write16(r, 2, 0), -ERANGE);
	ck_assert_int_eq(io_write32(r, 0, 0), -ERANGE);
	ck_assert_uint_eq(v8, 7);
	ck_assert_uint_eq(v16, 7);
	ck_assert_uint_eq(v32, 7);
	ck_assert_int_eq(io_write8(r, 2, 0x0c), 0);
	ck_assert_int_eq(io_read8(r, 2, &v8), 0);
	ck_assert_uint_eq(v8, 0xcc);
	io_close(io);
}
END_TEST

START_TEST(test_io_sim_wide_access_is_bytes_in_order)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;
	uint16_t v16 = 0;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x378, 3, &r), 0);
	/* data <- 0x34, then control <- 0x0c via a 16-bit write at 1..2 */
	ck_assert_int_eq(io_write8(r, 0, 0x34), 0);
	ck_assert_int_eq(io_write16(r, 1, 0x0c00), 0);
	ck_assert_int_eq(io_read16(r, 1, &v16), 0);
	ck_assert_uint_eq(v16, 0xccdf);
	ck_assert_int_eq(io_read16(r, 0, &v16), 0);
	ck_assert_uint_eq(v16, 0xdf34);
	io_close(io);
}
END_TEST

START_TEST(test_io_region_release_then_rerequest)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r, *r2;
	uint8_t v;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r), 0);
	ck_assert_int_eq(io_write8(r, 0, 0x20), 0);
	ck_assert_int_eq(io_write8(r, 1, 0x42), 0);
	io_region_release(r);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r2), 0);
	/* The model outlives its regions: NVRAM kept its byte. */
	ck_assert_int_eq(io_write8(r2, 0, 0x20), 0);
	ck_assert_int_eq(io_read8(r2, 1, &v), 0);
	ck_assert_uint_eq(v, 0x42);
	io_close(io);
}
END_TEST

START_TEST(test_io_sim_without_model_is_enodev)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x80, 1, &r),
	                 -ENODEV);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 3, &r),
	                 -ENODEV);
	ck_assert_int_eq(io_sim_feed(io, 0x80, "a", 1), -ENODEV);
	ck_assert_int_eq(io_sim_feed(io, 0x70, "a", 1), -EOPNOTSUPP);
	io_close(io);
}
END_TEST

START_TEST(test_io_sim_i8042_gap_ports_read_ff)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;
	uint8_t v = 0;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x61, 3, &r), 0);
	ck_assert_int_eq(io_write8(r, 0, 0x00), 0);
	ck_assert_int_eq(io_read8(r, 0, &v), 0);
	ck_assert_uint_eq(v, 0xff);
	ck_assert_int_eq(io_read8(r, 2, &v), 0);
	ck_assert_uint_eq(v, 0xff);
	io_close(io);
}
END_TEST

START_TEST(test_io_pio_without_grants_refuses)
{
	struct io *io = open_io("pio", NULL);
	struct io_region *r = (struct io_region *)0x1;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r),
	                 -EACCES);
	ck_assert_ptr_eq(r, (struct io_region *)0x1);
	io_close(io);
}
END_TEST

START_TEST(test_io_pio_grants_only_what_was_granted)
{
	struct io *io = open_io("pio", "0x70-0x71");
	struct io_region *r = NULL, *r2 = (struct io_region *)0x1;

	/* Requests only: no access is ever made on the pio backend here. */
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r), 0);
	ck_assert_ptr_nonnull(r);
	io_region_release(r);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x71, 2, &r2),
	                 -EACCES);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x6f, 1, &r2),
	                 -EACCES);
	ck_assert_ptr_eq(r2, (struct io_region *)0x1);
	io_close(io);
}
END_TEST

#define FAKE_PORT_SIZE 0x400 /* bytes of the temp file posing as /dev/port */

/* A temp file of FAKE_PORT_SIZE bytes, byte i = i & 0xff, already unlinked. */
static int
fake_devport(void)
{
	char path[] = "/tmp/check_io.XXXXXX";
	unsigned char buf[FAKE_PORT_SIZE];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	return fd;
}

START_TEST(test_io_devport_accesses_granted_ports_at_their_offsets)
{
	struct io_opts o = { .backend = "devport",
		             .grants = "0x378-0x37a",
		             .devport_fd = fake_devport() };
	unsigned char want[FAKE_PORT_SIZE], got[FAKE_PORT_SIZE];
	struct io_region *r = NULL;
	struct io *io = NULL;
	uint16_t w = 0;
	uint8_t b = 0;

	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_str_eq(io_backend(io), "devport");
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x378, 3, &r), 0);
	ck_assert_int_eq(io_read8(r, 2, &b), 0);
	ck_assert_uint_eq(b, 0x7a); /* the byte at offset 0x37a */
	ck_assert_int_eq(io_write8(r, 1, 0xa5), 0);
	ck_assert_int_eq(pread(o.devport_fd, &b, 1, 0x379), 1);
	ck_assert_uint_eq(b, 0xa5);
	ck_assert_int_eq(io_read16(r, 0, &w), 0);
	ck_assert_uint_eq(w, 0xa578); /* 0x378 low, 0x379 high */
	ck_assert_int_eq(io_write16(r, 0, 0), 0);
	ck_assert_int_eq(io_write16(r, 1, 0x1234), 0);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)i;
	want[0x378] = 0x00;
	want[0x379] = 0x34; /* little-endian, byte by byte */
	want[0x37a] = 0x12;
	ck_assert_int_eq(pread(o.devport_fd, got, sizeof(got), 0),
	                 (ssize_t)sizeof(got));
	ck_assert_mem_eq(got, want, sizeof(want));
	io_close(io);
	close(o.devport_fd);
}
END_TEST

START_TEST(test_io_devport_refuses_ungranted_ports_without_touching_the_file)
{
	struct io_opts o = { .backend = "devport",
		             .grants = "0x378-0x37a",
		             .devport_fd = fake_devport() };
	unsigned char want[FAKE_PORT_SIZE], got[FAKE_PORT_SIZE + 1];
	struct io_region *r = (struct io_region *)0x1;
	struct io *io = NULL;

	ck_assert_int_eq(pread(o.devport_fd, want, sizeof(want), 0),
	                 (ssize_t)sizeof(want));
	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r),
	                 -EACCES);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x377, 2, &r),
	                 -EACCES);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x37a, 2, &r),
	                 -EACCES);
	ck_assert_ptr_eq(r, (struct io_region *)0x1);
	io_close(io);
	ck_assert_int_eq(pread(o.devport_fd, got, sizeof(got), 0),
	                 (ssize_t)sizeof(want));
	ck_assert_mem_eq(got, want, sizeof(want));
	close(o.devport_fd);
}
END_TEST

START_TEST(test_io_devport_keeps_its_own_copy_of_the_fd)
{
	struct io_opts o = { .backend = "devport",
		             .grants = "0x70-0x71",
		             .devport_fd = fake_devport() };
	struct io_region *r = NULL;
	struct io *io = NULL;
	uint8_t b = 0;

	ck_assert_int_eq(io_open(&o, &io), 0);
	ck_assert_int_eq(close(o.devport_fd), 0); /* the caller's copy */
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 2, &r), 0);
	ck_assert_int_eq(io_read8(r, 1, &b), 0);
	ck_assert_uint_eq(b, 0x71);
	io_close(io);
}
END_TEST

START_TEST(test_io_devport_bad_fd_is_ebadf_and_untouched)
{
	struct io_opts o = { .backend = "devport",
		             .grants = "0x70-0x71",
		             .devport_fd = 999 };
	struct io *io = (struct io *)0x1;

	ck_assert_int_eq(io_open(&o, &io), -EBADF);
	ck_assert_ptr_eq(io, (struct io *)0x1);
}
END_TEST

START_TEST(test_io_sim_set_clock_only_on_sim)
{
	struct io *io = open_io("pio", NULL);

	ck_assert_int_eq(io_sim_set_clock(io, NULL, NULL), -EINVAL);
	ck_assert_int_eq(io_sim_feed(io, 0x60, "a", 1), -EINVAL);
	ck_assert_int_eq(io_sim_set_state(io, 0x378, "busy"), -EINVAL);
	io_close(io);
}
END_TEST

START_TEST(test_io_close_and_release_accept_null)
{
	io_close(NULL);
	io_region_release(NULL);
	ck_assert_ptr_null(io_backend(NULL));
}
END_TEST

START_TEST(test_io_mem_space_needs_the_mmio_backend)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;

	ck_assert_int_eq(
	        io_region_request(io, IO_SPACE_MEM, 0xfebf0000, 0x1000, &r),
	        -EOPNOTSUPP);
	io_close(io);
}
END_TEST

START_TEST(test_io_64bit_port_access_is_einval)
{
	struct io *io = open_io("pio", "0x100-0x10f");
	struct io_region *r;
	uint64_t v = 0x1234;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x100, 16, &r),
	                 0);
	/* refused before the backend: no port is touched */
	ck_assert_int_eq(io_read64(r, 0, &v), -EINVAL);
	ck_assert_int_eq(io_write64(r, 8, 1), -EINVAL);
	ck_assert_uint_eq(v, 0x1234);
	io_close(io);
}
END_TEST

START_TEST(test_io_pci_config_needs_mmio)
{
	struct io *io = open_io("sim", NULL);
	uint32_t v = 7;

	ck_assert_int_eq(io_pci_config_read(io, 0, 4, &v), -EOPNOTSUPP);
	ck_assert_int_eq(io_pci_config_write(io, 4, 2, 6), -EOPNOTSUPP);
	ck_assert_int_eq(io_pci_enable_busmaster(io), -EOPNOTSUPP);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(io_pci_config_read(NULL, 0, 4, &v), -EINVAL);
	io_close(io);
}
END_TEST

START_TEST(test_io_mmio_without_a_vfio_fd_is_ebadf)
{
	struct io_opts o = { .backend = "mmio" };
	struct io *io = (struct io *)0x1;

	ck_assert_int_eq(io_open(&o, &io), -EBADF);
	ck_assert_ptr_eq(io, (struct io *)0x1);
}
END_TEST

START_TEST(test_io_mmio_on_a_non_vfio_fd_is_enodev)
{
	int fd = open("/dev/null", O_RDWR);
	struct io_opts o = { .backend = "mmio", .vfio_device_fd = fd };
	struct io *io = (struct io *)0x1;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(io_open(&o, &io), -ENODEV);
	ck_assert_ptr_eq(io, (struct io *)0x1);
	/* the caller's fd stays open */
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	close(fd);
}
END_TEST

START_TEST(test_io_pci_bar_names_bar_and_offset)
{
	uint64_t base = IO_PCI_BAR(2) + 0x1000;

	ck_assert_uint_eq(IO_PCI_BAR_INDEX(base), 2);
	ck_assert_uint_eq(IO_PCI_BAR_OFFSET(base), 0x1000);
	ck_assert_uint_eq(IO_PCI_BAR_INDEX(IO_PCI_BAR(5) - 1), 4);
	ck_assert_uint_eq(IO_PCI_BAR_OFFSET(IO_PCI_BAR(0)), 0);
}
END_TEST

START_TEST(test_io_region_bounds_are_checked)
{
	struct io *io = open_io("sim", NULL);
	struct io_region *r;

	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x70, 0, &r),
	                 -EINVAL);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0xffff, 2, &r),
	                 -EINVAL);
	ck_assert_int_eq(io_region_request(io, IO_SPACE_PORT, 0x10000, 1, &r),
	                 -EINVAL);
	ck_assert_int_eq(
	        io_region_request(io, IO_SPACE_PORT, UINT64_MAX, 2, &r),
	        -EINVAL);
	io_close(io);
}
END_TEST

static Suite *
io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *core = tcase_create("Core");
	TCase *lim = tcase_create("Limits");

	tcase_add_test(core, test_io_open_names_its_backend);
	tcase_add_test(core, test_io_grants_accept_ranges_and_single_ports);
	tcase_add_test(core, test_io_region_overlap_is_ebusy);
	tcase_add_test(core, test_io_region_release_then_rerequest);
	tcase_add_test(core, test_io_sim_wide_access_is_bytes_in_order);
	tcase_add_test(core, test_io_pio_grants_only_what_was_granted);
	tcase_add_test(core,
	               test_io_devport_accesses_granted_ports_at_their_offsets);
	tcase_add_test(core, test_io_devport_keeps_its_own_copy_of_the_fd);
	tcase_add_test(core, test_io_pci_bar_names_bar_and_offset);
	suite_add_tcase(s, core);

	tcase_add_test(lim, test_io_open_unknown_backend_is_einval);
	tcase_add_test(lim, test_io_grants_bad_syntax_is_einval);
	tcase_add_test(lim, test_io_grants_overlapping_are_einval);
	tcase_add_test(lim, test_io_access_outside_region_is_erange);
	tcase_add_test(lim, test_io_sim_without_model_is_enodev);
	tcase_add_test(lim, test_io_sim_i8042_gap_ports_read_ff);
	tcase_add_test(lim, test_io_pio_without_grants_refuses);
	tcase_add_test(
	        lim,
	        test_io_devport_refuses_ungranted_ports_without_touching_the_file);
	tcase_add_test(lim, test_io_devport_bad_fd_is_ebadf_and_untouched);
	tcase_add_test(lim, test_io_sim_set_clock_only_on_sim);
	tcase_add_test(lim, test_io_close_and_release_accept_null);
	tcase_add_test(lim, test_io_mem_space_needs_the_mmio_backend);
	tcase_add_test(lim, test_io_64bit_port_access_is_einval);
	tcase_add_test(lim, test_io_pci_config_needs_mmio);
	tcase_add_test(lim, test_io_mmio_without_a_vfio_fd_is_ebadf);
	tcase_add_test(lim, test_io_mmio_on_a_non_vfio_fd_is_enodev);
	tcase_add_test(lim, test_io_region_bounds_are_checked);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(io_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
