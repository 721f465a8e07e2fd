/*
 * driver.c: ddm_driver_main(), the life of a driver process.  Makes the
 * process non-dumpable (so no other process of its user can ptrace it or
 * read its /proc files), parses the command line ddmfs gives it (each
 * option at most once), opens the libio backend, calls init, says HELLO,
 * serves requests until ddmfs goes away or SIGTERM arrives, then cancels
 * what is left, calls fini and closes the backend.  With --syslog (ddmfs
 * runs as a daemon) ddm_log() goes to syslog instead of stderr.
 *
 * Everything a driver gets from ddmfs is an fd (the socket, /dev/cuse,
 * /dev/port, the sim dir, its state dir): it never has to reach a path
 * that root chose.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "ddm_io.h"
#include "driver_impl.h"

#define EXIT_USAGE      2 /* bad command line: not started by ddmfs */
#define LOG_LINE_MAX    1024
#define CUSE_MISC_MAJOR 10 /* /dev/cuse is the misc device 10:203 */
#define CUSE_MISC_MINOR 203
#define DEV_MAJOR_MAX   4095    /* Linux dev_t: 12-bit major */
#define DEV_MINOR_MAX   1048575 /* and 20-bit minor */
#define NKEYS           9
#define IDENT_MAX       128 /* syslog ident "ddm-rtc[isa0/rtc0]" */

struct args {
	const char *io;
	const char *node;
	const char *ports;
	int fd;
	int cuse_fd;               /* -1: the socket transport */
	unsigned int major, minor; /* --cuse-dev; 0:0 lets the kernel pick */
	bool cuse_dev;             /* --cuse-dev was given */
	int devport_fd;            /* --devport-fd, -1: none */
	int sim_fd;                /* --sim-fd, -1: none */
	int state_fd;              /* --state-fd, -1: none */
	bool syslog;
	bool help;
};

static const char *const backends[] = { "sim", "pio", "devport" };
static bool use_syslog; /* ddm_log() goes to syslog */
static char ident[IDENT_MAX];

static const char *
basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void
usage(const char *prog)
{
	printf("usage: %s --ddm-fd=N --node=BUS/NAME [--io=sim|pio|devport]\n"
	       "       [--ports=0x70-0x71,...] [--cuse-fd=N [--cuse-dev=M:N]]\n"
	       "       [--devport-fd=N] [--sim-fd=N] [--state-fd=N]\n"
	       "       [--syslog]\n"
	       "A ddmfs driver: ddmfs starts it and passes these options.\n"
	       "  --ddm-fd=N      the socket to ddmfs\n"
	       "  --node=BUS/NAME the node served, e.g. isa0/rtc0\n"
	       "  --io=BACKEND    the libio backend (default sim)\n"
	       "  --ports=RANGES  the port ranges granted\n"
	       "  --cuse-fd=N     an open /dev/cuse: serve the node over CUSE\n"
	       "  --cuse-dev=M:N  the CUSE device numbers to ask for\n"
	       "  --devport-fd=N  an open /dev/port, for --io=devport\n"
	       "  --sim-fd=N      an open dir for the sim files, for --io=sim\n"
	       "  --state-fd=N    an open dir, the driver's own state\n"
	       "  --syslog        log to syslog, not stderr\n",
	       prog);
	fflush(stdout);
}

/* Parses "N" as a file descriptor number; -1 if it is not one. */
static int
parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

/* Parses "MAJ:MIN" as device numbers; -1 if it is not that. */
static int
parse_devnum(const char *s, unsigned int *ret_major, unsigned int *ret_minor)
{
	unsigned long maj, min;
	char *end;

	errno = 0;
	maj = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != ':' || maj > DEV_MAJOR_MAX ||
	    *s == '-')
		return -1;
	s = end + 1;
	min = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || min > DEV_MINOR_MAX ||
	    *s == '-')
		return -1;
	*ret_major = (unsigned int)maj;
	*ret_minor = (unsigned int)min;
	return 0;
}

/*
 * Takes "--key=value" and "--key value", each key at most once (so extra
 * arguments cannot override what ddmfs set).  Returns 0, or -1 after
 * printing one line saying what is wrong.
 */
static int
parse_args(const char *prog, int argc, char **argv, struct args *ret)
{
	static const char *const keys[NKEYS] = {
		"io",       "node",       "ports",  "ddm-fd",  "cuse-fd",
		"cuse-dev", "devport-fd", "sim-fd", "state-fd"
	};
	struct args a = { .io = "sim",
		          .fd = -1,
		          .cuse_fd = -1,
		          .devport_fd = -1,
		          .sim_fd = -1,
		          .state_fd = -1 };
	const char *vals[NKEYS] = { NULL };
	const char *arg, *eq, *val;
	size_t i, k, klen;

	for (i = 1; i < (size_t)argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			a.help = true;
			continue;
		}
		if (strcmp(arg, "--syslog") == 0) {
			if (a.syslog)
				goto twice;
			a.syslog = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0)
			goto unknown;
		eq = strchr(arg + 2, '=');
		klen = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (k = 0; k < NKEYS; k++)
			if (strlen(keys[k]) == klen &&
			    strncmp(arg + 2, keys[k], klen) == 0)
				break;
		if (k == NKEYS)
			goto unknown;
		if (vals[k] != NULL)
			goto twice;
		if (eq != NULL) {
			val = eq + 1;
		} else if (i + 1 < (size_t)argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "%s: option '%s' needs a value\n", prog,
			        arg);
			return -1;
		}
		vals[k] = val;
	}
	if (vals[0] != NULL)
		a.io = vals[0];
	a.node = vals[1];
	a.ports = vals[2];
	if (vals[3] != NULL) {
		a.fd = parse_fd(vals[3]);
		if (a.fd < 0) {
			fprintf(stderr, "%s: bad --ddm-fd '%s'\n", prog,
			        vals[3]);
			return -1;
		}
	}
	if (vals[4] != NULL) {
		a.cuse_fd = parse_fd(vals[4]);
		if (a.cuse_fd < 0) {
			fprintf(stderr, "%s: bad --cuse-fd '%s'\n", prog,
			        vals[4]);
			return -1;
		}
	}
	if (vals[5] != NULL) {
		if (parse_devnum(vals[5], &a.major, &a.minor) < 0) {
			fprintf(stderr, "%s: bad --cuse-dev '%s' (MAJ:MIN)\n",
			        prog, vals[5]);
			return -1;
		}
		a.cuse_dev = true;
	}
	if (vals[6] != NULL) {
		a.devport_fd = parse_fd(vals[6]);
		if (a.devport_fd < 0) {
			fprintf(stderr, "%s: bad --devport-fd '%s'\n", prog,
			        vals[6]);
			return -1;
		}
	}
	if (vals[7] != NULL) {
		a.sim_fd = parse_fd(vals[7]);
		if (a.sim_fd < 0) {
			fprintf(stderr, "%s: bad --sim-fd '%s'\n", prog,
			        vals[7]);
			return -1;
		}
	}
	if (vals[8] != NULL) {
		a.state_fd = parse_fd(vals[8]);
		if (a.state_fd < 0) {
			fprintf(stderr, "%s: bad --state-fd '%s'\n", prog,
			        vals[8]);
			return -1;
		}
	}
	*ret = a;
	return 0;

twice:
	fprintf(stderr, "%s: --%.*s given twice\n", prog,
	        (int)strcspn(arg + 2, "="), arg + 2);
	return -1;
unknown:
	fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, arg);
	return -1;
}

/* Checks that --cuse-fd, if given, is an open /dev/cuse; prints why not. */
static int
check_cuse_args(const char *prog, const struct args *a)
{
	struct stat st;

	if (a->cuse_fd < 0) {
		if (a->cuse_dev) {
			fprintf(stderr, "%s: --cuse-dev needs --cuse-fd\n",
			        prog);
			return -1;
		}
		return 0;
	}
	if (a->cuse_fd == a->fd || fstat(a->cuse_fd, &st) < 0 ||
	    !S_ISCHR(st.st_mode) || major(st.st_rdev) != CUSE_MISC_MAJOR ||
	    minor(st.st_rdev) != CUSE_MISC_MINOR) {
		fprintf(stderr, "%s: --cuse-fd=%d is not an open /dev/cuse\n",
		        prog, a->cuse_fd);
		return -1;
	}
	return 0;
}

/*
 * True if fd is an open directory that can be used as one (not O_PATH:
 * fsync(2) of the directory needs a real open).
 */
static bool
is_dir_fd(int fd)
{
	struct stat st;
	int fl;

	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && !(fl & O_PATH) && fstat(fd, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* Checks --sim-fd and --state-fd, if given; prints why not. */
static int
check_dir_args(const char *prog, const struct args *a)
{
	/* fd 0 is stdin, and libio reads a sim dir fd of 0 as none */
	if (a->sim_fd >= 0 && (strcmp(a->io, "sim") != 0 || a->sim_fd == 0 ||
	                       !is_dir_fd(a->sim_fd))) {
		fprintf(stderr,
		        "%s: --sim-fd=%d is not an open directory for "
		        "--io=sim\n",
		        prog, a->sim_fd);
		return -1;
	}
	if (a->state_fd >= 0 && !is_dir_fd(a->state_fd)) {
		fprintf(stderr, "%s: --state-fd=%d is not an open directory\n",
		        prog, a->state_fd);
		return -1;
	}
	/* libdriver closes its copy of the sim dir once libio has its own */
	if (a->sim_fd >= 0 && a->sim_fd == a->state_fd) {
		fprintf(stderr, "%s: --sim-fd and --state-fd are both %d\n",
		        prog, a->sim_fd);
		return -1;
	}
	return 0;
}

/* Checks the arguments a started driver needs; prints why not. */
static int
check_args(const char *prog, const struct args *a)
{
	int type = 0;
	socklen_t tlen = sizeof(type);
	size_t i;

	if (a->fd < 0) {
		fprintf(stderr, "%s: must be started by ddmfs: no --ddm-fd\n",
		        prog);
		return -1;
	}
	if (a->node == NULL || *basename_of(a->node) == '\0') {
		fprintf(stderr, "%s: must be started by ddmfs: no --node\n",
		        prog);
		return -1;
	}
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(a->io, backends[i]) == 0)
			break;
	if (i == sizeof(backends) / sizeof(backends[0])) {
		fprintf(stderr, "%s: unknown I/O backend '%s'\n", prog, a->io);
		return -1;
	}
	if (getsockopt(a->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr,
		        "%s: --ddm-fd=%d is not a SOCK_SEQPACKET socket\n",
		        prog, a->fd);
		return -1;
	}
	if (a->devport_fd >= 0 &&
	    (strcmp(a->io, "devport") != 0 || a->devport_fd == a->fd ||
	     fcntl(a->devport_fd, F_GETFD) < 0)) {
		fprintf(stderr,
		        "%s: --devport-fd=%d is not an open file for "
		        "--io=devport\n",
		        prog, a->devport_fd);
		return -1;
	}
	if (check_dir_args(prog, a) < 0)
		return -1;
	return check_cuse_args(prog, a);
}

/*
 * Opens the backend; the sim models keep their files in sim_fd.  libio
 * keeps its own copies of sim_fd and --devport-fd: both are closed here.
 */
static int
open_io(struct ddm_dev *dev, const struct args *a, int sim_fd)
{
	int err;

	err = io_open(&(struct io_opts){ .backend = a->io,
	                                 .grants = a->ports,
	                                 .sim_dirfd = sim_fd,
	                                 .name = dev->name,
	                                 .devport_fd = a->devport_fd },
	              &dev->io);
	if (sim_fd >= 0)
		close(sim_fd);
	if (a->devport_fd >= 0)
		close(a->devport_fd);
	return err;
}

int
ddm_driver_main(int argc, char **argv, const struct ddm_driver_ops *ops,
                size_t ops_size, void *sc)
{
	const char *prog = argc > 0 ? basename_of(argv[0]) : "ddm-driver";
	struct ddm_dev dev = {
		.prog = prog, .sc = sc, .state_fd = -1, .epfd = -1, .sigfd = -1
	};
	const char *why;
	struct args a;
	int err, status = 1;

	/* first of all: no ptrace or /proc access by other processes of
	 * this user, which would inherit the granted ports */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "%s: PR_SET_DUMPABLE: %s\n", prog,
		        strerror(errno));
		return 1;
	}
	if (parse_args(prog, argc, argv, &a) < 0)
		return EXIT_USAGE;
	if (a.help) {
		usage(prog);
		return 0;
	}
	if (check_args(prog, &a) < 0)
		return EXIT_USAGE;
	if (ops != NULL)
		memcpy(&dev.ops, ops,
		       ops_size < sizeof(dev.ops) ? ops_size : sizeof(dev.ops));
	dev.node = a.node;
	dev.name = basename_of(a.node);
	dev.state_fd = a.state_fd;
	fcntl(a.fd, F_SETFD, FD_CLOEXEC);
	if (dev.state_fd >= 0)
		fcntl(dev.state_fd, F_SETFD, FD_CLOEXEC);
	if (a.syslog) {
		snprintf(ident, sizeof(ident), "%s[%s]", prog, a.node);
		openlog(ident, LOG_PID, LOG_DAEMON);
		use_syslog = true;
	}

	err = open_io(&dev, &a, a.sim_fd);
	if (err < 0) {
		ddm_log(&dev, "cannot open the %s I/O backend: %s", a.io,
		        strerror(-err));
		goto close_state;
	}
	err = loop_init(&dev);
	if (err < 0) {
		ddm_log(&dev, "cannot set up the event loop: %s",
		        strerror(-err));
		goto close_io;
	}
	err = dispatch_init(&dev);
	if (err < 0)
		goto fini_loop;
	if (a.cuse_fd >= 0)
		err = cuse_open(&dev,
		                &(struct cuse_opts){ .ddm_fd = a.fd,
		                                     .cuse_fd = a.cuse_fd,
		                                     .major = a.major,
		                                     .minor = a.minor },
		                &dev.tp);
	else
		err = chan_open(&dev, a.fd, &dev.tp);
	if (err < 0) {
		ddm_log(&dev, "cannot set up the %s transport: %s",
		        a.cuse_fd >= 0 ? "CUSE" : "socket", strerror(-err));
		goto fini_dispatch;
	}
	if (dev.ops.init != NULL) {
		err = dev.ops.init(&dev, sc);
		if (err != 0) {
			/* what a sim model could not do with its files */
			why = io_last_error(dev.io);
			ddm_log(&dev, "init failed: %s%s%s%s",
			        err < 0 ? strerror(-err) : "error",
			        why != NULL ? " (sim file " : "",
			        why != NULL ? why : "", why != NULL ? ")" : "");
			goto close_chan;
		}
	}
	err = dev.tp->ops->send_hello(dev.tp);
	if (err < 0) {
		ddm_log(&dev, "cannot say hello to ddmfs: %s", strerror(-err));
		goto fini_driver;
	}
	status = loop_run(&dev);

fini_driver:
	dispatch_fini(&dev);
	if (dev.ops.fini != NULL)
		dev.ops.fini(&dev, sc);
close_chan:
	dev.tp->ops->close(dev.tp);
fini_dispatch:
	dispatch_fini(&dev);
fini_loop:
	loop_fini(&dev);
close_io:
	io_close(dev.io);
close_state:
	if (dev.state_fd >= 0)
		close(dev.state_fd);
#ifdef DDM_SANITIZERS
	/* LeakSanitizer's check at exit ptraces this process: let it */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return status;
}

struct io *
ddm_io(struct ddm_dev *dev)
{
	return dev->io;
}

const char *
ddm_node(struct ddm_dev *dev)
{
	return dev->node;
}

const char *
ddm_name(struct ddm_dev *dev)
{
	return dev->name;
}

int
ddm_state_fd(struct ddm_dev *dev)
{
	return dev->state_fd;
}

void
ddm_log(struct ddm_dev *dev, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (use_syslog) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(LOG_NOTICE, "%s", line);
		return;
	}
	if (dev->node != NULL)
		n = snprintf(line, sizeof(line), "%s[%s]: ", dev->prog,
		             dev->node);
	else
		n = snprintf(line, sizeof(line), "%s: ", dev->prog);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	if (n == 0 || line[n - 1] != '\n')
		strcpy(line + n, "\n");
	fputs(line, stderr);
}
