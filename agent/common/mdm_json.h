/* mdm_json.h - writing JSON text into bounded buffers. */
#ifndef MDM_JSON_H
#define MDM_JSON_H

#include "agent/common/mdm_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Appends s as a quoted JSON string. Control characters are escaped and
 * invalid UTF-8 sequences are replaced by U+FFFD, so the output is always
 * valid JSON whatever the event data held.
 */
int mdm_json_add_string(struct mdm_buf *buf, const char *s);

#ifdef __cplusplus
}
#endif

#endif
