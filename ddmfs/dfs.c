/*
 * dfs.c: the daemon's shared context (ddmfs.h), defined once, in the
 * library, for ddmfs and for the tests that drive its modules.
 */
#include "config.h"

#include "ddmfs.h"

struct ddmfs dfs = {
	.tree_lock = PTHREAD_RWLOCK_INITIALIZER,
	.state_fd = -1,
	.lock_fd = -1,
	.mnt_lock_fd = -1,
	.sim_fd = -1,
};
