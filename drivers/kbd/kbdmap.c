/*
 * kbdmap.c: ddm-kbd's keymap.  Turns set-1 scancodes (the i8042 translates
 * the keyboard's set 2 into them) into text: a US layout in UTF-8, ANSI
 * escape sequences for the cursor and function keys, Alt+key as ESC and
 * the key.  The keypad always gives digits (NumLock is not modelled), and
 * the Win/Menu and multimedia keys give nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kbdreg.h"

/* Modifier bits in struct kbd_xlate. */
#define MOD_LSHIFT 0x01
#define MOD_RSHIFT 0x02
#define MOD_LCTRL  0x04
#define MOD_RCTRL  0x08
#define MOD_LALT   0x10
#define MOD_RALT   0x20
#define MOD_SHIFT  (MOD_LSHIFT | MOD_RSHIFT)
#define MOD_CTRL   (MOD_LCTRL | MOD_RCTRL)
#define MOD_ALT    (MOD_LALT | MOD_RALT)

/* Set-1 codes 0x00-0x39: the US layout, unshifted and shifted. */
static const char kmap[0x3a] = "\0\033"
                               "1234567890-=\177\t"
                               "qwertyuiop[]\n\0"
                               "asdfghjkl;'`\0\\"
                               "zxcvbnm,./\0*\0 ";
static const char kmap_shift[0x3a] = "\0\033"
                                     "!@#$%^&*()_+\177\t"
                                     "QWERTYUIOP{}\n\0"
                                     "ASDFGHJKL:\"~\0|"
                                     "ZXCVBNM<>?\0*\0 ";
/* Keypad 0x47-0x53, as with NumLock on. */
static const char kmap_pad[] = "789-456+1230.";
/* F1-F10 (0x3b-0x44), F11 (0x57), F12 (0x58), as xterm sends them. */
static const char *const fkeys[12] = {
	"\033OP",   "\033OQ",   "\033OR",   "\033OS",   "\033[15~", "\033[17~",
	"\033[18~", "\033[19~", "\033[20~", "\033[21~", "\033[23~", "\033[24~",
};

static size_t
put_str(char *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	return n;
}

/* A modifier key's MOD_* bit, or 0; e0 tells the right-hand keys. */
static uint8_t
mod_bit(uint8_t key, int e0)
{
	switch (key) {
	case 0x2a:
		return e0 ? 0 : MOD_LSHIFT;
	case 0x36:
		return e0 ? 0 : MOD_RSHIFT;
	case 0x1d:
		return e0 ? MOD_RCTRL : MOD_LCTRL;
	case 0x38:
		return e0 ? MOD_RALT : MOD_LALT;
	default:
		return 0;
	}
}

/* 0xe0-prefixed keys that give text. */
static const struct {
	uint8_t key;
	const char *text;
} e0_keys[] = {
	{ 0x48, "\033[A" },  { 0x50, "\033[B" },  { 0x4d, "\033[C" },
	{ 0x4b, "\033[D" },  { 0x47, "\033[H" },  { 0x4f, "\033[F" },
	{ 0x53, "\033[3~" }, { 0x52, "\033[2~" }, { 0x49, "\033[5~" },
	{ 0x51, "\033[6~" }, { 0x1c, "\n" },      { 0x35, "/" },
};
/*
 * 0xe0-prefixed keys that give nothing: the fake shifts around extended
 * keys, Print Screen, Ctrl+Break, the Windows keys, Menu, power
 * management and multimedia keys.
 */
static const uint8_t e0_silent[] = { 0x2a, 0x36, 0x37, 0x46, 0x5b, 0x5c, 0x5d,
	                             0x5e, 0x5f, 0x63, 0x10, 0x19, 0x20, 0x21,
	                             0x22, 0x24, 0x2e, 0x30, 0x32, 0x65, 0x66,
	                             0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d };

/*
 * What an 0xe0-prefixed code gives: the text to send, "" for a key with
 * an E0 meaning but no text, NULL for a code with no E0 meaning.
 */
static const char *
e0_text(uint8_t key)
{
	size_t i;

	for (i = 0; i < sizeof(e0_keys) / sizeof(e0_keys[0]); i++)
		if (e0_keys[i].key == key)
			return e0_keys[i].text;
	return memchr(e0_silent, key, sizeof(e0_silent)) != NULL ? "" : NULL;
}

/*
 * Feeds one set-1 byte to the translator; writes the text it gives to out
 * (at most KBD_XLATE_MAX bytes) and returns its length.
 */
size_t
kbd_xlate(struct kbd_xlate *kx, uint8_t b, char *out)
{
	uint8_t key = b & ~SC_BREAK, mod;
	int brk = b & SC_BREAK, e0, shift;
	const char *s;
	char c;

	if (kx->kx_e1 > 0) {
		kx->kx_e1--;
		return 0;
	}
	if (b == SC_ERROR || b == SC_OVERRUN)
		return 0;
	if (b == SC_EXT) {
		kx->kx_e0 = 1; /* E0 E0 keeps one prefix */
		return 0;
	}
	if (b == SC_PAUSE) {
		kx->kx_e0 = 0;
		kx->kx_e1 = 2;
		return 0;
	}
	e0 = kx->kx_e0;
	kx->kx_e0 = 0;
	mod = mod_bit(key, e0);
	if (mod != 0) {
		if (brk)
			kx->kx_mods &= ~mod;
		else
			kx->kx_mods |= mod;
		return 0;
	}
	if (e0 && (s = e0_text(key)) != NULL)
		return brk ? 0 : put_str(out, s);
	if (key == 0x3a) {
		if (!brk && !kx->kx_caps_down)
			kx->kx_caps = !kx->kx_caps;
		kx->kx_caps_down = !brk;
		return 0;
	}
	if (brk)
		return 0;
	if (key >= 0x3b && key <= 0x44)
		return put_str(out, fkeys[key - 0x3b]);
	if (key == 0x57 || key == 0x58)
		return put_str(out, fkeys[key - 0x57 + 10]);
	if (key >= 0x47 && key <= 0x53)
		c = kmap_pad[key - 0x47];
	else if (key < sizeof(kmap))
		c = (kx->kx_mods & MOD_SHIFT) ? kmap_shift[key] : kmap[key];
	else
		c = 0;
	if (c == 0)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		shift = !!(kx->kx_mods & MOD_SHIFT) ^ kx->kx_caps;
		c = shift ? (c & ~0x20) : (c | 0x20);
		if (kx->kx_mods & MOD_CTRL)
			c &= 0x1f;
	} else if (kx->kx_mods & MOD_CTRL) {
		if (c == '[' || c == '\\' || c == ']')
			c &= 0x1f;
		else if (c == ' ')
			c = 0;
	}
	if (kx->kx_mods & MOD_ALT) {
		out[0] = '\033';
		out[1] = c;
		return 2;
	}
	out[0] = c;
	return 1;
}
