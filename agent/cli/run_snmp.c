/*
 * run_snmp.c - Net-SNMP on the agent's loop, and the delivery of notices.
 *
 * Net-SNMP's select-info model: before each wait snmp_select_info() names
 * the descriptors it wants read and the time of its next deadline
 * (retransmissions, AgentX pings, alarms); after the wait snmp_read() takes
 * the readable ones and snmp_timeout() / run_alarms() do what is due. Both
 * are wrapped by mdm_snmp_prepare() / mdm_snmp_process(). Here, at the end
 * of every turn's prepare hook, the descriptors become the loop's watchers
 * (started, moved or stopped to match) and the deadline the loop's
 * snmp_timer; in the check hook the readable ones are handed back to
 * snmp_read() as an fd_set. Net-SNMP's own work runs in every turn, as the
 * model wants, so snmp_timer has no callback: it only ends the wait on time.
 *
 * Delivery of the outbox: every turn delivers what is durably queued, and
 * notify_timer wakes the loop when a destination that backed off (a manager
 * that did not acknowledge) may be tried again.
 */
#include "mdm_select.h"

#include "agent/cli/run_internal.h"

#include "agent/os/mdm_log.h"

static void on_snmp_readable(struct mdm_loop_io *io, void *ctx)
{
    struct run_snmp_watch *w = ctx;

    (void)io;
    w->ready = true;
}

/* notify_timer: a destination's back-off is over, or deliveries asked to go on at once. */
static void on_notify_timer(struct mdm_loop_timer *t, void *ctx)
{
    (void)t;
    mdm_run_deliver(ctx);
}

void mdm_run_snmp_init(struct agent *a)
{
    for (size_t i = 0; i < RUN_SNMP_FDS_MAX; i++)
        mdm_loop_io_init(a->loop, &a->snmp_watch[i].io, on_snmp_readable, &a->snmp_watch[i]);
    a->snmp_watch_count = 0;
    mdm_loop_timer_init(a->loop, &a->snmp_timer, NULL, NULL);
    mdm_loop_timer_init(a->loop, &a->notify_timer, on_notify_timer, a);
}

/*
 * Sends the queued notices to every destination free to take them, but only
 * what is durably queued (ConfirmDelivery): nothing while the state is not
 * saved.
 */
void mdm_run_deliver(struct agent *a)
{
    if (a->dirty || a->save_failing)
        return;
    mdm_snmp_deliver();
    /* Acknowledgements of traps are immediate: save them in this turn too. */
    if (mdm_snmp_outbox_changed() && mdm_run_save_state(a) != 0)
        a->dirty = true;
}

/* Arms t delay_ms from now, or disarms it when delay_ms < 0 (nothing planned). */
static void plan_timer(struct mdm_loop_timer *t, int delay_ms, const char *what)
{
    if (delay_ms < 0)
        mdm_loop_timer_stop(t);
    else if (mdm_loop_timer_start(t, delay_ms, 0) != 0)
        mdm_log(MDM_LOG_ERROR, "cannot plan %s (out of memory); done at the next wake-up", what);
}

void mdm_run_snmp_prepare(struct agent *a)
{
    fd_set fds;
    int maxfd = -1, timeout = -1;
    int list[RUN_SNMP_FDS_MAX];
    size_t n;

    FD_ZERO(&fds);
    mdm_snmp_prepare(&fds, &maxfd, &timeout);
    n = mdm_loop_fd_set_list(&fds, maxfd, list, RUN_SNMP_FDS_MAX);
    if (n > RUN_SNMP_FDS_MAX) {
        if (!a->snmp_fds_logged)
            mdm_log(MDM_LOG_ERROR,
                    "Net-SNMP uses %zu descriptors; only %d are watched, the others are read "
                    "when something else wakes the agent",
                    n, RUN_SNMP_FDS_MAX);
        a->snmp_fds_logged = true;
        n = RUN_SNMP_FDS_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        struct run_snmp_watch *w = &a->snmp_watch[i];
        w->ready = false;
        if (mdm_loop_io_start(&w->io, list[i]) != 0)
            mdm_log(MDM_LOG_ERROR, "cannot watch Net-SNMP descriptor %d (out of memory)", list[i]);
    }
    for (size_t i = n; i < a->snmp_watch_count; i++)
        mdm_loop_io_stop(&a->snmp_watch[i].io);
    a->snmp_watch_count = n;
    plan_timer(&a->snmp_timer, timeout, "Net-SNMP's next deadline");
    plan_timer(&a->notify_timer, mdm_notify_next_deadline_ms(), "the next delivery attempt");
}

void mdm_run_snmp_process(struct agent *a)
{
    fd_set ready;
    int count = 0;

    FD_ZERO(&ready);
    for (size_t i = 0; i < a->snmp_watch_count; i++) {
        struct run_snmp_watch *w = &a->snmp_watch[i];
        if (!w->ready)
            continue;
        w->ready = false;
        FD_SET(w->io.fd, &ready);
        count++;
    }
    mdm_snmp_process(&ready, count);
}

void mdm_run_snmp_stop(struct agent *a)
{
    for (size_t i = 0; i < a->snmp_watch_count; i++)
        mdm_loop_io_stop(&a->snmp_watch[i].io);
    a->snmp_watch_count = 0;
    mdm_loop_timer_stop(&a->snmp_timer);
    mdm_loop_timer_stop(&a->notify_timer);
}
