/*
 * fs.h: the FUSE low-level operations of the ddmfs tree.
 */
#ifndef DDMFS_FS_H
#define DDMFS_FS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops fs_ops;

#endif /* DDMFS_FS_H */
