/*
 * event.c - the event model: its string arena, derived numbers, and the
 * ISO 8601 helpers used for TimeCreated.
 */
#include "wevt/event.h"

#include "agent/common/mdm_alloc.h"

#include <stdio.h>
#include <string.h>

/*
 * The arena is a list of blocks. Strings of one event are bump-allocated into
 * them; reset keeps the first block so that a stream of events reuses the
 * same memory and RSS stays flat.
 */
struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    char data[];
};

#define ARENA_BLOCK_SIZE (16u * 1024u)

struct arena {
    struct arena_block *head;
};

void mdm_event_init(struct mdm_event *ev)
{
    memset(ev, 0, sizeof(*ev));
}

static void free_blocks(struct arena_block *block)
{
    while (block != NULL) {
        struct arena_block *next = block->next;
        mdm_free(block);
        block = next;
    }
}

void mdm_event_reset(struct mdm_event *ev)
{
    struct arena *arena = ev->arena;

    if (arena != NULL && arena->head != NULL) {
        /* Keep only the oldest (last) block, which is ARENA_BLOCK_SIZE. */
        struct arena_block *keep = arena->head;
        struct arena_block *prev = NULL;
        while (keep->next != NULL) {
            prev = keep;
            keep = keep->next;
        }
        if (prev != NULL) {
            prev->next = NULL;
            free_blocks(arena->head);
        }
        keep->used = 0;
        arena->head = keep;
    }
    memset(ev, 0, sizeof(*ev));
    ev->arena = arena;
}

void mdm_event_free(struct mdm_event *ev)
{
    struct arena *arena = ev->arena;

    if (arena != NULL) {
        free_blocks(arena->head);
        mdm_free(arena);
    }
    memset(ev, 0, sizeof(*ev));
}

/* Returns len bytes of arena memory owned by ev, or NULL when out of memory. */
static void *arena_alloc(struct mdm_event *ev, size_t len)
{
    struct arena *arena = ev->arena;
    struct arena_block *block;
    size_t size;

    if (arena == NULL) {
        arena = mdm_calloc(1, sizeof(*arena));
        if (arena == NULL)
            return NULL;
        ev->arena = arena;
    }
    len = (len + 7u) & ~(size_t)7u;
    block = arena->head;
    if (block != NULL && block->size - block->used >= len) {
        void *p = block->data + block->used;
        block->used += len;
        return p;
    }
    size = len > ARENA_BLOCK_SIZE ? len : ARENA_BLOCK_SIZE;
    block = mdm_malloc(sizeof(*block) + size);
    if (block == NULL)
        return NULL;
    block->size = size;
    block->used = len;
    block->next = arena->head;
    arena->head = block;
    return block->data;
}

const char *mdm_event_strdup(struct mdm_event *ev, const char *s, size_t len)
{
    char *copy = arena_alloc(ev, len + 1);

    if (copy == NULL)
        return NULL;
    if (len > 0)
        memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void *mdm_event_alloc(struct mdm_event *ev, size_t size)
{
    void *p = arena_alloc(ev, size);

    if (p != NULL)
        memset(p, 0, size);
    return p;
}

uint32_t mdm_event_display_number(const struct mdm_event *ev)
{
    return ev->event_id & 0xFFFFu;
}

uint32_t mdm_event_number(const struct mdm_event *ev)
{
    if (ev->has_qualifiers)
        return ((uint32_t)ev->qualifiers << 16) | (ev->event_id & 0xFFFFu);
    return ev->event_id;
}

/* Audit keywords of the Security log (winmeta.xml). */
#define KEYWORD_AUDIT_FAILURE 0x0010000000000000ull
#define KEYWORD_AUDIT_SUCCESS 0x0020000000000000ull

int mdm_event_scom_level(const struct mdm_event *ev)
{
    if (ev->keywords & KEYWORD_AUDIT_FAILURE)
        return 16;
    if (ev->keywords & KEYWORD_AUDIT_SUCCESS)
        return 8;
    switch (ev->level) {
    case 1:
    case 2:
        return 1;
    case 3:
        return 2;
    default:
        return 4;
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads exactly n decimal digits from *p into *out and advances *p. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return MDM_EPARSE;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int mdm_parse_iso8601(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int year, month, day, hour = 0, minute = 0, second = 0, ms = 0;
    int64_t offset_min = 0;
    int64_t total;

    if (s == NULL)
        return MDM_EPARSE;
    while (*p == ' ' || *p == '\t')
        p++;
    if (read_digits(&p, 4, &year) || *p++ != '-' || read_digits(&p, 2, &month) || *p++ != '-' ||
        read_digits(&p, 2, &day))
        return MDM_EPARSE;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (read_digits(&p, 2, &hour) || *p++ != ':' || read_digits(&p, 2, &minute))
            return MDM_EPARSE;
        if (*p == ':') {
            p++;
            if (read_digits(&p, 2, &second))
                return MDM_EPARSE;
            if (*p == '.' || *p == ',') {
                int scale = 100;
                p++;
                if (*p < '0' || *p > '9')
                    return MDM_EPARSE;
                /* Windows writes up to 7 (sometimes 9) fraction digits; keep ms. */
                while (*p >= '0' && *p <= '9') {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om = 0;
        p++;
        if (read_digits(&p, 2, &oh))
            return MDM_EPARSE;
        if (*p == ':')
            p++;
        if (*p >= '0' && *p <= '9' && read_digits(&p, 2, &om))
            return MDM_EPARSE;
        /* UTC offsets run from -14:00 to +14:00: "+99:99" is no time at all. */
        if (om > 59 || oh * 60 + om > 14 * 60)
            return MDM_EPARSE;
        offset_min = sign * (oh * 60 + om);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return MDM_EPARSE;
    /*
     * Only times that exist: year 0001 onwards (XML Schema has no year 0),
     * the days of that month (Feb 30 is refused, Feb 29 only in leap
     * years), seconds 00-59 as Windows' SYSTEMTIME and xs:dateTime have.
     */
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 59)
        return MDM_EPARSE;
    total = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 +
            minute * 60 + second - offset_min * 60;
    *out_ms = total * 1000 + ms;
    return 0;
}

void mdm_format_iso8601(int64_t ms, char *buf, size_t size)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int millis = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    /* civil_from_days (Howard Hinnant). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    y += m <= 2;
    snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60), millis);
}
