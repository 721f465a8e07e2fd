/*
 * perm.h: the permission store: mode, owner and group of each node that
 * differ from the conf's defaults, kept in <state_dir>/perms.
 *
 * The file is text, one node per line, "PATH MODE UID GID" with MODE in
 * octal, for example "isa0/rtc0 0600 65534 0", then optionally its ACLs,
 * "a=ACCESS" and "d=DEFAULT" in the short text form with numeric ids
 * (acl.h): "isa0/lp0 0660 0 7 a=u::rw-,u:1000:rw-,g::rw-,m::rw-,o::---".
 * Lines without ACL fields (the older format) load as before.  A line
 * with a field it does not know is malformed.  It is replaced atomically
 * (temp file, fsync, rename, fsync of the directory), so a crash leaves
 * either the old or the new file, never a mix.
 */
#ifndef DDMFS_PERM_H
#define DDMFS_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "acl.h"
#include "store.h"

struct perm_entry {
	char *path; /* "isa0" or "isa0/rtc0" */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct acl acl;  /* access ACL, kept in step with mode; n 0: none */
	struct acl dacl; /* default ACL (directories); n 0: none */
};

struct perm_store {
	char *file; /* <state_dir>/perms */
	struct perm_entry *entries;
	size_t n;
	size_t cap;
	struct store_index index; /* entries by path */
	bool indexed;             /* index is in step with entries */
};

/*
 * Reads file into a new store.  A missing file gives an empty store.
 * Malformed lines are skipped; *ret_bad (if not NULL) counts them.
 */
int perm_store_open(const char *file, struct perm_store **ret,
                    unsigned int *ret_bad);
void perm_store_free(struct perm_store *ps);
/* Returns the entry for path, or NULL. */
const struct perm_entry *perm_store_get(const struct perm_store *ps,
                                        const char *path);
/*
 * Sets path's values in memory (adding it if new).  0, -EINVAL for a path
 * the file can't hold (not [a-z0-9_/-], leading/trailing/double '/'), a mode
 * above 07777 or an id of -1, or -ENOMEM.
 */
int perm_store_set(struct perm_store *ps, const char *path, mode_t mode,
                   uid_t uid, gid_t gid);
/*
 * Sets path's values to val's (not its path), adding it if new; an access
 * ACL takes its owner, mask and other entries from val->mode.  As
 * perm_store_set(), and -EINVAL for an ACL acl_check() refuses.
 */
int perm_store_put(struct perm_store *ps, const char *path,
                   const struct perm_entry *val);
/* Forgets path's entry in memory: 0, or -ENOENT if it had none. */
int perm_store_remove(struct perm_store *ps, const char *path);
/* The file's text for the store now: 0 with a new buffer, or -ENOMEM. */
int perm_store_format(const struct perm_store *ps, char **ret_buf,
                      size_t *ret_len);
/* Replaces the store's file with text from perm_store_format(), as
 * perm_store_save() does (no lock on the store needed).  0 or -errno. */
int perm_store_write(const struct perm_store *ps, const char *buf, size_t len);
/* Writes the store to its file atomically.  0 or -errno. */
int perm_store_save(const struct perm_store *ps);

#endif /* DDMFS_PERM_H */
