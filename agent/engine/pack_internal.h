/*
 * pack_internal.h - what the loader's files share (not a public interface).
 *
 * The loader is split by concern:
 *   pack.c           - the pack set: files, skips, unique IDs, the public
 *                      entry points;
 *   pack_stream.c    - reading one pack file in two streaming passes;
 *   pack_unit_monitor.c - one <UnitMonitor>: compiled or skipped;
 *   pack_monitor.c   - compiling one <UnitMonitor> into a mdm_monitor_def;
 *   pack_xml.c       - XML helpers, health states and alert parameters;
 *   pack_display.c   - the DisplayString index and a monitor's names;
 *   pack_types.c     - monitor types: references, the member modules of
 *                      types the packs define, why a type is not evaluated;
 *   pack_overrides.c - overrides (read, scoped, applied) and the report lines.
 */
#ifndef MDM_PACK_INTERNAL_H
#define MDM_PACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libxml/tree.h>

#include "agent/engine/pack.h"

struct pack_type_spec;

/* The implemented 2-state type, without its reference alias ("Windows!"). */
#define MONITOR_TYPE_2STATE "Microsoft.Windows.2SingleEventLog2StateMonitorType"

/* The library that defines the implemented monitor types. */
#define WINDOWS_LIBRARY "Microsoft.Windows.Library"

/* A reference alias declared in a Manifest: Alias="Windows" -> Microsoft.Windows.Library. */
struct pack_alias {
    char *alias;
    char *pack_id;
};

/*
 * One DisplayString of a document's LanguagePacks (ElementID without
 * SubElementID), with its texts copied: the index outlives the tree.
 */
struct pack_display_string {
    char *element_id;  /* one allocation holding the three strings */
    char *name;        /* <Name>, or NULL; points into element_id's allocation */
    char *description; /* <Description>, or NULL; likewise */
    size_t seq;        /* document order */
    bool preferred;    /* in the default (IsDefault="true") or the ENU LanguagePack */
};

/* One parsed pack file of the set. */
struct pack_doc {
    const char *origin; /* borrowed from the caller's source list */
    xmlDoc *doc;
    xmlNode *root;
    char *pack_id; /* Manifest/Identity/ID; NULL for a fragment */
    struct pack_alias *aliases;
    size_t alias_count;
    /* Sorted by element_id, preferred first, then document order (pack_index_display_strings). */
    struct pack_display_string *strings;
    size_t string_count, string_cap;
};

/* An override of a monitor property or configuration parameter, resolved. */
struct override_rec {
    struct pack_doc *doc;
    const xmlNode *node;
    bool is_config;                  /* MonitorConfigurationOverride */
    const char *monitor_pack;        /* pack ID the Monitor reference resolves to; NULL = unknown */
    char *monitor_id;                /* the monitor's ID without alias */
    char *context_pack, *context_id; /* Context resolved; NULL when absent */
    bool has_instance;               /* ContextInstance: one object only */
    char *name;                      /* Property or Parameter */
    char *value;                     /* <Value> */
    struct mdm_pack_override *report; /* its entry in pack->overrides */
};

struct loader {
    const struct pack_type_spec *spec; /* the type of the monitor being compiled */
    const xmlNode *composed_type;      /* or its UnitMonitorType defined in the set */
    struct pack_doc *composed_doc;     /* and the document defining it */
    const char *origin;                /* the file being read, for messages */
    struct pack_doc *cur;              /* the document being read */
    struct pack_doc *docs;
    size_t doc_count;
    struct override_rec *overrides;
    size_t override_count;
    struct mdm_pack *pack;
    size_t monitor_cap, skip_cap;
    size_t monitors_seen; /* <UnitMonitor>s of the set (the first pass counts them) */
    struct mdm_err *err;
};

/* pack_compose.c: the <Configuration> of a library type with spec->special. */
int pack_load_special_configuration(struct loader *ld, const xmlNode *config,
                                    const struct pack_type_spec *spec, struct mdm_monitor_def *def);
/* pack_xml.c */
bool pack_is_element(const xmlNode *node, const char *name);
/* pack_xml.c */
xmlNode *pack_child(const xmlNode *parent, const char *name);
/* pack_xml.c */
char *pack_text_of(const xmlNode *node);
/* pack_xml.c */
char *pack_attr_of(const xmlNode *node, const char *name);
/*
 * pack_xml.c: the line where node's start tag begins (the loader records
 * it while parsing; libxml2's own line is where the start tag ends, and stops
 * at 65535).
 */
long pack_line_of(const xmlNode *node);
/* pack_xml.c */
int pack_fail(struct loader *ld, const xmlNode *node, int code, const char *what);
/* pack_monitor.c */
int pack_load_unit_monitor(struct loader *ld, const xmlNode *um, const struct pack_type_spec *spec,
                           struct mdm_monitor_def *def);
/* pack_display.c: appends one DisplayString to doc's index (the texts are copied). */
int pack_add_display_string(struct pack_doc *doc, const xmlNode *ds, bool preferred);
/* pack_display.c: whether a LanguagePack element is the preferred one. */
bool pack_language_pack_preferred(const xmlNode *lp);
/* pack_display.c: sorts doc's DisplayString index for look-ups. */
void pack_sort_display_strings(struct pack_doc *doc);
/* pack_display.c */
void pack_free_display_strings(struct pack_doc *doc);
/* pack_display.c */
int pack_load_display_strings(const struct loader *ld, struct mdm_monitor_def *def);
/* pack_monitor.c: frees what a parameter owns (its text and field). */
void pack_free_param(struct mdm_param *param);
/* pack_monitor.c */
void pack_free_monitor_def(struct mdm_monitor_def *def);
/* pack_types.c */
bool pack_resolve_ref(const struct pack_doc *doc, const char *ref, const char **pack_out,
                      const char **name_out);
/* pack_types.c */
bool pack_same_pack(const char *a, const char *b);
/* A monitor type's composition: see library_types in pack_types.c. */
struct pack_type_spec {
    const char *name;
    size_t detectors;
    bool repeated; /* the first detector feeds a System.ConsolidatorCondition */
    enum mdm_reset_kind reset;
    const char *prefixes[2];  /* of the detectors' ComputerName, LogName, Expression */
    const char *state_ids[3]; /* MonitorTypeStateID of: detector 0, detector 1, the reset */
    /* A type whose <Configuration> pack_load_special_configuration reads
     * (pack_compose.c): the missing-event and the service-state types. */
    bool special;
};

/* pack_types.c: the implemented library type called name, or NULL. */
const struct pack_type_spec *pack_library_type(const char *name);
/* pack_types.c */
int pack_classify_type(struct loader *ld, const char *type_ref, char **reason_out,
                       const struct pack_type_spec **spec_out);
/* pack_compose.c: compiles a monitor of ld->composed_type (see the file's comment). */
int pack_compose_monitor(struct loader *ld, const xmlNode *um, const xmlNode *config,
                         const xmlNode *states, struct mdm_monitor_def *def);
/* pack_xml.c */
int pack_parse_param(struct loader *ld, const xmlNode *node, const char *text,
                     struct mdm_param *param);
int pack_parse_health(struct loader *ld, const xmlNode *node, const char *s, enum mdm_health *out);
/* pack_monitor.c: the children of a <Consolidator> into d. */
int pack_load_consolidator(struct loader *ld, const xmlNode *consolidator, struct mdm_detector *d);
/* pack_overrides.c */
const char *pack_override_scope_problem(const struct override_rec *o, const char *target_pack,
                                        const char *target_id);
/* pack_overrides.c */
bool pack_parse_bool_value(const char *v, bool *out);
/* pack_overrides.c */
int pack_set_override_outcome(struct override_rec *o, enum mdm_override_outcome outcome,
                              const char *why);
/* pack_overrides.c */
const char *pack_apply_property(struct mdm_monitor_def *def, const char *name, const char *v);
/* pack_overrides.c */
const char *pack_apply_configuration(xmlNode *um, const char *name, const char *value, bool *nomem);
/* pack_overrides.c */
bool pack_override_targets(const struct override_rec *o, const char *pack_id, const char *id);
/* pack_overrides.c */
int pack_collect_overrides(struct loader *ld, struct pack_doc *doc, const xmlNode *node, int depth,
                           size_t *override_cap);
/* pack_overrides.c */
void pack_free_override_rec(struct override_rec *o);

/* A management pack larger than this is refused rather than parsed. */
#define PACK_MAX_BYTES (64u * 1024u * 1024u)

/* One source of the set: a buffer, or a regular file read in pieces. */
struct pack_input {
    const char *origin;
    const char *data; /* when file is NULL */
    size_t len;
    FILE *file; /* read again for each pass */
};
/* pack_unit_monitor.c: compiles the <UnitMonitor> um or records why it is skipped. */
int pack_process_unit_monitor(struct loader *ld, xmlNode *um);
/* pack_stream.c: the first pass over one source: its skeleton, Manifest and DisplayString index. */
int pack_parse_source(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
                      struct mdm_err *err);
/* pack_stream.c: the second pass over one source: compiles its monitors in document order. */
int pack_load_monitors(struct loader *ld, const struct pack_input *in, struct pack_doc *doc,
                       struct mdm_err *err);

#endif
