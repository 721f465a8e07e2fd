/*
 * ddmfs.h: the daemon's shared context.
 *
 * ddmfs mounts the device tree (root -> one directory per bus -> one leaf
 * per device) with the FUSE low-level API and forwards each request on a
 * leaf to that device's driver process (transport A in DESIGN.md):
 *
 *   FUSE op   forwarded as   reply to the caller
 *   open      DDM_OPEN       open (direct_io, nonseekable)
 *   read      DDM_READ       the driver's bytes
 *   write     DDM_WRITE      the driver's count
 *   ioctl     DDM_IOCTL      restricted FUSE ioctls
 *   poll      DDM_POLL       the ready events; DDM_NOTIFY wakes pollers
 *   flush     DDM_FLUSH      the driver's result
 *   release   DDM_RELEASE    answered at once, the driver sends nothing
 *   interrupt DDM_INTERRUPT  the driver answers the interrupted request
 *
 * Under the CUSE transport (transport B) a leaf is a char device whose
 * rdev is its driver's own CUSE device: the kernel checks the leaf's
 * permissions at open and then talks to the driver directly, so none of
 * the above reaches ddmfs, and the driver socket only carries DDM_HELLO
 * and the heartbeat.  A seekable leaf is the exception: the kernel gives
 * a CUSE device no file offsets, so its driver's HELLO marks it
 * DDM_NODE_SOCKET and ddmfs forwards it as above.
 *
 * The daemon's rooms, each with its own header:
 *   ddmfs.c   options, start-up, shutdown, upgrade
 *   fuseio.c  the FUSE worker threads and raw answers
 *   fs.c      the FUSE ops table: kernel requests become calls
 *   fwd.c     a request becomes a message, a reply a FUSE answer
 *   ev.c      the event thread: driver sockets, pidfds, deadlines
 *   drv.c     the supervisor state machine
 *   proc.c    drv.c's outside world: spawning, signals, adoption
 *   sync.c    the tree and drivers made to match the conf
 *   pci.c     PCI functions: discovery, rule names, binding to VFIO
 *   ctl.c     the control socket          saver.c  permission saves
 *   upgrade.c handing everything to a new ddmfs binary
 *   tree.c handle.c pend.c chan.c idmap.c spawn.c statedir.c records.c
 *   perm.c store.c atomic.c cusedev.c conf*.c log.c mnt.c
 *
 * Locks, in the order they nest: dfs.tree_lock (a rwlock: the tree, node
 * attributes, the conf, the stores), then a driver's lock (its state,
 * requests and handles), then a channel's lock (its send queue).  No
 * lock is held while answering FUSE or waiting for a driver.
 */
#ifndef DDMFS_H
#define DDMFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>

#include "conf.h"

struct perm_store;
struct cdev_store;

struct ddmfs {
	pthread_rwlock_t tree_lock;
	struct conf *conf; /* the conf the tree follows */
	char *conf_file;   /* absolute */
	char *state_dir;   /* absolute */
	char *mountpoint;  /* absolute */
	char *driver_path; /* --driver-path, or NULL */
	char *self_exe;    /* this binary's path, for upgrades */
	int state_fd;      /* the state directory */
	int lock_fd;       /* its flock()ed lock file */
	int mnt_lock_fd;   /* the mountpoint's flock()ed directory */
	int sim_fd;        /* <state_dir>/sim, -1 if no sim device */
	struct perm_store *perms;
	struct cdev_store *cdevs; /* CUSE numbers; NULL under FUSE */
	bool cuse;                /* leaves use the CUSE transport */
	bool foreground;
	bool debug;
	struct fuse_session *se;
	bool fd_mounted; /* se took over an open /dev/fuse (an upgrade) */
	struct timespec mount_time;
	struct rlimit nofile; /* the limit drivers get (ours at start) */
	unsigned int workers; /* FUSE worker threads */
};

extern struct ddmfs dfs;

#endif /* DDMFS_H */
