/*
 * acl.c: POSIX ACLs, their xattr values and their short text (acl.h).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

#define XATTR_VERSION 2 /* POSIX_ACL_XATTR_VERSION */
#define HEADER_SIZE   4
#define ENTRY_SIZE    8
#define PW_BUF_SIZE   4096

static uint32_t
get_le(const unsigned char *p, int bytes)
{
	uint32_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put_le(unsigned char *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct acl_entry *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static bool
named(uint16_t tag)
{
	return tag == ACL_TAG_USER || tag == ACL_TAG_GROUP;
}

int
acl_check(struct acl *a)
{
	unsigned int count[ACL_TAG_OTHER + 1] = { 0 };
	bool any_named = false;

	if (a->n == 0 || a->n > ACL_ENTRIES_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < a->n; i++) {
		const struct acl_entry *e = &a->e[i];

		switch (e->tag) {
		case ACL_TAG_USER_OBJ:
		case ACL_TAG_GROUP_OBJ:
		case ACL_TAG_MASK:
		case ACL_TAG_OTHER:
			if (e->id != ACL_NO_ID && e->id != 0)
				return -EINVAL;
			break;
		case ACL_TAG_USER:
		case ACL_TAG_GROUP:
			if (e->id == ACL_NO_ID)
				return -EINVAL;
			any_named = true;
			break;
		default:
			return -EINVAL;
		}
		if (e->perm > 7)
			return -EINVAL;
		count[e->tag]++;
	}
	if (count[ACL_TAG_USER_OBJ] != 1 || count[ACL_TAG_GROUP_OBJ] != 1 ||
	    count[ACL_TAG_OTHER] != 1 || count[ACL_TAG_MASK] > 1 ||
	    (any_named && count[ACL_TAG_MASK] != 1))
		return -EINVAL;
	for (unsigned int i = 0; i < a->n; i++)
		if (!named(a->e[i].tag))
			a->e[i].id = ACL_NO_ID;
	qsort(a->e, a->n, sizeof(a->e[0]), cmp_entry);
	for (unsigned int i = 1; i < a->n; i++)
		if (named(a->e[i].tag) &&
		    cmp_entry(&a->e[i - 1], &a->e[i]) == 0)
			return -EINVAL;
	return 0;
}

int
acl_from_xattr(const void *buf, size_t len, struct acl *ret)
{
	const unsigned char *p = buf;
	struct acl a;
	size_t n;

	if (buf == NULL || len < HEADER_SIZE ||
	    (len - HEADER_SIZE) % ENTRY_SIZE != 0 ||
	    get_le(p, 4) != XATTR_VERSION)
		return -EINVAL;
	n = (len - HEADER_SIZE) / ENTRY_SIZE;
	if (n == 0 || n > ACL_ENTRIES_MAX)
		return -EINVAL;
	a.n = (unsigned int)n;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *q = p + HEADER_SIZE + i * ENTRY_SIZE;

		a.e[i].tag = (uint16_t)get_le(q, 2);
		a.e[i].perm = (uint16_t)get_le(q + 2, 2);
		a.e[i].id = get_le(q + 4, 4);
	}
	if (acl_check(&a) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

int
acl_to_xattr(const struct acl *a, void *buf, size_t len)
{
	size_t need = HEADER_SIZE + (size_t)a->n * ENTRY_SIZE;
	unsigned char *p = buf;

	if (len == 0 && buf == NULL)
		return (int)need;
	if (len < need)
		return -ERANGE;
	put_le(p, XATTR_VERSION, 4);
	for (unsigned int i = 0; i < a->n; i++) {
		unsigned char *q = p + HEADER_SIZE + i * ENTRY_SIZE;

		put_le(q, a->e[i].tag, 2);
		put_le(q + 2, a->e[i].perm, 2);
		put_le(q + 4, a->e[i].id, 4);
	}
	return (int)need;
}

/* "rw-", "rw", "r-x", "7"-free: 0..7, or -EINVAL. */
static int
parse_perm(const char *s)
{
	int perm = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -EINVAL;
	for (; *s != '\0'; s++) {
		int bit = *s == 'r' ? 4 : *s == 'w' ? 2 : *s == 'x' ? 1 : 0;

		if (*s != '-' && bit == 0)
			return -EINVAL;
		if (perm & bit)
			return -EINVAL;
		perm |= bit;
	}
	return perm;
}

/* A uid or gid in decimal, or (with names) a user or group name. */
static int
parse_id(const char *s, bool group, bool names, uint32_t *ret)
{
	char buf[PW_BUF_SIZE], *end;
	unsigned long v;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || *end != '\0' || v >= ACL_NO_ID)
			return -EINVAL;
		*ret = (uint32_t)v;
		return 0;
	}
	if (!names)
		return -EINVAL;
	if (group) {
		struct group gr, *gp = NULL;

		if (getgrnam_r(s, &gr, buf, sizeof(buf), &gp) != 0 ||
		    gp == NULL)
			return -EINVAL;
		*ret = gp->gr_gid;
	} else {
		struct passwd pw, *pp = NULL;

		if (getpwnam_r(s, &pw, buf, sizeof(buf), &pp) != 0 ||
		    pp == NULL)
			return -EINVAL;
		*ret = pp->pw_uid;
	}
	return 0;
}

int
acl_parse_entry(const char *s, bool names, struct acl_entry *ret,
                bool *ret_default)
{
	char buf[128], *tag, *qual, *perm, *c1, *c2;
	struct acl_entry e = { .id = ACL_NO_ID };
	bool def = false;
	int p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	tag = buf;
	if (strncmp(tag, "d:", 2) == 0 || strncmp(tag, "default:", 8) == 0) {
		if (ret_default == NULL)
			return -EINVAL;
		def = true;
		tag = strchr(tag, ':') + 1;
	}
	c1 = strchr(tag, ':');
	if (c1 == NULL)
		return -EINVAL;
	*c1 = '\0';
	qual = c1 + 1;
	c2 = strchr(qual, ':');
	if (c2 == NULL)
		return -EINVAL;
	*c2 = '\0';
	perm = c2 + 1;
	p = parse_perm(perm);
	if (p < 0)
		return -EINVAL;
	e.perm = (uint16_t)p;
	if (strcmp(tag, "u") == 0 || strcmp(tag, "user") == 0)
		e.tag = *qual ? ACL_TAG_USER : ACL_TAG_USER_OBJ;
	else if (strcmp(tag, "g") == 0 || strcmp(tag, "group") == 0)
		e.tag = *qual ? ACL_TAG_GROUP : ACL_TAG_GROUP_OBJ;
	else if (strcmp(tag, "m") == 0 || strcmp(tag, "mask") == 0)
		e.tag = ACL_TAG_MASK;
	else if (strcmp(tag, "o") == 0 || strcmp(tag, "other") == 0)
		e.tag = ACL_TAG_OTHER;
	else
		return -EINVAL;
	if (named(e.tag)) {
		if (parse_id(qual, e.tag == ACL_TAG_GROUP, names, &e.id) < 0)
			return -EINVAL;
	} else if (*qual != '\0') {
		return -EINVAL;
	}
	*ret = e;
	if (ret_default != NULL)
		*ret_default = def;
	return 0;
}

int
acl_from_text(const char *s, struct acl *ret)
{
	char buf[ACL_TEXT_MAX], *tok, *save = NULL;
	struct acl a = { 0 };

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (a.n == ACL_ENTRIES_MAX ||
		    acl_parse_entry(tok, false, &a.e[a.n], NULL) < 0)
			return -EINVAL;
		a.n++;
	}
	if (acl_check(&a) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

void
acl_to_text(const struct acl *a, char *buf, size_t len)
{
	static const char tags[] = {
		[ACL_TAG_USER_OBJ] = 'u',  [ACL_TAG_USER] = 'u',
		[ACL_TAG_GROUP_OBJ] = 'g', [ACL_TAG_GROUP] = 'g',
		[ACL_TAG_MASK] = 'm',      [ACL_TAG_OTHER] = 'o'
	};
	size_t used = 0;

	if (len > 0)
		buf[0] = '\0';
	for (unsigned int i = 0; i < a->n && used < len; i++) {
		const struct acl_entry *e = &a->e[i];
		char id[16] = "";
		int k;

		if (named(e->tag))
			snprintf(id, sizeof(id), "%u", (unsigned int)e->id);
		k = snprintf(buf + used, len - used, "%s%c:%s:%c%c%c",
		             i ? "," : "",
		             e->tag <= ACL_TAG_OTHER ? tags[e->tag] : '?', id,
		             e->perm & 4 ? 'r' : '-', e->perm & 2 ? 'w' : '-',
		             e->perm & 1 ? 'x' : '-');
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

bool
acl_is_minimal(const struct acl *a)
{
	return a->n <= 3;
}

static struct acl_entry *
find(struct acl *a, uint16_t tag, uint32_t id)
{
	for (unsigned int i = 0; i < a->n; i++)
		if (a->e[i].tag == tag && (!named(tag) || a->e[i].id == id))
			return &a->e[i];
	return NULL;
}

void
acl_sync_mode(struct acl *a, mode_t mode)
{
	struct acl_entry *e;

	if ((e = find(a, ACL_TAG_USER_OBJ, 0)) != NULL)
		e->perm = (mode >> 6) & 7;
	if ((e = find(a, ACL_TAG_MASK, 0)) != NULL ||
	    (e = find(a, ACL_TAG_GROUP_OBJ, 0)) != NULL)
		e->perm = (mode >> 3) & 7;
	if ((e = find(a, ACL_TAG_OTHER, 0)) != NULL)
		e->perm = mode & 7;
}

mode_t
acl_mode(const struct acl *a, mode_t mode)
{
	struct acl *m = (struct acl *)a; /* find() does not write */
	struct acl_entry *e;

	mode &= ~(mode_t)0777;
	if ((e = find(m, ACL_TAG_USER_OBJ, 0)) != NULL)
		mode |= (mode_t)e->perm << 6;
	if ((e = find(m, ACL_TAG_MASK, 0)) != NULL ||
	    (e = find(m, ACL_TAG_GROUP_OBJ, 0)) != NULL)
		mode |= (mode_t)e->perm << 3;
	if ((e = find(m, ACL_TAG_OTHER, 0)) != NULL)
		mode |= e->perm;
	return mode;
}

int
acl_merge(struct acl *a, mode_t mode, const struct acl_entry *e, unsigned int n)
{
	struct acl t = *a;
	bool mask_given = false;
	struct acl_entry *m;
	uint16_t group_class = 0;

	if (t.n == 0) {
		t.e[0] = (struct acl_entry){ ACL_TAG_USER_OBJ, (mode >> 6) & 7,
			                     ACL_NO_ID };
		t.e[1] = (struct acl_entry){ ACL_TAG_GROUP_OBJ, (mode >> 3) & 7,
			                     ACL_NO_ID };
		t.e[2] = (struct acl_entry){ ACL_TAG_OTHER, mode & 7,
			                     ACL_NO_ID };
		t.n = 3;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct acl_entry *x = find(&t, e[i].tag, e[i].id);

		mask_given |= e[i].tag == ACL_TAG_MASK;
		if (x != NULL) {
			x->perm = e[i].perm;
			continue;
		}
		if (t.n == ACL_ENTRIES_MAX)
			return -EINVAL;
		t.e[t.n++] = e[i];
	}
	for (unsigned int i = 0; i < t.n; i++)
		if (named(t.e[i].tag) || t.e[i].tag == ACL_TAG_GROUP_OBJ)
			group_class |= t.e[i].perm;
	m = find(&t, ACL_TAG_MASK, 0);
	if (!mask_given && t.n > 3 + (m != NULL)) {
		if (m == NULL) {
			if (t.n == ACL_ENTRIES_MAX)
				return -EINVAL;
			m = &t.e[t.n++];
		}
		*m = (struct acl_entry){ ACL_TAG_MASK, group_class, ACL_NO_ID };
	}
	if (acl_check(&t) < 0)
		return -EINVAL;
	*a = t;
	return 0;
}

void
acl_inherit(const struct acl *def, mode_t *mode, struct acl *ret)
{
	struct acl a = *def;
	struct acl_entry *e;

	if (a.n == 0) {
		ret->n = 0;
		return;
	}
	/* posix_acl_create_masq(): the mode limits the class entries */
	if ((e = find(&a, ACL_TAG_USER_OBJ, 0)) != NULL)
		e->perm &= (*mode >> 6) & 7;
	if ((e = find(&a, ACL_TAG_MASK, 0)) != NULL ||
	    (e = find(&a, ACL_TAG_GROUP_OBJ, 0)) != NULL)
		e->perm &= (*mode >> 3) & 7;
	if ((e = find(&a, ACL_TAG_OTHER, 0)) != NULL)
		e->perm &= *mode & 7;
	*mode = acl_mode(&a, *mode);
	if (acl_is_minimal(&a))
		a.n = 0;
	*ret = a;
}

bool
acl_equal(const struct acl *a, const struct acl *b)
{
	return a->n == b->n && memcmp(a->e, b->e, a->n * sizeof(a->e[0])) == 0;
}
