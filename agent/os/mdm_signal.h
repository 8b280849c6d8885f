/*
 * mdm_signal.h - turns stop and reload requests into a descriptor the main
 * loop's select() can wait on. signal_posix.c: SIGTERM/SIGINT stop, SIGHUP
 * reloads (self-pipe). The Windows service control handler will feed the
 * same interface.
 */
#ifndef MDM_SIGNAL_H
#define MDM_SIGNAL_H

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MDM_SIGNAL_STOP = 1, MDM_SIGNAL_RELOAD = 2 };

/* Installs the handlers. Returns 0 or a negative code. */
int mdm_signal_open(struct mdm_err *err);
/* The descriptor that becomes readable when a request arrived. */
int mdm_signal_fd(void);
/*
 * Makes a request from inside the process (the Windows service control
 * handler, tests): as if the matching signal had arrived. Thread-safe.
 */
void mdm_signal_raise(int what);
/* Returns the requests received since the last call (MDM_SIGNAL_* bits) and clears them. */
int mdm_signal_take(void);
void mdm_signal_close(void);

#ifdef __cplusplus
}
#endif

#endif
