/*
 * ddm_null.c: ddm-null, the bench driver: reads give zeros (as many as
 * asked for), writes are swallowed whole.  It does no work of its own, so
 * timing it measures what the /ddm forwarding path costs.
 */
#include "config.h"

#include <string.h>

#include "ddm_driver.h"

static ssize_t
null_read(struct ddm_handle *h, struct ddm_req *r, void *buf, size_t size,
          off_t off)
{
	memset(buf, 0, size);
	return (ssize_t)size;
}

static ssize_t
null_write(struct ddm_handle *h, struct ddm_req *r, const void *buf,
           size_t size, off_t off)
{
	return (ssize_t)size;
}

static const struct ddm_driver_ops null_ops = {
	.read = null_read,
	.write = null_write,
};

int
main(int argc, char **argv)
{
	return ddm_driver_main(argc, argv, &null_ops, sizeof(null_ops), NULL);
}
