/*
 * run_sources.c - the event sources of `mdmhealth run`.
 *
 * With a portable `source` line the agent reads that one source. Without
 * one (Windows) it reads the event log channel of this computer and, for
 * each `target` line, the channel of that computer through a remote session
 * ("\\COMPUTER\CHANNEL"). Each source has its own position: the local one
 * is the state file's `position` line, a remote one a line `source-position
 * COMPUTER POSITION`. Every turn of the loop reads every source in turn, a
 * bounded share of events each, so one busy log cannot starve the others. A
 * source that cannot be opened, or that broke, is reopened by its own loop
 * timer after SOURCE_RETRY_MS without touching the others. A source with a
 * wake-up descriptor (inotify for xml-follow, the subscription's signal on
 * Windows) has a watcher on the loop, so an idle agent sleeps.
 */
#include "agent/cli/run_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_log.h"
#include "agent/common/mdm_text.h"

#include <stdio.h>
#include <string.h>

static const char *health_word(enum mdm_health h)
{
    return mdm_health_name(h);
}

void mdm_run_queue_notice(struct agent *a, const struct mdm_notice *n)
{
    if (mdm_outbox_push(&a->outbox, n) != 0)
        mdm_log(MDM_LOG_ERROR,
                "out of memory: the notification of %s for record %llu could not be queued and "
                "is not sent (the MIB tables still show the state)",
                n->target, (unsigned long long)n->record_id);
}

int mdm_run_on_transition(const struct mdm_transition *t, void *ctx)
{
    struct agent *a = ctx;
    struct mdm_notice n;

    mdm_log(MDM_LOG_INFO, "%s: %s: %s -> %s%s (event %u, record %llu)", t->target,
            t->def->display_name ? t->def->display_name : t->def->id, health_word(t->from),
            health_word(t->to),
            t->alert == MDM_ALERT_RAISED     ? ", alert raised"
            : t->alert == MDM_ALERT_RESOLVED ? ", alert resolved"
            : t->alert == MDM_ALERT_UPDATED  ? ", alert updated"
                                             : "",
            (unsigned)mdm_event_display_number(t->event), (unsigned long long)t->event->record_id);
    if (t->alert == MDM_ALERT_NONE)
        return 0;
    memset(&n, 0, sizeof(n));
    n.kind = t->alert == MDM_ALERT_RESOLVED ? MDM_NOTICE_RESOLVED : MDM_NOTICE_RAISED;
    n.row = t->instance->index;
    n.health = t->to;
    n.severity = t->severity;
    n.priority = t->priority;
    n.event_id = mdm_event_display_number(t->event);
    n.record_id = t->event->record_id;
    n.time_ms = t->event->time_unix_ms;
    mdm_utf8_copy(n.monitor, sizeof(n.monitor), t->def->id);
    mdm_utf8_copy(n.target, sizeof(n.target), t->target);
    mdm_utf8_copy(n.description, sizeof(n.description), t->description ? t->description : "");
    mdm_run_queue_notice(a, &n);
    if (t->alert == MDM_ALERT_RAISED || t->alert == MDM_ALERT_RESOLVED)
        mdm_run_forget_sent(a, n.row);
    if (t->alert == MDM_ALERT_RAISED)
        mdm_run_request_diagnosis(a, &n);
    else if (t->alert == MDM_ALERT_RESOLVED && mdm_loop_timer_active(&a->diag_timer) &&
             mdm_run_rows_in_error(a) == 0)
        mdm_run_plan_periodic(a); /* the engine updated the row before this call: the runs stop */
    return 0;
}

static void set_source_detail(struct agent *a, enum mdm_source_state state, const char *detail)
{
    a->status.source_state = state;
    mdm_utf8_copy(a->status.source_detail, sizeof(a->status.source_detail), detail);
}

/*
 * mdmAgentSourceState / Detail over every source: retrying while any source
 * is (naming the first one's error), else stopped when source 0 was read to
 * its end, else running.
 */
void mdm_run_update_status(struct agent *a)
{
    const struct agent_source *first = NULL, *s0 = &a->sources[0];
    size_t retrying = 0;
    char detail[256];

    for (size_t i = 0; i < a->source_count; i++)
        if (a->sources[i].retrying && retrying++ == 0)
            first = &a->sources[i];
    if (first != NULL) {
        if (retrying == 1)
            snprintf(detail, sizeof(detail), "%s", first->error);
        else
            snprintf(detail, sizeof(detail), "%s (and %zu more source(s) retrying)", first->error,
                     retrying - 1);
        set_source_detail(a, MDM_SOURCE_RETRYING, detail);
    } else if (s0->done) {
        set_source_detail(a, MDM_SOURCE_STOPPED, "the input was read to its end");
    } else {
        snprintf(detail, sizeof(detail), "%s %s", s0->src != NULL ? s0->src->ops->name : "",
                 s0->path);
        if (a->source_count > 1)
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " and %zu target(s)",
                     a->source_count - 1);
        set_source_detail(a, MDM_SOURCE_RUNNING, detail);
    }
}

static void source_failed(struct agent *a, struct agent_source *s, const char *why)
{
    s->retrying = true;
    if (mdm_loop_timer_start(&s->retry_timer, SOURCE_RETRY_MS, 0) != 0)
        mdm_log(MDM_LOG_ERROR,
                "event source %s: cannot plan the next attempt (out of memory); "
                "trying again at once",
                s->path);
    mdm_utf8_copy(s->error, sizeof(s->error), why);
    mdm_run_update_status(a);
}

/*
 * Opens source s and resumes at its position. A source that cannot be
 * opened now is retried every SOURCE_RETRY_MS, alone, by its retry_timer. Returns 0, or
 * MDM_EUNSUPPORTED when this build cannot read that kind of source at all
 * (then err_out, when not NULL, says why, and s is done).
 */
int mdm_run_open_source(struct agent *a, struct agent_source *s, struct mdm_err *err_out)
{
    struct mdm_source *src = NULL;
    struct mdm_err err;
    int rc;

    rc = mdm_source_open(&src, s->kind, s->path, &err);
    if (rc == MDM_EUNSUPPORTED) {
        s->done = true;
        if (err_out != NULL)
            *err_out = err;
        else
            mdm_log(MDM_LOG_ERROR, "event source %s: %s", s->path, err.msg);
        return rc;
    }
    if (rc == 0 && s->position[0] != '\0') {
        rc = mdm_source_seek(src, s->position, &err);
        if (rc != 0) {
            mdm_log(MDM_LOG_WARNING, "%s: cannot resume at %s (%s); reading from the start",
                    s->path, s->position, err.msg);
            mdm_source_close(src);
            src = NULL;
            s->position[0] = '\0';
            rc = mdm_source_open(&src, s->kind, s->path, &err);
        }
    }
    if (rc != 0) {
        if (!s->retrying)
            mdm_log(MDM_LOG_WARNING, "event source: %s; retrying every %d s", err.msg,
                    SOURCE_RETRY_MS / 1000);
        source_failed(a, s, err.msg);
        return 0;
    }
    s->src = src;
    mdm_loop_timer_stop(&s->retry_timer);
    s->retrying = false;
    mdm_run_update_status(a);
    mdm_log(MDM_LOG_INFO, "event source: %s %s%s%s", src->ops->name, s->path,
            s->position[0] ? ", resuming at " : "", s->position);
    return 0;
}

/* Frees a set of sources made by mdm_run_build_sources (their timers and watchers stop). */
void mdm_run_free_sources(struct agent_source *set, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        mdm_loop_timer_stop(&set[i].retry_timer);
        mdm_loop_io_stop(&set[i].io);
        mdm_source_close(set[i].src);
        mdm_free(set[i].computer);
        mdm_free(set[i].path);
    }
    mdm_free(set);
}

/* retry_timer: the next attempt to open a source that could not be opened or broke. */
static void on_retry_timer(struct mdm_loop_timer *t, void *ctx)
{
    struct agent_source *s = ctx;

    (void)t;
    if (s->src == NULL && !s->done)
        (void)mdm_run_open_source(s->agent, s, NULL);
}

/* The source's wake-up descriptor is readable: drain it; the next turn reads the events. */
static void on_source_readable(struct mdm_loop_io *io, void *ctx)
{
    struct agent_source *s = ctx;

    (void)io;
    if (s->src == NULL)
        return;
    mdm_log(MDM_LOG_DEBUG, "event source %s: woken", s->path);
    mdm_source_wait(s->src, 0); /* drains the notification; mdm_run_pump() reads */
}

/*
 * At the start of every turn: opens the sources waiting to be opened at once
 * (new after a reload, or whose retry could not be planned), and keeps each
 * open source's wake-up descriptor watched (a source may create it late,
 * e.g. the Windows channel's watcher thread on first use, or change it).
 */
void mdm_run_watch_sources(struct agent *a)
{
    for (size_t i = 0; i < a->source_count; i++) {
        struct agent_source *s = &a->sources[i];
        int fd;
        if (s->src == NULL && !s->done && !mdm_loop_timer_active(&s->retry_timer))
            (void)mdm_run_open_source(a, s, NULL);
        fd = s->src != NULL ? mdm_source_pollfd(s->src) : -1;
        if (fd < 0) {
            mdm_loop_io_stop(&s->io);
        } else if ((!mdm_loop_io_active(&s->io) || s->io.fd != fd) &&
                   mdm_loop_io_start(&s->io, fd) != 0) {
            /* Not watched: the source is still read every turn, only later when idle. */
            mdm_log(MDM_LOG_ERROR, "event source %s: cannot watch its descriptor (out of memory)",
                    s->path);
        }
    }
}

/*
 * Makes the agent's sources for cfg, none opened: source 0, then with the
 * channel one per `target` line. A source of the running set with the same
 * kind and path is taken over as it is (open, at its position); the others
 * resume at the position of the state file (a->saved_main, a->saved) and are
 * opened at the next turn of the loop (mdm_run_watch_sources). A source
 * taken over while it waits to be reopened keeps the time of its next
 * attempt. Returns 0 or MDM_ENOMEM (the running set is kept).
 */
int mdm_run_build_sources(struct agent *a, const struct mdm_config *cfg)
{
    size_t count = 1 + (cfg->has_source ? 0 : cfg->target_count);
    struct agent_source *set = mdm_calloc(count, sizeof(*set));

    if (set == NULL)
        return MDM_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        set[i].agent = a;
        mdm_loop_timer_init(a->loop, &set[i].retry_timer, on_retry_timer, &set[i]);
        mdm_loop_io_init(a->loop, &set[i].io, on_source_readable, &set[i]);
    }
    for (size_t i = 0; i < count; i++) {
        struct agent_source *s = &set[i];
        size_t len;
        if (i == 0) {
            s->kind = cfg->has_source ? cfg->source_kind : MDM_SOURCE_CHANNEL;
            s->path = mdm_strdup(cfg->has_source ? cfg->source_path : cfg->channel);
            if (s->path == NULL)
                goto nomem;
            continue;
        }
        s->kind = MDM_SOURCE_CHANNEL;
        s->computer = mdm_strdup(cfg->targets[i - 1]);
        len = strlen(cfg->targets[i - 1]) + strlen(cfg->channel) + 4;
        s->path = mdm_malloc(len);
        if (s->computer == NULL || s->path == NULL)
            goto nomem;
        snprintf(s->path, len, "\\\\%s\\%s", cfg->targets[i - 1], cfg->channel);
    }
    for (size_t i = 0; i < count; i++) {
        struct agent_source *s = &set[i];
        bool taken = false;
        for (size_t j = 0; j < a->source_count && !taken; j++) {
            struct agent_source *old = &a->sources[j];
            if (old->path == NULL || old->kind != s->kind || strcmp(old->path, s->path) != 0)
                continue;
            s->src = old->src;
            memcpy(s->position, old->position, sizeof(s->position));
            s->done = old->done;
            s->retrying = old->retrying;
            if (mdm_loop_timer_active(&old->retry_timer) &&
                mdm_loop_timer_start_at(&s->retry_timer, mdm_loop_timer_due(&old->retry_timer),
                                        0) != 0)
                mdm_log(MDM_LOG_ERROR,
                        "event source %s: cannot plan the next attempt (out of "
                        "memory); trying again at once",
                        s->path);
            memcpy(s->error, old->error, sizeof(s->error));
            old->src = NULL;
            mdm_free(old->path);
            old->path = NULL; /* taken */
            taken = true;
        }
        if (taken)
            continue;
        if (i == 0) {
            memcpy(s->position, a->saved_main, sizeof(s->position));
            continue;
        }
        for (size_t j = 0; j < a->saved_count; j++)
            if (mdm_ascii_iequal(a->saved[j].computer, s->computer))
                memcpy(s->position, a->saved[j].position, sizeof(s->position));
    }
    mdm_run_free_sources(a->sources, a->source_count);
    a->sources = set;
    a->source_count = count;
    a->pump_next = 0;
    /* Positions of the state file are for the first set only: later ones are in memory. */
    mdm_run_free_saved(a);
    a->saved_main[0] = '\0';
    return 0;
nomem:
    mdm_run_free_sources(set, count);
    return MDM_ENOMEM;
}

/* Reads up to budget events of source s. Returns true when more may be ready at once. */
static bool pump_source(struct agent *a, struct agent_source *s, int budget)
{
    struct mdm_err err;
    bool progressed = false;
    int rc = 0;
    int i;

    for (i = 0; i < budget; i++) {
        rc = mdm_source_next(s->src, &a->ev, &err);
        if (rc == 0) {
            a->status.events_read++;
            if (mdm_engine_process(a->engine, &a->ev, mdm_run_on_transition, a, &err) != 0)
                mdm_log(MDM_LOG_ERROR, "cannot evaluate an event: %s", err.msg);
        } else if (rc == MDM_EBADRECORD) {
            a->status.events_damaged++;
            mdm_log(MDM_LOG_WARNING, "%s", err.msg);
        } else {
            break;
        }
        /* Evaluated and its notices queued: the next save may move past it. */
        mdm_source_position(s->src, s->position, sizeof(s->position));
        progressed = true;
    }
    if (rc == MDM_EOF && !s->done) {
        s->done = true;
        mdm_run_update_status(a);
        mdm_log(MDM_LOG_INFO,
                "event source: %s read to its end (use xml-follow to follow a "
                "growing file)",
                s->path);
    } else if (rc != 0 && rc != MDM_EOF && rc != MDM_EAGAIN && rc != MDM_EBADRECORD) {
        /*
         * The source broke (the Event Log service restarted, the file became
         * unreadable, a remote computer went away): reopen it later at its
         * saved position, meanwhile reading the other sources, answering SNMP
         * and showing the condition in mdmAgentSourceState.
         */
        mdm_log(MDM_LOG_ERROR, "event source failed: %s; reopening in %d s", err.msg,
                SOURCE_RETRY_MS / 1000);
        mdm_loop_io_stop(&s->io);
        mdm_source_close(s->src);
        s->src = NULL;
        source_failed(a, s, err.msg);
    }
    if (progressed)
        a->dirty = true;
    return i == budget;
}

/*
 * Reads every open source in turn, a share of PUMP_BATCH events each (at
 * least PUMP_SHARE_MIN), starting one further each turn. Returns true when
 * some source may have more ready at once.
 */
bool mdm_run_pump(struct agent *a)
{
    size_t n = a->source_count;
    int share = (int)(PUMP_BATCH / n);
    bool more = false;

    if (share < PUMP_SHARE_MIN)
        share = PUMP_SHARE_MIN;
    for (size_t k = 0; k < n; k++) {
        struct agent_source *s = &a->sources[(a->pump_next + k) % n];
        if (s->src != NULL && !s->done && pump_source(a, s, share))
            more = true;
    }
    a->pump_next = (a->pump_next + 1) % n;
    a->status.events_matched = mdm_engine_stats(a->engine)->matched;
    /* Process-wide counters: already the sum over every channel source. */
    a->status.resubscriptions = mdm_source_channel_resubscriptions();
    a->status.render_failures = mdm_source_channel_render_failures();
    return more;
}
