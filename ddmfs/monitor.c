/*
 * monitor.c: the event bus behind `ddmctl monitor` (monitor.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "monitor.h"

struct monitor {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* events queued (CLOCK_MONOTONIC) */
	char (*q)[MON_LINE_MAX];
	unsigned int head, n;
	unsigned long long lost;
	unsigned int slot;
};

/* The bus: the monitors connected now.  bus_lock is held only to copy a
 * line into the queues, never across anything that can block. */
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct monitor *mons[MON_MAX];
static atomic_uint n_mons;
static bool shut;

void
monitor_emit(const char *event, const char *node, const char *extra,
             const char *fmt, ...)
{
	char line[MON_LINE_MAX], detail[MON_LINE_MAX], raw[MON_LINE_MAX];
	char when[32], where[MON_LINE_MAX];
	struct timespec t;
	va_list ap;

	if (atomic_load(&n_mons) == 0)
		return; /* nobody listens: no formatting either */
	clock_gettime(CLOCK_REALTIME, &t);
	log_time(when, sizeof(when), &t);
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	ctl_field(detail, sizeof(detail), raw);
	ctl_field(where, sizeof(where), node != NULL && node[0] ? node : "-");
	if (snprintf(line, sizeof(line), "%s\t%s\t%s\t%s%s%s\n", when, event,
	             where, detail, extra != NULL ? "\t" : "",
	             extra != NULL ? extra : "") >= (int)sizeof(line))
		line[sizeof(line) - 2] = '\n'; /* cut: still one line */
	pthread_mutex_lock(&bus_lock);
	for (unsigned int i = 0; i < MON_MAX; i++) {
		struct monitor *m = mons[i];

		if (m == NULL)
			continue;
		pthread_mutex_lock(&m->lock);
		if (m->n == MON_QUEUE_MAX) {
			m->lost++;
		} else {
			memcpy(m->q[(m->head + m->n) % MON_QUEUE_MAX], line,
			       strlen(line) + 1);
			m->n++;
		}
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_unlock(&bus_lock);
}

int
monitor_open(struct monitor **ret)
{
	struct monitor *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	int r = -EBUSY;

	if (m == NULL)
		return -ENOMEM;
	m->q = calloc(MON_QUEUE_MAX, sizeof(*m->q));
	if (m->q == NULL) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&bus_lock);
	for (unsigned int i = 0; !shut && i < MON_MAX; i++)
		if (mons[i] == NULL) {
			m->slot = i;
			mons[i] = m;
			atomic_fetch_add(&n_mons, 1);
			r = 0;
			break;
		}
	pthread_mutex_unlock(&bus_lock);
	if (r < 0) {
		monitor_close(m);
		return r;
	}
	*ret = m;
	return 0;
}

void
monitor_close(struct monitor *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&bus_lock);
	if (mons[m->slot] == m) {
		mons[m->slot] = NULL;
		atomic_fetch_sub(&n_mons, 1);
	}
	pthread_mutex_unlock(&bus_lock);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->q);
	free(m);
}

/* Whether the bus is shut, read under m's lock (shut is set under
 * every monitor's lock, see monitor_shutdown()). */
static bool
is_shut(void)
{
	return __atomic_load_n(&shut, __ATOMIC_ACQUIRE);
}

int
monitor_take(struct monitor *m, int ms, char **ret_text)
{
	struct timespec ts;
	char *text = NULL, when[32];
	size_t len = 0;
	unsigned long long lost;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m->lock);
	while (m->n == 0 && m->lost == 0 && !is_shut())
		if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) != 0)
			break;
	/* one allocation for every line, and room for the lost line */
	if (m->n > 0 || m->lost > 0)
		text = malloc((size_t)(m->n + 1) * MON_LINE_MAX);
	if (text != NULL) {
		for (; m->n > 0; m->n--) {
			size_t k = strlen(m->q[m->head]);

			memcpy(text + len, m->q[m->head], k);
			len += k;
			m->head = (m->head + 1) % MON_QUEUE_MAX;
		}
		text[len] = '\0';
	}
	lost = text != NULL ? m->lost : 0;
	if (text != NULL)
		m->lost = 0;
	pthread_mutex_unlock(&m->lock);
	if (lost > 0) {
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		log_time(when, sizeof(when), &t);
		snprintf(text + len, MON_LINE_MAX,
		         "%s\tlost\t-\t%llu events lost\tcount=%llu\n", when,
		         lost, lost);
	}
	*ret_text = text;
	return is_shut() ? -ESHUTDOWN : 0;
}

void
monitor_shutdown(void)
{
	pthread_mutex_lock(&bus_lock);
	__atomic_store_n(&shut, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < MON_MAX; i++)
		if (mons[i] != NULL) {
			pthread_mutex_lock(&mons[i]->lock);
			pthread_cond_broadcast(&mons[i]->cond);
			pthread_mutex_unlock(&mons[i]->lock);
		}
	pthread_mutex_unlock(&bus_lock);
}

void
monitor_resume(void)
{
	pthread_mutex_lock(&bus_lock);
	__atomic_store_n(&shut, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&bus_lock);
}
