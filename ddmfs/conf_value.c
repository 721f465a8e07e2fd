/*
 * conf_value.c: the value parsers of the conf loader: bus and device
 * names, octal modes, users and groups (names or ids), I/O port ranges
 * with their overlap check across the whole conf, and the driver arguments
 * ddmfs reserves for itself.  conf.c walks the tree and calls these.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_value.h"
#include "ddm_proto.h"

#define PORT_MAX    0xffffu       /* highest I/O port */
#define ID_RESERVED 0xffffffffULL /* (uid_t)-1: not a valid id */
#define PW_BUF_SIZE 16384         /* buffer for getpwnam_r and friends */

/* Reads the name of a bus or device into buf, checked against [a-z0-9_-]. */
int
conf_get_name(struct conf_ld *l, const config_setting_t *grp, const char *what,
              char buf[CONF_NAME_MAX + 1], const config_setting_t **ret_s)
{
	const char *v;
	size_t n;
	int r;

	r = conf_get_str(l, grp, "name", what, ret_s, &v);
	if (r < 0)
		return r;
	n = strlen(v);
	if (n < 1 || n > CONF_NAME_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return conf_fail(l, *ret_s,
		                 "%s name \"%s\" must match [a-z0-9_-]{1,%d}",
		                 what, v, CONF_NAME_MAX);
	strcpy(buf, v);
	return 0;
}

/* Parses mode = "0644": octal digits only, at most 07777. */
int
conf_get_mode(struct conf_ld *l, const config_setting_t *grp, mode_t *ret)
{
	const config_setting_t *s = config_setting_get_member(grp, "mode");
	unsigned long m = 0;
	const char *v, *p;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_fail(
		        l, s,
		        "mode must be a string like \"0644\" (libconfig "
		        "has no octal numbers)");
	v = config_setting_get_string(s);
	for (p = v; *p >= '0' && *p <= '7' && m <= 07777; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (p == v || *p != '\0' || m > 07777)
		return conf_fail(
		        l, s, "mode \"%s\" is not an octal mode like \"0644\"",
		        v);
	*ret = (mode_t)m;
	return 0;
}

/*
 * Resolves v (a name or a decimal id) to a gid if group is set, else to a
 * uid and, if ret_gid, its primary gid (gid == uid for an id without a
 * passwd entry).  s is where to point an error at.
 */
int
conf_resolve_id(struct conf_ld *l, const config_setting_t *s, const char *v,
                int group, unsigned int *ret_id, gid_t *ret_gid)
{
	struct passwd pw, *pp = NULL;
	struct group gr, *gp = NULL;
	char buf[PW_BUF_SIZE];
	unsigned long long n = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '9' && n < ID_RESERVED; p++)
		n = n * 10 + (unsigned int)(*p - '0');
	if (p != v && *p == '\0' && n < ID_RESERVED) {
		if (!group)
			getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &pp);
		*ret_id = (unsigned int)n;
		if (ret_gid)
			*ret_gid = pp ? pp->pw_gid : (gid_t)n;
		return 0;
	}
	if (group) {
		if (getgrnam_r(v, &gr, buf, sizeof(buf), &gp) != 0 || !gp)
			return conf_fail(l, s, "unknown group \"%s\"", v);
		*ret_id = gp->gr_gid;
		return 0;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &pp) != 0 || !pp)
		return conf_fail(l, s, "unknown user \"%s\"", v);
	*ret_id = pp->pw_uid;
	if (ret_gid)
		*ret_gid = pp->pw_gid;
	return 0;
}

/* Resolves setting s, a string or an integer, as conf_resolve_id() does. */
int
conf_get_id(struct conf_ld *l, const config_setting_t *s, int group,
            unsigned int *ret_id, gid_t *ret_gid)
{
	char num[24];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		return conf_resolve_id(l, s, config_setting_get_string(s),
		                       group, ret_id, ret_gid);
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		/* libconfig wraps a bare 3000000000 to a negative int */
		if (config_setting_get_int64(s) < 0 ||
		    config_setting_get_int64(s) >= 0xffffffffLL)
			return conf_fail(
			        l, s,
			        "%s %lld is not a %s id (0 to "
			        "4294967294; write ids above 2147483647 "
			        "as strings, \"3000000000\")",
			        config_setting_name(s),
			        config_setting_get_int64(s),
			        group ? "group" : "user");
		snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
		return conf_resolve_id(l, s, num, group, ret_id, ret_gid);
	default:
		return conf_fail(l, s, "%s must be a %s name or number",
		                 config_setting_name(s),
		                 group ? "group" : "user");
	}
}

/* Resolves owner and group of grp, if present, into *uid and *gid. */
int
conf_get_owner_group(struct conf_ld *l, const config_setting_t *grp, uid_t *uid,
                     gid_t *gid)
{
	const config_setting_t *o = config_setting_get_member(grp, "owner");
	const config_setting_t *g = config_setting_get_member(grp, "group");
	int r = 0;

	if (o)
		r = conf_get_id(l, o, 0, uid, NULL);
	if (r == 0 && g)
		r = conf_get_id(l, g, 1, gid, NULL);
	return r;
}

/* Parses a port number, "0x" hex or decimal, at most PORT_MAX. */
static const char *
parse_port(const char *p, unsigned int *ret)
{
	unsigned int v = 0, base = 10, digits = 0, d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, digits++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			break;
		v = v * base + d;
		if (v > PORT_MAX)
			return NULL;
	}
	if (digits == 0)
		return NULL;
	*ret = v;
	return p;
}

/*
 * Checks range k of d against d's earlier ranges and every other device
 * loaded so far, in any bus (the counts already include d).
 */
static int
check_overlap(struct conf_ld *l, const config_setting_t *s,
              const struct conf_bus *bus, const struct conf_device *d,
              unsigned int k)
{
	const struct conf_ports *a = &d->ports[k], *b;
	const struct conf_bus *ob;
	const struct conf_device *od;
	unsigned int i, j, m;

	for (i = 0; i < l->c->n_buses; i++) {
		ob = &l->c->buses[i];
		for (j = 0; j < ob->n_devices; j++) {
			od = &ob->devices[j];
			for (m = 0; m < (od == d ? k : od->n_ports); m++) {
				b = &od->ports[m];
				if (a->base < b->base + b->len &&
				    b->base < a->base + a->len)
					goto overlap;
			}
		}
	}
	return 0;
overlap:
	if (a->len == 1)
		return conf_fail(l, s, "%s/%s ports 0x%x overlap %s/%s",
		                 bus->name, d->name, a->base, ob->name,
		                 od->name);
	return conf_fail(l, s, "%s/%s ports 0x%x-0x%x overlap %s/%s", bus->name,
	                 d->name, a->base, a->base + a->len - 1, ob->name,
	                 od->name);
}

/* Reads ports = [ "0x70-0x71", "0x378" ] into d. */
int
conf_get_ports(struct conf_ld *l, const config_setting_t *grp,
               struct conf_bus *bus, struct conf_device *d)
{
	const config_setting_t *s, *e;
	unsigned int lo, hi;
	const char *v, *p;
	int i, n, r;

	r = conf_get_list(l, grp, "ports", "strings", &s, &n);
	if (r < 0)
		return r;
	if (n > CONF_PORTS_MAX)
		return conf_fail(l, s,
		                 "ports has %d ranges, at most %d allowed", n,
		                 CONF_PORTS_MAX);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(l, e,
			                 "ports must be a list of strings");
		v = config_setting_get_string(e);
		p = parse_port(v, &lo);
		hi = lo;
		if (p && *p == '-')
			p = parse_port(p + 1, &hi);
		if (!p || *p != '\0' || hi < lo)
			return conf_fail(
			        l, e,
			        "bad port range \"%s\" (want \"0x70-0x71\" "
			        "or \"0x378\", up to 0xffff)",
			        v);
		d->ports[i].base = lo;
		d->ports[i].len = hi - lo + 1;
		d->n_ports++;
		r = check_overlap(l, e, bus, d, (unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Checks one extra driver argument: "--KEY" or "--KEY=..." for an option
 * ddmfs sets itself would override it (libdriver also refuses a repeated
 * option, so the driver would not start).
 */
int
conf_check_arg(struct conf_ld *l, const config_setting_t *s, const char *arg)
{
	const char *const *reserved = ddm_reserved_options;
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return 0;
	n = strcspn(arg + 2, "=");
	for (int i = 0; reserved[i] != NULL; i++)
		if (strlen(reserved[i]) == n &&
		    strncmp(arg + 2, reserved[i], n) == 0)
			return conf_fail(l, s,
			                 "args: \"%s\" sets --%s, which ddmfs "
			                 "sets itself",
			                 arg, reserved[i]);
	return 0;
}
