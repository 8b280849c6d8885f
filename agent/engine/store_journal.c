/*
 * store_journal.c - how the state text reaches the disk: the journal, the
 * compaction, the deferred state file and the recovery of a damaged one (the
 * text itself is store.c's).
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
 *
 * The deferred state file (mdm_store_save_deferred, mdm_store_publish): the
 * replacement of the state file is not part of durability, yet on ext4 it
 * costs about as much as the journal's flush, because a rename over an
 * existing file starts the write-back of the new one (auto_da_alloc): 0.47 ms
 * median after an idle pause on the benchmark machine, against 0.62 ms for
 * the fdatasync (bench/results.md). The agent therefore saves deferred, sends
 * what the save made durable, and publishes the state file afterwards, in
 * the same turn. Between the two, the state file is the previous record of
 * the journal, which a load takes as stale (above): a crash there loses
 * nothing either.
 */
#include "agent/engine/store_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_crc32.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * The state file of the last deferred save, not yet written (the agent saves
 * from one thread only). text holds the buffer the save was given.
 */
static struct {
    char dir[MDM_PATH_MAX];
    struct mdm_buf text;
    bool pending;
} deferred;

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
    uint32_t text_crc = text != NULL ? mdm_crc32(0, text, text_len) : 0;
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
            if (mdm_crc32(0, rec, (size_t)rec_len) != (uint32_t)crc)
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
                        mdm_crc32(0, text, len));
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
 * Writes the state file of the deferred save, if one is pending (no flush:
 * the journal already holds the text). Returns 0 or the error of the write.
 */
int mdm_store_publish(struct mdm_err *err)
{
    char path[MDM_PATH_MAX + sizeof("/" MDM_STORE_FILE)];
    int rc;

    if (!deferred.pending)
        return 0;
    deferred.pending = false;
    rc = mdm_fs_replace_unflushed(state_path(deferred.dir, path, sizeof(path)), deferred.text.data,
                                  deferred.text.len, err);
    mdm_buf_free(&deferred.text);
    return rc;
}

bool mdm_store_deferred_pending(void)
{
    return deferred.pending;
}

void mdm_store_drop_deferred(void)
{
    deferred.pending = false;
    mdm_buf_free(&deferred.text);
}

/*
 * Keeps text (taken: text is left holding an empty buffer) as the state file
 * to write at mdm_store_publish. A pending one of another state directory is
 * written first (a test, or a tool saving two directories).
 */
static void defer_state_file(const char *state_dir, struct mdm_buf *text)
{
    struct mdm_buf old;

    if (deferred.pending && strcmp(deferred.dir, state_dir) != 0) {
        struct mdm_err err;
        mdm_err_clear(&err);
        if (mdm_store_publish(&err) != 0)
            mdm_log(MDM_LOG_WARNING, "cannot update the state file: %s", err.msg);
    }
    old = deferred.text;
    deferred.text = *text;
    *text = old;
    mdm_buf_reset(text);
    snprintf(deferred.dir, sizeof(deferred.dir), "%s", state_dir);
    deferred.pending = true;
}

int mdm_store_write_text(const char *state_dir, struct mdm_buf *text, bool defer,
                         struct mdm_err *err)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX];
    struct mdm_fs_info info;
    struct mdm_buf rec;
    uint64_t at, seq;
    size_t len = text->len;
    int rc;

    mdm_buf_init(&rec, MDM_STORE_MAX_BYTES + JOURNAL_HEADER_MAX);
    state_path(state_dir, path, sizeof(path));
    journal_position(state_dir, &at, &seq);
    if (seq <= 1 || mdm_fs_stat(path, &info) != 0 ||
        at + len + JOURNAL_HEADER_MAX > journal_limit(len + JOURNAL_HEADER_MAX)) {
        /* Durable as the state file itself: what a deferred save left is older. */
        if (strcmp(deferred.dir, state_dir) == 0)
            mdm_store_drop_deferred();
        rc = compact(state_dir, text->data, len, &rec, err);
        goto out;
    }
    rc = make_record(&rec, seq, text->data, len);
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
    defer_state_file(state_dir, text);
    if (!defer)
        rc = mdm_store_publish(err);
out:
    mdm_buf_free(&rec);
    return rc;
}

int mdm_store_read_text(const char *state_dir, char **text, size_t *len, char *label,
                        size_t label_size, struct mdm_err *err)
{
    char path[MDM_PATH_MAX], jpath[MDM_PATH_MAX];
    char *data = NULL, *journal = NULL;
    size_t data_len = 0, jlen = 0;
    struct journal_scan scan;
    int rc;

    forget_journal();
    rc = mdm_fs_read_all(state_path(state_dir, path, sizeof(path)), MDM_STORE_MAX_BYTES, &data,
                         &data_len, err);
    /* Not a regular file, or larger than any state we write: damaged too. */
    if (rc == MDM_EINVAL || rc == MDM_ETOOBIG)
        rc = MDM_EPARSE;
    if (rc != 0)
        return rc;
    read_journal(state_dir, &journal, &jlen);
    scan_journal(journal != NULL ? journal : "", jlen, data, data_len, &scan);
    cache_journal(state_dir, scan.end, scan.records + 1);
    journal_path(state_dir, jpath, sizeof(jpath));
    if (scan.torn)
        mdm_log(MDM_LOG_INFO,
                "%s: the last %llu bytes are not a complete record (a save cut short); ignored",
                jpath, (unsigned long long)(jlen - scan.end));
    snprintf(label, label_size, "%s", path);
    if (scan.records > 0 && !scan.match_last && scan.match_earlier) {
        /* Stale: a save's journal record is durable, its state file was not yet replaced. */
        char *newest = mdm_strndup(scan.last, scan.last_len);
        if (newest == NULL) {
            rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
            goto out;
        }
        mdm_free(data);
        data = newest;
        data_len = scan.last_len;
        snprintf(label, label_size, "%s record %llu", jpath, (unsigned long long)scan.records);
        mdm_log(MDM_LOG_INFO,
                "%s is older than the newest record of %s (the agent stopped between the two "
                "writes of a save); the journal record is loaded",
                path, jpath);
    }
    *text = data;
    *len = data_len;
    data = NULL;
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
