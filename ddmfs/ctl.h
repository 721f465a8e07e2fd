/*
 * ctl.h: the control socket <state_dir>/ctl.sock that ddmctl talks to.
 *
 * One request per connection: a text line "COMMAND [NODE]".  The answer
 * is "OK\n" followed by the output, or "ERR message\n".  Commands: list
 * (NODE STATE PID RESTARTS TRANSPORT per line) and status NODE, for
 * anyone; start NODE, stop NODE, restart NODE, reload and upgrade for
 * root only (SO_PEERCRED).  Each client is served on a thread of its own
 * and must send its request within CTL_IO_TIMEOUT_MS; a user other than
 * root may hold CTL_PER_USER connections at once, so no local user can
 * slow root's ddmctl.
 */
#ifndef DDMFS_CTL_H
#define DDMFS_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#define CTL_IO_TIMEOUT_MS 2000 /* a request must arrive within this */
#define CTL_PER_USER      4    /* connections at once per non-root user */
#define CTL_MAX           64   /* connections at once in all */
#define CTL_SOCK          "ctl.sock"

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
/* Sends reply on fd within CTL_IO_TIMEOUT_MS (best effort). */
void ctl_send_reply(int fd, const char *reply);

#endif /* DDMFS_CTL_H */
