/*
 * fuseio.h: ddmfs's own FUSE worker threads, and answers written straight
 * to /dev/fuse.
 *
 * The workers read requests with fuse_session_receive_buf() and hand
 * them to libfuse with fuse_session_process_buf(), as libfuse's own loop
 * does, but first note the kernel's view of each request: its unique id
 * and, for a poll, the kernel's poll handle.  With those, a request or a
 * poll can outlive the libfuse object that carried it: ddmctl upgrade
 * hands them to the next ddmfs, which answers them with the kern_*()
 * calls below.  The workers never wait for a driver; fuseio_stop() gets
 * them out of their read() (a signal) without unmounting.
 */
#ifndef DDMFS_FUSEIO_H
#define DDMFS_FUSEIO_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUSEIO_INIT_MAX 128 /* bytes of FUSE_INIT arguments kept */

/*
 * Starts n workers on se.  ended is called (from a worker) when the
 * kernel ends the session (unmount, abort).  0 or -errno.
 */
int fuseio_start(struct fuse_session *se, unsigned int n, void (*ended)(void));
/* Gets every worker out of its read and joins it; the session stays. */
void fuseio_stop(void);

/* The unique id of the request this worker thread is handling now. */
uint64_t fuseio_unique(void);
/* The kernel's poll handle of the FUSE_POLL this thread is handling (0:
 * none, or not a poll). */
uint64_t fuseio_poll_kh(void);
/* The FUSE_INIT arguments the kernel sent, for an upgrade: their size
 * (0: not seen yet) and a copy in buf. */
size_t fuseio_init_args(void *buf, size_t cap);
/*
 * Feeds se (new, on an fd whose connection is initialized already) the
 * FUSE_INIT the first ddmfs got, so libfuse takes requests from it; the
 * answer goes nowhere (the kernel knows no such request).  0 or -errno.
 */
int fuseio_replay_init(struct fuse_session *se, const void *args, size_t len);

/*
 * Requests that no libfuse object carries any more (handed over by an
 * upgrade): their interrupts go to the hook set here, not to libfuse.
 */
void fuseio_set_interrupt_hook(void (*fn)(uint64_t unique));
int fuseio_track(uint64_t unique);
void fuseio_untrack(uint64_t unique);

/* Answers to request unique, written to /dev/fuse: 0, or -errno (-ENOENT:
 * the request is gone, interrupted and abandoned). */
int kern_reply_err(uint64_t unique, int err);
int kern_reply_buf(uint64_t unique, const void *buf, size_t len);
int kern_reply_write(uint64_t unique, size_t count);
/* An open file is direct_io, and nonseekable unless seekable. */
int kern_reply_open(uint64_t unique, uint64_t fh, bool seekable);
int kern_reply_ioctl(uint64_t unique, int result, const void *buf, size_t len);
int kern_reply_poll(uint64_t unique, unsigned int revents);
/* Wakes the pollers of poll handle kh. */
int kern_notify_poll(uint64_t kh);

#endif /* DDMFS_FUSEIO_H */
