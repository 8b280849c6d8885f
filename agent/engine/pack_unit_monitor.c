/*
 * pack_unit_monitor.c - one <UnitMonitor> of the set as the second pass reads
 * it: compiled (pack_monitor.c, pack_compose.c) or recorded as a skip with
 * its reason, and the outcome of the overrides that target it.
 */
#include "agent/engine/pack.h"
#include "agent/engine/pack_internal.h"

#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"

#include "wevt/xml_error.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int record_skip(struct loader *ld, const char *id, const char *type, long line,
                       const char *reason)
{
    struct mdm_pack *pack = ld->pack;
    struct mdm_pack_skip *s;

    if (pack->skip_count == ld->skip_cap) {
        size_t cap = ld->skip_cap ? ld->skip_cap * 2 : 8;
        struct mdm_pack_skip *grown = mdm_realloc(pack->skips, cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        pack->skips = grown;
        ld->skip_cap = cap;
    }
    s = &pack->skips[pack->skip_count];
    memset(s, 0, sizeof(*s));
    s->line = line;
    s->file = mdm_strdup(ld->origin);
    s->id = mdm_strdup(id);
    s->type = mdm_strdup(type);
    s->reason = mdm_strdup(reason);
    pack->skip_count++;
    if (s->file == NULL || s->id == NULL || s->type == NULL || s->reason == NULL)
        return MDM_ENOMEM;
    return 0;
}

/*
 * Turns the message of a construct error ("FILE:LINE: text") into a skip
 * reason ("text (line LINE)").
 */
static void construct_reason(const struct loader *ld, char *out, size_t cap)
{
    const char *msg = ld->err->msg;
    size_t olen = strlen(ld->origin);
    char *end;
    long line = 0;

    if (strncmp(msg, ld->origin, olen) == 0 && msg[olen] == ':') {
        line = strtol(msg + olen + 1, &end, 10);
        if (end[0] == ':' && end[1] == ' ')
            msg = end + 2;
        else
            msg += olen + 1;
    }
    if (line > 0)
        snprintf(out, cap, "%s (line %ld)", msg, line);
    else
        snprintf(out, cap, "%s", msg);
}

int pack_process_unit_monitor(struct loader *ld, xmlNode *um)
{
    struct mdm_pack *pack = ld->pack;
    struct mdm_monitor_def *def = NULL;
    char *id = NULL, *type = NULL, *enabled_attr = NULL, *target = NULL, *reason = NULL;
    const char *target_pack = NULL, *target_id = NULL;
    char why[700];
    long line = pack_line_of(um);
    bool enabled;
    struct override_rec *enabled_by = NULL;
    const struct pack_type_spec *spec = NULL;
    int rc = 0;

    id = pack_attr_of(um, "ID");
    if (id == NULL) {
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no ID attribute");
        goto out;
    }
    type = pack_attr_of(um, "TypeID");
    if (type == NULL) {
        rc = pack_fail(ld, um, MDM_EPARSE, "<UnitMonitor> has no TypeID attribute");
        goto out;
    }
    enabled_attr = pack_attr_of(um, "Enabled");
    enabled = enabled_attr == NULL || strcmp(enabled_attr, "false") != 0;
    target = pack_attr_of(um, "Target");
    if (target != NULL && !pack_resolve_ref(ld->cur, target, &target_pack, &target_id))
        target_id = NULL;

    /* Enabled overrides first: a disabled monitor is not compiled. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        bool b;
        if (o->is_config || strcmp(o->name, "Enabled") != 0 ||
            !pack_override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL && !pack_parse_bool_value(o->value, &b))
            problem = "Enabled must be true or false";
        if (problem != NULL) {
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_NOT_APPLIED, problem);
            if (rc != 0)
                goto out;
            continue;
        }
        enabled = b;
        enabled_by = o;
        rc = pack_set_override_outcome(o, MDM_OVERRIDE_APPLIED, NULL);
        if (rc != 0)
            goto out;
    }
    if (!enabled) {
        if (enabled_by != NULL)
            snprintf(why, sizeof(why), "disabled by override %.200s (%.200s:%ld)",
                     enabled_by->report->id, enabled_by->doc->origin, enabled_by->report->line);
        else
            snprintf(why, sizeof(why), "disabled (Enabled=\"false\" in its definition)");
        rc = record_skip(ld, id, type, line, why);
        goto unused;
    }
    rc = pack_classify_type(ld, type, &reason, &spec);
    if (rc != 0)
        goto out;
    if (reason != NULL) {
        rc = record_skip(ld, id, type, line, reason);
        goto unused;
    }

    /* Configuration overrides change the XML before it is compiled. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        bool nomem;
        if (!o->is_config || !pack_override_targets(o, ld->cur->pack_id, id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL) {
            problem = pack_apply_configuration(um, o->name, o->value, &nomem);
            if (nomem) {
                rc = MDM_ENOMEM;
                goto out;
            }
        }
        rc = pack_set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
                                       problem);
        if (rc != 0)
            goto out;
    }

    if (pack->monitor_count == ld->monitor_cap) {
        size_t cap = ld->monitor_cap ? ld->monitor_cap * 2 : 4;
        struct mdm_monitor_def *grown = mdm_realloc(pack->monitors, cap * sizeof(*grown));
        if (grown == NULL) {
            rc = MDM_ENOMEM;
            goto out;
        }
        pack->monitors = grown;
        ld->monitor_cap = cap;
    }
    def = &pack->monitors[pack->monitor_count++];
    memset(def, 0, sizeof(*def));
    def->id = id;
    id = NULL;
    def->type_id = type;
    type = NULL;
    def->line = line;
    def->enabled = true;
    def->origin = mdm_strdup(ld->origin);
    if (def->origin == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    rc = pack_load_unit_monitor(ld, um, spec, def);
    if (rc == MDM_EUNSUPPORTED) {
        /* A construct inside is not implemented: skip the monitor, naming it. */
        construct_reason(ld, why, sizeof(why));
        mdm_err_clear(ld->err);
        pack->monitor_count--;
        rc = record_skip(ld, def->id, def->type_id, line, why);
        pack_free_monitor_def(def);
        if (rc == 0) {
            id = NULL;
            goto unused_def;
        }
        goto out;
    }
    if (rc == 0)
        rc = pack_load_display_strings(ld, def);
    if (rc != 0)
        goto out;

    /* The other property overrides apply to the compiled monitor. */
    for (size_t i = 0; i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        const char *problem;
        if (o->is_config || strcmp(o->name, "Enabled") == 0 ||
            !pack_override_targets(o, ld->cur->pack_id, def->id))
            continue;
        problem = pack_override_scope_problem(o, target_pack, target_id);
        if (problem == NULL)
            problem = pack_apply_property(def, o->name, o->value);
        rc = pack_set_override_outcome(o, problem ? MDM_OVERRIDE_NOT_APPLIED : MDM_OVERRIDE_APPLIED,
                                       problem);
        if (rc != 0)
            goto out;
    }
    goto out;

unused_def:
    /* The skip owns copies; look the overrides up by the skip's ID. */
    id = mdm_strdup(pack->skips[pack->skip_count - 1].id);
    if (id == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
unused:
    /*
     * Overrides of a skipped monitor change nothing, except the Enabled
     * override that disabled it (the skip names it).
     */
    for (size_t i = 0; rc == 0 && i < ld->override_count; i++) {
        struct override_rec *o = &ld->overrides[i];
        /* An Enabled override that could not be applied to a disabled
         * monitor keeps its reason: it is why the monitor stays disabled. */
        bool kept_disabled = !enabled && !o->is_config && strcmp(o->name, "Enabled") == 0 &&
                             o->report->outcome == MDM_OVERRIDE_NOT_APPLIED;
        if (pack_override_targets(o, ld->cur->pack_id, id) && !(o == enabled_by && !enabled) &&
            !kept_disabled)
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_UNUSED, "its monitor is skipped");
    }
out:
    mdm_free(id);
    mdm_free(type);
    mdm_free(enabled_attr);
    mdm_free(target);
    mdm_free(reason);
    return rc;
}
