/*
 * pci.c: PCI functions for the pci rules (pci.h): enumeration through
 * libpciaccess, rule matching, and names stable per PCI address.
 *
 * Names: a function keeps the name the store gives its address while that
 * name still fits its rule's pattern; otherwise it gets the pattern with
 * the lowest number that no other function has now and that the store
 * does not keep for another address.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pciaccess.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libudev.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "log.h"
#include "pci.h"

#define PCI_SYSFS      "/sys/bus/pci/devices"
#define NAMES_SIZE_MAX (256 * 1024) /* largest names file, bytes */
#define NUMBER_MAX     99999999     /* %d never takes more (8 digits) */

/* The functions no rule took, for ctl's "list --all" (dfs.tree_lock). */
static struct pci_fn *unbound;
static size_t n_unbound;
static bool warned; /* the "PCI unreadable" line was logged */
static struct udev *udev;
static struct udev_monitor *mon;
/*
 * Functions a "remove" event named: the kernel sends it before sysfs lets
 * go of the function, so scans leave them out until sysfs agrees.
 */
#define GONE_MAX 32
static char gone[GONE_MAX][CONF_PCI_ADDR_MAX];
static size_t n_gone;

static bool
is_gone(const char *addr)
{
	for (size_t i = 0; i < n_gone; i++)
		if (strcmp(gone[i], addr) == 0)
			return true;
	return false;
}

/* Notes (or, for a new "add", forgets) addr as removed. */
static void
set_gone(const char *addr, bool removed)
{
	for (size_t i = 0; i < n_gone; i++)
		if (strcmp(gone[i], addr) == 0) {
			if (!removed)
				memmove(gone[i], gone[i + 1],
				        (n_gone - i - 1) * sizeof(gone[0]));
			n_gone -= !removed;
			return;
		}
	if (removed && n_gone < GONE_MAX)
		snprintf(gone[n_gone++], sizeof(gone[0]), "%s", addr);
}

/* Drops the removed functions from fns, and forgets those sysfs lost. */
static void
drop_gone(struct pci_fn *fns, size_t *n)
{
	size_t k = 0;

	for (size_t g = n_gone; g-- > 0;) {
		bool seen = false;

		for (size_t i = 0; i < *n && !seen; i++)
			seen = strcmp(fns[i].addr, gone[g]) == 0;
		if (!seen)
			set_gone(gone[g], false);
	}
	for (size_t i = 0; i < *n; i++)
		if (!is_gone(fns[i].addr))
			fns[k++] = fns[i];
	*n = k;
}

static int
fn_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pci_fn *)a)->addr,
	              ((const struct pci_fn *)b)->addr);
}

int
pci_scan(struct pci_fn **ret, size_t *ret_n, char *why, size_t whylen)
{
	struct pci_id_match all = { PCI_MATCH_ANY,
		                    PCI_MATCH_ANY,
		                    PCI_MATCH_ANY,
		                    PCI_MATCH_ANY,
		                    0,
		                    0,
		                    0 };
	struct pci_device_iterator *it;
	struct pci_device *dev;
	struct pci_fn *fns = NULL, *p;
	size_t n = 0, cap = 0;
	int r;

	if (access(PCI_SYSFS, R_OK | X_OK) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", PCI_SYSFS, strerror(-r));
		return r;
	}
	r = pci_system_init();
	if (r != 0) {
		snprintf(why, whylen, "pci_system_init: %s", strerror(r));
		return -r;
	}
	it = pci_id_match_iterator_create(&all);
	if (it == NULL) {
		r = -ENOMEM;
		goto cleanup;
	}
	while ((dev = pci_device_next(it)) != NULL) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			p = reallocarray(fns, cap, sizeof(*p));
			if (p == NULL) {
				r = -ENOMEM;
				goto free_it;
			}
			fns = p;
		}
		p = &fns[n++];
		snprintf(p->addr, sizeof(p->addr), "%04x:%02x:%02x.%u",
		         dev->domain, dev->bus, dev->dev, dev->func);
		p->vendor = dev->vendor_id;
		p->device = dev->device_id;
		p->subvendor = dev->subvendor_id;
		p->subdevice = dev->subdevice_id;
		p->class = dev->device_class & 0xffffff;
	}
	qsort(fns, n, sizeof(*fns), fn_cmp);
	r = 0;
free_it:
	pci_iterator_destroy(it);
cleanup:
	pci_system_cleanup();
	if (r < 0) {
		free(fns);
		snprintf(why, whylen, "%s", strerror(-r));
		return r;
	}
	*ret = fns;
	*ret_n = n;
	return 0;
}

static bool
id_matches(int want, unsigned int have)
{
	return want == CONF_PCI_ANY || (unsigned int)want == have;
}

bool
pci_rule_matches(const struct conf_pci_rule *r, const struct pci_fn *f)
{
	return id_matches(r->vendor, f->vendor) &&
	       id_matches(r->device, f->device) &&
	       id_matches(r->subvendor, f->subvendor) &&
	       id_matches(r->subdevice, f->subdevice) &&
	       (r->class == CONF_PCI_ANY ||
	        (f->class & r->class_mask) == (unsigned int)r->class);
}

/* The pattern's name for number k. */
static void
format_name(const char *pattern, long k, char buf[CONF_NAME_MAX + 1])
{
	const char *p = strstr(pattern, "%d");

	snprintf(buf, CONF_NAME_MAX + 1, "%.*s%ld%s", (int)(p - pattern),
	         pattern, k, p + 2);
}

/* Does name fit pattern, the %d as a decimal number without leading 0s? */
static bool
fits(const char *pattern, const char *name)
{
	const char *p = strstr(pattern, "%d");
	size_t pre = (size_t)(p - pattern), suf = strlen(p + 2);
	size_t len = strlen(name), digits;

	if (len <= pre + suf || strncmp(name, pattern, pre) != 0 ||
	    strcmp(name + len - suf, p + 2) != 0)
		return false;
	digits = len - pre - suf;
	if (digits > 8 || strspn(name + pre, "0123456789") < digits)
		return false;
	return digits == 1 || name[pre] != '0';
}

/* One "ADDR NAME" line of the store. */
struct entry {
	char addr[CONF_PCI_ADDR_MAX];
	char name[CONF_NAME_MAX + 1];
};

/* Parses the store's text; malformed lines are dropped. */
static int
parse_names(const char *text, struct entry **ret, size_t *ret_n)
{
	struct entry *e = NULL, *p;
	size_t n = 0, cap = 0;
	const char *line = text, *eol;

	while (line != NULL && *line != '\0') {
		char a[CONF_PCI_ADDR_MAX], nm[CONF_NAME_MAX + 1], tail;
		char buf[128];
		size_t len;

		eol = strchr(line, '\n');
		len = eol ? (size_t)(eol - line) : strlen(line);
		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		line = eol ? eol + 1 : NULL;
		if (sscanf(buf, "%15s %32s %c", a, nm, &tail) != 2)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			p = reallocarray(e, cap, sizeof(*p));
			if (p == NULL) {
				free(e);
				return -ENOMEM;
			}
			e = p;
		}
		snprintf(e[n].addr, sizeof(e[n].addr), "%s", a);
		snprintf(e[n].name, sizeof(e[n].name), "%s", nm);
		n++;
	}
	*ret = e;
	*ret_n = n;
	return 0;
}

static struct entry *
find_addr(struct entry *e, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].addr, addr) == 0)
			return &e[i];
	return NULL;
}

/* Is name taken: by a match so far, or by the store for another address? */
static bool
taken(const struct pci_match *m, size_t n_m, const struct entry *e, size_t n_e,
      const char *name, const char *addr)
{
	for (size_t i = 0; i < n_m; i++)
		if (strcmp(m[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < n_e; i++)
		if (strcmp(e[i].name, name) == 0 &&
		    strcmp(e[i].addr, addr) != 0)
			return true;
	return false;
}

/* Gives m (its fn and rule set) a name, updating the store e. */
static int
name_one(struct pci_match *all, size_t n_m, struct pci_match *m,
         struct entry **e, size_t *n_e, size_t *cap_e, bool *changed)
{
	struct entry *st = find_addr(*e, *n_e, m->fn.addr);
	char cand[CONF_NAME_MAX + 1];
	long k;

	if (st != NULL && fits(m->rule->name, st->name) &&
	    !taken(all, n_m, NULL, 0, st->name, m->fn.addr)) {
		snprintf(m->name, sizeof(m->name), "%s", st->name);
		return 0;
	}
	for (k = 0; k <= NUMBER_MAX; k++) {
		format_name(m->rule->name, k, cand);
		if (!taken(all, n_m, *e, *n_e, cand, m->fn.addr))
			break;
	}
	snprintf(m->name, sizeof(m->name), "%s", cand);
	if (st == NULL) {
		if (*n_e == *cap_e) {
			size_t cap = *cap_e ? 2 * *cap_e : 16;
			struct entry *p = reallocarray(*e, cap, sizeof(*p));

			if (p == NULL)
				return -ENOMEM;
			*e = p;
			*cap_e = cap;
		}
		st = &(*e)[(*n_e)++];
		snprintf(st->addr, sizeof(st->addr), "%s", m->fn.addr);
	}
	snprintf(st->name, sizeof(st->name), "%s", cand);
	*changed = true;
	return 0;
}

int
pci_assign(const struct conf *c, const struct pci_fn *fns, size_t n,
           const char *names, struct pci_match **ret, size_t *ret_n,
           char **ret_names)
{
	struct pci_match *m;
	struct entry *e = NULL;
	size_t n_m = 0, n_e = 0, cap_e;
	bool changed = false;
	char *text = NULL;
	int r;

	m = calloc(n ? n : 1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	r = parse_names(names, &e, &n_e);
	if (r < 0)
		goto free_m;
	cap_e = n_e;
	for (size_t i = 0; i < n; i++) {
		for (unsigned int j = 0; j < c->n_pci; j++) {
			if (!pci_rule_matches(&c->pci[j], &fns[i]))
				continue;
			m[n_m].fn = fns[i];
			m[n_m].rule = &c->pci[j];
			r = name_one(m, n_m, &m[n_m], &e, &n_e, &cap_e,
			             &changed);
			if (r < 0)
				goto free_e;
			n_m++;
			break;
		}
	}
	if (changed) {
		size_t len = 0;

		text = malloc(n_e * (sizeof(e->addr) + sizeof(e->name) + 2) +
		              1);
		if (text == NULL) {
			r = -ENOMEM;
			goto free_e;
		}
		text[0] = '\0';
		for (size_t i = 0; i < n_e; i++)
			len += (size_t)sprintf(text + len, "%s %s\n", e[i].addr,
			                       e[i].name);
	}
	free(e);
	*ret = m;
	*ret_n = n_m;
	*ret_names = text;
	return 0;
free_e:
	free(e);
free_m:
	free(m);
	return r;
}

/* Reads the store's text from dfd (NULL if there is none). */
static char *
read_names(int dfd)
{
	char *buf;
	ssize_t n;
	int fd;

	if (dfd < 0)
		return NULL;
	fd = openat(dfd, PCI_NAMES_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	buf = malloc(NAMES_SIZE_MAX + 1);
	n = buf ? read(fd, buf, NAMES_SIZE_MAX) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

int
pci_discover(const struct conf *c, int dfd, struct pci_match **ret,
             size_t *ret_n)
{
	struct pci_fn *fns = NULL;
	struct pci_match *m = NULL;
	size_t n = 0, n_m = 0, k = 0;
	char why[256], *names, *text = NULL;
	int r;

	r = pci_scan(&fns, &n, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (!warned)
			logmsg("pci: PCI is not readable here (%s); %s stays "
			       "empty",
			       why, CONF_PCI_BUS);
		warned = true;
		n = 0;
	} else {
		warned = false;
		drop_gone(fns, &n);
	}
	names = read_names(dfd);
	r = pci_assign(c, fns, n, names, &m, &n_m, &text);
	free(names);
	if (r < 0) {
		free(fns);
		return r;
	}
	if (text != NULL && dfd >= 0) {
		r = atomic_write_at(dfd, PCI_NAMES_FILE, text, strlen(text),
		                    0644, true);
		if (r < 0)
			logmsg("pci: cannot save %s: %s", PCI_NAMES_FILE,
			       strerror(-r));
	}
	free(text);
	/* the functions no rule took stay in fns, in order */
	for (size_t i = 0; i < n; i++) {
		bool bound = false;

		for (size_t j = 0; j < n_m && !bound; j++)
			bound = strcmp(m[j].fn.addr, fns[i].addr) == 0;
		if (!bound)
			fns[k++] = fns[i];
	}
	free(unbound);
	unbound = fns;
	n_unbound = k;
	*ret = m;
	*ret_n = n_m;
	return 0;
}

void
pci_each_unbound(void (*fn)(const struct pci_fn *f, void *arg), void *arg)
{
	for (size_t i = 0; i < n_unbound; i++)
		fn(&unbound[i], arg);
}

int
pci_monitor_open(void)
{
	int r;

	udev = udev_new();
	if (udev == NULL)
		return -ENOMEM;
	mon = udev_monitor_new_from_netlink(udev, "kernel");
	if (mon == NULL) {
		r = -EPERM;
		goto unref_udev;
	}
	r = udev_monitor_filter_add_match_subsystem_devtype(mon, "pci", NULL);
	if (r == 0)
		r = udev_monitor_enable_receiving(mon);
	if (r < 0)
		goto unref_mon;
	return udev_monitor_get_fd(mon);

unref_mon:
	udev_monitor_unref(mon);
	mon = NULL;
unref_udev:
	udev_unref(udev);
	udev = NULL;
	return r;
}

bool
pci_monitor_read(void)
{
	struct udev_device *dev;
	bool changed = false;

	while (mon != NULL &&
	       (dev = udev_monitor_receive_device(mon)) != NULL) {
		const char *action = udev_device_get_action(dev);
		const char *addr = udev_device_get_sysname(dev);

		if (action != NULL && addr != NULL &&
		    (strcmp(action, "add") == 0 ||
		     strcmp(action, "remove") == 0)) {
			set_gone(addr, strcmp(action, "remove") == 0);
			changed = true;
		}
		udev_device_unref(dev);
	}
	return changed;
}
