/*
 * ctl.h: the control socket <state_dir>/ctl.sock that ddmctl talks to.
 *
 * One request per connection: a text line "COMMAND [ARGS]".  The answer
 * is "OK\n" followed by records, or one line "ERR KIND message\n" where
 * KIND names the error (ENOENT: no such node, EPERM: not permitted,
 * EINVAL: bad request, EIO, EBUSY, ENOMEM) and the message is a
 * sentence.  Records are lines of tab-separated fields, the first naming
 * the record; fields are only ever added at the end:
 *   list [--all]   node PATH DRIVER INSTANCE TRANSPORT STATE PID RESTARTS
 *                       MODE OWNER GROUP GRANTS
 *                  pci ADDRESS VENDOR:DEVICE CLASS unbound  (--all)
 *   tree           dir PATH | leaf PATH STATE DRIVER, parents first
 *   status NODE    KEY VALUE (node, driver, instance, state, pid,
 *                  restarts, transport, [rdev], requests, errors, mode,
 *                  [pci, interrupts], owner, group); log LINE, oldest first
 *   monitor        the events, one line each, until either side closes
 *                  (monitor.h)
 * Anyone may list, tree, status and monitor; start NODE, stop NODE,
 * restart NODE, reload and upgrade are for root only (SO_PEERCRED).
 * Each client is served on a thread of its own and must send its
 * request within CTL_IO_TIMEOUT_MS; a user other than root may hold
 * CTL_PER_USER connections at once (monitors count), so no local user
 * can slow root's ddmctl.
 */
#ifndef DDMFS_CTL_H
#define DDMFS_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#define CTL_IO_TIMEOUT_MS 2000 /* a request must arrive within this */
#define CTL_PER_USER      4    /* connections at once per non-root user */
#define CTL_MAX           64   /* connections at once in all */
#define CTL_SOCK          "ctl.sock"
#define CTL_LINE_MAX      512 /* a request line is cut at this length */

struct drv;

/*
 * Called for "upgrade" with the client's fd, which it takes over (the
 * new ddmfs answers it): 0, or -errno and the client gets an error.
 */
typedef int ctl_upgrade_fn(int client_fd);

/* Listens on fd if >= 0 (handed over), else makes <state_dir>/ctl.sock,
 * and starts serving.  0 or -errno. */
int ctl_start(int fd, ctl_upgrade_fn *upgrade);
/* Stops serving: no new clients, and waits (bounded) for the running
 * ones.  With keep, the socket stays (for an upgrade). */
void ctl_stop(bool keep);
/* The listening socket's fd (for an upgrade). */
int ctl_fd(void);
/* Runs one request line from a peer with uid peer.  *ret_reply gets the
 * whole answer.  0, or the command's -errno (also in the reply). */
int ctl_handle(const char *line, uid_t peer, char **ret_reply);
/* The error kind an answer names for err (-errno): "ENOENT"... */
const char *ctl_errname(int err);

/* Copies s into buf (n bytes) as one field of a reply or event line:
 * tabs, newlines and other control characters become spaces.  Returns
 * buf. */
char *ctl_field(char *buf, size_t n, const char *s);
/* The state ddmctl shows for d (d->lock held): running, restarting,
 * dying, failed, stopped or manual. */
const char *ctl_state_name(const struct drv *d);
/* Sends reply on fd within CTL_IO_TIMEOUT_MS (best effort). */
void ctl_send_reply(int fd, const char *reply);

#endif /* DDMFS_CTL_H */
