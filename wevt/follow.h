/*
 * follow.h - waiting for a file to grow, be created or be replaced, without
 * busy polling. follow_posix.c uses inotify on the file's directory;
 * follow_win.c (Windows work) implements the same header with directory
 * change notifications.
 */
#ifndef MDM_FOLLOW_H
#define MDM_FOLLOW_H

#include "agent/common/mdm_err.h"

struct mdm_follow;

/* Starts watching path (which need not exist yet). *out is owned by the caller. */
int mdm_follow_open(struct mdm_follow **out, const char *path, struct mdm_err *err);
/* A descriptor that becomes readable when the file may have changed, or -1. */
int mdm_follow_fd(struct mdm_follow *f);
/*
 * Blocks until the file may have changed or timeout_ms passes (-1 = no
 * limit), then drains the notifications. Returns 0 or MDM_EIO.
 */
int mdm_follow_wait(struct mdm_follow *f, int timeout_ms);
void mdm_follow_close(struct mdm_follow *f);

#endif
