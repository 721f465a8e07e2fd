/*
 * check_kbd.c: unit tests of drivers/kbd: the set-1 translator as a pure
 * state machine, and the driver against the sim i8042, keyboard and mouse.
 *
 * libdriver's reply, timer, poll-notify, handle, node, port and log calls
 * are replaced by fakes that record what the driver asked for.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddm_driver.h"
#include "ddm_io.h"

struct ddm_req {
	size_t size; /* bytes the reader asked for */
	int replied;
	long result;
	char data[256];
};

static int notified;        /* ddm_poll_notify() calls */
static uint64_t last_delay; /* the last timer delay asked for */
static int timers_live;

static void
fake_reply(struct ddm_req *r, long result, const void *data, size_t len)
{
	ck_assert_int_eq(r->replied, 0);
	ck_assert_uint_le(len, sizeof(r->data));
	r->replied = 1;
	r->result = result;
	memcpy(r->data, data, len);
}

static size_t
fake_req_size(struct ddm_req *r)
{
	return r->size;
}

static void
fake_poll_notify(struct ddm_handle *h)
{
	notified++;
}

static int
fake_timer_add(struct ddm_dev *dev, uint64_t delay_us, ddm_timer_fn *fn,
               void *arg)
{
	last_delay = delay_us;
	return ++timers_live;
}

static void
fake_timer_cancel(struct ddm_dev *dev, int id)
{
	timers_live--;
}

/* The handles open_h() opened; released ones have priv NULL. */
static struct ddm_handle *opened[16];
static size_t n_opened;

static void
fake_each_handle(struct ddm_dev *dev, struct ddm_node *n,
                 void (*fn)(struct ddm_handle *h, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < n_opened; i++)
		if (opened[i]->priv != NULL &&
		    (n == NULL || opened[i]->node == n))
			fn(opened[i], arg);
}

static void
notify_one(struct ddm_handle *h, void *arg)
{
	fake_poll_notify(h);
}

static void
fake_poll_notify_node(struct ddm_node *n)
{
	if (n != NULL)
		fake_each_handle(NULL, n, notify_one, NULL);
}

/* The port ranges ddm_ports() gives. */
static struct {
	uint16_t base, len;
} grants[4];
static unsigned int n_grants;

static int
fake_ports(struct ddm_dev *dev, unsigned int i, uint16_t *ret_base,
           uint16_t *ret_len)
{
	if (i >= n_grants)
		return -ENOENT;
	*ret_base = grants[i].base;
	*ret_len = grants[i].len;
	return 0;
}

/* The instance's nodes, as ddm_node_count() and ddm_node_at() give them. */
static struct ddm_node kbd_node = { .name = "kbd0", .kind = 0 };
static struct ddm_node aux_node = { .name = "aux0", .index = 1, .kind = 1 };
static struct ddm_node *fake_nodes[3];
static unsigned int n_nodes;

static unsigned int
fake_node_count(struct ddm_dev *dev)
{
	return n_nodes;
}

static struct ddm_node *
fake_node_at(struct ddm_dev *dev, unsigned int i)
{
	return i < n_nodes ? fake_nodes[i] : NULL;
}

static char last_log[256]; /* the last line the driver logged */

static void
fake_log(struct ddm_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

#define ddm_reply            fake_reply
#define ddm_req_size         fake_req_size
#define ddm_poll_notify      fake_poll_notify
#define ddm_poll_notify_node fake_poll_notify_node
#define ddm_each_handle      fake_each_handle
#define ddm_timer_add        fake_timer_add
#define ddm_timer_cancel     fake_timer_cancel
#define ddm_ports            fake_ports
#define ddm_node_count       fake_node_count
#define ddm_node_at          fake_node_at
#define ddm_log              fake_log
#define main                 kbd_main_unused
#include "kbd.c"
#include "kbdmap.c"
#undef main

static struct io *sim;
static struct kbd_softc sc;

/* Runs bytes through a translator; returns all the text, NUL-ended. */
static const char *
xl(struct kbd_xlate *kx, const uint8_t *b, size_t n)
{
	static char out[256];
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		len += kbd_xlate(kx, b[i], out + len);
		ck_assert_uint_lt(len, sizeof(out) - KBD_XLATE_MAX);
	}
	out[len] = '\0';
	return out;
}

#define XL(...)                                                                \
	({                                                                     \
		static const uint8_t b_[] = { __VA_ARGS__ };                   \
		struct kbd_xlate kx_ = { 0 };                                  \
		xl(&kx_, b_, sizeof(b_));                                      \
	})

START_TEST(test_kbd_xlate_make_gives_char_break_nothing)
{
	ck_assert_str_eq(XL(0x1e), "a");
	ck_assert_str_eq(XL(0x9e), "");
	ck_assert_str_eq(XL(0x23, 0xa3, 0x17, 0x97), "hi");
	ck_assert_str_eq(XL(0x32, 0x2c, 0x10, 0x26), "mzql");
}
END_TEST

START_TEST(test_kbd_xlate_both_shifts)
{
	ck_assert_str_eq(XL(0x2a, 0x1e, 0xaa, 0x1e), "Aa");
	ck_assert_str_eq(XL(0x36, 0x02, 0xb6, 0x02), "!1");
	ck_assert_str_eq(XL(0x2a, 0x36, 0xaa, 0x03, 0xb6, 0x03), "@2");
}
END_TEST

START_TEST(test_kbd_xlate_caps_lock_toggles_on_make_only)
{
	ck_assert_str_eq(XL(0x3a, 0xba, 0x1e, 0x02), "A1");
	ck_assert_str_eq(XL(0x3a, 0xba, 0x2a, 0x1e, 0xaa), "a");
	/* A held Caps Lock repeats its make code: one toggle. */
	ck_assert_str_eq(XL(0x3a, 0x3a, 0xba, 0x1e), "A");
	ck_assert_str_eq(XL(0x3a, 0xba, 0x3a, 0xba, 0x1e), "a");
}
END_TEST

START_TEST(test_kbd_xlate_ctrl_letters_are_control_codes)
{
	ck_assert_str_eq(XL(0x1d, 0x2e, 0x9d, 0x2e), "\x03"
	                                             "c");
	ck_assert_str_eq(XL(0x1d, 0x2c, 0x9d), "\x1a");
	ck_assert_str_eq(XL(0xe0, 0x1d, 0x1e, 0xe0, 0x9d, 0x1e), "\x01"
	                                                         "a");
	ck_assert_str_eq(XL(0x1d, 0x1a, 0x9d), "\x1b");
}
END_TEST

START_TEST(test_kbd_xlate_special_keys)
{
	ck_assert_str_eq(XL(0x1c, 0x0e, 0x0f, 0x01, 0x39), "\n\x7f\t\033 ");
	ck_assert_str_eq(XL(0x3b), "\033OP");
	ck_assert_str_eq(XL(0x58), "\033[24~");
	ck_assert_str_eq(XL(0x4f, 0x52, 0x53), "10.");
}
END_TEST

START_TEST(test_kbd_xlate_digits_and_punctuation)
{
	ck_assert_str_eq(
	        XL(0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b),
	        "1234567890");
	ck_assert_str_eq(XL(0x0c, 0x0d, 0x1a, 0x1b, 0x27, 0x28, 0x29, 0x2b,
	                    0x33, 0x34, 0x35),
	                 "-=[];'`\\,./");
	ck_assert_str_eq(XL(0x2a, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	                    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1a, 0x1b, 0x27,
	                    0x28, 0x29, 0x2b, 0x33, 0x34, 0x35),
	                 "!@#$%^&*()_+{}:\"~|<>?");
}
END_TEST

START_TEST(test_kbd_xlate_e0_arrows_and_editing_keys)
{
	ck_assert_str_eq(
	        XL(0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x50, 0xe0, 0x4d, 0xe0, 0x4b),
	        "\033[A\033[B\033[C\033[D");
	ck_assert_str_eq(XL(0xe0, 0x47, 0xe0, 0x4f, 0xe0, 0x53),
	                 "\033[H\033[F\033[3~");
	ck_assert_str_eq(XL(0xe0, 0x1c, 0xe0, 0x9c), "\n");
	/* Without the prefix the same codes are the keypad. */
	ck_assert_str_eq(XL(0x48, 0x50), "82");
}
END_TEST

START_TEST(test_kbd_xlate_right_alt_and_ctrl_are_modifiers)
{
	ck_assert_str_eq(XL(0xe0, 0x38, 0x1e, 0xe0, 0xb8, 0x1e), "\033a"
	                                                         "a");
	ck_assert_str_eq(XL(0x38, 0x30, 0xb8, 0x30), "\033b"
	                                             "b");
}
END_TEST

START_TEST(test_kbd_xlate_fake_shifts_are_ignored)
{
	ck_assert_str_eq(
	        XL(0xe0, 0x2a, 0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0xaa, 0x1e),
	        "\033[Aa");
	ck_assert_str_eq(XL(0xe0, 0x36, 0x1e, 0xe0, 0xb6), "a");
	ck_assert_str_eq(XL(0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa),
	                 "");
}
END_TEST

START_TEST(test_kbd_xlate_garbage_bytes_are_ignored)
{
	ck_assert_str_eq(XL(0x00, 0xff, 0x1e, 0xff, 0x00, 0x30), "ab");
	ck_assert_str_eq(XL(0x2a, 0xff, 0x1e, 0xaa), "A");
}
END_TEST

START_TEST(test_kbd_xlate_truncated_e0_loses_no_key)
{
	ck_assert_str_eq(XL(0xe0, 0x1e, 0x30), "ab");
	ck_assert_str_eq(XL(0xe0, 0x9e, 0x30), "b");
}
END_TEST

START_TEST(test_kbd_xlate_e0_e0_keeps_one_prefix)
{
	ck_assert_str_eq(XL(0xe0, 0xe0, 0x48, 0x48), "\033[A8");
}
END_TEST

START_TEST(test_kbd_xlate_pause_sequence_is_swallowed)
{
	/* Its 1d must not leave Ctrl held. */
	ck_assert_str_eq(XL(0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, 0x1e), "a");
	ck_assert_str_eq(XL(0xe0, 0xe1, 0x1d, 0x45, 0x30), "b");
}
END_TEST

static void
setup(void)
{
	struct io_opts o = { .backend = "sim", .name = "kbd0" };

	ck_assert_int_eq(io_open(&o, &sim), 0);
	memset(&sc, 0, sizeof(sc));
	notified = 0;
	n_opened = 0;
	sc.sc_kbd = &kbd_node;
	ck_assert_int_eq(kbd_attach(&sc, NULL, sim, 0x60, 0x64), 0);
}

static void
teardown(void)
{
	kbd_detach(&sc);
	io_close(sim);
}

static void
feed(const void *b, size_t n)
{
	ck_assert_int_eq(io_sim_feed(sim, 0x60, b, n), n);
}

/* Polls until the controller is empty; returns the bytes taken. */
static int
poll_all(void)
{
	int n, total = 0;

	while ((n = kbd_poll_once(&sc)) > 0)
		total += n;
	ck_assert_int_eq(n, 0);
	return total;
}

/* Opens h on node n; the fake ddm_each_handle() then sees it. */
static void
open_node(struct ddm_handle *h, struct ddm_node *n, int flags)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	h->sc = &sc;
	h->node = n;
	h->flags = flags;
	ck_assert_int_eq(kbd_open(h), 0);
	for (i = 0; i < n_opened && opened[i] != h; i++)
		;
	if (i == n_opened) {
		ck_assert_uint_lt(n_opened, sizeof(opened) / sizeof(opened[0]));
		opened[n_opened++] = h;
	}
}

static void
open_h(struct ddm_handle *h, int flags)
{
	open_node(h, &kbd_node, flags);
}

static void
set_mode(struct ddm_handle *h, unsigned long mode)
{
	struct ddm_ioctl io = { .cmd = KDSKBMODE, .arg = mode };

	ck_assert_int_eq(kbd_ioctl(h, NULL, &io), 0);
}

static int
get_mode(struct ddm_handle *h)
{
	int v = -1;
	struct ddm_ioctl io = { .cmd = KDGKBMODE,
		                .out = &v,
		                .out_len = sizeof(v) };

	ck_assert_int_eq(kbd_ioctl(h, NULL, &io), 0);
	ck_assert_uint_eq(io.out_len, sizeof(int));
	return v;
}

static const uint8_t hi[] = { 0x23, 0xa3, 0x17, 0x97 };

START_TEST(test_kbd_attach_sets_command_byte_and_enables_keyboard)
{
	uint8_t cb = 0;

	ck_assert_int_eq(i8042_command(&sc, KBC_RCB), 0);
	ck_assert_int_eq(i8042_wait(&sc, KBS_OBF, KBS_OBF), 0);
	ck_assert_int_eq(i8042_read_data(&sc, &cb), 0);
	ck_assert_uint_eq(cb & (KBCB_XLATE | KBCB_SYS), KBCB_XLATE | KBCB_SYS);
	ck_assert_uint_eq(cb & (KBCB_KBDINT | KBCB_KBDDIS), 0);
	ck_assert_int_eq(i8042_command(&sc, KBC_PULSE_RESET), -EINVAL);
}
END_TEST

START_TEST(test_kbd_text_and_raw_handles_get_hi)
{
	struct ddm_handle ht, hr;
	uint8_t buf[64];

	open_h(&ht, 0);
	open_h(&hr, 0);
	set_mode(&hr, K_RAW);
	feed(hi, sizeof(hi));
	ck_assert_int_eq(poll_all(), 4);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(kbd_read(&ht, NULL, buf, sizeof(buf), 0), 2);
	ck_assert_str_eq((char *)buf, "hi");
	ck_assert_int_eq(kbd_read(&hr, NULL, buf, sizeof(buf), 0), 4);
	ck_assert_mem_eq(buf, hi, 4);
	ck_assert_int_eq(notified, 2);
	kbd_release(&ht);
	kbd_release(&hr);
	ck_assert_uint_eq(sc.sc_nopen[KBD_KIND_KBD], 0);
}
END_TEST

START_TEST(test_kbd_two_handles_both_get_every_key)
{
	struct ddm_handle h1, h2;
	char b1[16] = { 0 }, b2[16] = { 0 };

	open_h(&h1, 0);
	open_h(&h2, 0);
	feed(hi, sizeof(hi));
	poll_all();
	ck_assert_int_eq(kbd_read(&h1, NULL, b1, 1, 0), 1);
	ck_assert_int_eq(kbd_read(&h1, NULL, b1 + 1, 15, 0), 1);
	ck_assert_int_eq(kbd_read(&h2, NULL, b2, 16, 0), 2);
	ck_assert_str_eq(b1, "hi");
	ck_assert_str_eq(b2, "hi");
	kbd_release(&h1);
	kbd_release(&h2);
}
END_TEST

START_TEST(test_kbd_keys_with_no_handle_open_are_dropped)
{
	static const uint8_t a[] = { 0x1e, 0x9e }, b[] = { 0x30, 0xb0 };
	struct ddm_handle h;
	char buf[16] = { 0 };

	feed(a, sizeof(a));
	ck_assert_int_eq(poll_all(), 2);
	open_h(&h, 0);
	feed(b, sizeof(b));
	poll_all();
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 1);
	ck_assert_str_eq(buf, "b");
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_read_suspends_until_keys_arrive)
{
	struct ddm_handle h;
	struct ddm_req r = { .size = 64 };

	open_h(&h, 0);
	ck_assert_int_eq(kbd_read(&h, &r, r.data, r.size, 0), DDM_SUSPEND);
	ck_assert_int_eq(kbd_poll(&h) & POLLIN, 0);
	ck_assert_int_eq(poll_all(), 0);
	ck_assert_int_eq(r.replied, 0);
	feed(hi, sizeof(hi));
	poll_all();
	ck_assert_int_eq(r.replied, 1);
	ck_assert_int_eq(r.result, 2);
	ck_assert_mem_eq(r.data, "hi", 2);
	ck_assert_int_eq(kbd_poll(&h) & POLLIN, 0); /* all handed out */
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_suspended_read_gets_at_most_its_size)
{
	struct ddm_handle h;
	struct ddm_req r = { .size = 1 };
	char buf[16] = { 0 };

	open_h(&h, 0);
	ck_assert_int_eq(kbd_read(&h, &r, buf, 1, 0), DDM_SUSPEND);
	feed(hi, sizeof(hi));
	poll_all();
	ck_assert_int_eq(r.result, 1);
	ck_assert_int_eq(r.data[0], 'h');
	ck_assert_uint_eq(kbd_poll(&h), POLLIN | POLLRDNORM);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 1);
	ck_assert_str_eq(buf, "i");
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_nonblocking_read_with_nothing_queued_is_eagain)
{
	struct ddm_handle h;
	char buf[16];

	open_h(&h, O_RDONLY | O_NONBLOCK);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), -EAGAIN);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, 0, 0), 0);
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_cancel_drops_suspended_read)
{
	struct ddm_handle h;
	struct ddm_req r = { .size = 64 };
	char buf[16] = { 0 };

	open_h(&h, 0);
	ck_assert_int_eq(kbd_read(&h, &r, buf, r.size, 0), DDM_SUSPEND);
	kbd_cancel(&h, &r);
	feed(hi, sizeof(hi));
	poll_all();
	ck_assert_int_eq(r.replied, 0);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 2);
	ck_assert_str_eq(buf, "hi");
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_write_is_einval)
{
	struct ddm_handle h;

	open_h(&h, 0);
	ck_assert_int_eq(kbd_write(&h, NULL, "x", 1, 0), -EINVAL);
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_mode_ioctls)
{
	struct ddm_handle h;
	struct ddm_ioctl io = { .cmd = KDSKBMODE };

	open_h(&h, 0);
	ck_assert_int_eq(get_mode(&h), K_UNICODE);
	set_mode(&h, K_RAW);
	ck_assert_int_eq(get_mode(&h), K_RAW);
	set_mode(&h, K_XLATE);
	ck_assert_int_eq(get_mode(&h), K_UNICODE);
	set_mode(&h, K_RAW);
	set_mode(&h, K_UNICODE);
	ck_assert_int_eq(get_mode(&h), K_UNICODE);
	io.arg = K_MEDIUMRAW;
	ck_assert_int_eq(kbd_ioctl(&h, NULL, &io), -EINVAL);
	io.arg = 99;
	ck_assert_int_eq(kbd_ioctl(&h, NULL, &io), -EINVAL);
	ck_assert_int_eq(get_mode(&h), K_UNICODE);
	io.cmd = KDGETLED;
	ck_assert_int_eq(kbd_ioctl(&h, NULL, &io), -ENOTTY);
	ck_assert_int_eq(kbd_ioctls[0].cmd, KDGKBMODE);
	ck_assert_int_eq(kbd_ioctls[0].out_size, sizeof(int));
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_queue_overflow_drops_oldest)
{
	static uint8_t b[3000];
	struct ddm_handle h;
	uint8_t buf[KBD_QUEUE_MAX];
	size_t i;

	open_h(&h, 0);
	set_mode(&h, K_RAW);
	for (i = 0; i < sizeof(b); i++)
		b[i] = 1 + i % 200;
	feed(b, sizeof(b));
	poll_all();
	feed(b, 2000);
	poll_all();
	ck_assert_uint_eq(((struct kbd_open *)h.priv)->ko_dropped, 904);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0),
	                 KBD_QUEUE_MAX);
	ck_assert_uint_eq(buf[0], b[904]);
	ck_assert_uint_eq(buf[KBD_QUEUE_MAX - 1], b[1999]);
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_poll_backs_off_when_idle_and_speeds_up_on_keys)
{
	static const uint64_t want[] = {
		2000, 4000, 8000, 16000, 20000, 20000
	};
	struct ddm_handle h;
	size_t i;

	open_h(&h, 0);
	ck_assert_uint_eq(last_delay, KBD_POLL_ACTIVE_US);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		kbd_tick(NULL, &sc);
		ck_assert_uint_eq(last_delay, want[i]);
	}
	feed(hi, 1);
	kbd_tick(NULL, &sc);
	ck_assert_uint_eq(last_delay, KBD_POLL_ACTIVE_US);
	ck_assert_int_gt(sc.sc_timer, 0);
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_poll_slows_further_while_nothing_is_open)
{
	static const uint64_t want[] = { 2000,  4000,   8000,   16000, 32000,
		                         64000, 128000, 250000, 250000 };
	struct ddm_handle h;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		kbd_tick(NULL, &sc);
		ck_assert_uint_eq(last_delay, want[i]);
	}
	/* typed while nothing was open: dropped when the first reader
	 * opens, and polling is fast again at once */
	feed(hi, sizeof(hi));
	open_h(&h, 0);
	ck_assert_uint_eq(last_delay, KBD_POLL_ACTIVE_US);
	ck_assert_uint_eq(((struct kbd_open *)h.priv)->ko_len, 0);
	feed(hi, sizeof(hi));
	kbd_tick(NULL, &sc);
	ck_assert_uint_eq(((struct kbd_open *)h.priv)->ko_len, 2);
	kbd_release(&h);
}
END_TEST

/* The sim dir of the aux fixture, and its mouse FIFO. */
static char tmpdir[64];
static char auxfifo[128];

/* A kbd0 + aux0 instance on a sim i8042 with a sim dir (for kbd0.aux). */
static void
setup_aux(void)
{
	struct io_opts o = { .backend = "sim", .name = "kbd0" };

	strcpy(tmpdir, "/tmp/check_kbd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(auxfifo, sizeof(auxfifo), "%s/kbd0.aux", tmpdir);
	o.sim_dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(o.sim_dirfd, 0);
	ck_assert_int_eq(io_open(&o, &sim), 0);
	close(o.sim_dirfd);
	memset(&sc, 0, sizeof(sc));
	notified = 0;
	n_opened = 0;
	sc.sc_kbd = &kbd_node;
	sc.sc_aux = &aux_node;
	ck_assert_int_eq(kbd_attach(&sc, NULL, sim, 0x60, 0x64), 0);
	ck_assert_int_eq(sc.sc_aux_up, 1);
}

static void
teardown_aux(void)
{
	char path[128];

	kbd_detach(&sc);
	io_close(sim);
	unlink(auxfifo);
	snprintf(path, sizeof(path), "%s/kbd0.in", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* Moves the mouse: raw bytes into the sim's kbd0.aux FIFO. */
static void
move(const void *b, size_t n)
{
	int fd = open(auxfifo, O_WRONLY | O_NONBLOCK);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

static void
open_aux(struct ddm_handle *h, int flags)
{
	open_node(h, &aux_node, flags);
}

/* The mouse's status bytes (0xe9): byte 0 bit 5 is "reporting on". */
static void
mouse_status(uint8_t st[3])
{
	int i;

	ck_assert_int_eq(aux_command(&sc, 0xe9), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(i8042_read_aux(&sc, &st[i], KBD_AUX_ACK_US),
		                 0);
}

static const uint8_t pkt1[] = { 0x08, 0x0a, 0x05 }; /* x +10, y +5 */
static const uint8_t pkt2[] = { 0x39, 0xf6, 0x01 }; /* left, x -10, y +1 */

START_TEST(test_aux_attach_enables_the_aux_port_and_reporting)
{
	uint8_t cb = 0xff, st[3];

	ck_assert_int_eq(i8042_command(&sc, KBC_RCB), 0);
	ck_assert_int_eq(i8042_wait(&sc, KBS_OBF, KBS_OBF), 0);
	ck_assert_int_eq(i8042_read_data(&sc, &cb), 0);
	ck_assert_uint_eq(cb & (KBCB_AUXDIS | KBCB_AUXINT), 0);
	ck_assert_uint_eq(cb & KBCB_XLATE, KBCB_XLATE);
	mouse_status(st);
	ck_assert_uint_eq(st[0] & 0x20, 0x20);
}
END_TEST

START_TEST(test_kbd_only_instance_never_turns_the_mouse_on)
{
	struct ddm_handle h;
	uint8_t st[3];

	mouse_status(st);
	ck_assert_uint_eq(st[0] & 0x20, 0);
	ck_assert_int_eq(sc.sc_aux_up, 0);
	/* and a stray aux node open is refused */
	memset(&h, 0, sizeof(h));
	h.sc = &sc;
	h.node = &aux_node;
	ck_assert_int_eq(kbd_open(&h), -ENODEV);
	ck_assert_ptr_null(h.priv);
}
END_TEST

START_TEST(test_aux_read_gives_the_two_packets_moved)
{
	struct ddm_handle h;
	uint8_t buf[64];

	open_aux(&h, 0);
	move(pkt1, 3);
	move(pkt2, 3);
	ck_assert_int_eq(poll_all(), 6);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 6);
	ck_assert_mem_eq(buf, pkt1, 3);
	ck_assert_mem_eq(buf + 3, pkt2, 3);
	ck_assert_uint_eq(kbd_poll(&h), 0);
	kbd_release(&h);
	ck_assert_uint_eq(sc.sc_nopen[KBD_KIND_AUX], 0);
}
END_TEST

START_TEST(test_aux_read_gives_whole_packets_only)
{
	struct ddm_handle h;
	uint8_t buf[8] = { 0 };

	open_aux(&h, 0);
	move(pkt1, 3);
	move(pkt2, 3);
	poll_all();
	ck_assert_int_eq(kbd_read(&h, NULL, buf, 2, 0), -EINVAL);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, 5, 0), 3);
	ck_assert_mem_eq(buf, pkt1, 3);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, 8, 0), 3);
	ck_assert_mem_eq(buf, pkt2, 3);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_bytes_without_bit3_before_a_packet_are_dropped)
{
	static const uint8_t b[] = { 0x00, 0x07, 0x08, 0x01, 0x02 };
	struct ddm_handle h;
	uint8_t buf[16];

	open_aux(&h, 0);
	move(b, sizeof(b));
	poll_all();
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 3);
	ck_assert_mem_eq(buf, "\x08\x01\x02", 3);
	ck_assert_uint_eq(sc.sc_aux_skipped, 2);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_part_packet_waits_for_its_last_byte)
{
	struct ddm_handle h;
	struct ddm_req r = { .size = 64 };

	open_aux(&h, 0);
	ck_assert_int_eq(kbd_read(&h, &r, r.data, r.size, 0), DDM_SUSPEND);
	move(pkt1, 2);
	poll_all();
	ck_assert_int_eq(r.replied, 0);
	ck_assert_uint_eq(kbd_poll(&h), 0);
	move(pkt1 + 2, 1);
	poll_all();
	ck_assert_int_eq(r.replied, 1);
	ck_assert_int_eq(r.result, 3);
	ck_assert_mem_eq(r.data, pkt1, 3);
	ck_assert_int_gt(notified, 0);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_stale_part_packet_is_dropped)
{
	struct ddm_handle h;
	uint8_t buf[16];

	open_aux(&h, 0);
	move(pkt1, 2);
	poll_all();
	sc.sc_pkt_us -= KBD_AUX_GAP_US + 1; /* its third byte never came */
	move(pkt2, 3);
	poll_all();
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 3);
	ck_assert_mem_eq(buf, pkt2, 3);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_two_handles_each_get_every_packet)
{
	struct ddm_handle h1, h2;
	uint8_t b1[16], b2[16];

	open_aux(&h1, 0);
	open_aux(&h2, 0);
	move(pkt1, 3);
	poll_all();
	ck_assert_int_eq(notified, 2);
	move(pkt2, 3);
	poll_all();
	ck_assert_int_eq(kbd_read(&h1, NULL, b1, sizeof(b1), 0), 6);
	ck_assert_int_eq(kbd_read(&h2, NULL, b2, sizeof(b2), 0), 6);
	ck_assert_mem_eq(b1, "\x08\x0a\x05\x39\xf6\x01", 6);
	ck_assert_mem_eq(b2, "\x08\x0a\x05\x39\xf6\x01", 6);
	kbd_release(&h1);
	kbd_release(&h2);
}
END_TEST

START_TEST(test_aux_keys_keep_flowing_to_kbd_while_the_mouse_moves)
{
	struct ddm_handle hk, ha;
	char text[16] = { 0 };
	uint8_t buf[16];

	open_h(&hk, 0);
	open_aux(&ha, 0);
	move(pkt1, 3);
	feed(hi, sizeof(hi));
	move(pkt2, 3);
	ck_assert_int_eq(poll_all(), 10);
	ck_assert_int_eq(kbd_read(&hk, NULL, text, sizeof(text), 0), 2);
	ck_assert_str_eq(text, "hi");
	ck_assert_int_eq(kbd_read(&ha, NULL, buf, sizeof(buf), 0), 6);
	ck_assert_mem_eq(buf, "\x08\x0a\x05\x39\xf6\x01", 6);
	kbd_release(&hk);
	kbd_release(&ha);
}
END_TEST

START_TEST(test_aux_write_is_einval_and_kd_ioctls_enotty)
{
	struct ddm_handle h;
	int v = -1;
	struct ddm_ioctl io = { .cmd = KDGKBMODE,
		                .out = &v,
		                .out_len = sizeof(v) };

	open_aux(&h, O_RDWR);
	ck_assert_int_eq(kbd_write(&h, NULL, "\x08\x00\x00", 3, 0), -EINVAL);
	ck_assert_int_eq(kbd_ioctl(&h, NULL, &io), -ENOTTY);
	io.cmd = KDSKBMODE;
	io.arg = K_RAW;
	ck_assert_int_eq(kbd_ioctl(&h, NULL, &io), -ENOTTY);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_nonblocking_read_with_nothing_queued_is_eagain)
{
	struct ddm_handle h;
	uint8_t buf[16];

	open_aux(&h, O_RDONLY | O_NONBLOCK);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), -EAGAIN);
	move(pkt1, 3);
	poll_all();
	ck_assert_uint_eq(kbd_poll(&h), POLLIN | POLLRDNORM);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 3);
	kbd_release(&h);
}
END_TEST

START_TEST(test_aux_queue_overflow_drops_whole_packets)
{
	static uint8_t b[3000];
	struct ddm_handle h;
	struct kbd_open *ko;
	uint8_t buf[KBD_QUEUE_MAX];
	size_t i, round;

	open_aux(&h, 0);
	ko = h.priv;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 1000; i++) {
			b[3 * i] = 0x08;
			b[3 * i + 1] = (uint8_t)(round * 1000 + i);
			b[3 * i + 2] = (uint8_t)((round * 1000 + i) >> 8);
		}
		move(b, sizeof(b));
		poll_all();
	}
	/* 4095 bytes hold 1365 packets: the oldest 635 went */
	ck_assert_uint_eq(ko->ko_dropped, 635 * 3);
	ck_assert_int_eq(kbd_read(&h, NULL, buf, sizeof(buf), 0), 1365 * 3);
	ck_assert_uint_eq(buf[0], 0x08);
	ck_assert_uint_eq(buf[1] | buf[2] << 8, 635);
	ck_assert_uint_eq(buf[3 * 1364 + 1] | buf[3 * 1364 + 2] << 8, 1999);
	kbd_release(&h);
}
END_TEST

START_TEST(test_kbd_ports_come_from_the_grants)
{
	uint16_t data = 0, cmd = 0;

	n_grants = 2;
	grants[0].base = 0x60, grants[0].len = 1;
	grants[1].base = 0x64, grants[1].len = 1;
	ck_assert_int_eq(kbd_find_ports(NULL, &data, &cmd), 0);
	ck_assert_uint_eq(data, 0x60);
	ck_assert_uint_eq(cmd, 0x64);
	grants[0].base = 0x164, grants[1].base = 0x160; /* any order */
	ck_assert_int_eq(kbd_find_ports(NULL, &data, &cmd), 0);
	ck_assert_uint_eq(data, 0x160);
	ck_assert_uint_eq(cmd, 0x164);
	n_grants = 1;
	grants[0].base = 0x60, grants[0].len = 5;
	ck_assert_int_eq(kbd_find_ports(NULL, &data, &cmd), 0);
	ck_assert_uint_eq(data, 0x60);
	ck_assert_uint_eq(cmd, 0x64);
}
END_TEST

START_TEST(test_kbd_without_both_ports_refuses_to_start)
{
	uint16_t data = 0x1234, cmd = 0x1234;

	n_grants = 0;
	last_log[0] = '\0';
	ck_assert_int_eq(kbd_find_ports(NULL, &data, &cmd), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_log, "no i8042 ports granted"));
	n_grants = 1;
	grants[0].base = 0x60, grants[0].len = 1;
	ck_assert_int_eq(kbd_find_ports(NULL, &data, &cmd), -EINVAL);
	ck_assert_uint_eq(data, 0x1234);
	ck_assert_uint_eq(cmd, 0x1234);
}
END_TEST

START_TEST(test_kbd_nodes_one_of_each_kind)
{
	struct kbd_softc s2 = { 0 };

	n_nodes = 2;
	fake_nodes[0] = &kbd_node;
	fake_nodes[1] = &aux_node;
	ck_assert_int_eq(kbd_find_nodes(&s2, NULL), 0);
	ck_assert_ptr_eq(s2.sc_kbd, &kbd_node);
	ck_assert_ptr_eq(s2.sc_aux, &aux_node);
	n_nodes = 1;
	ck_assert_int_eq(kbd_find_nodes(&s2, NULL), 0);
	ck_assert_ptr_eq(s2.sc_kbd, &kbd_node);
	ck_assert_ptr_null(s2.sc_aux);
	n_nodes = 3;
	fake_nodes[2] = &aux_node;
	ck_assert_int_eq(kbd_find_nodes(&s2, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(last_log, "one aux port"));
}
END_TEST

static Suite *
kbd_suite(void)
{
	Suite *s = suite_create("kbd");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Limits");
	TCase *ta = tcase_create("Aux");

	tcase_add_test(tc, test_kbd_xlate_make_gives_char_break_nothing);
	tcase_add_test(tc, test_kbd_xlate_both_shifts);
	tcase_add_test(tc, test_kbd_xlate_caps_lock_toggles_on_make_only);
	tcase_add_test(tc, test_kbd_xlate_ctrl_letters_are_control_codes);
	tcase_add_test(tc, test_kbd_xlate_special_keys);
	tcase_add_test(tc, test_kbd_xlate_digits_and_punctuation);
	tcase_add_test(tc, test_kbd_xlate_e0_arrows_and_editing_keys);
	tcase_add_test(tc, test_kbd_xlate_right_alt_and_ctrl_are_modifiers);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               test_kbd_attach_sets_command_byte_and_enables_keyboard);
	tcase_add_test(tc, test_kbd_text_and_raw_handles_get_hi);
	tcase_add_test(tc, test_kbd_two_handles_both_get_every_key);
	tcase_add_test(tc, test_kbd_read_suspends_until_keys_arrive);
	tcase_add_test(tc, test_kbd_mode_ioctls);
	tcase_add_test(tc, test_kbd_only_instance_never_turns_the_mouse_on);
	tcase_add_test(tc, test_kbd_ports_come_from_the_grants);
	tcase_add_test(tc, test_kbd_nodes_one_of_each_kind);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ta, setup_aux, teardown_aux);
	tcase_add_test(ta, test_aux_attach_enables_the_aux_port_and_reporting);
	tcase_add_test(ta, test_aux_read_gives_the_two_packets_moved);
	tcase_add_test(ta, test_aux_read_gives_whole_packets_only);
	tcase_add_test(ta,
	               test_aux_bytes_without_bit3_before_a_packet_are_dropped);
	tcase_add_test(ta, test_aux_part_packet_waits_for_its_last_byte);
	tcase_add_test(ta, test_aux_stale_part_packet_is_dropped);
	tcase_add_test(ta, test_aux_two_handles_each_get_every_packet);
	tcase_add_test(ta,
	               test_aux_keys_keep_flowing_to_kbd_while_the_mouse_moves);
	tcase_add_test(ta, test_aux_write_is_einval_and_kd_ioctls_enotty);
	tcase_add_test(ta,
	               test_aux_nonblocking_read_with_nothing_queued_is_eagain);
	tcase_add_test(ta, test_aux_queue_overflow_drops_whole_packets);
	suite_add_tcase(s, ta);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_kbd_xlate_fake_shifts_are_ignored);
	tcase_add_test(tl, test_kbd_xlate_garbage_bytes_are_ignored);
	tcase_add_test(tl, test_kbd_xlate_truncated_e0_loses_no_key);
	tcase_add_test(tl, test_kbd_xlate_e0_e0_keeps_one_prefix);
	tcase_add_test(tl, test_kbd_xlate_pause_sequence_is_swallowed);
	tcase_add_test(tl, test_kbd_keys_with_no_handle_open_are_dropped);
	tcase_add_test(tl, test_kbd_suspended_read_gets_at_most_its_size);
	tcase_add_test(tl,
	               test_kbd_nonblocking_read_with_nothing_queued_is_eagain);
	tcase_add_test(tl, test_kbd_cancel_drops_suspended_read);
	tcase_add_test(tl, test_kbd_write_is_einval);
	tcase_add_test(tl, test_kbd_without_both_ports_refuses_to_start);
	tcase_add_test(tl, test_kbd_queue_overflow_drops_oldest);
	tcase_add_test(tl,
	               test_kbd_poll_backs_off_when_idle_and_speeds_up_on_keys);
	tcase_add_test(tl, test_kbd_poll_slows_further_while_nothing_is_open);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(kbd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
