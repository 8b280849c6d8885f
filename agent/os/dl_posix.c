/*
 * dl_posix.c - mdm_dl_load() with dlopen / dlsym (why: mdm_dl.h).
 */
#include "agent/os/mdm_dl.h"

#include "agent/common/mdm_err.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int mdm_dl_load(const char *soname, const struct mdm_dl_symbol *symbols, size_t count, char *why,
                size_t why_size)
{
    void *found[MDM_DL_SYMBOLS_MAX];
    void *lib;
    size_t i;

    if (why_size > 0)
        why[0] = '\0';
    if (count > MDM_DL_SYMBOLS_MAX) {
        if (why_size > 0)
            snprintf(why, why_size, "%zu symbols asked for, at most %d", count, MDM_DL_SYMBOLS_MAX);
        return MDM_EINVAL;
    }
    lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *reason = dlerror();
        if (why_size > 0)
            snprintf(why, why_size, "%s", reason != NULL ? reason : "dlopen failed");
        return MDM_EUNSUPPORTED;
    }
    for (i = 0; i < count; i++) {
        found[i] = dlsym(lib, symbols[i].name);
        if (found[i] == NULL) {
            if (why_size > 0)
                snprintf(why, why_size, "it has no %s", symbols[i].name);
            dlclose(lib);
            return MDM_EUNSUPPORTED;
        }
    }
    /* A function pointer from dlsym's void *: copied, as POSIX allows. */
    for (i = 0; i < count; i++)
        memcpy(symbols[i].field, &found[i], sizeof(found[i]));
    return 0;
}
