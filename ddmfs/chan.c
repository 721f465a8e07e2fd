/*
 * chan.c: ddmfs's end of one driver socket: non-blocking sends with an
 * ordered, bounded queue behind them (chan.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"

struct chan_msg {
	struct chan_msg *next;
	size_t len;
	char data[]; /* one packed packet */
};

int
chan_new(int fd, struct chan **ret)
{
	struct chan *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return -ENOMEM;
	ch->fd = fd;
	atomic_init(&ch->refs, 1);
	pthread_mutex_init(&ch->lock, NULL);
	*ret = ch;
	return 0;
}

void
chan_get(struct chan *ch)
{
	atomic_fetch_add(&ch->refs, 1);
}

static void
drop_queue(struct chan *ch)
{
	struct chan_msg *q;

	while ((q = ch->head) != NULL) {
		ch->head = q->next;
		free(q);
	}
	ch->tail = NULL;
	ch->q_bytes = 0;
	ch->q_len = 0;
	ch->stalled_since = 0;
}

void
chan_put(struct chan *ch)
{
	if (ch == NULL || atomic_fetch_sub(&ch->refs, 1) != 1)
		return;
	drop_queue(ch);
	close(ch->fd);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

void
chan_close(struct chan *ch)
{
	if (ch == NULL)
		return;
	pthread_mutex_lock(&ch->lock);
	ch->dead = true;
	drop_queue(ch);
	pthread_mutex_unlock(&ch->lock);
	shutdown(ch->fd, SHUT_RDWR);
	chan_put(ch);
}

/* One non-blocking send: 0, -EAGAIN (full) or -EPIPE. */
static int
try_send(struct chan *ch, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(ch->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -EAGAIN;
	if (errno == ENOBUFS || errno == ENOMEM)
		return -EAGAIN; /* memory pressure: like a full socket */
	return -EPIPE;
}

/* Sends queued messages in order while the socket takes them (ch->lock
 * held): 0 when the queue is empty, 1 if not, -EPIPE. */
static int
flush_locked(struct chan *ch, int64_t now)
{
	struct chan_msg *q;
	int r;

	while ((q = ch->head) != NULL) {
		r = try_send(ch, q->data, q->len);
		if (r == -EAGAIN)
			return 1;
		if (r < 0)
			return r;
		ch->head = q->next;
		if (ch->head == NULL)
			ch->tail = NULL;
		ch->q_bytes -= q->len;
		ch->q_len--;
		/* progress: the wait starts again for the next one */
		ch->stalled_since = ch->head != NULL ? now : 0;
		free(q);
	}
	return 0;
}

/* Appends one packed packet to the queue (ch->lock held): 1 (queued),
 * -EBUSY (full) or -ENOMEM. */
static int
enqueue(struct chan *ch, const void *buf, size_t n, int64_t now)
{
	struct chan_msg *q;

	if (ch->q_bytes + n > CHAN_QUEUE_MAX_BYTES)
		return -EBUSY;
	q = malloc(sizeof(*q) + n);
	if (q == NULL)
		return -ENOMEM;
	q->next = NULL;
	q->len = n;
	memcpy(q->data, buf, n);
	if (ch->tail != NULL)
		ch->tail->next = q;
	else
		ch->head = q;
	ch->tail = q;
	ch->q_bytes += n;
	ch->q_len++;
	if (ch->stalled_since == 0)
		ch->stalled_since = now > 0 ? now : 1;
	return 1;
}

int
chan_send(struct chan *ch, struct ddm_msg *m, const void *payload, size_t len,
          int64_t now)
{
	static __thread char buf[DDM_MSG_MAX];
	long n = ddm_msg_pack(buf, sizeof(buf), m, payload, len);
	int r;

	if (n < 0)
		return (int)n;
	pthread_mutex_lock(&ch->lock);
	if (ch->dead)
		r = -EPIPE;
	else if (ch->head == NULL &&
	         (r = try_send(ch, buf, (size_t)n)) != -EAGAIN)
		; /* sent, or the peer is gone */
	else
		r = enqueue(ch, buf, (size_t)n, now);
	pthread_mutex_unlock(&ch->lock);
	return r;
}

void
chan_queue_each(struct chan *ch,
                void (*fn)(const void *data, size_t len, void *arg), void *arg)
{
	pthread_mutex_lock(&ch->lock);
	for (struct chan_msg *q = ch->head; q != NULL; q = q->next)
		fn(q->data, q->len, arg);
	pthread_mutex_unlock(&ch->lock);
}

int
chan_queue_raw(struct chan *ch, const void *data, size_t len, int64_t now)
{
	int r;

	pthread_mutex_lock(&ch->lock);
	r = enqueue(ch, data, len, now);
	pthread_mutex_unlock(&ch->lock);
	return r < 0 ? r : 0;
}

int
chan_flush(struct chan *ch, int64_t now)
{
	int r;

	pthread_mutex_lock(&ch->lock);
	r = ch->dead ? -EPIPE : flush_locked(ch, now);
	pthread_mutex_unlock(&ch->lock);
	return r;
}

bool
chan_backlog(struct chan *ch)
{
	bool r;

	pthread_mutex_lock(&ch->lock);
	r = ch->head != NULL;
	pthread_mutex_unlock(&ch->lock);
	return r;
}

int64_t
chan_stalled_since(struct chan *ch)
{
	int64_t t;

	pthread_mutex_lock(&ch->lock);
	t = ch->stalled_since;
	pthread_mutex_unlock(&ch->lock);
	return t;
}

ssize_t
chan_recv(struct chan *ch, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(ch->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN
		                                               : -EPIPE;
	if (n == 0)
		return -EPIPE;
	return n;
}
