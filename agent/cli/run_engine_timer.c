/*
 * run_engine_timer.c - the engine's own deadlines on the agent's loop.
 *
 * The time-based monitor types that are coming to agent/engine (a timer that
 * resets a state, an event that fails to arrive in time, repeated-event
 * windows) change a row's state when time passes, not only when an event
 * arrives. The agent gives them one loop timer, engine_timer, armed at the
 * engine's next deadline and re-planned after every batch of events
 * (mdm_run_pump), after a reload and after each firing.
 *
 * NOT CONNECTED YET: agent/engine has no deadline function today, so
 * mdm_run_engine_timer_plan() never arms the timer and on_engine_timer()
 * never runs. The merge that adds the engine's functions fills in the two
 * marked places below, along these lines (names as that work defines them):
 *
 *     plan:  int64_t due = mdm_engine_next_deadline(a->engine);  -- 0: none
 *            if (due > 0) mdm_loop_timer_start_at(&a->engine_timer, due, 0);
 *            else mdm_loop_timer_stop(&a->engine_timer);
 *     fire:  mdm_engine_tick(a->engine, mdm_loop_now(a->loop), on_transition, a, &err);
 *            a->dirty = true;  then plan again
 *
 * The engine's deadlines must then be on the loop's clock (monotonic ms,
 * mdm_loop_now), not the wall clock, so that a clock change neither fires
 * nor loses them; transitions go through run_sources.c's on_transition like
 * those of events, so their notices are queued and saved the same way.
 */
#include "agent/cli/run_internal.h"

static void on_engine_timer(struct mdm_loop_timer *t, void *ctx)
{
    struct agent *a = ctx;

    (void)t;
    /* FILL IN (see the top): let the engine act on what is due, then plan again. */
    mdm_run_engine_timer_plan(a);
}

void mdm_run_engine_timer_init(struct agent *a)
{
    mdm_loop_timer_init(a->loop, &a->engine_timer, on_engine_timer, a);
}

void mdm_run_engine_timer_plan(struct agent *a)
{
    /* FILL IN (see the top): arm engine_timer at the engine's next deadline. */
    mdm_loop_timer_stop(&a->engine_timer);
}
