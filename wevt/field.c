/*
 * field.c - the names an XPathQuery (or a $Data/Context/...$ reference) can
 * use, and how each one reads a field of a struct mdm_event.
 *
 * The names are the ones SCOM's Microsoft.Windows.EventProvider data item
 * exposes (PublisherName, EventDisplayNumber, Params/Param[N], ...), matched
 * case-sensitively as SCOM writes them. EventData values can be addressed by
 * name, both as EventData/Data[@Name='X'] and in the short form EventData/X.
 */
#include "wevt/event.h"

#include <stdio.h>
#include <string.h>

/* Simple names that map to one field of the event, without an argument. */
struct field_name {
    const char *name;
    enum mdm_field_id id;
};

static const struct field_name field_names[] = {
    {"PublisherName", MDM_FIELD_PUBLISHER_NAME},
    {"EventSourceName", MDM_FIELD_PUBLISHER_NAME},
    {"PublisherId", MDM_FIELD_PUBLISHER_ID},
    {"EventDisplayNumber", MDM_FIELD_EVENT_DISPLAY_NUMBER},
    {"EventNumber", MDM_FIELD_EVENT_NUMBER},
    {"EventLevel", MDM_FIELD_EVENT_LEVEL},
    {"EventCategory", MDM_FIELD_EVENT_CATEGORY},
    {"Channel", MDM_FIELD_CHANNEL},
    {"LogName", MDM_FIELD_CHANNEL},
    {"LoggingComputer", MDM_FIELD_LOGGING_COMPUTER},
    {"EventDescription", MDM_FIELD_EVENT_DESCRIPTION},
    {"UserName", MDM_FIELD_USER_NAME},
    {"TimeGenerated", MDM_FIELD_TIME_GENERATED},
    {"TimeCreated", MDM_FIELD_TIME_GENERATED},
    {"EventRecordId", MDM_FIELD_RECORD_ID},
    {"Keywords", MDM_FIELD_KEYWORDS},
};

#define PARAM_PREFIX     "Params/Param["
#define DATA_PREFIX      "EventData/Data[@Name="
#define EVENTDATA_PREFIX "EventData/"

/* Returns code after recording the standard "unsupported XPathQuery" message. */
static int unsupported(struct mdm_err *err, const char *xpath)
{
    /* The name comes from the pack; cut it so that the caller's prefix still fits. */
    return mdm_err_set(err, MDM_EUNSUPPORTED, "unsupported XPathQuery \"%.200s\"", xpath);
}

/* Parses the N of "Params/Param[N]" (p points after the '['). */
static int parse_param(const char *xpath, const char *p, struct mdm_field_ref *ref,
                       struct mdm_err *err)
{
    uint64_t n = 0;

    if (*p < '0' || *p > '9')
        return unsupported(err, xpath);
    while (*p >= '0' && *p <= '9') {
        /* An index that does not fit in 32 bits is refused rather than wrapped. */
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > UINT32_MAX)
            return unsupported(err, xpath);
        p++;
    }
    if (n == 0 || strcmp(p, "]") != 0)
        return unsupported(err, xpath);
    memset(ref, 0, sizeof(*ref));
    ref->id = MDM_FIELD_PARAM;
    ref->param = (unsigned)n;
    return 0;
}

/* Stores name[0..len) as the Data/@Name of an MDM_FIELD_EVENT_DATA reference. */
static int set_data_name(const char *xpath, const char *name, size_t len, struct mdm_field_ref *ref,
                         struct mdm_err *err)
{
    if (len == 0)
        return unsupported(err, xpath);
    if (len >= MDM_FIELD_NAME_MAX)
        return mdm_err_set(err, MDM_ETOOBIG,
                           "XPathQuery \"%.200s\": the Data name is longer than %u bytes", xpath,
                           (unsigned)(MDM_FIELD_NAME_MAX - 1));
    memset(ref, 0, sizeof(*ref));
    ref->id = MDM_FIELD_EVENT_DATA;
    memcpy(ref->name, name, len);
    ref->name[len] = '\0';
    return 0;
}

int mdm_field_parse(const char *xpath, struct mdm_field_ref *ref, struct mdm_err *err)
{
    size_t i;

    if (xpath == NULL)
        return mdm_err_set(err, MDM_EINVAL, "missing XPathQuery");
    for (i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++) {
        if (strcmp(xpath, field_names[i].name) == 0) {
            memset(ref, 0, sizeof(*ref));
            ref->id = field_names[i].id;
            return 0;
        }
    }
    if (strncmp(xpath, PARAM_PREFIX, strlen(PARAM_PREFIX)) == 0)
        return parse_param(xpath, xpath + strlen(PARAM_PREFIX), ref, err);
    if (strncmp(xpath, DATA_PREFIX, strlen(DATA_PREFIX)) == 0) {
        /* EventData/Data[@Name='X'] or EventData/Data[@Name="X"]. */
        const char *p = xpath + strlen(DATA_PREFIX);
        char quote = *p;
        const char *end;

        if (quote != '\'' && quote != '"')
            return unsupported(err, xpath);
        p++;
        end = strchr(p, quote);
        if (end == NULL || strcmp(end + 1, "]") != 0)
            return unsupported(err, xpath);
        return set_data_name(xpath, p, (size_t)(end - p), ref, err);
    }
    if (strncmp(xpath, EVENTDATA_PREFIX, strlen(EVENTDATA_PREFIX)) == 0) {
        /* The short form EventData/X: X must be a plain element name. */
        const char *p = xpath + strlen(EVENTDATA_PREFIX);

        if (p[strcspn(p, "/[]@'\"= \t\r\n")] != '\0')
            return unsupported(err, xpath);
        return set_data_name(xpath, p, strlen(p), ref, err);
    }
    return unsupported(err, xpath);
}

/* Sets *out to a string value; NULL strings are absent fields. */
static int get_string(const char *s, struct mdm_value *out)
{
    if (s == NULL)
        return MDM_ENOTFOUND;
    out->kind = MDM_VALUE_STRING;
    out->str = s;
    out->u = 0;
    return 0;
}

static int get_uint(uint64_t u, struct mdm_value *out)
{
    out->kind = MDM_VALUE_UINT;
    out->str = NULL;
    out->u = u;
    return 0;
}

/*
 * TimeCreated: time_unix_ms when known. Tests and sources that only filled
 * time_created still work because the text is parsed as a fallback.
 */
static int get_time(const struct mdm_event *ev, struct mdm_value *out)
{
    int64_t ms = ev->time_unix_ms;

    if (ms == 0) {
        if (ev->time_created == NULL || mdm_parse_iso8601(ev->time_created, &ms) != 0)
            return MDM_ENOTFOUND;
    }
    out->kind = MDM_VALUE_TIME;
    out->str = NULL;
    out->u = (uint64_t)ms;
    return 0;
}

/* The value of the first EventData/Data element whose Name is name. */
static int get_data(const struct mdm_event *ev, const char *name, struct mdm_value *out)
{
    if (ev->data == NULL)
        return MDM_ENOTFOUND;
    for (size_t i = 0; i < ev->data_count; i++) {
        const struct mdm_event_data *d = &ev->data[i];

        if (d->name != NULL && strcmp(d->name, name) == 0)
            return get_string(d->value, out);
    }
    return MDM_ENOTFOUND;
}

int mdm_event_get(const struct mdm_event *ev, const struct mdm_field_ref *ref,
                  struct mdm_value *out)
{
    struct mdm_value v;
    int rc;

    switch (ref->id) {
    case MDM_FIELD_PUBLISHER_NAME:
        rc = get_string(ev->provider, &v);
        break;
    case MDM_FIELD_PUBLISHER_ID:
        rc = get_string(ev->provider_guid, &v);
        break;
    case MDM_FIELD_EVENT_DISPLAY_NUMBER:
        rc = get_uint(mdm_event_display_number(ev), &v);
        break;
    case MDM_FIELD_EVENT_NUMBER:
        rc = get_uint(mdm_event_number(ev), &v);
        break;
    case MDM_FIELD_EVENT_LEVEL:
        rc = get_uint((uint64_t)mdm_event_scom_level(ev), &v);
        break;
    case MDM_FIELD_EVENT_CATEGORY:
        rc = get_uint(ev->task, &v);
        break;
    case MDM_FIELD_CHANNEL:
        rc = get_string(ev->channel, &v);
        break;
    case MDM_FIELD_LOGGING_COMPUTER:
        rc = get_string(ev->computer, &v);
        break;
    case MDM_FIELD_EVENT_DESCRIPTION:
        rc = get_string(ev->description, &v);
        break;
    case MDM_FIELD_USER_NAME:
        rc = get_string(ev->user_sid, &v);
        break;
    case MDM_FIELD_PARAM:
        if (ref->param == 0 || ref->param > ev->data_count || ev->data == NULL) {
            rc = MDM_ENOTFOUND;
            break;
        }
        rc = get_string(ev->data[ref->param - 1].value, &v);
        break;
    case MDM_FIELD_EVENT_DATA:
        rc = get_data(ev, ref->name, &v);
        break;
    case MDM_FIELD_TIME_GENERATED:
        rc = get_time(ev, &v);
        break;
    case MDM_FIELD_RECORD_ID:
        rc = get_uint(ev->record_id, &v);
        break;
    case MDM_FIELD_KEYWORDS:
        rc = get_uint(ev->keywords, &v);
        break;
    default:
        rc = MDM_EINVAL;
        break;
    }
    if (rc == 0)
        *out = v;
    return rc;
}

const char *mdm_value_format(const struct mdm_value *v, char *buf, size_t size)
{
    char tmp[40];

    if (size == 0)
        return buf;
    switch (v->kind) {
    case MDM_VALUE_STRING:
        snprintf(buf, size, "%s", v->str != NULL ? v->str : "");
        break;
    case MDM_VALUE_UINT:
        snprintf(buf, size, "%llu", (unsigned long long)v->u);
        break;
    case MDM_VALUE_TIME:
        /* Formatted into a buffer of the documented minimum size, then cut to fit. */
        mdm_format_iso8601((int64_t)v->u, tmp, sizeof(tmp));
        snprintf(buf, size, "%s", tmp);
        break;
    default:
        buf[0] = '\0';
        break;
    }
    return buf;
}
