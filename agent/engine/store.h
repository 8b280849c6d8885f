/*
 * store.h - the persisted monitor state and source position.
 *
 * One file, `state-dir`/state, holds every monitor x target row and the
 * event source position (bookmark) together, so that they can never
 * disagree. A save is made durable with one flush, as a record appended to
 * `state-dir`/state.journal, and then replaces the state file (see the top of
 * store_journal.c for why a crash or power loss at any instant loses nothing); the caller saves
 * only after the notifications for the events up to that position were
 * acknowledged or durably queued (see "Delivery guarantees" in docs/operators.md).
 */
#ifndef MDM_STORE_H
#define MDM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
#include "agent/engine/monitor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_STORE_FILE         "state"
#define MDM_STORE_JOURNAL      "state.journal"
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

/*
 * Other modules (the notification outbox) keep their durable data in the
 * same file, so that it is replaced in the same atomic step as the states
 * and the position. Their lines start with a keyword of their own.
 */
struct mdm_store_extra {
    /* Appends lines, each starting with "\n" and a keyword, at save. */
    int (*save)(void *ctx, struct mdm_buf *buf);
    /*
     * Receives each line with a keyword the store does not know, at load:
     * returns 0, MDM_ENOMEM (the load fails with it) or another error (the
     * line is damaged).
     */
    int (*load_line)(void *ctx, char *line);
    void *ctx;
};

int mdm_store_save_ex(const char *state_dir, struct mdm_engine *engine, const char *position,
                      const struct mdm_store_extra *extra, struct mdm_err *err);
int mdm_store_load_ex(const char *state_dir, struct mdm_engine *engine, char *position, size_t size,
                      size_t *dropped, const struct mdm_store_extra *extra, struct mdm_err *err);

/*
 * As mdm_store_save_ex, but the state file for readers is replaced only by
 * mdm_store_publish: the state is durable (in the journal) when this returns,
 * and the notifications it allows can leave before the state file is
 * written, which costs about as much as the save (store_journal.c). Until
 * then a load takes the journal's newest record, as after a crash.
 */
int mdm_store_save_deferred(const char *state_dir, struct mdm_engine *engine, const char *position,
                            const struct mdm_store_extra *extra, struct mdm_err *err);
/*
 * Writes the state file of the last deferred save if not done yet (no
 * flush). Returns 0 (also when nothing is pending) or the write's error, with
 * err set; the state stays durable in the journal either way.
 */
int mdm_store_publish(struct mdm_err *err);
/* Whether a deferred state file waits for mdm_store_publish. */
bool mdm_store_deferred_pending(void);
/* Forgets a deferred state file without writing it (as a crash would). */
void mdm_store_drop_deferred(void);

/*
 * A damaged state file (mdm_store_load_ex returned MDM_EPARSE) must never
 * block the start: it is moved aside to STATE-DIR/state.corrupt-YYYYMMDDTHHMMSSZ
 * (never over an existing file; -2, -3... within one second), for support,
 * and a warning naming the file, the cause (why) and the new name is logged
 * (the Event Log of a service). When the journal's newest record is another
 * text than the damaged file, it is the last save's state and becomes the
 * state file again (logged); else the caller starts as with no state file
 * (in both cases the caller loads again).
 * Returns 0 (moved_to, size bytes, receives the new path when not NULL) or
 * MDM_EIO when it cannot be moved, which is logged as an error too.
 */
int mdm_store_set_aside(const char *state_dir, const char *why, char *moved_to, size_t size,
                        struct mdm_err *err);

/*
 * The store's token escaping, for extra lines: '%', controls, spaces and DEL
 * become %XX so that every field is one token; "" is written "%".
 */
int mdm_store_escape(struct mdm_buf *buf, const char *s);
/* Decodes an escaped token in place. Returns 0 or MDM_EPARSE. */
int mdm_store_unescape(char *s);

#ifdef __cplusplus
}
#endif

#endif
