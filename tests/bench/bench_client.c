/*
 * bench_client.c: the bench's measuring client.  One run measures one
 * part for one target (the kernel's devices, bare FUSE, ddmfs, bare CUSE,
 * ddmfs on CUSE) and prints what it measured as JSON lines on stdout
 * (bench.h); bench.py runs it for every target side by side and
 * bench_report.py makes the table, the ratios and bench-results.json.
 *
 *	bench_client --target NAME --part PART [OPTIONS]
 *
 * PART is one of
 *   latency     median and p99 of open+close, 1-byte read, 4 KiB read,
 *               1-byte write, the ioctl, and a poll wake-up (one handle
 *               writes, another sleeping in poll(2) is woken)
 *   throughput  read and write at 4 KiB, 64 KiB and 1 MiB per call
 *   scaling     4 KiB reads per second of 1, 2, 4, 8, 16 threads, each on
 *               its own open file, all on one node and spread over --node
 *   cost        context switches and CPU time per 4 KiB read, summed over
 *               this process and every --pid
 *   extras      rtc0 open+read+close, lp0 writes, kbd0 key to POLLIN
 *
 * OPTIONS
 *   --path P           the node every operation uses
 *   --open P, --read P, --write P, --ioctl P
 *                      one operation's file instead (the kernel's:
 *                      /dev/zero, /dev/null, /dev/urandom)
 *   --ioctl-cmd N      the ioctl, an _IOR of 4 bytes (BENCH_IOC_COUNT)
 *   --poll pipe        time the poll wake-up on a pipe (the kernel's)
 *   --node P           a node for the spread scaling; repeatable
 *   --pid NAME=PID     a process charged in cost; repeatable
 *   --budget-ms N      time per latency row and scaling run (1000)
 *   --run-ms N         time per throughput row (500)
 *   --iters N          latency samples per row at most (20000)
 *   --cost-ops N       reads timed in cost (20000)
 *   --threads LIST     thread counts for scaling (1,2,4,8,16)
 *   --rtc P, --lp P --lp-file F, --kbd P --kbd-fifo F   for extras
 *
 * Each latency figure is from single operations timed with
 * CLOCK_MONOTONIC after a warm-up; each row stops at its sample count or
 * its time budget, whichever comes first, so a slow path cannot stretch
 * the bench.  Nothing here is pass/fail: the exit status says only whether
 * the options made sense.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dev.h"

#define BUF_MAX         (1024 * 1024) /* the largest read or write */
#define WARMUP_ITERS    100           /* untimed operations per row */
#define MIN_SAMPLES     20   /* latency samples taken whatever the budget */
#define POLL_LOST_MAX   5    /* wake-ups lost before the row gives up */
#define NODES_MAX       16   /* --node paths */
#define PIDS_MAX        16   /* --pid processes */
#define THREADS_MAX     16   /* scaling threads */
#define THREAD_COUNTS   8    /* entries of --threads */
#define SCALE_READ      4096 /* bytes per read in scaling and cost */
#define POLL_TIMEOUT_MS 2000 /* a wake-up not seen by then: lost */
/* How long the poller may take to fall asleep in poll(2) before a sample
 * is written anyway, and how often that is looked at. */
#define POLL_SLEEP_WAIT_NS (500 * NS_PER_MS)
#define POLL_SLEEP_STEP_NS (20 * NS_PER_US)
/* Without /proc/.../wchan: how long after the poller called poll(2) the
 * write goes out. */
#define POLL_BLIND_NS (2 * NS_PER_MS)
#define RTC_ITERS     1000
#define LP_CHUNK      4096
#define LP_TOTAL      (1024 * 1024)      /* bytes written to lp0 at most */
#define LP_BUDGET_NS  (2000 * NS_PER_MS) /* lp0 writing stops after, ns */

static struct {
	const char *open, *read, *write, *ioctl, *poll;
	unsigned int ioctl_cmd;
	int poll_pipe;
	const char *nodes[NODES_MAX];
	unsigned int n_nodes;
	const char *pid_name[PIDS_MAX];
	pid_t pid[PIDS_MAX];
	unsigned int n_pids;
	uint64_t budget_ns, run_ns;
	size_t iters, cost_ops;
	unsigned int threads[THREAD_COUNTS], n_threads;
	const char *rtc, *lp, *lp_file, *kbd, *kbd_fifo;
} opt = {
	.ioctl_cmd = BENCH_IOC_COUNT,
	.budget_ns = 1000 * NS_PER_MS,
	.run_ns = 500 * NS_PER_MS,
	.iters = 20000,
	.cost_ops = 20000,
	.threads = { 1, 2, 4, 8, 16 },
	.n_threads = 5,
};

static char buf[BUF_MAX];

/* An operation timed on one open file. */
typedef int op_fn(int fd, size_t size);

static int
op_read(int fd, size_t size)
{
	return read(fd, buf, size) < 0 ? -errno : 0;
}

static int
op_write(int fd, size_t size)
{
	return write(fd, buf, size) < 0 ? -errno : 0;
}

static int
op_ioctl(int fd, size_t size)
{
	uint32_t v;

	return ioctl(fd, opt.ioctl_cmd, &v) < 0 ? -errno : 0;
}

/* Times op on one open file of path until iters samples or the budget. */
static void
time_op(const char *name, const char *path, int flags, op_fn *op, size_t size)
{
	struct samples s;
	uint64_t start, t0;
	int fd, r = 0;

	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		out_error("latency", name, -errno);
		return;
	}
	samples_init(&s, opt.iters);
	for (int i = 0; i < WARMUP_ITERS && r == 0; i++)
		r = op(fd, size);
	start = now_ns();
	while (r == 0 && s.n < opt.iters &&
	       (s.n < MIN_SAMPLES || now_ns() - start < opt.budget_ns)) {
		t0 = now_ns();
		r = op(fd, size);
		samples_add(&s, now_ns() - t0);
	}
	if (r < 0)
		out_error("latency", name, r);
	else
		out_latency("latency", name, &s);
	samples_free(&s);
	close(fd);
}

/* One open + close of path; 0 or -errno. */
static int
open_close(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || close(fd) < 0)
		return -errno;
	return 0;
}

static void
time_open_close(const char *path)
{
	struct samples s;
	uint64_t start, t0;
	int r = 0;

	samples_init(&s, opt.iters);
	for (int i = 0; i < WARMUP_ITERS && r == 0; i++)
		r = open_close(path);
	start = now_ns();
	while (r == 0 && s.n < opt.iters &&
	       (s.n < MIN_SAMPLES || now_ns() - start < opt.budget_ns)) {
		t0 = now_ns();
		r = open_close(path);
		samples_add(&s, now_ns() - t0);
	}
	if (r < 0)
		out_error("latency", "open_close", r);
	else
		out_latency("latency", "open_close", &s);
	samples_free(&s);
}

/* The poll wake-up: a thread sleeps in poll(2) on one handle; the main
 * thread writes one byte through another and times until it wakes. */
struct poller {
	int fd;
	sem_t go, done;
	atomic_int tid;
	atomic_int polling;
	atomic_int stop;
	uint64_t t1;
	int err;
};

static void *
poller_main(void *arg)
{
	struct poller *p = arg;
	char c;

	atomic_store(&p->tid, (int)gettid());
	for (;;) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		int r;

		while (sem_wait(&p->go) < 0)
			;
		if (atomic_load(&p->stop))
			break;
		atomic_store(&p->polling, 1);
		r = poll(&pf, 1, POLL_TIMEOUT_MS);
		p->t1 = now_ns();
		atomic_store(&p->polling, 0);
		if (r < 0)
			p->err = -errno;
		else if (r == 0)
			p->err = -ETIMEDOUT;
		else if (read(p->fd, &c, 1) <
		         0) /* consumed: poll waits again */
			p->err = -errno;
		sem_post(&p->done);
	}
	return NULL;
}

/*
 * Whether thread tid sleeps in poll(2) itself, not in a FUSE request the
 * poll sent: 1, 0, or -1 when the kernel does not say (no wchan).
 */
static int
asleep_in_poll(int tid)
{
	char path[64], w[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, w, sizeof(w) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	w[n] = '\0';
	if (strcmp(w, "0") == 0)
		return 0; /* running */
	return strstr(w, "poll") != NULL && strstr(w, "fuse") == NULL;
}

static void
time_poll_wake(void)
{
	struct poller p = { .fd = -1 };
	struct samples s;
	pthread_t th;
	uint64_t start, t0;
	int pfd[2] = { -1, -1 }, wfd = -1, r = 0, blind = 0, lost = 0;
	unsigned int sleep_misses = 0;

	if (opt.poll_pipe) {
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			out_error("latency", "poll_wake", -errno);
			return;
		}
		p.fd = pfd[0];
		wfd = pfd[1];
	} else {
		p.fd = open(opt.poll, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		wfd = open(opt.poll, O_WRONLY | O_CLOEXEC);
		if (p.fd < 0 || wfd < 0) {
			out_error("latency", "poll_wake", -errno);
			goto close_fds;
		}
	}
	sem_init(&p.go, 0, 0);
	sem_init(&p.done, 0, 0);
	if (pthread_create(&th, NULL, poller_main, &p) != 0) {
		out_error("latency", "poll_wake", -EAGAIN);
		goto close_fds;
	}
	while (atomic_load(&p.tid) == 0)
		sleep_ns(NS_PER_US * 10);
	samples_init(&s, opt.iters);
	start = now_ns();
	for (int i = 0; r == 0 && s.n < opt.iters && lost <= POLL_LOST_MAX &&
	                (i <= WARMUP_ITERS / 10 || s.n < MIN_SAMPLES ||
	                 now_ns() - start < opt.budget_ns);
	     i++) {
		uint64_t wait_start;
		int a = 0;

		if (i == WARMUP_ITERS / 10)
			start = now_ns(); /* the budget is for timed samples */

		sem_post(&p.go);
		while (!atomic_load(&p.polling))
			;
		wait_start = now_ns();
		while (now_ns() - wait_start < POLL_SLEEP_WAIT_NS) {
			a = asleep_in_poll(atomic_load(&p.tid));
			if (a != 0)
				break;
			sleep_ns(POLL_SLEEP_STEP_NS);
		}
		if (a < 0) {
			blind = 1;
			sleep_ns(POLL_BLIND_NS);
		} else if (a == 0) {
			sleep_misses++;
		}
		t0 = now_ns();
		if (write(wfd, buf, 1) < 0)
			r = -errno;
		while (sem_wait(&p.done) < 0)
			;
		if (r == 0 && p.err == -ETIMEDOUT) {
			lost++;
			p.err = 0;
			continue;
		}
		if (r == 0)
			r = p.err;
		if (i >= WARMUP_ITERS / 10)
			samples_add(&s, p.t1 - t0);
	}
	atomic_store(&p.stop, 1);
	sem_post(&p.go);
	pthread_join(th, NULL);
	if (r < 0)
		out_error("latency", "poll_wake", r);
	else
		out_line("latency",
		         "\"op\": \"poll_wake\", \"n\": %zu, \"median_ns\": "
		         "%.0f, \"p99_ns\": %.0f, \"max_ns\": %.0f, \"lost\": "
		         "%d, \"not_asleep\": %u, \"wchan\": %s",
		         s.n, samples_median(&s), samples_pct(&s, 99),
		         samples_pct(&s, 100), lost, sleep_misses,
		         blind ? "false" : "true");
	samples_free(&s);
close_fds:
	if (p.fd >= 0)
		close(p.fd);
	if (wfd >= 0)
		close(wfd);
}

static void
part_latency(void)
{
	time_open_close(opt.open);
	time_op("read_1", opt.read, O_RDONLY, op_read, 1);
	time_op("read_4k", opt.read, O_RDONLY, op_read, 4096);
	time_op("write_1", opt.write, O_WRONLY, op_write, 1);
	time_op("ioctl", opt.ioctl, O_RDONLY, op_ioctl, 0);
	time_poll_wake();
}

/* Bytes per second of size-byte reads (or writes) on path for run_ns. */
static void
rate_op(const char *name, const char *path, int is_read, size_t size)
{
	uint64_t start, ns, bytes = 0, calls = 0;
	int fd, r = 0;

	fd = open(path, (is_read ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
	if (fd < 0) {
		out_error("throughput", name, -errno);
		return;
	}
	for (int i = 0; i < WARMUP_ITERS / 10 && r == 0; i++)
		r = is_read ? op_read(fd, size) : op_write(fd, size);
	start = now_ns();
	while (r == 0 && now_ns() - start < opt.run_ns) {
		ssize_t n =
		        is_read ? read(fd, buf, size) : write(fd, buf, size);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		bytes += (uint64_t)n;
		calls++;
	}
	ns = now_ns() - start;
	close(fd);
	if (r < 0) {
		out_error("throughput", name, r);
		return;
	}
	out_line("throughput",
	         "\"op\": \"%s\", \"size\": %zu, \"bytes\": %llu, \"calls\": "
	         "%llu, \"ns\": %llu, \"mb_s\": %.3f",
	         name, size, (unsigned long long)bytes,
	         (unsigned long long)calls, (unsigned long long)ns,
	         (double)bytes * 1e3 / (double)ns);
}

static void
part_throughput(void)
{
	static const size_t sizes[] = { 4096, 64 * 1024, 1024 * 1024 };
	char name[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "read_%zuk", sizes[i] / 1024);
		rate_op(name, opt.read, 1, sizes[i]);
		snprintf(name, sizeof(name), "write_%zuk", sizes[i] / 1024);
		rate_op(name, opt.write, 0, sizes[i]);
	}
}

struct reader {
	const char *path;
	atomic_int *ready, *go, *stop;
	atomic_ullong ops;
	int err;
};

static void *
reader_main(void *arg)
{
	struct reader *c = arg;
	char rbuf[SCALE_READ];
	int fd;

	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		c->err = -errno;
	atomic_fetch_add(c->ready, 1);
	while (!atomic_load(c->go))
		sleep_ns(NS_PER_MS);
	while (fd >= 0 &&
	       !atomic_load_explicit(c->stop, memory_order_relaxed)) {
		if (read(fd, rbuf, sizeof(rbuf)) < 0) {
			c->err = -errno;
			break;
		}
		atomic_fetch_add_explicit(&c->ops, 1, memory_order_relaxed);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* 4 KiB reads per second of n threads, thread i on paths[i % n_paths];
 * counted over opt.budget_ns once every thread has its file open. */
static void
scale_run(const char *layout, const char *const *paths, unsigned int n_paths,
          unsigned int n)
{
	static struct reader c[THREADS_MAX];
	pthread_t th[THREADS_MAX];
	atomic_int ready = 0, go = 0, stop = 0;
	uint64_t t0 = 0, t1 = 0, ops0 = 0, ops1 = 0;
	unsigned int started;
	int err = 0;

	for (started = 0; started < n; started++) {
		c[started].path = paths[started % n_paths];
		c[started].ready = &ready;
		c[started].go = &go;
		c[started].stop = &stop;
		atomic_store(&c[started].ops, 0);
		c[started].err = 0;
		if (pthread_create(&th[started], NULL, reader_main,
		                   &c[started]) != 0) {
			err = -EAGAIN;
			break;
		}
	}
	while (atomic_load(&ready) < (int)started)
		sleep_ns(NS_PER_MS);
	atomic_store(&go, 1);
	if (err == 0) {
		sleep_ns(opt.run_ns / 10); /* let every thread get going */
		t0 = now_ns();
		for (unsigned int i = 0; i < n; i++)
			ops0 += atomic_load(&c[i].ops);
		sleep_ns(opt.budget_ns);
		for (unsigned int i = 0; i < n; i++)
			ops1 += atomic_load(&c[i].ops);
		t1 = now_ns();
	}
	atomic_store(&stop, 1);
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (c[i].err < 0)
			err = c[i].err;
	}
	if (err < 0) {
		out_error("scaling", layout, err);
		return;
	}
	out_line("scaling",
	         "\"op\": \"%s\", \"layout\": \"%s\", \"threads\": %u, "
	         "\"nodes\": %u, \"ops\": %llu, \"ns\": %llu, \"ops_s\": %.1f",
	         layout, layout, n, n_paths < n ? n_paths : n,
	         (unsigned long long)(ops1 - ops0),
	         (unsigned long long)(t1 - t0),
	         (double)(ops1 - ops0) * 1e9 / (double)(t1 - t0));
}

static void
part_scaling(void)
{
	for (unsigned int i = 0; i < opt.n_threads; i++)
		scale_run("one", &opt.read, 1, opt.threads[i]);
	if (opt.n_nodes == 0)
		return;
	for (unsigned int i = 0; i < opt.n_threads; i++)
		scale_run("spread", opt.nodes, opt.n_nodes, opt.threads[i]);
}

/* Appends one process's usage between a and b to text as a JSON member. */
static void
add_usage(char *text, size_t cap, const char *name, const struct usage *a,
          const struct usage *b)
{
	size_t len = strlen(text);

	snprintf(text + len, cap - len,
	         "%s\"%s\": {\"vol\": %llu, \"invol\": %llu, \"cpu_ns\": %llu, "
	         "\"threads\": %u}",
	         len > 0 ? ", " : "", name,
	         (unsigned long long)(b->vol - a->vol),
	         (unsigned long long)(b->invol - a->invol),
	         (unsigned long long)(b->cpu_ns - a->cpu_ns), b->threads);
}

/* Context switches and CPU time of opt.cost_ops 4 KiB reads, summed over
 * this process and every --pid. */
static void
part_cost(void)
{
	struct usage before[PIDS_MAX + 1], after[PIDS_MAX + 1];
	char procs[(PIDS_MAX + 1) * 160] = "";
	uint64_t t0, t1, sw = 0, cpu = 0;
	int fd, r = 0;

	fd = open(opt.read, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		out_error("cost", "read_4k", -errno);
		return;
	}
	for (int i = 0; i < WARMUP_ITERS && r == 0; i++)
		r = op_read(fd, SCALE_READ);
	/* this process last before and first after, so reading the others'
	 * /proc files is not charged to it */
	for (unsigned int i = opt.n_pids + 1; i-- > 0 && r == 0;)
		r = usage_of(i == 0 ? 0 : opt.pid[i - 1], &before[i]);
	t0 = now_ns();
	for (size_t i = 0; i < opt.cost_ops && r == 0; i++)
		r = op_read(fd, SCALE_READ);
	t1 = now_ns();
	for (unsigned int i = 0; i <= opt.n_pids && r == 0; i++)
		r = usage_of(i == 0 ? 0 : opt.pid[i - 1], &after[i]);
	close(fd);
	if (r < 0) {
		out_error("cost", "read_4k", r);
		return;
	}
	for (unsigned int i = 0; i <= opt.n_pids; i++) {
		sw += after[i].vol - before[i].vol + after[i].invol -
		      before[i].invol;
		cpu += after[i].cpu_ns - before[i].cpu_ns;
		add_usage(procs, sizeof(procs),
		          i == 0 ? "client" : opt.pid_name[i - 1], &before[i],
		          &after[i]);
	}
	out_line("cost",
	         "\"op\": \"read_4k\", \"ops\": %zu, \"ns\": %llu, "
	         "\"ctxsw_per_op\": %.4f, \"cpu_ns_per_op\": %.1f, "
	         "\"procs\": {%s}",
	         opt.cost_ops, (unsigned long long)(t1 - t0),
	         (double)sw / (double)opt.cost_ops,
	         (double)cpu / (double)opt.cost_ops, procs);
}

static void
bench_rtc(const char *path)
{
	struct samples s;
	uint64_t t0;
	int fd, r = 0;

	samples_init(&s, RTC_ITERS);
	while (s.n < RTC_ITERS && r == 0) {
		t0 = now_ns();
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, buf, 64) < 0 || close(fd) < 0)
			r = -errno;
		samples_add(&s, now_ns() - t0);
	}
	if (r < 0)
		out_error("extra", "rtc0_open_read_close", r);
	else
		out_latency("extra", "rtc0_open_read_close", &s);
	samples_free(&s);
}

/* Bytes per second of LP_CHUNK writes to path, at most limit bytes. */
static double
write_rate(const char *path, int flags, uint64_t limit, uint64_t *ret_bytes,
           int *ret_err)
{
	uint64_t start, bytes = 0;
	int fd;

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
		ssize_t n = write(fd, buf, want);

		if (n <= 0) {
			*ret_err = n < 0 ? -errno : -EIO;
			break;
		}
		bytes += (uint64_t)n;
	}
	if (close(fd) < 0 && *ret_err == 0)
		*ret_err = -errno;
	*ret_bytes = bytes;
	return (double)bytes * 1e3 / (double)(now_ns() - start);
}

/* lp0 write throughput next to writing the same bytes to a regular file. */
static void
bench_lp(const char *lp, const char *file)
{
	uint64_t lp_bytes, file_bytes;
	double lp_rate, file_rate;
	int err;

	memset(buf, 'x', LP_CHUNK);
	lp_rate = write_rate(lp, 0, LP_TOTAL, &lp_bytes, &err);
	if (err < 0) {
		out_error("extra", "lp0_write_4k", err);
		return;
	}
	file_rate = write_rate(file, O_CREAT | O_TRUNC, lp_bytes, &file_bytes,
	                       &err);
	unlink(file);
	if (err < 0) {
		out_error("extra", "regular_file_write_4k", err);
		return;
	}
	out_line("extra",
	         "\"op\": \"lp0_write_4k\", \"bytes\": %llu, \"mb_s\": %.3f, "
	         "\"regular_file_mb_s\": %.3f",
	         (unsigned long long)lp_bytes, lp_rate, file_rate);
}

static void
part_extras(void)
{
	if (opt.rtc != NULL)
		bench_rtc(opt.rtc);
	if (opt.lp != NULL && opt.lp_file != NULL)
		bench_lp(opt.lp, opt.lp_file);
	if (opt.kbd != NULL && opt.kbd_fifo != NULL)
		bench_kbd(opt.kbd, opt.kbd_fifo);
}

/* "1,2,4" into opt.threads; 0 or -EINVAL. */
static int
parse_threads(const char *s)
{
	char *end;

	opt.n_threads = 0;
	for (;;) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v == 0 || v > THREADS_MAX ||
		    opt.n_threads == THREAD_COUNTS)
			return -EINVAL;
		opt.threads[opt.n_threads++] = (unsigned int)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
}

static int
parse_pid(const char *s)
{
	const char *eq = strchr(s, '=');
	char *end;
	long v;

	if (eq == NULL || eq == s || opt.n_pids == PIDS_MAX)
		return -EINVAL;
	v = strtol(eq + 1, &end, 10);
	if (*end != '\0' || v <= 0)
		return -EINVAL;
	opt.pid_name[opt.n_pids] = strndup(s, (size_t)(eq - s));
	opt.pid[opt.n_pids++] = (pid_t)v;
	return 0;
}

static unsigned long long
number(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s || *end != '\0') {
		fprintf(stderr, "bench_client: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_client --target NAME --part "
	                "latency|throughput|scaling|cost|extras [OPTIONS] "
	                "(see bench_client.c)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	enum {
		OPT_TARGET = 256,
		OPT_PART,
		OPT_PATH,
		OPT_OPEN,
		OPT_READ,
		OPT_WRITE,
		OPT_IOCTL,
		OPT_IOCTL_CMD,
		OPT_POLL,
		OPT_NODE,
		OPT_PID,
		OPT_BUDGET,
		OPT_RUN,
		OPT_ITERS,
		OPT_COST_OPS,
		OPT_THREADS,
		OPT_RTC,
		OPT_LP,
		OPT_LP_FILE,
		OPT_KBD,
		OPT_KBD_FIFO
	};
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "part", required_argument, NULL, OPT_PART },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "open", required_argument, NULL, OPT_OPEN },
		{ "read", required_argument, NULL, OPT_READ },
		{ "write", required_argument, NULL, OPT_WRITE },
		{ "ioctl", required_argument, NULL, OPT_IOCTL },
		{ "ioctl-cmd", required_argument, NULL, OPT_IOCTL_CMD },
		{ "poll", required_argument, NULL, OPT_POLL },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "budget-ms", required_argument, NULL, OPT_BUDGET },
		{ "run-ms", required_argument, NULL, OPT_RUN },
		{ "iters", required_argument, NULL, OPT_ITERS },
		{ "cost-ops", required_argument, NULL, OPT_COST_OPS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "rtc", required_argument, NULL, OPT_RTC },
		{ "lp", required_argument, NULL, OPT_LP },
		{ "lp-file", required_argument, NULL, OPT_LP_FILE },
		{ "kbd", required_argument, NULL, OPT_KBD },
		{ "kbd-fifo", required_argument, NULL, OPT_KBD_FIFO },
		{ NULL, 0, NULL, 0 },
	};
	const char *part = NULL, *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET:
			out_target(optarg);
			break;
		case OPT_PART:
			part = optarg;
			break;
		case OPT_PATH:
			path = optarg;
			break;
		case OPT_OPEN:
			opt.open = optarg;
			break;
		case OPT_READ:
			opt.read = optarg;
			break;
		case OPT_WRITE:
			opt.write = optarg;
			break;
		case OPT_IOCTL:
			opt.ioctl = optarg;
			break;
		case OPT_IOCTL_CMD:
			opt.ioctl_cmd = (unsigned int)number(optarg);
			break;
		case OPT_POLL:
			if (strcmp(optarg, "pipe") == 0)
				opt.poll_pipe = 1;
			else
				opt.poll = optarg;
			break;
		case OPT_NODE:
			if (opt.n_nodes == NODES_MAX)
				usage();
			opt.nodes[opt.n_nodes++] = optarg;
			break;
		case OPT_PID:
			if (parse_pid(optarg) < 0)
				usage();
			break;
		case OPT_BUDGET:
			opt.budget_ns = number(optarg) * NS_PER_MS;
			break;
		case OPT_RUN:
			opt.run_ns = number(optarg) * NS_PER_MS;
			break;
		case OPT_ITERS:
			opt.iters = (size_t)number(optarg);
			break;
		case OPT_COST_OPS:
			opt.cost_ops = (size_t)number(optarg);
			break;
		case OPT_THREADS:
			if (parse_threads(optarg) < 0)
				usage();
			break;
		case OPT_RTC:
			opt.rtc = optarg;
			break;
		case OPT_LP:
			opt.lp = optarg;
			break;
		case OPT_LP_FILE:
			opt.lp_file = optarg;
			break;
		case OPT_KBD:
			opt.kbd = optarg;
			break;
		case OPT_KBD_FIFO:
			opt.kbd_fifo = optarg;
			break;
		default:
			usage();
		}
	}
	if (part == NULL || optind != argc || opt.iters == 0 ||
	    opt.cost_ops == 0)
		usage();
	if (opt.open == NULL)
		opt.open = path;
	if (opt.read == NULL)
		opt.read = path;
	if (opt.write == NULL)
		opt.write = path;
	if (opt.ioctl == NULL)
		opt.ioctl = path;
	if (opt.poll == NULL && !opt.poll_pipe)
		opt.poll = path;
	if (strcmp(part, "extras") == 0) {
		part_extras();
		return 0;
	}
	if (opt.open == NULL || opt.read == NULL || opt.write == NULL ||
	    opt.ioctl == NULL || (opt.poll == NULL && !opt.poll_pipe))
		usage();
	if (strcmp(part, "latency") == 0)
		part_latency();
	else if (strcmp(part, "throughput") == 0)
		part_throughput();
	else if (strcmp(part, "scaling") == 0)
		part_scaling();
	else if (strcmp(part, "cost") == 0)
		part_cost();
	else
		usage();
	return 0;
}
