/*
 * run_state.c - the state file of `mdmhealth run`: its extra lines (the
 * outbox, the positions of the remote sources), saving it, and the engine
 * built from it.
 *
 * Order of work for each batch of events (docs/operators.md, "Delivery
 * guarantees"): events are evaluated, their notices are put in the
 * outbox, then the state file (states, outbox, position after the batch) is
 * replaced atomically, and only then are notices sent. A kill before the
 * write re-reads the batch on restart from the old position and old states
 * (same transitions, no duplicate); a kill after it finds the notices queued
 * and sends them.
 *
 * When the state file cannot be written (disk full, read-only volume), no
 * notice is sent and no further event is read: a notice sent before it is
 * saved could be lost or repeated by a restart. The save is retried on a
 * loop timer (save_timer: SAVE_RETRY_FIRST_MS doubling to
 * SAVE_RETRY_MAX_MS), not on every turn of the loop: each attempt creates
 * and removes a temporary file next to the state file, and when that
 * directory is also the followed file's directory the attempt itself wakes
 * the loop (inotify), which used to make a failed save retry, and log, in a
 * tight loop. The failure is logged once per cause; its repeats are counted
 * and summed up when the cause changes, every SAVE_SUMMARY_MS while it
 * lasts, and when saving works again.
 */
#include "agent/cli/run_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_log.h"
#include "agent/os/mdm_os.h"
#include "agent/common/mdm_text.h"
#include "agent/engine/store.h"

#include <stdio.h>
#include <string.h>

/* The state file's extra lines: the outbox, then the positions of the remote sources. */
static int state_save_cb(void *ctx, struct mdm_buf *buf)
{
    struct agent *a = ctx;
    int rc = mdm_outbox_save(&a->outbox, buf);

    for (size_t i = 1; rc == 0 && i < a->source_count; i++) {
        const struct agent_source *s = &a->sources[i];
        if (s->computer == NULL || s->position[0] == '\0')
            continue;
        rc = mdm_buf_adds(buf, "\n" POSITION_KEYWORD " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, s->computer);
        if (rc == 0)
            rc = mdm_buf_adds(buf, " ");
        if (rc == 0)
            rc = mdm_store_escape(buf, s->position);
    }
    return rc;
}

/* Takes "COMPUTER POSITION" (escaped) of a source-position line into a->saved. */
static int load_position_line(struct agent *a, char *rest)
{
    char *computer = rest, *position = strchr(rest, ' ');
    struct saved_position *grown;

    if (position == NULL)
        return MDM_EPARSE;
    *position++ = '\0';
    if (strchr(position, ' ') != NULL || mdm_store_unescape(computer) != 0 ||
        mdm_store_unescape(position) != 0 || computer[0] == '\0')
        return MDM_EPARSE;
    if (strlen(position) >= MDM_SOURCE_POSITION_MAX) {
        /* Cutting it would resume at another record: not one of our positions. */
        mdm_log(MDM_LOG_WARNING,
                "the saved position of %s is too long to be valid; reading its log from the start",
                computer);
        return 0;
    }
    if (a->saved_count >= MDM_CONFIG_TARGETS_MAX)
        return 0; /* more than a configuration can name: none of them is needed */
    grown = mdm_realloc(a->saved, (a->saved_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    a->saved = grown;
    grown[a->saved_count].computer = mdm_strdup(computer);
    if (grown[a->saved_count].computer == NULL)
        return MDM_ENOMEM;
    memcpy(grown[a->saved_count].position, position, strlen(position) + 1);
    a->saved_count++;
    return 0;
}

static int state_load_cb(void *ctx, char *line)
{
    struct agent *a = ctx;

    if (strncmp(line, POSITION_KEYWORD " ", sizeof(POSITION_KEYWORD)) == 0)
        return load_position_line(a, line + sizeof(POSITION_KEYWORD));
    return mdm_outbox_load_line(&a->outbox, line);
}

void mdm_run_free_saved(struct agent *a)
{
    for (size_t i = 0; i < a->saved_count; i++)
        mdm_free(a->saved[i].computer);
    mdm_free(a->saved);
    a->saved = NULL;
    a->saved_count = 0;
}

static int ignore_line_cb(void *ctx, char *line)
{
    (void)ctx;
    (void)line;
    return 0;
}

/* "HH:MM UTC" of a wall-clock time in ms since 1970 (the log's own time zone). */
static void format_hhmm(int64_t ms, char *out, size_t size)
{
    int64_t minutes = ms / 60000;

    snprintf(out, size, "%02d:%02d UTC", (int)(minutes / 60 % 24), (int)(minutes % 60));
}

/* Logs how often saving failed since the condition began (when there is news). */
void mdm_run_log_save_summary(struct agent *a, const char *what)
{
    char since[16];

    if (a->save_failures == a->save_summarized)
        return;
    format_hhmm(a->save_failing_since, since, sizeof(since));
    mdm_log(MDM_LOG_ERROR, "%s: saving the state failed %llu times since %s", what,
            (unsigned long long)a->save_failures, since);
    a->save_summarized = a->save_failures;
}

/*
 * Saves the state file. While saving fails, an attempt is made only when
 * save_timer fires or with force (reload, stop). Returns 0, MDM_EAGAIN when
 * it is not time to retry yet, or the error of the failed save.
 */
int mdm_run_save_state_ex(struct agent *a, bool force)
{
    struct mdm_store_extra extra = {state_save_cb, NULL, a};
    struct mdm_err err;
    int64_t now = mdm_os_monotonic_ms();
    int rc;

    if (a->save_failing && !force)
        return MDM_EAGAIN;
    mdm_err_clear(&err);
    rc = mdm_store_save_deferred(a->cfg->state_dir, a->engine,
                                 a->source_count > 0 ? a->sources[0].position : a->saved_main,
                                 &extra, &err);
    if (rc != 0) {
        if (!a->save_failing) {
            mdm_log(MDM_LOG_ERROR,
                    "cannot save the state: %s; no notification is sent and no event is read "
                    "until it can be saved (retrying)",
                    err.msg);
            a->save_failing = true;
            a->save_failures = a->save_summarized = 1;
            a->save_failing_since = mdm_os_now_ms();
            a->save_backoff_ms = SAVE_RETRY_FIRST_MS;
            a->save_summary_at = now + SAVE_SUMMARY_MS;
            mdm_utf8_copy(a->save_error, sizeof(a->save_error), err.msg);
        } else if (strcmp(a->save_error, err.msg) != 0) {
            /* Another cause: close the count of the old one, report the new one once. */
            mdm_run_log_save_summary(a, "cause changed");
            mdm_log(MDM_LOG_ERROR, "cannot save the state: %s (retrying)", err.msg);
            a->save_failures = a->save_summarized = 1;
            a->save_failing_since = mdm_os_now_ms();
            mdm_utf8_copy(a->save_error, sizeof(a->save_error), err.msg);
        } else {
            a->save_failures++;
            if (now >= a->save_summary_at) {
                mdm_run_log_save_summary(a, a->save_error);
                a->save_summary_at = now + SAVE_SUMMARY_MS;
            }
            a->save_backoff_ms *= 2;
            if (a->save_backoff_ms > SAVE_RETRY_MAX_MS)
                a->save_backoff_ms = SAVE_RETRY_MAX_MS;
        }
        if (mdm_loop_timer_start(&a->save_timer, a->save_backoff_ms, 0) != 0)
            mdm_log(MDM_LOG_ERROR, "cannot plan the next attempt to save the state (out of "
                                   "memory); it is made when the next event or request arrives");
        return rc;
    }
    if (a->save_failing) {
        char since[16];
        format_hhmm(a->save_failing_since, since, sizeof(since));
        mdm_log(MDM_LOG_INFO,
                "the state is saved again (saving failed %llu times since %s); delivery and "
                "reading resume",
                (unsigned long long)a->save_failures, since);
        a->save_failing = false;
        a->save_failures = a->save_summarized = 0;
        mdm_loop_timer_stop(&a->save_timer);
    }
    a->dirty = false;
    return 0;
}

int mdm_run_save_state(struct agent *a)
{
    return mdm_run_save_state_ex(a, false);
}

/*
 * Writes the state file of the turn's save, once what the save allowed has
 * been sent (store.h, mdm_store_save_deferred). A failure here loses nothing
 * (the journal holds the state) and stops nothing; it is logged when it
 * begins and when it ends.
 */
void mdm_run_publish_state(struct agent *a)
{
    struct mdm_err err;

    if (!mdm_store_deferred_pending())
        return;
    mdm_err_clear(&err);
    if (mdm_store_publish(&err) != 0) {
        if (!a->publish_failing)
            mdm_log(MDM_LOG_WARNING,
                    "cannot update the state file for readers: %s; the state is saved in %s/%s "
                    "and loaded from there at the next start",
                    err.msg, a->cfg->state_dir, MDM_STORE_JOURNAL);
        a->publish_failing = true;
    } else if (a->publish_failing) {
        mdm_log(MDM_LOG_INFO, "the state file is updated again");
        a->publish_failing = false;
    }
}

/* save_timer: the next attempt while saving fails. */
static void on_save_timer(struct mdm_loop_timer *t, void *ctx)
{
    struct agent *a = ctx;

    (void)t;
    if (a->save_failing)
        (void)mdm_run_save_state_ex(a, true);
}

void mdm_run_state_timers_init(struct agent *a)
{
    mdm_loop_timer_init(a->loop, &a->save_timer, on_save_timer, a);
}

/*
 * Builds an engine for cfg/pack holding the saved states. With restore, the
 * outbox and the positions are taken from the state file too (a->outbox,
 * a->saved_main, a->saved); otherwise their lines are skipped.
 *
 * With a portable source the `target` lines restrict which computers are
 * evaluated. With the Windows channel the targets are this computer plus the
 * `target` lines, each read from its own log, so every computer whose events
 * arrive becomes a target of its own.
 */
int mdm_run_new_engine(struct agent *a, struct mdm_config *cfg, struct mdm_pack *pack, bool restore,
                       struct mdm_engine **out, struct mdm_err *err)
{
    struct mdm_engine *engine = NULL;
    struct mdm_store_extra extra = {NULL, restore ? state_load_cb : ignore_line_cb,
                                    restore ? (void *)a : NULL};
    char position[MDM_STORE_POSITION_MAX];
    size_t dropped = 0;
    int rc;

    rc = mdm_engine_new(pack, true, &engine, err);
    for (size_t t = 0; rc == 0 && cfg->has_source && t < cfg->target_count; t++)
        rc = mdm_engine_add_target(engine, cfg->targets[t], NULL);
    if (rc != 0) {
        mdm_engine_free(engine);
        return rc;
    }
    rc = mdm_store_load_ex(cfg->state_dir, engine, position, sizeof(position), &dropped, &extra,
                           err);
    if (rc == MDM_ENOTFOUND) {
        position[0] = '\0';
        rc = 0;
    }
    if (rc == MDM_EPARSE && restore) {
        /*
         * A damaged state file never blocks the start (store.h): it is moved
         * aside and reported, and what it restored so far is dropped with it.
         */
        struct mdm_err aside_err;
        bool moved = mdm_store_set_aside(cfg->state_dir, err->msg, NULL, 0, &aside_err) == 0;
        mdm_engine_free(engine);
        engine = NULL;
        mdm_run_free_saved(a);
        a->saved_main[0] = '\0';
        mdm_outbox_free(&a->outbox);
        if (mdm_outbox_init(&a->outbox, 0) != 0)
            return mdm_err_set(err, MDM_ENOMEM, "out of memory");
        if (moved)
            return mdm_run_new_engine(a, cfg, pack, restore, out, err);
        rc = mdm_engine_new(pack, true, &engine, err);
        for (size_t t = 0; rc == 0 && cfg->has_source && t < cfg->target_count; t++)
            rc = mdm_engine_add_target(engine, cfg->targets[t], NULL);
        position[0] = '\0';
    }
    if (rc != 0) {
        mdm_engine_free(engine);
        return rc;
    }
    if (dropped > 0)
        mdm_log(MDM_LOG_INFO, "%zu saved row(s) belong to monitors no longer in the pack", dropped);
    if (restore) {
        size_t len = strlen(position);
        if (len >= sizeof(a->saved_main)) {
            /* Cutting it would resume at another record: not one of our positions. */
            mdm_log(MDM_LOG_WARNING,
                    "%s: the saved position is too long to be valid; reading from the start",
                    cfg->state_dir);
            len = 0;
        }
        memcpy(a->saved_main, position, len);
        a->saved_main[len] = '\0';
    }
    mdm_engine_set_service_probe(engine, mdm_run_service_probe, a);
    *out = engine;
    return 0;
}
