/*
 * store.h - the persisted monitor state and source position.
 *
 * One file, `state-dir`/state, holds every monitor x target row and the
 * event source position (bookmark) together, so that they can never
 * disagree. It is replaced atomically (mdm_fs_write_atomic); the caller saves
 * only after the notifications for the events up to that position were
 * acknowledged or durably queued (DESIGN.md section 4).
 */
#ifndef MDM_STORE_H
#define MDM_STORE_H

#include <stddef.h>

#include "mdm_err.h"
#include "monitor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_STORE_FILE         "state"
#define MDM_STORE_MAX_BYTES    (16u * 1024u * 1024u)
#define MDM_STORE_POSITION_MAX 4096u

/* Serializes the engine's state and the position into state-dir/state atomically. */
int mdm_store_save(const char *state_dir, struct mdm_engine *engine, const char *position,
                   struct mdm_err *err);

/*
 * Restores state saved by mdm_store_save into engine. Targets are re-learned
 * in their saved order, so row indexes stay stable. Rows of monitors no
 * longer in the pack are dropped (counted in *dropped when not NULL).
 * position (size bytes) receives the saved position ("" when none).
 * Returns MDM_ENOTFOUND when there is no state file yet.
 */
int mdm_store_load(const char *state_dir, struct mdm_engine *engine, char *position, size_t size,
                   size_t *dropped, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif
