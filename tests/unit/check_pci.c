/*
 * check_pci.c: unit tests for ddmfs's pci rules (ddmfs/pci.c): which
 * functions a rule matches, and names stable per PCI address through the
 * names store's text; and the interrupt counts of a VFIO function read
 * from /proc/interrupts text (ddmfs/vfio.c).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "pci.h"
#include "vfio.h"

static struct conf_pci_rule
rule(const char *name)
{
	struct conf_pci_rule r = { .vendor = CONF_PCI_ANY,
		                   .device = CONF_PCI_ANY,
		                   .subvendor = CONF_PCI_ANY,
		                   .subdevice = CONF_PCI_ANY,
		                   .class = CONF_PCI_ANY };

	strcpy(r.name, name);
	return r;
}

static struct pci_fn
fn(const char *addr, unsigned int vendor, unsigned int device,
   unsigned int class)
{
	struct pci_fn f = { .vendor = vendor,
		            .device = device,
		            .class = class,
		            .subvendor = 0x1af4,
		            .subdevice = 0x1100 };

	strcpy(f.addr, addr);
	return f;
}

START_TEST(test_pci_rule_matches_ids_and_class_prefixes)
{
	struct conf_pci_rule r = rule("edu%d");
	struct pci_fn edu = fn("0000:00:04.0", 0x1234, 0x11e8, 0x00ff00);

	ck_assert(pci_rule_matches(&r, &edu));
	r.vendor = 0x1234;
	r.device = 0x11e8;
	ck_assert(pci_rule_matches(&r, &edu));
	r.device = 0x11e9;
	ck_assert(!pci_rule_matches(&r, &edu));
	r = rule("edu%d");
	r.class = 0x000000;
	r.class_mask = 0xff0000; /* class "00" */
	ck_assert(pci_rule_matches(&r, &edu));
	r.class = 0x010000; /* class "01" */
	ck_assert(!pci_rule_matches(&r, &edu));
	r = rule("edu%d");
	r.subvendor = 0x1af4;
	r.subdevice = 0x1100;
	ck_assert(pci_rule_matches(&r, &edu));
	r.subdevice = 0x1101;
	ck_assert(!pci_rule_matches(&r, &edu));
}
END_TEST

START_TEST(test_pci_names_take_the_lowest_free_number_and_are_saved)
{
	struct conf_pci_rule rules[2] = { rule("edu%d"), rule("net%d") };
	struct conf c = { .pci = rules, .n_pci = 2 };
	struct pci_fn fns[3] = { fn("0000:00:03.0", 0x1234, 0x11e8, 0),
		                 fn("0000:00:04.0", 0x1234, 0x11e8, 0),
		                 fn("0000:00:05.0", 0x8086, 0x100e, 0) };
	struct pci_match *m;
	char *text;
	size_t n;

	rules[0].vendor = 0x1234;
	ck_assert_int_eq(pci_assign(&c, fns, 3, NULL, &m, &n, &text), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(m[0].name, "edu0");
	ck_assert_str_eq(m[1].name, "edu1");
	ck_assert_str_eq(m[2].name, "net0");
	ck_assert_ptr_eq(m[2].rule, &rules[1]);
	ck_assert_str_eq(text, "0000:00:03.0 edu0\n0000:00:04.0 edu1\n"
	                       "0000:00:05.0 net0\n");
	free(m);
	free(text);
}
END_TEST

START_TEST(test_pci_names_stay_with_their_address)
{
	struct conf_pci_rule rules[1] = { rule("edu%d") };
	struct conf c = { .pci = rules, .n_pci = 1 };
	struct pci_fn fns[2] = { fn("0000:00:04.0", 0x1234, 0x11e8, 0),
		                 fn("0000:01:00.0", 0x1234, 0x11e8, 0) };
	const char *store = "0000:00:03.0 edu0\n0000:01:00.0 edu1\n"
	                    "0000:00:04.0 edu2\n";
	struct pci_match *m;
	char *text;
	size_t n;

	/* the function at 00:03.0 is gone: edu0 stays its, not taken */
	ck_assert_int_eq(pci_assign(&c, fns, 2, store, &m, &n, &text), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(m[0].name, "edu2");
	ck_assert_str_eq(m[1].name, "edu1");
	ck_assert_ptr_null(text); /* nothing changed: nothing to save */
	free(m);
}
END_TEST

START_TEST(test_pci_a_stored_name_that_no_longer_fits_is_replaced)
{
	struct conf_pci_rule rules[1] = { rule("dev%d-x") };
	struct conf c = { .pci = rules, .n_pci = 1 };
	struct pci_fn fns[1] = { fn("0000:00:04.0", 0x1234, 0x11e8, 0) };
	struct pci_match *m;
	char *text;
	size_t n;

	ck_assert_int_eq(pci_assign(&c, fns, 1, "0000:00:04.0 edu7\ngarbage\n",
	                            &m, &n, &text),
	                 0);
	ck_assert_str_eq(m[0].name, "dev0-x");
	ck_assert_str_eq(text, "0000:00:04.0 dev0-x\n");
	free(m);
	free(text);
	ck_assert_int_eq(
	        pci_assign(&c, fns, 1, "0000:00:04.0 dev07-x\n", &m, &n, &text),
	        0);
	ck_assert_str_eq(m[0].name, "dev0-x"); /* a leading 0 does not fit */
	free(m);
	free(text);
}
END_TEST

START_TEST(test_pci_no_rule_matches_nothing_is_named)
{
	struct conf_pci_rule rules[1] = { rule("edu%d") };
	struct conf c = { .pci = rules, .n_pci = 1 };
	struct pci_fn fns[1] = { fn("0000:00:04.0", 0x1af4, 0x1041, 0x020000) };
	struct pci_match *m;
	char *text;
	size_t n;

	rules[0].vendor = 0xffff;
	ck_assert_int_eq(pci_assign(&c, fns, 1, NULL, &m, &n, &text), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(text);
	free(m);
}
END_TEST

/* The guest's /proc/interrupts with edu (00:04.0) on MSI, abridged. */
static const char interrupts[] =
        "           CPU0       CPU1       \n"
        "  0:         38          0   IO-APIC   2-edge      timer\n"
        " 11:          3          4   IO-APIC  11-fasteoi   uhci, "
        "vfio-intx(0000:00:05.0)\n"
        " 24:          5         12   PCI-MSI 65536-edge      "
        "vfio-msi[0](0000:00:04.0)\n"
        " 25:          1          0   PCI-MSI 65537-edge      "
        "vfio-msi[1](0000:00:04.0)\n"
        " 26:        100          0   PCI-MSI 98304-edge      "
        "nvme0q0 (0000:00:04.0)\n"
        "NMI:          0          0   Non-maskable interrupts\n";

START_TEST(test_vfio_interrupts_are_summed_per_function)
{
	/* both vectors, both CPUs; not the non-VFIO line naming it */
	ck_assert_int_eq(vfio_irq_parse(interrupts, "0000:00:04.0"), 18);
	/* an INTx line shared with another device */
	ck_assert_int_eq(vfio_irq_parse(interrupts, "0000:00:05.0"), 7);
	/* a function without vectors, a prefix of another address */
	ck_assert_int_eq(vfio_irq_parse(interrupts, "0000:00:06.0"), -1);
	ck_assert_int_eq(vfio_irq_parse(interrupts, "0000:00:04"), -1);
	ck_assert_int_eq(vfio_irq_parse("", "0000:00:04.0"), -1);
	ck_assert_int_eq(
	        vfio_irq_parse("garbage vfio-(0000:00:04.0)", "0000:00:04.0"),
	        0);
}
END_TEST

static Suite *
pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *core = tcase_create("Core");

	tcase_add_test(core, test_pci_rule_matches_ids_and_class_prefixes);
	tcase_add_test(
	        core, test_pci_names_take_the_lowest_free_number_and_are_saved);
	tcase_add_test(core, test_pci_names_stay_with_their_address);
	tcase_add_test(core,
	               test_pci_a_stored_name_that_no_longer_fits_is_replaced);
	tcase_add_test(core, test_pci_no_rule_matches_nothing_is_named);
	tcase_add_test(core, test_vfio_interrupts_are_summed_per_function);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pci_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
