/*
 * conf.c: loads and checks ddmfs.conf (libconfig 1.5).
 *
 * Everything is checked before ddmfs touches anything: unknown keys, types,
 * names, modes, users, port syntax and overlaps.  The first problem is
 * reported as "FILE:LINE: message" with the line of the offending setting,
 * and the half-built conf is freed.  This file walks the tree and reports;
 * the value parsers are in conf_value.c.  The file is read into memory first
 * (libconfig's scanner exits the process on a read error), so @include is
 * refused.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_value.h"
#include "rules.h"

#define CONF_SIZE_MAX (1024 * 1024) /* largest conf file, bytes */
#define DRIVER_USER   "ddmfs" /* a system user of its own (./run makes it) */
#define DEF_MOUNT     "/ddm"
#define DEF_STATE_DIR "/var/lib/ddmfs"

static const char *const top_keys[] = {
	"mountpoint", "state_dir", "driver_path", "transport", "driver_user",
	"buses",      "pci",       "rules",       NULL
};
static const char *const bus_keys[] = { "name",  "mode",    "owner",
	                                "group", "devices", NULL };
static const char *const dev_keys[] = { "name", "driver", "io",    "ports",
	                                "mode", "owner",  "group", "user",
	                                "args", "nodes",  "spawn", "unbind",
	                                NULL };
static const char *const node_keys[] = { "name",  "kind",  "mode",
	                                 "owner", "group", NULL };
static const char *const pci_keys[] = {
	"vendor", "device", "class", "subvendor", "subdevice", "driver", "name",
	"mode",   "owner",  "group", "user",      "args",      NULL
};
static const char *const spawns[] = { "auto", "manual", NULL };
static const char *const transports[] = { "auto", "fuse", "cuse", NULL };
static const char *const ios[] = { "sim", "pio", "devport", NULL };

/* Writes "FILE:LINE: message" (or "FILE: message" if line is 0). */
static int
vfail(struct conf_ld *l, const char *file, unsigned int line, const char *fmt,
      va_list ap)
{
	int n;

	if (!l->err || l->errlen == 0)
		return -EINVAL;
	if (line)
		n = snprintf(l->err, l->errlen, "%s:%u: ", file, line);
	else
		n = snprintf(l->err, l->errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < l->errlen)
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

/* Reports a problem at line of the conf (0: the file as a whole). */
static int __attribute__((format(printf, 3, 4)))
fail_at(struct conf_ld *l, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(l, l->path, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports a problem at setting s (NULL: the file as a whole). */
int
conf_fail(struct conf_ld *l, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = l->path;
	unsigned int line = 0;
	va_list ap;

	if (s) {
		line = config_setting_source_line(s);
		if (config_setting_source_file(s))
			file = config_setting_source_file(s);
	}
	va_start(ap, fmt);
	vfail(l, file, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
nomem(struct conf_ld *l)
{
	conf_fail(l, NULL, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

static int
dup_str(struct conf_ld *l, const char *s, char **ret)
{
	char *d = strdup(s);

	if (!d)
		return nomem(l);
	*ret = d;
	return 0;
}

/* Returns the index of s in the NULL-terminated words, or -1. */
static int
find_word(const char *const *words, const char *s)
{
	int i;

	for (i = 0; words[i]; i++)
		if (strcmp(words[i], s) == 0)
			return i;
	return -1;
}

/* Joins words as "a, b, c" into buf, for messages. */
static const char *
join(const char *const *words, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; words[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
		                      words[i]);
	return buf;
}

static int
check_keys(struct conf_ld *l, const config_setting_t *grp,
           const char *const *keys, const char *what)
{
	int i, n = config_setting_length(grp);
	char list[160];

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, i);

		if (find_word(keys, config_setting_name(s)) < 0)
			return conf_fail(
			        l, s,
			        "unknown setting \"%s\" in %s (known: %s)",
			        config_setting_name(s), what,
			        join(keys, list, sizeof(list)));
	}
	return 0;
}

/*
 * Finds the string setting key in grp.  A missing optional one leaves *ret
 * and *ret_s untouched and returns 0.
 */
int
conf_get_str(struct conf_ld *l, const config_setting_t *grp, const char *key,
             const char *required_in, const config_setting_t **ret_s,
             const char **ret)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s) {
		if (required_in)
			return conf_fail(l, grp, "%s has no \"%s\"",
			                 required_in, key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_fail(l, s, "%s must be a string", key);
	if (ret_s)
		*ret_s = s;
	*ret = config_setting_get_string(s);
	return 0;
}

/* Reads key (default: the first choice) as an index into choices. */
static int
get_choice(struct conf_ld *l, const config_setting_t *grp, const char *key,
           const char *const *choices, int *ret)
{
	const config_setting_t *s = NULL;
	const char *v = choices[0];
	char list[64];
	int r;

	r = conf_get_str(l, grp, key, NULL, &s, &v);
	if (r < 0)
		return r;
	r = find_word(choices, v);
	if (r < 0)
		return conf_fail(l, s, "%s \"%s\" is not one of: %s", key, v,
		                 join(choices, list, sizeof(list)));
	*ret = r;
	return 0;
}

/* Finds the optional list (or array) key in grp; *ret_n is 0 if absent. */
int
conf_get_list(struct conf_ld *l, const config_setting_t *grp, const char *key,
              const char *what, const config_setting_t **ret_s, int *ret_n)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (s && config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return conf_fail(l, s, "%s must be a list of %s", key, what);
	*ret_s = s;
	*ret_n = s ? config_setting_length(s) : 0;
	return 0;
}

/*
 * Reads args = [ "--x", "y" ] into a NULL-terminated array (never NULL),
 * refusing any that set an option ddmfs passes itself.
 */
static int
get_args(struct conf_ld *l, const config_setting_t *grp, char ***ret)
{
	const config_setting_t *s, *e;
	char **args;
	int i, n, r;

	r = conf_get_list(l, grp, "args", "strings", &s, &n);
	if (r < 0)
		return r;
	args = calloc((size_t)n + 1, sizeof(*args));
	if (!args)
		return nomem(l);
	*ret = args; /* the caller frees it, even on failure */
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(l, e,
			                 "args must be a list of strings");
		r = conf_check_arg(l, e, config_setting_get_string(e));
		if (r == 0)
			r = dup_str(l, config_setting_get_string(e), &args[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The device of bus (loaded before d) that has a node named name, or NULL. */
static const struct conf_device *
node_owner(const struct conf_bus *bus, const struct conf_device *d,
           const char *name, unsigned int *ret_line)
{
	for (const struct conf_device *o = bus->devices; o != d; o++) {
		for (unsigned int i = 0; i < o->n_nodes; i++) {
			if (strcmp(o->nodes[i].name, name) == 0) {
				*ret_line = o->nodes[i].line;
				return o;
			}
		}
	}
	return NULL;
}

/* Refuses name, at s, if an earlier device of bus already has it. */
static int
check_node_free(struct conf_ld *l, const config_setting_t *s,
                const struct conf_bus *bus, const struct conf_device *d,
                const char *name)
{
	const struct conf_device *o;
	unsigned int line;

	o = node_owner(bus, d, name, &line);
	if (o == NULL)
		return 0;
	return conf_fail(l, s,
	                 "node \"%s/%s\" is already a node of device \"%s\" "
	                 "(line %u)",
	                 bus->name, name, o->name, line);
}

/* Reads one { name = ...; } of nodes into n (defaults from d). */
static int
load_node(struct conf_ld *l, const config_setting_t *grp,
          const struct conf_bus *bus, const struct conf_device *d,
          struct conf_node *n)
{
	const config_setting_t *s = NULL;
	const char *v = NULL;
	int r;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return conf_fail(l, grp,
		                 "nodes must be a list of { ... } groups");
	*n = (struct conf_node){ .mode = d->mode,
		                 .uid = d->uid,
		                 .gid = d->gid,
		                 .line = config_setting_source_line(grp) };
	r = check_keys(l, grp, node_keys, "a node");
	if (r == 0)
		r = conf_get_name(l, grp, "node", n->name, &s);
	if (r < 0)
		return r;
	for (const struct conf_node *m = d->nodes; m != n; m++)
		if (strcmp(m->name, n->name) == 0)
			return conf_fail(l, s,
			                 "node \"%s\" given twice in device "
			                 "\"%s/%s\" (first at line %u)",
			                 n->name, bus->name, d->name, m->line);
	r = check_node_free(l, s, bus, d, n->name);
	if (r == 0)
		r = conf_get_str(l, grp, "kind", NULL, &s, &v);
	if (r < 0)
		return r;
	if (v != NULL) {
		if (strlen(v) > CONF_NAME_MAX ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
		            strlen(v) ||
		    v[0] == '\0')
			return conf_fail(l, s,
			                 "kind \"%s\" must be 1 to %d of "
			                 "[a-z0-9_-]",
			                 v, CONF_NAME_MAX);
		snprintf(n->kind, sizeof(n->kind), "%s", v);
	}
	r = conf_get_mode(l, grp, &n->mode);
	if (r == 0)
		r = conf_get_owner_group(l, grp, &n->uid, &n->gid);
	return r;
}

/*
 * Reads nodes = ( { name = "rtc0"; }, ... ) of device d, or makes the one
 * default node named after d.
 */
static int
get_nodes(struct conf_ld *l, const config_setting_t *grp,
          const struct conf_bus *bus, struct conf_device *d)
{
	const config_setting_t *s = NULL;
	int r, n = 0;

	r = conf_get_list(l, grp, "nodes", "{ ... } groups", &s, &n);
	if (r < 0)
		return r;
	if (s != NULL && n == 0)
		return conf_fail(l, s, "nodes must name at least one node");
	if (n > CONF_NODES_MAX)
		return conf_fail(l, s, "a device has at most %d nodes",
		                 CONF_NODES_MAX);
	d->nodes = calloc(n > 0 ? (size_t)n : 1, sizeof(*d->nodes));
	if (d->nodes == NULL)
		return nomem(l);
	if (n == 0) {
		r = check_node_free(l, grp, bus, d, d->name);
		if (r < 0)
			return r;
		d->nodes[0] = (struct conf_node){ .mode = d->mode,
			                          .uid = d->uid,
			                          .gid = d->gid,
			                          .line = d->line };
		snprintf(d->nodes[0].name, sizeof(d->nodes[0].name), "%s",
		         d->name);
		d->n_nodes = 1;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		r = load_node(l, config_setting_get_elem(s, i), bus, d,
		              &d->nodes[i]);
		if (r < 0)
			return r;
		d->n_nodes++;
	}
	return 0;
}

static int
check_driver_name(struct conf_ld *l, const config_setting_t *s, const char *v)
{
	if (v[0] == '\0' || strchr(v, '/') || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return conf_fail(l, s, "driver \"%s\" must be a bare file name",
		                 v);
	return 0;
}

/*
 * Reads unbind = "rtc_cmos", the kernel driver to take d's ports from
 * (ioports.h): a kernel driver name, and only where ports are granted.
 */
static int
get_unbind(struct conf_ld *l, const config_setting_t *grp,
           struct conf_device *d)
{
	const config_setting_t *s = NULL;
	const char *v = NULL;
	int r;

	r = conf_get_str(l, grp, "unbind", NULL, &s, &v);
	if (r < 0 || v == NULL)
		return r;
	if (v[0] == '\0' || v[0] == '.' || strlen(v) > CONF_NAME_MAX ||
	    v[strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] != '\0')
		return conf_fail(l, s,
		                 "unbind \"%s\" is not a kernel driver name "
		                 "([A-Za-z0-9_.-], at most %d)",
		                 v, CONF_NAME_MAX);
	if (strcmp(d->io, "sim") == 0 || d->n_ports == 0)
		return conf_fail(l, s,
		                 "unbind takes ports from a kernel driver: it "
		                 "needs io = \"pio\" or \"devport\" and ports");
	snprintf(d->unbind, sizeof(d->unbind), "%s", v);
	return 0;
}

static int
load_device(struct conf_ld *l, const config_setting_t *grp,
            struct conf_bus *bus, struct conf_device *d)
{
	const config_setting_t *s = NULL;
	char what[2 * CONF_NAME_MAX + 16];
	const char *v;
	unsigned int i;
	int r, io = 0;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return conf_fail(l, grp,
		                 "devices must be a list of { ... } groups");
	d->line = config_setting_source_line(grp);
	d->mode = 0600;
	d->run_uid = l->c->driver_uid;
	d->run_gid = l->c->driver_gid;
	r = check_keys(l, grp, dev_keys, "a device");
	if (r == 0)
		r = conf_get_name(l, grp, "device", d->name, &s);
	if (r < 0)
		return r;
	for (i = 0; &bus->devices[i] != d; i++)
		if (strcmp(bus->devices[i].name, d->name) == 0)
			return conf_fail(
			        l, s,
			        "duplicate device name \"%s/%s\" (first at "
			        "line %u)",
			        bus->name, d->name, bus->devices[i].line);
	snprintf(what, sizeof(what), "device \"%s/%s\"", bus->name, d->name);
	r = conf_get_str(l, grp, "driver", what, &s, &v);
	if (r < 0)
		return r;
	r = check_driver_name(l, s, v);
	if (r == 0)
		r = dup_str(l, v, &d->driver);
	if (r == 0)
		r = get_choice(l, grp, "io", ios, &io);
	if (r == 0)
		r = dup_str(l, ios[io], &d->io);
	if (r == 0)
		r = conf_get_mode(l, grp, &d->mode);
	if (r == 0)
		r = conf_get_owner_group(l, grp, &d->uid, &d->gid);
	if (r < 0)
		return r;
	s = config_setting_get_member(grp, "user");
	if (s) {
		r = conf_get_id(l, s, 0, &d->run_uid, &d->run_gid);
		if (r < 0)
			return r;
	}
	r = conf_get_ports(l, grp, bus, d);
	if (r == 0)
		r = get_unbind(l, grp, d);
	if (r == 0)
		r = get_choice(l, grp, "spawn", spawns, &d->manual);
	if (r == 0)
		r = get_args(l, grp, &d->args);
	if (r == 0)
		r = get_nodes(l, grp, bus, d);
	return r;
}

static int
load_bus(struct conf_ld *l, const config_setting_t *grp, struct conf_bus *bus)
{
	const config_setting_t *s = NULL, *devs = NULL;
	unsigned int i;
	int r, n = 0;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return conf_fail(l, grp,
		                 "buses must be a list of { ... } groups");
	bus->line = config_setting_source_line(grp);
	bus->mode = 0755;
	r = check_keys(l, grp, bus_keys, "a bus");
	if (r == 0)
		r = conf_get_name(l, grp, "bus", bus->name, &s);
	if (r < 0)
		return r;
	for (i = 0; &l->c->buses[i] != bus; i++)
		if (strcmp(l->c->buses[i].name, bus->name) == 0)
			return conf_fail(
			        l, s,
			        "duplicate bus name \"%s\" (first at line %u)",
			        bus->name, l->c->buses[i].line);
	r = conf_get_mode(l, grp, &bus->mode);
	if (r == 0)
		r = conf_get_owner_group(l, grp, &bus->uid, &bus->gid);
	if (r == 0)
		r = conf_get_list(l, grp, "devices", "{ ... } groups", &devs,
		                  &n);
	if (r < 0 || n == 0)
		return r;
	bus->devices = calloc((size_t)n, sizeof(*bus->devices));
	if (!bus->devices)
		return nomem(l);
	for (i = 0; i < (unsigned int)n; i++) {
		bus->n_devices++; /* counted first: freed even on failure */
		r = load_device(l, config_setting_get_elem(devs, i), bus,
		                &bus->devices[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Reads the optional hex id key of a pci rule ("*", or up to digits hex
 * digits without 0x) into *ret, and how many digits were given into
 * *ret_digits.
 */
static int
get_pci_id(struct conf_ld *l, const config_setting_t *grp, const char *key,
           int digits, int *ret, int *ret_digits)
{
	const config_setting_t *s = NULL;
	const char *v = "*";
	size_t n;
	int r;

	r = conf_get_str(l, grp, key, NULL, &s, &v);
	if (r < 0)
		return r;
	if (strcmp(v, "*") == 0) {
		*ret = CONF_PCI_ANY;
		return 0;
	}
	n = strlen(v);
	if (n == 0 || n > (size_t)digits ||
	    strspn(v, "0123456789abcdefABCDEF") != n)
		return conf_fail(l, s,
		                 "%s \"%s\" must be \"*\" or 1 to %d hex "
		                 "digits",
		                 key, v, digits);
	*ret = (int)strtol(v, NULL, 16);
	if (ret_digits)
		*ret_digits = (int)n;
	return 0;
}

/* Checks a pci rule's name pattern: [a-z0-9_-] around exactly one "%d". */
static int
check_pattern(struct conf_ld *l, const config_setting_t *s, const char *v)
{
	const char *p = strstr(v, "%d");
	size_t n = strlen(v);
	char rest[CONF_NAME_MAX + 1];

	if (p == NULL || strchr(p + 2, '%') || strchr(v, '%') != p ||
	    n > CONF_NAME_MAX - 8)
		goto bad;
	snprintf(rest, sizeof(rest), "%.*s%s", (int)(p - v), v, p + 2);
	if (strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
	    strlen(rest))
		goto bad;
	return 0;
bad:
	return conf_fail(l, s,
	                 "name \"%s\" must be [a-z0-9_-] with one \"%%d\", "
	                 "at most %d characters",
	                 v, CONF_NAME_MAX - 8);
}

/* Reads one { vendor = ...; driver = ...; name = ...; } of pci into r. */
static int
load_pci_rule(struct conf_ld *l, const config_setting_t *grp,
              struct conf_pci_rule *pr)
{
	const config_setting_t *s = NULL;
	const char *v = NULL;
	int r, digits = 0;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return conf_fail(l, grp,
		                 "pci must be a list of { ... } groups");
	pr->line = config_setting_source_line(grp);
	pr->mode = 0600;
	pr->run_uid = l->c->driver_uid;
	pr->run_gid = l->c->driver_gid;
	r = check_keys(l, grp, pci_keys, "a pci rule");
	if (r == 0)
		r = get_pci_id(l, grp, "vendor", 4, &pr->vendor, NULL);
	if (r == 0)
		r = get_pci_id(l, grp, "device", 4, &pr->device, NULL);
	if (r == 0)
		r = get_pci_id(l, grp, "subvendor", 4, &pr->subvendor, NULL);
	if (r == 0)
		r = get_pci_id(l, grp, "subdevice", 4, &pr->subdevice, NULL);
	if (r == 0)
		r = get_pci_id(l, grp, "class", 6, &pr->class, &digits);
	if (r < 0)
		return r;
	if (pr->class != CONF_PCI_ANY) {
		s = config_setting_get_member(grp, "class");
		if (digits % 2 != 0)
			return conf_fail(l, s,
			                 "class \"%s\" must be 2, 4 or 6 hex "
			                 "digits (class, subclass, interface)",
			                 config_setting_get_string(s));
		pr->class_mask = 0xffffffu << (24 - 4 * digits) & 0xffffffu;
		pr->class <<= 24 - 4 * digits;
	}
	r = conf_get_str(l, grp, "driver", "a pci rule", &s, &v);
	if (r == 0)
		r = check_driver_name(l, s, v);
	if (r == 0)
		r = dup_str(l, v, &pr->driver);
	if (r == 0)
		r = conf_get_str(l, grp, "name", "a pci rule", &s, &v);
	if (r == 0)
		r = check_pattern(l, s, v);
	if (r < 0)
		return r;
	snprintf(pr->name, sizeof(pr->name), "%s", v);
	r = conf_get_mode(l, grp, &pr->mode);
	if (r == 0)
		r = conf_get_owner_group(l, grp, &pr->uid, &pr->gid);
	if (r < 0)
		return r;
	s = config_setting_get_member(grp, "user");
	if (s) {
		r = conf_get_id(l, s, 0, &pr->run_uid, &pr->run_gid);
		if (r < 0)
			return r;
	}
	return get_args(l, grp, &pr->args);
}

/* Reads the top-level pci = ( ... ) list, if any. */
static int
load_pci(struct conf_ld *l, const config_setting_t *root)
{
	struct conf *c = l->c;
	const config_setting_t *list = NULL;
	int r, n = 0;

	r = conf_get_list(l, root, "pci", "{ ... } groups", &list, &n);
	if (r < 0 || list == NULL)
		return r;
	c->has_pci = 1;
	for (unsigned int i = 0; i < c->n_buses; i++)
		if (strcmp(c->buses[i].name, CONF_PCI_BUS) == 0)
			return conf_fail(l, list,
			                 "bus \"%s\" (line %u) is the pci "
			                 "rules' bus",
			                 CONF_PCI_BUS, c->buses[i].line);
	if (n == 0)
		return 0;
	c->pci = calloc((size_t)n, sizeof(*c->pci));
	if (!c->pci)
		return nomem(l);
	for (unsigned int i = 0; i < (unsigned int)n; i++) {
		c->n_pci++; /* counted first: freed even on failure */
		r = load_pci_rule(l, config_setting_get_elem(list, i),
		                  &c->pci[i]);
		if (r < 0)
			return r;
	}
	for (unsigned int i = 0; i < c->n_pci; i++)
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c->pci[i].name, c->pci[j].name) == 0)
				return conf_fail(
				        l, config_setting_get_elem(list, i),
				        "pci name \"%s\" given twice (first at "
				        "line %u)",
				        c->pci[i].name, c->pci[j].line);
	return 0;
}

/* Reads an optional absolute path setting, or keeps def. */
static int
get_abs_path(struct conf_ld *l, const config_setting_t *root, const char *key,
             const char *def, char **ret)
{
	const config_setting_t *s = NULL;
	const char *v = def;
	int r;

	r = conf_get_str(l, root, key, NULL, &s, &v);
	if (r < 0)
		return r;
	if (v[0] != '/')
		return conf_fail(l, s, "%s \"%s\" must be an absolute path",
		                 key, v);
	return dup_str(l, v, ret);
}

static int
load_top(struct conf_ld *l, const config_setting_t *root)
{
	struct conf *c = l->c;
	const config_setting_t *s, *buses = NULL;
	const char *v = NULL;
	unsigned int i;
	int r, n = 0, t = 0;

	r = check_keys(l, root, top_keys, "the top level");
	if (r == 0)
		r = get_abs_path(l, root, "mountpoint", DEF_MOUNT,
		                 &c->mountpoint);
	if (r == 0)
		r = get_abs_path(l, root, "state_dir", DEF_STATE_DIR,
		                 &c->state_dir);
	if (r == 0)
		r = conf_get_str(l, root, "driver_path", NULL, NULL, &v);
	if (r == 0 && v)
		r = dup_str(l, v, &c->driver_path);
	if (r == 0)
		r = get_choice(l, root, "transport", transports, &t);
	if (r < 0)
		return r;
	c->transport = (enum conf_transport)t;
	s = config_setting_get_member(root, "driver_user");
	if (s)
		r = conf_get_id(l, s, 0, &c->driver_uid, &c->driver_gid);
	else
		r = conf_resolve_id(l, NULL, DRIVER_USER, 0, &c->driver_uid,
		                    &c->driver_gid);
	if (r == 0)
		r = conf_get_list(l, root, "buses", "{ ... } groups", &buses,
		                  &n);
	if (r < 0)
		return r;
	if (n > 0) {
		c->buses = calloc((size_t)n, sizeof(*c->buses));
		if (!c->buses)
			return nomem(l);
	}
	for (i = 0; i < (unsigned int)n; i++) {
		c->n_buses++; /* counted first: freed even on failure */
		r = load_bus(l, config_setting_get_elem(buses, i),
		             &c->buses[i]);
		if (r < 0)
			return r;
	}
	r = load_pci(l, root);
	if (r == 0)
		r = rules_load(l, root);
	return r;
}

/* Refuses what libconfig must not see: NUL bytes and @include lines. */
static int
check_text(struct conf_ld *l, const char *buf, size_t len)
{
	const char *p, *end = buf + len, *eol;
	unsigned int line = 1;

	for (p = buf; p < end; p = eol + 1, line++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (memchr(p, '\0', (size_t)(eol - p)))
			return fail_at(l, line, "NUL byte in the text");
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0)
			return fail_at(l, line, "@include is not supported");
	}
	return 0;
}

/*
 * Reads the whole file, at most CONF_SIZE_MAX bytes, as a string.  libconfig
 * then parses it from memory: its flex scanner exits the process on a read
 * error, so it must never read a file itself (hence no @include either).
 */
static int
read_text(struct conf_ld *l, char **ret)
{
	size_t n;
	char *buf;
	FILE *f;
	int r;

	f = fopen(l->path, "re");
	if (!f) {
		r = -errno;
		goto report;
	}
	buf = malloc(CONF_SIZE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto close_file;
	}
	n = fread(buf, 1, CONF_SIZE_MAX + 1, f);
	if (ferror(f))
		r = errno ? -errno : -EIO;
	else
		r = n > CONF_SIZE_MAX ? -EFBIG : 0;
	if (r < 0)
		goto free_buf;
	fclose(f);
	buf[n] = '\0';
	r = check_text(l, buf, n);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;

free_buf:
	free(buf);
close_file:
	fclose(f);
report:
	fail_at(l, 0, "%s", strerror(-r));
	return r;
}

int
conf_load(const char *path, struct conf **ret, char *err, size_t errlen)
{
	struct conf_ld l = { .path = path, .err = err, .errlen = errlen };
	config_t cfg;
	char *text = NULL;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = read_text(&l, &text);
	if (r < 0)
		return r;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		r = fail_at(&l, (unsigned int)config_error_line(&cfg), "%s",
		            config_error_text(&cfg));
		goto destroy_cfg;
	}
	l.c = calloc(1, sizeof(*l.c));
	if (!l.c) {
		r = nomem(&l);
		goto destroy_cfg;
	}
	r = dup_str(&l, path, &l.c->file);
	if (r == 0)
		r = load_top(&l, config_root_setting(&cfg));
	if (r < 0)
		goto free_conf;
	config_destroy(&cfg);
	free(text);
	*ret = l.c;
	return 0;

free_conf:
	conf_free(l.c);
destroy_cfg:
	config_destroy(&cfg);
	free(text);
	return r;
}

void
conf_free(struct conf *c)
{
	unsigned int i, j;
	char **a;

	if (!c)
		return;
	for (i = 0; i < c->n_buses; i++) {
		struct conf_bus *b = &c->buses[i];

		for (j = 0; j < b->n_devices; j++) {
			struct conf_device *d = &b->devices[j];

			free(d->driver);
			free(d->io);
			for (a = d->args; a && *a; a++)
				free(*a);
			free(d->args);
			free(d->nodes);
		}
		free(b->devices);
	}
	free(c->buses);
	for (i = 0; i < c->n_pci; i++) {
		free(c->pci[i].driver);
		for (a = c->pci[i].args; a && *a; a++)
			free(*a);
		free(c->pci[i].args);
	}
	free(c->pci);
	rules_free(c);
	free(c->file);
	free(c->mountpoint);
	free(c->state_dir);
	free(c->driver_path);
	free(c);
}
