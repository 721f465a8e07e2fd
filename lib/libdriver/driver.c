/*
 * driver.c: ddm_driver_main(), the life of a driver process.  Makes the
 * process non-dumpable (so no other process of its user can ptrace it or
 * read its /proc files), takes the command line ddmfs gives it (args.c;
 * attach.c for a driver started by hand), opens the libio backend, calls init,
 * says HELLO, serves requests until ddmfs goes away or SIGTERM arrives, then
 * cancels what is left, calls fini and closes the backend.  With --syslog
 * (ddmfs runs as a daemon) ddm_log() goes to syslog instead of stderr.
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
#include <syslog.h>
#include <unistd.h>

#include "ddm_io.h"
#include "driver_impl.h"

#define EXIT_USAGE   2 /* bad command line: not started by ddmfs */
#define LOG_LINE_MAX 1024
#define IDENT_MAX    128 /* syslog ident "ddm-rtc[isa0/rtc0]" */

static bool use_syslog; /* ddm_log() goes to syslog */
static char ident[IDENT_MAX];

/*
 * Opens the backend; the sim models keep their files in sim_fd.  libio
 * keeps its own copies of sim_fd and --devport-fd: both are closed here.
 */
static int
open_io(struct ddm_dev *dev, const struct args *a, int sim_fd)
{
	int err;

	err = io_open(
	        &(struct io_opts){ .backend = a->io,
	                           .grants = a->vals[K_PORTS],
	                           .sim_dirfd = sim_fd,
	                           .name = dev->name,
	                           .devport_fd = a->devport_fd,
	                           .vfio_device_fd = a->vfio_fd[VFIO_DEVICE] },
	        &dev->io);
	if (sim_fd >= 0)
		close(sim_fd);
	if (a->devport_fd >= 0)
		close(a->devport_fd);
	return err;
}

/*
 * Under CUSE: a CUSE device for each stream node; a seekable node stays on
 * the socket (the kernel gives a CUSE device no file offsets), and its
 * /dev/cuse is closed.  The first device says HELLO once all exist.
 */
static int
open_cuse(struct ddm_dev *dev, const struct args *a)
{
	struct cuse_opts co;
	unsigned int n = 0;
	int err;

	memcpy(co.cuse_fd, a->cuse_fd, sizeof(co.cuse_fd));
	memcpy(co.major, a->major, sizeof(co.major));
	memcpy(co.minor, a->minor, sizeof(co.minor));
	for (unsigned int i = 0; i < dev->n_nodes; i++) {
		if (dev->ops.kinds == NULL ||
		    !(dev->ops.kinds[dev->nodes[i].kind].flags & DDM_SEEKABLE))
			continue;
		close(co.cuse_fd[i]);
		co.cuse_fd[i] = -1;
	}
	err = cuse_open(dev, &co, dev->tps + 1, &n);
	if (err < 0)
		return err;
	dev->n_tps += n;
	if (n > 0)
		dev->tp = dev->tps[1];
	return 0;
}

int
ddm_driver_main(int argc, char **argv, const struct ddm_driver_ops *ops,
                size_t ops_size, void *sc)
{
	const char *prog = argc > 0 ? args_basename(argv[0]) : "ddm-driver";
	struct ddm_dev dev = {
		.prog = prog,
		.sc = sc,
		.state_fd = -1,
		.epfd = -1,
		.sigfd = -1,
		.vfio_fd = { -1, -1, -1 },
		.irq_index = -1,
	};
	const char *why;
	struct args a;
	unsigned int n_opts = 0;
	char **attached = NULL; /* --attach: the command line ddmfs gave */
	int err, status = 1, n;

	/* first of all: no ptrace or /proc access by other processes of
	 * this user, which would inherit the granted ports */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "%s: PR_SET_DUMPABLE: %s\n", prog,
		        strerror(errno));
		return 1;
	}
	if (ops != NULL)
		memcpy(&dev.ops, ops,
		       ops_size < sizeof(dev.ops) ? ops_size : sizeof(dev.ops));
	while (dev.ops.options != NULL && dev.ops.options[n_opts] != NULL)
		n_opts++;
	dev.opts = calloc(n_opts + 1, sizeof(*dev.opts));
	if (dev.opts == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (args_parse(prog, argc, argv, &dev.ops, dev.opts, &a) < 0)
		goto usage_error;
	if (a.help) {
		args_usage(prog, &dev.ops);
		free(dev.opts);
		return 0;
	}
	if (a.vals[K_ATTACH] != NULL) {
		if (a.vals[K_DDM_FD] != NULL) {
			fprintf(stderr,
			        "%s: --attach is for a driver started "
			        "by hand, not by ddmfs (--ddm-fd)\n",
			        prog);
			goto usage_error;
		}
		n = attach_args(prog, a.vals[K_ATTACH], argc, argv, &attached);
		if (n < 0) {
			free(dev.opts);
			return 1;
		}
		memset(dev.opts, 0, (n_opts + 1) * sizeof(*dev.opts));
		if (args_parse(prog, n, attached, &dev.ops, dev.opts, &a) < 0)
			goto usage_error;
	}
	if (args_check(prog, &a) < 0)
		goto usage_error;
	dev.node = a.vals[K_NODE];
	dev.name = args_basename(a.vals[K_NODE]);
	if (args_nodes(&dev, &a) < 0 ||
	    args_check_cuse(prog, &a, dev.n_nodes) < 0)
		goto usage_error;
	dev.state_fd = a.state_fd;
	dev.pci = a.vals[K_PCI];
	memcpy(dev.vfio_fd, a.vfio_fd, sizeof(dev.vfio_fd));
	for (int i = 0; i < VFIO_NFDS; i++)
		if (dev.vfio_fd[i] >= 0)
			fcntl(dev.vfio_fd[i], F_SETFD, FD_CLOEXEC);
	fcntl(a.fd, F_SETFD, FD_CLOEXEC);
	if (dev.state_fd >= 0)
		fcntl(dev.state_fd, F_SETFD, FD_CLOEXEC);
	if (a.syslog) {
		snprintf(ident, sizeof(ident), "%s[%s]", prog, dev.node);
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
	dev.cuse = a.n_cuse_fd > 0;
	err = chan_open(&dev, a.fd, &dev.tps[0]);
	if (err == 0) {
		dev.n_tps = 1;
		dev.sock_tp = dev.tps[0];
		dev.tp = dev.tps[0];
	}
	if (err == 0 && dev.cuse) {
		err = open_cuse(&dev, &a);
		if (err < 0)
			dev.tps[0]->ops->close(dev.tps[0]);
	}
	if (err < 0) {
		ddm_log(&dev, "cannot set up the %s transport: %s",
		        dev.cuse ? "CUSE" : "socket", strerror(-err));
		goto fini_dispatch;
	}
	if (intr_init(&dev) < 0)
		goto close_chan;
	if (dev.ops.init != NULL) {
		err = dev.ops.init(&dev, sc);
		if (err != 0) {
			/* what a sim model could not do with its files */
			why = io_last_error(dev.io);
			ddm_log(&dev, "init failed: %s%s%s%s",
			        err < 0 ? strerror(-err) : "error",
			        why != NULL ? " (sim file " : "",
			        why != NULL ? why : "", why != NULL ? ")" : "");
			goto fini_intr;
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
fini_intr:
	intr_fini(&dev);
	dma_fini(&dev);
close_chan:
	for (unsigned int i = dev.n_tps; i-- > 0;)
		dev.tps[i]->ops->close(dev.tps[i]);
fini_dispatch:
	dispatch_fini(&dev);
fini_loop:
	loop_fini(&dev);
close_io:
	io_close(dev.io);
close_state:
	if (dev.state_fd >= 0)
		close(dev.state_fd);
	for (int i = 0; i < VFIO_NFDS; i++)
		if (dev.vfio_fd[i] >= 0)
			close(dev.vfio_fd[i]);
	free(dev.opts);
	args_free_argv(attached);
#ifdef DDM_SANITIZERS
	/* LeakSanitizer's check at exit ptraces this process: let it */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return status;

usage_error:
	free(dev.opts);
	args_free_argv(attached);
	return EXIT_USAGE;
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

unsigned int
ddm_node_count(struct ddm_dev *dev)
{
	return dev->n_nodes;
}

struct ddm_node *
ddm_node_at(struct ddm_dev *dev, unsigned int i)
{
	return i < dev->n_nodes ? &dev->nodes[i] : NULL;
}

const char *
ddm_option(struct ddm_dev *dev, const char *name)
{
	int k = args_find_key(dev->ops.options, name, strlen(name));

	return k >= 0 ? dev->opts[k] : NULL;
}

int
ddm_ports(struct ddm_dev *dev, unsigned int i, uint16_t *ret_base,
          uint16_t *ret_len)
{
	uint64_t base, len;
	int err;

	err = io_grant(dev->io, i, &base, &len);
	if (err < 0)
		return err;
	*ret_base = (uint16_t)base;
	*ret_len = (uint16_t)len;
	return 0;
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
