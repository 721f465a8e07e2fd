/*
 * ddmctl_show.h: how ddmctl renders ddmfs's answers (ctl.h's records):
 * aligned tables on a terminal, tab-separated rows otherwise, trees,
 * "key: value" lines, or JSON (--json, stable: fields are only ever
 * added).
 */
#ifndef DDMFS_DDMCTL_SHOW_H
#define DDMFS_DDMCTL_SHOW_H

#include <stdbool.h>
#include <stddef.h>

#define FIELDS_MAX 32 /* fields per record */

struct opts {
	const char *state_dir;
	int timeout_s;
	bool json;
	bool verbose; /* list -v */
	bool all;     /* list --all */
};

/* One record of an answer: its fields, pointing into the answer. */
struct rec {
	char *f[FIELDS_MAX];
	int n;
};

struct recs {
	struct rec *v;
	size_t n;
};

/* Splits body (changed in place) into records: 0 or -ENOMEM. */
int recs_parse(char *body, struct recs *ret);

/* Each prints an answer's records on stdout as o asks: 0 or -errno. */
int show_list(struct recs *rs, const struct opts *o);
int show_tree(struct recs *rs, const struct opts *o);
int show_status(struct recs *rs, const struct opts *o);
/* The records as they came, fields tab-separated. */
int show_plain(struct recs *rs, const struct opts *o);
/* One event line of a monitor (monitor.h), changed in place. */
void show_event(char *line, bool json);

#endif /* DDMFS_DDMCTL_SHOW_H */
