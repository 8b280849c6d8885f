/*
 * fs_common.c - the file helpers of mdm_fs.h that are the same on every OS,
 * written over mdm_fs_fopen (which takes UTF-8 paths everywhere).
 */
#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int mdm_fs_read_all(const char *path, size_t max, char **out, size_t *len, struct mdm_err *err)
{
    FILE *f = NULL;
    char *data = NULL;
    size_t used = 0, cap = 0, n;
    int rc;

    rc = mdm_fs_open_regular(path, &f, err);
    if (rc != 0)
        return rc;
    for (;;) {
        if (used == cap) {
            char *grown;
            if (cap > max) {
                rc = mdm_err_set(err, MDM_ETOOBIG, "%s: larger than %zu bytes", path, max);
                goto out;
            }
            cap = cap ? cap * 2 : 4096;
            grown = mdm_realloc(data, cap + 1);
            if (grown == NULL) {
                rc = mdm_err_set(err, MDM_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            data = grown;
        }
        n = fread(data + used, 1, cap - used, f);
        used += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        rc = mdm_err_set(err, MDM_EIO, "%s: read error", path);
        goto out;
    }
    if (used > max) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    data[used] = '\0';
    *out = data;
    *len = used;
    data = NULL;
    rc = 0;
out:
    mdm_free(data);
    fclose(f);
    return rc;
}
