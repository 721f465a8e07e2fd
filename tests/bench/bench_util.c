/*
 * bench_util.c: the bench client's clock, latency statistics and table
 * printing.  Summary lines are queued while rows print and come out after
 * the table, so the table stays in one piece.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define SUMMARY_MAX 32
#define RULE                                                                   \
	"------------------------------------------------------------------"   \
	"------------"

static char *summary[SUMMARY_MAX];
static size_t n_summary;

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

/* Formats a duration in ns with a unit that keeps 3-4 digits. */
static const char *
dur(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	return buf;
}

static const char *
rate(char *buf, size_t len, double bps)
{
	if (bps >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.2f GiB/s", bps / (1024.0 * 1024 * 1024));
	else if (bps >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MiB/s", bps / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1f KiB/s", bps / 1024.0);
	return buf;
}

void
table_header(void)
{
	printf("%-22s %-13s %7s %10s %10s %10s %14s\n", "operation", "target",
	       "n", "median", "p99", "max", "rate");
	puts(RULE);
}

void
table_footer(void)
{
	puts(RULE);
	for (size_t i = 0; i < n_summary; i++) {
		puts(summary[i]);
		free(summary[i]);
	}
	n_summary = 0;
	fflush(stdout);
}

static void
row(const char *op, const char *target, struct samples *s, int err,
    const char *rate_text)
{
	char med[16], p99[16], max[16];

	if (err < 0) {
		printf("%-22s %-13s error: %s\n", op, target, strerror(-err));
	} else if (s == NULL) {
		printf("%-22s %-13s %7s %10s %10s %10s %14s\n", op, target, "-",
		       "-", "-", "-", rate_text);
	} else {
		dur(med, sizeof(med), samples_median(s));
		dur(p99, sizeof(p99), samples_pct(s, 99));
		dur(max, sizeof(max), samples_pct(s, 100));
		printf("%-22s %-13s %7zu %10s %10s %10s %14s\n", op, target,
		       s->n, med, p99, max, rate_text);
	}
	fflush(stdout);
}

void
row_latency(const char *op, const char *target, struct samples *s, int err)
{
	row(op, target, s, err, "");
}

void
row_throughput(const char *op, const char *target, struct samples *s, int err,
               double bps)
{
	char r[24];

	row(op, target, s, err, rate(r, sizeof(r), bps));
}

void
row_rate(const char *op, const char *target, double ops, int err)
{
	char r[24];

	snprintf(r, sizeof(r), "%.0f ops/s", ops);
	row(op, target, NULL, err, r);
}

void
summary_line(const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (n_summary == SUMMARY_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		summary[n_summary++] = s;
	va_end(ap);
}

void
summary_ratio(const char *what, const char *pair, double a, double b)
{
	if (a <= 0 || b <= 0)
		summary_line("ratio %-32s %-18s n/a", what, pair);
	else
		summary_line("ratio %-32s %-18s %#9.3gx", what, pair, a / b);
}
