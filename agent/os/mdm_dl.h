/*
 * mdm_dl.h - a shared library loaded at run time with the functions used
 * from it (POSIX: dlopen).
 *
 * An idle agent maps only what it uses (issue 15): libraries that serve one
 * feature (libldap, libevtx, libssl, ICU) are loaded when it first runs.
 * Each caller keeps a table of the functions it calls, one struct field per
 * function, and lists the fields with their symbol names; mdm_dl_load() opens
 * the library and fills them, all or none. Only the *_posix.c loaders use
 * it: on Windows these libraries are static in the program.
 */
#ifndef MDM_OS_DL_H
#define MDM_OS_DL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most symbols one library may be asked for. */
#define MDM_DL_SYMBOLS_MAX 64

/* One function to resolve: its symbol name and the function pointer field
 * (any function pointer type) that receives its address. */
struct mdm_dl_symbol {
    const char *name;
    void *field;
};

/*
 * Opens soname (RTLD_NOW | RTLD_LOCAL; it stays open on success) and stores
 * the address of every symbol in its field. Returns 0; or MDM_EUNSUPPORTED
 * when the library cannot be opened ("why" holds the loader's reason) or a
 * symbol is missing ("it has no NAME"), MDM_EINVAL for more than
 * MDM_DL_SYMBOLS_MAX symbols: then no field is written and the library is
 * closed again. "why" (why_size bytes, may be 0) is always terminated.
 */
int mdm_dl_load(const char *soname, const struct mdm_dl_symbol *symbols, size_t count, char *why,
                size_t why_size);

#ifdef __cplusplus
}
#endif

#endif /* MDM_OS_DL_H */
