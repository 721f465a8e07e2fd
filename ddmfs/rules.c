/*
 * rules.c: the conf's rules, loaded and applied to nodes (rules.h).
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static const char *const rule_keys[] = { "path",  "mode", "owner",
	                                 "group", "acl",  NULL };

bool
rules_glob_ok(const char *g)
{
	bool in_class = false, part_empty = true;

	if (*g == '\0' || *g == '/')
		return false;
	for (const char *p = g; *p != '\0'; p++) {
		if (in_class) {
			if (*p == ']' && p[-1] != '[' && p[-1] != '!')
				in_class = false;
			else if (*p == '/')
				return false;
			continue;
		}
		if (*p == '/') {
			if (part_empty)
				return false;
			part_empty = true;
			continue;
		}
		part_empty = false;
		if (*p == '[')
			in_class = true;
		else if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-*?",
		                 *p))
			return false;
	}
	return !in_class && !part_empty;
}

/* Reads acl = [ "u:alice:rw-", ... ] into r. */
static int
get_acl(struct conf_ld *l, const config_setting_t *grp, struct conf_rule *r)
{
	const config_setting_t *list;
	int n, err;

	err = conf_get_list(l, grp, "acl", "strings like \"u:alice:rw-\"",
	                    &list, &n);
	if (err < 0)
		return err;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, i);
		struct acl_entry ae;
		bool def;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(l, e,
			                 "acl must be a list of strings "
			                 "like \"u:alice:rw-\"");
		if (acl_parse_entry(config_setting_get_string(e), true, &ae,
		                    &def) < 0)
			return conf_fail(l, e,
			                 "acl entry \"%s\" is not like "
			                 "\"u:NAME:rw-\", \"g:NAME:r--\", "
			                 "\"m::rw-\", \"o::---\" or \"d:u:NAME:"
			                 "rw-\" (or names no user or group)",
			                 config_setting_get_string(e));
		if ((def ? r->n_dacl : r->n_acl) == ACL_ENTRIES_MAX)
			return conf_fail(l, e, "more than %d acl entries",
			                 ACL_ENTRIES_MAX);
		if (def)
			r->dacl[r->n_dacl++] = ae;
		else
			r->acl[r->n_acl++] = ae;
	}
	return 0;
}

static int
load_rule(struct conf_ld *l, const config_setting_t *grp, struct conf_rule *r)
{
	const config_setting_t *s = NULL;
	const char *path;
	unsigned int id;
	mode_t mode = (mode_t)-1;
	int err;

	if (config_setting_type(grp) != CONFIG_TYPE_GROUP)
		return conf_fail(l, grp,
		                 "rules must be a list of { ... } "
		                 "groups");
	r->line = config_setting_source_line(grp);
	for (int i = 0; i < config_setting_length(grp); i++) {
		const config_setting_t *k = config_setting_get_elem(grp, i);
		bool known = false;

		for (const char *const *w = rule_keys; *w != NULL; w++)
			known |= strcmp(*w, config_setting_name(k)) == 0;
		if (!known)
			return conf_fail(l, k, "unknown key \"%s\" in a rule",
			                 config_setting_name(k));
	}
	err = conf_get_str(l, grp, "path", "a rule", &s, &path);
	if (err < 0)
		return err;
	if (!rules_glob_ok(path))
		return conf_fail(l, s,
		                 "rule path \"%s\" is not a glob of node "
		                 "names like \"isa0/lp*\"",
		                 path);
	r->path = strdup(path);
	if (r->path == NULL)
		return conf_fail(l, grp, "out of memory");
	err = conf_get_mode(l, grp, &mode);
	if (err < 0)
		return err;
	if (mode != (mode_t)-1) {
		r->has_mode = true;
		r->mode = mode;
	}
	if ((s = config_setting_get_member(grp, "owner")) != NULL) {
		err = conf_get_id(l, s, 0, &id, NULL);
		if (err < 0)
			return err;
		r->has_uid = true;
		r->uid = id;
	}
	if ((s = config_setting_get_member(grp, "group")) != NULL) {
		err = conf_get_id(l, s, 1, &id, NULL);
		if (err < 0)
			return err;
		r->has_gid = true;
		r->gid = id;
	}
	err = get_acl(l, grp, r);
	if (err < 0)
		return err;
	if (!r->has_mode && !r->has_uid && !r->has_gid && r->n_acl == 0 &&
	    r->n_dacl == 0)
		return conf_fail(l, grp,
		                 "rule for \"%s\" sets nothing (give mode, "
		                 "owner, group or acl)",
		                 r->path);
	return 0;
}

int
rules_load(struct conf_ld *l, const config_setting_t *root)
{
	struct conf *c = l->c;
	const config_setting_t *list = NULL;
	int r, n = 0;

	r = conf_get_list(l, root, "rules", "{ ... } groups", &list, &n);
	if (r < 0 || n == 0)
		return r;
	c->rules = calloc((size_t)n, sizeof(*c->rules));
	if (c->rules == NULL)
		return conf_fail(l, list, "out of memory");
	for (int i = 0; i < n; i++) {
		c->n_rules++; /* counted first: freed even on failure */
		r = load_rule(l, config_setting_get_elem(list, i),
		              &c->rules[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

void
rules_free(struct conf *c)
{
	for (unsigned int i = 0; i < c->n_rules; i++)
		free(c->rules[i].path);
	free(c->rules);
	c->rules = NULL;
	c->n_rules = 0;
}

/* True if rule i of c matches path. */
static bool
hit(const struct conf *c, unsigned int i, const char *path)
{
	return fnmatch(c->rules[i].path, path, FNM_PATHNAME) == 0;
}

void
rules_apply(const struct conf *c, const char *path, bool is_dir, mode_t mode,
            uid_t uid, gid_t gid, const struct acl *pdef, struct rules_out *out)
{
	struct rules_out o = { .mode = mode, .uid = uid, .gid = gid };
	unsigned int n = c != NULL ? c->n_rules : 0;

	/* mode, owner and group first: a default ACL is masked by them */
	for (unsigned int i = 0; i < n; i++) {
		const struct conf_rule *r = &c->rules[i];

		if (!hit(c, i, path))
			continue;
		if (r->has_mode)
			o.mode = r->mode;
		if (r->has_uid)
			o.uid = r->uid;
		if (r->has_gid)
			o.gid = r->gid;
	}
	if (!is_dir && pdef != NULL && pdef->n != 0)
		acl_inherit(pdef, &o.mode, &o.acl);
	for (unsigned int i = 0; i < n; i++) {
		const struct conf_rule *r = &c->rules[i];
		struct acl t;

		if ((r->n_acl == 0 && r->n_dacl == 0) || !hit(c, i, path))
			continue;
		t = o.acl;
		if (r->n_acl != 0 &&
		    acl_merge(&t, o.mode, r->acl, r->n_acl) == 0) {
			o.mode = acl_mode(&t, o.mode);
			o.acl = acl_is_minimal(&t) ? (struct acl){ 0 } : t;
		}
		t = o.dacl;
		if (is_dir && r->n_dacl != 0 &&
		    acl_merge(&t, o.mode, r->dacl, r->n_dacl) == 0)
			o.dacl = t;
	}
	*out = o;
}
