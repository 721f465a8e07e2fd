/*
 * ddmfs.h: declarations shared by the parts of the ddmfs daemon.
 *
 * ddmfs mounts the device tree (root -> one directory per bus -> one leaf
 * per device) with the FUSE low-level API and forwards each request on a
 * leaf to that device's driver process (transport A in DESIGN.md):
 *
 *   FUSE op   forwarded as   reply to the caller
 *   open      DDM_OPEN       fuse_reply_open (direct_io, nonseekable)
 *   read      DDM_READ       fuse_reply_buf with the driver's bytes
 *   write     DDM_WRITE      fuse_reply_write with the driver's count
 *   ioctl     DDM_IOCTL      fuse_reply_ioctl (restricted FUSE ioctls)
 *   poll      DDM_POLL       fuse_reply_poll; DDM_NOTIFY wakes pollers
 *   flush     DDM_FLUSH      fuse_reply_err
 *   release   DDM_RELEASE    answered at once, the driver sends nothing
 *   interrupt DDM_INTERRUPT  the driver answers the interrupted request
 *
 * Under the CUSE transport (transport B) a leaf is instead a char device
 * whose rdev is its driver's own CUSE device: the kernel checks the leaf's
 * permissions at open and then talks to the driver directly, so none of
 * the above reaches ddmfs and the driver socket only carries DDM_HELLO
 * and the heartbeat (DDM_PING).
 * Differences a user sees (cusedev.c, drv.c):
 *   - a restarted driver asks for the same numbers (kept in
 *     <state_dir>/cuse), so the rdev is stable across driver and ddmfs
 *     restarts;
 *   - a leaf whose driver never came up shows as char device 0:0; when
 *     the driver comes up its generation is bumped so the kernel builds a
 *     fresh inode with the real rdev at the next lookup;
 *   - an open while the driver restarts fails at once in the kernel
 *     (ENXIO or ENODEV: the char device is briefly absent) instead of
 *     waiting DRV_OPEN_WAIT_MS for the restart as under FUSE;
 *   - ddmctl's "requests" counter stays 0: ddmfs forwards nothing.
 *
 * Everything else (the tree, permissions, supervision of the drivers, the
 * control socket) is handled inside ddmfs.  One mutex, dfs.lock, guards all
 * shared state below.  FUSE worker threads never wait for a driver: they
 * queue a pending request and return (a send to a driver that stopped
 * reading gives up after DRV_SEND_TIMEOUT_MS; an open for a driver coming
 * up is queued on it); the event thread (ev.c) matches the driver's reply
 * and answers FUSE, and enforces the deadlines: the heartbeat, the grace
 * time after an interrupt, the wait of queued opens.  It sleeps until the
 * nearest one is due, without a bound when none is.
 *
 *   tree.c   the node tree, attributes, the POSIX chmod/chown rules
 *   fs.c     the FUSE low-level operations
 *   pend.c   the pending-request table: who answers a request, and when
 *            it fails (a driver's death, its deadline)
 *   fwd.c    the message path: driver sockets, sending requests, checking
 *            replies against their op's rules and answering FUSE
 *   spawn.c  driver lookup and the privilege-dropping fork/exec
 *   drv.c    driver supervision: the state machine, HELLO, exits, backoff,
 *            stop/start/restart, the heartbeat
 *   ev.c     the event thread: the epoll loop, its wake-up, dispatching
 *            readiness to drv.c and fwd.c, the deadlines' timing
 *   ctl.c    the control socket that ddmctl talks to
 *   cusedev.c the CUSE transport's choice, device numbers and their store
 *   log.c    the shared state (dfs) and the log (stderr, or syslog when
 *            ddmfs runs as a daemon)
 */
#ifndef DDMFS_H
#define DDMFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "cusedev.h"
#include "ddm_proto.h"
#include "perm.h"

#define DRV_BACKOFF_MIN_MS 100   /* first restart delay, doubled per failure */
#define DRV_BACKOFF_MAX_MS 5000  /* the delay never exceeds this */
#define DRV_FAIL_MAX       5     /* failures in a row before "failed" */
#define DRV_STABLE_MS      10000 /* up this long resets the failure count */
#define DRV_HELLO_MS       5000  /* time a new driver has to send HELLO */
#define DRV_MOUNT_WAIT_MS                                                      \
	5000 /* CUSE drivers get this long, in total,                          \
	      * to come up before ddmfs mounts */
#define DRV_CUSE_RETRY                                                         \
	2                     /* stored CUSE numbers not seen in this          \
	                       * run are dropped after this many               \
	                       * failures before HELLO */
#define DRV_STOP_MS      2000 /* SIGTERM to SIGKILL when stopping */
#define DRV_HANGUP_MS    500  /* socket closed to SIGKILL if still alive */
#define DRV_OPEN_WAIT_MS 3000 /* an open waits this long for a restart */
#define DRV_SEND_TIMEOUT_MS                                                    \
	5000 /* a send to a driver that does not read its socket fails         \
	      * after this long, and the driver is restarted */
#define DRV_INTERRUPT_GRACE_MS                                                 \
	1000 /* an interrupted request still unanswered after this long is     \
	      * answered EINTR by ddmfs, and the driver is restarted */
#define DRV_PING_INTERVAL_MS 2000 /* a driver silent this long is pinged */
#define DRV_PING_TIMEOUT_MS                                                    \
	5000 /* a ping unanswered (and the driver silent) this long            \
	      * restarts the driver */
#define DRV_BOGUS_MAX     8 /* replies to unknown ids in a row before a fault */
#define DRV_LOG_BURST     10 /* log lines per driver per DRV_LOG_WINDOW_MS */
#define DRV_LOG_WINDOW_MS 10000
#define FS_MAX_THREADS    64   /* FUSE worker threads at most (libfuse: 10) */
#define CTL_IO_TIMEOUT_MS 2000 /* a control client must talk this fast */
#define PEND_BUCKETS      256
#define NODE_PATH_MAX     (2 * CONF_NAME_MAX + 2)
#define NO_DEADLINE       INT64_MAX /* a time (now_ms()) that never comes */

enum drv_state {
	DRV_STOPPED,
	DRV_STARTING, /* spawned, waiting for DDM_HELLO */
	DRV_RUNNING,
	DRV_BACKOFF,  /* waiting to be restarted */
	DRV_FAILED,   /* failed too often, not restarted */
	DRV_STOPPING, /* told to stop, waiting for the exit */
};

enum drv_timer {
	TIMER_NONE,
	TIMER_RESTART, /* backoff elapsed: spawn again */
	TIMER_HELLO,   /* no DDM_HELLO in time: kill */
	TIMER_KILL,    /* SIGTERM not obeyed in time: SIGKILL */
};

enum ev_kind {
	EV_WAKE,
	EV_SOCK,
	EV_PID,
	EV_TIMER,
};

struct drv;

/* What an epoll event belongs to. */
struct evsrc {
	enum ev_kind kind;
	struct drv *drv;
};

/* A driver socket; senders hold a reference so it is never closed under
 * them.  Freed when dead and unreferenced. */
struct chan {
	int fd;
	pthread_mutex_t send_lock; /* one sender at a time; taken before
	                            * dfs.lock, never after */
	unsigned int refs;
	int dead;
};

/* One open file of a leaf. */
struct handle {
	uint64_t fh; /* the id the driver sees */
	struct drv *drv;
	uint64_t gen; /* driver instance it was opened on */
	struct fuse_pollhandle *ph;
	struct handle *prev, *next; /* on drv->handles */
};

/* One request forwarded to a driver and not answered yet. */
struct pend {
	uint64_t id;
	struct pend *next; /* hash chain */
	fuse_req_t req;
	enum ddm_op op;
	struct drv *drv;
	struct handle *h; /* the handle (DDM_OPEN: the new one) */
	size_t size;      /* read: asked for; write: given; ioctl: out size */
	struct fuse_file_info fi;
	int armed;  /* interrupt hook set: others may answer it */
	int intr;   /* interrupted before it was sent */
	int failed; /* -errno: failed before it was armed, or on dfs.failed */
	int queued; /* DDM_OPEN waiting for its driver to come up */
	int64_t deadline_ms; /* queued: answered -EIO at this time */
	int64_t intr_ms;     /* DDM_INTERRUPT sent at this time; 0: not */
};

struct drv {
	struct node *node;
	char *path; /* the driver binary */
	enum drv_state state;
	int restart_now; /* respawn at once when the process is gone */
	pid_t pid;       /* 0: no process */
	int pidfd;
	struct chan *chan;
	uint64_t gen; /* bumped when an instance goes away */
	unsigned int fails;
	unsigned int restarts;
	int started_once;
	uint64_t requests;
	struct timespec started;
	int timerfd;
	enum drv_timer timer;
	struct handle *handles;
	struct evsrc ev_sock, ev_pid, ev_timer;
	int64_t heard_ms;   /* the instance's last message (now_ms()) */
	uint64_t ping_id;   /* the DDM_PING not answered yet; 0: none */
	int64_t ping_ms;    /* when it was sent */
	unsigned int bogus; /* replies to unknown ids in a row */
	int64_t log_ms;     /* start of the drv_log() window */
	unsigned int log_lines;
	unsigned long log_dropped;
};

struct node {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char name[CONF_NAME_MAX + 1];
	char path[NODE_PATH_MAX]; /* "isa0", "isa0/rtc0"; "" for the root */
	int is_dir;
	fuse_ino_t *kids;
	unsigned int n_kids;
	int bus, dev; /* indexes into the conf, -1 where not applicable */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec ctime;
	struct drv *drv;
	int cuse;              /* a char device served over CUSE */
	unsigned int rdev_maj; /* its CUSE device; 0:0 not known yet */
	unsigned int rdev_min;
	int rdev_seen;       /* the numbers were seen in this run */
	uint64_t generation; /* bumped when the rdev changes */
};

struct ddmfs {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a driver changed state */
	struct conf *conf;
	const char *conf_file;
	const char *state_dir;
	const char *driver_path; /* from the command line, or NULL */
	int verbose;
	struct perm_store *perms;
	int cuse;                 /* leaves use the CUSE transport */
	struct cdev_store *cdevs; /* CUSE device numbers, NULL under FUSE */
	int mounted;
	struct fuse_session *se;
	struct node *nodes; /* nodes[ino - 1] */
	size_t n_nodes;
	struct timespec mount_time;
	int epfd;
	int wakefd;
	int quit;
	uint64_t next_id;
	uint64_t next_fh;
	struct pend *pend[PEND_BUCKETS];
	struct pend *failed; /* out of the table, for the event thread to
	                      * answer without the lock (fwd.c) */
	int ctl_fd;
};

extern struct ddmfs dfs;

/* log.c */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void logdbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_open_syslog(void);
void log_close_stderr(void);
int log_uses_syslog(void);

/* tree.c */
struct cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
};

int tree_build(const struct conf *c, const struct perm_store *ps,
               char *const *paths, struct node **ret_nodes, size_t *ret_n);
void tree_free(struct node *nodes, size_t n);
struct node *tree_get(fuse_ino_t ino);
struct node *tree_find(const char *path);
struct node *tree_child(const struct node *dir, const char *name);
void tree_stat(const struct node *n, struct stat *st);
int tree_same_shape(const struct conf *a, const struct conf *b);
void tree_refresh(const struct conf *c, const struct perm_store *ps,
                  struct node *n);
int attr_change(const struct cred *who, mode_t *mode, uid_t *uid, gid_t *gid,
                int to_set, mode_t new_mode, uid_t new_uid, gid_t new_gid);

/* spawn.c */
char *drv_search_list(const char *cmdline_path, const struct conf *c);
char *drv_search_list_exe(const char *exe, const char *cmdline_path,
                          const struct conf *c);
int drv_lookup(const char *name, const char *dirs, char **ret_path);
int drv_prepare_state(const struct conf *c, const char *state_dir, char *why,
                      size_t whylen);
char **drv_argv(const char *path, const char *node, const char *state_dir,
                const struct conf_device *cd, int cuse, unsigned int maj,
                unsigned int min, int use_syslog);
void drv_argv_free(char **argv);
int drv_spawn(struct drv *d, int *ret_sock, int *ret_pidfd);

/* pend.c */
struct pend *pend_new(struct drv *d, fuse_req_t req, enum ddm_op op);
struct pend *pend_find(uint64_t id);
struct pend *pend_take(uint64_t id, const struct drv *d);
void pend_fail(struct pend *p, int err);
void pend_fail_drv(struct drv *d, int err);
void pend_fail_list(struct pend *list);
int64_t pend_queued(struct drv *d, int64_t now);
int64_t pend_expire(int64_t now);

/* fwd.c */
void fwd_request(struct drv *d, struct pend *p, struct ddm_msg *m,
                 const void *payload, size_t len);
void fwd_open_msg(const struct pend *p, struct ddm_msg *m);
void fwd_open_later(struct drv *d, struct pend *p);
int fwd_open_now(struct drv *d, struct pend *p);
int fwd_ping(struct drv *d);
void fwd_release(struct drv *d, uint64_t fh, uint64_t gen);
void handle_unlink(struct handle *h);
int fwd_reply(struct drv *d, const struct ddm_msg *m, const void *payload,
              char *why, size_t whylen);
struct chan *chan_new(int fd);
void chan_close(struct chan *ch);
void chan_put(struct chan *ch);

/* drv.c */
int64_t now_ms(void);
void drv_log(struct drv *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int drv_init(struct drv *d, struct node *n, const char *path);
void drv_free(struct drv *d);
void drv_start(struct drv *d);
void drv_stop(struct drv *d);
void drv_restart(struct drv *d);
void drv_fault(struct drv *d, const char *why);
int drv_hello(struct drv *d, const struct ddm_msg *m, char *why, size_t whylen);
void drv_hangup(struct drv *d);
void drv_gone(struct drv *d);
void drv_timer_fired(struct drv *d);
int64_t drv_deadlines(struct drv *d, int64_t now);
int drv_wait_running(struct drv *d, int ms);
int drv_wait_stopped(struct drv *d, int ms);
void drv_wait_cuse_up(int ms);
const char *drv_state_name(enum drv_state s);
void drv_stop_all(void);

/* cusedev.c, for drv.c (lock held) */
int drv_cuse_up(struct drv *d, char *why, size_t whylen);
void drv_cuse_early_exit(struct drv *d);

/* ev.c */
int ev_init(void);
int ev_start(void);
void ev_stop(void);
void ev_recheck(void);

/* ctl.c */
int ctl_start(void);
void ctl_stop(void);
int ctl_handle(const char *line, uid_t peer, char **ret_reply);

/* fs.c */
extern const struct fuse_lowlevel_ops fs_ops;

#endif /* DDMFS_H */
