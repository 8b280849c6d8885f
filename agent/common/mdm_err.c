/* mdm_err.c - error records. */
#include "agent/common/mdm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mdm_err_clear(struct mdm_err *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

int mdm_err_set(struct mdm_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

/* strnlen is POSIX, not C11. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0')
        n++;
    return n;
}

void mdm_err_prefix(struct mdm_err *err, const char *fmt, ...)
{
    char prefix[MDM_ERR_MSG_MAX];
    char old[MDM_ERR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Both parts are bounded; a message longer than the record is cut. */
    size_t plen = bounded_len(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, plen);
    size_t olen = bounded_len(old, sizeof(err->msg) - 1 - plen);
    memcpy(err->msg + plen, old, olen);
    err->msg[plen + olen] = '\0';
}

const char *mdm_strerror(int code)
{
    switch (code) {
#define MDM_ERR_TEXT_CASE(name, value, text)                                                       \
    case name:                                                                                     \
        return text;
        MDM_ERRORS(MDM_ERR_TEXT_CASE)
#undef MDM_ERR_TEXT_CASE
    default:
        return "unknown error";
    }
}

const char *mdm_err_name(int code)
{
    switch (code) {
#define MDM_ERR_NAME_CASE(name, value, text)                                                       \
    case name:                                                                                     \
        return #name;
        MDM_ERRORS(MDM_ERR_NAME_CASE)
#undef MDM_ERR_NAME_CASE
    default:
        return "MDM_E?";
    }
}
