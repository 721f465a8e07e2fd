/*
 * fwd.h: the message path between FUSE requests and drivers.
 *
 * A worker thread turns a request on a leaf into a pending entry (pend.h)
 * and a message on the driver's channel (chan.h), and returns; it never
 * waits for the driver.  The event thread hands each DDM_REPLY to
 * fwd_reply(), which checks it against the rules of its op and answers
 * the kernel; while other requests of the driver are in flight, the
 * worker first answers the replies already there itself (drv_sys's
 * receive), so answers go out from several threads.  An open for a
 * driver coming up is parked until its HELLO (fwd_send_queued()) or its
 * deadline (drv.c).  An interrupt is passed on as DDM_INTERRUPT and
 * starts a grace time after which ddmfs answers EINTR itself (drv.c).
 */
#ifndef DDMFS_FWD_H
#define DDMFS_FWD_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdint.h>

#include "ddm_proto.h"

struct drv;
struct drv_out;

/* Opens leaf node (its index) of d: entered with d->lock held, returns
 * with it dropped. */
void fwd_open(fuse_req_t req, struct drv *d, unsigned int node,
              struct fuse_file_info *fi);
/* off: the file offset (a seekable node's driver uses it). */
void fwd_read(fuse_req_t req, struct fuse_file_info *fi, size_t size,
              off_t off);
void fwd_write(fuse_req_t req, struct fuse_file_info *fi, const void *buf,
               size_t size, off_t off);
void fwd_ioctl(fuse_req_t req, struct fuse_file_info *fi, unsigned int cmd,
               uint64_t arg, const void *in, size_t in_len, size_t out_len);
/* kh: the kernel's poll handle to notify later, 0 for none. */
void fwd_poll(fuse_req_t req, struct fuse_file_info *fi, uint64_t kh);
void fwd_flush(fuse_req_t req, struct fuse_file_info *fi);
void fwd_release(fuse_req_t req, struct fuse_file_info *fi);

/* A DDM_REPLY from d's driver (event thread, no lock held). */
void fwd_reply(struct drv *d, const struct ddm_msg *m, const void *payload);
/* A DDM_NOTIFY from d's driver (event thread, no lock held). */
void fwd_notify(struct drv *d, const struct ddm_msg *m);
/* d just came up: its parked opens go out (event thread, no lock). */
void fwd_send_queued(struct drv *d);
/* Does what a drv call left in out (no lock held) and empties it. */
void fwd_finish(struct drv_out *out);
/* The kernel interrupted a request that only its unique still names. */
void fwd_interrupt_unique(uint64_t unique);

#endif /* DDMFS_FWD_H */
