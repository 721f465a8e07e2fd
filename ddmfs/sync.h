/*
 * sync.h: making the tree and its drivers match a conf, at start-up, on
 * ddmctl reload and after an upgrade.  Nodes the conf adds appear (with
 * stored permissions, else the conf's, before they are visible), nodes
 * it drops go (their drivers stop, their open files get ENODEV), nodes
 * whose driver settings changed get their driver restarted with the new
 * ones, and the rest only take new permission defaults.
 */
#ifndef DDMFS_SYNC_H
#define DDMFS_SYNC_H

#include <stdbool.h>

#include "conf.h"

/* What sync_conf() did, for ddmctl's answer and the log. */
struct sync_result {
	unsigned int added, removed, restarted, left_out;
	char *text; /* one line per change; NULL if none or ENOMEM */
};

/*
 * Makes the tree follow c, which it takes over (and frees the old conf).
 * With start, drivers of new nodes start at once (else sync_start_all()
 * does it later).  Called without locks; tells the kernel what changed.
 * 0 or -ENOMEM.
 */
int sync_conf(struct conf *c, bool start, struct sync_result *ret);
/*
 * PCI functions came or went: pci0 follows the functions the current
 * conf's rules match (new ones start, gone ones' files get ENODEV).
 * 0 or -ENOMEM.
 */
int sync_pci_rescan(struct sync_result *ret);
/* Starts every driver that is stopped and not stopped by the admin. */
void sync_start_all(void);
void sync_result_free(struct sync_result *r);

#endif /* DDMFS_SYNC_H */
