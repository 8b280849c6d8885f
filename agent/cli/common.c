/* common.c - configuration and pack loading shared by the commands. */
#include "agent/cli/cli.h"

#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mdm_cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mdm_vlog(MDM_LOG_ERROR, fmt, ap);
    va_end(ap);
}

bool mdm_cli_is_config_option(const char *arg)
{
    return strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0;
}

bool mdm_cli_config_arg(int argc, char **argv, int *i, const char **path)
{
    if (!mdm_cli_is_config_option(argv[*i]) || *i + 1 >= argc)
        return false;
    *path = argv[++*i];
    return true;
}

int mdm_cli_load_packs_ex(const char *cfg_path, const struct mdm_cli_packs *packs,
                          struct mdm_config **cfg_out, struct mdm_pack **pack_out,
                          struct mdm_err *err, struct mdm_buf *details)
{
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_pack_options opt;
    int rc;

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
    opt.strict = cfg->pack_strict || (packs != NULL && packs->strict);
    opt.details = details;
    if (packs != NULL && packs->count > 0)
        rc = mdm_pack_load_files(packs->paths, packs->count, &opt, &pack, err);
    else if (cfg->pack_count > 0)
        rc = mdm_pack_load_files((const char *const *)cfg->pack_paths, cfg->pack_count, &opt, &pack,
                                 err);
    else
        rc = mdm_pack_load_default(&pack, err);
    if (rc != 0)
        goto fail;
    *cfg_out = cfg;
    *pack_out = pack;
    return 0;
fail:
    mdm_config_free(cfg);
    return MDM_EXIT_USAGE;
}

int mdm_cli_load_packs(const char *cfg_path, const struct mdm_cli_packs *packs,
                       struct mdm_config **cfg_out, struct mdm_pack **pack_out)
{
    struct mdm_buf details;
    struct mdm_err err;
    int rc;

    mdm_err_clear(&err);
    /* The skip list of a refused pack set is printed in full, up to 4 MiB. */
    mdm_buf_init(&details, 4u * 1024u * 1024u);
    rc = mdm_cli_load_packs_ex(cfg_path, packs, cfg_out, pack_out, &err, &details);
    if (rc != 0) {
        mdm_cli_error("%s", err.msg);
        if (details.len > 0)
            fwrite(details.data, 1, details.len, stderr);
    }
    mdm_buf_free(&details);
    return rc;
}

int mdm_cli_load(const char *cfg_path, const char *pack_override, struct mdm_config **cfg_out,
                 struct mdm_pack **pack_out)
{
    struct mdm_cli_packs packs = {&pack_override, pack_override ? 1 : 0, false};

    return mdm_cli_load_packs(cfg_path, &packs, cfg_out, pack_out);
}

void mdm_cli_log_pack_summary(const struct mdm_pack *pack)
{
    struct mdm_buf b;
    const char *line, *end;

    /* A few KiB of reasons at most; a longer summary is cut, not lost from `check`. */
    mdm_buf_init(&b, 64u * 1024u);
    mdm_pack_format_summary(pack, true, &b);
    for (size_t i = 0; i < pack->override_count; i++)
        if (pack->overrides[i].outcome != MDM_OVERRIDE_UNUSED)
            mdm_pack_format_override(&pack->overrides[i], &b);
    for (line = b.data; line != NULL && *line != '\0'; line = *end ? end + 1 : end) {
        bool first = line == b.data;
        end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        mdm_log(first && pack->skip_count > 0 ? MDM_LOG_WARNING : MDM_LOG_INFO, "%s%.*s%s",
                first ? "packs: " : "", (int)(end - line), line,
                first && pack->skip_count > 0 ? " (mdmhealth check lists them)" : "");
    }
    mdm_buf_free(&b);
}
