/*
 * edu-client.c: a small tester for ddm-edu's DMA ioctls (edureg.h):
 *
 *	edu-client NODE to OFF TEXT     DMA TEXT's bytes into the buffer at OFF
 *	edu-client NODE from OFF LEN    DMA LEN bytes at OFF out, to stdout
 *
 * The factorial needs no client: echo 5 > NODE; cat NODE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "edureg.h"

static int
usage(void)
{
	fprintf(stderr, "usage: edu-client NODE to OFF TEXT\n"
	                "       edu-client NODE from OFF LEN\n");
	return 2;
}

/* Parses a decimal or 0x number up to EDU_DMA_BUF_LEN; -1 if not one. */
static long
number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < 0 ||
	    v > EDU_DMA_BUF_LEN)
		return -1;
	return v;
}

int
main(int argc, char **argv)
{
	static struct edu_dma d;
	long off, len;
	int fd, to;

	if (argc != 5)
		return usage();
	to = strcmp(argv[2], "to") == 0;
	if (!to && strcmp(argv[2], "from") != 0)
		return usage();
	off = number(argv[3]);
	len = to ? (long)strlen(argv[4]) : number(argv[4]);
	if (off < 0 || len < 0 || len > EDU_DMA_BUF_LEN)
		return usage();
	d.off = (uint32_t)off;
	d.len = (uint32_t)len;
	if (to)
		memcpy(d.data, argv[4], (size_t)len);
	fd = open(argv[1], to ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (ioctl(fd, to ? EDU_IOC_DMA_TO : EDU_IOC_DMA_FROM, &d) < 0) {
		perror(to ? "EDU_IOC_DMA_TO" : "EDU_IOC_DMA_FROM");
		close(fd);
		return 1;
	}
	close(fd);
	if (!to && fwrite(d.data, 1, d.len, stdout) != d.len)
		return 1;
	return 0;
}
