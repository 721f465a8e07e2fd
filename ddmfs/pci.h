/*
 * pci.h: PCI functions for the pci rules of the conf (DESIGN.md, "PCI").
 *
 * pci_scan() enumerates the functions with libpciaccess; pci_assign()
 * matches them against the rules and names each matched one after its
 * rule's pattern, the name stable per PCI address through the state
 * directory's "pci" file ("ADDR NAME" lines).  sync.c turns the matches
 * into driver instances under pci0; ctl.c lists the functions no rule
 * took.  vfio.h binds the functions to vfio-pci for their drivers.
 */
#ifndef DDMFS_PCI_H
#define DDMFS_PCI_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define PCI_NAMES_FILE "pci" /* in the state directory */

struct pci_fn {
	char addr[CONF_PCI_ADDR_MAX]; /* "0000:00:04.0" */
	unsigned int vendor, device, subvendor, subdevice;
	unsigned int class; /* 24 bits: class, subclass, interface */
};

/* A function a rule took, and the leaf name it got. */
struct pci_match {
	struct pci_fn fn;
	const struct conf_pci_rule *rule;
	char name[CONF_NAME_MAX + 1];
};

/*
 * Enumerates the PCI functions, in address order, into *ret (free()d by
 * the caller).  Returns 0, or -errno with the reason in why when PCI is
 * absent or unreadable here.
 */
int pci_scan(struct pci_fn **ret, size_t *ret_n, char *why, size_t whylen);
/* Does rule r match function f? */
bool pci_rule_matches(const struct conf_pci_rule *r, const struct pci_fn *f);
/*
 * Matches fns against c's rules (the first rule that matches wins) and
 * names each match.  names is the store's text ("ADDR NAME" lines, NULL
 * for none); *ret_names gets the new text (NULL if unchanged), which the
 * caller saves.  0 or -ENOMEM.
 */
int pci_assign(const struct conf *c, const struct pci_fn *fns, size_t n,
               const char *names, struct pci_match **ret, size_t *ret_n,
               char **ret_names);
/*
 * The whole step at start and on reload: scans, matches, names (through
 * the store in directory dfd, -1 for none) and remembers the functions
 * no rule took for pci_each_unbound().  Logs once when PCI is unreadable.
 * 0 or -ENOMEM; *ret may be empty.
 */
int pci_discover(const struct conf *c, int dfd, struct pci_match **ret,
                 size_t *ret_n);
/* Calls fn for each function the last pci_discover() left unbound. */
void pci_each_unbound(void (*fn)(const struct pci_fn *f, void *arg), void *arg);

/*
 * Opens the hotplug monitor (kernel uevents of the "pci" subsystem, no
 * udevd needed): its fd, or -errno.
 */
int pci_monitor_open(void);
/* Reads what the monitor has: whether a function came or went. */
bool pci_monitor_read(void);

#endif /* DDMFS_PCI_H */
