/*
 * fuzz_ctl.c: libFuzzer target for the control socket's command handling,
 * ctl_handle() in ddmfs/ctl.c, on a tree built from the shipped conf with
 * no mount and no driver processes.
 *
 * The first input byte picks the peer: odd is root, even is uid 1000.  The
 * rest is the request line, cut as the socket reader cuts it (at
 * CTL_LINE_MAX bytes and the first newline).  Root's start and restart are
 * sent as uid 1000 instead, because they would spawn real drivers; root's
 * stop, reload, list and status run for real.  Every answer must be "OK\n"
 * and output, or "ERR message\n" with a -errno result.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddmfs.h"

#define CTL_LINE_MAX 512 /* as ctl.c */
#define PEER_USER    1000

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds dfs from FUZZ_CONF: the tree, and a stopped drv per leaf. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CONF_ERR_MAX], **paths;
	struct conf *c;
	size_t k = 0, n_dev = 0;

	CHECK(conf_load(FUZZ_CONF, &c, err, sizeof(err)) == 0);
	CHECK(perm_store_open("/nonexistent/perms", &dfs.perms, NULL) == 0);
	for (unsigned int b = 0; b < c->n_buses; b++)
		n_dev += c->buses[b].n_devices;
	paths = calloc(n_dev + 1, sizeof(*paths));
	CHECK(paths != NULL);
	for (unsigned int b = 0; b < c->n_buses; b++)
		for (unsigned int i = 0; i < c->buses[b].n_devices; i++)
			paths[k++] = c->buses[b].devices[i].driver;
	CHECK(tree_build(c, dfs.perms, paths, &dfs.nodes, &dfs.n_nodes) == 0);
	free(paths);
	dfs.conf = c;
	dfs.conf_file = FUZZ_CONF;
	dfs.state_dir = "/nonexistent";
	for (size_t i = 0; i < dfs.n_nodes; i++) {
		struct drv *d;

		if (dfs.nodes[i].is_dir)
			continue;
		d = calloc(1, sizeof(*d));
		CHECK(d != NULL);
		d->node = &dfs.nodes[i];
		d->state = DRV_STOPPED;
		d->pidfd = -1;
		d->timerfd = -1;
		dfs.nodes[i].drv = d;
	}
	return 0;
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
	if (peer != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "status") != 0)
		CHECK(r != 0); /* only root may change anything */
	free(reply);
	/* Root's stop leaves a stopped driver stopped. */
	for (size_t i = 0; i < dfs.n_nodes; i++)
		if (dfs.nodes[i].drv != NULL)
			CHECK(dfs.nodes[i].drv->state == DRV_STOPPED);
	return 0;
}
