/* hello.c: a ddmfs driver; its node reads "hello, NAME\n", a write sets NAME */
#include <errno.h>
#include <stdio.h>
#include <ddm_driver.h>
#pragma GCC diagnostic ignored "-Wunused-parameter"          /* r, off */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* C++ */
static char who[64] = "world"; /* the softc: NAME */
static const char *const options[] = { "who", NULL }; /* --who=NAME */
static int hello_init(struct ddm_dev *dev, void *sc) {
	const char *w = ddm_option(dev, "who"); /* NULL if not given */
	return w && snprintf((char *)sc, sizeof(who), "%s", w) > 63 ? -EINVAL : 0;
}
/* The text a read gives, once per open, then EOF (ddm_read_text()). */
static ssize_t fill(struct ddm_handle *h, char *text, size_t cap) {
	return snprintf(text, cap, "hello, %s\n", (const char *)h->sc);
}
static ssize_t hello_read(struct ddm_handle *h, struct ddm_req *r, void *buf,
    size_t size, off_t off) { return ddm_read_text(h, buf, size, fill); }
static ssize_t hello_write(struct ddm_handle *h, struct ddm_req *r,
    const void *buf, size_t size, off_t off) {
	int n = (int)size - (size > 0 && ((const char *)buf)[size - 1] == '\n');
	if (n == 0 || n > 63) return -EINVAL; /* empty, or too long for who[] */
	snprintf((char *)h->sc, sizeof(who), "%.*s", n, (const char *)buf);
	return size;
}
static const struct ddm_driver_ops hello_ops = { .init = hello_init,
	.read = hello_read, .write = hello_write, .options = options };
int main(int argc, char **argv) {
	return ddm_driver_main(argc, argv, &hello_ops, sizeof(hello_ops), who);
}
