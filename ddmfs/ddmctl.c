/*
 * ddmctl.c: the command-line client of ddmfs's control socket.
 *
 * ddmctl [--state-dir DIR] [--timeout SECS] [--json] COMMAND [ARGS]
 *
 * ddmfs answers with records of tab-separated fields (ctl.h); this
 * client renders them (ddmctl_show.c) as aligned tables on a terminal,
 * tab-separated rows otherwise, or JSON with --json.  The JSON is a stable
 * interface: fields are only ever added.  The commands are in verbs[] below;
 * the state directory defaults to /var/lib/ddmfs, $DDMFS_STATE_DIR overrides
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

#include "ddmctl_show.h"

#define STATE_DIR_DEFAULT "/var/lib/ddmfs"
#define REPLY_MAX         (1024 * 1024) /* longer answers are cut */
#define TIMEOUT_DEFAULT_S 30            /* the whole exchange */
#define TIMEOUT_MAX_S     3600
#define EVENT_MAX         4096 /* an event line longer than this is cut */

/* Exit statuses. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NO_NODE = 3,
	EXIT_NOT_PERMITTED = 4,
};

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
	{ "reset", 1, "", false, show_plain, "reset NODE",
	  "drop NODE's own chmod, chown and ACLs: the conf and\n"
	  "rules apply again" },
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
	if (r == EXIT_OK && recs_parse(reply + 3, &rs) == 0) {
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
