/* output.c - how state changes are printed by `replay` (JSON lines or a table). */
#include "agent/cli/cli.h"

#include "agent/common/mdm_json.h"
#include "agent/common/mdm_text.h"

#include <inttypes.h>
#include <string.h>

static const char *alert_name(enum mdm_alert_action a)
{
    switch (a) {
    case MDM_ALERT_RAISED:
        return "raised";
    case MDM_ALERT_RESOLVED:
        return "resolved";
    case MDM_ALERT_UPDATED:
        return "updated";
    default:
        return "none";
    }
}

/* The event time as ISO 8601 UTC, or "" when the event had none. */
static const char *event_time(const struct mdm_event *ev, char *buf, size_t size)
{
    if (ev->time_created == NULL) {
        buf[0] = '\0';
        return buf;
    }
    mdm_format_iso8601(ev->time_unix_ms, buf, size);
    return buf;
}

static int add_field(struct mdm_buf *b, const char *name, const char *value, int *rc)
{
    if (*rc == 0)
        *rc = mdm_buf_printf(b, ",\"%s\":", name);
    if (*rc == 0)
        *rc = mdm_json_add_string(b, value);
    return *rc;
}

int mdm_output_transition_json(struct mdm_buf *b, const struct mdm_transition *t)
{
    const struct mdm_event *ev = t->event;
    char time[40];
    int rc;

    rc = mdm_buf_adds(b, "{\"monitor\":");
    if (rc == 0)
        rc = mdm_json_add_string(b, t->def->id);
    add_field(b, "monitor_name", t->def->display_name ? t->def->display_name : t->def->id, &rc);
    if (rc == 0)
        rc = mdm_buf_printf(b, ",\"row\":%u", t->instance->index);
    add_field(b, "computer", t->target, &rc);
    add_field(b, "from", mdm_health_name(t->from), &rc);
    add_field(b, "to", mdm_health_name(t->to), &rc);
    add_field(b, "severity", mdm_severity_name(t->severity), &rc);
    add_field(b, "priority", mdm_priority_name(t->priority), &rc);
    add_field(b, "alert", alert_name(t->alert), &rc);
    if (t->alert != MDM_ALERT_NONE) {
        add_field(b, "alert_name", t->alert_name ? t->alert_name : "", &rc);
        add_field(b, "alert_text", t->alert_text, &rc);
    }
    if (rc == 0)
        rc = mdm_buf_printf(
            b, ",\"record_id\":%" PRIu64 ",\"event_id\":%" PRIu32 ",\"event_number\":%" PRIu32,
            ev->record_id, mdm_event_display_number(ev), mdm_event_number(ev));
    add_field(b, "time", event_time(ev, time, sizeof(time)), &rc);
    add_field(b, "publisher", ev->provider ? ev->provider : "", &rc);
    add_field(b, "channel", ev->channel ? ev->channel : "", &rc);
    add_field(b, "description", t->description, &rc);
    if (rc == 0)
        rc = mdm_buf_printf(b, ",\"repeats\":%" PRIu64, t->repeats_before);
    if (rc == 0 && ev->origin != NULL) {
        add_field(b, "origin", ev->origin, &rc);
        if (rc == 0)
            rc = mdm_buf_printf(b, ",\"offset\":%" PRIu64, ev->offset);
    }
    if (rc == 0)
        rc = mdm_buf_adds(b, "}\n");
    return rc;
}

void mdm_output_table_header(FILE *out)
{
    fprintf(out, "%-24s  %-24s  %-7s  %-7s  %-8s  %-11s  %5s  %10s  %s\n", "TIME", "COMPUTER",
            "FROM", "TO", "ALERT", "SEVERITY", "EVENT", "RECORD", "DESCRIPTION");
}

/* Copies s into buf, cut to width display bytes on a character boundary, newlines as spaces. */
static const char *cell(const char *s, size_t width, char *buf, size_t size)
{
    size_t n = mdm_utf8_cut(s, strlen(s), width < size - 1 ? width : size - 1);

    memcpy(buf, s, n);
    buf[n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return buf;
}

void mdm_output_transition_row(FILE *out, const struct mdm_transition *t)
{
    char time[40], computer[64], desc[512];

    fprintf(out, "%-24s  %-24s  %-7s  %-7s  %-8s  %-11s  %5" PRIu32 "  %10" PRIu64 "  %s\n",
            event_time(t->event, time, sizeof(time)),
            cell(t->target, 24, computer, sizeof(computer)), mdm_health_name(t->from),
            mdm_health_name(t->to), alert_name(t->alert), mdm_severity_name(t->severity),
            mdm_event_display_number(t->event), t->event->record_id,
            cell(t->description, 200, desc, sizeof(desc)));
}
