/*
 * rules.h: the conf's rules (like FreeBSD's devfs.rules): an ordered list
 * of path globs, each with a mode, owner, group and ACL entries for the
 * nodes it matches.
 *
 *     rules = (
 *         { path = "isa0/lp*"; mode = "0660"; group = "lp";
 *           acl = [ "u:alice:rw-", "d:g:audio:r--" ]; }
 *     );
 *
 * A node's defaults are made, low to high, from its conf entry, the rules
 * in order (a later rule's key overrides an earlier one's), and, for a
 * leaf, its bus's default ACL.  An explicit chmod, chown or setfacl of the
 * node (the permission store) overrides them all.
 */
#ifndef DDMFS_RULES_H
#define DDMFS_RULES_H

#include <stdbool.h>
#include <sys/types.h>

#include "acl.h"
#include "conf.h"
#include "conf_value.h"

/* Reads the top-level rules = ( ... ) list of the load l, if any. */
int rules_load(struct conf_ld *l, const config_setting_t *root);
/* Frees c's rules. */
void rules_free(struct conf *c);
/* True if glob could be a rule's path (a fnmatch(3) pattern of
 * [a-z0-9_-] names, "*?[]!" and '/' between non-empty parts). */
bool rules_glob_ok(const char *glob);

/* A node's defaults, as rules_apply() makes them. */
struct rules_out {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct acl acl;  /* n 0: none */
	struct acl dacl; /* directories only */
};

/*
 * Makes the defaults of the node at path (is_dir) into *out: the conf's
 * mode, uid and gid; for a leaf, the access ACL the parent's default ACL
 * pdef gives it (NULL or empty: none); then every rule of c that matches,
 * in order.  Rule ACL entries are set as setfacl -m sets them.
 */
void rules_apply(const struct conf *c, const char *path, bool is_dir,
                 mode_t mode, uid_t uid, gid_t gid, const struct acl *pdef,
                 struct rules_out *out);

#endif /* DDMFS_RULES_H */
