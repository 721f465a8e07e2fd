/*
 * chan.h: ddmfs's end of one driver socket (SOCK_SEQPACKET).
 *
 * Sends never block.  A message the socket cannot take now is queued, in
 * order, and every later one queues behind it until the event thread
 * flushes the queue (it watches EPOLLOUT while chan_backlog() is true).
 * The queue is bounded (CHAN_QUEUE_MAX_BYTES); a send to a full queue
 * fails with -EBUSY at once.  chan_stalled_since() tells how long the
 * driver has left its socket unread, so its supervisor can give up on it.
 * Receiving is the event thread's alone and needs no lock.
 *
 * A channel is reference-counted: whoever sends takes a reference under
 * the driver's lock and may send after dropping it; the channel is freed
 * (and its socket closed) with the last reference.
 */
#ifndef DDMFS_CHAN_H
#define DDMFS_CHAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ddm_proto.h"

#define CHAN_QUEUE_MAX_BYTES (16u << 20) /* queued bytes per driver */

struct chan_msg;

struct chan {
	int fd;
	atomic_uint refs;
	pthread_mutex_t lock; /* the queue and the order of sends */
	struct chan_msg *head, *tail;
	size_t q_bytes;
	unsigned int q_len;
	int64_t stalled_since; /* a send first found the socket full; 0: no */
	bool dead;             /* closed: sends fail with -EPIPE */
};

/* A channel on fd (which it owns from now on): 0 or -ENOMEM. */
int chan_new(int fd, struct chan **ret);
void chan_get(struct chan *ch);
/* Drops a reference; the last closes the socket.  NULL is fine. */
void chan_put(struct chan *ch);
/* Marks ch dead (queued messages are dropped), shuts the socket down so
 * the driver sees the hangup, and drops the owner's reference. */
void chan_close(struct chan *ch);

/*
 * Sends m and len payload bytes (m->len is set) at time now, or queues
 * them behind earlier ones.  Returns 0 (sent), 1 (queued: the event thread
 * must flush), -EBUSY (queue full), -EPIPE (dead or the peer is gone),
 * -EMSGSIZE, -ENOMEM.
 */
int chan_send(struct chan *ch, struct ddm_msg *m, const void *payload,
              size_t len, int64_t now);
/* Sends what is queued, as far as the socket takes it: 0 (all gone), 1
 * (some still queued) or -EPIPE. */
int chan_flush(struct chan *ch, int64_t now);
/* Whether messages wait in the queue. */
bool chan_backlog(struct chan *ch);
/* When the oldest queued message first met a full socket; 0: none waits. */
int64_t chan_stalled_since(struct chan *ch);
/* Calls fn on each queued packet, oldest first (for an upgrade). */
void chan_queue_each(struct chan *ch,
                     void (*fn)(const void *data, size_t len, void *arg),
                     void *arg);
/* Appends a packet as chan_queue_each() gave it: 0, -EBUSY (the queue
 * is full) or -ENOMEM. */
int chan_queue_raw(struct chan *ch, const void *data, size_t len, int64_t now);
/* Receives one packet into buf (cap bytes) without waiting: its size (a
 * size above cap means it was cut), -EAGAIN, or -EPIPE on hangup. */
ssize_t chan_recv(struct chan *ch, void *buf, size_t cap);

#endif /* DDMFS_CHAN_H */
