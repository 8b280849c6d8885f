/*
 * win_util.h - what every Windows backend (*_win.c) shares: the one place
 * where Win32 and Winsock error numbers become MDM_E* codes and readable
 * text, and bounded UTF-8 <-> UTF-16 conversions (the backends call the
 * W functions only). Included by *_win.c files only, never by portable code.
 */
#ifndef MDM_WIN_UTIL_H
#define MDM_WIN_UTIL_H

#include <stddef.h>
#include <wchar.h>
#include <windows.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Translates a Win32 error (GetLastError(), a LSTATUS of the registry
 * functions, or a Winsock WSAGetLastError() / getaddrinfo code) into 0 or a
 * negative MDM_E* code: not found -> MDM_ENOTFOUND, out of memory ->
 * MDM_ENOMEM, buffer too small -> MDM_ETOOBIG, timeouts -> MDM_EAGAIN,
 * invalid arguments -> MDM_EINVAL, not implemented -> MDM_EUNSUPPORTED,
 * anything else (access denied included) -> MDM_EIO.
 */
int mdm_win_error_code(DWORD error);

/*
 * Writes the system's message for a Win32 or Winsock error as UTF-8 into
 * buf (size bytes, always NUL-terminated, cut on a character boundary),
 * without the trailing period and line end, followed by the number:
 * "Access is denied (Windows error 5)". Unknown numbers give
 * "Windows error 1234".
 */
void mdm_win_error_text(DWORD error, char *buf, size_t size);

/*
 * Converts the NUL-terminated UTF-8 string in into UTF-16 in out (count
 * wide characters, NUL included). Returns 0, MDM_EINVAL (in is not valid
 * UTF-8) or MDM_ETOOBIG (out is too small); out is written only on success.
 */
int mdm_win_utf8_to_wide(const char *in, wchar_t *out, size_t count);

/*
 * Converts the NUL-terminated UTF-16 string in into UTF-8 in out (size
 * bytes, NUL included). Returns 0, MDM_EINVAL (unpaired surrogate) or
 * MDM_ETOOBIG (out is too small); out is written only on success.
 */
int mdm_win_wide_to_utf8(const wchar_t *in, char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif
