/*
 * fuzz_conf.c: libFuzzer target for the conf loader (ddmfs/conf.c).  The
 * input becomes the contents of a conf file (a memfd, named through
 * /proc/self/fd).  conf_load must either fail with -errno and a message, or
 * give a conf that keeps every promise conf.h makes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONF_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Checks what conf.h promises about a loaded conf. */
static void
check_conf(const struct conf *c)
{
	CHECK(c->file != NULL && c->mountpoint != NULL && c->state_dir != NULL);
	CHECK(c->transport <= CONF_TRANSPORT_CUSE);
	CHECK(c->n_buses == 0 || c->buses != NULL);
	for (unsigned int b = 0; b < c->n_buses; b++) {
		const struct conf_bus *cb = &c->buses[b];

		CHECK(name_ok(cb->name));
		CHECK(cb->mode <= 07777);
		CHECK(cb->n_devices == 0 || cb->devices != NULL);
		for (unsigned int i = 0; i < cb->n_devices; i++) {
			const struct conf_device *d = &cb->devices[i];

			CHECK(name_ok(d->name));
			CHECK(d->driver != NULL && d->driver[0] != '\0' &&
			      strchr(d->driver, '/') == NULL);
			CHECK(d->io != NULL);
			CHECK(d->mode <= 07777);
			CHECK(d->args != NULL);
			CHECK(d->n_ports <= CONF_PORTS_MAX);
			for (unsigned int p = 0; p < d->n_ports; p++) {
				CHECK(d->ports[p].len >= 1);
				CHECK(d->ports[p].base + d->ports[p].len - 1 <=
				      0xffff);
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[CONF_ERR_MAX];
	struct conf *c = NULL;
	int fd, r;

	fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	r = conf_load(path, &c, err, sizeof(err));
	if (r < 0) {
		CHECK(c == NULL);      /* untouched on failure */
		CHECK(err[0] != '\0'); /* and explained */
		CHECK(memchr(err, '\0', sizeof(err))); /* NUL-ended */
	} else {
		CHECK(r == 0 && c != NULL);
		check_conf(c);
		conf_free(c);
	}
	close(fd);
	return 0;
}
