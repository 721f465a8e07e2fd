/*
 * fuzz_ctl.c: libFuzzer target for the control socket's command handling,
 * ctl_handle() in ddmfs/ctlcmd.c, on a tree that sync_conf() builds from the
 * shipped conf, with no mount and no driver processes: the drivers are
 * empty files in a temp dir, and a fake drv_sys refuses to spawn.
 *
 * The first input byte picks the peer: odd is root, even is uid 1000.  The
 * rest is the request line, cut as the socket reader cuts it (at
 * CTL_LINE_MAX bytes and the first newline).  Root's start and restart are
 * sent as uid 1000 instead, because they would spawn drivers; root's
 * stop, reload, list, tree and status run for real.  Every answer must be
 * "OK\n" and output, or "ERR message\n" with a -errno result.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ddmfs.h"
#include "drv.h"
#include "perm.h"
#include "proc.h"
#include "sync.h"
#include "tree.h"

#define PEER_USER 1000

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No driver may be started: only root may start one, and root's starts
 * are sent as a user. */
static int
no_spawn(struct drv *d, struct drv_proc *ret)
{
	abort();
}

static void
no_signal(struct drv *d, int sig)
{
}

static bool
not_traced(struct drv *d)
{
	return false;
}

static void
nothing(struct drv *d)
{
}

static const struct drv_sys fake_sys = {
	.now = proc_now,
	.spawn = no_spawn,
	.signal = no_signal,
	.traced = not_traced,
	.attach = nothing,
	.detach_chan = nothing,
	.detach_pid = nothing,
	.wake = nothing,
	.record = nothing,
};

static char dir[] = "/tmp/fuzz_ctl.XXXXXX";

/* Removes the temp dir of driver files. */
static void
remove_drivers(void)
{
	char path[256];

	for (unsigned int b = 0; b < dfs.conf->n_buses; b++)
		for (unsigned int i = 0; i < dfs.conf->buses[b].n_devices;
		     i++) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			         dfs.conf->buses[b].devices[i].driver);
			unlink(path);
		}
	rmdir(dir);
}

/* Builds dfs from FUZZ_CONF: the tree, and a stopped drv per leaf, each
 * driver an empty executable file in a temp dir. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CONF_ERR_MAX], path[256];
	struct sync_result res;
	struct conf *c;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(conf_load(FUZZ_CONF, &c, err, sizeof(err)) == 0);
	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			         c->buses[b].devices[i].driver);
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
			CHECK(fd >= 0);
			close(fd);
		}
	CHECK(perm_store_open("/nonexistent/perms", &dfs.perms, NULL) == 0);
	dfs.conf_file = FUZZ_CONF;
	dfs.state_dir = "/nonexistent";
	dfs.driver_path = dir;
	drv_sys = &fake_sys;
	CHECK(tree_init() == 0);
	CHECK(sync_conf(c, false, &res) == 0);
	CHECK(res.added > 0 && res.left_out == 0);
	sync_result_free(&res);
	atexit(remove_drivers);
	return 0;
}

static void
check_stopped(struct drv *d, void *arg)
{
	CHECK(d->state == DRV_STOPPED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1], cmd[32] = "", *reply = NULL;
	uid_t peer;
	size_t len;
	int r;

	if (size == 0)
		return 0;
	peer = (data[0] & 1) ? 0 : PEER_USER;
	len = size - 1 < CTL_LINE_MAX ? size - 1 : CTL_LINE_MAX;
	memcpy(line, data + 1, len);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%31s", cmd) == 1 &&
	    (strcmp(cmd, "start") == 0 || strcmp(cmd, "restart") == 0))
		peer = PEER_USER;

	r = ctl_handle(line, peer, &reply);
	if (r == -ENOMEM && reply == NULL)
		return 0;
	CHECK(reply != NULL);
	if (r == 0) {
		CHECK(strncmp(reply, "OK\n", 3) == 0);
	} else {
		CHECK(r < 0 && r >= -4095);
		CHECK(strncmp(reply, "ERR ", 4) == 0);
		CHECK(reply[strlen(reply) - 1] == '\n');
	}
	if (peer != 0 && strcmp(cmd, "list") != 0 &&
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "tree") != 0)
		CHECK(r != 0); /* only root may change anything */
	free(reply);
	/* Root's stop leaves a stopped driver stopped. */
	drv_each(check_stopped, NULL);
	return 0;
}
