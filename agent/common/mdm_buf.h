/*
 * mdm_buf.h - a growable byte buffer with a hard cap (curl's dynbuf idea).
 *
 * Every buffer whose size comes from input data is an mdm_buf with a cap, so
 * hostile input can never make mdmhealth allocate without bound.
 */
#ifndef MDM_BUF_H
#define MDM_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_buf {
    char *data;  /* always NUL-terminated when non-NULL */
    size_t len;  /* bytes used, excluding the terminating NUL */
    size_t size; /* bytes allocated */
    size_t cap;  /* hard limit on len */
};

/* Initialises an empty buffer that will never hold more than cap bytes. */
void mdm_buf_init(struct mdm_buf *buf, size_t cap);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void mdm_buf_free(struct mdm_buf *buf);
/* Empties the buffer and keeps its storage. */
void mdm_buf_reset(struct mdm_buf *buf);
/* Appends len bytes; MDM_ETOOBIG past the cap, MDM_ENOMEM on allocation failure. */
int mdm_buf_add(struct mdm_buf *buf, const void *data, size_t len);
int mdm_buf_adds(struct mdm_buf *buf, const char *s);
int mdm_buf_printf(struct mdm_buf *buf, const char *fmt, ...) MDM_PRINTF_FORMAT(2, 3);
/* Removes the first n bytes (n <= len). */
void mdm_buf_consume(struct mdm_buf *buf, size_t n);
/* Returns the contents ("" when empty); valid until the next change. */
const char *mdm_buf_str(const struct mdm_buf *buf);

#ifdef __cplusplus
}
#endif

#endif
