/*
 * pack.c - loads <UnitMonitor> definitions from management pack XML: the
 * set of files (pack_stream.c reads each, pack_unit_monitor.c takes each
 * monitor) and the names of the enumerations.
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

extern const unsigned char mdm_default_pack[];
extern const size_t mdm_default_pack_len;

const char *mdm_health_name(enum mdm_health health)
{
    switch (health) {
    case MDM_HEALTH_HEALTHY:
        return "healthy";
    case MDM_HEALTH_WARNING:
        return "warning";
    case MDM_HEALTH_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

const char *mdm_severity_name(enum mdm_severity severity)
{
    switch (severity) {
    case MDM_SEVERITY_INFORMATION:
        return "information";
    case MDM_SEVERITY_WARNING:
        return "warning";
    case MDM_SEVERITY_CRITICAL:
        return "critical";
    default:
        return "none";
    }
}

const char *mdm_priority_name(enum mdm_priority priority)
{
    switch (priority) {
    case MDM_PRIORITY_LOW:
        return "low";
    case MDM_PRIORITY_HIGH:
        return "high";
    default:
        return "normal";
    }
}

enum mdm_severity mdm_monitor_alert_severity(const struct mdm_monitor_def *def,
                                             enum mdm_health health)
{
    if (!def->severity_matches_health)
        return def->severity;
    switch (health) {
    case MDM_HEALTH_ERROR:
        return MDM_SEVERITY_CRITICAL;
    case MDM_HEALTH_WARNING:
        return MDM_SEVERITY_WARNING;
    default:
        return MDM_SEVERITY_INFORMATION;
    }
}

static void free_doc(struct pack_doc *doc)
{
    if (doc->doc != NULL)
        xmlFreeDoc(doc->doc);
    mdm_free(doc->pack_id);
    for (size_t i = 0; i < doc->alias_count; i++) {
        mdm_free(doc->aliases[i].alias);
        mdm_free(doc->aliases[i].pack_id);
    }
    mdm_free(doc->aliases);
    pack_free_display_strings(doc);
}

static int compare_monitor_ids(const void *a, const void *b)
{
    const struct mdm_monitor_def *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

/*
 * Monitor IDs must be unique across the whole set (every file, every monitor
 * evaluated): rows, the state file and the MIB are keyed by the ID.
 */
static int check_unique_ids(const struct mdm_pack *pack, struct mdm_err *err)
{
    const struct mdm_monitor_def **sorted;
    int rc = 0;

    if (pack->monitor_count < 2)
        return 0;
    sorted = mdm_calloc(pack->monitor_count, sizeof(*sorted));
    if (sorted == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < pack->monitor_count; i++)
        sorted[i] = &pack->monitors[i];
    qsort(sorted, pack->monitor_count, sizeof(*sorted), compare_monitor_ids);
    for (size_t i = 1; i < pack->monitor_count; i++) {
        const struct mdm_monitor_def *a = sorted[i - 1], *b = sorted[i];
        if (strcmp(a->id, b->id) != 0)
            continue;
        /* Name them in document order. */
        if (a > b) {
            const struct mdm_monitor_def *t = a;
            a = b;
            b = t;
        }
        rc = mdm_err_set(err, MDM_EINVAL,
                         "%s:%ld: monitor ID %.200s is defined twice (also at %s:%ld); monitor "
                         "IDs must be unique across the packs",
                         b->origin, b->line, b->id, a->origin, a->line);
        break;
    }
    mdm_free(sorted);
    return rc;
}

void mdm_pack_free(struct mdm_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->monitor_count; i++)
        pack_free_monitor_def(&pack->monitors[i]);
    mdm_free(pack->monitors);
    for (size_t i = 0; i < pack->skip_count; i++) {
        mdm_free(pack->skips[i].file);
        mdm_free(pack->skips[i].id);
        mdm_free(pack->skips[i].type);
        mdm_free(pack->skips[i].reason);
    }
    mdm_free(pack->skips);
    for (size_t i = 0; i < pack->override_count; i++) {
        mdm_free(pack->overrides[i].file);
        mdm_free(pack->overrides[i].id);
        mdm_free(pack->overrides[i].monitor);
        mdm_free(pack->overrides[i].setting);
        mdm_free(pack->overrides[i].why);
    }
    mdm_free(pack->overrides);
    mdm_free(pack->origin);
    mdm_free(pack->id);
    mdm_free(pack);
}

/* Appends every skip line to details (when given); a full buffer only cuts the list. */
static void report_skips(const struct mdm_pack *pack, const struct mdm_pack_options *opt)
{
    if (opt == NULL || opt->details == NULL)
        return;
    for (size_t i = 0; i < pack->skip_count; i++)
        if (mdm_pack_format_skip(&pack->skips[i], opt->details) != 0)
            return;
    for (size_t i = 0; i < pack->override_count; i++)
        if (pack->overrides[i].outcome == MDM_OVERRIDE_NOT_APPLIED &&
            mdm_pack_format_override(&pack->overrides[i], opt->details) != 0)
            return;
}

/* Loads the set of count sources (see mdm_pack_load_sources). */
static int load_set(const struct pack_input *sources, size_t count,
                    const struct mdm_pack_options *opt, struct mdm_pack **out, struct mdm_err *err)
{
    struct loader ld;
    size_t override_cap = 0;
    int rc = 0;

    memset(&ld, 0, sizeof(ld));
    ld.err = err;
    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    ld.pack = mdm_calloc(1, sizeof(*ld.pack));
    ld.docs = mdm_calloc(count, sizeof(*ld.docs));
    if (ld.pack == NULL || ld.docs == NULL ||
        (ld.pack->origin = mdm_strdup(sources[0].origin)) == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    ld.pack->file_count = count;
    for (size_t i = 0; i < count; i++) {
        rc = pack_parse_source(&ld, &sources[i], &ld.docs[i], err);
        if (rc != 0)
            goto out;
        ld.doc_count++;
    }
    if (ld.docs[0].pack_id != NULL && (ld.pack->id = mdm_strdup(ld.docs[0].pack_id)) == NULL) {
        rc = MDM_ENOMEM;
        goto out;
    }
    /* Overrides of every file first: an override pack may come before or after its monitors. */
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = pack_collect_overrides(&ld, &ld.docs[i], ld.docs[i].root, 0, &override_cap);
    /* The monitor array is allocated once, for every monitor the first pass saw. */
    if (rc == 0 && ld.monitors_seen > 0) {
        ld.pack->monitors = mdm_calloc(ld.monitors_seen, sizeof(*ld.pack->monitors));
        if (ld.pack->monitors == NULL)
            rc = MDM_ENOMEM;
        else
            ld.monitor_cap = ld.monitors_seen;
    }
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = pack_load_monitors(&ld, &sources[i], &ld.docs[i], err);
    if (rc == MDM_ENOMEM)
        mdm_err_set(err, rc, "%s: out of memory", ld.origin ? ld.origin : sources[0].origin);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < ld.override_count; i++) {
        struct override_rec *o = &ld.overrides[i];
        if (o->report->outcome == MDM_OVERRIDE_UNUSED && o->report->why == NULL) {
            char why[300];
            snprintf(why, sizeof(why), "no monitor %.200s in the loaded packs", o->monitor_id);
            rc = pack_set_override_outcome(o, MDM_OVERRIDE_UNUSED, why);
            if (rc != 0) {
                mdm_err_set(err, rc, "out of memory");
                goto out;
            }
        }
    }
    rc = check_unique_ids(ld.pack, err);
    if (rc != 0)
        goto out;
    if (ld.pack->monitor_count == 0 && ld.pack->skip_count == 0) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s:%ld: no <UnitMonitor> element found",
                         sources[0].origin, pack_line_of(ld.docs[0].root));
        goto out;
    }
    if (ld.pack->monitor_count == 0) {
        const struct mdm_pack_skip *s = &ld.pack->skips[0];
        rc = mdm_err_set(err, MDM_EUNSUPPORTED,
                         "no monitor that mdmhealth can evaluate: %zu skipped; the first: "
                         "%s:%ld: %s (type %s): %s",
                         ld.pack->skip_count, s->file, s->line, s->id, s->type, s->reason);
        report_skips(ld.pack, opt);
        goto out;
    }
    if (opt != NULL && opt->strict &&
        (ld.pack->skip_count > 0 || mdm_pack_unapplied_override_count(ld.pack) > 0)) {
        if (ld.pack->skip_count > 0) {
            const struct mdm_pack_skip *s = &ld.pack->skips[0];
            rc = mdm_err_set(err, MDM_EUNSUPPORTED,
                             "strict: %zu monitor(s) skipped; the first: %s:%ld: %s (type %s): "
                             "%s",
                             ld.pack->skip_count, s->file, s->line, s->id, s->type, s->reason);
        } else {
            rc = mdm_err_set(err, MDM_EUNSUPPORTED, "strict: %zu override(s) cannot be applied",
                             mdm_pack_unapplied_override_count(ld.pack));
        }
        report_skips(ld.pack, opt);
        goto out;
    }
    *out = ld.pack;
    ld.pack = NULL;
out:
    mdm_pack_free(ld.pack);
    /* Every slot: a failed parse may leave a document in the slot after the last counted one. */
    for (size_t i = 0; ld.docs != NULL && i < count; i++)
        free_doc(&ld.docs[i]);
    mdm_free(ld.docs);
    for (size_t i = 0; i < ld.override_count; i++)
        pack_free_override_rec(&ld.overrides[i]);
    mdm_free(ld.overrides);
    return rc;
}

int mdm_pack_load_sources(const struct mdm_pack_source *sources, size_t count,
                          const struct mdm_pack_options *opt, struct mdm_pack **out,
                          struct mdm_err *err)
{
    struct pack_input *inputs;
    int rc;

    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    inputs = mdm_calloc(count, sizeof(*inputs));
    if (inputs == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        inputs[i].origin = sources[i].origin;
        inputs[i].data = sources[i].data;
        inputs[i].len = sources[i].len;
    }
    rc = load_set(inputs, count, opt, out, err);
    mdm_free(inputs);
    return rc;
}

int mdm_pack_load_memory(const char *data, size_t len, const char *origin, struct mdm_pack **out,
                         struct mdm_err *err)
{
    struct mdm_pack_source src = {origin, data, len};

    return mdm_pack_load_sources(&src, 1, NULL, out, err);
}

/*
 * Whether f starts as a Windows executable image ("MZ"), as a sealed .mp
 * file does; f is left at its start.
 */
static bool is_sealed_pack(FILE *f)
{
    unsigned char magic[2];
    bool sealed =
        fread(magic, 1, sizeof(magic), f) == sizeof(magic) && magic[0] == 'M' && magic[1] == 'Z';

    rewind(f);
    return sealed;
}

/*
 * Opens a pack file for reading (it is read in pieces, once per pass, never
 * held whole); a file larger than the cap is refused before it is parsed.
 * *out is owned by the caller (fclose).
 */
static int open_pack_file(const char *path, FILE **out, struct mdm_err *err)
{
    FILE *f = NULL;
    long size;
    int rc;

    rc = mdm_fs_open_regular(path, &f, err);
    if (rc == MDM_ENOTFOUND)
        return mdm_err_set(err, MDM_EIO, "%s: cannot open management pack: no such file", path);
    if (rc != 0) {
        mdm_err_prefix(err, "management pack ");
        return rc;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return mdm_err_set(err, MDM_EIO, "%s: read error", path);
    }
    if ((unsigned long)size > PACK_MAX_BYTES) {
        fclose(f);
        return mdm_err_set(err, MDM_ETOOBIG, "%s: management pack larger than %u MiB", path,
                           PACK_MAX_BYTES / (1024u * 1024u));
    }
    if (is_sealed_pack(f)) {
        fclose(f);
        return mdm_err_set(err, MDM_EPARSE,
                           "%s: a sealed management pack (.mp, a .NET assembly), not XML: export "
                           "it to XML first (Operations Manager Shell: Get-SCOMManagementPack "
                           "-Name NAME | Export-SCOMManagementPack -Path DIR) and load the .xml",
                           path);
    }
    *out = f;
    return 0;
}

int mdm_pack_load_files(const char *const *paths, size_t count, const struct mdm_pack_options *opt,
                        struct mdm_pack **out, struct mdm_err *err)
{
    struct pack_input *inputs;
    int rc = 0;

    if (count == 0 || count > MDM_PACK_FILES_MAX)
        return mdm_err_set(err, MDM_EINVAL, "between 1 and %d management packs can be loaded",
                           MDM_PACK_FILES_MAX);
    inputs = mdm_calloc(count, sizeof(*inputs));
    if (inputs == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        rc = open_pack_file(paths[i], &inputs[i].file, err);
        if (rc != 0)
            goto out;
        inputs[i].origin = paths[i];
    }
    rc = load_set(inputs, count, opt, out, err);
out:
    for (size_t i = 0; i < count; i++)
        if (inputs[i].file != NULL)
            fclose(inputs[i].file);
    mdm_free(inputs);
    return rc;
}

int mdm_pack_load_file(const char *path, struct mdm_pack **out, struct mdm_err *err)
{
    return mdm_pack_load_files(&path, 1, NULL, out, err);
}

int mdm_pack_load_default(struct mdm_pack **out, struct mdm_err *err)
{
    return mdm_pack_load_memory((const char *)mdm_default_pack, mdm_default_pack_len,
                                "(built-in enrollment-connection pack)", out, err);
}
