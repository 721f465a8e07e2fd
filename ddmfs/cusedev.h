/*
 * cusedev.h: what ddmfs needs for the CUSE transport (transport B in
 * DESIGN.md): choosing the transport, the store of each node's CUSE device
 * numbers, and reading the numbers the kernel gave a CUSE device.
 *
 * The store is <state_dir>/cuse, text, one node per line, "PATH MAJ MIN"
 * in decimal, for example "isa0/rtc0 234 0".  A restarted driver, and a
 * restarted ddmfs, ask for the same numbers so the leaf's rdev stays valid.
 * The file is replaced atomically (temp file, fsync, rename, fsync of the
 * directory), like the permission store.
 */
#ifndef DDMFS_CUSEDEV_H
#define DDMFS_CUSEDEV_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define CDEV_DEV_PATH  "/dev/cuse"
#define CDEV_SYS_DIR   "/sys/class/cuse"
#define CDEV_MAJOR_MAX 4095    /* Linux dev_t: 12-bit major */
#define CDEV_MINOR_MAX 1048575 /* and 20-bit minor */

struct cdev_entry {
	char *path; /* "isa0/rtc0" */
	unsigned int maj, min;
};

struct cdev_store {
	char *file; /* <state_dir>/cuse */
	struct cdev_entry *entries;
	size_t n;
	size_t cap;
	struct store_index index; /* entries by path */
	bool indexed;             /* index is in step with entries */
};

/*
 * Decides the transport for conf value t (enum conf_transport) given the
 * CUSE control device dev (normally CDEV_DEV_PATH): *ret_cuse is 1 for
 * CUSE, 0 for FUSE.  "auto" is CUSE when dev exists.  "cuse" without dev
 * returns -errno of the failed access (-ENOENT); nothing is set then.
 */
int cdev_choose(int t, const char *dev, int *ret_cuse);

/*
 * Reads file into a new store.  A missing file gives an empty store.
 * Malformed lines (bad path, numbers out of range, 0:0, trailing junk) are
 * skipped; *ret_bad (if not NULL) counts them.
 */
int cdev_store_open(const char *file, struct cdev_store **ret,
                    unsigned int *ret_bad);
void cdev_store_free(struct cdev_store *cs);
/* path's numbers: 0, or -ENOENT when the store has none. */
int cdev_store_get(const struct cdev_store *cs, const char *path,
                   unsigned int *ret_maj, unsigned int *ret_min);
/* Sets path's numbers in memory: 0, -EINVAL (bad path or numbers, 0:0),
 * -ENOMEM. */
int cdev_store_set(struct cdev_store *cs, const char *path, unsigned int maj,
                   unsigned int min);
/* Writes the store to its file atomically.  0 or -errno. */
int cdev_store_save(const struct cdev_store *cs);

/*
 * The CUSE device name of node path: "ddm!" then path with '/' turned into
 * '!' ("isa0/rtc0" -> "ddm!isa0!rtc0").  0 or -ENAMETOOLONG.
 */
int cdev_name(const char *path, char *buf, size_t len);
/*
 * Reads sysdir/<name>/dev ("MAJ:MIN\n") for the CUSE device of node path.
 * Returns 0, -errno of the open (-ENOENT: no such device) or -EIO for text
 * that is not "MAJ:MIN".
 */
int cdev_read_sysfs(const char *sysdir, const char *path, unsigned int *ret_maj,
                    unsigned int *ret_min);

struct node;

/*
 * n's CUSE driver said HELLO (tree lock held for writing): checks in sysfs
 * that its device exists with the numbers asked for, and learns and saves
 * (in cs, if not NULL) them if they were not known.  Returns 0, 1 when
 * the numbers changed (n's generation is bumped), or -EPROTO with why.
 */
int cdev_up(struct cdev_store *cs, struct node *n, char *why, size_t whylen);
/*
 * n's CUSE driver died before HELLO, after fails failures in a row.
 * Numbers from the store that this run has not seen work may belong to
 * something else now (after a reboot): after retry such failures the
 * kernel picks new ones.
 */
void cdev_early_exit(struct node *n, unsigned int fails, unsigned int retry);

#endif /* DDMFS_CUSEDEV_H */
