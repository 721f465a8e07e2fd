/*
 * acl.h: POSIX access control lists as ddmfs keeps them: the
 * system.posix_acl_access / system.posix_acl_default xattr values the
 * kernel sends and asks for, and the short text form ("u::rw-,u:1000:r--,
 * g::r--,m::rw-,o::---") the permission store and the conf's rules use.
 *
 * An acl holds its entries sorted as the kernel wants them: the owner,
 * named users by id, the owning group, named groups by id, the mask, the
 * others.  An access ACL and its node's mode are one thing seen twice: the
 * owner, mask (or owning group, without a mask) and other entries are the
 * mode's three permission triples, and acl_sync_mode() keeps them so.
 */
#ifndef DDMFS_ACL_H
#define DDMFS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ACL_ENTRIES_MAX 32                     /* entries per ACL */
#define ACL_TEXT_MAX    (ACL_ENTRIES_MAX * 20) /* "u:4294967294:rwx," each */

/* Tags as in the xattr value (linux/posix_acl.h). */
enum {
	ACL_TAG_USER_OBJ = 0x01,
	ACL_TAG_USER = 0x02,
	ACL_TAG_GROUP_OBJ = 0x04,
	ACL_TAG_GROUP = 0x08,
	ACL_TAG_MASK = 0x10,
	ACL_TAG_OTHER = 0x20,
};

#define ACL_NO_ID 0xffffffffu /* the id of an entry that has none */

/* The xattr names; a default ACL is for directories only. */
#define ACL_XATTR_ACCESS  "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"

struct acl_entry {
	uint16_t tag;
	uint16_t perm; /* 0..7: r 4, w 2, x 1 */
	uint32_t id;   /* a uid or gid for USER and GROUP, else ACL_NO_ID */
};

/* n == 0: no ACL (the mode alone). */
struct acl {
	unsigned int n;
	struct acl_entry e[ACL_ENTRIES_MAX];
};

/*
 * Reads an xattr value (little-endian version 2 header and entries) into
 * *ret, sorted.  0, or -EINVAL for a bad version, size, tag, perm or id, a
 * duplicate entry, or a missing owner, group, other or (with named
 * entries) mask entry.  *ret is untouched on failure.
 */
int acl_from_xattr(const void *buf, size_t len, struct acl *ret);
/* The xattr value of a (a->n > 0) in buf: its length, or -ERANGE if
 * len is too small (buf may be NULL with len 0 to learn the length). */
int acl_to_xattr(const struct acl *a, void *buf, size_t len);
/*
 * Parses one entry of the short text form, "u:1000:rw-", "g::r-x",
 * "m::rw", "o::-" ("user:", "group:", "mask:", "other:" too).  With
 * names, a qualifier may be a user or group name; without, only a number.
 * A leading "d:" or "default:" sets *ret_default (ret_default NULL: not
 * allowed).  0 or -EINVAL.
 */
int acl_parse_entry(const char *s, bool names, struct acl_entry *ret,
                    bool *ret_default);
/* Parses comma-separated entries as acl_from_xattr() checks them:
 * 0 or -EINVAL (numeric ids only). */
int acl_from_text(const char *s, struct acl *ret);
/* Writes a's short text form, numeric ids, into buf (ACL_TEXT_MAX). */
void acl_to_text(const struct acl *a, char *buf, size_t len);
/* Checks a as acl_from_xattr() does, sorting it: 0 or -EINVAL. */
int acl_check(struct acl *a);
/* True if a says no more than a mode: owner, group and other only. */
bool acl_is_minimal(const struct acl *a);
/* Sets a's owner, mask (or group) and other entries from mode. */
void acl_sync_mode(struct acl *a, mode_t mode);
/* mode with its permission triples taken from a (a->n > 0). */
mode_t acl_mode(const struct acl *a, mode_t mode);
/*
 * Sets or adds entries to a as setfacl -m does: a with no entries starts
 * from mode; a mask is recomputed from the group class unless the entries
 * give one.  0, or -EINVAL if the result is not a valid ACL.
 */
int acl_merge(struct acl *a, mode_t mode, const struct acl_entry *e,
              unsigned int n);
/*
 * The access ACL of a node made in a directory with default ACL def and
 * with mode, as POSIX creation derives it (def's owner, mask or group and
 * other entries masked by mode); *mode gets the result's triples.  An
 * empty def gives an empty ACL and leaves *mode.
 */
void acl_inherit(const struct acl *def, mode_t *mode, struct acl *ret);
bool acl_equal(const struct acl *a, const struct acl *b);

#endif /* DDMFS_ACL_H */
