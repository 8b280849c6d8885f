/*
 * mdm_wakeup.h - lets another thread wake a wait: a pipe on POSIX
 * (wakeup_posix.c), a loopback socket on Windows (wakeup_win.c), because
 * Windows' select() only takes sockets. The agent's loop (mdm_loop.h) has
 * one for mdm_loop_wake(); the Windows sources and signals use their own to
 * turn a handle into something the loop can wait on.
 */
#ifndef MDM_WAKEUP_H
#define MDM_WAKEUP_H

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_wakeup;

/* *out is owned by the caller (mdm_wakeup_close). */
int mdm_wakeup_open(struct mdm_wakeup **out, struct mdm_err *err);
/* The descriptor to select() on for reading. */
int mdm_wakeup_fd(const struct mdm_wakeup *w);
/* Wakes the loop; safe from any thread. */
void mdm_wakeup_post(struct mdm_wakeup *w);
/* Consumes pending wake-ups (main loop). */
void mdm_wakeup_drain(struct mdm_wakeup *w);
void mdm_wakeup_close(struct mdm_wakeup *w);

#ifdef __cplusplus
}
#endif

#endif
