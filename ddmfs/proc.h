/*
 * proc.h: the driver supervisor's outside world (struct drv_sys, drv.h):
 * starting a driver with exactly what its conf entry grants, signals
 * through pidfds, the debugger check, the adoption records, and the
 * adoption of drivers an earlier ddmfs left running.
 */
#ifndef DDMFS_PROC_H
#define DDMFS_PROC_H

#include <stdbool.h>
#include <stdint.h>

/* Installs the real drv_sys. */
void proc_init(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t proc_now(void);
/*
 * Holds (hold) or lets go of the adoption records' saves: while held, a
 * started driver's record is kept in memory only, and letting go saves
 * them once.  Starting many drivers at once (start-up, a reload) writes
 * the file once rather than once a driver.  Holds nest.
 */
void proc_records_hold(bool hold);
/*
 * Adopts the drivers the records name that still run and belong to a
 * node of the tree, and kills the rest (tree lock held for reading).
 * Returns how many were adopted.
 */
unsigned int proc_adopt_all(void);
struct conf;

/*
 * Makes <state_dir>/sim fit the users the sim devices of c run as, and
 * keeps it open as dfs.sim_fd (tree lock held for writing, or before any
 * thread runs).  0, or -errno (logged).
 */
int proc_sim(const struct conf *c);
/*
 * ctl "attach": gives manual d's grants to process pid, a driver started
 * by hand, over its connection conn ("OK fds=... ARGV", with the fds),
 * and waits for its HELLO (d->lock and the tree lock held).  0, or -errno
 * with why; on failure nothing is sent.
 */
struct drv;
int proc_attach(struct drv *d, int conn, pid_t pid, char *why, size_t whylen);
/*
 * Gives back what d's instance took from kernel drivers: its PCI function
 * (vfio.h), the devices behind its ports (ioports.h).  Only once no
 * process of d's runs (d->lock held).
 */
void proc_give_back(struct drv *d);

#endif /* DDMFS_PROC_H */
