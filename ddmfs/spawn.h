/*
 * spawn.h: finding driver binaries and starting driver processes.
 *
 * A driver gets only fds that ddmfs opened as root, at fixed numbers:
 * its socket, and as its conf entry grants, /dev/cuse, /dev/port, the sim
 * directory and its own state directory.  It is exec'd through an fd of
 * its binary (execveat), so it never has to reach a path root chose (a
 * build tree under a 0700 home works).  It runs as its own user, with no
 * capabilities, no_new_privs, in a session and a PID namespace of its own:
 * when the driver process dies, every process it forked dies with it.
 * This file knows nothing of the rest of the daemon.
 */
#ifndef DDMFS_SPAWN_H
#define DDMFS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "conf.h"

#define SPAWN_SOCK_FD    3  /* the driver socket */
#define SPAWN_CUSE_FD    4  /* an open /dev/cuse */
#define SPAWN_DEVPORT_FD 5  /* an open /dev/port */
#define SPAWN_SIM_FD     6  /* the sim directory */
#define SPAWN_STATE_FD   7  /* the driver's own state directory */
#define SPAWN_EXE_FD     8  /* the binary itself (scripts read it) */
#define SPAWN_CUSE_MORE  9  /* /dev/cuse for nodes 1, 2, ... 15 */
#define SPAWN_VFIO_FD    24 /* VFIO container, group, device: 24, 25, 26 */
#define SPAWN_CUSE_HIGH  27 /* /dev/cuse for nodes 16, 17, ... */
#define SPAWN_CUSE_LOW_N 16 /* nodes whose /dev/cuse is below the VFIO fds */

/* The number /dev/cuse of node i (0 ..) of an instance has in its driver. */
static inline int
spawn_cuse_fd(unsigned int i)
{
	if (i == 0)
		return SPAWN_CUSE_FD;
	if (i < SPAWN_CUSE_LOW_N)
		return SPAWN_CUSE_MORE + (int)i - 1;
	return SPAWN_CUSE_HIGH + (int)(i - SPAWN_CUSE_LOW_N);
}

/* What to start, and with what. */
struct spawn_req {
	const char *node;  /* "isa0/rtc0", for messages */
	const char *exe;   /* the binary (opened by root) */
	char *const *argv; /* argv[0] is shown as the name */
	const char *user;  /* the run user's name, for messages */
	uid_t uid;
	gid_t gid;
	const struct conf_ports *ports; /* ioperm() grants; NULL: none */
	unsigned int n_ports;
	int sock, cuse, devport, sim, state; /* -1: not given */
	const int *cuse_more; /* /dev/cuse for nodes 1.. (n_cuse_more) */
	unsigned int n_cuse_more;
	const int *vfio; /* container, group, device; NULL: not a PCI one */
	bool syslog;     /* stdout and stderr to /dev/null */
	const struct rlimit *nofile; /* the limit drivers get; NULL: ours */
};

/* A started process. */
struct spawn_proc {
	pid_t pid;
	int pidfd;
};

/*
 * The driver search list of a ddmfs whose binary is exe: every directory
 * below <B>/drivers first when exe is <B>/ddmfs/ddmfs and <B>/drivers
 * exists (a build tree; written "<B>/drivers/" "*"), then cmdline_path,
 * else the conf's driver_path, else DDM_DRIVER_DIR.  A new string or NULL.
 */
char *spawn_search_list_exe(const char *exe, const char *cmdline_path,
                            const struct conf *c);
/* spawn_search_list_exe() for this process's own binary. */
char *spawn_search_list(const char *cmdline_path, const struct conf *c);
/*
 * Finds driver binary name (a bare name) along dirs, colon-separated; an
 * entry ending in "/" "*" means every subdirectory of that directory.
 * Only root's view counts (the driver is exec'd through an fd).
 * Returns 0 or -ENOENT.
 */
int spawn_lookup(const char *name, const char *dirs, char **ret_path);

/*
 * Starts the driver rq describes.  Returns 0 with the process in *ret, or
 * -errno with what went wrong, in words, in why (which step, which user,
 * which file).  The caller's fds in rq stay the caller's.
 */
int spawn_start(const struct spawn_req *rq, struct spawn_proc *ret, char *why,
                size_t whylen);

/* The CUSE devices of an instance's nodes: numbers to ask for (0:0: the
 * kernel picks). */
struct spawn_cuse {
	unsigned int n;
	unsigned int maj[CONF_NODES_MAX], min[CONF_NODES_MAX];
};

/*
 * The argv of driver binary exe for instance node ("bus/name"): --io,
 * --node, --nodes when nodes is set ("rtc0,nvram0:nvram"), --ddm-fd,
 * --cuse-fd and --cuse-dev per node when cuse is set, --ports when
 * granted, --devport-fd for io "devport", --sim-fd when sim is set,
 * --state-fd when state is set, --pci and --vfio-fd when pci (a PCI
 * address) is set, --syslog if use_syslog, then the extra arguments.
 * NULL-terminated; NULL on ENOMEM.
 */
char **spawn_argv(const char *exe, const char *node, const char *io,
                  const struct conf_ports *ports, unsigned int n_ports,
                  char *const *args, const char *nodes,
                  const struct spawn_cuse *cuse, bool sim, bool state,
                  const char *pci, bool use_syslog);
/* NULL is fine. */
void spawn_argv_free(char **argv);

#endif /* DDMFS_SPAWN_H */
