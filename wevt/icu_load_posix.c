/*
 * icu_load_posix.c - the five ICU converter functions (and two callbacks)
 * libxml2 calls, for a program linked with the static libxml2: ICU's
 * libicuuc is loaded with dlopen the first time libxml2 opens an ICU
 * converter, instead of at start.
 *
 * Debian's libxml2 links ICU, and with it libstdc++ and libgcc_s: 1.5 MiB
 * of the RSS of an idle agent (bench/results.md, issue 15), for a
 * converter libxml2 asks ICU for only when iconv does not know the
 * encoding a document declares (libxml2 2.9 encoding.c: iconv first, ICU
 * second), which in the Event XML of Windows (UTF-8, UTF-16) never happens.
 * mdmhealth (the program, not the tests) links libxml2.a with this file
 * (CMakeLists.txt, MDM_STATIC_LIBS); ICU's header renames each function
 * to its versioned symbol (ucnv_open_72 ...), the very names libxml2.a
 * refers to. When libicuuc cannot be loaded, ucnv_open fails as ICU does
 * when it has no such converter, and libxml2 reports the encoding as
 * unsupported.
 */
#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/uvernum.h>

#include "agent/os/mdm_dl.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define ICU_STRINGIFY2(x) #x
#define ICU_STRINGIFY(x)  ICU_STRINGIFY2(x)
/* libicuuc.so.72: the major version of the headers built against. */
#define ICU_SONAME "libicuuc.so." ICU_STRINGIFY(U_ICU_VERSION_MAJOR_NUM)
/*
 * "ucnv_open_72": the name of an ICU function in the library, which ICU's
 * urename.h has already given to name (so the plain name is never looked up).
 */
#define ICU_SYMBOL(name) ICU_STRINGIFY(name)

#define ICU_CALLS(X)                                                                               \
    X(ucnv_open)                                                                                   \
    X(ucnv_close)                                                                                  \
    X(ucnv_convertEx)                                                                              \
    X(ucnv_setFromUCallBack)                                                                       \
    X(ucnv_setToUCallBack)                                                                         \
    X(UCNV_FROM_U_CALLBACK_STOP)                                                                   \
    X(UCNV_TO_U_CALLBACK_STOP)

static struct {
#define ICU_FIELD(name) __typeof__(name) *name;
    ICU_CALLS(ICU_FIELD)
#undef ICU_FIELD
} icu;
static pthread_once_t icu_once = PTHREAD_ONCE_INIT;
static bool icu_loaded;

static void load_icu(void)
{
    char why[200];
    const struct mdm_dl_symbol symbols[] = {
#define ICU_SYMBOL_ENTRY(name) {ICU_SYMBOL(name), &icu.name},
        ICU_CALLS(ICU_SYMBOL_ENTRY)
#undef ICU_SYMBOL_ENTRY
    };

    /* No ICU: libxml2 is told the converter does not exist (see above). */
    if (mdm_dl_load(ICU_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), why, sizeof(why)) !=
        0)
        return;
    icu_loaded = true;
}

static bool have_icu(void)
{
    return pthread_once(&icu_once, load_icu) == 0 && icu_loaded;
}

/* The only way in: no converter, no other call (libxml2 makes none without one). */
UConverter *ucnv_open(const char *converterName, UErrorCode *err)
{
    if (!have_icu()) {
        if (err != NULL && U_SUCCESS(*err))
            *err = U_FILE_ACCESS_ERROR; /* what ICU says when its data is missing */
        return NULL;
    }
    return icu.ucnv_open(converterName, err);
}

void ucnv_close(UConverter *converter)
{
    if (converter != NULL)
        icu.ucnv_close(converter);
}

void ucnv_convertEx(UConverter *targetCnv, UConverter *sourceCnv, char **target,
                    const char *targetLimit, const char **source, const char *sourceLimit,
                    UChar *pivotStart, UChar **pivotSource, UChar **pivotTarget,
                    const UChar *pivotLimit, UBool reset, UBool flush, UErrorCode *pErrorCode)
{
    icu.ucnv_convertEx(targetCnv, sourceCnv, target, targetLimit, source, sourceLimit, pivotStart,
                       pivotSource, pivotTarget, pivotLimit, reset, flush, pErrorCode);
}

/*
 * libxml2 hands ICU the STOP callbacks below; ICU gets its own, so that it
 * never calls back into this file.
 */
void ucnv_setFromUCallBack(UConverter *converter, UConverterFromUCallback newAction,
                           const void *newContext, UConverterFromUCallback *oldAction,
                           const void **oldContext, UErrorCode *err)
{
    if (newAction == UCNV_FROM_U_CALLBACK_STOP)
        newAction = icu.UCNV_FROM_U_CALLBACK_STOP;
    icu.ucnv_setFromUCallBack(converter, newAction, newContext, oldAction, oldContext, err);
}

void ucnv_setToUCallBack(UConverter *converter, UConverterToUCallback newAction,
                         const void *newContext, UConverterToUCallback *oldAction,
                         const void **oldContext, UErrorCode *err)
{
    if (newAction == UCNV_TO_U_CALLBACK_STOP)
        newAction = icu.UCNV_TO_U_CALLBACK_STOP;
    icu.ucnv_setToUCallBack(converter, newAction, newContext, oldAction, oldContext, err);
}

void UCNV_FROM_U_CALLBACK_STOP(const void *context, UConverterFromUnicodeArgs *fromUArgs,
                               const UChar *codeUnits, int32_t length, UChar32 codePoint,
                               UConverterCallbackReason reason, UErrorCode *err)
{
    icu.UCNV_FROM_U_CALLBACK_STOP(context, fromUArgs, codeUnits, length, codePoint, reason, err);
}

void UCNV_TO_U_CALLBACK_STOP(const void *context, UConverterToUnicodeArgs *toUArgs,
                             const char *codeUnits, int32_t length, UConverterCallbackReason reason,
                             UErrorCode *err)
{
    icu.UCNV_TO_U_CALLBACK_STOP(context, toUArgs, codeUnits, length, reason, err);
}
