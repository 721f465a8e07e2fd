/*
 * bench_client.c: the bench's measuring client.  It times open/read/close
 * on the paths it is given and prints one table plus one summary line per
 * ratio.  Every figure is a ratio against a baseline timed in the same run
 * (kernel /dev/zero, a bare libfuse server), never a pass/fail threshold.
 *
 *	bench_client [--kernel PATH] [--bare PATH] [--ddm PATH] [--rtc PATH]
 *	    [--lp PATH --lp-file PATH] [--kbd PATH --kbd-fifo PATH]
 *
 * Each latency figure is the median and the 99th percentile of single
 * operations timed with CLOCK_MONOTONIC after a warm-up; each run stops at
 * its iteration count or its time budget, whichever comes first, so a slow
 * path cannot stretch the bench.  A missing option skips its rows.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define READ_SMALL   4096        /* bytes per read in the latency rows */
#define READ_BIG     (64 * 1024) /* bytes per read in the throughput rows */
#define READ_ITERS   20000       /* timed reads at most */
#define ORC_ITERS    5000        /* timed open+read+close cycles at most */
#define WARMUP_ITERS 200         /* untimed operations first */
#define OP_BUDGET_NS (1000 * NS_PER_MS) /* one row's timed part, ns */
/* Throughput rows run for this long whatever the speed, so a short stall
 * of this shared VM weighs little; up to BIG_ITERS samples are kept. */
#define BIG_RUN_NS   (500 * NS_PER_MS)
#define BIG_ITERS    1000000
#define RTC_ITERS    1000
#define LP_CHUNK     4096
#define LP_TOTAL     (1024 * 1024)      /* bytes written to lp0 at most */
#define LP_BUDGET_NS (2000 * NS_PER_MS) /* lp0 writing stops after, ns */
#define CONC_RUN_NS  (1000 * NS_PER_MS) /* each concurrency run, ns */

static const char *target_name[] = { "kernel", "bare-fuse", "ddm" };
enum { T_KERNEL, T_BARE, T_DDM, T_MAX };

/* Median latencies and throughputs per target, for the summary lines. */
struct results {
	double read_med[T_MAX], orc_med[T_MAX], big_bps[T_MAX];
	double conc_ops[T_MAX][3];
	int have[T_MAX];
};

static const int conc_threads[3] = { 1, 4, 16 };

/* Times single reads of size bytes on one open file of path. */
static int
time_reads(const char *path, size_t size, size_t iters, uint64_t budget_ns,
           struct samples *s, uint64_t *ret_bytes, uint64_t *ret_ns)
{
	static char buf[READ_BIG];
	uint64_t start, t0, bytes = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < WARMUP_ITERS; i++)
		if (read(fd, buf, size) < 0) {
			r = -errno;
			goto close_fd;
		}
	start = now_ns();
	while (s->n < iters && now_ns() - start < budget_ns) {
		ssize_t n;

		t0 = now_ns();
		n = read(fd, buf, size);
		if (n < 0) {
			r = -errno;
			goto close_fd;
		}
		samples_add(s, now_ns() - t0);
		bytes += (uint64_t)n;
	}
	*ret_ns = now_ns() - start;
	*ret_bytes = bytes;
close_fd:
	close(fd);
	return r;
}

/* One open + read of up to size bytes + close; 0 or -errno. */
static int
orc_once(const char *path, size_t size)
{
	static char buf[READ_SMALL];
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, buf, size) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Times open+read+close cycles of path. */
static int
time_orc(const char *path, size_t size, size_t iters, struct samples *s)
{
	uint64_t start, t0;
	int r;

	for (int i = 0; i < WARMUP_ITERS / 4; i++)
		if ((r = orc_once(path, size)) < 0)
			return r;
	start = now_ns();
	while (s->n < iters && now_ns() - start < OP_BUDGET_NS) {
		t0 = now_ns();
		if ((r = orc_once(path, size)) < 0)
			return r;
		samples_add(s, now_ns() - t0);
	}
	return 0;
}

/* The latency and throughput rows of one target. */
static void
bench_target(int t, const char *path, struct results *res)
{
	struct samples s;
	uint64_t bytes, ns;
	int r;

	samples_init(&s, BIG_ITERS);
	r = time_reads(path, READ_SMALL, READ_ITERS, OP_BUDGET_NS, &s, &bytes,
	               &ns);
	row_latency("read 4 KiB", target_name[t], &s, r);
	res->read_med[t] = samples_median(&s);

	samples_reset(&s);
	r = time_orc(path, READ_SMALL, ORC_ITERS, &s);
	row_latency("open+read+close", target_name[t], &s, r);
	res->orc_med[t] = samples_median(&s);

	samples_reset(&s);
	r = time_reads(path, READ_BIG, BIG_ITERS, BIG_RUN_NS, &s, &bytes, &ns);
	res->big_bps[t] =
	        r < 0 || ns == 0 ? 0 : (double)bytes * 1e9 / (double)ns;
	row_throughput("read 64 KiB", target_name[t], &s, r, res->big_bps[t]);
	samples_free(&s);
	res->have[t] = 1;
}

struct conc {
	const char *path;
	const volatile int *stop;
	uint64_t ops;
	int err;
};

static void *
conc_reader(void *arg)
{
	struct conc *c = arg;
	char buf[READ_SMALL];
	int fd;

	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		c->err = -errno;
		return NULL;
	}
	while (!*c->stop) {
		if (read(fd, buf, sizeof(buf)) < 0) {
			c->err = -errno;
			break;
		}
		c->ops++;
	}
	close(fd);
	return NULL;
}

/* Total 4 KiB reads per second of n threads, each on its own open file. */
static double
conc_run(const char *path, int n, int *ret_err)
{
	struct conc c[16] = { 0 };
	pthread_t th[16];
	volatile int stop = 0;
	uint64_t start, ns, ops = 0;
	int started = 0;

	*ret_err = 0;
	start = now_ns();
	for (; started < n; started++) {
		c[started] = (struct conc){ .path = path, .stop = &stop };
		if (pthread_create(&th[started], NULL, conc_reader,
		                   &c[started]) != 0)
			break;
	}
	sleep_ns(CONC_RUN_NS);
	stop = 1;
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		ops += c[i].ops;
		if (c[i].err < 0)
			*ret_err = c[i].err;
	}
	ns = now_ns() - start;
	if (started < n)
		*ret_err = -EAGAIN;
	return (double)ops * 1e9 / (double)ns;
}

static void
bench_conc(int t, const char *path, struct results *res)
{
	char what[32];
	int err;

	for (int i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "%d reader%s, 4 KiB",
		         conc_threads[i], conc_threads[i] > 1 ? "s" : "");
		res->conc_ops[t][i] = conc_run(path, conc_threads[i], &err);
		row_rate(what, target_name[t], res->conc_ops[t][i], err);
	}
}

static void
bench_rtc(const char *path)
{
	struct samples s;
	int r;

	samples_init(&s, RTC_ITERS);
	r = time_orc(path, 64, RTC_ITERS, &s);
	row_latency("open+read+close", "rtc0", &s, r);
	samples_free(&s);
}

/*
 * Writes LP_CHUNK-byte chunks to path until limit bytes or LP_BUDGET_NS,
 * timing each write into s.  Returns bytes/s; *ret_bytes gets the total.
 */
static double
write_rate(const char *path, int flags, uint64_t limit, struct samples *s,
           uint64_t *ret_bytes, int *ret_err)
{
	static char chunk[LP_CHUNK];
	uint64_t start, t0, bytes = 0;
	int fd;

	memset(chunk, 'x', sizeof(chunk));
	*ret_err = 0;
	fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
	if (fd < 0) {
		*ret_err = -errno;
		return 0;
	}
	start = now_ns();
	while (bytes < limit && now_ns() - start < LP_BUDGET_NS) {
		size_t want =
		        limit - bytes < LP_CHUNK ? limit - bytes : LP_CHUNK;
		ssize_t n;

		t0 = now_ns();
		n = write(fd, chunk, want);
		if (n <= 0) {
			*ret_err = n < 0 ? -errno : -EIO;
			break;
		}
		samples_add(s, now_ns() - t0);
		bytes += (uint64_t)n;
	}
	if (close(fd) < 0 && *ret_err == 0)
		*ret_err = -errno;
	*ret_bytes = bytes;
	return (double)bytes * 1e9 / (double)(now_ns() - start);
}

/* lp0 write throughput next to writing the same bytes to a regular file. */
static void
bench_lp(const char *lp, const char *file)
{
	uint64_t lp_bytes, file_bytes;
	double lp_bps, file_bps;
	struct samples s;
	int err;

	samples_init(&s, LP_TOTAL / LP_CHUNK + 1);
	lp_bps = write_rate(lp, 0, LP_TOTAL, &s, &lp_bytes, &err);
	row_throughput("write 4 KiB", "lp0", &s, err, lp_bps);
	samples_reset(&s);
	file_bps = write_rate(file, O_CREAT | O_TRUNC, lp_bytes, &s,
	                      &file_bytes, &err);
	row_throughput("write 4 KiB", "regular-file", &s, err, file_bps);
	unlink(file);
	samples_free(&s);
	summary_ratio("lp0 write throughput", "lp0/regular-file", lp_bps,
	              file_bps);
}

static void
summaries(const struct results *res)
{
	static const char *const pairs[2] = { "ddm/bare-fuse", "ddm/kernel" };

	for (int b = T_BARE, k = 0; k < 2; b = T_KERNEL, k++) {
		if (!res->have[T_DDM] || !res->have[b])
			continue;
		summary_ratio("read 4 KiB median latency", pairs[k],
		              res->read_med[T_DDM], res->read_med[b]);
		summary_ratio("open+read+close median latency", pairs[k],
		              res->orc_med[T_DDM], res->orc_med[b]);
		summary_ratio("read 64 KiB throughput", pairs[k],
		              res->big_bps[T_DDM], res->big_bps[b]);
	}
	for (int i = 0; i < 3; i++) {
		char what[48];

		if (!res->have[T_DDM] || !res->have[T_BARE])
			break;
		snprintf(what, sizeof(what), "%d-reader ops/s",
		         conc_threads[i]);
		summary_ratio(what, "ddm/bare-fuse", res->conc_ops[T_DDM][i],
		              res->conc_ops[T_BARE][i]);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "bare", required_argument, NULL, 'b' },
		{ "ddm", required_argument, NULL, 'd' },
		{ "rtc", required_argument, NULL, 'r' },
		{ "lp", required_argument, NULL, 'l' },
		{ "lp-file", required_argument, NULL, 'f' },
		{ "kbd", required_argument, NULL, 'K' },
		{ "kbd-fifo", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path[T_MAX] = { NULL }, *rtc = NULL, *lp = NULL;
	const char *lp_file = NULL, *kbd = NULL, *kbd_fifo = NULL;
	struct results res = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path[T_KERNEL] = optarg;
			break;
		case 'b':
			path[T_BARE] = optarg;
			break;
		case 'd':
			path[T_DDM] = optarg;
			break;
		case 'r':
			rtc = optarg;
			break;
		case 'l':
			lp = optarg;
			break;
		case 'f':
			lp_file = optarg;
			break;
		case 'K':
			kbd = optarg;
			break;
		case 'F':
			kbd_fifo = optarg;
			break;
		default:
			fprintf(stderr, "usage: see bench_client.c\n");
			return 2;
		}
	}
	table_header();
	for (int t = 0; t < T_MAX; t++)
		if (path[t] != NULL)
			bench_target(t, path[t], &res);
	for (int t = T_BARE; t < T_MAX; t++)
		if (path[t] != NULL)
			bench_conc(t, path[t], &res);
	summaries(&res);
	if (rtc != NULL)
		bench_rtc(rtc);
	if (lp != NULL && lp_file != NULL)
		bench_lp(lp, lp_file);
	if (kbd != NULL && kbd_fifo != NULL)
		bench_kbd(kbd, kbd_fifo);
	table_footer();
	return 0;
}
