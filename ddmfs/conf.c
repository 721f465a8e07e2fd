/*
 * conf.c: loads and checks ddmfs.conf (libconfig 1.5).
 *
 * Everything is checked before ddmfs touches anything: unknown keys, types,
 * names, modes, users, port syntax and overlaps.  The first problem is
 * reported as "FILE:LINE: message" with the line of the offending setting,
 * and the half-built conf is freed.  The file is read into memory first
 * (libconfig's scanner exits the process on a read error), so @include is
 * refused.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"

#define CONF_SIZE_MAX (1024 * 1024) /* largest conf file, bytes */
#define PORT_MAX      0xffffu       /* highest I/O port */
#define ID_RESERVED   0xffffffffULL /* (uid_t)-1: not a valid id */
#define PW_BUF_SIZE   16384         /* buffer for getpwnam_r and friends */
#define DRIVER_USER   "nobody"
#define DEF_MOUNT     "/ddm"
#define DEF_STATE_DIR "/var/lib/ddmfs"

/* One load in progress. */
struct ld {
	const char *path;
	char *err;
	size_t errlen;
	struct conf *c;
};

static const char *const top_keys[] = { "mountpoint",  "state_dir",
	                                "driver_path", "transport",
	                                "driver_user", "buses",
	                                NULL };
static const char *const bus_keys[] = { "name",  "mode",    "owner",
	                                "group", "devices", NULL };
static const char *const dev_keys[] = { "name", "driver", "io",    "ports",
	                                "mode", "owner",  "group", "user",
	                                "args", NULL };
static const char *const transports[] = { "auto", "fuse", "cuse", NULL };
static const char *const ios[] = { "sim", "pio", "devport", NULL };

/* Writes "FILE:LINE: message" (or "FILE: message" if line is 0). */
static int
vfail(struct ld *l, const char *file, unsigned int line, const char *fmt,
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
fail_at(struct ld *l, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(l, l->path, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports a problem at setting s (NULL: the file as a whole). */
static int __attribute__((format(printf, 3, 4)))
fail(struct ld *l, const config_setting_t *s, const char *fmt, ...)
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
nomem(struct ld *l)
{
	fail(l, NULL, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

static int
dup_str(struct ld *l, const char *s, char **ret)
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
check_keys(struct ld *l, const config_setting_t *grp, const char *const *keys,
           const char *what)
{
	int i, n = config_setting_length(grp);
	char list[160];

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, i);

		if (find_word(keys, config_setting_name(s)) < 0)
			return fail(l, s,
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
static int
get_str(struct ld *l, const config_setting_t *grp, const char *key,
        const char *required_in, const config_setting_t **ret_s,
        const char **ret)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s) {
		if (required_in)
			return fail(l, grp, "%s has no \"%s\"", required_in,
			            key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(l, s, "%s must be a string", key);
	if (ret_s)
		*ret_s = s;
	*ret = config_setting_get_string(s);
	return 0;
}

/* Reads key (default: the first choice) as an index into choices. */
static int
get_choice(struct ld *l, const config_setting_t *grp, const char *key,
           const char *const *choices, int *ret)
{
	const config_setting_t *s = NULL;
	const char *v = choices[0];
	char list[64];
	int r;

	r = get_str(l, grp, key, NULL, &s, &v);
	if (r < 0)
		return r;
	r = find_word(choices, v);
	if (r < 0)
		return fail(l, s, "%s \"%s\" is not one of: %s", key, v,
		            join(choices, list, sizeof(list)));
	*ret = r;
	return 0;
}

/* Finds the optional list (or array) key in grp; *ret_n is 0 if absent. */
static int
get_list(struct ld *l, const config_setting_t *grp, const char *key,
         const char *what, const config_setting_t **ret_s, int *ret_n)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	*ret_s = s;
	*ret_n = 0;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(l, s, "%s must be a list of %s", key, what);
	*ret_n = config_setting_length(s);
	return 0;
}

/* Reads the name of a bus or device into buf, checked against [a-z0-9_-]. */
static int
get_name(struct ld *l, const config_setting_t *grp, const char *what,
         char buf[CONF_NAME_MAX + 1], const config_setting_t **ret_s)
{
	const char *v;
	size_t n;
	int r;

	r = get_str(l, grp, "name", what, ret_s, &v);
	if (r < 0)
		return r;
	n = strlen(v);
	if (n < 1 || n > CONF_NAME_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return fail(l, *ret_s,
		            "%s name \"%s\" must match [a-z0-9_-]{1,%d}", what,
		            v, CONF_NAME_MAX);
	strcpy(buf, v);
	return 0;
}

/* Parses mode = "0644": octal digits only, at most 07777. */
static int
get_mode(struct ld *l, const config_setting_t *grp, mode_t *ret)
{
	const config_setting_t *s = config_setting_get_member(grp, "mode");
	unsigned long m = 0;
	const char *v, *p;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(l, s,
		            "mode must be a string like \"0644\" (libconfig "
		            "has no octal numbers)");
	v = config_setting_get_string(s);
	for (p = v; *p >= '0' && *p <= '7' && m <= 07777; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (p == v || *p != '\0' || m > 07777)
		return fail(l, s,
		            "mode \"%s\" is not an octal mode like \"0644\"",
		            v);
	*ret = (mode_t)m;
	return 0;
}

/*
 * Resolves v (a name or a decimal id) to a gid if group is set, else to a
 * uid and, if ret_gid, its primary gid (gid == uid for an id without a
 * passwd entry).  s is where to point an error at.
 */
static int
resolve_id(struct ld *l, const config_setting_t *s, const char *v, int group,
           unsigned int *ret_id, gid_t *ret_gid)
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
			return fail(l, s, "unknown group \"%s\"", v);
		*ret_id = gp->gr_gid;
		return 0;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &pp) != 0 || !pp)
		return fail(l, s, "unknown user \"%s\"", v);
	*ret_id = pp->pw_uid;
	if (ret_gid)
		*ret_gid = pp->pw_gid;
	return 0;
}

/* Resolves setting s, a string or an integer, as resolve_id() does. */
static int
get_id(struct ld *l, const config_setting_t *s, int group, unsigned int *ret_id,
       gid_t *ret_gid)
{
	char num[24];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		return resolve_id(l, s, config_setting_get_string(s), group,
		                  ret_id, ret_gid);
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
		return resolve_id(l, s, num, group, ret_id, ret_gid);
	default:
		return fail(l, s, "%s must be a %s name or number",
		            config_setting_name(s), group ? "group" : "user");
	}
}

/* Resolves owner and group of grp, if present, into *uid and *gid. */
static int
get_owner_group(struct ld *l, const config_setting_t *grp, uid_t *uid,
                gid_t *gid)
{
	const config_setting_t *o = config_setting_get_member(grp, "owner");
	const config_setting_t *g = config_setting_get_member(grp, "group");
	int r = 0;

	if (o)
		r = get_id(l, o, 0, uid, NULL);
	if (r == 0 && g)
		r = get_id(l, g, 1, gid, NULL);
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
check_overlap(struct ld *l, const config_setting_t *s,
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
		return fail(l, s, "%s/%s ports 0x%x overlap %s/%s", bus->name,
		            d->name, a->base, ob->name, od->name);
	return fail(l, s, "%s/%s ports 0x%x-0x%x overlap %s/%s", bus->name,
	            d->name, a->base, a->base + a->len - 1, ob->name, od->name);
}

/* Reads ports = [ "0x70-0x71", "0x378" ] into d. */
static int
get_ports(struct ld *l, const config_setting_t *grp, struct conf_bus *bus,
          struct conf_device *d)
{
	const config_setting_t *s, *e;
	unsigned int lo, hi;
	const char *v, *p;
	int i, n, r;

	r = get_list(l, grp, "ports", "strings", &s, &n);
	if (r < 0)
		return r;
	if (n > CONF_PORTS_MAX)
		return fail(l, s, "ports has %d ranges, at most %d allowed", n,
		            CONF_PORTS_MAX);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(l, e, "ports must be a list of strings");
		v = config_setting_get_string(e);
		p = parse_port(v, &lo);
		hi = lo;
		if (p && *p == '-')
			p = parse_port(p + 1, &hi);
		if (!p || *p != '\0' || hi < lo)
			return fail(l, e,
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

/* Reads args = [ "--x", "y" ] into a NULL-terminated array (never NULL). */
static int
get_args(struct ld *l, const config_setting_t *grp, struct conf_device *d)
{
	const config_setting_t *s, *e;
	int i, n, r;

	r = get_list(l, grp, "args", "strings", &s, &n);
	if (r < 0)
		return r;
	d->args = calloc((size_t)n + 1, sizeof(*d->args));
	if (!d->args)
		return nomem(l);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(l, e, "args must be a list of strings");
		r = dup_str(l, config_setting_get_string(e), &d->args[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
load_device(struct ld *l, const config_setting_t *grp, struct conf_bus *bus,
            struct conf_device *d)
{
	const config_setting_t *s = NULL;
	char what[2 * CONF_NAME_MAX + 16];
	const char *v;
	unsigned int i;
	int r, io = 0;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return fail(l, grp, "devices must be a list of { ... } groups");
	d->line = config_setting_source_line(grp);
	d->mode = 0600;
	d->run_uid = l->c->driver_uid;
	d->run_gid = l->c->driver_gid;
	r = check_keys(l, grp, dev_keys, "a device");
	if (r == 0)
		r = get_name(l, grp, "device", d->name, &s);
	if (r < 0)
		return r;
	for (i = 0; &bus->devices[i] != d; i++)
		if (strcmp(bus->devices[i].name, d->name) == 0)
			return fail(l, s,
			            "duplicate device name \"%s/%s\" (first at "
			            "line %u)",
			            bus->name, d->name, bus->devices[i].line);
	snprintf(what, sizeof(what), "device \"%s/%s\"", bus->name, d->name);
	r = get_str(l, grp, "driver", what, &s, &v);
	if (r < 0)
		return r;
	if (v[0] == '\0' || strchr(v, '/') || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return fail(l, s, "driver \"%s\" must be a bare file name", v);
	r = dup_str(l, v, &d->driver);
	if (r == 0)
		r = get_choice(l, grp, "io", ios, &io);
	if (r == 0)
		r = dup_str(l, ios[io], &d->io);
	if (r == 0)
		r = get_mode(l, grp, &d->mode);
	if (r == 0)
		r = get_owner_group(l, grp, &d->uid, &d->gid);
	if (r < 0)
		return r;
	s = config_setting_get_member(grp, "user");
	if (s) {
		r = get_id(l, s, 0, &d->run_uid, &d->run_gid);
		if (r < 0)
			return r;
	}
	r = get_ports(l, grp, bus, d);
	if (r < 0)
		return r;
	return get_args(l, grp, d);
}

static int
load_bus(struct ld *l, const config_setting_t *grp, struct conf_bus *bus)
{
	const config_setting_t *s = NULL, *devs = NULL;
	unsigned int i;
	int r, n = 0;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return fail(l, grp, "buses must be a list of { ... } groups");
	bus->line = config_setting_source_line(grp);
	bus->mode = 0755;
	r = check_keys(l, grp, bus_keys, "a bus");
	if (r == 0)
		r = get_name(l, grp, "bus", bus->name, &s);
	if (r < 0)
		return r;
	for (i = 0; &l->c->buses[i] != bus; i++)
		if (strcmp(l->c->buses[i].name, bus->name) == 0)
			return fail(
			        l, s,
			        "duplicate bus name \"%s\" (first at line %u)",
			        bus->name, l->c->buses[i].line);
	r = get_mode(l, grp, &bus->mode);
	if (r == 0)
		r = get_owner_group(l, grp, &bus->uid, &bus->gid);
	if (r == 0)
		r = get_list(l, grp, "devices", "{ ... } groups", &devs, &n);
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

/* Reads an optional absolute path setting, or keeps def. */
static int
get_abs_path(struct ld *l, const config_setting_t *root, const char *key,
             const char *def, char **ret)
{
	const config_setting_t *s = NULL;
	const char *v = def;
	int r;

	r = get_str(l, root, key, NULL, &s, &v);
	if (r < 0)
		return r;
	if (v[0] != '/')
		return fail(l, s, "%s \"%s\" must be an absolute path", key, v);
	return dup_str(l, v, ret);
}

static int
load_top(struct ld *l, const config_setting_t *root)
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
		r = get_str(l, root, "driver_path", NULL, NULL, &v);
	if (r == 0 && v)
		r = dup_str(l, v, &c->driver_path);
	if (r == 0)
		r = get_choice(l, root, "transport", transports, &t);
	if (r < 0)
		return r;
	c->transport = (enum conf_transport)t;
	s = config_setting_get_member(root, "driver_user");
	if (s)
		r = get_id(l, s, 0, &c->driver_uid, &c->driver_gid);
	else
		r = resolve_id(l, NULL, DRIVER_USER, 0, &c->driver_uid,
		               &c->driver_gid);
	if (r == 0)
		r = get_list(l, root, "buses", "{ ... } groups", &buses, &n);
	if (r < 0 || n == 0)
		return r;
	c->buses = calloc((size_t)n, sizeof(*c->buses));
	if (!c->buses)
		return nomem(l);
	for (i = 0; i < (unsigned int)n; i++) {
		c->n_buses++; /* counted first: freed even on failure */
		r = load_bus(l, config_setting_get_elem(buses, i),
		             &c->buses[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Refuses what libconfig must not see: NUL bytes and @include lines. */
static int
check_text(struct ld *l, const char *buf, size_t len)
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
read_text(struct ld *l, char **ret)
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
	struct ld l = { .path = path, .err = err, .errlen = errlen };
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
		}
		free(b->devices);
	}
	free(c->buses);
	free(c->file);
	free(c->mountpoint);
	free(c->state_dir);
	free(c->driver_path);
	free(c);
}
