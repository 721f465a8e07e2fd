/*
 * mnt.h: the mountpoint: one ddmfs per mountpoint, and a stale mount of a
 * ddmfs that died (kill -9) detached before mounting again.
 */
#ifndef DDMFS_MNT_H
#define DDMFS_MNT_H

#include <stddef.h>

#define MNT_FSTYPE "fuse.ddmfs"

/*
 * Makes the mountpoint path absolute and canonical (its parent resolved)
 * into a new string: 0 or -errno.
 */
int mnt_canonical(const char *path, char **ret);
/*
 * Prepares mountpoint mp (canonical) for a new mount: makes it if
 * missing, refuses a non-directory and a live ddmfs mount on it, detaches
 * (lazily) a stale one, and locks it against a second ddmfs starting at
 * the same time.  Returns the locked directory's fd, or -errno with why.
 */
int mnt_prepare(const char *mp, char *why, size_t whylen);
/* Detaches the mount on mp (lazily: open files keep it until closed). */
int mnt_detach(const char *mp);

#endif /* DDMFS_MNT_H */
