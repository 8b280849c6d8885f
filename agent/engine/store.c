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
 * How the text reaches the disk (the journal, the deferred state file, a
 * damaged file set aside) is store_journal.c.
 */
#include "agent/engine/store_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAGIC "mdmhealth-state 1"

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

int mdm_store_save(const char *state_dir, struct mdm_engine *engine, const char *position,
                   struct mdm_err *err)
{
    return mdm_store_save_ex(state_dir, engine, position, NULL, err);
}

/* The state text of engine and position, made durable (see store_journal.c). */
static int save(const char *state_dir, struct mdm_engine *engine, const char *position,
                const struct mdm_store_extra *extra, bool defer, struct mdm_err *err)
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
    rc = mdm_store_write_text(state_dir, &buf, defer, err);
out:
    mdm_buf_free(&buf);
    return rc;
}

int mdm_store_save_ex(const char *state_dir, struct mdm_engine *engine, const char *position,
                      const struct mdm_store_extra *extra, struct mdm_err *err)
{
    return save(state_dir, engine, position, extra, false, err);
}

int mdm_store_save_deferred(const char *state_dir, struct mdm_engine *engine, const char *position,
                            const struct mdm_store_extra *extra, struct mdm_err *err)
{
    return save(state_dir, engine, position, extra, true, err);
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
            int line_rc = extra->load_line(extra->ctx, line);
            if (line_rc == MDM_ENOMEM) {
                /* Not a damaged file: a file set aside for this would lose its notices. */
                rc = mdm_err_set(err, MDM_ENOMEM, "%s:%zu: out of memory", path, lineno);
                goto out;
            }
            if (line_rc != 0)
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
    char label[MDM_PATH_MAX + 64];
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (dropped != NULL)
        *dropped = 0;
    rc = mdm_store_read_text(state_dir, &text, &len, label, sizeof(label), err);
    if (rc != 0)
        return rc;
    rc = parse_text(label, text, len, engine, position, size, dropped, extra, err);
    mdm_free(text);
    return rc;
}
