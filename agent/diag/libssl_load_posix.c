/*
 * libssl_load_posix.c - mdm_libssl_load(): libssl by dlopen on the first TLS
 * handshake (why: libssl_load.h).
 */
#define MDM_LIBSSL_LOADER /* this file fills the table: no call redirected */
#include "agent/diag/libssl_load.h"

#include "agent/os/mdm_dl.h"

#include <pthread.h>
#include <stdbool.h>

struct mdm_libssl_api mdm_libssl_api;

static pthread_once_t libssl_once = PTHREAD_ONCE_INIT;
static bool libssl_loaded;
static char libssl_error[256];

static void load_libssl(void)
{
    struct mdm_libssl_api api;
    const struct mdm_dl_symbol symbols[] = {
#define MDM_LIBSSL_SYMBOL(name) {#name, &api.name},
        MDM_LIBSSL_CALLS(MDM_LIBSSL_SYMBOL)
#undef MDM_LIBSSL_SYMBOL
    };

    if (mdm_dl_load(MDM_LIBSSL_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), libssl_error,
                    sizeof(libssl_error)) != 0)
        return;
    mdm_libssl_api = api;
    libssl_loaded = true;
}

int mdm_libssl_load(struct mdm_err *err)
{
    if (pthread_once(&libssl_once, load_libssl) != 0 || !libssl_loaded)
        return mdm_err_set(err, MDM_EUNSUPPORTED,
                           "cannot load %s, which makes the TLS handshake (Debian: libssl3): %s",
                           MDM_LIBSSL_SONAME, libssl_error[0] ? libssl_error : "unknown reason");
    return 0;
}
