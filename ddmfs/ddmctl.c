/*
 * ddmctl.c: the command-line client of ddmfs's control socket.
 *
 * ddmctl [--state-dir DIR] [--timeout SECS] list [--all] | status NODE |
 *        start NODE | stop NODE | restart NODE | reload | upgrade |
 *        reset NODE
 *
 * The state directory defaults to /var/lib/ddmfs; $DDMFS_STATE_DIR
 * overrides that and --state-dir overrides both.  ddmctl gives up on a
 * ddmfs that has not answered within the timeout (TIMEOUT_DEFAULT_S).
 * Exit status: 0 ok, 1 an error (message on stderr), 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STATE_DIR_DEFAULT "/var/lib/ddmfs"
#define REPLY_MAX         (1024 * 1024) /* longer answers are cut */
#define TIMEOUT_DEFAULT_S 30            /* the whole exchange */
#define TIMEOUT_MAX_S     3600

static const struct {
	const char *name;
	int nargs;
} cmds[] = {
	{ "list", 0 },    { "status", 1 }, { "start", 1 },   { "stop", 1 },
	{ "restart", 1 }, { "reload", 0 }, { "upgrade", 0 }, { "reset", 1 },
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ddmctl [--state-dir DIR] [--timeout SECS] COMMAND\n"
	        "commands:\n"
	        "  list            one line per node: NODE STATE PID "
	        "RESTARTS TRANSPORT\n"
	        "  list --all      the same, then one line per PCI function "
	        "no rule took:\n"
	        "                  ADDRESS VENDOR:DEVICE CLASS unbound\n"
	        "  status NODE     details of one node\n"
	        "  start NODE      start a stopped or failed driver\n"
	        "  stop NODE       stop a driver\n"
	        "  restart NODE    stop and start a driver\n"
	        "  reload          re-read the configuration: add, remove "
	        "and restart nodes\n"
	        "  reset NODE      drop NODE's own chmod, chown and ACLs: the "
	        "conf and rules\n"
	        "                  apply again\n"
	        "  upgrade         replace the running ddmfs with the binary "
	        "on disk,\n"
	        "                  keeping the mount, open files and "
	        "drivers\n");
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until end: 0 or -ETIMEDOUT. */
static int
wait_for(int fd, short events, long long end)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		long long left = end - mono_ms();
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
 * Sends line to the socket under state_dir; *ret_reply gets the answer.
 * The whole exchange ends by timeout_s.  Failures are reported on stderr
 * here.
 */
static int
ask(const char *state_dir, const char *line, int timeout_s, char **ret_reply)
{
	long long end = mono_ms() + (long long)timeout_s * 1000;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, off = 0;
	char *buf;
	int fd, r;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl.sock",
	             state_dir) >= (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "ddmctl: state dir path too long\n");
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "ddmctl: socket: %s\n", strerror(errno));
		return -errno;
	}
	/* a full backlog refuses a non-blocking connect: try again */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		struct timespec pause = { 0, 10 * 1000000L };

		if (errno == EAGAIN && mono_ms() < end) {
			nanosleep(&pause, NULL);
			continue;
		}
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		fprintf(stderr, "ddmctl: cannot connect to %s: %s\n",
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
	buf = malloc(REPLY_MAX + 1);
	if (buf == NULL) {
		r = -ENOMEM;
		fprintf(stderr, "ddmctl: out of memory\n");
		goto close_sock;
	}
	for (;;) {
		ssize_t n;

		r = wait_for(fd, POLLIN, end);
		if (r < 0) {
			free(buf);
			goto timed_out;
		}
		n = recv(fd, buf + len, REPLY_MAX - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == REPLY_MAX)
			break;
	}
	buf[len] = '\0';
	close(fd);
	*ret_reply = buf;
	return 0;

timed_out:
	fprintf(stderr, "ddmctl: %s: no answer within %d s\n", sa.sun_path,
	        timeout_s);
close_sock:
	close(fd);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = getenv("DDMFS_STATE_DIR");
	char line[1024], *reply = NULL;
	int c, nargs = -1, r, timeout_s = TIMEOUT_DEFAULT_S;
	bool all = false;
	char *end;
	long v;

	if (state_dir == NULL || state_dir[0] == '\0')
		state_dir = STATE_DIR_DEFAULT;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			state_dir = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 1 || v > TIMEOUT_MAX_S) {
				fprintf(stderr,
				        "ddmctl: bad --timeout \"%s\" (1 to "
				        "%d seconds)\n",
				        optarg, TIMEOUT_MAX_S);
				return 2;
			}
			timeout_s = (int)v;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[optind], cmds[i].name) == 0)
				nargs = cmds[i].nargs;
	if (nargs < 0 || argc - optind - 1 != nargs ||
	    (all && strcmp(argv[optind], "list") != 0)) {
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '\0' || strpbrk(argv[i], " \t\n") != NULL) {
			fprintf(stderr, "ddmctl: bad argument \"%s\"\n",
			        argv[i]);
			return 2;
		}
	if (snprintf(line, sizeof(line), "%s%s%s\n", argv[optind],
	             nargs > 0 || all ? " " : "",
	             all         ? "--all"
	             : nargs > 0 ? argv[optind + 1]
	                         : "") >= (int)sizeof(line)) {
		fprintf(stderr, "ddmctl: argument too long\n");
		return 2;
	}
	r = ask(state_dir, line, timeout_s, &reply);
	if (r < 0)
		return 1;
	if (strncmp(reply, "OK\n", 3) == 0) {
		fputs(reply + 3, stdout);
		r = 0;
	} else if (strncmp(reply, "ERR ", 4) == 0) {
		fprintf(stderr, "ddmctl: %s", reply + 4);
		r = 1;
	} else {
		fprintf(stderr, "ddmctl: no answer from ddmfs\n");
		r = 1;
	}
	free(reply);
	return r;
}
