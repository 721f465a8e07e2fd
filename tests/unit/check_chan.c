/*
 * check_chan.c: unit tests for ddmfs's end of a driver socket
 * (ddmfs/chan.c), on a real SOCK_SEQPACKET socketpair: sends that go
 * through, sends that queue in order once the peer stops reading and go
 * out in order when it reads again, the queue's bound, when the stall
 * began, dead channels, receiving, and the reference count that closes
 * the socket.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"

#define FILL_MAX 100000 /* a socket takes fewer sends than this */

static int peer = -1; /* the driver's end */
static struct chan *ch;

static void
setup(void)
{
	int sv[2];

	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(chan_new(sv[0], &ch), 0);
	ck_assert_ptr_nonnull(ch);
	peer = sv[1];
}

static void
teardown(void)
{
	chan_put(ch);
	ch = NULL;
	if (peer >= 0)
		close(peer);
	peer = -1;
}

/* Sends a DDM_PING with id at time now: chan_send()'s result. */
static int
ping(uint64_t id, int64_t now)
{
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_PING, id, 0);
	return chan_send(ch, &m, NULL, 0, now);
}

/* Reads one packet from fd without waiting: its id, 0 if none. */
static uint64_t
read_id(int fd)
{
	static char buf[DDM_MSG_MAX];
	const void *payload;
	struct ddm_msg m;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return 0;
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ddm_msg_unpack(buf, (size_t)n, &m, &payload), 0);
	return m.id;
}

/* The same at the peer. */
static uint64_t
peer_read_id(void)
{
	return read_id(peer);
}

/* Sends pings 1, 2, ... at time now until one is queued: its id. */
static uint64_t
fill(int64_t now)
{
	for (uint64_t id = 1; id < FILL_MAX; id++) {
		int r = ping(id, now);

		if (r == 1)
			return id;
		ck_assert_int_eq(r, 0);
	}
	ck_abort_msg("the socket never filled");
	return 0;
}

START_TEST(test_chan_send_goes_through_with_its_payload)
{
	static char buf[DDM_MSG_MAX];
	const void *payload;
	struct ddm_msg m, got;
	ssize_t n;

	ddm_msg_init(&m, DDM_WRITE, 42, 7);
	ck_assert_int_eq(chan_send(ch, &m, "abc", 3, 10), 0);
	ck_assert_uint_eq(m.len, 3);
	ck_assert_int_eq(chan_backlog(ch), 0);
	ck_assert_int_eq(chan_stalled_since(ch), 0);
	n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_int_eq(n, (ssize_t)sizeof(m) + 3);
	ck_assert_int_eq(ddm_msg_unpack(buf, (size_t)n, &got, &payload), 0);
	ck_assert_uint_eq(got.op, DDM_WRITE);
	ck_assert_uint_eq(got.id, 42);
	ck_assert_uint_eq(got.fh, 7);
	ck_assert_int_eq(memcmp(payload, "abc", 3), 0);
}
END_TEST

START_TEST(test_chan_sends_queue_in_order_and_flush_delivers_them_in_order)
{
	uint64_t first = fill(100), last, want = 1, id;
	int r;

	/* everything after the first queued message queues behind it */
	for (last = first + 1; last < first + 20; last++)
		ck_assert_int_eq(ping(last, 100), 1);
	last--;
	ck_assert_int_eq(chan_backlog(ch), 1);
	ck_assert_uint_eq(ch->q_len, last - first + 1);
	/* the peer empties the socket: a new send still waits its turn */
	while ((id = peer_read_id()) != 0)
		ck_assert_uint_eq(id, want++);
	ck_assert_uint_eq(want, first);
	ck_assert_int_eq(ping(++last, 100), 1);
	/* the peer reads on: flushes deliver the rest in order */
	for (int rounds = 0; want <= last; rounds++) {
		ck_assert_int_lt(rounds, FILL_MAX);
		r = chan_flush(ch, 200);
		ck_assert_int_ge(r, 0);
		while ((id = peer_read_id()) != 0)
			ck_assert_uint_eq(id, want++);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(chan_backlog(ch), 0);
	ck_assert_uint_eq(ch->q_len, 0);
	ck_assert_uint_eq(ch->q_bytes, 0);
	/* with the queue empty, sends go straight out again */
	ck_assert_int_eq(ping(last + 1, 300), 0);
	ck_assert_uint_eq(peer_read_id(), last + 1);
}
END_TEST

START_TEST(test_chan_stalled_since_is_the_first_block_and_reset_by_progress)
{
	uint64_t id;

	ck_assert_int_eq(chan_stalled_since(ch), 0);
	id = fill(100);
	ck_assert_int_eq(chan_stalled_since(ch), 100);
	/* later sends that queue do not move it */
	for (int i = 1; i <= 30; i++)
		ck_assert_int_eq(ping(id + i, 150 + i), 1);
	ck_assert_int_eq(chan_stalled_since(ch), 100);
	/* a flush that finds the socket still full changes nothing */
	ck_assert_int_eq(chan_flush(ch, 200), 1);
	ck_assert_int_eq(chan_stalled_since(ch), 100);
	/* room for one: progress, and the wait starts again */
	ck_assert_uint_eq(peer_read_id(), 1);
	ck_assert_int_eq(chan_flush(ch, 300), 1);
	ck_assert_int_eq(chan_stalled_since(ch), 300);
	/* all gone: no stall */
	while (chan_flush(ch, 400) == 1)
		while (peer_read_id() != 0)
			;
	ck_assert_int_eq(chan_stalled_since(ch), 0);
	ck_assert_int_eq(chan_backlog(ch), 0);
}
END_TEST

START_TEST(test_chan_recv_takes_one_packet_without_waiting)
{
	char buf[64];

	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(send(peer, "hello", 5, 0), 5);
	ck_assert_int_eq(send(peer, "again!", 6, 0), 6);
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), 6);
	ck_assert_int_eq(memcmp(buf, "again!", 6), 0);
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), -EAGAIN);
	close(peer);
	peer = -1;
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), -EPIPE);
}
END_TEST

START_TEST(test_chan_refcount_closes_the_socket_on_the_last_put)
{
	char c;

	chan_get(ch);
	chan_get(ch);
	chan_put(ch);
	chan_put(ch);
	/* the owner's reference still holds it open */
	ck_assert_int_eq(recv(peer, &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ping(1, 10), 0);
	ck_assert_uint_eq(peer_read_id(), 1);
	chan_put(ch);
	ch = NULL;
	/* the last one closed it: the driver sees the hangup */
	ck_assert_int_eq(recv(peer, &c, 1, MSG_DONTWAIT), 0);
	chan_put(NULL);
}
END_TEST

START_TEST(test_chan_close_makes_it_dead_and_the_driver_sees_the_hangup)
{
	static char buf[DDM_MSG_MAX];
	struct chan *held = ch;
	uint64_t first;
	unsigned int got = 0;
	ssize_t n;

	first = fill(100);
	ck_assert_int_eq(chan_backlog(ch), 1);
	chan_get(held); /* a sender still holds it */
	chan_close(ch);
	ch = held;
	ck_assert_int_eq(ping(FILL_MAX + 1, 200), -EPIPE);
	ck_assert_int_eq(chan_flush(ch, 200), -EPIPE);
	/* the queue is dropped: nothing more goes out */
	ck_assert_int_eq(chan_backlog(ch), 0);
	ck_assert_int_eq(chan_stalled_since(ch), 0);
	/* the driver gets what was sent before, then the hangup */
	while ((n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		got++;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(got, first - 1);
	chan_close(NULL);
}
END_TEST

START_TEST(test_chan_send_to_a_peer_that_is_gone_is_epipe)
{
	close(peer);
	peer = -1;
	ck_assert_int_eq(ping(1, 10), -EPIPE);
	ck_assert_int_eq(chan_backlog(ch), 0);
}
END_TEST

START_TEST(test_chan_queue_bound_gives_ebusy_and_changes_nothing)
{
	static char big[DDM_PAYLOAD_MAX];
	struct ddm_msg m;
	size_t bytes;
	unsigned int len, i;
	int r = 0;

	fill(100);
	for (i = 0; i < 2 * CHAN_QUEUE_MAX_BYTES / DDM_PAYLOAD_MAX; i++) {
		ddm_msg_init(&m, DDM_WRITE, FILL_MAX + i, 0);
		r = chan_send(ch, &m, big, sizeof(big), 200);
		if (r != 1)
			break;
	}
	ck_assert_int_eq(r, -EBUSY);
	/* it stopped at the bound, not before */
	ck_assert_uint_le(ch->q_bytes, CHAN_QUEUE_MAX_BYTES);
	ck_assert_uint_gt(ch->q_bytes + sizeof(m) + sizeof(big),
	                  CHAN_QUEUE_MAX_BYTES);
	bytes = ch->q_bytes;
	len = ch->q_len;
	ddm_msg_init(&m, DDM_WRITE, 1, 0);
	ck_assert_int_eq(chan_send(ch, &m, big, sizeof(big), 300), -EBUSY);
	ck_assert_uint_eq(ch->q_bytes, bytes);
	ck_assert_uint_eq(ch->q_len, len);
	ck_assert_int_eq(chan_stalled_since(ch), 100);
}
END_TEST

START_TEST(test_chan_send_of_an_oversized_payload_is_emsgsize)
{
	static char big[DDM_PAYLOAD_MAX + 1];
	struct ddm_msg m;

	ddm_msg_init(&m, DDM_WRITE, 1, 0);
	ck_assert_int_eq(chan_send(ch, &m, big, sizeof(big), 10), -EMSGSIZE);
	ck_assert_int_eq(chan_backlog(ch), 0);
	ck_assert_uint_eq(peer_read_id(), 0);
}
END_TEST

START_TEST(test_chan_recv_of_a_packet_bigger_than_the_buffer_says_its_size)
{
	char big[200] = { 0 }, buf[16];

	ck_assert_int_eq(send(peer, big, sizeof(big), 0), (ssize_t)sizeof(big));
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), (ssize_t)sizeof(big));
	/* the rest of the packet is gone, not read next */
	ck_assert_int_eq(chan_recv(ch, buf, sizeof(buf)), -EAGAIN);
}
END_TEST

/* chan_queue_each() callback: queues each packet on the channel arg. */
static void
carry(const void *data, size_t len, void *arg)
{
	ck_assert_int_eq(chan_queue_raw(arg, data, len, 500), 0);
}

START_TEST(test_chan_queue_carries_over_to_a_new_channel_in_order)
{
	struct chan *next;
	uint64_t first = fill(100), last = first + 5, want = first, id;
	struct ddm_msg m;
	int sv[2];

	for (id = first + 1; id <= last; id++)
		ck_assert_int_eq(ping(id, 100), 1);
	/* an upgrade: the queue goes over to the new ddmfs's channel */
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(chan_new(sv[0], &next), 0);
	chan_queue_each(ch, carry, next);
	ck_assert_uint_eq(next->q_len, last - first + 1);
	ck_assert_uint_eq(next->q_bytes, ch->q_bytes);
	ck_assert_int_eq(chan_backlog(next), 1);
	ck_assert_int_eq(chan_stalled_since(next), 500);
	/* a new message waits behind the carried ones, though there is room */
	ddm_msg_init(&m, DDM_PING, last + 1, 0);
	ck_assert_int_eq(chan_send(next, &m, NULL, 0, 600), 1);
	ck_assert_uint_eq(read_id(sv[1]), 0);
	ck_assert_int_eq(chan_flush(next, 700), 0);
	while ((id = read_id(sv[1])) != 0)
		ck_assert_uint_eq(id, want++);
	ck_assert_uint_eq(want, last + 2);
	chan_put(next);
	close(sv[1]);
}
END_TEST

static Suite *
chan_suite(void)
{
	Suite *s = suite_create("chan");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_chan_send_goes_through_with_its_payload);
	tcase_add_test(
	        core,
	        test_chan_sends_queue_in_order_and_flush_delivers_them_in_order);
	tcase_add_test(
	        core,
	        test_chan_stalled_since_is_the_first_block_and_reset_by_progress);
	tcase_add_test(core, test_chan_recv_takes_one_packet_without_waiting);
	tcase_add_test(core,
	               test_chan_refcount_closes_the_socket_on_the_last_put);
	tcase_add_test(
	        core,
	        test_chan_close_makes_it_dead_and_the_driver_sees_the_hangup);
	tcase_add_test(core,
	               test_chan_queue_carries_over_to_a_new_channel_in_order);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_chan_send_to_a_peer_that_is_gone_is_epipe);
	tcase_add_test(limits,
	               test_chan_queue_bound_gives_ebusy_and_changes_nothing);
	tcase_add_test(limits,
	               test_chan_send_of_an_oversized_payload_is_emsgsize);
	tcase_add_test(
	        limits,
	        test_chan_recv_of_a_packet_bigger_than_the_buffer_says_its_size);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
