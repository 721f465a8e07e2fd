/*
 * fuzz_proto.c: libFuzzer target for the wire protocol (ddm_proto.h).
 * ddm_msg_unpack must reject or accept any bytes without reading out of
 * bounds; an accepted packet must describe exactly the bytes given, and
 * packing its header and payload again must give the same bytes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddm_proto.h"

/* Aborts (a crash libFuzzer reports) when an invariant does not hold. */
#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddm_msg m, m2, again;
	const void *payload = NULL, *p2 = NULL;
	unsigned char *buf;
	long n;

	if (ddm_msg_unpack(data, size, &m, &payload) != 0) {
		CHECK(payload == NULL); /* untouched on failure */
		return 0;
	}
	CHECK(m.magic == DDM_MAGIC && m.flags == 0);
	CHECK(m.op > 0 && m.op < DDM_OP_MAX);
	CHECK(strcmp(ddm_op_name(m.op), "?") != 0);
	CHECK(m.len <= DDM_PAYLOAD_MAX && sizeof(m) + m.len == size);
	CHECK((const uint8_t *)payload == data + sizeof(m));
	if (m.op == DDM_REPLY)
		CHECK(m.result >= DDM_ERRNO_MIN && m.result <= DDM_PAYLOAD_MAX);

	buf = malloc(DDM_MSG_MAX);
	CHECK(buf != NULL);
	m2 = m;
	m2.len = 0; /* pack sets it */
	n = ddm_msg_pack(buf, DDM_MSG_MAX, &m2, payload, m.len);
	CHECK(n == (long)size);
	CHECK(memcmp(buf, data, size) == 0);
	CHECK(ddm_msg_unpack(buf, (size_t)n, &again, &p2) == 0);
	CHECK(memcmp(&again, &m, sizeof(m)) == 0);
	CHECK(memcmp(p2, payload, m.len) == 0);
	/* A buffer one byte short must be refused, not overrun. */
	m2 = m;
	CHECK(ddm_msg_pack(buf, size - 1, &m2, payload, m.len) == -EMSGSIZE);
	free(buf);
	return 0;
}
