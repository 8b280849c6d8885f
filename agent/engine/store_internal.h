/*
 * store_internal.h - what the store's two files share (not a public interface).
 *
 *   store.c         - the state text: written from the engine, read back into it;
 *   store_journal.c - how that text reaches the disk and comes back: the
 *                     journal, compaction, the deferred state file, a damaged
 *                     state file set aside.
 */
#ifndef MDM_STORE_INTERNAL_H
#define MDM_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"
#include "agent/engine/store.h"

/*
 * Makes text (a complete state text) durable in state_dir: one journal
 * record, or a compaction. Then the state file is replaced for readers, or,
 * with defer, left for mdm_store_publish (text is then taken and left empty).
 * Returns 0 or a negative error code with err set.
 */
int mdm_store_write_text(const char *state_dir, struct mdm_buf *text, bool defer,
                         struct mdm_err *err);

/*
 * Reads the current state text of state_dir: the state file, or the newest
 * journal record when the state file is stale. On success *text (owned by
 * the caller, mdm_free; NUL-terminated) and *len are set, and label
 * (label_size bytes) names where the text came from, for errors. Returns
 * MDM_ENOTFOUND when there is no state file, MDM_EPARSE when it is not a
 * regular file or too large, or another negative error code.
 */
int mdm_store_read_text(const char *state_dir, char **text, size_t *len, char *label,
                        size_t label_size, struct mdm_err *err);

#endif
