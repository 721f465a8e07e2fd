/*
 * check_spawn.c: unit tests for how ddmfs finds and starts drivers
 * (ddmfs/spawn.c), the state directory they get their fds from
 * (ddmfs/statedir.c), and the CUSE side of it (ddmfs/cusedev.c): the
 * driver search list including the build-tree rule, lookup along it, the
 * argv a driver gets (fds at fixed numbers, ports, CUSE numbers, syslog),
 * spawn_start (the fd exec as the driver's user, the reasons it gives, the
 * driver's own PID namespace), the state dir's checks, lock, stale temp
 * files, sim/ and per-driver dirs, the transport choice, the store of CUSE
 * numbers and the sysfs reading of a CUSE device's numbers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cusedev.h"
#include "ddm_proto.h"
#include "files.h"
#include "spawn.h"
#include "statedir.h"

#define NOBODY        65534
#define READ_WAIT_MS  10000 /* a stub driver's output must come within */
#define ACL_USER_OBJ  0x01  /* posix_acl_xattr tags, as the kernel has them */
#define ACL_USER      0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_MASK      0x10
#define ACL_OTHER     0x20

static char tmp[64];

/* A fresh temp directory in tmp (0700, root's). */
static void
setup_tmp(void)
{
	strcpy(tmp, "/tmp/check_spawn.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Creates tmp/rel with mode (and its parent directories). */
static void
put(const char *rel, const char *text, mode_t mode)
{
	char path[256], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (slash = strchr(path + strlen(tmp) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static char *
at(const char *rel)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

START_TEST(test_search_list_puts_build_tree_drivers_first)
{
	struct conf c = { .driver_path = "/conf/dir" };
	char exe[128], want[256], *s;

	mkdir(at("drivers"), 0755);
	snprintf(exe, sizeof(exe), "%s/ddmfs/ddmfs", tmp);
	s = spawn_search_list_exe(exe, "/cmd/dir", &c);
	snprintf(want, sizeof(want), "%s/drivers/*:/cmd/dir", tmp);
	ck_assert_str_eq(s, want);
	free(s);
	s = spawn_search_list_exe(exe, NULL, &c);
	snprintf(want, sizeof(want), "%s/drivers/*:/conf/dir", tmp);
	ck_assert_str_eq(s, want);
	free(s);
}
END_TEST

START_TEST(test_search_list_without_build_tree_is_cmdline_conf_or_default)
{
	struct conf c = { .driver_path = "/conf/dir" };
	struct conf none = { .driver_path = NULL };
	char exe[128], *s;

	/* looks like a build tree, but has no drivers/ */
	snprintf(exe, sizeof(exe), "%s/ddmfs/ddmfs", tmp);
	s = spawn_search_list_exe(exe, "/cmd/dir", &c);
	ck_assert_str_eq(s, "/cmd/dir");
	free(s);
	s = spawn_search_list_exe("/usr/bin/ddmfs", NULL, &c);
	ck_assert_str_eq(s, "/conf/dir");
	free(s);
	s = spawn_search_list_exe("/usr/bin/ddmfs", NULL, &none);
	ck_assert_str_eq(s, DDM_DRIVER_DIR);
	free(s);
}
END_TEST

START_TEST(test_lookup_finds_the_first_executable_along_the_path)
{
	char dirs[256], *p = NULL;

	put("a/ddm-rtc", "", 0644); /* not executable: skipped */
	put("b/ddm-rtc", "#!/bin/sh\n", 0755);
	put("c/ddm-rtc", "#!/bin/sh\n", 0755);
	snprintf(dirs, sizeof(dirs), "%s:%s:%s", at("a"), at("b"), at("c"));
	ck_assert_int_eq(spawn_lookup("ddm-rtc", dirs, &p), 0);
	ck_assert_str_eq(p, at("b/ddm-rtc"));
	free(p);
}
END_TEST

START_TEST(test_lookup_star_entry_searches_subdirectories)
{
	char dirs[256], *p = NULL;

	put("build/drivers/rtc/ddm-rtc", "#!/bin/sh\n", 0755);
	put("build/drivers/lp/ddm-lp", "#!/bin/sh\n", 0755);
	put("inst/ddm-rtc", "#!/bin/sh\n", 0755);
	snprintf(dirs, sizeof(dirs), "%s/*:%s", at("build/drivers"),
	         at("inst"));
	ck_assert_int_eq(spawn_lookup("ddm-lp", dirs, &p), 0);
	ck_assert_str_eq(p, at("build/drivers/lp/ddm-lp"));
	free(p);
	ck_assert_int_eq(spawn_lookup("ddm-rtc", dirs, &p), 0);
	ck_assert_str_eq(p, at("build/drivers/rtc/ddm-rtc"));
	free(p);
}
END_TEST

START_TEST(test_lookup_of_a_missing_driver_is_enoent_and_untouched)
{
	char *sentinel = (char *)&sentinel, *p = sentinel;

	put("d/ddm-rtc", "#!/bin/sh\n", 0755);
	ck_assert_int_eq(spawn_lookup("ddm-kbd", at("d"), &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
	ck_assert_int_eq(spawn_lookup("ddm-rtc", "/nonexistent:", &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
}
END_TEST

START_TEST(test_lookup_refuses_names_that_are_paths)
{
	char *sentinel = (char *)&sentinel, *p = sentinel;

	put("d/x/ddm-rtc", "#!/bin/sh\n", 0755);
	ck_assert_int_eq(spawn_lookup("x/ddm-rtc", at("d"), &p), -ENOENT);
	ck_assert_int_eq(spawn_lookup("..", at("d/x"), &p), -ENOENT);
	ck_assert_int_eq(spawn_lookup("", at("d"), &p), -ENOENT);
	ck_assert_int_eq(spawn_lookup(NULL, at("d"), &p), -ENOENT);
	ck_assert_ptr_eq(p, sentinel);
}
END_TEST

static char *rtc_args[] = { "--verbose", NULL };
static const struct conf_ports rtc_ports[] = { { 0x70, 2 }, { 0x378, 3 } };

static void
assert_argv(char **argv, const char *const *want)
{
	size_t i;

	ck_assert_ptr_nonnull(argv);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
}

START_TEST(test_argv_for_fuse_has_ports_state_fd_and_extra_args_last)
{
	static const char *const want[] = {
		"/d/ddm-rtc",
		"--io=pio",
		"--node=isa0/rtc0",
		"--ddm-fd=3",
		"--ports=0x70-0x71,0x378-0x37a",
		"--state-fd=7",
		"--verbose",
		NULL,
	};
	char **argv =
	        spawn_argv("/d/ddm-rtc", "isa0/rtc0", "pio", rtc_ports, 2,
	                   rtc_args, NULL, NULL, false, true, NULL, false);

	assert_argv(argv, want);
	spawn_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_cuse_passes_fd_4_and_the_numbers)
{
	static const char *const want[] = {
		"/d/ddm-rtc",
		"--io=pio",
		"--node=isa0/rtc0",
		"--ddm-fd=3",
		"--cuse-fd=4",
		"--cuse-dev=245:7",
		"--ports=0x70-0x71,0x378-0x37a",
		"--verbose",
		NULL,
	};
	struct spawn_cuse sc = { .n = 1, .maj = { 245 }, .min = { 7 } };
	char **argv =
	        spawn_argv("/d/ddm-rtc", "isa0/rtc0", "pio", rtc_ports, 2,
	                   rtc_args, NULL, &sc, false, false, NULL, false);

	assert_argv(argv, want);
	spawn_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_a_fresh_cuse_sim_node_asks_for_0_0_and_gets_sim_fd)
{
	static char *no_args[] = { NULL };
	static const char *const want[] = {
		"/d/ddm-kbd", "--io=sim",     "--node=isa0/kbd0",
		"--ddm-fd=3", "--cuse-fd=4",  "--cuse-dev=0:0",
		"--sim-fd=6", "--state-fd=7", NULL,
	};
	struct spawn_cuse sc = { .n = 1 };
	char **argv = spawn_argv("/d/ddm-kbd", "isa0/kbd0", "sim", NULL, 0,
	                         no_args, NULL, &sc, true, true, NULL, false);

	assert_argv(argv, want);
	spawn_argv_free(argv);
	spawn_argv_free(NULL);
}
END_TEST

START_TEST(test_argv_for_an_instance_of_two_cuse_nodes_lists_both)
{
	static char *no_args[] = { NULL };
	static const char *const want[] = {
		"/d/ddm-rtc",
		"--io=sim",
		"--node=isa0/rtc0",
		"--ddm-fd=3",
		"--nodes=rtc0,nvram0:nvram",
		"--cuse-fd=4,9",
		"--cuse-dev=240:0,240:1",
		"--sim-fd=6",
		NULL,
	};
	struct spawn_cuse sc = { .n = 2, .maj = { 240, 240 }, .min = { 0, 1 } };
	char **argv =
	        spawn_argv("/d/ddm-rtc", "isa0/rtc0", "sim", NULL, 0, no_args,
	                   "rtc0,nvram0:nvram", &sc, true, false, NULL, false);

	assert_argv(argv, want);
	spawn_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_devport_passes_fd_5_and_syslog_before_extra_args)
{
	static const char *const want[] = {
		"/d/ddm-lp",
		"--io=devport",
		"--node=isa0/lp0",
		"--ddm-fd=3",
		"--ports=0x70-0x71,0x378-0x37a",
		"--devport-fd=5",
		"--state-fd=7",
		"--syslog",
		"--verbose",
		NULL,
	};
	char **argv =
	        spawn_argv("/d/ddm-lp", "isa0/lp0", "devport", rtc_ports, 2,
	                   rtc_args, NULL, NULL, false, true, NULL, true);

	assert_argv(argv, want);
	spawn_argv_free(argv);
}
END_TEST

START_TEST(test_argv_for_a_pci_instance_passes_its_address_and_fds_24_to_26)
{
	static char *no_args[] = { NULL };
	static const char *const want[] = {
		"/d/ddm-edu",         "--io=mmio",    "--node=pci0/edu0",
		"--ddm-fd=3",         "--state-fd=7", "--pci=0000:00:04.0",
		"--vfio-fd=24,25,26", NULL,
	};
	char **argv =
	        spawn_argv("/d/ddm-edu", "pci0/edu0", "mmio", NULL, 0, no_args,
	                   NULL, NULL, false, true, "0000:00:04.0", false);

	ck_assert_int_eq(SPAWN_VFIO_FD, 24);
	assert_argv(argv, want);
	spawn_argv_free(argv);
}
END_TEST

START_TEST(test_argv_gives_only_reserved_options_and_never_a_state_dir)
{
	static char *no_args[] = { NULL };

	/* every combination of the flags */
	for (int bits = 0; bits < 32; bits++) {
		bool cuse = bits & 1, sim = bits & 2, state = bits & 4,
		     use_syslog = bits & 8, pci = bits & 16;
		struct spawn_cuse sc = { .n = 2,
			                 .maj = { 1, 1 },
			                 .min = { 2, 3 } };
		char **argv = spawn_argv(
		        "/d/x", "isa0/x0", "devport", rtc_ports, 2, no_args,
		        "x0,y0:aux", cuse ? &sc : NULL, sim, state,
		        pci ? "0000:00:04.0" : NULL, use_syslog);
		size_t n = 0;

		ck_assert_ptr_nonnull(argv);
		for (size_t i = 1; argv[i] != NULL; i++, n++) {
			const char *a = argv[i];
			size_t len = strcspn(a + 2, "=");
			bool reserved = false;

			ck_assert_msg(strncmp(a, "--", 2) == 0, "%s", a);
			ck_assert_msg(strncmp(a, "--state-dir", 11) != 0, "%s",
			              a);
			for (size_t k = 0; ddm_reserved_options[k] != NULL; k++)
				reserved |=
				        strlen(ddm_reserved_options[k]) ==
				                len &&
				        strncmp(a + 2, ddm_reserved_options[k],
				                len) == 0;
			ck_assert_msg(reserved, "%s is not reserved", a);
		}
		/* io, node, ddm-fd, nodes, ports, devport-fd, the flags. own */
		ck_assert_uint_eq(n, 6 + 2 * cuse + sim + state + use_syslog +
		                             2 * pci);
		spawn_argv_free(argv);
	}
}
END_TEST

/* Reads packets from fd into buf until the peer hangs up: the length. */
static size_t
read_until_eof(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		ck_assert_int_eq(poll(&p, 1, READ_WAIT_MS), 1);
		n = recv(fd, buf + got, cap - 1 - got, 0);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* Reads one packet from fd into buf. */
static void
read_packet(int fd, char *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	ck_assert_int_eq(poll(&p, 1, READ_WAIT_MS), 1);
	n = recv(fd, buf, cap - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

/*
 * Starts tmp/rel as nobody with the socket end sock at fd 3 and argv
 * { "stub", "--io=sim" }: spawn_start's result, *ret and why filled.
 */
static int
start_as_nobody(const char *rel, int sock, struct spawn_proc *ret, char *why,
                size_t whylen)
{
	static char *const argv[] = { "stub", "--io=sim", NULL };
	struct spawn_req rq = {
		.node = "isa0/x0",
		.exe = at(rel),
		.argv = argv,
		.user = "nobody",
		.uid = NOBODY,
		.gid = NOBODY,
		.sock = sock,
		.cuse = -1,
		.devport = -1,
		.sim = -1,
		.state = -1,
	};

	return spawn_start(&rq, ret, why, whylen);
}

START_TEST(test_spawn_start_runs_a_driver_its_user_cannot_reach_by_path)
{
	struct spawn_proc sp = { 0, -1 };
	char why[512] = "", out[256], want[64];
	struct stat st;
	int sv[2], status;

	/* tmp is root's 0700: nobody cannot even look up the file */
	ck_assert_int_eq(stat(tmp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	put("bin/stub",
	    "#!/bin/sh\n"
	    "printf 'uid=%s gid=%s pid=%s args=%s' \"$(id -u)\" \"$(id -g)\" "
	    "\"$$\" \"$*\" >&3\n",
	    0755);
	ck_assert_int_eq(chmod(at("bin"), 0700), 0);
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_msg(
	        start_as_nobody("bin/stub", sv[1], &sp, why, sizeof(why)) == 0,
	        "spawn_start: %s", why);
	/* the caller's fds stay the caller's */
	ck_assert_int_ge(fcntl(sv[1], F_GETFD), 0);
	close(sv[1]);
	ck_assert_int_gt(sp.pid, 0);
	ck_assert_int_ge(sp.pidfd, 0);
	/* its own session */
	ck_assert_int_eq(getsid(sp.pid), sp.pid);
	read_until_eof(sv[0], out, sizeof(out));
	/* pid 1: the first process of a PID namespace of its own */
	snprintf(want, sizeof(want), "uid=%d gid=%d pid=1 args=--io=sim",
	         NOBODY, NOBODY);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(waitpid(sp.pid, &status, 0), sp.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(sp.pidfd);
	close(sv[0]);
}
END_TEST

START_TEST(test_spawn_start_of_a_file_the_user_may_not_run_names_both)
{
	struct spawn_proc sp = { 0, -1 }, untouched = sp;
	char why[512] = "", want[512];
	int sv[2];

	put("bin/stub", "#!/bin/sh\nexit 0\n", 0644);
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(
	        start_as_nobody("bin/stub", sv[1], &sp, why, sizeof(why)),
	        -EACCES);
	snprintf(want, sizeof(want),
	         "user nobody may not execute %s: %s (it needs read and "
	         "execute permission on the file itself)",
	         at("bin/stub"), strerror(EACCES));
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(memcmp(&sp, &untouched, sizeof(sp)), 0);
	/* the failed child is reaped: no child is left to wait for */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_spawn_start_of_a_missing_binary_says_it_cannot_open_it)
{
	struct spawn_proc sp = { 0, -1 };
	char why[512] = "", want[512];

	ck_assert_int_eq(start_as_nobody("bin/none", -1, &sp, why, sizeof(why)),
	                 -ENOENT);
	snprintf(want, sizeof(want), "cannot open %s: %s", at("bin/none"),
	         strerror(ENOENT));
	ck_assert_str_eq(why, want);
}
END_TEST

/* Moves fd to number at (whatever held at is parked for the test's end):
 * at. */
static int
move_fd(int fd, int at)
{
	ck_assert_int_ge(fd, 0);
	if (fd == at)
		return at;
	if (fcntl(at, F_GETFD) >= 0)
		ck_assert_int_ge(fcntl(at, F_DUPFD_CLOEXEC, 100), 100);
	ck_assert_int_eq(dup3(fd, at, O_CLOEXEC), at);
	close(fd);
	return at;
}

START_TEST(test_spawn_start_puts_fds_at_their_numbers_whatever_ours_are)
{
	struct spawn_proc sp = { 0, -1 };
	static char *const argv[] = { "stub", NULL };
	char why[512] = "", out[256], want[256];
	int sv[2], status, sock, state, devport;
	struct spawn_req rq = {
		.node = "isa0/x0",
		.exe = at("bin/stub"),
		.argv = argv,
		.user = "nobody",
		.uid = NOBODY,
		.gid = NOBODY,
		.cuse = -1,
		.sim = -1,
	};

	put("bin/stub",
	    "#!/bin/sh\n"
	    "printf '%s %s' \"$(readlink /proc/self/fd/7)\" "
	    "\"$(readlink /proc/self/fd/5)\" >&3\n",
	    0755);
	ck_assert_int_eq(mkdir(at("drvstate"), 0700), 0);
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	/* ours sit on each other's numbers: the socket where the state dir
	 * goes, the state dir where /dev/port goes, and /dev/port (here
	 * /dev/null) is moved to 5 before the state dir is */
	sock = move_fd(sv[1], SPAWN_STATE_FD);
	state = move_fd(open(at("drvstate"), O_RDONLY | O_DIRECTORY),
	                SPAWN_DEVPORT_FD);
	devport = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(devport, 0);
	rq.sock = sock;
	rq.state = state;
	rq.devport = devport;
	ck_assert_msg(spawn_start(&rq, &sp, why, sizeof(why)) == 0,
	              "spawn_start: %s", why);
	close(sock);
	close(state);
	close(devport);
	read_until_eof(sv[0], out, sizeof(out));
	snprintf(want, sizeof(want), "%s /dev/null", at("drvstate"));
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(waitpid(sp.pid, &status, 0), sp.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(sp.pidfd);
	close(sv[0]);
}
END_TEST

/* The pid of the one child of pid, from /proc. */
static pid_t
only_child(pid_t pid)
{
	char path[64];
	const char *text;
	int kid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	         (int)pid);
	text = slurp(path);
	ck_assert_int_eq(sscanf(text, "%d", &kid), 1);
	ck_assert_ptr_null(strchr(strchr(text, ' ') + 1, ' '));
	return kid;
}

START_TEST(test_spawn_start_driver_takes_its_children_with_it_when_killed)
{
	struct spawn_proc sp = { 0, -1 };
	char why[512] = "", out[64];
	int sv[2], status;
	pid_t kid;

	put("bin/stub",
	    "#!/bin/sh\n"
	    "sleep 60 &\n"
	    "echo \"$$ $!\" >&3\n"
	    "wait\n",
	    0755);
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_msg(
	        start_as_nobody("bin/stub", sv[1], &sp, why, sizeof(why)) == 0,
	        "spawn_start: %s", why);
	close(sv[1]);
	read_packet(sv[0], out, sizeof(out));
	/* inside its namespace the driver is 1 and its child 2 */
	ck_assert_str_eq(out, "1 2\n");
	kid = only_child(sp.pid);
	ck_assert_int_gt(kid, 0);
	ck_assert_int_eq(kill(kid, 0), 0);
	ck_assert_int_eq(
	        syscall(SYS_pidfd_send_signal, sp.pidfd, SIGKILL, NULL, 0), 0);
	ck_assert_int_eq(waitpid(sp.pid, &status, 0), sp.pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	/* the namespace died with its first process */
	ck_assert_int_eq(kill(kid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	close(sp.pidfd);
	close(sv[0]);
}
END_TEST

/* statedir_open() on tmp/rel: its result; *lock_fd and why filled. */
static int
open_state(const char *rel, int *lock_fd, char *why, size_t whylen)
{
	*lock_fd = -1;
	return statedir_open(at(rel), lock_fd, why, whylen);
}

static void
assert_dir(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	ck_assert_int_eq(lstat(at(rel), &st), 0);
	ck_assert_msg(S_ISDIR(st.st_mode), "%s is not a directory", rel);
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
}

/* Whether fd is the directory tmp/rel. */
static bool
same_dir(int fd, const char *rel)
{
	struct stat a, b;

	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(lstat(at(rel), &b), 0);
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

START_TEST(test_statedir_is_made_0755_locked_with_our_pid)
{
	char why[256] = "", want[32];
	int lock_fd, dfd;

	dfd = open_state("state", &lock_fd, why, sizeof(why));
	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	ck_assert(same_dir(dfd, "state"));
	assert_dir("state", 0755, 0, 0);
	ck_assert_int_ge(lock_fd, 0);
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	ck_assert_str_eq(slurp(at("state/lock")), want);
	close(dfd);
	close(lock_fd);
	/* a second start finds it and is fine */
	dfd = open_state("state", &lock_fd, why, sizeof(why));
	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	close(dfd);
	close(lock_fd);
}
END_TEST

START_TEST(test_statedir_lock_refuses_a_second_holder_naming_the_pid)
{
	char why[256] = "", want[256];
	int lock_fd, again_fd, dfd;

	dfd = open_state("state", &lock_fd, why, sizeof(why));
	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	ck_assert_int_eq(open_state("state", &again_fd, why, sizeof(why)),
	                 -EBUSY);
	snprintf(want, sizeof(want),
	         "in use by another ddmfs (pid %d); stop it first",
	         (int)getpid());
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(again_fd, -1);
	/* the holder's pid is still in the file */
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	ck_assert_str_eq(slurp(at("state/lock")), want);
	/* once the first lets go, the directory is free again */
	close(lock_fd);
	close(dfd);
	dfd = open_state("state", &lock_fd, why, sizeof(why));
	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	close(dfd);
	close(lock_fd);
}
END_TEST

START_TEST(test_statedir_open_removes_stale_temp_files_only)
{
	char why[256] = "";
	struct stat st;
	int lock_fd, dfd;

	put("state/perms", "isa0 0755 0 0\n", 0644);
	put("state/perms.tmp.Ab12Cd", "half", 0600);
	put("state/running.tmp.xyz", "half", 0600);
	ck_assert_int_eq(mkdir(at("state/keep.tmp.dir"), 0755), 0);
	ck_assert_int_eq(chmod(at("state"), 0755), 0);
	dfd = open_state("state", &lock_fd, why, sizeof(why));
	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	ck_assert_int_eq(lstat(at("state/perms.tmp.Ab12Cd"), &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(lstat(at("state/running.tmp.xyz"), &st), -1);
	ck_assert_str_eq(slurp(at("state/perms")), "isa0 0755 0 0\n");
	ck_assert_int_eq(lstat(at("state/keep.tmp.dir"), &st), 0);
	close(dfd);
	close(lock_fd);
}
END_TEST

START_TEST(test_statedir_of_another_owner_or_writable_by_others_is_refused)
{
	char why[256] = "";
	struct stat st;
	int lock_fd;

	ck_assert_int_eq(geteuid(), 0); /* chown to another uid needs root */
	ck_assert_int_eq(mkdir(at("st"), 0755), 0);
	ck_assert_int_eq(chown(at("st"), 1000, 1000), 0);
	ck_assert_int_eq(open_state("st", &lock_fd, why, sizeof(why)), -EPERM);
	ck_assert_str_eq(why, "owned by uid 1000, not root");
	ck_assert_int_eq(lstat(at("st/lock"), &st), -1);
	ck_assert_int_eq(chown(at("st"), 0, 0), 0);
	ck_assert_int_eq(chmod(at("st"), 0777), 0);
	ck_assert_int_eq(open_state("st", &lock_fd, why, sizeof(why)), -EPERM);
	ck_assert_str_eq(why, "writable by others (mode 0777)");
	ck_assert_int_eq(chmod(at("st"), 0775), 0);
	ck_assert_int_eq(open_state("st", &lock_fd, why, sizeof(why)), -EPERM);
	ck_assert_str_eq(why, "writable by group (mode 0775)");
	ck_assert_int_eq(lstat(at("st/lock"), &st), -1);
	ck_assert_int_eq(lock_fd, -1);
}
END_TEST

START_TEST(test_statedir_symlink_of_another_owner_is_refused)
{
	char why[256] = "";
	int lock_fd;

	ck_assert_int_eq(mkdir(at("real"), 0755), 0);
	ck_assert_int_eq(symlink(at("real"), at("link")), 0);
	ck_assert_int_eq(lchown(at("link"), 1000, 1000), 0);
	ck_assert_int_eq(open_state("link", &lock_fd, why, sizeof(why)),
	                 -EPERM);
	ck_assert_str_eq(why, "a symlink owned by uid 1000");
}
END_TEST

START_TEST(test_statedir_with_a_missing_parent_or_of_a_file_is_an_error)
{
	char why[256] = "", want[256];
	int lock_fd;

	ck_assert_int_eq(open_state("no/state", &lock_fd, why, sizeof(why)),
	                 -ENOENT);
	snprintf(want, sizeof(want), "mkdir: %s", strerror(ENOENT));
	ck_assert_str_eq(why, want);
	put("file", "", 0644);
	ck_assert_int_eq(open_state("file", &lock_fd, why, sizeof(why)),
	                 -ENOTDIR);
	ck_assert_str_eq(why, "not a directory");
}
END_TEST

/* An open, locked state dir at tmp/state: its fd (the lock is leaked to
 * the test's end). */
static int
state_fd(void)
{
	char why[256] = "";
	int lock_fd, dfd = open_state("state", &lock_fd, why, sizeof(why));

	ck_assert_msg(dfd >= 0, "statedir_open: %s", why);
	return dfd;
}

START_TEST(test_statedir_sim_for_one_user_is_0700_and_its)
{
	static const uid_t uids[] = { 4321, 4321 };
	static const gid_t gids[] = { 8765, 8765 };
	char why[256] = "";
	int dfd = state_fd(), fd;

	fd = statedir_sim(dfd, uids, gids, 2, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	ck_assert(same_dir(fd, "state/sim"));
	assert_dir("state/sim", 0700, 4321, 8765);
	close(fd);
	/* one that exists with other owner and mode is put right */
	ck_assert_int_eq(chown(at("state/sim"), 0, 0), 0);
	ck_assert_int_eq(chmod(at("state/sim"), 0755), 0);
	fd = statedir_sim(dfd, uids, gids, 1, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	assert_dir("state/sim", 0700, 4321, 8765);
	close(fd);
	close(dfd);
}
END_TEST

/* Reads the access ACL of tmp/rel into entries of { tag, perm, id }:
 * their number. */
static size_t
read_acl(const char *rel, unsigned int (*ret)[3], size_t cap)
{
	unsigned char buf[1024];
	ssize_t n =
	        getxattr(at(rel), "system.posix_acl_access", buf, sizeof(buf));
	size_t k = 0;

	ck_assert_msg(n >= 4, "getxattr: %s", strerror(errno));
	ck_assert_int_eq(buf[0] | buf[1] << 8 | buf[2] << 16 |
	                         (uint32_t)buf[3] << 24,
	                 2);
	ck_assert_int_eq((n - 4) % 8, 0);
	for (unsigned char *p = buf + 4; p < buf + n && k < cap; p += 8, k++) {
		ret[k][0] = p[0] | p[1] << 8;
		ret[k][1] = p[2] | p[3] << 8;
		ret[k][2] =
		        p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
	}
	return k;
}

/* Creates tmp/rel in a child running as uid:gid: 0 or its errno.  tmp
 * is opened to all for it, so only the last directory decides. */
static int
create_as(uid_t uid, gid_t gid, const char *rel)
{
	pid_t pid;
	int status, fd;

	ck_assert_int_eq(chmod(tmp, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(255);
		fd = open(at(rel), O_WRONLY | O_CREAT | O_EXCL, 0600);
		_exit(fd < 0 ? errno : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 255);
	return WEXITSTATUS(status);
}

START_TEST(test_statedir_sim_for_two_users_is_roots_with_an_acl_for_each)
{
	static const uid_t uids[] = { 4321, 1000, 4321 };
	static const gid_t gids[] = { 8765, 100, 8765 };
	unsigned int acl[16][3];
	char why[256] = "";
	int dfd = state_fd(), fd;
	size_t n;

	fd = statedir_sim(dfd, uids, gids, 3, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	/* sticky, so neither removes the other's files; the group bits show
	 * the ACL's mask, the owning group itself gets nothing */
	assert_dir("state/sim", 01770, 0, 0);
	n = read_acl("state/sim", acl, 16);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(acl[0][0], ACL_USER_OBJ);
	ck_assert_uint_eq(acl[0][1], 7);
	ck_assert_uint_eq(acl[1][0], ACL_USER);
	ck_assert_uint_eq(acl[1][1], 7);
	ck_assert_uint_eq(acl[1][2], 1000);
	ck_assert_uint_eq(acl[2][0], ACL_USER);
	ck_assert_uint_eq(acl[2][1], 7);
	ck_assert_uint_eq(acl[2][2], 4321);
	ck_assert_uint_eq(acl[3][0], ACL_GROUP_OBJ);
	ck_assert_uint_eq(acl[3][1], 0);
	ck_assert_uint_eq(acl[4][0], ACL_MASK);
	ck_assert_uint_eq(acl[4][1], 7);
	ck_assert_uint_eq(acl[5][0], ACL_OTHER);
	ck_assert_uint_eq(acl[5][1], 0);
	/* and the kernel lets exactly them in */
	ck_assert_int_eq(create_as(1000, 100, "state/sim/a"), 0);
	ck_assert_int_eq(create_as(4321, 8765, "state/sim/b"), 0);
	ck_assert_int_eq(create_as(2000, 100, "state/sim/c"), EACCES);
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(test_statedir_sim_back_to_one_user_drops_the_old_acl)
{
	static const uid_t two[] = { 4321, 1000 }, one[] = { 4321 };
	static const gid_t gids[] = { 8765, 100 };
	char why[256] = "", buf[256];
	int dfd = state_fd(), fd;

	fd = statedir_sim(dfd, two, gids, 2, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	close(fd);
	fd = statedir_sim(dfd, one, gids, 1, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	assert_dir("state/sim", 0700, 4321, 8765);
	ck_assert_int_eq(getxattr(at("state/sim"), "system.posix_acl_access",
	                          buf, sizeof(buf)),
	                 -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(create_as(1000, 100, "state/sim/a"), EACCES);
	close(fd);
	close(dfd);
}
END_TEST

/* Owner of tmp/rel, not following a symlink. */
static uid_t
owner(const char *rel)
{
	struct stat st;

	ck_assert_int_eq(lstat(at(rel), &st), 0);
	return st.st_uid;
}

START_TEST(test_statedir_sim_own_gives_a_leafs_files_to_its_user)
{
	static const uid_t uids[] = { 0 };
	static const gid_t gids[] = { 0 };
	char why[256] = "";
	int dfd = state_fd(), fd;
	struct stat st;

	fd = statedir_sim(dfd, uids, gids, 1, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	put("state/sim/rtc0.cmos", "x", 0600);
	put("state/sim/rtc0.time", "x", 0600);
	put("state/sim/rtc00.cmos", "x", 0600); /* another leaf's */
	put("state/sim/rtc0", "x", 0600);       /* not NAME.* */
	put("state/sim/lp0.data", "x", 0600);
	put("target", "x", 0600);
	ck_assert_int_eq(symlink(at("target"), at("state/sim/rtc0.link")), 0);
	ck_assert_int_eq(statedir_sim_own(fd, "rtc0", 4321, 8765), 0);
	ck_assert_uint_eq(owner("state/sim/rtc0.cmos"), 4321);
	ck_assert_uint_eq(owner("state/sim/rtc0.time"), 4321);
	ck_assert_int_eq(lstat(at("state/sim/rtc0.time"), &st), 0);
	ck_assert_uint_eq(st.st_gid, 8765);
	ck_assert_uint_eq(owner("state/sim/rtc00.cmos"), 0);
	ck_assert_uint_eq(owner("state/sim/rtc0"), 0);
	ck_assert_uint_eq(owner("state/sim/lp0.data"), 0);
	/* a symlink among them is not followed out of sim/ */
	ck_assert_uint_eq(owner("target"), 0);
	/* and again, with the directory offset moved on */
	ck_assert_int_eq(statedir_sim_own(fd, "lp0", 1000, 100), 0);
	ck_assert_uint_eq(owner("state/sim/lp0.data"), 1000);
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(test_statedir_sim_symlink_is_refused_and_its_target_untouched)
{
	static const uid_t uids[] = { 4321 };
	static const gid_t gids[] = { 8765 };
	char why[256] = "";
	struct stat st;
	int dfd = state_fd();

	ck_assert_int_eq(mkdir(at("target"), 0750), 0);
	ck_assert_int_eq(symlink(at("target"), at("state/sim")), 0);
	ck_assert_int_eq(statedir_sim(dfd, uids, gids, 1, why, sizeof(why)),
	                 -ENOTDIR);
	ck_assert_str_eq(why, "sim is a symlink, not a directory");
	ck_assert_int_eq(stat(at("target"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	close(dfd);
}
END_TEST

START_TEST(test_statedir_driver_dir_is_0700_and_its_users_under_roots)
{
	char why[256] = "";
	int dfd = state_fd(), fd;

	fd = statedir_driver(dfd, "isa0/rtc0", 4321, 8765, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_driver: %s", why);
	ck_assert(same_dir(fd, "state/drivers/isa0/rtc0"));
	assert_dir("state/drivers", 0755, 0, 0);
	assert_dir("state/drivers/isa0", 0755, 0, 0);
	assert_dir("state/drivers/isa0/rtc0", 0700, 4321, 8765);
	close(fd);
	/* a second driver on the bus, another user */
	fd = statedir_driver(dfd, "isa0/lp0", NOBODY, NOBODY, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_driver: %s", why);
	assert_dir("state/drivers/isa0/lp0", 0700, NOBODY, NOBODY);
	assert_dir("state/drivers/isa0/rtc0", 0700, 4321, 8765);
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(test_statedir_driver_symlink_is_refused_and_its_target_untouched)
{
	char why[256] = "";
	struct stat st;
	int dfd = state_fd();

	ck_assert_int_eq(mkdir(at("target"), 0750), 0);
	ck_assert_int_eq(mkdir(at("state/drivers"), 0755), 0);
	ck_assert_int_eq(mkdir(at("state/drivers/isa0"), 0755), 0);
	ck_assert_int_eq(symlink(at("target"), at("state/drivers/isa0/rtc0")),
	                 0);
	ck_assert_int_eq(
	        statedir_driver(dfd, "isa0/rtc0", 4321, 8765, why, sizeof(why)),
	        -ENOTDIR);
	ck_assert_str_eq(why, "rtc0 is a symlink, not a directory");
	ck_assert_int_eq(stat(at("target"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	close(dfd);
}
END_TEST

/*
 * Regression (ddmfs/statedir.c, statedir_sim): duplicates are removed
 * before the uid list is held to ACL_USERS_MAX (64).  Cut first, a conf
 * with 64 devices run as nobody and a 65th run as another user made a
 * sim/ for nobody alone, and the 65th driver could not reach its sim
 * files.  Expected: an ACL for both users, never a silent drop.
 */
START_TEST(test_statedir_sim_with_many_devices_still_lets_every_user_in)
{
	uid_t uids[65];
	gid_t gids[65];
	unsigned int acl[16][3];
	char why[256] = "";
	int dfd = state_fd(), fd;
	bool other = false;

	for (size_t i = 0; i < 64; i++) {
		uids[i] = NOBODY;
		gids[i] = NOBODY;
	}
	uids[64] = 4321;
	gids[64] = 8765;
	fd = statedir_sim(dfd, uids, gids, 65, why, sizeof(why));
	ck_assert_msg(fd >= 0, "statedir_sim: %s", why);
	ck_assert_msg(create_as(4321, 8765, "state/sim/b") == 0,
	              "uid 4321, the 65th device's user, cannot use sim/");
	for (size_t i = 0, n = read_acl("state/sim", acl, 16); i < n; i++)
		other |= acl[i][0] == ACL_USER && acl[i][2] == 4321;
	ck_assert_msg(other, "uid 4321 has no ACL entry on sim/");
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(test_transport_choice_follows_conf_and_dev_cuse)
{
	int cuse = -1;

	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_AUTO, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 1);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_AUTO, at("no-cuse"), &cuse),
	                 0);
	ck_assert_int_eq(cuse, 0);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_FUSE, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 0);
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_CUSE, "/dev/null", &cuse),
	                 0);
	ck_assert_int_eq(cuse, 1);
	cuse = -1;
	ck_assert_int_eq(cdev_choose(CONF_TRANSPORT_CUSE, at("no-cuse"), &cuse),
	                 -ENOENT);
	ck_assert_int_eq(cuse, -1);
}
END_TEST

START_TEST(test_cuse_store_keeps_good_lines_and_counts_garbage)
{
	struct cdev_store *cs = NULL;
	unsigned int bad = 99, maj = 0, min = 0;

	put("cuse",
	    "isa0/rtc0 245 7\n"
	    "garbage\n"
	    "isa0/lp0 4096 0\n" /* major out of range */
	    "isa0/kbd0 0 0\n"   /* 0:0 means nothing */
	    "isa0/x -1 2\n"     /* negative */
	    "/isa0/y 1 2\n"     /* not a node path */
	    "isa0/z 1 2 3\n"    /* trailing junk */
	    "ISA0/W 1 2\n"      /* not a node name */
	    "\n"                /* blank: ignored, not counted */
	    "pci0/edu0 10 1048575\n",
	    0644);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 7);
	ck_assert_uint_eq(cs->n, 2);
	ck_assert_int_eq(cdev_store_get(cs, "isa0/rtc0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 245);
	ck_assert_uint_eq(min, 7);
	ck_assert_int_eq(cdev_store_get(cs, "pci0/edu0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 10);
	ck_assert_uint_eq(min, 1048575);
	maj = min = 77;
	ck_assert_int_eq(cdev_store_get(cs, "isa0/lp0", &maj, &min), -ENOENT);
	ck_assert_uint_eq(maj, 77);
	ck_assert_uint_eq(min, 77);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_save_writes_path_maj_min_lines_atomically)
{
	struct cdev_store *cs = NULL, *again = NULL;
	unsigned int bad = 9, maj = 0, min = 0;
	char cmd[128];

	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(cs->n, 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 245, 0), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/lp0", 243, 1), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 240, 7), 0);
	ck_assert_int_eq(cdev_store_save(cs), 0);
	ck_assert_str_eq(slurp(at("cuse")),
	                 "isa0/rtc0 240 7\nisa0/lp0 243 1\n");
	/* only the file itself is left behind, no temp file */
	snprintf(cmd, sizeof(cmd), "test \"$(ls '%s')\" = cuse", tmp);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &again, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(cdev_store_get(again, "isa0/rtc0", &maj, &min), 0);
	ck_assert_uint_eq(maj, 240);
	ck_assert_uint_eq(min, 7);
	cdev_store_free(again);
	cdev_store_free(cs);
	cdev_store_free(NULL);
}
END_TEST

START_TEST(test_cuse_sysfs_numbers_are_read_for_the_bang_name)
{
	unsigned int maj = 0, min = 0;
	char name[64];

	ck_assert_int_eq(cdev_name("isa0/rtc0", name, sizeof(name)), 0);
	ck_assert_str_eq(name, "ddm!isa0!rtc0");
	put("sys/ddm!isa0!rtc0/dev", "245:7\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/rtc0", &maj, &min),
	                 0);
	ck_assert_uint_eq(maj, 245);
	ck_assert_uint_eq(min, 7);
}
END_TEST

START_TEST(test_cuse_sysfs_missing_or_bad_text_leaves_numbers_alone)
{
	unsigned int maj = 5, min = 6;

	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/rtc0", &maj, &min),
	                 -ENOENT);
	put("sys/ddm!isa0!lp0/dev", "245\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/lp0", &maj, &min),
	                 -EIO);
	put("sys/ddm!isa0!kbd0/dev", "4096:0\n", 0644);
	ck_assert_int_eq(cdev_read_sysfs(at("sys"), "isa0/kbd0", &maj, &min),
	                 -EIO);
	ck_assert_uint_eq(maj, 5);
	ck_assert_uint_eq(min, 6);
}
END_TEST

START_TEST(test_cuse_store_set_refuses_bad_paths_and_numbers)
{
	struct cdev_store *cs = NULL;

	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, NULL), 0);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 0, 0), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 4096, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 1, 1048576), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0 rtc0", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "", 1, 1), -EINVAL);
	ck_assert_int_eq(cdev_store_set(cs, "isa0/rtc0", 4095, 1048575), 0);
	ck_assert_uint_eq(cs->n, 1);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_survives_binary_garbage_and_long_lines)
{
	static const char junk[] = "isa0/a 1 1\n\x01\xff\x00zz 3 4\n"
	                           "isa0/b 2 2\n";
	struct cdev_store *cs = NULL;
	unsigned int bad = 0, maj = 0, min = 0;
	char *line;
	int fd;

	line = malloc(100001);
	memset(line, 'a', 100000);
	line[100000] = '\0';
	fd = open(at("cuse"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk) - 1),
	                 (ssize_t)sizeof(junk) - 1);
	ck_assert_int_eq(write(fd, line, 100000), 100000);
	ck_assert_int_eq(write(fd, " 1 1\n", 5), 5);
	close(fd);
	free(line);
	ck_assert_int_eq(cdev_store_open(at("cuse"), &cs, &bad), 0);
	ck_assert_uint_eq(bad, 2);
	ck_assert_uint_eq(cs->n, 2);
	ck_assert_int_eq(cdev_store_get(cs, "isa0/b", &maj, &min), 0);
	ck_assert_uint_eq(maj, 2);
	cdev_store_free(cs);
}
END_TEST

START_TEST(test_cuse_store_of_a_directory_is_an_error)
{
	struct cdev_store *sentinel = (struct cdev_store *)&sentinel,
	                  *cs = sentinel;

	ck_assert_int_eq(cdev_store_open(tmp, &cs, NULL), -EISDIR);
	ck_assert_ptr_eq(cs, sentinel);
}
END_TEST

/*
 * Regression (ddmfs/statedir.c, statedir_sim): more than ACL_USERS_MAX
 * distinct users is an error with a reason; it used to drop the 65th user
 * without a word.
 */
START_TEST(test_statedir_sim_for_too_many_users_is_an_error_not_a_drop)
{
	uid_t uids[65];
	gid_t gids[65];
	unsigned int acl[80][3];
	char why[256] = "";
	int dfd = state_fd(), fd;
	size_t n_acl;
	bool last = false;

	for (size_t i = 0; i < 65; i++) {
		uids[i] = 5000 + (uid_t)i;
		gids[i] = 5000;
	}
	fd = statedir_sim(dfd, uids, gids, 65, why, sizeof(why));
	if (fd >= 0) {
		n_acl = read_acl("state/sim", acl, 80);
		for (size_t i = 0; i < n_acl; i++)
			last |= acl[i][0] == ACL_USER && acl[i][2] == 5064;
		close(fd);
	}
	ck_assert_msg(fd < 0 || last,
	              "uid 5064 was left out of sim/'s ACL without an error");
	close(dfd);
}
END_TEST

static Suite *
spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");

	tcase_add_checked_fixture(core, setup_tmp, teardown_tmp);
	tcase_add_test(core, test_search_list_puts_build_tree_drivers_first);
	tcase_add_test(
	        core,
	        test_search_list_without_build_tree_is_cmdline_conf_or_default);
	tcase_add_test(core,
	               test_lookup_finds_the_first_executable_along_the_path);
	tcase_add_test(core, test_lookup_star_entry_searches_subdirectories);
	tcase_add_test(core,
	               test_lookup_of_a_missing_driver_is_enoent_and_untouched);
	tcase_add_test(
	        core,
	        test_argv_for_fuse_has_ports_state_fd_and_extra_args_last);
	tcase_add_test(core, test_argv_for_cuse_passes_fd_4_and_the_numbers);
	tcase_add_test(core,
	               test_argv_for_an_instance_of_two_cuse_nodes_lists_both);
	tcase_add_test(
	        core,
	        test_argv_for_a_fresh_cuse_sim_node_asks_for_0_0_and_gets_sim_fd);
	tcase_add_test(
	        core,
	        test_argv_for_devport_passes_fd_5_and_syslog_before_extra_args);
	tcase_add_test(
	        core,
	        test_spawn_start_runs_a_driver_its_user_cannot_reach_by_path);
	tcase_add_test(
	        core,
	        test_spawn_start_of_a_file_the_user_may_not_run_names_both);
	tcase_add_test(
	        core,
	        test_spawn_start_driver_takes_its_children_with_it_when_killed);
	tcase_add_test(core, test_statedir_is_made_0755_locked_with_our_pid);
	tcase_add_test(
	        core,
	        test_statedir_lock_refuses_a_second_holder_naming_the_pid);
	tcase_add_test(core, test_statedir_open_removes_stale_temp_files_only);
	tcase_add_test(core, test_statedir_sim_for_one_user_is_0700_and_its);
	tcase_add_test(
	        core,
	        test_statedir_sim_for_two_users_is_roots_with_an_acl_for_each);
	tcase_add_test(core,
	               test_statedir_sim_back_to_one_user_drops_the_old_acl);
	tcase_add_test(core,
	               test_statedir_sim_own_gives_a_leafs_files_to_its_user);
	tcase_add_test(
	        core,
	        test_statedir_driver_dir_is_0700_and_its_users_under_roots);
	tcase_add_test(core, test_transport_choice_follows_conf_and_dev_cuse);
	tcase_add_test(core,
	               test_cuse_store_keeps_good_lines_and_counts_garbage);
	tcase_add_test(
	        core,
	        test_cuse_store_save_writes_path_maj_min_lines_atomically);
	tcase_add_test(core,
	               test_cuse_sysfs_numbers_are_read_for_the_bang_name);
	suite_add_tcase(s, core);
	tcase_add_checked_fixture(limits, setup_tmp, teardown_tmp);
	tcase_add_test(limits, test_lookup_refuses_names_that_are_paths);
	tcase_add_test(
	        limits,
	        test_argv_gives_only_reserved_options_and_never_a_state_dir);
	tcase_add_test(
	        limits,
	        test_argv_for_a_pci_instance_passes_its_address_and_fds_24_to_26);
	tcase_add_test(
	        limits,
	        test_spawn_start_of_a_missing_binary_says_it_cannot_open_it);
	tcase_add_test(
	        limits,
	        test_spawn_start_puts_fds_at_their_numbers_whatever_ours_are);
	tcase_add_test(
	        limits,
	        test_statedir_of_another_owner_or_writable_by_others_is_refused);
	tcase_add_test(limits,
	               test_statedir_symlink_of_another_owner_is_refused);
	tcase_add_test(
	        limits,
	        test_statedir_with_a_missing_parent_or_of_a_file_is_an_error);
	tcase_add_test(
	        limits,
	        test_statedir_sim_symlink_is_refused_and_its_target_untouched);
	tcase_add_test(
	        limits,
	        test_statedir_driver_symlink_is_refused_and_its_target_untouched);
	tcase_add_test(
	        limits,
	        test_statedir_sim_with_many_devices_still_lets_every_user_in);
	tcase_add_test(
	        limits,
	        test_statedir_sim_for_too_many_users_is_an_error_not_a_drop);
	tcase_add_test(
	        limits,
	        test_cuse_sysfs_missing_or_bad_text_leaves_numbers_alone);
	tcase_add_test(limits,
	               test_cuse_store_set_refuses_bad_paths_and_numbers);
	tcase_add_test(limits,
	               test_cuse_store_survives_binary_garbage_and_long_lines);
	tcase_add_test(limits, test_cuse_store_of_a_directory_is_an_error);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spawn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
