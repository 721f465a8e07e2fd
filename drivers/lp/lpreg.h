/*
 * lpreg.h: registers of the PC parallel printer port (the SPP part of an
 * IBM PC LPT adapter or a compatible super-I/O chip).
 *
 * The port is three consecutive I/O ports, normally 0x378-0x37a: a data
 * latch the printer reads, a read-only status port showing the printer's
 * Centronics lines, and a control port driving the port's own lines.
 * Several status and control lines are active low on the cable; the
 * comments give each bit's polarity as software sees it.  A byte is sent
 * by latching it on the data port, waiting for the printer to be not busy,
 * and pulsing STROBE (set, hold at least 0.5 us, clear); the printer
 * answers with a pulse on nACK and raises BUSY while it takes the byte.
 */
#ifndef LPREG_H
#define LPREG_H

/* clang-format off */
#define LPT_IO_LEN      3       /* data, status, control */

#define lpt_data        0       /* data latch; reads back what was written */

#define lpt_status      1       /* printer lines; read only */
#define  LPS_NBUSY      0x80    /* 1 = printer not busy, 0 = busy */
#define  LPS_NACK       0x40    /* 0 = acknowledge pulse, 1 = idle */
#define  LPS_NOPAPER    0x20    /* 1 = paper end */
#define  LPS_SELECT     0x10    /* 1 = printer selected (online) */
#define  LPS_NERR       0x08    /* 0 = printer reports an error */

#define lpt_control     2       /* port lines and interrupt enable */
#define  LPC_STROBE     0x01    /* 1 = strobe asserted (data valid) */
#define  LPC_AUTOLF     0x02    /* 1 = printer adds LF after CR */
#define  LPC_NINIT      0x04    /* 0 = reset the printer, 1 = run */
#define  LPC_SELECTIN   0x08    /* 1 = select the printer */
#define  LPC_IENABLE    0x10    /* 1 = interrupt on nACK */
#define  LPC_INPUT      0x20    /* 1 = data port is an input (bidir) */
/* clang-format on */

#endif /* LPREG_H */
