/*
 * fuzz_kbd_xlate.c: libFuzzer target for the keyboard driver's set-1
 * scancode translator, kbd_xlate() in drivers/kbd/kbdmap.c, the keymap on
 * its own (no driver, no libdriver).  Any byte
 * sequence must give at most KBD_XLATE_MAX bytes of text per byte (the
 * output buffer is exactly that big, so ASan catches an overrun) and keep
 * the translator's state in range.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kbdmap.c"

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbd_xlate kx = { 0 };
	char *out = malloc(KBD_XLATE_MAX);

	CHECK(out != NULL);
	for (size_t i = 0; i < size; i++) {
		size_t n = kbd_xlate(&kx, data[i], out);

		CHECK(n <= KBD_XLATE_MAX);
		CHECK(kx.kx_e0 <= 1 && kx.kx_e1 <= 2);
		CHECK(kx.kx_caps <= 1 && kx.kx_caps_down <= 1);
		CHECK((kx.kx_mods & ~(MOD_SHIFT | MOD_CTRL | MOD_ALT)) == 0);
	}
	free(out);
	return 0;
}
