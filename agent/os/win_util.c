/* win_util.c - Win32 error translation and UTF-8 <-> UTF-16 conversion (win_util.h). */
#include "agent/os/win_util.h"

#include "agent/common/mdm_err.h"
#include "agent/common/mdm_text.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define WIN_ERROR_TEXT_MAX 512 /* wide characters of one system message */

int mdm_win_error_code(DWORD error)
{
    switch (error) {
    case ERROR_SUCCESS:
        return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_NOT_FOUND:
    case ERROR_SERVICE_DOES_NOT_EXIST:
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
        return MDM_ENOTFOUND;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case WSAENOBUFS:
        return MDM_ENOMEM;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_NO_UNICODE_TRANSLATION:
    case WSAEINVAL:
    case WSAEAFNOSUPPORT:
        return MDM_EINVAL;
    case ERROR_MORE_DATA:
    case ERROR_INSUFFICIENT_BUFFER:
    case ERROR_BUFFER_OVERFLOW:
    case ERROR_FILENAME_EXCED_RANGE:
        return MDM_ETOOBIG;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case WSAEOPNOTSUPP:
        return MDM_EUNSUPPORTED;
    case ERROR_TIMEOUT:
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT:
    case WSAETIMEDOUT:
    case WSAEWOULDBLOCK:
    case WSATRY_AGAIN:
        return MDM_EAGAIN;
    case ERROR_HANDLE_EOF:
        return MDM_EOF;
    default:
        return MDM_EIO;
    }
}

void mdm_win_error_text(DWORD error, char *buf, size_t size)
{
    wchar_t wide[WIN_ERROR_TEXT_MAX];
    char text[3 * WIN_ERROR_TEXT_MAX];
    DWORD len;

    if (buf == NULL || size == 0)
        return;
    len = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
                             FORMAT_MESSAGE_MAX_WIDTH_MASK,
                         NULL, error, 0, wide, WIN_ERROR_TEXT_MAX, NULL);
    /* Strip the line end, spaces and the final period that the messages carry. */
    while (len > 0 && (wide[len - 1] == L'\r' || wide[len - 1] == L'\n' || wide[len - 1] == L' ' ||
                       wide[len - 1] == L'.'))
        len--;
    if (len > 0 && len < WIN_ERROR_TEXT_MAX) {
        wide[len] = L'\0';
        if (mdm_win_wide_to_utf8(wide, text, sizeof(text)) == 0) {
            char full[sizeof(text) + 32];
            snprintf(full, sizeof(full), "%s (Windows error %lu)", text, (unsigned long)error);
            mdm_utf8_copy(buf, size, full);
            return;
        }
    }
    snprintf(buf, size, "Windows error %lu", (unsigned long)error);
}

int mdm_win_utf8_to_wide(const char *in, wchar_t *out, size_t count)
{
    size_t len = strlen(in);
    int need;

    if (len >= INT_MAX)
        return MDM_ETOOBIG;
    /* The length passed includes the NUL, so the result does too. */
    need = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in, (int)len + 1, NULL, 0);
    if (need <= 0)
        return MDM_EINVAL;
    if ((size_t)need > count)
        return MDM_ETOOBIG;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in, (int)len + 1, out, need) != need)
        return MDM_EINVAL;
    return 0;
}

int mdm_win_wide_to_utf8(const wchar_t *in, char *out, size_t size)
{
    size_t len = wcslen(in);
    int need;

    if (len >= INT_MAX)
        return MDM_ETOOBIG;
    need =
        WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, (int)len + 1, NULL, 0, NULL, NULL);
    if (need <= 0)
        return MDM_EINVAL;
    if ((size_t)need > size)
        return MDM_ETOOBIG;
    if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, (int)len + 1, out, need, NULL,
                            NULL) != need)
        return MDM_EINVAL;
    return 0;
}
