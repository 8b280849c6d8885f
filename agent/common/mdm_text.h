/* mdm_text.h - small text helpers: UTF-8 aware cutting, ASCII case folding. */
#ifndef MDM_TEXT_H
#define MDM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Returns the largest length <= max at which the UTF-8 string s (of length
 * len) can be cut without splitting a character.
 */
size_t mdm_utf8_cut(const char *s, size_t len, size_t max);

/* Copies s into dst (size bytes), cut on a UTF-8 character boundary; always NUL-terminates. */
void mdm_utf8_copy(char *dst, size_t size, const char *s);

/* c with A-Z folded to a-z; any other value unchanged (no locale). */
int mdm_ascii_tolower(int c);
/* c with a-z folded to A-Z; any other value unchanged (no locale). */
int mdm_ascii_toupper(int c);

/* ASCII case-insensitive equality (Windows computer and channel names). */
bool mdm_ascii_iequal(const char *a, const char *b);
/* ASCII case-insensitive equality of the first n bytes. */
bool mdm_ascii_iequal_n(const char *a, const char *b, size_t n);

#ifdef __cplusplus
}
#endif

#endif
