/*
 * mdm_registry.h - reading (and, for resolvers, writing) HKEY_LOCAL_MACHINE
 * values. registry_win.c uses the Windows registry; registry_posix.c has no
 * registry and says so (MDM_EUNSUPPORTED), so the checks report "skip".
 * Key paths are written with backslashes, relative to HKLM.
 */
#ifndef MDM_REGISTRY_H
#define MDM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A REG_DWORD value. Returns 0, MDM_ENOTFOUND, MDM_EUNSUPPORTED or MDM_EIO. */
int mdm_registry_get_dword(const char *key, const char *name, uint32_t *out);
/*
 * A REG_MULTI_SZ value as UTF-8 strings joined by '\n' into buf. Same
 * returns, and MDM_ETOOBIG when it does not fit (buf is then untouched).
 */
int mdm_registry_get_multi_sz(const char *key, const char *name, char *buf, size_t size);

/*
 * Writers, for `mdmhealth resolve` only (the service never writes). They
 * need an administrator. Returns 0, MDM_EUNSUPPORTED or MDM_EIO.
 */
int mdm_registry_set_dword(const char *key, const char *name, uint32_t value);
/* values: UTF-8 strings joined by '\n'. */
int mdm_registry_set_multi_sz(const char *key, const char *name, const char *values);
/* Deletes a value; an absent value is not an error. */
int mdm_registry_delete_value(const char *key, const char *name);

#ifdef __cplusplus
}
#endif

#endif
