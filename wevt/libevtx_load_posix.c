/*
 * libevtx_load_posix.c - mdm_libevtx_load(): libevtx by dlopen on the first
 * .evtx file opened (why: libevtx_load.h).
 */
#define MDM_LIBEVTX_LOADER /* this file fills the table: no call redirected */
#include "wevt/libevtx_load.h"

#include "agent/os/mdm_dl.h"

#include <pthread.h>
#include <stdbool.h>

struct mdm_libevtx_api mdm_libevtx_api;

static pthread_once_t libevtx_once = PTHREAD_ONCE_INIT;
static bool libevtx_loaded;
static char libevtx_error[256];

static void load_libevtx(void)
{
    struct mdm_libevtx_api api;
    const struct mdm_dl_symbol symbols[] = {
#define MDM_LIBEVTX_SYMBOL(name) {#name, &api.name},
        MDM_LIBEVTX_CALLS(MDM_LIBEVTX_SYMBOL)
#undef MDM_LIBEVTX_SYMBOL
    };

    if (mdm_dl_load(MDM_LIBEVTX_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]),
                    libevtx_error, sizeof(libevtx_error)) != 0)
        return;
    mdm_libevtx_api = api;
    libevtx_loaded = true;
}

int mdm_libevtx_load(struct mdm_err *err)
{
    if (pthread_once(&libevtx_once, load_libevtx) != 0 || !libevtx_loaded)
        return mdm_err_set(err, MDM_EUNSUPPORTED,
                           "cannot load %s, which reads .evtx files (Debian: libevtx1): %s",
                           MDM_LIBEVTX_SONAME, libevtx_error[0] ? libevtx_error : "unknown reason");
    return 0;
}
