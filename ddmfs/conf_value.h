/*
 * conf_value.h: private to the conf loader.  conf.c walks the libconfig
 * tree and reports problems; conf_value.c parses and checks the values
 * (names, octal modes, users and groups, port ranges).  Each function
 * returns 0 or -EINVAL (after writing "FILE:LINE: message" into the load's
 * err) and leaves its ret_* untouched on failure.
 */
#ifndef DDMFS_CONF_VALUE_H
#define DDMFS_CONF_VALUE_H

#include <libconfig.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* One load in progress. */
struct conf_ld {
	const char *path;
	char *err;
	size_t errlen;
	struct conf *c;
};

/* conf.c */

/* Reports a problem at setting s (NULL: the file as a whole): -EINVAL. */
int conf_fail(struct conf_ld *l, const config_setting_t *s, const char *fmt,
              ...) __attribute__((format(printf, 3, 4)));
/*
 * Finds the string setting key in grp.  A missing optional one (required_in
 * NULL) leaves *ret and *ret_s untouched and returns 0.
 */
int conf_get_str(struct conf_ld *l, const config_setting_t *grp,
                 const char *key, const char *required_in,
                 const config_setting_t **ret_s, const char **ret);
/* Finds the optional list (or array) key in grp; *ret_n is 0 if absent. */
int conf_get_list(struct conf_ld *l, const config_setting_t *grp,
                  const char *key, const char *what,
                  const config_setting_t **ret_s, int *ret_n);

/* conf_value.c */

/* Reads the name of a bus or device into buf, checked against [a-z0-9_-]. */
int conf_get_name(struct conf_ld *l, const config_setting_t *grp,
                  const char *what, char buf[CONF_NAME_MAX + 1],
                  const config_setting_t **ret_s);
/* Parses mode = "0644" if present: octal digits only, at most 07777. */
int conf_get_mode(struct conf_ld *l, const config_setting_t *grp, mode_t *ret);
/*
 * Resolves v (a name or a decimal id) to a gid if group is set, else to a
 * uid and, if ret_gid, its primary gid (gid == uid for an id without a
 * passwd entry).  s is where to point an error at.
 */
int conf_resolve_id(struct conf_ld *l, const config_setting_t *s, const char *v,
                    int group, unsigned int *ret_id, gid_t *ret_gid);
/* Resolves setting s, a string or an integer, as conf_resolve_id() does. */
int conf_get_id(struct conf_ld *l, const config_setting_t *s, int group,
                unsigned int *ret_id, gid_t *ret_gid);
/* Resolves owner and group of grp, if present, into *uid and *gid. */
int conf_get_owner_group(struct conf_ld *l, const config_setting_t *grp,
                         uid_t *uid, gid_t *gid);
/*
 * Reads ports = [ "0x70-0x71", "0x378" ] into d, checking each range
 * against d's earlier ones and every device loaded so far.
 */
int conf_get_ports(struct conf_ld *l, const config_setting_t *grp,
                   struct conf_bus *bus, struct conf_device *d);
/*
 * Checks one of a device's extra driver arguments, at setting s: it must
 * not set an option ddmfs passes itself (--io, --node, --ports, ...).
 */
int conf_check_arg(struct conf_ld *l, const config_setting_t *s,
                   const char *arg);

#endif /* DDMFS_CONF_VALUE_H */
