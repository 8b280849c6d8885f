/*
 * outbox.c - the durable notification queue (see outbox.h).
 *
 * Saved as two kinds of store lines:
 *   outbox <next seq> <overflows> <key,key,...|->
 *   notice <seq> <kind> <row> <health> <severity> <priority> <event id>
 *          <record id> <time ms> <pending bits, hex> <monitor> <target> <description>
 *          <diag row> <check status> <check> <detail> <diagnosis> <resolver>
 * where the pending bits refer to the key list of the outbox line and the
 * texts use the store's escaping.
 */
#include "agent/snmp/outbox.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"
#include "agent/engine/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ring's size when empty: what an agent whose notices leave at once uses. */
#define OUTBOX_SLOTS_MIN 4u

int mdm_outbox_init(struct mdm_outbox *ob, size_t cap)
{
    memset(ob, 0, sizeof(*ob));
    ob->cap = cap ? cap : MDM_OUTBOX_MAX;
    ob->slots = ob->cap < OUTBOX_SLOTS_MIN ? ob->cap : OUTBOX_SLOTS_MIN;
    ob->items = mdm_calloc(ob->slots, sizeof(*ob->items));
    ob->next_seq = 1;
    return ob->items ? 0 : MDM_ENOMEM;
}

void mdm_outbox_free(struct mdm_outbox *ob)
{
    mdm_free(ob->items);
    memset(ob, 0, sizeof(*ob));
}

uint64_t mdm_outbox_dest_key(const char *directive)
{
    /* FNV-1a, 64 bits: stable across runs and platforms. */
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *p = (const unsigned char *)directive; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h ? h : 1;
}

static struct mdm_notice *at(const struct mdm_outbox *ob, size_t i)
{
    return &ob->items[(ob->head + i) % ob->slots];
}

/*
 * An empty outbox starts again at slot 0 of a ring of OUTBOX_SLOTS_MIN. A
 * ring that kept moving through all its slots would touch, and keep
 * resident, every page of them; one that grew during an outage gives the
 * memory back. If the smaller block cannot be had, the ring stays as it is.
 */
static void rewind_if_empty(struct mdm_outbox *ob)
{
    struct mdm_notice *smaller;

    if (ob->count != 0)
        return;
    ob->head = 0;
    if (ob->slots <= OUTBOX_SLOTS_MIN)
        return;
    smaller = mdm_realloc(ob->items, OUTBOX_SLOTS_MIN * sizeof(*ob->items));
    if (smaller == NULL)
        return;
    ob->items = smaller;
    ob->slots = OUTBOX_SLOTS_MIN;
}

/*
 * Makes room for one more notice at the tail: the ring doubles, up to cap,
 * with its notices moved to the start of the new block; at cap the oldest
 * notice is dropped and counted. Returns 0, or MDM_ENOMEM with nothing
 * changed.
 */
static int make_room(struct mdm_outbox *ob)
{
    struct mdm_notice *grown;
    size_t slots;

    if (ob->count == ob->cap) {
        ob->head = (ob->head + 1) % ob->slots;
        ob->count--;
        ob->overflows++;
        return 0;
    }
    if (ob->count < ob->slots)
        return 0;
    slots = ob->slots * 2 < ob->cap ? ob->slots * 2 : ob->cap;
    grown = mdm_malloc(slots * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    for (size_t i = 0; i < ob->count; i++)
        grown[i] = *at(ob, i);
    mdm_free(ob->items);
    ob->items = grown;
    ob->slots = slots;
    ob->head = 0;
    return 0;
}

/* Removes fully served notices from the head. */
static void trim(struct mdm_outbox *ob)
{
    while (ob->count > 0 && at(ob, 0)->pending == 0) {
        ob->head = (ob->head + 1) % ob->slots;
        ob->count--;
    }
    rewind_if_empty(ob);
}

int mdm_outbox_set_destinations(struct mdm_outbox *ob, const uint64_t *keys, size_t n)
{
    int map[MDM_DEST_MAX]; /* old slot -> new slot, or -1 */

    if (n > MDM_DEST_MAX)
        return MDM_EINVAL;
    for (size_t old = 0; old < MDM_DEST_MAX; old++) {
        map[old] = -1;
        for (size_t i = 0; old < ob->dest_count && i < n; i++)
            if (ob->dest_keys[old] == keys[i])
                map[old] = (int)i;
    }
    for (size_t i = 0; i < ob->count; i++) {
        struct mdm_notice *nt = at(ob, i);
        uint32_t bits = 0;
        for (size_t old = 0; old < MDM_DEST_MAX; old++)
            if ((nt->pending & (1u << old)) && map[old] >= 0)
                bits |= 1u << map[old];
        nt->pending = bits;
    }
    /* Notices served by nobody anymore are dropped wherever they are. */
    {
        size_t w = 0;
        for (size_t r = 0; r < ob->count; r++) {
            struct mdm_notice *src = at(ob, r);
            if (src->pending != 0) {
                if (w != r)
                    *at(ob, w) = *src;
                w++;
            }
        }
        ob->count = w;
    }
    rewind_if_empty(ob);
    memcpy(ob->dest_keys, keys, n * sizeof(*keys));
    ob->dest_count = n;
    ob->unsaved = true;
    return 0;
}

int mdm_outbox_push(struct mdm_outbox *ob, const struct mdm_notice *n)
{
    struct mdm_notice *slot;
    int rc;

    if (ob->dest_count == 0)
        return 0;
    if ((rc = make_room(ob)) != 0)
        return rc;
    slot = at(ob, ob->count);
    *slot = *n;
    mdm_utf8_copy(slot->monitor, sizeof(slot->monitor), n->monitor);
    mdm_utf8_copy(slot->target, sizeof(slot->target), n->target);
    mdm_utf8_copy(slot->description, sizeof(slot->description), n->description);
    mdm_utf8_copy(slot->check, sizeof(slot->check), n->check);
    mdm_utf8_copy(slot->detail, sizeof(slot->detail), n->detail);
    mdm_utf8_copy(slot->diagnosis, sizeof(slot->diagnosis), n->diagnosis);
    mdm_utf8_copy(slot->resolver, sizeof(slot->resolver), n->resolver);
    slot->seq = ob->next_seq++;
    slot->pending = ob->dest_count == 32 ? 0xFFFFFFFFu : (1u << ob->dest_count) - 1;
    ob->count++;
    ob->unsaved = true;
    return 0;
}

const struct mdm_notice *mdm_outbox_next_for(const struct mdm_outbox *ob, size_t slot)
{
    for (size_t i = 0; i < ob->count; i++) {
        const struct mdm_notice *nt = at(ob, i);
        if (nt->pending & (1u << slot))
            return nt;
    }
    return NULL;
}

void mdm_outbox_done(struct mdm_outbox *ob, uint64_t seq, size_t slot)
{
    for (size_t i = 0; i < ob->count; i++) {
        struct mdm_notice *nt = at(ob, i);
        if (nt->seq == seq) {
            nt->pending &= ~(1u << slot);
            ob->unsaved = true;
            break;
        }
    }
    trim(ob);
}

size_t mdm_outbox_count(const struct mdm_outbox *ob)
{
    return ob->count;
}

bool mdm_outbox_unsaved(const struct mdm_outbox *ob)
{
    return ob->unsaved;
}

int mdm_outbox_save(struct mdm_outbox *ob, struct mdm_buf *buf)
{
    int rc = mdm_buf_printf(buf, "\noutbox %" PRIu64 " %" PRIu64 " ", ob->next_seq, ob->overflows);

    for (size_t i = 0; rc == 0 && i < ob->dest_count; i++)
        rc = mdm_buf_printf(buf, "%s%016" PRIx64, i ? "," : "", ob->dest_keys[i]);
    if (rc == 0 && ob->dest_count == 0)
        rc = mdm_buf_adds(buf, "-");

    for (size_t i = 0; rc == 0 && i < ob->count; i++) {
        const struct mdm_notice *nt = at(ob, i);
        rc = mdm_buf_printf(buf,
                            "\nnotice %" PRIu64 " %d %u %d %d %d %" PRIu32 " %" PRIu64 " %" PRId64
                            " %" PRIx32 " ",
                            nt->seq, (int)nt->kind, nt->row, nt->health, nt->severity, nt->priority,
                            nt->event_id, nt->record_id, nt->time_ms, nt->pending);
        if (rc == 0)
            rc = mdm_store_escape(buf, nt->monitor);
        if (rc == 0)
            rc = mdm_buf_adds(buf, " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, nt->target);
        if (rc == 0)
            rc = mdm_buf_adds(buf, " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, nt->description);
        if (rc == 0)
            rc = mdm_buf_printf(buf, " %u %d ", nt->diag_row, nt->check_status);
        {
            const char *texts[] = {nt->check, nt->detail, nt->diagnosis, nt->resolver};
            for (size_t t = 0; rc == 0 && t < 4; t++) {
                rc = mdm_store_escape(buf, texts[t]);
                if (rc == 0 && t < 3)
                    rc = mdm_buf_adds(buf, " ");
            }
        }
    }
    /*
     * Serialized for a state file write. A write that then fails is retried
     * by the agent with the whole state (run.c), this outbox included, so
     * the change is not forgotten.
     */
    if (rc == 0) {
        ob->unsaved = false;
        ob->saves++;
    }
    return rc;
}

static size_t split(char *line, char **tok, size_t max)
{
    size_t n = 0;
    char *p = line;

    while (n < max && *p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        tok[n++] = p;
        p += strcspn(p, " ");
        if (*p == ' ')
            *p++ = '\0';
    }
    return n;
}

static int load_outbox_line(struct mdm_outbox *ob, char **tok, size_t n)
{
    char *p;

    if (n != 4 || sscanf(tok[1], "%" SCNu64, &ob->next_seq) != 1 ||
        sscanf(tok[2], "%" SCNu64, &ob->overflows) != 1)
        return MDM_EPARSE;
    ob->dest_count = 0;
    if (strcmp(tok[3], "-") == 0)
        return 0;
    for (p = tok[3]; p != NULL;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (ob->dest_count >= MDM_DEST_MAX ||
            sscanf(p, "%" SCNx64, &ob->dest_keys[ob->dest_count]) != 1)
            return MDM_EPARSE;
        ob->dest_count++;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

int mdm_outbox_load_line(struct mdm_outbox *ob, char *line)
{
    char *tok[20];
    size_t n = split(line, tok, 20);
    struct mdm_notice nt;
    int kind;

    if (n > 0 && strcmp(tok[0], "outbox") == 0)
        return load_outbox_line(ob, tok, n);
    if ((n != 14 && n != 20) || strcmp(tok[0], "notice") != 0)
        return MDM_EPARSE;
    memset(&nt, 0, sizeof(nt));
    if (sscanf(tok[1], "%" SCNu64, &nt.seq) != 1 || sscanf(tok[2], "%d", &kind) != 1 ||
        kind < MDM_NOTICE_RAISED || kind > MDM_NOTICE_DIAGNOSIS ||
        sscanf(tok[3], "%u", &nt.row) != 1 || sscanf(tok[4], "%d", &nt.health) != 1 ||
        sscanf(tok[5], "%d", &nt.severity) != 1 || sscanf(tok[6], "%d", &nt.priority) != 1 ||
        sscanf(tok[7], "%" SCNu32, &nt.event_id) != 1 ||
        sscanf(tok[8], "%" SCNu64, &nt.record_id) != 1 ||
        sscanf(tok[9], "%" SCNd64, &nt.time_ms) != 1 ||
        sscanf(tok[10], "%" SCNx32, &nt.pending) != 1 || mdm_store_unescape(tok[11]) != 0 ||
        mdm_store_unescape(tok[12]) != 0 || mdm_store_unescape(tok[13]) != 0)
        return MDM_EPARSE;
    if (n == 20) {
        if (sscanf(tok[14], "%u", &nt.diag_row) != 1 ||
            sscanf(tok[15], "%d", &nt.check_status) != 1)
            return MDM_EPARSE;
        for (size_t t = 16; t < 20; t++)
            if (mdm_store_unescape(tok[t]) != 0)
                return MDM_EPARSE;
        mdm_utf8_copy(nt.check, sizeof(nt.check), tok[16]);
        mdm_utf8_copy(nt.detail, sizeof(nt.detail), tok[17]);
        mdm_utf8_copy(nt.diagnosis, sizeof(nt.diagnosis), tok[18]);
        mdm_utf8_copy(nt.resolver, sizeof(nt.resolver), tok[19]);
    }
    nt.kind = (enum mdm_notice_kind)kind;
    mdm_utf8_copy(nt.monitor, sizeof(nt.monitor), tok[11]);
    mdm_utf8_copy(nt.target, sizeof(nt.target), tok[12]);
    mdm_utf8_copy(nt.description, sizeof(nt.description), tok[13]);
    if (make_room(ob) != 0)
        return MDM_ENOMEM;
    *at(ob, ob->count) = nt;
    ob->count++;
    if (nt.seq >= ob->next_seq)
        ob->next_seq = nt.seq + 1;
    return 0;
}
