/*
 * files.h: small file helpers shared by the unit tests.
 */
#ifndef FILES_H
#define FILES_H

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

/* Reads path into a static buffer, NUL-terminated. */
static inline const char *
slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

#endif
