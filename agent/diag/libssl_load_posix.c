/*
 * libssl_load_posix.c - mdm_libssl_load(): libssl by dlopen on the first TLS
 * handshake (why: libssl_load.h).
 */
#define MDM_LIBSSL_LOADER /* this file fills the table: no call redirected */
#include "agent/diag/libssl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct mdm_libssl_api mdm_libssl_api;

static pthread_once_t libssl_once = PTHREAD_ONCE_INIT;
static bool libssl_loaded;
static char libssl_error[256];

static void load_libssl(void)
{
    struct mdm_libssl_api api;
    void *lib = dlopen(MDM_LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    void *sym;

    if (lib == NULL) {
        snprintf(libssl_error, sizeof(libssl_error), "%s", dlerror());
        return;
    }
    /* A function pointer from dlsym's void *: copied, as POSIX allows. */
#define MDM_LIBSSL_LOAD(name)                                                                      \
    if ((sym = dlsym(lib, #name)) == NULL) {                                                       \
        snprintf(libssl_error, sizeof(libssl_error), "it has no %s", #name);                       \
        dlclose(lib);                                                                              \
        return;                                                                                    \
    }                                                                                              \
    memcpy(&api.name, &sym, sizeof(sym));
    MDM_LIBSSL_CALLS(MDM_LIBSSL_LOAD)
#undef MDM_LIBSSL_LOAD
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
