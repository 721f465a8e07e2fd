/*
 * ddmctl.c: the command-line client of ddmfs's control socket.
 *
 * ddmctl [--state-dir DIR] [--timeout SECS] [--json] COMMAND [ARGS]
 *
 * ddmfs answers with records of tab-separated fields (ctl.h); this
 * client renders them as aligned tables on a terminal, tab-separated
 * rows otherwise, or JSON with --json.  The JSON is a stable interface:
 * fields are only ever added.  The commands are in verbs[] below; the
 * state directory defaults to /var/lib/ddmfs, $DDMFS_STATE_DIR overrides
 * that and --state-dir overrides both.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATE_DIR_DEFAULT "/var/lib/ddmfs"
#define REPLY_MAX         (1024 * 1024) /* longer answers are cut */
#define TIMEOUT_DEFAULT_S 30            /* the whole exchange */
#define TIMEOUT_MAX_S     3600
#define FIELDS_MAX        32   /* fields per record */
#define EVENT_MAX         4096 /* an event line longer than this is cut */

/* Exit statuses. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NO_NODE = 3,
	EXIT_NOT_PERMITTED = 4,
};

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
static int
parse(char *body, struct recs *ret)
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
		fputs(s[0] == '0' && s[1] != '\0' ? s + strspn(s, "0") : s,
		      stdout);
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
static int
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
	putchar('[');
	first = true;
	for (i++; i < rs->n && depth(&rs->v[i]) > d;) {
		if (depth(&rs->v[i]) > d + 1) { /* malformed: skip */
			i++;
			continue;
		}
		if (!first)
			putchar(',');
		first = false;
		i = tree_json(rs, i);
	}
	fputs("]}", stdout);
	return i;
}

/* tree: the hierarchy drawn like tree(1), each leaf with its state. */
static int
show_tree(struct recs *rs, const struct opts *o)
{
	bool last_at[FIELDS_MAX + 1] = { false };

	if (o->json) {
		bool first = true;

		fputs("{\"name\":\"\",\"path\":\"\",\"type\":\"dir\","
		      "\"children\":[",
		      stdout);
		for (size_t i = 0; i < rs->n;) {
			if (depth(&rs->v[i]) != 1) {
				i++;
				continue;
			}
			if (!first)
				putchar(',');
			first = false;
			i = tree_json(rs, i);
		}
		fputs("]}\n", stdout);
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
static int
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
static void
show_event(char *line, bool json)
{
	struct recs rs = { 0 };
	struct rec *r;
	bool first = true;

	if (parse(line, &rs) < 0 || rs.n == 0) {
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

static int
show_plain(struct recs *rs, const struct opts *o)
{
	(void)o;
	for (size_t i = 0; i < rs->n; i++)
		for (int k = 0; k < rs->v[i].n; k++)
			printf("%s%s", rs->v[i].f[k],
			       k + 1 < rs->v[i].n ? "\t" : "\n");
	return 0;
}

/*
 * The commands.  flags: the verb's own options ('v' for -v, 'a' for
 * --all); reads: --json applies; show renders the answer's records.
 */
static const struct verb {
	const char *name;
	int nargs;
	const char *flags;
	bool reads;
	int (*show)(struct recs *rs, const struct opts *o);
	const char *synopsis;
	const char *help;
} verbs[] = {
	{ "list", 0, "va", true, show_list, "list [-v] [--all]",
	  "one row per node: NODE DRIVER INSTANCE TRANSPORT STATE\n"
	  "PID RESTARTS MODE OWNER GROUP; -v adds GRANTS (ports or\n"
	  "PCI address); --all adds the PCI functions no rule took:\n"
	  "ADDRESS VENDOR:DEVICE CLASS unbound" },
	{ "tree", 0, "", true, show_tree, "tree",
	  "the hierarchy, each leaf with its state" },
	{ "status", 1, "", true, show_status, "status NODE",
	  "one node: driver, instance, state, pid, restarts,\n"
	  "transport, counters (requests, errors, interrupts), mode,\n"
	  "owner, group and its recent log lines" },
	{ "start", 1, "", false, show_plain, "start NODE",
	  "start a stopped or failed driver" },
	{ "stop", 1, "", false, show_plain, "stop NODE", "stop a driver" },
	{ "restart", 1, "", false, show_plain, "restart NODE",
	  "stop and start a driver" },
	{ "reload", 0, "", false, show_plain, "reload",
	  "re-read the configuration: add, remove and restart\n"
	  "nodes" },
	{ "upgrade", 0, "", false, show_plain, "upgrade",
	  "replace the running ddmfs with the binary on disk,\n"
	  "keeping the mount, open files and drivers" },
	{ "monitor", 0, "", true, NULL, "monitor",
	  "print events as they happen, one line each: TIME EVENT\n"
	  "NODE DETAIL; EVENT is add, remove, start, exit, restart,\n"
	  "failed, perm, upgrade or lost (events this monitor missed)" },
};

static void
usage(FILE *f)
{
	fputs("usage: ddmctl [--state-dir DIR] [--timeout SECS] [--json] "
	      "COMMAND [ARGS]\n\ncommands:\n",
	      f);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *h = verbs[i].help;

		fprintf(f, "  %-18s ", verbs[i].synopsis);
		for (; *h != '\0'; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "  %-18s ", "");
		}
		fputc('\n', f);
	}
	fputs("\noptions:\n"
	      "  --state-dir DIR    the ddmfs state directory whose ctl.sock "
	      "to use\n"
	      "                     (default: $DDMFS_STATE_DIR, "
	      "else " STATE_DIR_DEFAULT ")\n"
	      "  --timeout SECS     give up after SECS seconds (default 30)\n"
	      "  --json             JSON for list, tree, status and monitor "
	      "(one object\n"
	      "                     per event); stable: fields are only ever "
	      "added\n"
	      "  -h, --help         this text\n"
	      "\nenvironment:\n"
	      "  DDMFS_STATE_DIR    the state directory, unless --state-dir "
	      "is given\n"
	      "\nexit status:\n"
	      "  0 ok, 1 failure, 2 usage, 3 no such node, 4 not permitted\n",
	      f);
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until end (-1: forever): 0 or
 * -ETIMEDOUT. */
static int
wait_for(int fd, short events, long long end)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		long long left = end < 0 ? 1000000 : end - mono_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Connects to the socket under state_dir and sends line, by end: the
 * socket, or -errno (reported on stderr here).
 */
static int
dial(const char *state_dir, const char *line, long long end, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t off = 0;
	int fd, r;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl.sock",
	             state_dir) >= (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "ddmctl: The state dir path is too long.\n");
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "ddmctl: socket: %s\n", strerror(errno));
		return r;
	}
	/* a full backlog refuses a non-blocking connect: try again */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		struct timespec pause = { 0, 10 * 1000000L };

		if (errno == EAGAIN && mono_ms() < end) {
			nanosleep(&pause, NULL);
			continue;
		}
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		fprintf(stderr,
		        "ddmctl: Cannot connect to %s: %s (is ddmfs running "
		        "with this state dir?)\n",
		        sa.sun_path, strerror(-r));
		goto close_sock;
	}
	while (off < strlen(line)) {
		ssize_t n;

		r = wait_for(fd, POLLOUT, end);
		if (r < 0)
			goto timed_out;
		n = send(fd, line + off, strlen(line) - off,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* it answered already (busy): read why */
		if (n < 0) {
			r = -errno;
			fprintf(stderr, "ddmctl: %s: %s\n", sa.sun_path,
			        strerror(errno));
			goto close_sock;
		}
		off += (size_t)n;
	}
	return fd;

timed_out:
	fprintf(stderr, "ddmctl: %s: no answer within %d s\n", sa.sun_path,
	        timeout_s);
close_sock:
	close(fd);
	return r;
}

/*
 * Reads from fd until end, until the peer closes (stop_at_line false)
 * or until the first newline (true): the bytes (malloc'd, NUL-ended)
 * or NULL on a timeout or error (reported).
 */
static char *
receive(int fd, long long end, bool stop_at_line, int timeout_s)
{
	char *buf = malloc(REPLY_MAX + 1);
	size_t len = 0;

	if (buf == NULL) {
		fprintf(stderr, "ddmctl: out of memory\n");
		return NULL;
	}
	while (len < REPLY_MAX &&
	       !(stop_at_line && len > 0 && buf[len - 1] == '\n')) {
		ssize_t n;

		if (wait_for(fd, POLLIN, end) < 0) {
			fprintf(stderr, "ddmctl: no answer within %d s\n",
			        timeout_s);
			free(buf);
			return NULL;
		}
		n = recv(fd, buf + len, stop_at_line ? 1 : REPLY_MAX - len,
		         MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Judges an answer's first line: 0 for "OK", else prints the error
 * sentence and returns the exit status its kind calls for.
 */
static int
judge(const char *reply)
{
	static const struct {
		const char *kind;
		int status;
	} kinds[] = {
		{ "ENOENT", EXIT_NO_NODE },
		{ "EPERM", EXIT_NOT_PERMITTED },
		{ "EINVAL", EXIT_USAGE },
	};
	const char *msg;
	size_t k;

	if (strncmp(reply, "OK\n", 3) == 0)
		return EXIT_OK;
	if (strncmp(reply, "ERR ", 4) != 0) {
		fprintf(stderr, "ddmctl: ddmfs gave no answer.\n");
		return EXIT_FAIL;
	}
	msg = reply + 4;
	k = strspn(msg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (k > 1 && msg[0] == 'E' && msg[k] == ' ') {
		fprintf(stderr, "ddmctl: %s", msg + k + 1);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].kind) == k &&
			    strncmp(msg, kinds[i].kind, k) == 0)
				return kinds[i].status;
		return EXIT_FAIL;
	}
	fprintf(stderr, "ddmctl: %s", msg); /* an older ddmfs */
	return EXIT_FAIL;
}

/* monitor: prints events until ddmfs closes the connection. */
static int
monitor(const struct opts *o)
{
	long long end = mono_ms() + (long long)o->timeout_s * 1000;
	char *first, line[EVENT_MAX + 1];
	size_t len = 0;
	int fd, r;

	fd = dial(o->state_dir, "monitor\n", end, o->timeout_s);
	if (fd < 0)
		return EXIT_FAIL;
	first = receive(fd, end, true, o->timeout_s);
	if (first == NULL) {
		close(fd);
		return EXIT_FAIL;
	}
	r = judge(first);
	free(first);
	while (r == EXIT_OK) {
		ssize_t n;

		if (wait_for(fd, POLLIN, -1) < 0)
			break;
		n = recv(fd, line + len, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* ddmfs stopped or upgraded */
		if (line[len] == '\n' || len == EVENT_MAX - 1) {
			line[len] = '\0';
			show_event(line, o->json);
			len = 0;
		} else {
			len++;
		}
	}
	close(fd);
	return r;
}

/* Parses the words after the verb: its flags and its nargs arguments
 * (into *ret_arg).  0, or prints why and returns -EINVAL. */
static int
verb_args(const struct verb *v, int argc, char **argv, struct opts *o,
          const char **ret_arg)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "-v") == 0 && strchr(v->flags, 'v')) {
			o->verbose = true;
		} else if (strcmp(a, "--all") == 0 && strchr(v->flags, 'a')) {
			o->all = true;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "ddmctl: %s does not take %s.\n",
			        v->name, a);
			return -EINVAL;
		} else if (n++ < v->nargs) {
			if (a[0] == '\0' || strpbrk(a, " \t\n") != NULL) {
				fprintf(stderr,
				        "ddmctl: \"%s\" is not a node name.\n",
				        a);
				return -EINVAL;
			}
			*ret_arg = a;
		}
	}
	if (n != v->nargs) {
		fprintf(stderr, "ddmctl: Usage: ddmctl %s\n", v->synopsis);
		return -EINVAL;
	}
	if (o->json && !v->reads) {
		fprintf(stderr,
		        "ddmctl: --json applies to list, tree, status and "
		        "monitor, not to %s.\n",
		        v->name);
		return -EINVAL;
	}
	if (o->all && !strchr(v->flags, 'a')) {
		fprintf(stderr, "ddmctl: --all applies to list only.\n");
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .state_dir = getenv("DDMFS_STATE_DIR"),
		          .timeout_s = TIMEOUT_DEFAULT_S };
	const struct verb *v = NULL;
	const char *arg = NULL;
	char line[1024], *reply, *end;
	struct recs rs;
	long long deadline;
	int c, fd, r;
	long t;

	if (o.state_dir == NULL || o.state_dir[0] == '\0')
		o.state_dir = STATE_DIR_DEFAULT;
	while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o.state_dir = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    t < 1 || t > TIMEOUT_MAX_S) {
				fprintf(stderr,
				        "ddmctl: --timeout takes 1 to %d "
				        "seconds, not \"%s\".\n",
				        TIMEOUT_MAX_S, optarg);
				return EXIT_USAGE;
			}
			o.timeout_s = (int)t;
			break;
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	for (size_t i = 0; optind < argc && i < sizeof(verbs) / sizeof(*verbs);
	     i++)
		if (strcmp(argv[optind], verbs[i].name) == 0)
			v = &verbs[i];
	if (v == NULL) {
		if (optind < argc)
			fprintf(stderr, "ddmctl: Unknown command \"%s\".\n",
			        argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (verb_args(v, argc - optind - 1, argv + optind + 1, &o, &arg) < 0)
		return EXIT_USAGE;
	if (v->show == NULL)
		return monitor(&o);
	if (snprintf(line, sizeof(line), "%s%s%s%s\n", v->name,
	             arg != NULL ? " " : "", arg != NULL ? arg : "",
	             o.all ? " --all" : "") >= (int)sizeof(line)) {
		fprintf(stderr, "ddmctl: The node name is too long.\n");
		return EXIT_USAGE;
	}
	deadline = mono_ms() + (long long)o.timeout_s * 1000;
	fd = dial(o.state_dir, line, deadline, o.timeout_s);
	if (fd < 0)
		return EXIT_FAIL;
	reply = receive(fd, deadline, false, o.timeout_s);
	close(fd);
	if (reply == NULL)
		return EXIT_FAIL;
	r = judge(reply);
	if (r == EXIT_OK && parse(reply + 3, &rs) == 0) {
		if (v->show(&rs, &o) < 0)
			r = EXIT_FAIL;
		free(rs.v);
	} else if (r == EXIT_OK) {
		fprintf(stderr, "ddmctl: out of memory\n");
		r = EXIT_FAIL;
	}
	free(reply);
	if (fflush(stdout) != 0)
		r = EXIT_FAIL;
	return r;
}
