/*
 * bench.h: what the parts of bench_client share: the clock, latency
 * sample sets, and the table and summary printers (bench_util.c), and the
 * kbd0 wake measurement (bench_kbd.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull

/* A set of latencies in ns; n grows up to cap, later adds are dropped. */
struct samples {
	uint64_t *ns;
	size_t n, cap;
};

uint64_t now_ns(void);
void sleep_ns(uint64_t ns);

void samples_init(struct samples *s, size_t cap);
void samples_reset(struct samples *s);
void samples_free(struct samples *s);
void samples_add(struct samples *s, uint64_t ns);
/* Percentile p (0-100) in ns after sorting; 0 for an empty set. */
double samples_pct(struct samples *s, double p);
double samples_median(struct samples *s);

void table_header(void);
/* Prints the table's closing rule and then every summary line queued. */
void table_footer(void);
/* A row of latencies; err < 0 prints the error instead. */
void row_latency(const char *op, const char *target, struct samples *s,
                 int err);
/* A latency row that also has a throughput, bytes/s. */
void row_throughput(const char *op, const char *target, struct samples *s,
                    int err, double bps);
/* A row with only a rate: operations per second. */
void row_rate(const char *op, const char *target, double ops, int err);
/* Queues "what: pair X.XXx" (a/b) for after the table. */
void summary_ratio(const char *what, const char *pair, double a, double b);
/* Queues a free-form summary line. */
void summary_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Times key-to-POLLIN wake-ups on kbd0 fed through the sim FIFO. */
void bench_kbd(const char *kbd, const char *fifo);

#endif /* BENCH_H */
