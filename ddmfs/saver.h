/*
 * saver.h: chmod, chown and chgrp on the tree, saved before they are
 * answered, on a thread of their own.
 *
 * A worker checks nothing and waits for nothing: it queues the change and
 * returns.  The saver thread applies the queued changes in order to the
 * permission store (checking each against POSIX's rules and the changes
 * before it), writes the store once for all of them (temp file, fsync,
 * rename) without holding the tree lock, then makes them visible on the
 * nodes and answers each.  A failed write undoes the batch and answers
 * its error to each change in it.  So a storm of chmods costs one fsync
 * per batch and never stalls reads of the tree.
 */
#ifndef DDMFS_SAVER_H
#define DDMFS_SAVER_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "acl.h"

int saver_start(void);
/* Answers what is queued, then stops the thread. */
void saver_stop(void);
/* Queues a chmod/chown/chgrp (FUSE_SET_ATTR_MODE/UID/GID in to_set) of
 * node ino by req's caller; the answer comes from the saver thread. */
void saver_setattr(fuse_req_t req, fuse_ino_t ino, int to_set,
                   const struct stat *attr);

/* Queues a setfacl (acl checked already; NULL: remove) of node ino's
 * access or default ACL by req's caller; answered as above. */
void saver_setacl(fuse_req_t req, fuse_ino_t ino, bool access,
                  const struct acl *acl);
/*
 * Drops the explicit entry (mode, owner, group, ACLs) of the node at path
 * so the conf and rules apply again, saves, and tells the kernel to forget
 * what it cached.  Waits for it (no lock held): 0, -ENOENT (no node), or
 * -errno of the save.
 */
int saver_reset(const char *path);

#endif /* DDMFS_SAVER_H */
