/*
 * ddmctl_show.c: rendering ddmfs's answers (ddmctl_show.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddmctl_show.h"

int
recs_parse(char *body, struct recs *ret)
{
	size_t cap = 0;
	char *line, *save = NULL;

	*ret = (struct recs){ 0 };
	for (line = strtok_r(body, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		struct rec *r;

		if (ret->n == cap) {
			struct rec *v;

			cap = cap ? 2 * cap : 32;
			v = reallocarray(ret->v, cap, sizeof(*v));
			if (v == NULL)
				return -ENOMEM;
			ret->v = v;
		}
		r = &ret->v[ret->n++];
		r->n = 0;
		for (char *p = line; r->n < FIELDS_MAX;) {
			char *tab = strchr(p, '\t');

			r->f[r->n++] = p;
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
	}
	return 0;
}

/* The field i of r, or "" where r is shorter (an older ddmfs). */
static const char *
fld(const struct rec *r, int i)
{
	return i < r->n ? r->f[i] : "";
}

/* Writes s as a JSON string: escaped, and invalid UTF-8 as U+FFFD. */
static void
json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p != '\0') {
		int k = 0;

		if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			printf("\\u%04x", *p++);
			continue;
		}
		if (*p < 0x80) {
			putchar(*p++);
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			k = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			k = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			k = 3;
		for (int i = 1; k > 0 && i <= k; i++)
			if ((p[i] & 0xc0) != 0x80)
				k = 0;
		if (k == 0) {
			fputs("\\ufffd", stdout);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)k + 1, stdout);
		p += k + 1;
	}
	putchar('"');
}

/* Whether s is a decimal number (digits, at most 18). */
static bool
is_num(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0';
}

/* Writes s as a JSON number, or null when it is not one ("-"). */
static void
json_num(const char *s)
{
	if (is_num(s))
		printf("%lld", strtoll(s, NULL, 10)); /* no leading zeros */
	else
		fputs("null", stdout);
}

static void
json_key(const char *key, bool *first)
{
	if (!*first)
		putchar(',');
	*first = false;
	json_str(key);
	putchar(':');
}

/*
 * A table: rows of cells, aligned under a header on a terminal,
 * tab-separated without header otherwise.
 */
static void
table(const char *const *head, int ncol, const char *const *cells, size_t nrows)
{
	bool tty = isatty(STDOUT_FILENO);
	size_t w[FIELDS_MAX] = { 0 };

	if (tty) {
		for (int c = 0; c < ncol; c++)
			w[c] = strlen(head[c]);
		for (size_t r = 0; r < nrows; r++)
			for (int c = 0; c < ncol; c++)
				if (strlen(cells[r * ncol + c]) > w[c])
					w[c] = strlen(cells[r * ncol + c]);
		for (int c = 0; c < ncol; c++)
			printf("%-*s%s", c + 1 < ncol ? (int)w[c] : 0, head[c],
			       c + 1 < ncol ? "  " : "\n");
	}
	for (size_t r = 0; r < nrows; r++)
		for (int c = 0; c < ncol; c++) {
			const char *s = cells[r * ncol + c];

			if (tty)
				printf("%-*s%s", c + 1 < ncol ? (int)w[c] : 0,
				       s, c + 1 < ncol ? "  " : "\n");
			else
				printf("%s%s", s, c + 1 < ncol ? "\t" : "\n");
		}
}

/* Names of the list record's fields after "node", in order. */
static const char *const list_keys[] = {
	"node",     "driver", "instance", "transport", "state",  "pid",
	"restarts", "mode",   "owner",    "group",     "grants",
};
#define LIST_COLS ((int)(sizeof(list_keys) / sizeof(list_keys[0])))

static void
list_json(const struct recs *rs, const struct opts *o)
{
	bool first_row = true;

	fputs("{\"nodes\":[", stdout);
	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];
		bool first = true;

		if (strcmp(fld(r, 0), "node") != 0)
			continue;
		printf("%s{", first_row ? "" : ",");
		first_row = false;
		for (int c = 0; c < LIST_COLS; c++) {
			const char *v = fld(r, c + 1);

			json_key(list_keys[c], &first);
			if (strcmp(list_keys[c], "pid") == 0 ||
			    strcmp(list_keys[c], "restarts") == 0) {
				json_num(v);
			} else if (strcmp(list_keys[c], "grants") == 0) {
				char *copy = strdup(v), *save = NULL, *g;
				bool fg = true;

				putchar('[');
				for (g = copy ? strtok_r(copy, ",", &save)
				              : NULL;
				     g != NULL; g = strtok_r(NULL, ",", &save))
					if (strcmp(g, "-") != 0) {
						printf("%s", fg ? "" : ",");
						json_str(g);
						fg = false;
					}
				putchar(']');
				free(copy);
			} else {
				json_str(v);
			}
		}
		putchar('}');
	}
	putchar(']');
	if (o->all) {
		first_row = true;
		fputs(",\"unbound\":[", stdout);
		for (size_t i = 0; i < rs->n; i++) {
			const struct rec *r = &rs->v[i];
			char id[64], *colon;
			bool first = true;

			if (strcmp(fld(r, 0), "pci") != 0)
				continue;
			snprintf(id, sizeof(id), "%s", fld(r, 2));
			colon = strchr(id, ':');
			if (colon != NULL)
				*colon++ = '\0';
			printf("%s{", first_row ? "" : ",");
			first_row = false;
			json_key("address", &first);
			json_str(fld(r, 1));
			json_key("vendor", &first);
			json_str(id);
			json_key("device", &first);
			json_str(colon != NULL ? colon : "");
			json_key("class", &first);
			json_str(fld(r, 3));
			json_key("state", &first);
			json_str(fld(r, 4));
			putchar('}');
		}
		putchar(']');
	}
	fputs("}\n", stdout);
}

/* list: NODE DRIVER INSTANCE TRANSPORT STATE PID RESTARTS MODE OWNER
 * GROUP [GRANTS], then with --all the unbound PCI functions. */
int
show_list(struct recs *rs, const struct opts *o)
{
	static const char *const head[] = {
		"NODE",     "DRIVER", "INSTANCE", "TRANSPORT", "STATE",  "PID",
		"RESTARTS", "MODE",   "OWNER",    "GROUP",     "GRANTS",
	};
	static const char *const pci_head[] = { "ADDRESS", "VENDOR:DEVICE",
		                                "CLASS", "STATE" };
	int ncol = o->verbose ? LIST_COLS : LIST_COLS - 1;
	const char **cells = calloc(rs->n * LIST_COLS + 1, sizeof(*cells));
	size_t n = 0, npci = 0;

	if (cells == NULL)
		return -ENOMEM;
	if (o->json) {
		list_json(rs, o);
		free(cells);
		return 0;
	}
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(fld(&rs->v[i], 0), "node") == 0) {
			for (int c = 0; c < ncol; c++)
				cells[n * ncol + c] = fld(&rs->v[i], c + 1);
			n++;
		}
	table(head, ncol, cells, n);
	for (size_t i = 0; o->all && i < rs->n; i++)
		if (strcmp(fld(&rs->v[i], 0), "pci") == 0) {
			for (int c = 0; c < 4; c++)
				cells[npci * 4 + c] = fld(&rs->v[i], c + 1);
			npci++;
		}
	if (npci > 0 && isatty(STDOUT_FILENO))
		putchar('\n');
	if (npci > 0)
		table(pci_head, 4, cells, npci);
	free(cells);
	return 0;
}

/* A tree record's depth: "isa0" 1, "isa0/rtc0" 2. */
static int
depth(const struct rec *r)
{
	int d = 1;

	for (const char *p = fld(r, 1); *p != '\0'; p++)
		d += *p == '/';
	return d;
}

static const char *
base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static size_t children_json(const struct recs *rs, size_t i, int d);

/* Writes record i and its children as JSON; returns the next index. */
static size_t
tree_json(const struct recs *rs, size_t i)
{
	const struct rec *r = &rs->v[i];
	bool leaf = strcmp(fld(r, 0), "leaf") == 0, first = true;
	int d = depth(r);

	putchar('{');
	json_key("name", &first);
	json_str(base(fld(r, 1)));
	json_key("path", &first);
	json_str(fld(r, 1));
	json_key("type", &first);
	json_str(leaf ? "leaf" : "dir");
	if (leaf) {
		json_key("state", &first);
		json_str(fld(r, 2));
		json_key("driver", &first);
		json_str(fld(r, 3));
		putchar('}');
		return i + 1;
	}
	json_key("children", &first);
	i = children_json(rs, i + 1, d);
	putchar('}');
	return i;
}

/* Writes the records from i on that lie below depth d, as a JSON array
 * of those at depth d + 1 with their children; returns the next index. */
static size_t
children_json(const struct recs *rs, size_t i, int d)
{
	bool first = true;

	putchar('[');
	while (i < rs->n && depth(&rs->v[i]) > d) {
		if (depth(&rs->v[i]) > d + 1) { /* malformed: skip */
			i++;
			continue;
		}
		if (!first)
			putchar(',');
		first = false;
		i = tree_json(rs, i);
	}
	putchar(']');
	return i;
}

/* tree: the hierarchy drawn like tree(1), each leaf with its state. */
int
show_tree(struct recs *rs, const struct opts *o)
{
	bool last_at[FIELDS_MAX + 1] = { false };

	if (o->json) {
		/* the root: every record lies below it (depth >= 1) */
		fputs("{\"name\":\"\",\"path\":\"\",\"type\":\"dir\","
		      "\"children\":",
		      stdout);
		children_json(rs, 0, 0);
		fputs("}\n", stdout);
		return 0;
	}
	puts(".");
	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];
		int d = depth(r);
		bool last = true;

		if (d > FIELDS_MAX)
			continue;
		for (size_t j = i + 1; j < rs->n; j++) {
			int dj = depth(&rs->v[j]);

			if (dj < d)
				break;
			if (dj == d) {
				last = false;
				break;
			}
		}
		last_at[d] = last;
		for (int k = 1; k < d; k++)
			fputs(last_at[k] ? "    " : "│   ", stdout);
		fputs(last ? "└── " : "├── ", stdout);
		if (strcmp(fld(r, 0), "leaf") == 0)
			printf("%s [%s]\n", base(fld(r, 1)), fld(r, 2));
		else
			printf("%s\n", base(fld(r, 1)));
	}
	return 0;
}

/* status keys that are numbers in JSON ("-" is null). */
static bool
numeric_key(const char *k)
{
	static const char *const keys[] = { "pid", "restarts", "requests",
		                            "errors", "interrupts" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

/* status NODE: "key: value" lines, then "log:" and the recent lines. */
int
show_status(struct recs *rs, const struct opts *o)
{
	bool first = true, first_log = true;

	if (o->json)
		putchar('{');
	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];

		if (strcmp(fld(r, 0), "log") == 0)
			continue;
		if (!o->json) {
			printf("%s: %s\n", fld(r, 0), fld(r, 1));
			continue;
		}
		json_key(fld(r, 0), &first);
		if (numeric_key(fld(r, 0)))
			json_num(fld(r, 1));
		else
			json_str(fld(r, 1));
	}
	if (o->json)
		json_key("log", &first), putchar('[');
	else
		puts("log:");
	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];

		if (strcmp(fld(r, 0), "log") != 0)
			continue;
		if (!o->json) {
			printf("  %s\n", fld(r, 1));
			continue;
		}
		if (!first_log)
			putchar(',');
		first_log = false;
		json_str(fld(r, 1));
	}
	if (o->json)
		fputs("]}\n", stdout);
	return 0;
}

/* One event line (monitor.h) as text or JSON. */
void
show_event(char *line, bool json)
{
	struct recs rs = { 0 };
	struct rec *r;
	bool first = true;

	if (recs_parse(line, &rs) < 0 || rs.n == 0) {
		free(rs.v);
		return;
	}
	r = &rs.v[0];
	if (!json) {
		printf("%s %s %s %s\n", fld(r, 0), fld(r, 1), fld(r, 2),
		       fld(r, 3));
	} else {
		static const char *const keys[] = { "time", "event", "node",
			                            "detail" };

		putchar('{');
		for (int i = 0; i < 4; i++) {
			json_key(keys[i], &first);
			json_str(fld(r, i));
		}
		for (int i = 4; i < r->n; i++) {
			char *eq = strchr(r->f[i], '=');

			if (eq == NULL)
				continue;
			*eq = '\0';
			json_key(r->f[i], &first);
			if (strcmp(r->f[i], "mode") == 0)
				json_str(eq + 1);
			else if (is_num(eq + 1))
				json_num(eq + 1);
			else
				json_str(eq + 1);
		}
		puts("}");
	}
	fflush(stdout);
	free(rs.v);
}

int
show_plain(struct recs *rs, const struct opts *o)
{
	(void)o;
	for (size_t i = 0; i < rs->n; i++)
		for (int k = 0; k < rs->v[i].n; k++)
			printf("%s%s", rs->v[i].f[k],
			       k + 1 < rs->v[i].n ? "\t" : "\n");
	return 0;
}
