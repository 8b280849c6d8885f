/* registry_posix.c - mdm_registry.h where there is no Windows registry. */
#include "agent/os/mdm_registry.h"

#include "agent/common/mdm_err.h"

int mdm_registry_get_dword(const char *key, const char *name, uint32_t *out)
{
    (void)key;
    (void)name;
    (void)out;
    return MDM_EUNSUPPORTED;
}

int mdm_registry_get_multi_sz(const char *key, const char *name, char *buf, size_t size)
{
    (void)key;
    (void)name;
    (void)buf;
    (void)size;
    return MDM_EUNSUPPORTED;
}

int mdm_registry_set_dword(const char *key, const char *name, uint32_t value)
{
    (void)key;
    (void)name;
    (void)value;
    return MDM_EUNSUPPORTED;
}

int mdm_registry_set_multi_sz(const char *key, const char *name, const char *values)
{
    (void)key;
    (void)name;
    (void)values;
    return MDM_EUNSUPPORTED;
}

int mdm_registry_delete_value(const char *key, const char *name)
{
    (void)key;
    (void)name;
    return MDM_EUNSUPPORTED;
}
