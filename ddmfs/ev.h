/*
 * ev.h: the event thread.  One thread waits on one epoll set for what
 * the drivers do (replies, HELLO, NOTIFY and hangups on their sockets,
 * room to send again, exits on their pidfds) and for the nearest
 * deadline, and hands each to fwd.c or drv.c.  These calls are
 * drv_sys's event-loop hooks (proc.c wires them up); each is made with
 * the driver's lock held, but ev_receive(), which a FUSE worker calls
 * with no lock held.
 */
#ifndef DDMFS_EV_H
#define DDMFS_EV_H

struct chan;
struct drv;

int ev_init(void);
int ev_start(void);
/* Stops the event thread (drivers stopped first). */
void ev_stop(void);

void ev_attach(struct drv *d);
void ev_detach_chan(struct drv *d);
void ev_detach_pid(struct drv *d);
/* d's deadlines or send queue changed: look at it again. */
void ev_wake(struct drv *d);
/*
 * Watches fd (taken over), the VFIO device-request eventfd of d's PCI
 * function: when the kernel asks for the function back (hot-unplug
 * waits for every VFIO fd to close), d's driver is stopped.  Dropped
 * when the process exits.
 */
void ev_watch_req(struct drv *d, int fd);
/* That eventfd of d's, for an upgrade to hand over; -1 if none. */
int ev_req_fd(struct drv *d);
/*
 * A worker that sent a request to d on ch (a reference it holds, no
 * lock held) answers what d's driver has sent back so far, without
 * waiting, as the event thread would: replies go out from several
 * threads at once, not through the event thread alone.
 */
void ev_receive(struct drv *d, struct chan *ch);
/* The event loop's data of d goes (before drv_free()). */
void ev_forget(struct drv *d);
/*
 * Calls fn(arg) on the event thread, with no lock held, whenever fd is
 * readable (one such fd: the PCI hotplug monitor).  0 or -errno.
 */
int ev_watch(int fd, void (*fn)(void *arg), void *arg);

#endif /* DDMFS_EV_H */
