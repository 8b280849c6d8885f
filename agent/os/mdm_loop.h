/*
 * mdm_loop.h - the one place where the agent waits: an event loop in the
 * spirit of libuv's (docs/event-loop.md says why it is our own).
 *
 * A loop holds:
 *   - descriptor watchers (mdm_loop_io): a callback when a descriptor is
 *     readable. Descriptors are what the backends can wait on: any file
 *     descriptor on POSIX (loop_posix.c, poll()), sockets on Windows
 *     (loop_win.c, Winsock select(); the Windows sources turn their handles
 *     into loopback-socket wake-ups, see mdm_wakeup.h);
 *   - timers (mdm_loop_timer), one-shot or repeating, on a monotonic clock in
 *     ms, kept in a binary heap: they fire in order of their due time, ties
 *     in the order they were armed. A change of the wall clock moves nothing;
 *     a timer overdue after a long pause (a suspended machine) fires once,
 *     and a repeating one is then re-armed from the time it fired, not made
 *     to catch up;
 *   - a cross-thread wake-up: mdm_loop_wake() from any thread makes the loop
 *     call its wake-up callback on the loop's thread;
 *   - two hooks: prepare, called at the start of every turn before the wait,
 *     and check, called at the end of every turn. They carry work that
 *     happens every turn (the agent's reading and saving, Net-SNMP's
 *     select-info model: its descriptors become watchers and its timeout a
 *     timer in prepare, snmp_read / snmp_timeout run in check).
 *
 * One turn (mdm_loop_run_once): prepare; wait until a watched descriptor is
 * readable, the first timer is due, a wake-up arrives, or at once when
 * mdm_loop_dont_wait() was called; the wake-up callback; the callbacks of the
 * readable descriptors; the callbacks of the due timers; check.
 *
 * Watchers and timers are owned by the caller (embedded in its structures,
 * no allocation per arm); the loop only points at them while they are
 * active, so stop them before freeing them. Everything except mdm_loop_wake
 * is for the loop's own thread. Callbacks may start and stop any watcher or
 * timer, including their own; a timer armed from a callback never fires in
 * the same turn, even with delay 0, so a repeating 0 ms timer cannot starve
 * the wait.
 */
#ifndef MDM_LOOP_H
#define MDM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_loop;
struct mdm_loop_timer;
struct mdm_loop_io;

typedef void (*mdm_loop_timer_cb)(struct mdm_loop_timer *timer, void *ctx);
typedef void (*mdm_loop_io_cb)(struct mdm_loop_io *io, void *ctx);
typedef void (*mdm_loop_cb)(struct mdm_loop *loop, void *ctx);

/* A timer; its fields belong to the loop (read them through the functions below). */
struct mdm_loop_timer {
    struct mdm_loop *loop;
    mdm_loop_timer_cb cb; /* NULL: the timer only ends the wait at its due time */
    void *ctx;
    int64_t due_ms;    /* on the loop's clock */
    int64_t repeat_ms; /* 0: one-shot */
    uint64_t seq;      /* arming order, for ties and for "armed during this turn" */
    size_t heap_index; /* MDM_LOOP_INACTIVE when not armed */
};

/* A readable-descriptor watcher; its fields belong to the loop. */
struct mdm_loop_io {
    struct mdm_loop *loop;
    mdm_loop_io_cb cb;
    void *ctx;
    int fd;
    size_t index; /* MDM_LOOP_INACTIVE when stopped */
    bool ready;   /* set by the backend's wait, cleared before the callback */
};

#define MDM_LOOP_INACTIVE ((size_t)-1)

/* The longest single wait, in ms (a later turn continues it). */
#define MDM_LOOP_WAIT_MAX_MS 86400000

/*
 * Creates a loop with its wake-up channel (a pipe, or a loopback socket on
 * Windows). *out is owned by the caller (mdm_loop_free). Returns 0,
 * MDM_ENOMEM or MDM_EIO (err says why).
 */
int mdm_loop_new(struct mdm_loop **out, struct mdm_err *err);
/* Frees the loop; active watchers and timers are simply forgotten. NULL is ignored. */
void mdm_loop_free(struct mdm_loop *loop);

/*
 * Replaces the loop's clock (mdm_os_monotonic_ms) with now(ctx), ms; for
 * tests that move time by hand. The loop never lets its time go back, even
 * if now() does.
 */
void mdm_loop_set_clock(struct mdm_loop *loop, int64_t (*now)(void *ctx), void *ctx);
/* The loop's time, ms: read from the clock at the start of the turn and after the wait. */
int64_t mdm_loop_now(const struct mdm_loop *loop);
/* Reads the clock again (after long work inside a callback). */
void mdm_loop_update_time(struct mdm_loop *loop);

/* Sets the hooks (either may be NULL) and the wake-up callback; ctx goes to all three. */
void mdm_loop_set_hooks(struct mdm_loop *loop, mdm_loop_cb prepare, mdm_loop_cb check,
                        mdm_loop_cb woken, void *ctx);

/* Wakes the loop: its wait ends and the wake-up callback runs. Any thread; never blocks. */
void mdm_loop_wake(struct mdm_loop *loop);

/* The current turn does not wait (work is left that the next turn continues). */
void mdm_loop_dont_wait(struct mdm_loop *loop);

/* Prepares a timer of loop, not armed. cb may be NULL (see struct mdm_loop_timer). */
void mdm_loop_timer_init(struct mdm_loop *loop, struct mdm_loop_timer *t, mdm_loop_timer_cb cb,
                         void *ctx);
/*
 * Arms t to fire delay_ms after the loop's time (negative counts as 0), then
 * every repeat_ms if repeat_ms > 0. An armed timer is re-armed (moved).
 * Returns 0 or MDM_ENOMEM (the heap could not grow; t stays as it was).
 */
int mdm_loop_timer_start(struct mdm_loop_timer *t, int64_t delay_ms, int64_t repeat_ms);
/* As mdm_loop_timer_start, at the absolute time due_ms of the loop's clock. */
int mdm_loop_timer_start_at(struct mdm_loop_timer *t, int64_t due_ms, int64_t repeat_ms);
/* Disarms t (nothing if it is not armed). */
void mdm_loop_timer_stop(struct mdm_loop_timer *t);
bool mdm_loop_timer_active(const struct mdm_loop_timer *t);
/* The due time of an armed timer on the loop's clock; 0 when not armed. */
int64_t mdm_loop_timer_due(const struct mdm_loop_timer *t);

/* Prepares a watcher of loop, stopped. */
void mdm_loop_io_init(struct mdm_loop *loop, struct mdm_loop_io *io, mdm_loop_io_cb cb, void *ctx);
/*
 * Watches fd for reading (a started watcher moves to the new fd). The
 * callback runs in every turn in which fd is readable (level-triggered), so
 * it must read or stop. Returns 0, MDM_ENOMEM, or MDM_ETOOBIG when the
 * backend cannot wait on more descriptors (Windows: 256).
 */
int mdm_loop_io_start(struct mdm_loop_io *io, int fd);
void mdm_loop_io_stop(struct mdm_loop_io *io);
bool mdm_loop_io_active(const struct mdm_loop_io *io);

/*
 * One turn (see the top). Returns 0, or MDM_EIO when the wait itself failed
 * (err says why; an interrupted wait is not a failure).
 */
int mdm_loop_run_once(struct mdm_loop *loop, struct mdm_err *err);
/* Runs turns until mdm_loop_stop() or a failed wait. Returns 0 or MDM_EIO. */
int mdm_loop_run(struct mdm_loop *loop, struct mdm_err *err);
/* Ends mdm_loop_run after the current turn (loop thread; from another thread, wake it too). */
void mdm_loop_stop(struct mdm_loop *loop);

/*
 * The descriptors set in the select() fd_set fds (whose highest descriptor
 * is at most maxfd), for integrations that hand out fd_sets (Net-SNMP's
 * snmp_select_info): up to cap of them into out. Returns how many are set,
 * which may exceed cap.
 */
size_t mdm_loop_fd_set_list(const void *fds, int maxfd, int *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
