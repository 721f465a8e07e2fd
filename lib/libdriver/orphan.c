/*
 * orphan.c: a driver's life after its ddmfs died (ddm_proto.h): it drops
 * what came over the dead socket, puts a fresh socket at its --ddm-fd
 * number for the next ddmfs to take (pidfd_getfd()), and waits
 * DDM_ORPHAN_WAIT_MS for DDM_ADOPT on its own end before giving up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver_impl.h"

static void
expired(struct ddm_dev *dev, void *arg)
{
	dev->orphan_timer = 0;
	ddm_log(dev, "no ddmfs adopted this driver within %d s; exiting",
	        DDM_ORPHAN_WAIT_MS / 1000);
	loop_quit(dev, 0);
}

/* Whether a stop signal waits: ddmfs signals a driver before it hangs
 * up, so a hangup with one pending is a stop, not ddmfs's death. */
static bool
stop_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && (sigismember(&set, SIGTERM) == 1 ||
	                                 sigismember(&set, SIGINT) == 1);
}

int
orphan_begin(struct ddm_dev *dev, int *sock)
{
	int sv[2], r;

	if (stop_pending())
		return -ECANCELED;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* the old socket: after an adoption ours is not at ddm_fd_num */
	if (*sock != dev->ddm_fd_num)
		close(*sock);
	/* replaces the dead socket (or the placeholder) at the number the
	 * next ddmfs will look at */
	if (dup3(sv[1], dev->ddm_fd_num, O_CLOEXEC) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	close(sv[1]);
	*sock = sv[0];
	dev->orphan = true;
	r = ddm_timer_add(dev, (uint64_t)DDM_ORPHAN_WAIT_MS * 1000, expired,
	                  NULL);
	dev->orphan_timer = r > 0 ? r : 0;
	ddm_log(dev, "ddmfs is gone; waiting up to %d s to be adopted",
	        DDM_ORPHAN_WAIT_MS / 1000);
	return 0;
}

int
orphan_adopted(struct ddm_dev *dev, const struct ddm_rq *rq)
{
	int null;

	if (!dev->orphan) {
		ddm_log(dev, "ignored a DDM_ADOPT: not an orphan");
		return -EPROTO;
	}
	if (rq->arg0 != DDM_PROTO_VERSION) {
		ddm_log(dev, "ignored a DDM_ADOPT for protocol version %u",
		        rq->arg0);
		return -EPROTO;
	}
	if (dev->orphan_timer > 0)
		ddm_timer_cancel(dev, dev->orphan_timer);
	dev->orphan_timer = 0;
	dev->orphan = false;
	/* drop our copy of the new ddmfs's end, so its death shows as a
	 * hangup; /dev/null keeps the number for the next time */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup3(null, dev->ddm_fd_num, O_CLOEXEC);
		close(null);
	}
	ddm_log(dev, "adopted by a new ddmfs");
	return 0;
}
