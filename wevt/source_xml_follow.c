/*
 * source_xml_follow.c - following a file that grows, is rotated or truncated,
 * and the positions that say where to go on (see source_xml.c).
 *
 * xml-follow reads a file that another program appends to. At the end of the
 * data it returns MDM_EAGAIN (an event still being written stays pending) and
 * mdm_source_wait() sleeps on follow.h until the file changes. A file that is
 * replaced (rotated) is read to its end, then the new file is read from its
 * start; a file that shrinks (truncated) is read again from the start.
 *
 * Positions (opaque to the engine, saved in the state file) say where to go
 * on and which file that offset belongs to:
 *
 *     OFFSET[;skip=event|;skip=text][;id=DEV:INO;head=LEN:HASH]
 *
 * OFFSET is the decimal byte offset just past the last event returned (or of
 * the start of a construct still pending). skip=event: the lexer was skipping
 * a damaged construct up to the next "<Event"; skip=text: it was inside text
 * outside events that was already reported. DEV:INO (hex) is the file's
 * identity (device and inode on POSIX; volume serial number and file index on
 * Windows), and HASH (hex) the 64-bit FNV-1a hash of its first LEN bytes
 * (LEN = all bytes read from the start, at most HEAD_MAX: enough to hold the
 * first event, whose EventRecordID and TimeCreated tell files apart). A bare
 * OFFSET (what older versions saved) is an offset with an unknown identity.
 *
 * On resume the file at OFFSET is looked for: the file itself when its
 * identity and head match, else the rotated file next to it (PATH.1) when
 * that is the one; it is read from OFFSET and then PATH from its start. When
 * only the head matches (a copy, as copytruncate rotation makes, or a volume
 * whose device number changed), the content is the same and that file is
 * used. When nothing matches, PATH is read from its start and the first call
 * to next() reports once, as MDM_EBADRECORD, that events may have been lost.
 */
#include "wevt/source_xml_impl.h"

#include "wevt/follow.h"
#include "agent/os/mdm_fs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv_add(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

/* Feeds the bytes of the file's first HEAD_MAX that a read brought into the fingerprint. */
void mdm_xml_add_to_head(struct xml_source *x, const char *chunk, size_t n, uint64_t at)
{
    if (x->head_len >= HEAD_MAX || at > x->head_len || at + n <= x->head_len)
        return;
    size_t skip = (size_t)(x->head_len - at);
    size_t take = n - skip;
    if (take > HEAD_MAX - x->head_len)
        take = (size_t)(HEAD_MAX - x->head_len);
    x->head_hash = fnv_add(x->head_hash, chunk + skip, take);
    x->head_len += take;
}

/* Starts over on file name from its start (after a rotation, truncation, or the rotated file). */
int mdm_xml_reopen_from_start(struct xml_source *x, const char *name, struct mdm_err *err)
{
    int rc;

    if (x->fp != NULL)
        fclose(x->fp);
    x->fp = NULL;
    x->in_rotated = false;
    mdm_xml_reset_scanner(x, 0);
    x->started = false;
    rc = mdm_xml_open_file(x, name, err);
    return rc;
}

/*
 * xml-follow at the end of the data: was the file replaced or truncated?
 * Returns 1 when the scanner switched to a new file (or reopened the same
 * one from its start), 0 when nothing changed, or -1 when a pending event
 * was lost and has been reported in err.
 */
int mdm_xml_follow_check_file(struct xml_source *x, struct mdm_err *err)
{
    struct mdm_fs_info now;
    bool replaced, truncated;
    int lost = 0;
    struct mdm_err ignored;

    if (mdm_fs_stat(x->path, &now) != 0)
        return 0; /* gone for now (rotation in progress): keep what we have */
    if (x->fp == NULL) {
        if (mdm_xml_open_file(x, x->path, err) != 0 || x->fp == NULL)
            return 0;
        mdm_xml_reset_scanner(x, 0);
        x->started = false;
        return 1;
    }
    replaced = now.dev != x->info.dev || now.ino != x->info.ino;
    truncated = !replaced && now.size < x->read_offset;
    if (!replaced && !truncated)
        return 0;
    if (x->in_event) {
        mdm_xml_bad_record(
            x, err, x->event_line, x->buf_offset + x->event_start,
            replaced ? "event is incomplete (the file was replaced before its </Event>)"
                     : "event is incomplete (the file was truncated before its </Event>)");
        lost = -1;
    }
    if (mdm_xml_reopen_from_start(x, x->path, &ignored) != 0 || x->fp == NULL)
        return lost;
    return lost ? lost : 1;
}

int mdm_xml_position(struct mdm_source *src, char *buf, size_t size)
{
    struct xml_source *x = impl(src);
    uint64_t at = x->buf_offset + x->pos;
    const char *skip = "";
    int n;

    if (x->in_event)
        at = x->buf_offset + x->event_start;
    else if (x->lex == LEX_RESYNC)
        skip = ";skip=event";
    else if (x->lex != LEX_TEXT)
        at = x->mark_offset; /* the construct is read again from its start */
    else if (x->in_garbage)
        skip = ";skip=text";
    if (x->fp == NULL || x->is_stdin || !x->have_info) {
        snprintf(buf, size, "%" PRIu64 "%s", at, skip);
        return 0;
    }
    n = snprintf(buf, size, "%" PRIu64 "%s;id=%" PRIx64 ":%" PRIx64 ";head=%" PRIu64 ":%016" PRIx64,
                 at, skip, x->info.dev, x->info.ino, x->head_len, x->head_hash);
    if (n < 0 || (size_t)n >= size)
        snprintf(buf, size, "%" PRIu64 "%s", at, skip); /* a caller's short buffer */
    return 0;
}

/* A parsed position string (see the header comment). */
struct xml_position {
    uint64_t offset;
    enum lex_state lex; /* LEX_TEXT or LEX_RESYNC */
    bool in_garbage;
    bool has_id;
    uint64_t dev, ino, head_len, head_hash;
};

static bool parse_u64(const char **p, int base, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    char c = **p;
    bool digit = (c >= '0' && c <= '9') ||
                 (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));

    /* strtoull() alone would take spaces, signs and "0x" too. */
    if (!digit)
        return false;
    errno = 0;
    v = strtoull(*p, &end, base);
    if (errno != 0 || end == *p)
        return false;
    *out = v;
    *p = end;
    return true;
}

static bool parse_position(const char *s, struct xml_position *out)
{
    const char *p = s;
    struct xml_position pos = {0, LEX_TEXT, false, false, 0, 0, 0, 0};
    bool have_head = false;

    if (!parse_u64(&p, 10, &pos.offset))
        return false;
    while (*p == ';') {
        p++;
        if (strncmp(p, "skip=event", 10) == 0) {
            pos.lex = LEX_RESYNC;
            p += 10;
        } else if (strncmp(p, "skip=text", 9) == 0) {
            pos.in_garbage = true;
            p += 9;
        } else if (strncmp(p, "id=", 3) == 0) {
            p += 3;
            if (!parse_u64(&p, 16, &pos.dev) || *p++ != ':' || !parse_u64(&p, 16, &pos.ino))
                return false;
            pos.has_id = true;
        } else if (strncmp(p, "head=", 5) == 0) {
            p += 5;
            if (!parse_u64(&p, 10, &pos.head_len) || *p++ != ':' ||
                !parse_u64(&p, 16, &pos.head_hash) || pos.head_len > HEAD_MAX)
                return false;
            have_head = true;
        } else {
            return false;
        }
        if (*p != '\0' && *p != ';')
            return false;
    }
    if (*p != '\0' || pos.has_id != have_head)
        return false;
    *out = pos;
    return true;
}

/*
 * Hashes the first HEAD_MAX bytes of fp (from its start; the stream is left
 * anywhere): *len_out bytes were there, *all their hash, and *prefix the hash
 * of the first prefix_len of them (when there were that many: *has_prefix).
 */
static int hash_head(FILE *fp, uint64_t prefix_len, uint64_t *len_out, uint64_t *all,
                     uint64_t *prefix, bool *has_prefix)
{
    char head[HEAD_MAX];
    size_t n;

    if (mdm_fs_seek(fp, 0) != 0)
        return MDM_EIO;
    n = fread(head, 1, sizeof(head), fp);
    if (n == 0 && ferror(fp))
        return MDM_EIO;
    clearerr(fp);
    *len_out = n;
    *all = fnv_add(FNV_OFFSET_BASIS, head, n);
    *has_prefix = prefix_len <= n;
    *prefix = *has_prefix ? fnv_add(FNV_OFFSET_BASIS, head, (size_t)prefix_len) : 0;
    return 0;
}

/* A file that may hold the saved position: the followed one or the rotated one. */
struct candidate {
    FILE *fp;
    bool have_info;
    struct mdm_fs_info info;
    uint64_t head_len, head_hash; /* of what is there now, for reading on */
    bool same_id;                 /* device and inode (file index) as saved */
    bool same_head;               /* the saved head is there, the file reaches the offset */
};

static void examine(struct candidate *c, const struct xml_position *pos)
{
    uint64_t prefix = 0;
    bool has_prefix = false;

    c->have_info = mdm_fs_fstat(c->fp, &c->info) == 0;
    c->same_id = c->have_info && c->info.dev == pos->dev && c->info.ino == pos->ino;
    if (hash_head(c->fp, pos->head_len, &c->head_len, &c->head_hash, &prefix, &has_prefix) != 0)
        return;
    c->same_head =
        c->have_info && has_prefix && prefix == pos->head_hash && c->info.size >= pos->offset;
}

/* Goes on reading the candidate's file (name) from the saved position. */
static int resume_in(struct xml_source *x, struct candidate *c, const char *name,
                     const struct xml_position *pos, struct mdm_err *err)
{
    if (mdm_fs_seek(c->fp, pos->offset) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, name, pos->offset);
    if (x->fp != NULL && x->fp != c->fp)
        fclose(x->fp);
    x->fp = c->fp;
    c->fp = NULL;
    x->now = name;
    x->in_rotated = name == x->rotated_path;
    x->info = c->info;
    x->have_info = c->have_info;
    mdm_xml_reset_scanner(x, pos->offset);
    x->head_len = c->head_len;
    x->head_hash = c->head_hash;
    x->lex = pos->lex;
    x->in_garbage = pos->in_garbage;
    x->started = pos->offset > 0;
    return 0;
}

int mdm_xml_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    struct xml_source *x = impl(src);
    struct xml_position pos;
    struct candidate cur = {0}, old = {0};
    const char *why;
    int rc;

    if (!parse_position(position, &pos))
        return mdm_err_set(err, MDM_EINVAL, "%s: invalid resume position \"%.80s\"", x->path,
                           position);
    if (x->is_stdin)
        return mdm_err_set(err, MDM_EUNSUPPORTED, "cannot resume standard input at byte %" PRIu64,
                           pos.offset);
    if (!pos.has_id) {
        /* A bare offset, as older versions saved it: the file is taken on trust. */
        if (x->fp == NULL)
            return 0; /* follow: the file does not exist yet; start at 0 when it does */
        if (x->follow) {
            struct mdm_fs_info now;
            /* A position past the end means the file was replaced while we were stopped. */
            if (mdm_fs_fstat(x->fp, &now) == 0 && pos.offset > now.size)
                pos.offset = 0;
        }
        if (mdm_fs_seek(x->fp, pos.offset) != 0)
            return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte %" PRIu64, x->path,
                               pos.offset);
        mdm_xml_reset_scanner(x, pos.offset);
        x->lex = pos.lex;
        x->in_garbage = pos.in_garbage;
        x->started = pos.offset > 0;
        return 0;
    }

    cur.fp = x->fp;
    if (cur.fp != NULL)
        examine(&cur, &pos);
    if (!(cur.same_id && cur.same_head)) {
        old.fp = mdm_fs_fopen(x->rotated_path, "rb");
        if (old.fp != NULL)
            examine(&old, &pos);
    }
    /*
     * The very file first; then the rotated one; then a file with the same
     * content under another identity (a copy, or a device renumbered).
     */
    if (cur.same_id && cur.same_head)
        rc = resume_in(x, &cur, x->path, &pos, err);
    else if (old.same_id && old.same_head)
        rc = resume_in(x, &old, x->rotated_path, &pos, err);
    else if (cur.same_head)
        rc = resume_in(x, &cur, x->path, &pos, err);
    else if (old.same_head)
        rc = resume_in(x, &old, x->rotated_path, &pos, err);
    else
        rc = 1;
    if (old.fp != NULL)
        fclose(old.fp);
    if (rc <= 0)
        return rc;

    /* Nothing holds the saved position: read the file from its start and say so once. */
    if (cur.fp == NULL)
        why = "does not exist";
    else if (cur.same_id && cur.info.size < pos.offset)
        why = "was truncated";
    else if (cur.same_id)
        why = "was rewritten (its first bytes changed)";
    else
        why = "is another file (rotated or replaced)";
    snprintf(x->note, sizeof(x->note),
             "%s: while the agent was stopped the file %s, and the file read before (at byte "
             "%" PRIu64 ") is not %s either; events written to it after that byte may have "
             "been lost; reading %s from its start",
             x->path, why, pos.offset, x->rotated_path, x->path);
    x->have_note = true;
    if (x->fp != NULL && mdm_fs_seek(x->fp, 0) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot seek to byte 0", x->path);
    mdm_xml_reset_scanner(x, 0);
    x->started = false;
    return 0;
}
