/*
 * kbdreg.h: registers of the Intel 8042 keyboard controller of a PC and
 * the set-1 scancode bytes it delivers.
 *
 * The controller has two I/O ports: 0x60 is data in both directions
 * (keyboard bytes and command replies out, command arguments and keyboard
 * commands in), and 0x64 reads as status and takes controller commands
 * when written.  Before each write the driver waits for IBF to clear;
 * before each read it waits for OBF to be set.  Port 0x61 between them
 * belongs to another chip (speaker, NMI status) and is never touched.
 * NEVER write 0xfe to 0x64: it pulses the CPU reset line and reboots a PC.
 * With XLATE set the controller turns the keyboard's set-2 codes into
 * set 1: one byte per make, the same byte | 0x80 per break, 0xe0 and 0xe1
 * prefixes for the extended keys.
 */
#ifndef KBDREG_H
#define KBDREG_H

/* clang-format off */
#define KBD_DATA_PORT   0x60
#define KBD_CMD_PORT    0x64

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
#define  KBC_KBDDIS     0xad    /* disable the keyboard interface */
#define  KBC_KBDEN      0xae    /* enable the keyboard interface */
#define  KBC_PULSE_RESET 0xfe   /* resets the CPU: never sent */

/* The command byte (KBC_RCB / KBC_WCB). */
#define  KBCB_KBDINT    0x01    /* 1 = IRQ 1 when a keyboard byte arrives */
#define  KBCB_AUXINT    0x02    /* 1 = IRQ 12 when an aux byte arrives */
#define  KBCB_SYS       0x04    /* system flag, shown as KBS_SYS */
#define  KBCB_KBDDIS    0x10    /* 1 = keyboard interface disabled */
#define  KBCB_AUXDIS    0x20    /* 1 = aux interface disabled */
#define  KBCB_XLATE     0x40    /* 1 = translate set 2 to set 1 */

/* Set-1 scancode bytes. */
#define  SC_BREAK       0x80    /* 1 = key released, 0 = pressed */
#define  SC_EXT         0xe0    /* prefix: the next code is an extended key */
#define  SC_PAUSE       0xe1    /* prefix: two more bytes follow (Pause) */
#define  SC_OVERRUN     0xff    /* keyboard buffer overrun or error */
#define  SC_ERROR       0x00    /* key detection error */
/* clang-format on */

#endif /* KBDREG_H */
