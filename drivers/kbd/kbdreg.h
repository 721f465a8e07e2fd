/*
 * kbdreg.h: registers of the Intel 8042 keyboard controller of a PC and
 * the set-1 scancode bytes it delivers.
 *
 * The controller has two I/O ports, which the conf grants (0x60 and 0x64
 * on a PC): the data port in both directions (keyboard and mouse bytes
 * and command replies out, command arguments and device commands in), and
 * the status/command port, which reads as status and takes controller
 * commands when written.  Before each write the driver waits for IBF to clear;
 * before each read it waits for OBF to be set.  Port 0x61 between them
 * belongs to another chip (speaker, NMI status) and is never touched.
 * NEVER write 0xfe to 0x64: it pulses the CPU reset line and reboots a PC.
 * With XLATE set the controller turns the keyboard's set-2 codes into
 * set 1: one byte per make, the same byte | 0x80 per break, 0xe0 and 0xe1
 * prefixes for the extended keys.
 *
 * The aux port carries a PS/2 mouse.  A byte for it is written to the data
 * port right after the controller command KBC_AUXWRITE; its answers (0xfa
 * ACK first) and its movement packets come out at the data port with
 * KBS_AUXOBF set, which alone tells them from keyboard bytes.  A packet is
 * three bytes: buttons and signs (PSM0_SYNC always set), dx, dy.
 */
#ifndef KBDREG_H
#define KBDREG_H

#include <stddef.h>
#include <stdint.h>

/* clang-format off */
#define kbd_data        0       /* offset in the data region (0x60) */

#define kbd_status      0       /* offset in the command region (0x64), read */
#define  KBS_OBF        0x01    /* 1 = a byte waits at 0x60 */
#define  KBS_IBF        0x02    /* 1 = the last byte written not taken yet */
#define  KBS_SYS        0x04    /* 1 = self test passed (system flag) */
#define  KBS_A2         0x08    /* 1 = last write went to 0x64, 0 = to 0x60 */
#define  KBS_INH        0x10    /* 0 = keyboard inhibited by the keylock */
#define  KBS_AUXOBF     0x20    /* 1 = the byte at 0x60 is from the aux port */
#define  KBS_TIMEOUT    0x40    /* 1 = transmission timeout */
#define  KBS_PARITY     0x80    /* 1 = parity error */

#define kbd_command     0       /* offset in the command region (0x64), write */
#define  KBC_RCB        0x20    /* read the command byte (reply at 0x60) */
#define  KBC_WCB        0x60    /* write the command byte (next byte at 0x60) */
#define  KBC_AUXDIS     0xa7    /* disable the aux (mouse) interface */
#define  KBC_AUXEN      0xa8    /* enable the aux (mouse) interface */
#define  KBC_KBDDIS     0xad    /* disable the keyboard interface */
#define  KBC_KBDEN      0xae    /* enable the keyboard interface */
#define  KBC_AUXWRITE   0xd4    /* send the next 0x60 byte to the mouse */
#define  KBC_PULSE_RESET 0xfe   /* resets the CPU: never sent */

/* The command byte (KBC_RCB / KBC_WCB). */
#define  KBCB_KBDINT    0x01    /* 1 = IRQ 1 when a keyboard byte arrives */
#define  KBCB_AUXINT    0x02    /* 1 = IRQ 12 when an aux byte arrives */
#define  KBCB_SYS       0x04    /* system flag, shown as KBS_SYS */
#define  KBCB_KBDDIS    0x10    /* 1 = keyboard interface disabled */
#define  KBCB_AUXDIS    0x20    /* 1 = aux interface disabled */
#define  KBCB_XLATE     0x40    /* 1 = translate set 2 to set 1 */

/* Mouse commands (after KBC_AUXWRITE) and its answers. */
#define  PSMC_DEFAULTS  0xf6    /* defaults: 100/s, 4 counts/mm, reporting off */
#define  PSMC_ENABLE    0xf4    /* enable data reporting (stream mode) */
#define  PSMC_DISABLE   0xf5    /* disable data reporting */
#define  PSM_ACK        0xfa    /* the command was taken */
#define  PSM_RESEND     0xfe    /* the byte was garbled: send it again */
#define  PSM_ERROR      0xfc    /* the command failed */

/* The first byte of a mouse packet. */
#define  PSM0_LEFT      0x01    /* 1 = left button down */
#define  PSM0_RIGHT     0x02    /* 1 = right button down */
#define  PSM0_MIDDLE    0x04    /* 1 = middle button down */
#define  PSM0_SYNC      0x08    /* always 1: a byte without it starts no packet */
#define  PSM0_XSIGN     0x10    /* 1 = dx (byte 1) is negative */
#define  PSM0_YSIGN     0x20    /* 1 = dy (byte 2) is negative */
#define  PSM_PACKET     3       /* bytes in a packet */

/* Set-1 scancode bytes. */
#define  SC_BREAK       0x80    /* 1 = key released, 0 = pressed */
#define  SC_EXT         0xe0    /* prefix: the next code is an extended key */
#define  SC_PAUSE       0xe1    /* prefix: two more bytes follow (Pause) */
#define  SC_OVERRUN     0xff    /* keyboard buffer overrun or error */
#define  SC_ERROR       0x00    /* key detection error */
/* clang-format on */

/* The keymap (kbdmap.c): set-1 scancodes to text. */
/* The scancode translator's state: prefixes and modifiers seen so far. */
struct kbd_xlate {
	uint8_t kx_e0;        /* an 0xe0 prefix is pending */
	uint8_t kx_e1;        /* bytes of a Pause sequence still to swallow */
	uint8_t kx_mods;      /* MOD_* held */
	uint8_t kx_caps;      /* Caps Lock on */
	uint8_t kx_caps_down; /* Caps Lock key held (no toggle on repeat) */
};

/* Longest text one scancode can give (ESC [ 1 5 ~). */
#define KBD_XLATE_MAX 8

/*
 * Feeds one scancode byte b through kx; writes its text (at most
 * KBD_XLATE_MAX bytes, not NUL-terminated) to out and returns its length,
 * 0 for a byte that gives none.
 */
size_t kbd_xlate(struct kbd_xlate *kx, uint8_t b, char *out);

#endif /* KBDREG_H */
