/*
 * run_reload.c - SIGHUP (POSIX) or PARAMCHANGE (the Windows service): the
 * configuration and the pack are read again and replace the running ones
 * when they are valid; every monitor's state, the queued notices and the
 * positions of the sources that stay are kept. Anything wrong leaves the
 * running configuration in force, with the reason in the log.
 */
#include "agent/cli/run_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"

#include <stdio.h>
#include <string.h>

void mdm_run_reload(struct agent *a)
{
    char persist[MDM_PATH_MAX];
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_engine *engine = NULL;
    struct mdm_err err;

    mdm_log(MDM_LOG_INFO, "reloading %s", a->config_path);
    if (mdm_run_save_state_ex(a, true) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed: the state cannot be saved; the running "
                               "configuration stays in force");
        return;
    }
    /* The reason goes to the log (the Event Log of a service), not to stderr. */
    mdm_err_clear(&err);
    if (mdm_cli_load_packs_ex(a->config_path, &a->packs, &cfg, &pack, &err, NULL) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (%s); the running configuration stays in force",
                err.msg);
        return;
    }
    if (strcmp(cfg->state_dir, a->cfg->state_dir) != 0) {
        mdm_log(MDM_LOG_WARNING, "reload: state-dir changes take effect at the next start");
        mdm_free(cfg->state_dir);
        cfg->state_dir = mdm_strdup(a->cfg->state_dir);
    }
    if (cfg->state_dir == NULL || mdm_run_new_engine(a, cfg, pack, false, &engine, &err) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (%s); the running configuration stays in force",
                cfg->state_dir ? err.msg : "out of memory");
        mdm_pack_free(pack);
        mdm_config_free(cfg);
        return;
    }
    /*
     * Sources whose kind and path stay are kept open at their positions; new
     * ones start from the beginning of their log and are opened by the loop.
     */
    if (mdm_run_build_sources(a, cfg) != 0) {
        mdm_log(MDM_LOG_ERROR, "reload failed (out of memory); the running configuration stays "
                               "in force");
        mdm_engine_free(engine);
        mdm_pack_free(pack);
        mdm_config_free(cfg);
        return;
    }
    mdm_run_update_status(a);
    a->dirty = true;
    mdm_snmp_set_engine(engine);
    mdm_engine_free(a->engine);
    mdm_pack_free(a->pack);
    mdm_config_free(a->cfg);
    a->engine = engine;
    a->pack = pack;
    a->cfg = cfg;
    /* Net-SNMP gets the lines just checked, in STATE-DIR/snmp as at the start. */
    if ((size_t)snprintf(persist, sizeof(persist), "%s/snmp", a->cfg->state_dir) >= sizeof(persist))
        mdm_log(MDM_LOG_ERROR, "reload: the SNMP lines are not applied: the state directory "
                               "name is too long");
    else if (mdm_snmp_reload(a->cfg, persist, &err) != 0)
        mdm_log(MDM_LOG_ERROR, "reload: the SNMP lines are not applied: %s", err.msg);
    mdm_notify_set_backoff_max(a->cfg->notify_backoff_max);
    /* A changed diag-interval counts from now; a run under way plans the next at its end. */
    mdm_run_plan_periodic(a);
    mdm_run_engine_timer_plan(a);
    mdm_log(MDM_LOG_INFO, "reloaded: %zu monitor row(s), state kept",
            mdm_engine_instance_count(a->engine));
}
