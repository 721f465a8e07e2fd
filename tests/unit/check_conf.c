/*
 * check_conf.c: unit tests for the ddmfs conf loader (ddmfs/conf.c).
 *
 * Each bad conf is written to a temp file and must fail with -EINVAL and the
 * exact "FILE:LINE: message" the loader promises, pointing at the offending
 * line.  Good confs must load with every value in place.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "rules.h"

#define SHIPPED_CONF TEST_SRCDIR "/../../conf/ddmfs.conf"
#define LP0_LINE     33 /* where the shipped conf's entries start */
#define RTC0_LINE    52

static char conf_path[64];

/* Writes len bytes of text to a fresh temp file, named in conf_path. */
static void
write_conf_bytes(const char *text, size_t len)
{
	int fd;

	strcpy(conf_path, "/tmp/check_conf.XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static struct conf *
load_ok(const char *text)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";
	int r;

	write_conf_bytes(text, strlen(text));
	r = conf_load(conf_path, &c, err, sizeof(err));
	unlink(conf_path);
	ck_assert_msg(r == 0, "conf_load: %d %s", r, err);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Loads text and checks it fails with "FILE:line: msg" exactly. */
static void
expect_error(const char *text, int line, const char *msg)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	char err[CONF_ERR_MAX], want[CONF_ERR_MAX + 64];
	int r;

	write_conf_bytes(text, strlen(text));
	r = conf_load(conf_path, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:%d: %s", conf_path, line, msg);
	unlink(conf_path);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(c, sentinel);
	ck_assert_str_eq(err, want);
}

/* A bus isa0 (line 3) with rtc0 (line 6) and lp0 (line 8), then extra. */
#define BUS_HEAD                                                               \
	"mountpoint = \"/ddm\";\n"                                             \
	"buses = (\n"                                                          \
	"  { name = \"isa0\";\n"                                               \
	"    devices = (\n"                                                    \
	"      { name = \"rtc0\"; driver = \"ddm-rtc\";\n"                     \
	"        ports = [ \"0x70-0x71\" ]; },\n"                              \
	"      { name = \"lp0\"; driver = \"ddm-lp\";\n"                       \
	"        ports = [ \"0x378-0x37a\" ];\n"
#define BUS_TAIL "      } ); } );\n"
/* A conf with a single bus whose one device has the settings dev at line 6. */
static const char *
one_dev(const char *dev)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	         "mountpoint = \"/ddm\";\n"
	         "buses = (\n"
	         "  { name = \"isa0\";\n"
	         "    devices = (\n"
	         "      {\n%s\n"
	         "      } ); } );\n",
	         dev);
	return buf;
}

START_TEST(test_conf_rules_load_in_order_with_their_keys)
{
	struct conf *c = load_ok(
	        "rules = (\n"
	        "  { path = \"isa0/lp*\"; mode = \"0660\"; owner = \"root\";\n"
	        "    group = 7; acl = [ \"u:root:rw-\", \"g:7:r\",\n"
	        "                       \"d:u:65534:r-x\", \"m::rw-\" ]; },\n"
	        "  { path = \"pci0/edu?\"; mode = \"0666\"; }\n"
	        ");\n");
	const struct conf_rule *r = &c->rules[0];
	struct rules_out o;

	ck_assert_uint_eq(c->n_rules, 2);
	ck_assert_str_eq(r->path, "isa0/lp*");
	ck_assert(r->has_mode && r->has_uid && r->has_gid);
	ck_assert_uint_eq(r->mode, 0660);
	ck_assert_uint_eq(r->uid, 0);
	ck_assert_uint_eq(r->gid, 7);
	ck_assert_uint_eq(r->n_acl, 3);
	ck_assert_uint_eq(r->acl[1].tag, ACL_TAG_GROUP);
	ck_assert_uint_eq(r->acl[1].id, 7);
	ck_assert_uint_eq(r->acl[1].perm, 4);
	ck_assert_uint_eq(r->n_dacl, 1);
	ck_assert_uint_eq(r->dacl[0].id, 65534);
	ck_assert_uint_eq(r->line, 2);
	ck_assert_str_eq(c->rules[1].path, "pci0/edu?");
	ck_assert(!c->rules[1].has_uid && c->rules[1].n_acl == 0);
	ck_assert_uint_eq(c->rules[1].line, 5);
	/* applied: conf defaults, then the rule; the given mask stays */
	rules_apply(c, "isa0/lp0", false, 0644, 5, 5, NULL, &o);
	ck_assert_uint_eq(o.mode, 0660);
	ck_assert_uint_eq(o.uid, 0);
	ck_assert_uint_eq(o.gid, 7);
	ck_assert_uint_eq(o.acl.n, 6);
	ck_assert_uint_eq(o.dacl.n, 0); /* a leaf has no default ACL */
	/* FNM_PATHNAME: a '*' does not cross a '/' */
	rules_apply(c, "isa0/lp0/x", false, 0644, 5, 5, NULL, &o);
	ck_assert_uint_eq(o.mode, 0644);
	rules_apply(c, "isa0", true, 0755, 0, 0, NULL, &o);
	ck_assert_uint_eq(o.mode, 0755);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_later_rule_overrides_an_earlier_key)
{
	struct conf *c =
	        load_ok("rules = (\n"
	                "  { path = \"isa0/*\"; mode = \"0600\"; "
	                "group = 5; },\n"
	                "  { path = \"isa0/rtc0\"; mode = \"0640\"; },\n"
	                "  { path = \"isa0\"; acl = [ \"d:u:9:rw\" ]; }\n"
	                ");\n");
	struct rules_out o;

	rules_apply(c, "isa0/rtc0", false, 0644, 0, 0, NULL, &o);
	ck_assert_uint_eq(o.mode, 0640);
	ck_assert_uint_eq(o.gid, 5);
	rules_apply(c, "isa0/lp0", false, 0644, 0, 0, NULL, &o);
	ck_assert_uint_eq(o.mode, 0600);
	rules_apply(c, "isa0", true, 0755, 0, 0, NULL, &o);
	ck_assert_uint_eq(o.dacl.n, 5); /* base entries from the mode, mask */
	conf_free(c);
}
END_TEST

START_TEST(test_conf_bad_rules_are_rejected)
{
	expect_error("rules = ( { mode = \"0600\"; } );\n", 1,
	             "a rule has no \"path\"");
	expect_error(
	        "rules = (\n { path = \"isa0/[lp\"; mode = \"0600\"; } );\n", 2,
	        "rule path \"isa0/[lp\" is not a glob of node names like "
	        "\"isa0/lp*\"");
	expect_error("rules = ( { path = \"/isa0\"; mode = \"0600\"; } );\n", 1,
	             "rule path \"/isa0\" is not a glob of node names like "
	             "\"isa0/lp*\"");
	expect_error("rules = ( { path = \"isa0//x\"; mode = \"0600\"; } );\n",
	             1,
	             "rule path \"isa0//x\" is not a glob of node names like "
	             "\"isa0/lp*\"");
	expect_error("rules = (\n\n { path = \"isa0/*\"; } );\n", 3,
	             "rule for \"isa0/*\" sets nothing (give mode, owner, "
	             "group or acl)");
	expect_error("rules = ( { path = \"isa0/*\";\n mode = \"0999\"; } );\n",
	             2, "mode \"0999\" is not an octal mode like \"0644\"");
	expect_error("rules = ( { path = \"isa0/*\";\n"
	             " owner = \"no-such-user-x\"; } );\n",
	             2, "unknown user \"no-such-user-x\"");
	expect_error(
	        "rules = ( { path = \"isa0/*\";\n"
	        " acl = [ \"u::rw-\",\n \"u:no-such-user-x:rw-\" ]; } );\n",
	        3,
	        "acl entry \"u:no-such-user-x:rw-\" is not like "
	        "\"u:NAME:rw-\", \"g:NAME:r--\", \"m::rw-\", \"o::---\" "
	        "or \"d:u:NAME:rw-\" (or names no user or group)");
	expect_error("rules = ( { path = \"isa0/*\";\n colour = 1; } );\n", 2,
	             "unknown key \"colour\" in a rule");
	expect_error("rules = ( \"isa0\" );\n", 1,
	             "rules must be a list of { ... } groups");
}
END_TEST

START_TEST(test_conf_shipped_conf_loads_with_its_values)
{
	char err[CONF_ERR_MAX] = "";
	struct passwd *user = getpwnam("ddmfs");
	struct conf *c = NULL;
	struct conf_device *d;

	ck_assert_int_eq(conf_load(SHIPPED_CONF, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c->file, SHIPPED_CONF);
	ck_assert_str_eq(c->mountpoint, "/ddm");
	ck_assert_str_eq(c->state_dir, "/var/lib/ddmfs");
	ck_assert_ptr_null(c->driver_path);
	ck_assert_int_eq(c->transport, CONF_TRANSPORT_AUTO);
	ck_assert_ptr_nonnull(user); /* ./run makes it */
	ck_assert_uint_ne(user->pw_uid, 65534);
	ck_assert_uint_eq(c->driver_uid, user->pw_uid);
	ck_assert_uint_eq(c->driver_gid, user->pw_gid);
	ck_assert_uint_eq(c->n_buses, 1);
	ck_assert_str_eq(c->buses[0].name, "isa0");
	ck_assert_uint_eq(c->buses[0].mode, 0755);
	ck_assert_uint_eq(c->buses[0].uid, 0);
	ck_assert_uint_eq(c->buses[0].gid, 0);
	ck_assert_uint_eq(c->buses[0].line, 14);
	ck_assert_uint_eq(c->buses[0].n_devices, 4);
	d = &c->buses[0].devices[0];
	ck_assert_str_eq(d->name, "kbd0");
	ck_assert_str_eq(d->driver, "ddm-kbd");
	ck_assert_uint_eq(d->mode, 0640);
	ck_assert_uint_eq(d->n_ports, 2);
	ck_assert_uint_eq(d->ports[0].base, 0x60);
	ck_assert_uint_eq(d->ports[0].len, 1);
	ck_assert_uint_eq(d->ports[1].base, 0x64);
	ck_assert_uint_eq(d->ports[1].len, 1);
	ck_assert_uint_eq(d->line, 18);
	ck_assert_uint_eq(d->n_nodes, 2);
	ck_assert_str_eq(d->nodes[0].name, "kbd0");
	ck_assert_str_eq(d->nodes[1].name, "aux0");
	ck_assert_str_eq(d->nodes[1].kind, "aux");
	ck_assert_uint_eq(d->nodes[1].mode, 0640);
	d = &c->buses[0].devices[1];
	ck_assert_str_eq(d->name, "lp0");
	ck_assert_str_eq(d->driver, "ddm-lp");
	ck_assert_uint_eq(d->mode, 0660);
	ck_assert_uint_eq(d->gid, getgrnam("lp")->gr_gid);
	ck_assert_uint_eq(d->n_ports, 1);
	ck_assert_uint_eq(d->ports[0].base, 0x378);
	ck_assert_uint_eq(d->ports[0].len, 3);
	ck_assert_uint_eq(d->line, LP0_LINE);
	d = &c->buses[0].devices[2];
	ck_assert_str_eq(d->name, "lp1");
	ck_assert_str_eq(d->driver, "ddm-lp");
	ck_assert_uint_eq(d->ports[0].base, 0x278);
	ck_assert_uint_eq(d->ports[0].len, 3);
	d = &c->buses[0].devices[3];
	ck_assert_str_eq(d->name, "rtc0");
	ck_assert_str_eq(d->driver, "ddm-rtc");
	ck_assert_str_eq(d->io, "sim");
	ck_assert_uint_eq(d->mode, 0644);
	ck_assert_uint_eq(d->uid, 0);
	ck_assert_uint_eq(d->gid, 0);
	ck_assert_uint_eq(d->run_uid, user->pw_uid);
	ck_assert_uint_eq(d->run_gid, user->pw_gid);
	ck_assert_uint_eq(d->n_ports, 1);
	ck_assert_uint_eq(d->ports[0].base, 0x70);
	ck_assert_uint_eq(d->ports[0].len, 2);
	ck_assert_ptr_nonnull(d->args);
	ck_assert_ptr_null(d->args[0]);
	ck_assert_uint_eq(d->line, RTC0_LINE);
	ck_assert_uint_eq(d->n_nodes, 2);
	ck_assert_str_eq(d->nodes[1].name, "nvram0");
	ck_assert_str_eq(d->nodes[1].kind, "nvram");
	ck_assert_uint_eq(d->nodes[1].mode, 0600);
	ck_assert_uint_eq(d->nodes[0].mode, 0644);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_full_conf_loads_ports_args_and_users)
{
	struct conf *c;
	struct conf_device *lp, *kbd;

	c = load_ok(
	        "mountpoint = \"/mnt/ddm\";\n"
	        "state_dir = \"/tmp/ddm-state\";\n"
	        "driver_path = \"/a:/b\";\n"
	        "transport = \"cuse\";\n"
	        "driver_user = \"root\";\n"
	        "buses = (\n"
	        "  { name = \"isa0\"; mode = \"0750\"; owner = \"12\";\n"
	        "    group = 34;\n"
	        "    devices = (\n"
	        "      { name = \"lp0\"; driver = \"ddm-lp\"; io = \"pio\";\n"
	        "        ports = [ \"0x378-0x37a\", \"0x3bc\", \"96\" ];\n"
	        "        mode = \"0660\"; owner = \"nobody\";\n"
	        "        group = \"root\"; user = 4242;\n"
	        "        args = [ \"--verbose\", \"-x\", \"a b\" ]; },\n"
	        "      { name = \"kbd_0-x\"; driver = \"ddm-kbd\";\n"
	        "        io = \"devport\"; user = \"nobody\"; }\n"
	        "    ); },\n"
	        "  { name = \"pci0\"; }\n"
	        ");\n");
	ck_assert_str_eq(c->mountpoint, "/mnt/ddm");
	ck_assert_str_eq(c->state_dir, "/tmp/ddm-state");
	ck_assert_str_eq(c->driver_path, "/a:/b");
	ck_assert_int_eq(c->transport, CONF_TRANSPORT_CUSE);
	ck_assert_uint_eq(c->driver_uid, 0);
	ck_assert_uint_eq(c->driver_gid, 0);
	ck_assert_uint_eq(c->n_buses, 2);
	ck_assert_uint_eq(c->buses[0].mode, 0750);
	ck_assert_uint_eq(c->buses[0].uid, 12);
	ck_assert_uint_eq(c->buses[0].gid, 34);
	ck_assert_uint_eq(c->buses[0].n_devices, 2);
	lp = &c->buses[0].devices[0];
	ck_assert_str_eq(lp->io, "pio");
	ck_assert_uint_eq(lp->mode, 0660);
	ck_assert_uint_eq(lp->uid, 65534);
	ck_assert_uint_eq(lp->gid, 0);
	ck_assert_uint_eq(lp->run_uid, 4242);
	ck_assert_uint_eq(lp->n_ports, 3);
	ck_assert_uint_eq(lp->ports[0].base, 0x378);
	ck_assert_uint_eq(lp->ports[0].len, 3);
	ck_assert_uint_eq(lp->ports[1].base, 0x3bc);
	ck_assert_uint_eq(lp->ports[1].len, 1);
	ck_assert_uint_eq(lp->ports[2].base, 96);
	ck_assert_uint_eq(lp->ports[2].len, 1);
	ck_assert_str_eq(lp->args[0], "--verbose");
	ck_assert_str_eq(lp->args[1], "-x");
	ck_assert_str_eq(lp->args[2], "a b");
	ck_assert_ptr_null(lp->args[3]);
	ck_assert_uint_eq(lp->line, 10);
	kbd = &c->buses[0].devices[1];
	ck_assert_str_eq(kbd->name, "kbd_0-x");
	ck_assert_str_eq(kbd->io, "devport");
	ck_assert_uint_eq(kbd->mode, 0600);
	ck_assert_uint_eq(kbd->uid, 0);
	ck_assert_uint_eq(kbd->run_uid, 65534);
	ck_assert_uint_eq(kbd->n_ports, 0);
	ck_assert_str_eq(c->buses[1].name, "pci0");
	ck_assert_uint_eq(c->buses[1].mode, 0755);
	ck_assert_uint_eq(c->buses[1].n_devices, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_numeric_user_without_passwd_entry_gets_same_gid)
{
	struct conf *c = load_ok("driver_user = \"3999999\";\n");

	ck_assert_uint_eq(c->driver_uid, 3999999);
	ck_assert_uint_eq(c->driver_gid, 3999999);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_empty_file_is_an_empty_tree_with_defaults)
{
	struct conf *c = load_ok("");

	ck_assert_str_eq(c->mountpoint, "/ddm");
	ck_assert_str_eq(c->state_dir, "/var/lib/ddmfs");
	ck_assert_int_eq(c->transport, CONF_TRANSPORT_AUTO);
	ck_assert_uint_eq(c->n_buses, 0);
	ck_assert_ptr_null(c->buses);
	conf_free(c);
	c = load_ok("buses = ();\n");
	ck_assert_uint_eq(c->n_buses, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_syntax_error_reports_libconfig_line)
{
	expect_error("mountpoint = \"/ddm\";\nstate_dir = ;\n", 2,
	             "syntax error");
}
END_TEST

START_TEST(test_conf_duplicate_setting_is_a_parse_error)
{
	expect_error("mountpoint = \"/a\";\n\nmountpoint = \"/b\";\n", 3,
	             "duplicate setting name");
}
END_TEST

START_TEST(test_conf_unknown_keys_are_reported_at_every_level)
{
	expect_error("mountpoint = \"/ddm\";\nmountpont = \"/x\";\n", 2,
	             "unknown setting \"mountpont\" in the top level (known: "
	             "mountpoint, state_dir, driver_path, transport, "
	             "driver_user, buses, pci, rules)");
	expect_error(
	        "buses = (\n { name = \"isa0\";\n   mdoe = \"0755\"; });\n", 3,
	        "unknown setting \"mdoe\" in a bus (known: name, mode, "
	        "owner, group, devices)");
	expect_error(one_dev("name = \"rtc0\"; driver = \"x\"; prots = [];"), 6,
	             "unknown setting \"prots\" in a device (known: name, "
	             "driver, io, ports, mode, owner, group, user, args, "
	             "nodes, spawn, unbind)");
}
END_TEST

START_TEST(test_conf_wrong_types_are_reported)
{
	expect_error("\nmountpoint = 5;\n", 2, "mountpoint must be a string");
	expect_error("buses = 5;\n", 1,
	             "buses must be a list of { ... } groups");
	expect_error("buses = ( \"isa0\" );\n", 1,
	             "buses must be a list of { ... } groups");
	expect_error("buses = ( { name = \"a\";\n devices = ( 1 ); } );\n", 2,
	             "devices must be a list of { ... } groups");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; ports = \"0x70\";"),
	             6, "ports must be a list of strings");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; ports = [ 112 ];"),
	             6, "ports must be a list of strings");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; args = [ 1, 2 ];"),
	             6, "args must be a list of strings");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; user = 1.5;"), 6,
	             "user must be a user name or number");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; group = true;"), 6,
	             "group must be a group name or number");
}
END_TEST

START_TEST(test_conf_missing_required_keys_point_at_their_group)
{
	expect_error("buses = (\n\n  { mode = \"0755\"; } );\n", 3,
	             "bus has no \"name\"");
	expect_error(one_dev("driver = \"ddm-rtc\";"), 5,
	             "device has no \"name\"");
	expect_error(one_dev("name = \"rtc0\";"), 5,
	             "device \"isa0/rtc0\" has no \"driver\"");
}
END_TEST

START_TEST(test_conf_bad_names_are_rejected)
{
	expect_error("buses = (\n { name = \"ISA0\"; } );\n", 2,
	             "bus name \"ISA0\" must match [a-z0-9_-]{1,32}");
	expect_error("buses = (\n { name = \"\"; } );\n", 2,
	             "bus name \"\" must match [a-z0-9_-]{1,32}");
	expect_error(one_dev("name = \"rtc.0\"; driver = \"d\";"), 6,
	             "device name \"rtc.0\" must match [a-z0-9_-]{1,32}");
	expect_error(one_dev("name = \"a\"; driver = \"../bin/sh\";"), 6,
	             "driver \"../bin/sh\" must be a bare file name");
}
END_TEST

START_TEST(test_conf_duplicate_names_are_rejected)
{
	expect_error("buses = (\n { name = \"isa0\"; },\n\n"
	             " { name = \"isa0\"; } );\n",
	             4, "duplicate bus name \"isa0\" (first at line 2)");
	expect_error(BUS_HEAD "      },\n      { name = \"rtc0\";"
	                      " driver = \"x\";\n" BUS_TAIL,
	             10,
	             "duplicate device name \"isa0/rtc0\" (first at line 5)");
}
END_TEST

START_TEST(test_conf_nodes_of_a_device_take_its_defaults_and_their_own)
{
	struct conf *c = load_ok(one_dev(
	        "name = \"rtc0\"; driver = \"ddm-rtc\"; mode = \"0644\";\n"
	        "owner = \"0\"; group = \"7\"; spawn = \"manual\";\n"
	        "nodes = ( { name = \"rtc0\"; },\n"
	        " { name = \"nvram0\"; kind = \"nvram\"; mode = \"0600\";\n"
	        "   group = \"0\"; } );"));
	const struct conf_device *d = &c->buses[0].devices[0];

	ck_assert_uint_eq(d->n_nodes, 2);
	ck_assert_int_eq(d->manual, 1);
	ck_assert_str_eq(d->nodes[0].name, "rtc0");
	ck_assert_str_eq(d->nodes[0].kind, "");
	ck_assert_uint_eq(d->nodes[0].mode, 0644);
	ck_assert_uint_eq(d->nodes[0].gid, 7);
	ck_assert_str_eq(d->nodes[1].name, "nvram0");
	ck_assert_str_eq(d->nodes[1].kind, "nvram");
	ck_assert_uint_eq(d->nodes[1].mode, 0600);
	ck_assert_uint_eq(d->nodes[1].uid, 0);
	ck_assert_uint_eq(d->nodes[1].gid, 0);
	ck_assert_uint_eq(d->nodes[1].line, 9);
	conf_free(c);

	/* no nodes: one, named after the entry, with its permissions */
	c = load_ok(
	        one_dev("name = \"lp0\"; driver = \"d\"; mode = \"0660\";"));
	d = &c->buses[0].devices[0];
	ck_assert_uint_eq(d->n_nodes, 1);
	ck_assert_int_eq(d->manual, 0);
	ck_assert_str_eq(d->nodes[0].name, "lp0");
	ck_assert_uint_eq(d->nodes[0].mode, 0660);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_bad_nodes_are_rejected)
{
	expect_error(one_dev("name = \"rtc0\"; driver = \"d\";\n"
	                     "nodes = ( { name = \"rtc0\"; },\n"
	                     "  { name = \"rtc0\"; } );"),
	             8,
	             "node \"rtc0\" given twice in device \"isa0/rtc0\" "
	             "(first at line 7)");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; nodes = ( );"), 6,
	             "nodes must name at least one node");
	expect_error(one_dev("name = \"a\"; driver = \"d\";\n"
	                     "nodes = ( { name = \"x\"; kind = \"A B\"; } );"),
	             7, "kind \"A B\" must be 1 to 32 of [a-z0-9_-]");
	expect_error(one_dev("name = \"a\"; driver = \"d\";\n"
	                     "nodes = ( { name = \"x\"; knd = \"y\"; } );"),
	             7,
	             "unknown setting \"knd\" in a node (known: name, kind, "
	             "mode, owner, group)");
	expect_error(one_dev("name = \"a\"; driver = \"d\";\n"
	                     "spawn = \"later\";"),
	             7, "spawn \"later\" is not one of: auto, manual");
	/* lp0's node clashes with a node of rtc0 */
	expect_error(BUS_HEAD "        nodes = ( { name = \"lp0\"; },\n"
	                      "          { name = \"rtc0\"; } );\n" BUS_TAIL,
	             10,
	             "node \"isa0/rtc0\" is already a node of device "
	             "\"rtc0\" (line 5)");
}
END_TEST

START_TEST(test_conf_bad_modes_are_rejected)
{
	expect_error(one_dev("name = \"a\"; driver = \"d\"; mode = \"0999\";"),
	             6, "mode \"0999\" is not an octal mode like \"0644\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; mode = \"\";"), 6,
	             "mode \"\" is not an octal mode like \"0644\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; mode = 644;"), 6,
	             "mode must be a string like \"0644\" (libconfig has no "
	             "octal numbers)");
	expect_error("buses = (\n { name = \"a\";\n mode = \"-755\"; } );\n", 3,
	             "mode \"-755\" is not an octal mode like \"0644\"");
}
END_TEST

START_TEST(test_conf_unknown_users_and_groups_are_rejected)
{
	expect_error("\ndriver_user = \"no-such-user-ddm\";\n", 2,
	             "unknown user \"no-such-user-ddm\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; owner = \"nx-u\";"),
	             6, "unknown user \"nx-u\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; user = \"nx-u\";"),
	             6, "unknown user \"nx-u\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; group = \"nx-g\";"),
	             6, "unknown group \"nx-g\"");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; owner = -1;"), 6,
	             "owner -1 is not a user id (0 to 4294967294; write ids "
	             "above 2147483647 as strings, \"3000000000\")");
}
END_TEST

START_TEST(test_conf_bad_port_syntax_is_rejected)
{
	static const char *const bad[] = { "0x70-", "0x",
		                           "zz",    "0x71-0x70",
		                           " 0x70", "0x70 ",
		                           "-0x70", "0x70-0x71-0x72" };
	char dev[128], msg[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(dev, sizeof(dev),
		         "name = \"a\"; driver = \"d\"; ports = [ \"%s\" ];",
		         bad[i]);
		snprintf(msg, sizeof(msg),
		         "bad port range \"%s\" (want \"0x70-0x71\" or "
		         "\"0x378\", up to 0xffff)",
		         bad[i]);
		expect_error(one_dev(dev), 6, msg);
	}
}
END_TEST

START_TEST(test_conf_overlapping_ports_name_both_devices)
{
	expect_error(BUS_HEAD "      },\n"
	                      "      { name = \"lp1\"; driver = \"ddm-lp\";\n"
	                      "        ports = [ \"0x37a-0x37f\" ];\n" BUS_TAIL,
	             11, "isa0/lp1 ports 0x37a-0x37f overlap isa0/lp0");
	expect_error("buses = (\n"
	             " { name = \"isa0\"; devices = ( { name = \"rtc0\";\n"
	             "   driver = \"r\"; ports = [ \"0x70-0x71\" ]; } ); },\n"
	             " { name = \"pci0\"; devices = ( { name = \"cmos\";\n"
	             "   driver = \"r\"; ports = [ \"0x80\",\n"
	             "   \"0x71\" ]; } ); } );\n",
	             6, "pci0/cmos ports 0x71 overlap isa0/rtc0");
	expect_error(one_dev("name = \"a\"; driver = \"d\";\n"
	                     "ports = [ \"0x60\", \"0x5f-0x64\" ];"),
	             7, "isa0/a ports 0x5f-0x64 overlap isa0/a");
}
END_TEST

START_TEST(test_conf_adjacent_port_ranges_do_not_overlap)
{
	struct conf *c =
	        load_ok(BUS_HEAD "      },\n"
	                         "      { name = \"lp1\"; driver = \"l\";\n"
	                         "        ports = [ \"0x37b-0x37f\", "
	                         "\"0x6f\" ];\n" BUS_TAIL);

	ck_assert_uint_eq(c->buses[0].n_devices, 3);
	ck_assert_uint_eq(c->buses[0].devices[2].ports[0].base, 0x37b);
	ck_assert_uint_eq(c->buses[0].devices[2].ports[0].len, 5);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_relative_paths_are_rejected)
{
	expect_error("mountpoint = \"ddm\";\n", 1,
	             "mountpoint \"ddm\" must be an absolute path");
	expect_error("\n\nstate_dir = \"\";\n", 3,
	             "state_dir \"\" must be an absolute path");
}
END_TEST

START_TEST(test_conf_bad_transport_and_io_are_rejected)
{
	expect_error("\ntransport = \"CUSE\";\n", 2,
	             "transport \"CUSE\" is not one of: auto, fuse, cuse");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = \"mmio\";"), 6,
	             "io \"mmio\" is not one of: sim, pio, devport");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = 1;"), 6,
	             "io must be a string");
}
END_TEST

START_TEST(test_conf_missing_file_reports_strerror)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	char err[CONF_ERR_MAX];

	ck_assert_int_eq(
	        conf_load("/nonexistent/ddmfs.conf", &c, err, sizeof(err)),
	        -ENOENT);
	ck_assert_str_eq(err,
	                 "/nonexistent/ddmfs.conf: No such file or directory");
	ck_assert_ptr_eq(c, sentinel);
	ck_assert_int_eq(conf_load("/tmp", &c, err, sizeof(err)), -EISDIR);
	ck_assert_str_eq(err, "/tmp: Is a directory");
	ck_assert_ptr_eq(c, sentinel);
}
END_TEST

START_TEST(test_conf_name_of_32_chars_loads_and_33_fails)
{
	char text[256];
	struct conf *c;

	snprintf(text, sizeof(text), "buses = ( { name = \"%s\"; } );\n",
	         "abcdefghijklmnopqrstuvwxyz012345");
	c = load_ok(text);
	ck_assert_str_eq(c->buses[0].name, "abcdefghijklmnopqrstuvwxyz012345");
	conf_free(c);
	snprintf(text, sizeof(text), "buses = ( { name = \"%s\"; } );\n",
	         "abcdefghijklmnopqrstuvwxyz0123456");
	expect_error(
	        text, 1,
	        "bus name \"abcdefghijklmnopqrstuvwxyz0123456\" must match "
	        "[a-z0-9_-]{1,32}");
}
END_TEST

START_TEST(test_conf_port_0xffff_loads_and_0x10000_fails)
{
	struct conf *c;

	c = load_ok(one_dev("name = \"a\"; driver = \"d\";"
	                    " ports = [ \"0xfff0-0xFFFF\" ];"));
	ck_assert_uint_eq(c->buses[0].devices[0].ports[0].base, 0xfff0);
	ck_assert_uint_eq(c->buses[0].devices[0].ports[0].len, 16);
	conf_free(c);
	expect_error(one_dev("name = \"a\"; driver = \"d\";"
	                     " ports = [ \"0xfff0-0x10000\" ];"),
	             6,
	             "bad port range \"0xfff0-0x10000\" (want \"0x70-0x71\" or "
	             "\"0x378\", up to 0xffff)");
	expect_error(one_dev("name = \"a\"; driver = \"d\";"
	                     " ports = [ \"99999999999999999999\" ];"),
	             6,
	             "bad port range \"99999999999999999999\" (want "
	             "\"0x70-0x71\" or \"0x378\", up to 0xffff)");
}
END_TEST

START_TEST(test_conf_eight_port_ranges_load_and_nine_fail)
{
	const char *eight = "\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"";
	char dev[256];
	struct conf *c;

	snprintf(dev, sizeof(dev),
	         "name = \"a\"; driver = \"d\"; ports = [ %s ];", eight);
	c = load_ok(one_dev(dev));
	ck_assert_uint_eq(c->buses[0].devices[0].n_ports, CONF_PORTS_MAX);
	ck_assert_uint_eq(c->buses[0].devices[0].ports[7].base, 8);
	conf_free(c);
	snprintf(dev, sizeof(dev),
	         "name = \"a\"; driver = \"d\"; ports = [ %s, \"9\" ];", eight);
	expect_error(one_dev(dev), 6, "ports has 9 ranges, at most 8 allowed");
}
END_TEST

START_TEST(test_conf_mode_07777_loads_and_010000_fails)
{
	struct conf *c;

	c = load_ok(one_dev("name = \"a\"; driver = \"d\"; mode = \"07777\";"));
	ck_assert_uint_eq(c->buses[0].devices[0].mode, 07777);
	conf_free(c);
	expect_error(
	        one_dev("name = \"a\"; driver = \"d\"; mode = \"010000\";"), 6,
	        "mode \"010000\" is not an octal mode like \"0644\"");
	expect_error(
	        one_dev("name = \"a\"; driver = \"d\";"
	                " mode = \"77777777777777777777777\";"),
	        6,
	        "mode \"77777777777777777777777\" is not an octal mode like "
	        "\"0644\"");
}
END_TEST

START_TEST(test_conf_binary_garbage_fails_cleanly)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	char garbage[4096], err[CONF_ERR_MAX] = "";
	size_t i;
	int r;

	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)((i * 7919u + 13u) % 256u);
	write_conf_bytes(garbage, sizeof(garbage));
	r = conf_load(conf_path, &c, err, sizeof(err));
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(c, sentinel);
	ck_assert_int_eq(strncmp(err, conf_path, strlen(conf_path)), 0);
	ck_assert_int_eq(err[strlen(conf_path)], ':');
	unlink(conf_path);
}
END_TEST

START_TEST(test_conf_error_is_truncated_to_errlen_or_skipped_if_null)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	char err[12];

	memset(err, 'x', sizeof(err));
	write_conf_bytes("transport = \"bogus\";\n", 21);
	ck_assert_int_eq(conf_load(conf_path, &c, err, 8), -EINVAL);
	ck_assert_int_eq(strlen(err), 7);
	ck_assert_int_eq(err[8], 'x');
	ck_assert_int_eq(conf_load(conf_path, &c, NULL, 0), -EINVAL);
	ck_assert_ptr_eq(c, sentinel);
	unlink(conf_path);
}
END_TEST

START_TEST(test_conf_nul_byte_and_include_are_rejected_at_their_line)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	static const char nul[] = "mountpoint = \"/ddm\";\n\nstate_dir = "
	                          "\"/x\0y\";\n";
	char err[CONF_ERR_MAX], want[CONF_ERR_MAX];

	write_conf_bytes(nul, sizeof(nul) - 1);
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: NUL byte in the text", conf_path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_eq(c, sentinel);
	unlink(conf_path);
	expect_error("mountpoint = \"/ddm\";\n  @include \"/etc\"\n", 2,
	             "@include is not supported");
}
END_TEST

START_TEST(test_conf_file_over_one_mib_is_refused)
{
	struct conf *sentinel = (struct conf *)&sentinel, *c = sentinel;
	size_t len = 1024 * 1024 + 1;
	char *big = malloc(len), err[CONF_ERR_MAX], want[CONF_ERR_MAX];

	ck_assert_ptr_nonnull(big);
	memset(big, '\n', len);
	write_conf_bytes(big, len);
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: File too large", conf_path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_eq(c, sentinel);
	unlink(conf_path);
	write_conf_bytes(big, len - 1);
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c->n_buses, 0);
	conf_free(c);
	unlink(conf_path);
	free(big);
}
END_TEST

START_TEST(test_conf_args_setting_ddmfs_options_are_refused_at_their_line)
{
	static const char *const bad[][2] = {
		{ "--io=pio", "--io" },
		{ "--io", "--io" },
		{ "--ports=0x0-0xffff", "--ports" },
		{ "--node=isa0/lp0", "--node" },
		{ "--sim-fd=6", "--sim-fd" },
		{ "--state-fd=7", "--state-fd" },
		{ "--ddm-fd=0", "--ddm-fd" },
		{ "--cuse-fd=4", "--cuse-fd" },
		{ "--cuse-dev=1:2", "--cuse-dev" },
		{ "--devport-fd=0", "--devport-fd" },
		{ "--syslog", "--syslog" },
	};
	char dev[256], msg[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(dev, sizeof(dev),
		         "name = \"a\"; driver = \"d\"; io = \"sim\";\n"
		         "args = [ \"--verbose\",\n\"%s\" ];",
		         bad[i][0]);
		snprintf(msg, sizeof(msg),
		         "args: \"%s\" sets %s, which ddmfs sets itself",
		         bad[i][0], bad[i][1]);
		expect_error(one_dev(dev), 8, msg);
	}
}
END_TEST

START_TEST(test_conf_args_only_resembling_ddmfs_options_load)
{
	struct conf *c = load_ok(
	        one_dev("name = \"a\"; driver = \"d\";\n"
	                "args = [ \"--iox=1\", \"-io\", \"--nodesx\", \"io\","
	                " \"x--io=pio\" ];"));
	char **a = c->buses[0].devices[0].args;

	ck_assert_str_eq(a[0], "--iox=1");
	ck_assert_str_eq(a[4], "x--io=pio");
	ck_assert_ptr_null(a[5]);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_a_bare_id_past_int32_is_refused_by_name_not_wrapped)
{
	struct conf *c = NULL;
	char err[CONF_ERR_MAX] = "";
	const char *ok = "buses = ( { name = \"isa0\"; devices = (\n"
	                 "  { name = \"rtc0\"; driver = \"ddm-rtc\";\n"
	                 "    owner = \"3000000000\"; } ); } );\n";

	/* libconfig keeps a bare 3000000000 as a wrapped 32-bit int */
	expect_error("buses = ( { name = \"isa0\"; devices = (\n"
	             "  { name = \"rtc0\"; driver = \"ddm-rtc\";\n"
	             "    owner = 3000000000; } ); } );\n",
	             3,
	             "owner -1294967296 is not a user id (0 to 4294967294; "
	             "write ids above 2147483647 as strings, \"3000000000\")");
	write_conf_bytes(ok, strlen(ok));
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), 0);
	unlink(conf_path);
	ck_assert_uint_eq(c->buses[0].devices[0].uid, 3000000000u);
	conf_free(c);
}
END_TEST

/* A conf whose pci list (line 2) has one rule, with rule at line 3. */
static const char *
one_rule(const char *rule)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
	         "mountpoint = \"/ddm\";\n"
	         "pci = (\n"
	         "  { %s } );\n",
	         rule);
	return buf;
}

START_TEST(test_conf_pci_rule_loads_ids_class_and_defaults)
{
	struct conf *c = load_ok(
	        one_rule("vendor = \"1234\"; device = \"11E8\"; class = "
	                 "\"00ff\"; driver = \"ddm-edu\"; name = \"edu%d\"; "
	                 "mode = \"0660\"; owner = \"0\"; group = \"0\"; "
	                 "user = 0; args = [ \"--verbose\" ];"));
	const struct conf_pci_rule *r;

	ck_assert_int_eq(c->has_pci, 1);
	ck_assert_uint_eq(c->n_pci, 1);
	r = &c->pci[0];
	ck_assert_int_eq(r->vendor, 0x1234);
	ck_assert_int_eq(r->device, 0x11e8);
	ck_assert_int_eq(r->class, 0x00ff00);
	ck_assert_uint_eq(r->class_mask, 0xffff00);
	ck_assert_int_eq(r->subvendor, CONF_PCI_ANY);
	ck_assert_int_eq(r->subdevice, CONF_PCI_ANY);
	ck_assert_str_eq(r->driver, "ddm-edu");
	ck_assert_str_eq(r->name, "edu%d");
	ck_assert_uint_eq(r->mode, 0660);
	ck_assert_uint_eq(r->run_uid, 0);
	ck_assert_str_eq(r->args[0], "--verbose");
	ck_assert_ptr_null(r->args[1]);
	ck_assert_uint_eq(r->line, 3);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_empty_pci_list_still_makes_the_bus)
{
	struct conf *c = load_ok("pci = ( );\n");

	ck_assert_int_eq(c->has_pci, 1);
	ck_assert_uint_eq(c->n_pci, 0);
	conf_free(c);
	c = load_ok("mountpoint = \"/ddm\";\n");
	ck_assert_int_eq(c->has_pci, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_bad_pci_rules_are_reported_at_their_line)
{
	expect_error(one_rule("vendor = \"12345\"; driver = \"d\"; "
	                      "name = \"e%d\";"),
	             3, "vendor \"12345\" must be \"*\" or 1 to 4 hex digits");
	expect_error(one_rule("device = \"0x11\"; driver = \"d\"; "
	                      "name = \"e%d\";"),
	             3, "device \"0x11\" must be \"*\" or 1 to 4 hex digits");
	expect_error(one_rule("subvendor = \"\"; driver = \"d\"; "
	                      "name = \"e%d\";"),
	             3, "subvendor \"\" must be \"*\" or 1 to 4 hex digits");
	expect_error(one_rule("class = \"030\"; driver = \"d\"; "
	                      "name = \"e%d\";"),
	             3,
	             "class \"030\" must be 2, 4 or 6 hex digits (class, "
	             "subclass, interface)");
	expect_error(one_rule("vendr = \"1234\"; driver = \"d\"; "
	                      "name = \"e%d\";"),
	             3,
	             "unknown setting \"vendr\" in a pci rule (known: vendor, "
	             "device, class, subvendor, subdevice, driver, name, mode, "
	             "owner, group, user, args)");
	expect_error(one_rule("name = \"e%d\";"), 3,
	             "a pci rule has no \"driver\"");
	expect_error(one_rule("driver = \"../d\"; name = \"e%d\";"), 3,
	             "driver \"../d\" must be a bare file name");
	expect_error(one_rule("driver = \"d\"; name = \"edu\";"), 3,
	             "name \"edu\" must be [a-z0-9_-] with one \"%d\", at most "
	             "24 characters");
	expect_error(one_rule("driver = \"d\"; name = \"e%d%d\";"), 3,
	             "name \"e%d%d\" must be [a-z0-9_-] with one \"%d\", at "
	             "most 24 characters");
	expect_error(one_rule("driver = \"d\"; name = \"E%d\";"), 3,
	             "name \"E%d\" must be [a-z0-9_-] with one \"%d\", at most "
	             "24 characters");
	expect_error(one_rule("driver = \"d\"; name = \"e%s\";"), 3,
	             "name \"e%s\" must be [a-z0-9_-] with one \"%d\", at most "
	             "24 characters");
	expect_error(one_rule("driver = \"d\"; name = \"e%d\"; "
	                      "args = [ \"--io=pio\" ];"),
	             3,
	             "args: \"--io=pio\" sets --io, which ddmfs sets itself");
	expect_error(one_rule("driver = \"d\"; name = \"e%d\"; "
	                      "args = [ \"--vfio-fd=3,4,5\" ];"),
	             3,
	             "args: \"--vfio-fd=3,4,5\" sets --vfio-fd, which ddmfs "
	             "sets itself");
	expect_error("pci = (\n"
	             "  { driver = \"d\"; name = \"e%d\"; },\n"
	             "  { driver = \"f\"; name = \"e%d\"; } );\n",
	             3, "pci name \"e%d\" given twice (first at line 2)");
	expect_error("buses = ( { name = \"pci0\"; } );\n"
	             "pci = ( );\n",
	             2, "bus \"pci0\" (line 1) is the pci rules' bus");
}
END_TEST

START_TEST(test_conf_unbind_names_a_kernel_driver_for_granted_ports)
{
	struct conf *c = load_ok(
	        one_dev("name = \"rtc0\"; driver = \"d\"; io = \"pio\";\n"
	                "ports = [ \"0x70-0x71\" ]; unbind = \"rtc_cmos\";"));

	ck_assert_str_eq(c->buses[0].devices[0].unbind, "rtc_cmos");
	conf_free(c);
	c = load_ok(one_dev("name = \"rtc0\"; driver = \"d\"; io = \"pio\";"
	                    "ports = [ \"0x70\" ];"));
	ck_assert_str_eq(c->buses[0].devices[0].unbind, "");
	conf_free(c);
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = \"pio\";\n"
	                     "ports = [ \"0x70\" ]; unbind = \"../x\";"),
	             7,
	             "unbind \"../x\" is not a kernel driver name "
	             "([A-Za-z0-9_.-], at most 32)");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = \"pio\";\n"
	                     "ports = [ \"0x70\" ]; unbind = \"\";"),
	             7,
	             "unbind \"\" is not a kernel driver name "
	             "([A-Za-z0-9_.-], at most 32)");
	expect_error(one_dev("name = \"a\"; driver = \"d\";\n"
	                     "ports = [ \"0x70\" ]; unbind = \"rtc_cmos\";"),
	             7,
	             "unbind takes ports from a kernel driver: it needs io = "
	             "\"pio\" or \"devport\" and ports");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = \"pio\";\n"
	                     "unbind = \"rtc_cmos\";"),
	             7,
	             "unbind takes ports from a kernel driver: it needs io = "
	             "\"pio\" or \"devport\" and ports");
	expect_error(one_dev("name = \"a\"; driver = \"d\"; io = \"pio\";\n"
	                     "ports = [ \"0x70\" ]; unbind = 1;"),
	             7, "unbind must be a string");
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_conf_shipped_conf_loads_with_its_values);
	tcase_add_test(core, test_conf_rules_load_in_order_with_their_keys);
	tcase_add_test(core, test_conf_later_rule_overrides_an_earlier_key);
	tcase_add_test(core, test_conf_bad_rules_are_rejected);
	tcase_add_test(core, test_conf_full_conf_loads_ports_args_and_users);
	tcase_add_test(
	        core,
	        test_conf_numeric_user_without_passwd_entry_gets_same_gid);
	tcase_add_test(core,
	               test_conf_empty_file_is_an_empty_tree_with_defaults);
	tcase_add_test(core, test_conf_syntax_error_reports_libconfig_line);
	tcase_add_test(core, test_conf_duplicate_setting_is_a_parse_error);
	tcase_add_test(core,
	               test_conf_unknown_keys_are_reported_at_every_level);
	tcase_add_test(core, test_conf_wrong_types_are_reported);
	tcase_add_test(core,
	               test_conf_missing_required_keys_point_at_their_group);
	tcase_add_test(core, test_conf_bad_names_are_rejected);
	tcase_add_test(core, test_conf_duplicate_names_are_rejected);
	tcase_add_test(
	        core,
	        test_conf_nodes_of_a_device_take_its_defaults_and_their_own);
	tcase_add_test(core, test_conf_bad_nodes_are_rejected);
	tcase_add_test(core, test_conf_bad_modes_are_rejected);
	tcase_add_test(core, test_conf_unknown_users_and_groups_are_rejected);
	tcase_add_test(core, test_conf_bad_port_syntax_is_rejected);
	tcase_add_test(core, test_conf_overlapping_ports_name_both_devices);
	tcase_add_test(core, test_conf_adjacent_port_ranges_do_not_overlap);
	tcase_add_test(core, test_conf_relative_paths_are_rejected);
	tcase_add_test(core, test_conf_bad_transport_and_io_are_rejected);
	tcase_add_test(core, test_conf_missing_file_reports_strerror);
	tcase_add_test(
	        core,
	        test_conf_args_setting_ddmfs_options_are_refused_at_their_line);
	tcase_add_test(core, test_conf_args_only_resembling_ddmfs_options_load);
	tcase_add_test(core, test_conf_pci_rule_loads_ids_class_and_defaults);
	tcase_add_test(core, test_conf_empty_pci_list_still_makes_the_bus);
	tcase_add_test(core,
	               test_conf_bad_pci_rules_are_reported_at_their_line);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_conf_name_of_32_chars_loads_and_33_fails);
	tcase_add_test(limits, test_conf_port_0xffff_loads_and_0x10000_fails);
	tcase_add_test(limits, test_conf_eight_port_ranges_load_and_nine_fail);
	tcase_add_test(limits, test_conf_mode_07777_loads_and_010000_fails);
	tcase_add_test(limits, test_conf_binary_garbage_fails_cleanly);
	tcase_add_test(
	        limits,
	        test_conf_nul_byte_and_include_are_rejected_at_their_line);
	tcase_add_test(limits, test_conf_file_over_one_mib_is_refused);
	tcase_add_test(
	        limits,
	        test_conf_unbind_names_a_kernel_driver_for_granted_ports);
	tcase_add_test(
	        limits,
	        test_conf_a_bare_id_past_int32_is_refused_by_name_not_wrapped);
	tcase_add_test(
	        limits,
	        test_conf_error_is_truncated_to_errlen_or_skipped_if_null);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
