/*
 * check_ioports.c: kernel claims on ports from /proc/ioports text, told
 * apart from bus windows and platform reservations, and the driver behind
 * a claim found in a fake sysfs.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioports.h"

/* The QEMU guest's (q35, rtc_cmos bound) and this host's, abridged. */
static const char guest[] = "0000-0cf7 : PCI Bus 0000:00\n"
                            "  0000-001f : dma1\n"
                            "  0020-0021 : pic1\n"
                            "  0060-0060 : keyboard\n"
                            "  0064-0064 : keyboard\n"
                            "  0070-0077 : rtc0\n"
                            "  0080-008f : dma page reg\n"
                            "  0378-037a : parport0\n"
                            "0cf8-0cff : PCI conf1\n"
                            "0d00-ffff : PCI Bus 0000:00\n";

START_TEST(test_a_driver_claim_overlapping_the_grant_is_found)
{
	struct ioport_claim c = { 0 };

	ck_assert_int_eq(ioports_claimed(guest, 0x70, 2, &c), 1);
	ck_assert_uint_eq(c.first, 0x70);
	ck_assert_uint_eq(c.last, 0x77);
	ck_assert_str_eq(c.name, "rtc0");
	/* an overlap at either end counts */
	ck_assert_int_eq(ioports_claimed(guest, 0x77, 4, &c), 1);
	ck_assert_int_eq(ioports_claimed(guest, 0x376, 3, &c), 1);
	ck_assert_str_eq(c.name, "parport0");
}
END_TEST

START_TEST(test_windows_and_platform_reservations_are_no_claim)
{
	struct ioport_claim c = { .name = "untouched" };

	/* the i8042's ports are a fixed reservation, not a driver's */
	ck_assert_int_eq(ioports_claimed(guest, 0x60, 1, &c), 0);
	ck_assert_int_eq(ioports_claimed(guest, 0x64, 1, &c), 0);
	/* free ports inside a PCI bus window */
	ck_assert_int_eq(ioports_claimed(guest, 0x278, 3, &c), 0);
	ck_assert_int_eq(ioports_claimed(guest, 0x70, 0, &c), 0);
	ck_assert_str_eq(c.name, "untouched");
}
END_TEST

START_TEST(test_garbage_lines_are_skipped)
{
	static const char junk[] = "garbage\n0070 : x\n-0071 : y\n"
	                           "0071-0070 : backwards\n"
	                           "  0070-0071 : rtc_cmos";
	struct ioport_claim c;

	ck_assert_int_eq(ioports_claimed(junk, 0x70, 2, &c), 1);
	ck_assert_str_eq(c.name, "rtc_cmos");
	ck_assert_int_eq(ioports_claimed("", 0x70, 2, &c), 0);
}
END_TEST

static char root[] = "/tmp/check_ioports.XXXXXX";

static void
mk(const char *rel)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_the_driver_behind_a_claim_comes_from_sysfs)
{
	char buf[64] = "", link[512], target[512];

	ck_assert_ptr_nonnull(mkdtemp(root));
	/* the host: a platform driver named as the claim */
	mk("bus/platform/drivers/rtc_cmos");
	mk("bus/pnp/drivers/serial");
	/* the guest: class device rtc0 whose driver is rtc_cmos */
	mk("class/rtc/rtc0/device");
	mk("bus/pnp/drivers/rtc_cmos2");
	snprintf(link, sizeof(link), "%s/class/rtc/rtc0/device/driver", root);
	snprintf(target, sizeof(target), "%s/bus/pnp/drivers/rtc_cmos2", root);
	ck_assert_int_eq(symlink(target, link), 0);

	ck_assert_int_eq(ioports_driver(root, "rtc_cmos", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rtc_cmos");
	ck_assert_int_eq(ioports_driver(root, "rtc0", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rtc_cmos2");
	ck_assert_int_eq(ioports_driver(root, "parport0", buf, sizeof(buf)),
	                 -ENOENT);
	ck_assert_int_eq(ioports_driver(root, "../x", buf, sizeof(buf)),
	                 -ENOENT);
	snprintf(link, sizeof(link), "rm -rf '%s'", root);
	ck_assert_int_eq(system(link), 0);
}
END_TEST

/* The contents of file root/rel, or "" if absent. */
static const char *
slurp(const char *dir, const char *rel)
{
	static char buf[512];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_unbind_notes_the_devices_and_rebind_gives_them_back)
{
	char sys[] = "/tmp/check_ioports_sys.XXXXXX";
	char state[] = "/tmp/check_ioports_state.XXXXXX";
	char why[256] = "", link[512], cmd[512];
	int dfd;

	ck_assert_ptr_nonnull(mkdtemp(sys));
	ck_assert_ptr_nonnull(mkdtemp(state));
	dfd = open(state, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	/* rtc_cmos holds pnp device 00:01; its module link is no device */
	snprintf(cmd, sizeof(cmd),
	         "mkdir -p %s/bus/pnp/drivers/rtc_cmos %s/devices/pnp0/00:01 "
	         "%s/module/rtc_cmos && "
	         "touch %s/bus/pnp/drivers/rtc_cmos/unbind "
	         "%s/bus/pnp/drivers/rtc_cmos/bind",
	         sys, sys, sys, sys, sys);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(link, sizeof(link), "%s/bus/pnp/drivers/rtc_cmos/00:01", sys);
	ck_assert_int_eq(symlink("../../../../devices/pnp0/00:01", link), 0);
	snprintf(link, sizeof(link), "%s/bus/pnp/drivers/rtc_cmos/module", sys);
	ck_assert_int_eq(symlink("../../../../module/rtc_cmos", link), 0);

	ck_assert_int_eq(ioports_unbind(sys, dfd, "rtc_cmos", why, sizeof(why)),
	                 0);
	ck_assert_str_eq(slurp(sys, "bus/pnp/drivers/rtc_cmos/unbind"),
	                 "00:01");
	ck_assert_str_eq(slurp(state, IOPORTS_UNBOUND_FILE),
	                 "rtc_cmos pnp 00:01\n");
	/* a driver holding nothing, or no name at all, is refused */
	ck_assert_int_eq(
	        ioports_unbind(sys, dfd, "parport_pc", why, sizeof(why)),
	        -ENOENT);
	ck_assert_str_eq(why, "kernel driver parport_pc holds no device to "
	                      "unbind");
	ck_assert_int_eq(ioports_unbind(sys, dfd, "../x", why, sizeof(why)),
	                 -EINVAL);

	/* another driver's note and a garbage line: only rtc_cmos's goes */
	snprintf(cmd, sizeof(cmd),
	         "printf 'rtc_cmos pnp 00:01\\nparport_pc pnp 00:05\\n"
	         "junk\\nx ../y z\\n' > %s/%s",
	         state, IOPORTS_UNBOUND_FILE);
	ck_assert_int_eq(system(cmd), 0);
	ioports_rebind(sys, dfd, "rtc_cmos");
	ck_assert_str_eq(slurp(sys, "bus/pnp/drivers/rtc_cmos/bind"), "00:01");
	ck_assert_str_eq(slurp(state, IOPORTS_UNBOUND_FILE),
	                 "parport_pc pnp 00:05\n");
	/* the last note gone, the file goes */
	ioports_rebind(sys, dfd, "parport_pc");
	ck_assert_int_eq(faccessat(dfd, IOPORTS_UNBOUND_FILE, F_OK, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", sys, state);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *
ioports_suite(void)
{
	Suite *s = suite_create("ioports");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_a_driver_claim_overlapping_the_grant_is_found);
	tcase_add_test(tc, test_windows_and_platform_reservations_are_no_claim);
	tcase_add_test(tc, test_garbage_lines_are_skipped);
	tcase_add_test(tc, test_the_driver_behind_a_claim_comes_from_sysfs);
	tcase_add_test(
	        tc, test_unbind_notes_the_devices_and_rebind_gives_them_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ioports_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
