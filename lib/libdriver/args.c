/*
 * args.c: the command line ddmfs gives a driver (or attach.c makes for
 * one started by hand): ddmfs's own options, each at most once, the
 * driver's own (ops.options), and the nodes of the instance (--node,
 * --nodes) with their kinds.  Every problem is one line on stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "driver_impl.h"

#define CUSE_MISC_MAJOR 10 /* /dev/cuse is the misc device 10:203 */
#define CUSE_MISC_MINOR 203
#define DEV_MAJOR_MAX   4095    /* Linux dev_t: 12-bit major */
#define DEV_MINOR_MAX   1048575 /* and 20-bit minor */
#define NAME_MAX_LEN    32      /* node names: [a-z0-9_-]{1,32}, as ddmfs */

static const char *const backends[] = { "sim", "pio", "devport", "mmio" };

const char *
args_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

void
args_usage(const char *prog, const struct ddm_driver_ops *ops)
{
	const struct ddm_kind *k;

	printf("usage: %s --ddm-fd=N --node=BUS/NAME "
	       "[--nodes=NAME[:KIND],...]\n"
	       "       [--io=sim|pio|devport|mmio] [--ports=0x70-0x71,...]\n"
	       "       [--cuse-fd=N,... [--cuse-dev=M:N,...]] "
	       "[--devport-fd=N]\n"
	       "       [--sim-fd=N] [--state-fd=N] [--pci=DDDD:BB:DD.F "
	       "--vfio-fd=C,G,D]\n"
	       "       [--syslog] [DRIVER OPTIONS]\n"
	       "A ddmfs driver: ddmfs starts it and passes these options.\n"
	       "  --ddm-fd=N      the socket to ddmfs\n"
	       "  --node=BUS/NAME the instance, e.g. isa0/rtc0\n"
	       "  --nodes=LIST    its nodes (default: one, named NAME)\n"
	       "  --io=BACKEND    the libio backend (default sim)\n"
	       "  --ports=RANGES  the port ranges granted\n"
	       "  --cuse-fd=N,... an open /dev/cuse per node: serve over CUSE\n"
	       "  --cuse-dev=M:N,... the CUSE device numbers to ask for\n"
	       "  --devport-fd=N  an open /dev/port, for --io=devport\n"
	       "  --sim-fd=N      an open dir for the sim files, for --io=sim\n"
	       "  --state-fd=N    an open dir, the driver's own state\n"
	       "  --pci=ADDR      the PCI function, e.g. 0000:00:04.0\n"
	       "  --vfio-fd=C,G,D its VFIO container, group and device, for "
	       "--io=mmio\n"
	       "  --syslog        log to syslog, not stderr\n"
	       "Started by hand (conf: spawn = \"manual\"), for gdb or "
	       "valgrind:\n"
	       "  %s --attach BUS/NAME [DRIVER OPTIONS]\n"
	       "  asks ddmfs ($DDMFS_STATE_DIR/ctl.sock, default\n"
	       "  /var/lib/ddmfs) for what the conf grants the instance\n",
	       prog, prog);
	if (ops != NULL && ops->kinds != NULL) {
		printf("Kinds of node:");
		for (k = ops->kinds; k->name != NULL; k++)
			printf(" %s%s", k->name,
			       k->flags & DDM_SEEKABLE ? " (seekable)" : "");
		printf("\n");
	}
	if (ops != NULL && ops->options != NULL && ops->options[0] != NULL) {
		printf("Driver options (--NAME=VALUE):");
		for (const char *const *o = ops->options; *o != NULL; o++)
			printf(" --%s", *o);
		printf("\n");
	}
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
 * Splits comma-separated list s into at most DDM_NODES_MAX items of at
 * most cap - 1 bytes in items: how many, or -1 if it does not fit.
 */
static int
split_list(const char *s, char items[][80], size_t cap)
{
	unsigned int n = 0;
	size_t len;

	for (;;) {
		len = strcspn(s, ",");
		if (n == DDM_NODES_MAX || len == 0 || len >= cap)
			return -1;
		memcpy(items[n], s, len);
		items[n][len] = '\0';
		n++;
		if (s[len] == '\0')
			return (int)n;
		s += len + 1;
	}
}

/* Parses a comma list of fds (--cuse-fd) into ret: how many, or -1. */
static int
parse_fd_list(const char *s, int *ret)
{
	char items[DDM_NODES_MAX][80];
	int n = split_list(s, items, sizeof(items[0]));

	for (int i = 0; i < n; i++)
		if ((ret[i] = parse_fd(items[i])) < 0)
			return -1;
	return n;
}

/* Parses a comma list of MAJ:MIN (--cuse-dev): how many, or -1. */
static int
parse_devnum_list(const char *s, unsigned int *maj, unsigned int *min)
{
	char items[DDM_NODES_MAX][80];
	int n = split_list(s, items, sizeof(items[0]));

	for (int i = 0; i < n; i++)
		if (parse_devnum(items[i], &maj[i], &min[i]) < 0)
			return -1;
	return n;
}

/* Whether s is a PCI address as sysfs spells it: "0000:00:04.0". */
static bool
good_pci(const char *s)
{
	static const char form[] = "xxxx:xx:xx.f";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i] != '\0'; i++) {
		if (form[i] == 'x' && !strchr("0123456789abcdef", s[i]))
			return false;
		if (form[i] == 'f' && (s[i] < '0' || s[i] > '7'))
			return false;
		if ((form[i] == ':' || form[i] == '.') && s[i] != form[i])
			return false;
	}
	/* device numbers stop at 0x1f */
	return strtoul(s + 8, NULL, 16) <= 0x1f;
}

/* The index of option key (klen bytes) in list, or -1. */
int
args_find_key(const char *const *list, const char *key, size_t klen)
{
	for (int k = 0; list != NULL && list[k] != NULL; k++)
		if (strlen(list[k]) == klen && strncmp(key, list[k], klen) == 0)
			return k;
	return -1;
}

/* Parses fd option k's value into *ret; prints why not. */
static int
take_fd(const char *prog, const struct args *a, enum key k, int *ret)
{
	if (a->vals[k] == NULL)
		return 0;
	*ret = parse_fd(a->vals[k]);
	if (*ret >= 0)
		return 0;
	fprintf(stderr, "%s: bad --%s '%s'\n", prog, ddm_reserved_options[k],
	        a->vals[k]);
	return -1;
}

/*
 * Takes "--key=value" and "--key value", each key at most once (so extra
 * arguments cannot override what ddmfs set): ddmfs's options into ret, the
 * driver's own (ops->options) into opts.  Returns 0, or -1 after printing
 * one line saying what is wrong.
 */
int
args_parse(const char *prog, int argc, char **argv,
           const struct ddm_driver_ops *ops, const char **opts,
           struct args *ret)
{
	struct args a = { .io = "sim",
		          .fd = -1,
		          .cuse_fd = { -1 },
		          .devport_fd = -1,
		          .sim_fd = -1,
		          .state_fd = -1,
		          .vfio_fd = { -1, -1, -1 } };
	const char *arg, *eq, *val, **slot;
	size_t i, klen;
	int k, n;

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
		k = args_find_key(ddm_reserved_options, arg + 2, klen);
		if (k >= 0 && k != K_SYSLOG) {
			slot = &a.vals[k];
		} else if ((k = args_find_key(ops->options, arg + 2, klen)) >=
		           0) {
			slot = &opts[k];
		} else {
			goto unknown;
		}
		if (*slot != NULL)
			goto twice;
		if (eq != NULL) {
			val = eq + 1;
		} else if (i + 1 < (size_t)argc &&
		           strncmp(argv[i + 1], "--", 2) != 0) {
			val = argv[++i];
		} else {
			fprintf(stderr, "%s: option '%s' needs a value\n", prog,
			        arg);
			return -1;
		}
		*slot = val;
	}
	if (a.vals[K_IO] != NULL)
		a.io = a.vals[K_IO];
	if (take_fd(prog, &a, K_DDM_FD, &a.fd) < 0 ||
	    take_fd(prog, &a, K_DEVPORT_FD, &a.devport_fd) < 0 ||
	    take_fd(prog, &a, K_SIM_FD, &a.sim_fd) < 0 ||
	    take_fd(prog, &a, K_STATE_FD, &a.state_fd) < 0)
		return -1;
	if (a.vals[K_CUSE_FD] != NULL) {
		n = parse_fd_list(a.vals[K_CUSE_FD], a.cuse_fd);
		if (n < 0) {
			fprintf(stderr, "%s: bad --cuse-fd '%s'\n", prog,
			        a.vals[K_CUSE_FD]);
			return -1;
		}
		a.n_cuse_fd = (unsigned int)n;
	}
	if (a.vals[K_CUSE_DEV] != NULL) {
		n = parse_devnum_list(a.vals[K_CUSE_DEV], a.major, a.minor);
		if (n < 0) {
			fprintf(stderr, "%s: bad --cuse-dev '%s' (MAJ:MIN)\n",
			        prog, a.vals[K_CUSE_DEV]);
			return -1;
		}
		a.n_cuse_dev = (unsigned int)n;
	}
	if (a.vals[K_VFIO_FD] != NULL) {
		n = parse_fd_list(a.vals[K_VFIO_FD], a.vfio_fd);
		if (n != VFIO_NFDS) {
			fprintf(stderr,
			        "%s: bad --vfio-fd '%s' (CONTAINER,GROUP,"
			        "DEVICE)\n",
			        prog, a.vals[K_VFIO_FD]);
			return -1;
		}
	}
	if (a.vals[K_PCI] != NULL && !good_pci(a.vals[K_PCI])) {
		fprintf(stderr, "%s: bad --pci '%s' (DDDD:BB:DD.F)\n", prog,
		        a.vals[K_PCI]);
		return -1;
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

void
args_free_argv(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static bool
good_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && n <= NAME_MAX_LEN && s[n] == '\0';
}

/* The kind named name in ops->kinds, or -1. */
static int
find_kind(const struct ddm_driver_ops *ops, const char *name)
{
	for (int k = 0; ops->kinds != NULL && ops->kinds[k].name != NULL; k++)
		if (strcmp(ops->kinds[k].name, name) == 0)
			return k;
	return -1;
}

static unsigned int
n_kinds(const struct ddm_driver_ops *ops)
{
	unsigned int n = 0;

	while (ops->kinds != NULL && ops->kinds[n].name != NULL)
		n++;
	return n;
}

/*
 * Fills dev's nodes from --node (the instance) and --nodes; each gets its
 * kind by name, else by position.  Prints why not.
 */
int
args_nodes(struct ddm_dev *dev, const struct args *a)
{
	char items[DDM_NODES_MAX][80], *kind;
	size_t blen = strlen(a->vals[K_NODE]) - strlen(dev->name);
	int n = 1, k;

	if (a->vals[K_NODES] != NULL) {
		n = split_list(a->vals[K_NODES], items, sizeof(items[0]));
		if (n < 0) {
			fprintf(stderr, "%s: bad --nodes '%s'\n", dev->prog,
			        a->vals[K_NODES]);
			return -1;
		}
	} else {
		snprintf(items[0], sizeof(items[0]), "%s", dev->name);
	}
	for (int i = 0; i < n; i++) {
		struct ddm_node *nd = &dev->nodes[i];

		kind = strchr(items[i], ':');
		if (kind != NULL)
			*kind++ = '\0';
		if (!good_name(items[i])) {
			fprintf(stderr, "%s: bad node name '%s'\n", dev->prog,
			        items[i]);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(dev->nodes[j].name, items[i]) == 0) {
				fprintf(stderr, "%s: node '%s' given twice\n",
				        dev->prog, items[i]);
				return -1;
			}
		}
		if (kind != NULL) {
			k = find_kind(&dev->ops, kind);
			if (k < 0) {
				fprintf(stderr,
				        "%s: node '%s': unknown kind '%s' "
				        "(see --help)\n",
				        dev->prog, items[i], kind);
				return -1;
			}
		} else if (dev->ops.kinds == NULL) {
			k = 0;
		} else if ((unsigned int)i < n_kinds(&dev->ops)) {
			k = i;
		} else {
			fprintf(stderr,
			        "%s: node '%s': say its kind (NAME:KIND); "
			        "see --help\n",
			        dev->prog, items[i]);
			return -1;
		}
		if (blen + strlen(items[i]) >= sizeof(dev->paths[i])) {
			fprintf(stderr, "%s: node path too long\n", dev->prog);
			return -1;
		}
		memcpy(dev->paths[i], a->vals[K_NODE], blen);
		strcpy(dev->paths[i] + blen, items[i]);
		*nd = (struct ddm_node){ .name = dev->paths[i] + blen,
			                 .path = dev->paths[i],
			                 .index = (unsigned int)i,
			                 .kind = (unsigned int)k,
			                 .dev = dev };
	}
	dev->n_nodes = (unsigned int)n;
	return 0;
}

/*
 * Checks that --cuse-fd, if given, is an open /dev/cuse per node (n_nodes
 * of them) and --cuse-dev, if given, has numbers for each; prints why not.
 */
int
args_check_cuse(const char *prog, const struct args *a, unsigned int n_nodes)
{
	struct stat st;
	int fd;

	if (a->n_cuse_fd == 0) {
		if (a->n_cuse_dev > 0) {
			fprintf(stderr, "%s: --cuse-dev needs --cuse-fd\n",
			        prog);
			return -1;
		}
		return 0;
	}
	if (a->n_cuse_fd != n_nodes ||
	    (a->n_cuse_dev != 0 && a->n_cuse_dev != n_nodes)) {
		fprintf(stderr,
		        "%s: %u nodes need %u --cuse-fd (and --cuse-dev) "
		        "entries\n",
		        prog, n_nodes, n_nodes);
		return -1;
	}
	for (unsigned int i = 0; i < a->n_cuse_fd; i++) {
		fd = a->cuse_fd[i];
		for (unsigned int j = 0; j < i; j++)
			if (a->cuse_fd[j] == fd)
				fd = a->fd; /* a repeat: refused below */
		if (fd == a->fd || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
		    major(st.st_rdev) != CUSE_MISC_MAJOR ||
		    minor(st.st_rdev) != CUSE_MISC_MINOR) {
			fprintf(stderr,
			        "%s: --cuse-fd=%d is not an open /dev/cuse\n",
			        prog, a->cuse_fd[i]);
			return -1;
		}
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

/*
 * Checks --vfio-fd: with --io=mmio, which needs it, three distinct open
 * fds (not the ddm socket) that are a VFIO container, a viable group in
 * a container, and a PCI device; prints why not.
 */
static int
check_vfio_args(const char *prog, const struct args *a)
{
	static const char *const what[VFIO_NFDS] = {
		"a VFIO container", "a viable VFIO group in a container",
		"a VFIO PCI device"
	};
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	bool mmio = strcmp(a->io, "mmio") == 0;
	int fd, bad;

	if (a->vfio_fd[0] < 0) {
		if (!mmio)
			return 0;
		fprintf(stderr, "%s: --io=mmio needs --vfio-fd\n", prog);
		return -1;
	}
	if (!mmio) {
		fprintf(stderr, "%s: --vfio-fd is for --io=mmio\n", prog);
		return -1;
	}
	for (int i = 0; i < VFIO_NFDS; i++) {
		fd = a->vfio_fd[i];
		for (int j = 0; j < i; j++) {
			if (a->vfio_fd[j] == fd || fd == a->fd) {
				fprintf(stderr,
				        "%s: --vfio-fd: %d is given twice "
				        "(or is --ddm-fd)\n",
				        prog, fd);
				return -1;
			}
		}
		if (fd == a->fd || fcntl(fd, F_GETFD) < 0) {
			fprintf(stderr, "%s: --vfio-fd: %d is not an open fd\n",
			        prog, fd);
			return -1;
		}
	}
	if (ioctl(a->vfio_fd[VFIO_CONTAINER], VFIO_GET_API_VERSION) !=
	    VFIO_API_VERSION)
		bad = VFIO_CONTAINER;
	else if (ioctl(a->vfio_fd[VFIO_GROUP], VFIO_GROUP_GET_STATUS, &gs) <
	                 0 ||
	         !(gs.flags & VFIO_GROUP_FLAGS_VIABLE) ||
	         !(gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		bad = VFIO_GROUP;
	else if (ioctl(a->vfio_fd[VFIO_DEVICE], VFIO_DEVICE_GET_INFO, &di) <
	                 0 ||
	         !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		bad = VFIO_DEVICE;
	else
		return 0;
	fprintf(stderr, "%s: --vfio-fd: %d is not %s\n", prog, a->vfio_fd[bad],
	        what[bad]);
	return -1;
}

/* Checks the arguments a started driver needs; prints why not. */
int
args_check(const char *prog, const struct args *a)
{
	int type = 0;
	socklen_t tlen = sizeof(type);
	size_t i;

	if (a->fd < 0) {
		fprintf(stderr, "%s: must be started by ddmfs: no --ddm-fd\n",
		        prog);
		return -1;
	}
	if (a->vals[K_NODE] == NULL ||
	    *args_basename(a->vals[K_NODE]) == '\0' ||
	    strlen(a->vals[K_NODE]) >=
	            sizeof(((struct ddm_dev *)0)->paths[0]) - NAME_MAX_LEN) {
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
	if (check_vfio_args(prog, a) < 0)
		return -1;
	return check_dir_args(prog, a);
}
