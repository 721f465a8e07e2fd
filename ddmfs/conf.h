/*
 * conf.h: ddmfs's configuration, as loaded from ddmfs.conf (libconfig).
 *
 * The loader checks everything a typo could break and reports the first
 * problem as "FILE:LINE: message".  See conf/ddmfs.conf for the keys.
 */
#ifndef DDMFS_CONF_H
#define DDMFS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "acl.h"

#define CONF_NAME_MAX     32  /* bus and device names: [a-z0-9_-]{1,32} */
#define CONF_PORTS_MAX    8   /* port ranges per device */
#define CONF_NODES_MAX    256 /* nodes per device (DDM_NODES_MAX) */
#define CONF_ERR_MAX      512
#define CONF_PCI_ADDR_MAX 16 /* "0000:00:04.0" and a NUL, with room */

enum conf_transport {
	CONF_TRANSPORT_AUTO,
	CONF_TRANSPORT_FUSE,
	CONF_TRANSPORT_CUSE,
};

struct conf_ports {
	unsigned int base; /* first port */
	unsigned int len;  /* number of ports, >= 1 */
};

/* One node (leaf) a device entry publishes. */
struct conf_node {
	char name[CONF_NAME_MAX + 1];
	char kind[CONF_NAME_MAX + 1]; /* the driver's kind; "": by position */
	mode_t mode;                  /* defaults: the device's */
	uid_t uid;
	gid_t gid;
	unsigned int line;
};

/*
 * A device entry: one driver instance (one process), publishing n_nodes
 * nodes on its bus (default: one named after the entry, with its mode,
 * owner and group).
 */
struct conf_device {
	char name[CONF_NAME_MAX + 1];
	char *driver;  /* bare binary name, "ddm-rtc" */
	char *io;      /* "sim", "pio" or "devport" */
	mode_t mode;   /* permission bits, <= 07777 */
	uid_t uid;     /* owner of the node */
	gid_t gid;     /* group of the node */
	uid_t run_uid; /* user the driver runs as */
	gid_t run_gid;
	struct conf_ports ports[CONF_PORTS_MAX];
	unsigned int n_ports;
	char **args; /* extra driver arguments, NULL-terminated, never NULL */
	struct conf_node *nodes; /* n_nodes of them, allocated */
	unsigned int n_nodes;    /* >= 1 */
	int manual; /* spawn = "manual": a driver started by hand attaches */
	unsigned int line;           /* where the entry starts, for messages */
	char pci[CONF_PCI_ADDR_MAX]; /* "": not made by a pci rule */
	char unbind[CONF_NAME_MAX + 1]; /* kernel driver to take ports from */
};

struct conf_bus {
	char name[CONF_NAME_MAX + 1];
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct conf_device *devices;
	unsigned int n_devices;
	unsigned int line;
};

#define CONF_PCI_ANY (-1) /* an id or class rule of "*" */

/*
 * A pci rule: functions it matches become driver instances with one leaf
 * pci0/<name>, name being the pattern with its %d replaced by the lowest
 * number free (stable per PCI address).
 */
struct conf_pci_rule {
	int vendor, device, subvendor, subdevice; /* 16 bits, or CONF_PCI_ANY */
	int class;                                /* 24 bits, or CONF_PCI_ANY */
	unsigned int class_mask; /* "03": 0xff0000, "0300": 0xffff00, ... */
	char *driver;            /* bare binary name */
	char name[CONF_NAME_MAX + 1]; /* the pattern, with one "%d" */
	mode_t mode;
	uid_t uid, gid;
	uid_t run_uid;
	gid_t run_gid;
	char **args; /* NULL-terminated, never NULL */
	unsigned int line;
};

/*
 * A rule: nodes whose path (relative to the mount, "isa0/lp0") path
 * matches as an fnmatch(3) glob with FNM_PATHNAME get what it sets.
 */
struct conf_rule {
	char *path;
	bool has_mode, has_uid, has_gid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct acl_entry acl[ACL_ENTRIES_MAX]; /* access entries to set */
	unsigned int n_acl;
	struct acl_entry dacl[ACL_ENTRIES_MAX]; /* default ("d:") entries */
	unsigned int n_dacl;
	unsigned int line;
};

struct conf {
	char *file;        /* the file it came from */
	char *mountpoint;  /* "/ddm" (also the default) */
	char *state_dir;   /* "/var/lib/ddmfs" (also the default) */
	char *driver_path; /* colon-separated; NULL: the built-in default */
	enum conf_transport transport;
	uid_t driver_uid; /* default user drivers run as */
	gid_t driver_gid;
	struct conf_bus *buses;
	unsigned int n_buses;
	int has_pci; /* a pci list is given: the bus pci0 exists */
	struct conf_pci_rule *pci;
	unsigned int n_pci;
	struct conf_rule *rules; /* in order: a later one wins */
	unsigned int n_rules;
};

#define CONF_PCI_BUS "pci0" /* the bus of the functions pci rules match */

/*
 * Loads path into *ret.  On failure returns -errno (-EINVAL for a bad conf,
 * -ENOENT etc. for a file that can't be read) and writes "FILE:LINE:
 * message" (or "FILE: message") into err.
 */
int conf_load(const char *path, struct conf **ret, char *err, size_t errlen);
/* NULL is fine. */
void conf_free(struct conf *c);

#endif /* DDMFS_CONF_H */
