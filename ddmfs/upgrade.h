/*
 * upgrade.h: ddmctl upgrade: the running ddmfs hands everything to the
 * binary now on disk without unmounting.
 *
 * The old process stops taking requests (its FUSE workers, event thread,
 * saver and control socket stop, none of which loses anything: requests
 * already taken stay in the tables), writes its tables to a memfd, keeps
 * /dev/fuse, the driver sockets and pidfds, its locks and the control
 * socket open across exec, and execs itself with --upgrade-fd.  The new
 * process rebuilds the tables with the same inode numbers, handle and
 * request ids, feeds libfuse the connection's FUSE_INIT again, and goes
 * on: the mount never goes away, the drivers keep their pids, open files
 * stay valid, and requests in flight are answered once, by their unique
 * id.  Before any of that, the new binary is asked for the format it
 * reads (--upgrade-check); a mismatch refuses the upgrade.
 */
#ifndef DDMFS_UPGRADE_H
#define DDMFS_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "fuseio.h"

#define UPGRADE_FORMAT 5 /* bump when the handed-over tables change */

/* What the new process needs besides the tables. */
struct upgrade_fds {
	int fuse;   /* /dev/fuse */
	int ctl;    /* the control socket */
	int client; /* the ddmctl that asked: answered by the new ddmfs */
	unsigned char init[FUSEIO_INIT_MAX]; /* the FUSE_INIT arguments */
	size_t init_len;
	bool syslog; /* the old one logged to syslog */
};

/*
 * In the old process (main thread): hands over and execs the new
 * binary, which answers client_fd.  argv is this process's.  Returns
 * only if it failed: then everything runs on as before (restart() is
 * called to start the threads again) and the client got the error.
 */
void upgrade_now(int client_fd, char **argv, void (*restart)(void));
/*
 * In the new process: rebuilds dfs, the tree and the drivers from the
 * state at fd (closed); the nodes' attributes are the caller's to
 * refresh once the permission store is open.  0, or -errno (logged):
 * nothing can be saved then.
 */
int upgrade_restore(int fd, struct upgrade_fds *ret);

#endif /* DDMFS_UPGRADE_H */
