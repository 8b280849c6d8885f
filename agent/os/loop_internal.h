/*
 * loop_internal.h - what loop.c (the portable part of mdm_loop.h) asks of a
 * backend: loop_posix.c (poll) or loop_win.c (Winsock select). Not for use
 * outside agent/os/loop*.c.
 */
#ifndef MDM_LOOP_INTERNAL_H
#define MDM_LOOP_INTERNAL_H

#include "agent/os/mdm_loop.h"

struct mdm_loop_backend;

/* *out is owned by the caller (mdm_loop_backend_free). Returns 0 or MDM_ENOMEM. */
int mdm_loop_backend_new(struct mdm_loop_backend **out, struct mdm_err *err);
void mdm_loop_backend_free(struct mdm_loop_backend *b);

/*
 * Makes room for count watched descriptors, so that a wait never has to
 * allocate. Returns 0, MDM_ENOMEM, or MDM_ETOOBIG over the backend's limit.
 */
int mdm_loop_backend_reserve(struct mdm_loop_backend *b, size_t count);

/*
 * Waits until one of the count descriptors of ios is readable or timeout_ms
 * passes (-1: no limit; 0: only looks), and sets ready on the readable ones.
 * count never exceeds the last reserve. Returns how many are ready (0 after
 * a timeout or an interruption by a signal), or MDM_EIO (err set).
 */
int mdm_loop_backend_wait(struct mdm_loop_backend *b, struct mdm_loop_io *const *ios, size_t count,
                          int timeout_ms, struct mdm_err *err);

#endif
