/*
 * rtcreg.h: registers of the Motorola MC146818 real-time clock (and its PC
 * successors) as wired in every PC.
 *
 * The chip has 64 bytes (128 on later parts) of internal registers reached
 * through two I/O ports: the index port (0x70 on a PC) selects a register,
 * then the data port (0x71) reads or writes it.  Bit 7 of the index byte
 * masks NMI on real boards; this driver always writes it as 0 (NMI
 * enabled).  Registers 0x0e-0x7f are battery-backed CMOS RAM, where the
 * BIOS keeps its settings (and, at 0x32, the century).  The clock
 * updates once a second; while register A's UIP bit is set an update is
 * imminent or running and the time registers must not be read.  The time
 * registers hold BCD or binary, 12- or 24-hour values as register B says.
 */
#ifndef RTCREG_H
#define RTCREG_H

/* clang-format off */
#define RTC_IO_LEN      2       /* index and data port, from the granted base */
#define rtc_index       0       /* offset of the index port in the region */
#define rtc_data        1       /* offset of the data port in the region */

/* Time-of-day registers. */
#define mc_sec          0x00    /* seconds, 0-59 */
#define mc_asec         0x01    /* alarm seconds */
#define mc_min          0x02    /* minutes, 0-59 */
#define mc_amin         0x03    /* alarm minutes */
#define mc_hour         0x04    /* hours, 0-23 or 1-12 with MC_HOUR_PM */
#define  MC_HOUR_PM     0x80    /* 12-hour mode only: 1 = PM, 0 = AM */
#define mc_ahour        0x05    /* alarm hours */
#define mc_wday         0x06    /* day of week, 1-7, 1 = Sunday */
#define mc_mday         0x07    /* day of month, 1-31 */
#define mc_month        0x08    /* month, 1-12 */
#define mc_year         0x09    /* year in century, 0-99 */

/* Register A: divider and rate select, update-in-progress flag. */
#define mc_rega         0x0a
#define  MC_REGA_UIP    0x80    /* 1 = update due within 244 us or running */
#define  MC_REGA_DV     0x70    /* divider; 010 = 32.768 kHz base, running */
#define  MC_REGA_RS     0x0f    /* periodic interrupt rate select */

/* Register B: mode and interrupt enables. */
#define mc_regb         0x0b
#define  MC_REGB_SET    0x80    /* 1 = updates frozen so the time can be set */
#define  MC_REGB_PIE    0x40    /* 1 = periodic interrupt enabled */
#define  MC_REGB_AIE    0x20    /* 1 = alarm interrupt enabled */
#define  MC_REGB_UIE    0x10    /* 1 = update-ended interrupt enabled */
#define  MC_REGB_SQWE   0x08    /* 1 = square-wave output enabled */
#define  MC_REGB_DM     0x04    /* data mode: 1 = binary, 0 = BCD */
#define  MC_REGB_24HR   0x02    /* hour format: 1 = 24-hour, 0 = 12-hour */
#define  MC_REGB_DSE    0x01    /* 1 = daylight-saving switching enabled */

/* Register C: interrupt flags, cleared by reading. */
#define mc_regc         0x0c
#define  MC_REGC_IRQF   0x80    /* 1 = an enabled interrupt is pending */
#define  MC_REGC_PF     0x40    /* 1 = periodic interrupt flag */
#define  MC_REGC_AF     0x20    /* 1 = alarm flag */
#define  MC_REGC_UF     0x10    /* 1 = update-ended flag */

/* Register D: battery status. */
#define mc_regd         0x0d
#define  MC_REGD_VRT    0x80    /* 1 = valid RAM and time (battery good) */

/* CMOS RAM: byte N of Linux /dev/nvram (and of the nvram node) is N + 14. */
#define mc_nvram        0x0e    /* first byte of the CMOS RAM */
#define MC_NVRAM_LEN    114     /* bytes of it, 0x0e-0x7f */

/* Century, in the PC CMOS map (ACPI FADT default), same format as mc_year. */
#define mc_century      0x32
/* clang-format on */

#endif /* RTCREG_H */
