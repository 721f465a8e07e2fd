/*
 * attach.c: a driver started by hand (--attach BUS/NAME), for a conf entry
 * with spawn = "manual": gdb --args ddm-rtc --attach isa0/rtc0.  Asks
 * ddmfs's control socket (<state dir>/ctl.sock; $DDMFS_STATE_DIR, else
 * /var/lib/ddmfs) for the instance.  ddmfs checks who asks (root, or the
 * conf's user for it) and answers with the command line it would have
 * started the driver with and the fds it names (its socket, the sim and
 * state dirs, ...), which this file renumbers to the fds received.  The
 * driver then starts as if ddmfs had started it: it gets nothing the conf
 * does not grant.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "driver_impl.h"

#define STATE_DIR_DEFAULT "/var/lib/ddmfs"
#define ATTACH_REPLY_MAX  4096
#define ATTACH_FDS_MAX    (9 + DDM_NODES_MAX)
#define ATTACH_TIMEOUT_MS 10000

/* The options whose values are fd numbers (comma lists for cuse-fd and
 * vfio-fd). */
static const char *const fd_keys[] = { "ddm-fd", "cuse-fd",  "devport-fd",
	                               "sim-fd", "state-fd", "vfio-fd",
	                               NULL };

/* Connects to ddmfs's control socket: the fd, or -1 after saying why. */
static int
connect_ctl(const char *prog)
{
	const char *dir = getenv("DDMFS_STATE_DIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = STATE_DIR_DEFAULT;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl.sock",
	                     dir) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: state dir path too long\n", prog);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr,
		        "%s: cannot reach ddmfs at %s: %s (is it running? "
		        "set DDMFS_STATE_DIR to its state dir)\n",
		        prog, sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads ddmfs's one-line answer and the fds that come with it into buf
 * and fds: how many fds, or -1 after saying why.
 */
static int
read_reply(const char *prog, int fd, char *buf, size_t cap, int *fds)
{
	char cbuf[CMSG_SPACE(ATTACH_FDS_MAX * sizeof(int))];
	struct iovec iov = { buf, cap - 1 };
	struct msghdr mh = { .msg_iov = &iov,
		             .msg_iovlen = 1,
		             .msg_control = cbuf,
		             .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { fd, POLLIN, 0 };
	struct cmsghdr *cm;
	ssize_t n;
	int nfds = 0;

	if (poll(&p, 1, ATTACH_TIMEOUT_MS) <= 0) {
		fprintf(stderr, "%s: ddmfs did not answer within %d s\n", prog,
		        ATTACH_TIMEOUT_MS / 1000);
		return -1;
	}
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0) {
		fprintf(stderr, "%s: no answer from ddmfs: %s\n", prog,
		        n < 0 ? strerror(errno) : "it hung up");
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
	}
	return nfds;
}

/* The fd received for ddmfs's number num, or -1. */
static int
map_fd(const int *nums, const int *fds, int n, long num)
{
	for (int i = 0; i < n; i++)
		if (nums[i] == num)
			return fds[i];
	return -1;
}

/*
 * tok ("--sim-fd=6") with its fd numbers replaced by the fds received:
 * a new string, or NULL.
 */
static char *
renumber(const char *tok, const int *nums, const int *fds, int n)
{
	const char *eq = strchr(tok, '=');
	char out[256], *end;
	size_t off;
	long num;
	int k;

	if (strncmp(tok, "--", 2) != 0 || eq == NULL)
		return strdup(tok);
	for (k = 0; fd_keys[k] != NULL; k++)
		if (strlen(fd_keys[k]) == (size_t)(eq - tok - 2) &&
		    strncmp(tok + 2, fd_keys[k], strlen(fd_keys[k])) == 0)
			break;
	if (fd_keys[k] == NULL)
		return strdup(tok);
	off = (size_t)(eq + 1 - tok);
	memcpy(out, tok, off);
	for (const char *s = eq + 1; *s != '\0'; s = end + (*end == ',')) {
		num = strtol(s, &end, 10);
		if (end == s || (*end != ',' && *end != '\0') ||
		    map_fd(nums, fds, n, num) < 0 || off + 16 > sizeof(out))
			return NULL;
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%d",
		                        s == eq + 1 ? "" : ",",
		                        map_fd(nums, fds, n, num));
	}
	out[off] = '\0';
	return strdup(out);
}

/* Whether arg ("--io=sim") sets one of ddmfs's options, which ddmfs
 * gives in its answer. */
static bool
reserved(const char *arg)
{
	size_t len;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	len = strcspn(arg + 2, "=");
	for (size_t k = 0; ddm_reserved_options[k] != NULL; k++)
		if (strlen(ddm_reserved_options[k]) == len &&
		    strncmp(arg + 2, ddm_reserved_options[k], len) == 0)
			return true;
	return false;
}

/* Whether tokens (n of them) hold arg exactly. */
static bool
has_token(char *const *tokens, int n, const char *arg)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tokens[i], arg) == 0)
			return true;
	return false;
}

int
attach_args(const char *prog, const char *node, int argc, char **argv,
            char ***ret_argv)
{
	char buf[ATTACH_REPLY_MAX], *save = NULL, *tok, *s, **out = NULL;
	int fds[ATTACH_FDS_MAX], nums[ATTACH_FDS_MAX], nfds, n = 0, k = 0;
	int fd, i;

	fd = connect_ctl(prog);
	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "attach %s\n", node);
	if (send(fd, buf, strlen(buf), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "%s: cannot ask ddmfs: %s\n", prog,
		        strerror(errno));
		close(fd);
		return -1;
	}
	nfds = read_reply(prog, fd, buf, sizeof(buf), fds);
	close(fd);
	if (nfds < 0)
		return -1;
	if (strncmp(buf, "OK fds=", 7) != 0) {
		fprintf(stderr, "%s: attach %s: %s\n", prog, node,
		        strncmp(buf, "ERR ", 4) == 0 ? buf + 4 : buf);
		goto close_fds;
	}
	/* "OK fds=3,6,7" then the tab-separated command line */
	s = buf + 7;
	for (tok = strtok_r(s, ",\t", &save); tok != NULL && n < nfds;
	     tok = strtok_r(NULL, ",\t", &save))
		nums[n++] = atoi(tok);
	if (n != nfds || tok == NULL) {
		fprintf(stderr, "%s: attach %s: a garbled answer\n", prog,
		        node);
		goto close_fds;
	}
	out = calloc((size_t)argc + 64, sizeof(*out));
	if (out == NULL)
		goto nomem;
	out[k++] = strdup(argv[0]);
	/* the rest of buf after the fd list: tokens ddmfs gives */
	for (tok = strtok_r(NULL, "\t", &save); tok != NULL && k < 62;
	     tok = strtok_r(NULL, "\t", &save))
		if ((out[k++] = renumber(tok, nums, fds, nfds)) == NULL)
			goto nomem;
	/* the user's own: --attach goes, ddmfs's options must agree */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--attach") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--attach=", 9) == 0)
			continue;
		if (reserved(argv[i])) {
			if (has_token(out + 1, k - 1, argv[i]))
				continue;
			fprintf(stderr,
			        "%s: %s is not what ddmfs gives %s (its conf "
			        "says that)\n",
			        prog, argv[i], node);
			goto free_out;
		}
		if ((out[k++] = strdup(argv[i])) == NULL)
			goto nomem;
	}
	*ret_argv = out;
	return k;

nomem:
	fprintf(stderr, "%s: out of memory\n", prog);
free_out:
	for (i = 0; out != NULL && i < k; i++)
		free(out[i]);
	free(out);
close_fds:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return -1;
}
