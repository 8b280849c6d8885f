/*
 * store.c - the state file: a small line-oriented text format,
 *
 *   mdmhealth-state 1
 *   position <escaped>
 *   target <escaped computer>                     (in target order)
 *   row <target#> <escaped monitor id> <health> <alert 0|1> <alert severity>
 *       <repeats> <changes> <last change ms> <event id> <record id> <event ms>
 *       <escaped description>                     (one line)
 *   pending <target#> <escaped monitor id> <timer due ms> <window start ms>
 *       <window count> [<match time ms>...]        (only rows with pending
 *                                                   timers or windows)
 *
 * Pending timers and consolidation windows are on the engine's timeline (ms
 * since the Unix epoch, see monitor.h). Files written before they existed
 * have no pending lines and load unchanged.
 * where <escaped> is the text with '%', controls, spaces and DEL written as
 * %XX, so every field is one token. Text is easy to inspect in support cases.
 *
 * The journal: one flush per save. Replacing the state file durably costs
 * two flushes (the new file, then its directory after the rename). A save
 * instead appends the same text, as one record, to STATE-DIR/state.journal
 * and flushes that file once (mdm_fs_write_at_flushed: fdatasync,
 * FlushFileBuffers); only then is the state file replaced, without any flush
 * (mdm_fs_replace_unflushed), so that it stays the current, readable state
 * for operators and tools. A record is
 *
 *   mdmhealth-journal 1 <seq> <length> <crc32, 8 hex digits>\n<length bytes of state text>
 *
 * numbered 1, 2, 3... from the start of the file. Every state text the agent
 * writes into the state file is first a complete record of the journal, and
 * the journal always starts with the last state text that was made durable
 * the expensive way. That happens (a "compaction": mdm_fs_write_atomic of the
 * state file, then the journal rewritten from offset 0 as that one record)
 * when the state file does not exist yet, when the journal has no valid
 * record (a state directory of an older version, a damaged journal), and
 * when the journal would grow past journal_limit() (about 1 save in 500 for
 * a small state).
 *
 * What a crash or power loss at any instant leaves, and what is loaded:
 *  - during an append: the journal ends in a torn record; its checksum (or
 *    its length) does not match, so it and anything after it are ignored,
 *    and the next save writes over it. The state file is the previous one
 *    (it is replaced only after the append). The save had not returned, so
 *    no notification of that save had left.
 *  - after the append, before or during the replacement of the state file:
 *    the state file is the previous text, which equals an older record of
 *    the journal; such a state file is stale and the newest record is
 *    loaded instead.
 *  - a power loss after any number of saves: the journal holds every
 *    record whose append returned (fdatasync); the state file, replaced
 *    without flushes, may come back as any older text (again equal to an
 *    older record: stale, the newest record wins) or damaged (empty, zeros):
 *    it is moved aside as any damaged state file is, and mdm_store_set_aside
 *    writes the newest record as the new state file (durably).
 *  - during a compaction: the state file is written and flushed with its
 *    directory before the journal is rewritten; a torn rewrite leaves a
 *    journal without valid records and the durable state file, which is
 *    loaded. A rewrite that failed removes the journal, so the next save
 *    compacts again.
 * So the state loaded is always that of the last save that returned, or a
 * newer one whose notifications had not left: as durable as the two-flush
 * replacement was. A state file that equals no record of the journal was
 * written by someone else (edited by hand while the agent was stopped) and
 * is loaded as it is. A missing state file is a fresh start, whatever the
 * journal holds (an operator who deletes the state file resets the agent);
 * the first save then compacts.
 */
#include "agent/engine/store.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAGIC   "mdmhealth-state 1"
#define JOURNAL_MAGIC "mdmhealth-journal 1"
/* A record header: magic, seq, length and checksum; far less than this. */
#define JOURNAL_HEADER_MAX 96u
/* The journal is compacted when it would grow past the larger of ... */
#define JOURNAL_MIN_BYTES (1024u * 1024u)
/* ... this many records of the current size, but never past ... */
#define JOURNAL_RECORDS 32u
/* ... this (read whole at start; a bigger file is damaged). */
#define JOURNAL_MAX_BYTES (64u * 1024u * 1024u)

/*
 * Where the journal of the last state directory used ends and which number
 * its next record gets, so that a save does not read the journal. Checked
 * against the journal's size at every save (another writer, a test that
 * damages it: read again). The agent saves from one thread only.
 */
static struct {
    char dir[MDM_PATH_MAX];
    uint64_t len;
    uint64_t next_seq;
    bool set;
} journal_cache;

/* CRC-32 (IEEE 802.3, as zlib's crc32) of data. */
static uint32_t crc32_of(const void *data, size_t len)
{
    static uint32_t table[256];
    static bool ready;
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;

    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

int mdm_store_escape(struct mdm_buf *buf, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    if (*s == '\0')
        return mdm_buf_adds(buf, "%");
    for (; *s != '\0' && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == '%' || c == 0x7F) {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = mdm_buf_add(buf, esc, 3);
        } else {
            rc = mdm_buf_add(buf, s, 1);
        }
    }
    return rc;
}

/* Decodes an escaped token in place; a lone "%" is the empty string. */
int mdm_store_unescape(char *s)
{
    char *w = s;

    if (strcmp(s, "%") == 0) {
        s[0] = '\0';
        return 0;
    }
    for (char *r = s; *r != '\0'; r++) {
        if (*r == '%') {
            char hex[3] = {r[1], r[1] ? r[2] : '\0', '\0'};
            char *end;
            long v = strtol(hex, &end, 16);
            if (hex[0] == '\0' || hex[1] == '\0' || *end != '\0' || v == 0)
                return MDM_EPARSE;
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}

static char *state_path(const char *state_dir, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", state_dir, MDM_STORE_FILE);
    return buf;
}

static char *journal_path(const char *state_dir, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", state_dir, MDM_STORE_JOURNAL);
    return buf;
}

/* What reading a journal found. */
struct journal_scan {
    uint64_t records; /* valid records from the start */
    uint64_t end;     /* offset after the last valid one */
    const char *last; /* the newest record's text (inside the data read), length last_len */
    size_t last_len;
    uint32_t last_crc;
    bool torn;          /* bytes after the last valid record */
    bool match_last;    /* the text given to scan_journal equals the newest record */
    bool match_earlier; /* ... equals an older record */
};

/*
 * Walks the records of a journal (data, len bytes) from the start and stops
 * at the first one that is incomplete, out of sequence or fails its
 * checksum. text (text_len bytes, may be NULL) is compared with each record.
 */
static void scan_journal(const char *data, size_t len, const char *text, size_t text_len,
                         struct journal_scan *out)
{
    uint32_t text_crc = text != NULL ? crc32_of(text, text_len) : 0;
    size_t at = 0;

    memset(out, 0, sizeof(*out));
    while (at < len) {
        char header[JOURNAL_HEADER_MAX];
        const char *nl =
            memchr(data + at, '\n', len - at < sizeof(header) ? len - at : sizeof(header));
        unsigned long long seq, rec_len;
        unsigned int crc;
        char magic1[32], magic2[8], tail;
        size_t hlen;

        if (nl == NULL)
            break;
        hlen = (size_t)(nl - (data + at));
        memcpy(header, data + at, hlen);
        header[hlen] = '\0';
        if (sscanf(header, "%31s %7s %llu %llu %8x%c", magic1, magic2, &seq, &rec_len, &crc,
                   &tail) != 5 ||
            strcmp(magic1, "mdmhealth-journal") != 0 || strcmp(magic2, "1") != 0 ||
            seq != out->records + 1 || rec_len > MDM_STORE_MAX_BYTES ||
            rec_len > len - at - hlen - 1)
            break;
        {
            const char *rec = nl + 1;
            if (crc32_of(rec, (size_t)rec_len) != (uint32_t)crc)
                break;
            if (text != NULL && out->records > 0 && out->match_last)
                out->match_earlier = true;
            out->match_last = text != NULL && (size_t)rec_len == text_len && crc == text_crc &&
                              memcmp(rec, text, text_len) == 0;
            out->records++;
            out->last = rec;
            out->last_len = (size_t)rec_len;
            out->last_crc = (uint32_t)crc;
            at += hlen + 1 + (size_t)rec_len;
        }
    }
    out->end = at;
    out->torn = at < len;
}

/*
 * Reads the journal of state_dir (none: no records). A journal too large
 * to be ours, or unreadable, counts as one without valid records.
 * On success *data (owned by the caller, mdm_free; NULL when none) holds it.
 */
static void read_journal(const char *state_dir, char **data, size_t *len)
{
    char path[MDM_PATH_MAX];
    struct mdm_err ignored;

    *data = NULL;
    *len = 0;
    mdm_err_clear(&ignored);
    if (mdm_fs_read_all(journal_path(state_dir, path, sizeof(path)), JOURNAL_MAX_BYTES, data, len,
                        &ignored) != 0) {
        *data = NULL;
        *len = 0;
    }
}

static void cache_journal(const char *state_dir, uint64_t len, uint64_t next_seq)
{
    snprintf(journal_cache.dir, sizeof(journal_cache.dir), "%s", state_dir);
    journal_cache.len = len;
    journal_cache.next_seq = next_seq;
    journal_cache.set = true;
}

static void forget_journal(void)
{
    journal_cache.set = false;
}

/* Where the next record goes: *len (offset) and *seq (1 = no valid record). */
static void journal_position(const char *state_dir, uint64_t *len, uint64_t *seq)
{
    char path[MDM_PATH_MAX];
    struct mdm_fs_info info;
    struct journal_scan scan;
    char *data;
    size_t size;

    if (mdm_fs_stat(journal_path(state_dir, path, sizeof(path)), &info) != 0)
        info.size = 0;
    if (journal_cache.set && strcmp(journal_cache.dir, state_dir) == 0 &&
        journal_cache.len == info.size) {
        *len = journal_cache.len;
        *seq = journal_cache.next_seq;
        return;
    }
    read_journal(state_dir, &data, &size);
    scan_journal(data != NULL ? data : "", size, NULL, 0, &scan);
    mdm_free(data);
    *len = scan.end;
    *seq = scan.records + 1;
    cache_journal(state_dir, *len, *seq);
}

/* The most the journal may hold before a record of rec_len bytes is appended. */
static uint64_t journal_limit(size_t rec_len)
{
    uint64_t limit = (uint64_t)rec_len * JOURNAL_RECORDS;

    if (limit < JOURNAL_MIN_BYTES)
        limit = JOURNAL_MIN_BYTES;
    if (limit > JOURNAL_MAX_BYTES)
        limit = JOURNAL_MAX_BYTES;
    return limit;
}

/* Builds record seq of text into rec (reset first). */
static int make_record(struct mdm_buf *rec, uint64_t seq, const char *text, size_t len)
{
    int rc;

    mdm_buf_reset(rec);
    rc = mdm_buf_printf(rec, JOURNAL_MAGIC " %" PRIu64 " %zu %08" PRIx32 "\n", seq, len,
                        crc32_of(text, len));
    if (rc == 0)
        rc = mdm_buf_add(rec, text, len);
    return rc;
}

/*
 * Makes text durable as the state file (two flushes) and restarts the
 * journal with it as record 1 (one flush). See the top of the file.
 */
static int compact(const char *state_dir, const char *text, size_t len, struct mdm_buf *rec,
                   struct mdm_err *err)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX];
    int rc;

    forget_journal();
    rc = mdm_fs_write_atomic(state_path(state_dir, path, sizeof(path)), text, len, err);
    if (rc != 0)
        return rc;
    rc = make_record(rec, 1, text, len);
    if (rc != 0)
        return mdm_err_set(err, rc, "%s: cannot build the journal record: %s", state_dir,
                           mdm_strerror(rc));
    journal_path(state_dir, jpath, sizeof(jpath));
    rc = mdm_fs_write_at_flushed(jpath, 0, rec->data, rec->len, err);
    if (rc != 0) {
        /*
         * A journal of the previous generation must not be appended to: the
         * state file it would then lag behind is durable. Without a journal
         * the next save compacts again.
         */
        mdm_fs_remove(jpath);
        return rc;
    }
    cache_journal(state_dir, rec->len, 2);
    return 0;
}

/*
 * Saves text: appended to the journal (one flush), then the state file is
 * replaced without a flush; or a compaction. See the top of the file.
 */
static int save_text(const char *state_dir, const char *text, size_t len, struct mdm_err *err)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX];
    struct mdm_fs_info info;
    struct mdm_buf rec;
    uint64_t at, seq;
    int rc;

    mdm_buf_init(&rec, MDM_STORE_MAX_BYTES + JOURNAL_HEADER_MAX);
    state_path(state_dir, path, sizeof(path));
    journal_position(state_dir, &at, &seq);
    if (seq <= 1 || mdm_fs_stat(path, &info) != 0 ||
        at + len + JOURNAL_HEADER_MAX > journal_limit(len + JOURNAL_HEADER_MAX)) {
        rc = compact(state_dir, text, len, &rec, err);
        goto out;
    }
    rc = make_record(&rec, seq, text, len);
    if (rc != 0) {
        rc = mdm_err_set(err, rc, "%s: cannot build the journal record: %s", state_dir,
                         mdm_strerror(rc));
        goto out;
    }
    rc = mdm_fs_write_at_flushed(journal_path(state_dir, jpath, sizeof(jpath)), at, rec.data,
                                 rec.len, err);
    if (rc != 0) {
        forget_journal(); /* what is at the end now is read again */
        goto out;
    }
    cache_journal(state_dir, at + rec.len, seq + 1);
    /* Durable from here on; the state file follows for readers. */
    rc = mdm_fs_replace_unflushed(path, text, len, err);
out:
    mdm_buf_free(&rec);
    return rc;
}

int mdm_store_save(const char *state_dir, struct mdm_engine *engine, const char *position,
                   struct mdm_err *err)
{
    return mdm_store_save_ex(state_dir, engine, position, NULL, err);
}

int mdm_store_save_ex(const char *state_dir, struct mdm_engine *engine, const char *position,
                      const struct mdm_store_extra *extra, struct mdm_err *err)
{
    struct mdm_buf buf;
    int rc;

    mdm_buf_init(&buf, MDM_STORE_MAX_BYTES);
    rc = mdm_buf_adds(&buf, STORE_MAGIC "\nposition ");
    if (rc == 0)
        rc = mdm_store_escape(&buf, position ? position : "");
    for (size_t t = 0; rc == 0 && t < mdm_engine_target_count(engine); t++) {
        rc = mdm_buf_adds(&buf, "\ntarget ");
        if (rc == 0)
            rc = mdm_store_escape(&buf, mdm_engine_target(engine, t));
    }
    for (size_t i = 0; rc == 0 && i < mdm_engine_instance_count(engine); i++) {
        const struct mdm_instance *inst = mdm_engine_instance(engine, i);
        const struct mdm_monitor_state *st = &inst->state;
        rc = mdm_buf_printf(&buf, "\nrow %zu ", inst->target);
        if (rc == 0)
            rc = mdm_store_escape(&buf, inst->def->id);
        if (rc == 0)
            rc = mdm_buf_printf(&buf,
                                " %d %d %d %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRIu32 " %" PRIu64
                                " %" PRId64 " ",
                                (int)st->health, st->alert_active ? 1 : 0, (int)st->alert_severity,
                                st->repeat_count, st->change_count, st->last_change_ms,
                                st->last_event_id, st->last_record_id, st->last_event_ms);
        if (rc == 0)
            rc = mdm_store_escape(&buf, st->last_description);
    }
    for (size_t i = 0; rc == 0 && i < mdm_engine_instance_count(engine); i++) {
        const struct mdm_instance *inst = mdm_engine_instance(engine, i);
        const struct mdm_monitor_state *st = &inst->state;
        if (st->timer_due_ms == 0 && st->window_count == 0)
            continue;
        rc = mdm_buf_printf(&buf, "\npending %zu ", inst->target);
        if (rc == 0)
            rc = mdm_store_escape(&buf, inst->def->id);
        if (rc == 0)
            rc = mdm_buf_printf(&buf, " %" PRId64 " %" PRId64 " %" PRIu32, st->timer_due_ms,
                                st->window_start_ms, st->window_count);
        for (uint32_t w = 0; rc == 0 && inst->window_times != NULL && w < st->window_count; w++)
            rc = mdm_buf_printf(&buf, " %" PRId64, inst->window_times[w]);
    }
    if (rc == 0 && extra != NULL && extra->save != NULL)
        rc = extra->save(extra->ctx, &buf);
    if (rc == 0)
        rc = mdm_buf_adds(&buf, "\n");
    if (rc != 0) {
        rc = mdm_err_set(err, rc, "%s: cannot serialize the monitor state: %s", state_dir,
                         mdm_strerror(rc));
        goto out;
    }
    rc = save_text(state_dir, buf.data, buf.len, err);
out:
    mdm_buf_free(&buf);
    return rc;
}

/* Splits line into at most max whitespace-separated tokens; returns the count. */
static size_t tokenize(char *line, char **tok, size_t max)
{
    size_t n = 0;
    char *save = line;

    while (n < max) {
        while (*save == ' ')
            save++;
        if (*save == '\0')
            break;
        tok[n++] = save;
        while (*save != ' ' && *save != '\0')
            save++;
        if (*save == ' ')
            *save++ = '\0';
    }
    return n;
}

static int parse_row(struct mdm_engine *engine, char **tok, size_t *target_map,
                     size_t target_map_len, size_t *dropped)
{
    struct mdm_instance *inst;
    struct mdm_monitor_state st;
    unsigned long long target;
    int health, alert, severity;

    memset(&st, 0, sizeof(st));
    if (sscanf(tok[1], "%llu", &target) != 1 || target >= target_map_len)
        return MDM_EPARSE;
    if (mdm_store_unescape(tok[2]) != 0 || mdm_store_unescape(tok[12]) != 0)
        return MDM_EPARSE;
    if (sscanf(tok[3], "%d", &health) != 1 || health < 0 || health > 3 ||
        sscanf(tok[4], "%d", &alert) != 1 || sscanf(tok[5], "%d", &severity) != 1 || severity < 0 ||
        severity > 3 || sscanf(tok[6], "%" SCNu64, &st.repeat_count) != 1 ||
        sscanf(tok[7], "%" SCNu64, &st.change_count) != 1 ||
        sscanf(tok[8], "%" SCNd64, &st.last_change_ms) != 1 ||
        sscanf(tok[9], "%" SCNu32, &st.last_event_id) != 1 ||
        sscanf(tok[10], "%" SCNu64, &st.last_record_id) != 1 ||
        sscanf(tok[11], "%" SCNd64, &st.last_event_ms) != 1)
        return MDM_EPARSE;
    inst = mdm_engine_find_instance(engine, target_map[target], tok[2]);
    if (inst == NULL) {
        if (dropped != NULL)
            (*dropped)++;
        return 0;
    }
    st.health = (enum mdm_health)health;
    st.alert_active = alert != 0;
    st.alert_severity = (enum mdm_severity)severity;
    snprintf(st.last_description, sizeof(st.last_description), "%s", tok[12]);
    inst->state = st;
    return 0;
}

/*
 * A pending line: the timer and consolidation window of one row. A window
 * larger than the monitor's Count now (the pack changed) keeps its newest
 * matches.
 */
static int parse_pending(struct mdm_engine *engine, char **tok, size_t n, size_t *target_map,
                         size_t target_map_len)
{
    struct mdm_instance *inst;
    const struct mdm_detector *det;
    unsigned long long target;
    int64_t due, start;
    uint32_t count;

    if (n < 6 || sscanf(tok[1], "%llu", &target) != 1 || target >= target_map_len ||
        mdm_store_unescape(tok[2]) != 0 || sscanf(tok[3], "%" SCNd64, &due) != 1 ||
        sscanf(tok[4], "%" SCNd64, &start) != 1 || sscanf(tok[5], "%" SCNu32, &count) != 1 ||
        due < 0 || start < 0)
        return MDM_EPARSE;
    inst = mdm_engine_find_instance(engine, target_map[target], tok[2]);
    if (inst == NULL)
        return 0; /* the monitor left the pack: its row was dropped too */
    det = &inst->def->detectors[0];
    inst->state.timer_due_ms = mdm_monitor_def_timed(inst->def) ? due : 0;
    mdm_engine_invalidate_deadline(engine);
    if (mdm_monitor_def_timed_detector(inst->def) >= 0) {
        /* A missing-event schedule window or a correlator window: its start
         * and the matches counted in it. */
        inst->state.window_count = count;
        inst->state.window_start_ms = start;
        return 0;
    }
    if (det->condition != MDM_CONDITION_CONSOLIDATOR)
        return 0;
    if (count >= det->repeat_count)
        count = det->repeat_count - 1;
    if (det->count_mode == MDM_COUNT_SLIDING) {
        size_t have = n - 6, skip;
        if (count > have)
            count = (uint32_t)have;
        skip = have - count;
        if (count > 0 && inst->window_times == NULL) {
            inst->window_times = mdm_calloc(det->repeat_count, sizeof(*inst->window_times));
            if (inst->window_times == NULL)
                return MDM_ENOMEM;
        }
        for (uint32_t w = 0; w < count; w++)
            if (sscanf(tok[6 + skip + w], "%" SCNd64, &inst->window_times[w]) != 1)
                return MDM_EPARSE;
    }
    inst->state.window_count = count;
    inst->state.window_start_ms = start;
    return 0;
}

int mdm_store_load(const char *state_dir, struct mdm_engine *engine, char *position, size_t size,
                   size_t *dropped, struct mdm_err *err)
{
    return mdm_store_load_ex(state_dir, engine, position, size, dropped, NULL, err);
}

static bool is_store_keyword(const char *line)
{
    size_t n = strcspn(line, " ");
    return (n == 8 && strncmp(line, "position", 8) == 0) ||
           (n == 6 && strncmp(line, "target", 6) == 0) ||
           (n == 3 && strncmp(line, "row", 3) == 0) || (n == 7 && strncmp(line, "pending", 7) == 0);
}

/*
 * Restores the state text data (len bytes, NUL-terminated, changed in place);
 * path names it in errors.
 */
static int parse_text(const char *path, char *data, size_t len, struct mdm_engine *engine,
                      char *position, size_t size, size_t *dropped,
                      const struct mdm_store_extra *extra, struct mdm_err *err)
{
    char *line, *next;
    size_t lineno = 0;
    size_t *target_map = NULL, targets = 0;
    int rc;

    if (strlen(data) != len) {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: contains a NUL byte", path);
        goto out;
    }
    target_map = mdm_calloc(MDM_TARGETS_MAX, sizeof(*target_map));
    if (target_map == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    position[0] = '\0';
    for (line = data; line != NULL && *line != '\0'; line = next) {
        char *tok[6 + MDM_REPEAT_COUNT_MAX];
        size_t n;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, STORE_MAGIC) != 0) {
                rc = mdm_err_set(err, MDM_EPARSE, "%s:1: not an mdmhealth state file", path);
                goto out;
            }
            continue;
        }
        if (*line != '\0' && !is_store_keyword(line) && extra != NULL && extra->load_line != NULL) {
            if (extra->load_line(extra->ctx, line) != 0)
                goto bad;
            continue;
        }
        n = tokenize(line, tok, strncmp(line, "pending ", 8) == 0 ? 6 + MDM_REPEAT_COUNT_MAX : 13);
        if (n == 2 && strcmp(tok[0], "position") == 0) {
            if (mdm_store_unescape(tok[1]) != 0 || strlen(tok[1]) >= size)
                goto bad;
            strcpy(position, tok[1]);
        } else if (n == 2 && strcmp(tok[0], "target") == 0) {
            if (mdm_store_unescape(tok[1]) != 0 || targets >= MDM_TARGETS_MAX)
                goto bad;
            rc = mdm_engine_learn_target(engine, tok[1], &target_map[targets]);
            if (rc != 0) {
                rc = mdm_err_set(err, rc, "%s:%zu: cannot restore target: %s", path, lineno,
                                 mdm_strerror(rc));
                goto out;
            }
            targets++;
        } else if (n == 13 && strcmp(tok[0], "row") == 0) {
            if (parse_row(engine, tok, target_map, targets, dropped) != 0)
                goto bad;
        } else if (n >= 6 && strcmp(tok[0], "pending") == 0) {
            rc = parse_pending(engine, tok, n, target_map, targets);
            if (rc == MDM_ENOMEM) {
                rc = mdm_err_set(err, rc, "out of memory");
                goto out;
            }
            if (rc != 0)
                goto bad;
        } else if (n > 0) {
            goto bad;
        }
    }
    rc = 0;
    goto out;
bad:
    rc = mdm_err_set(err, MDM_EPARSE, "%s:%zu: damaged state line", path, lineno);
out:
    mdm_free(target_map);
    return rc;
}

int mdm_store_load_ex(const char *state_dir, struct mdm_engine *engine, char *position, size_t size,
                      size_t *dropped, const struct mdm_store_extra *extra, struct mdm_err *err)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX], label[MDM_PATH_MAX + 64];
    char *data = NULL, *journal = NULL, *text;
    size_t len = 0, jlen = 0;
    struct journal_scan scan;
    int rc;

    if (dropped != NULL)
        *dropped = 0;
    forget_journal();
    rc = mdm_fs_read_all(state_path(state_dir, path, sizeof(path)), MDM_STORE_MAX_BYTES, &data,
                         &len, err);
    /* Not a regular file, or larger than any state we write: damaged too. */
    if (rc == MDM_EINVAL || rc == MDM_ETOOBIG)
        rc = MDM_EPARSE;
    if (rc != 0)
        return rc;
    read_journal(state_dir, &journal, &jlen);
    scan_journal(journal != NULL ? journal : "", jlen, data, len, &scan);
    cache_journal(state_dir, scan.end, scan.records + 1);
    journal_path(state_dir, jpath, sizeof(jpath));
    if (scan.torn)
        mdm_log(MDM_LOG_INFO,
                "%s: the last %llu bytes are not a complete record (a save cut short); ignored",
                jpath, (unsigned long long)(jlen - scan.end));
    text = data;
    snprintf(label, sizeof(label), "%s", path);
    if (scan.records > 0 && !scan.match_last && scan.match_earlier) {
        /* Stale: a save's journal record is durable, its state file was not yet replaced. */
        text = mdm_strndup(scan.last, scan.last_len);
        if (text == NULL) {
            rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
            goto out;
        }
        len = scan.last_len;
        snprintf(label, sizeof(label), "%s record %llu", jpath, (unsigned long long)scan.records);
        mdm_log(MDM_LOG_INFO,
                "%s is older than the newest record of %s (the agent stopped between the two "
                "writes of a save); the journal record is loaded",
                path, jpath);
    }
    rc = parse_text(label, text, len, engine, position, size, dropped, extra, err);
    if (text != data)
        mdm_free(text);
out:
    mdm_free(journal);
    mdm_free(data);
    return rc;
}

/*
 * After the damaged state file was moved aside to aside: when the journal's
 * newest record is not the text just moved, it is the state of the last
 * save (the state file was damaged by a power loss, or by hand) and becomes
 * the state file again, durably. Returns true when it did.
 */
static bool restore_from_journal(const char *state_dir, const char *aside)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX];
    char *moved = NULL, *journal = NULL;
    size_t moved_len = 0, jlen = 0;
    struct journal_scan scan;
    struct mdm_err err;
    bool restored = false;

    mdm_err_clear(&err);
    read_journal(state_dir, &journal, &jlen);
    if (journal == NULL)
        return false;
    if (mdm_fs_read_all(aside, MDM_STORE_MAX_BYTES, &moved, &moved_len, &err) != 0)
        moved = NULL;
    scan_journal(journal, jlen, moved, moved_len, &scan);
    journal_path(state_dir, jpath, sizeof(jpath));
    if (scan.records > 0 && !scan.match_last) {
        if (mdm_fs_write_atomic(state_path(state_dir, path, sizeof(path)), scan.last, scan.last_len,
                                &err) == 0) {
            mdm_log(MDM_LOG_WARNING,
                    "%s: the newest state saved in %s (record %llu) is restored from the journal",
                    path, jpath, (unsigned long long)scan.records);
            restored = true;
        } else {
            mdm_log(MDM_LOG_ERROR, "cannot restore the state from %s: %s", jpath, err.msg);
        }
    }
    mdm_free(moved);
    mdm_free(journal);
    return restored;
}

int mdm_store_set_aside(const char *state_dir, const char *why, char *moved_to, size_t size,
                        struct mdm_err *err)
{
    char path[MDM_PATH_MAX], aside[MDM_PATH_MAX + 64], stamp[32];
    size_t k = 0;
    int rc = MDM_EIO;

    state_path(state_dir, path, sizeof(path));
    /* "2026-12-06T03:04:05.678Z" -> "20261206T030405Z" */
    mdm_format_iso8601(mdm_os_now_ms(), aside, sizeof(aside));
    for (const char *p = aside; *p != '\0' && *p != '.' && k + 2 < sizeof(stamp); p++)
        if (*p != '-' && *p != ':')
            stamp[k++] = *p;
    stamp[k++] = 'Z';
    stamp[k] = '\0';
    /* Never over an older one: a second damaged file in the same second gets -2, -3... */
    for (unsigned n = 1; n <= 100 && rc != 0; n++) {
        if (n == 1)
            snprintf(aside, sizeof(aside), "%s.corrupt-%s", path, stamp);
        else
            snprintf(aside, sizeof(aside), "%s.corrupt-%s-%u", path, stamp, n);
        rc = mdm_fs_rename_new(path, aside, err);
    }
    if (rc != 0) {
        mdm_log(MDM_LOG_ERROR,
                "the state file %s is damaged (%s) and cannot be moved aside (%s); starting "
                "without it: every monitor starts from its initial state and each source from its "
                "start policy",
                path, why, err->msg);
        return rc;
    }
    forget_journal();
    if (restore_from_journal(state_dir, aside)) {
        mdm_log(MDM_LOG_WARNING,
                "the state file %s is damaged (%s); moved aside to %s; the state of the last "
                "save is taken from the journal %s",
                path, why, aside, MDM_STORE_JOURNAL);
    } else {
        mdm_log(MDM_LOG_WARNING,
                "the state file %s is damaged (%s); moved aside to %s; every monitor starts "
                "from its initial state and each source from its start policy",
                path, why, aside);
    }
    if (moved_to != NULL)
        snprintf(moved_to, size, "%s", aside);
    return 0;
}
