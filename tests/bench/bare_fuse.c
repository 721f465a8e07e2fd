/*
 * bare_fuse.c: the bench's FUSE baseline, a libfuse low-level server with
 * one regular file, /zero, that answers every read with zeros from the
 * FUSE worker thread itself.  It answers the same requests a /ddm leaf
 * gets (open with direct_io and nonseekable, read, write, flush, release)
 * on the same multi-threaded loop and mount options as ddmfs, so timing it
 * measures the cost of FUSE alone, without ddmfs's forwarding to a driver.
 *
 *	bare_fuse [-f] [-d] MOUNTPOINT
 */
#include "config.h"

#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZERO_INO  2
#define ZERO_NAME "zero"
#define MOUNT_OPTS                                                             \
	"allow_other,default_permissions,fsname=bare_fuse,subtype=bare_fuse"
#define ATTR_TIMEOUT_S 1.0
#define READ_MAX       (128 * 1024) /* the kernel never asks for more */

static const char zeros[READ_MAX];

static void
bare_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = 64 * 1024; /* as ddmfs */
}

static void
fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
	}
}

static void
bare_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { 0 };

	if (parent != FUSE_ROOT_ID || strcmp(name, ZERO_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = ZERO_INO;
	e.attr_timeout = ATTR_TIMEOUT_S;
	e.entry_timeout = ATTR_TIMEOUT_S;
	fill_stat(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
bare_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (ino != FUSE_ROOT_ID && ino != ZERO_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT_S);
}

static void
bare_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != ZERO_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void
bare_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
	fuse_reply_buf(req, zeros, size < READ_MAX ? size : READ_MAX);
}

static void
bare_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
           off_t off, struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void
bare_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
bare_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops bare_ops = {
	.init = bare_init,
	.lookup = bare_lookup,
	.getattr = bare_getattr,
	.open = bare_open,
	.read = bare_read,
	.write = bare_write,
	.flush = bare_flush,
	.release = bare_release,
};

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o = { 0 };
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	int rc = 1;

	if (fuse_parse_cmdline(&args, &o) != 0)
		return 2;
	if (o.mountpoint == NULL) {
		fprintf(stderr, "usage: %s [-f] [-d] MOUNTPOINT\n", argv[0]);
		goto free_args;
	}
	if (fuse_opt_add_arg(&args, "-o" MOUNT_OPTS) < 0)
		goto free_args;
	se = fuse_session_new(&args, &bare_ops, sizeof(bare_ops), NULL);
	if (se == NULL)
		goto free_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto destroy_session;
	if (fuse_session_mount(se, o.mountpoint) != 0)
		goto remove_handlers;
	if (fuse_daemonize(o.foreground) != 0)
		goto unmount;
	cfg = fuse_loop_cfg_create();
	if (cfg == NULL)
		goto unmount;
	rc = fuse_session_loop_mt(se, cfg) < 0 ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);
unmount:
	fuse_session_unmount(se);
remove_handlers:
	fuse_remove_signal_handlers(se);
destroy_session:
	fuse_session_destroy(se);
free_args:
	free(o.mountpoint);
	fuse_opt_free_args(&args);
	return rc;
}
