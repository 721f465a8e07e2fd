/*
 * statedir.h: ddmfs's state directory.
 *
 *   lock       flock()ed by the one ddmfs using the directory; holds its pid
 *   perms      permissions (perm.h)          cuse     CUSE numbers (cusedev.h)
 *   running    the drivers this ddmfs started, for adoption (records.h)
 *   ctl.sock   the control socket (ctl.h)
 *   sim/       the sim models' files, private to the drivers' user(s)
 *   drivers/BUS/NODE/  each driver's own state, owned by its user, 0700
 *
 * The directory must be root's and writable by nobody else, since root
 * reads it and chowns in it; everything below it is made and opened
 * without following symlinks.  Drivers get directory fds, never paths.
 */
#ifndef DDMFS_STATEDIR_H
#define DDMFS_STATEDIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Checks dir (made 0755 if missing; its parent must exist), takes its
 * lock and removes temp files a crash left.  Returns a directory fd
 * (the lock is held on *ret_lock_fd), or -errno with the reason in why;
 * -EBUSY when another ddmfs holds it.
 */
int statedir_open(const char *dir, int *ret_lock_fd, char *why, size_t whylen);
/*
 * Makes sim/ (0700 or, for drivers of several users, root's with an ACL
 * for each of them) and returns a directory fd, or -errno with why.
 */
int statedir_sim(int dfd, const uid_t *uids, const gid_t *gids, size_t n,
                 char *why, size_t whylen);
/*
 * Gives the sim files of leaf name (name.*) to uid:gid, so a driver whose
 * user changed still reaches its model's files: 0 or -errno.
 */
int statedir_sim_own(int sim_fd, const char *name, uid_t uid, gid_t gid);
/* The directory fd of drivers/<node>, owned by uid:gid, 0700, made if
 * missing: an fd or -errno with why. */
int statedir_driver(int dfd, const char *node, uid_t uid, gid_t gid, char *why,
                    size_t whylen);

#endif /* DDMFS_STATEDIR_H */
