/*
 * bench_util.c: the bench client's clock, latency statistics, JSON-lines
 * output and per-process usage counters.  The table, the ratios and
 * bench-results.json are made from these lines by bench_report.py.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PROC_TEXT_MAX 4096 /* /proc/PID/task/TID/status is about 1.5 KiB */

static const char *target = "?";

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull),
		               (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
samples_init(struct samples *s, size_t cap)
{
	s->ns = calloc(cap, sizeof(*s->ns));
	s->n = 0;
	s->cap = s->ns != NULL ? cap : 0;
}

void
samples_reset(struct samples *s)
{
	s->n = 0;
}

void
samples_free(struct samples *s)
{
	if (s == NULL)
		return;
	free(s->ns);
	s->ns = NULL;
	s->n = s->cap = 0;
}

void
samples_add(struct samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile. */
double
samples_pct(struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	i = (size_t)(p / 100.0 * (double)s->n + 0.5);
	if (i > 0)
		i--;
	if (i >= s->n)
		i = s->n - 1;
	return (double)s->ns[i];
}

double
samples_median(struct samples *s)
{
	return samples_pct(s, 50);
}

void
out_target(const char *t)
{
	target = t;
}

void
out_line(const char *kind, const char *fmt, ...)
{
	va_list ap;

	printf("{\"kind\": \"%s\", \"target\": \"%s\", ", kind, target);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	puts("}");
	fflush(stdout);
}

void
out_error(const char *kind, const char *op, int err)
{
	out_line(kind, "\"op\": \"%s\", \"error\": \"%s\"", op, strerror(-err));
}

void
out_latency(const char *kind, const char *op, struct samples *s)
{
	out_line(kind,
	         "\"op\": \"%s\", \"n\": %zu, \"median_ns\": %.0f, "
	         "\"p99_ns\": %.0f, \"max_ns\": %.0f",
	         op, s->n, samples_median(s), samples_pct(s, 99),
	         samples_pct(s, 100));
}

/* Reads the small text file at path into buf (NUL-terminated). */
static int
read_text(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}

/* The number after "key:" in status text, or 0. */
static uint64_t
status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* CPU time of one thread: schedstat's first field (ns), else stat's
 * utime + stime in clock ticks. */
static uint64_t
thread_cpu_ns(const char *dir)
{
	char path[64 + 256 + 32], text[PROC_TEXT_MAX], *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "%s/schedstat", dir);
	if (read_text(path, text, sizeof(text)) == 0)
		return strtoull(text, NULL, 10);
	snprintf(path, sizeof(path), "%s/stat", dir);
	if (read_text(path, text, sizeof(text)) < 0)
		return 0;
	/* fields after the command, which may hold spaces: state is 3rd */
	p = strrchr(text, ')');
	if (p == NULL || sscanf(p + 2,
	                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	                        "%*u %llu %llu",
	                        &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/*
 * This process: a running thread's schedstat lags by up to a tick, so its
 * CPU time comes from the CPU-time clock and its switches from getrusage.
 */
static int
usage_self(struct usage *ret)
{
	struct rusage ru;
	struct timespec ts;

	if (getrusage(RUSAGE_SELF, &ru) < 0 ||
	    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return -errno;
	*ret = (struct usage){
		.vol = (uint64_t)ru.ru_nvcsw,
		.invol = (uint64_t)ru.ru_nivcsw,
		.cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull +
		          (uint64_t)ts.tv_nsec,
		.threads = 1,
	};
	return 0;
}

int
usage_of(pid_t pid, struct usage *ret)
{
	char dir[64], path[64 + 256 + 16], text[PROC_TEXT_MAX];
	struct usage u = { 0 };
	struct dirent *e;
	DIR *d;

	if (pid == 0)
		return usage_self(ret);
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		if (read_text(path, text, sizeof(text)) < 0)
			continue; /* exited meanwhile */
		u.vol += status_field(text, "\nvoluntary_ctxt_switches:");
		u.invol += status_field(text, "\nnonvoluntary_ctxt_switches:");
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		u.cpu_ns += thread_cpu_ns(path);
		u.threads++;
	}
	closedir(d);
	*ret = u;
	return 0;
}
