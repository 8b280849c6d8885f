/*
 * mdm_err.h - error codes and error messages shared by every mdmhealth module.
 *
 * Every function returns 0 on success or one of the negative MDM_E* codes below.
 * Functions that can fail for a reason an operator must read also take a
 * struct mdm_err, which receives one full sentence naming the file, the
 * position and the cause.
 */
#ifndef MDM_ERR_H
#define MDM_ERR_H

#include <stddef.h>

/*
 * printf-style checking for our formatting functions. MinGW's default
 * format archetype is Microsoft's (no %zu); its C99 stdio is used instead
 * (__USE_MINGW_ANSI_STDIO), so the GNU archetype applies there too.
 */
#if defined(__MINGW32__)
#define MDM_PRINTF_FORMAT(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define MDM_PRINTF_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MDM_PRINTF_FORMAT(fmt, args)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The error codes, one table: X(NAME, value, mdm_strerror()'s text), with what
 * each means as a comment. The enum, mdm_strerror() and mdm_err_name() are
 * generated from it.
 */
#define MDM_ERRORS(X)                                                                              \
    X(MDM_OK, 0, "success")                                                                        \
    X(MDM_ENOMEM, -1, "out of memory")               /* allocation failed */                       \
    X(MDM_EINVAL, -2, "invalid argument")            /* invalid argument or configuration */       \
    X(MDM_EIO, -3, "input/output error")             /* read/write/open failed */                  \
    X(MDM_EPARSE, -4, "malformed input")             /* malformed input */                         \
    X(MDM_EUNSUPPORTED, -5, "unsupported construct") /* valid input, construct not done */         \
    X(MDM_ETOOBIG, -6, "input exceeds a size limit") /* input exceeds a hard cap */                \
    X(MDM_EAGAIN, -7, "no data available yet")       /* nothing available now (followed source) */ \
    X(MDM_ENOTFOUND, -8, "not found")                /* the requested item does not exist */       \
    X(MDM_EBADRECORD, -9, "damaged record")          /* one record is damaged; go on */            \
    X(MDM_EOF, -10, "end of input")                  /* end of input */

#define MDM_ERR_ENUM_ITEM(name, value, text) name = value,
enum { MDM_ERRORS(MDM_ERR_ENUM_ITEM) };
#undef MDM_ERR_ENUM_ITEM

#define MDM_ERR_MSG_MAX 512

struct mdm_err {
    int code;
    char msg[MDM_ERR_MSG_MAX];
};

/* Clears an error record. */
void mdm_err_clear(struct mdm_err *err);

/*
 * Records code and a printf-style message in err (which may be NULL) and
 * returns code, so that callers can write `return mdm_err_set(err, ...)`.
 */
int mdm_err_set(struct mdm_err *err, int code, const char *fmt, ...) MDM_PRINTF_FORMAT(3, 4);

/* Prefixes the existing message with a printf-style context ("file:12: "). */
void mdm_err_prefix(struct mdm_err *err, const char *fmt, ...) MDM_PRINTF_FORMAT(2, 3);

/* A static English name for an error code ("out of memory"). */
const char *mdm_strerror(int code);

/* The code's symbol ("MDM_ENOMEM"), or "MDM_E?" for a value not in the table. */
const char *mdm_err_name(int code);

#ifdef __cplusplus
}
#endif

#endif
