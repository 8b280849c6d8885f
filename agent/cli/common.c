/* common.c - configuration and pack loading shared by the commands. */
#include "cli.h"

#include "mdm_fs.h"

#include <stdarg.h>
#include <stdio.h>

void mdm_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("mdmhealth: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int mdm_cli_load_err(const char *cfg_path, const char *pack_override, struct mdm_config **cfg_out,
                     struct mdm_pack **pack_out, struct mdm_err *err)
{
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    const char *pack_path;
    int rc;

    mdm_err_clear(err);
    if (cfg_path != NULL) {
        rc = mdm_config_load(cfg_path, &cfg, err);
    } else {
        /* Without -c the default file is optional: built-in defaults apply. */
        rc = mdm_config_load(mdm_fs_default_config_path(), &cfg, err);
        if (rc == MDM_ENOTFOUND) {
            cfg = mdm_config_new();
            rc = cfg ? 0 : mdm_err_set(err, MDM_ENOMEM, "out of memory");
        }
    }
    if (rc != 0)
        goto fail;
    pack_path = pack_override ? pack_override : cfg->pack_path;
    rc = pack_path ? mdm_pack_load_file(pack_path, &pack, err) : mdm_pack_load_default(&pack, err);
    if (rc != 0)
        goto fail;
    *cfg_out = cfg;
    *pack_out = pack;
    return 0;
fail:
    mdm_config_free(cfg);
    return MDM_EXIT_USAGE;
}

int mdm_cli_load(const char *cfg_path, const char *pack_override, struct mdm_config **cfg_out,
                 struct mdm_pack **pack_out)
{
    struct mdm_err err;
    int rc = mdm_cli_load_err(cfg_path, pack_override, cfg_out, pack_out, &err);

    if (rc != 0)
        mdm_cli_error("%s", err.msg);
    return rc;
}
