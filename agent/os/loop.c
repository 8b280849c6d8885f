/*
 * loop.c - the portable part of mdm_loop.h: the timer heap, the watcher
 * list, the wake-up channel and the order of a turn. The wait itself is the
 * backend's (loop_internal.h: loop_posix.c, loop_win.c).
 *
 * Timers live in a binary min-heap of pointers ordered by (due time, arming
 * sequence), so the first to fire is always at the top and arming or
 * disarming costs O(log n). The heap array grows on demand (its first 16
 * slots are made with the loop, so the agent's handful of timers never
 * allocates while it runs).
 *
 * Watchers live in an array in the order they were started. A watcher
 * stopped while the callbacks of a turn run leaves a hole that is closed
 * after them, so that the walk over the array neither skips nor repeats a
 * watcher.
 */
#include "agent/os/loop_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_wakeup.h"

#include <string.h>

#define HEAP_FIRST_CAP 16
#define IO_FIRST_CAP   16

struct mdm_loop {
    int64_t now;
    int64_t (*clock)(void *ctx);
    void *clock_ctx;

    struct mdm_loop_timer **heap;
    size_t heap_count, heap_cap;
    uint64_t next_seq; /* given to the next timer armed */

    struct mdm_loop_io **ios;
    size_t io_count, io_cap;
    bool dispatching; /* the watchers' callbacks are running: stops leave holes */
    bool io_holes;

    struct mdm_loop_backend *backend;
    struct mdm_wakeup *wakeup;
    struct mdm_loop_io wake_io;

    mdm_loop_cb prepare, check, woken;
    void *hook_ctx;
    bool dont_wait;
    bool stop;
};

static int64_t monotonic_clock(void *ctx)
{
    (void)ctx;
    return mdm_os_monotonic_ms();
}

void mdm_loop_update_time(struct mdm_loop *loop)
{
    int64_t t = loop->clock(loop->clock_ctx);

    /* Never back: a timer must neither fire early nor wait longer than asked. */
    if (t > loop->now)
        loop->now = t;
}

int64_t mdm_loop_now(const struct mdm_loop *loop)
{
    return loop->now;
}

void mdm_loop_set_clock(struct mdm_loop *loop, int64_t (*now)(void *ctx), void *ctx)
{
    loop->clock = now != NULL ? now : monotonic_clock;
    loop->clock_ctx = ctx;
    loop->now = loop->clock(loop->clock_ctx);
}

/* --- timers ----------------------------------------------------------------- */

static bool timer_before(const struct mdm_loop_timer *a, const struct mdm_loop_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(struct mdm_loop *loop, size_t i, struct mdm_loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(struct mdm_loop *loop, size_t i)
{
    struct mdm_loop_timer *t = loop->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(struct mdm_loop *loop, size_t i)
{
    struct mdm_loop_timer *t = loop->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_count)
            break;
        if (child + 1 < loop->heap_count && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

static void heap_remove(struct mdm_loop *loop, struct mdm_loop_timer *t)
{
    size_t i = t->heap_index;
    struct mdm_loop_timer *last = loop->heap[--loop->heap_count];

    t->heap_index = MDM_LOOP_INACTIVE;
    if (last == t)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_index);
}

void mdm_loop_timer_init(struct mdm_loop *loop, struct mdm_loop_timer *t, mdm_loop_timer_cb cb,
                         void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->loop = loop;
    t->cb = cb;
    t->ctx = ctx;
    t->heap_index = MDM_LOOP_INACTIVE;
}

int mdm_loop_timer_start_at(struct mdm_loop_timer *t, int64_t due_ms, int64_t repeat_ms)
{
    struct mdm_loop *loop = t->loop;

    if (t->heap_index == MDM_LOOP_INACTIVE && loop->heap_count == loop->heap_cap) {
        size_t cap = loop->heap_cap * 2;
        struct mdm_loop_timer **grown = mdm_realloc(loop->heap, cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        loop->heap = grown;
        loop->heap_cap = cap;
    }
    if (t->heap_index != MDM_LOOP_INACTIVE)
        heap_remove(loop, t);
    t->due_ms = due_ms;
    t->repeat_ms = repeat_ms > 0 ? repeat_ms : 0;
    t->seq = loop->next_seq++;
    heap_set(loop, loop->heap_count++, t);
    heap_up(loop, t->heap_index);
    return 0;
}

int mdm_loop_timer_start(struct mdm_loop_timer *t, int64_t delay_ms, int64_t repeat_ms)
{
    return mdm_loop_timer_start_at(t, t->loop->now + (delay_ms > 0 ? delay_ms : 0), repeat_ms);
}

void mdm_loop_timer_stop(struct mdm_loop_timer *t)
{
    if (t->heap_index != MDM_LOOP_INACTIVE)
        heap_remove(t->loop, t);
}

bool mdm_loop_timer_active(const struct mdm_loop_timer *t)
{
    return t->heap_index != MDM_LOOP_INACTIVE;
}

int64_t mdm_loop_timer_due(const struct mdm_loop_timer *t)
{
    return t->heap_index != MDM_LOOP_INACTIVE ? t->due_ms : 0;
}

/*
 * Fires the timers due at the loop's time, in order. A timer armed during
 * this pass (its sequence at or after first_new) waits for the next turn:
 * when such a timer reaches the top, every older due timer has fired,
 * because an older one due no later sorts before it.
 */
static void run_timers(struct mdm_loop *loop)
{
    uint64_t first_new = loop->next_seq;

    while (loop->heap_count > 0) {
        struct mdm_loop_timer *t = loop->heap[0];
        if (t->due_ms > loop->now || t->seq >= first_new)
            break;
        heap_remove(loop, t);
        /* Re-armed before the callback, which may stop or move it. */
        if (t->repeat_ms > 0)
            (void)mdm_loop_timer_start_at(t, loop->now + t->repeat_ms, t->repeat_ms);
        if (t->cb != NULL)
            t->cb(t, t->ctx);
    }
}

/* --- descriptor watchers ------------------------------------------------------ */

void mdm_loop_io_init(struct mdm_loop *loop, struct mdm_loop_io *io, mdm_loop_io_cb cb, void *ctx)
{
    memset(io, 0, sizeof(*io));
    io->loop = loop;
    io->cb = cb;
    io->ctx = ctx;
    io->fd = -1;
    io->index = MDM_LOOP_INACTIVE;
}

int mdm_loop_io_start(struct mdm_loop_io *io, int fd)
{
    struct mdm_loop *loop = io->loop;
    int rc;

    if (io->index != MDM_LOOP_INACTIVE) {
        io->fd = fd;
        io->ready = false;
        return 0;
    }
    if (loop->io_count == loop->io_cap) {
        size_t cap = loop->io_cap * 2;
        struct mdm_loop_io **grown = mdm_realloc(loop->ios, cap * sizeof(*grown));
        if (grown == NULL)
            return MDM_ENOMEM;
        loop->ios = grown;
        loop->io_cap = cap;
    }
    rc = mdm_loop_backend_reserve(loop->backend, loop->io_count + 1);
    if (rc != 0)
        return rc;
    io->fd = fd;
    io->ready = false;
    io->index = loop->io_count;
    loop->ios[loop->io_count++] = io;
    return 0;
}

void mdm_loop_io_stop(struct mdm_loop_io *io)
{
    struct mdm_loop *loop = io->loop;
    size_t i = io->index;

    if (i == MDM_LOOP_INACTIVE)
        return;
    io->index = MDM_LOOP_INACTIVE;
    io->ready = false;
    if (loop->dispatching) {
        loop->ios[i] = NULL;
        loop->io_holes = true;
        return;
    }
    /* The last watcher fills the hole (unless it is the one leaving). */
    if (i != --loop->io_count) {
        loop->ios[i] = loop->ios[loop->io_count];
        loop->ios[i]->index = i;
    }
}

bool mdm_loop_io_active(const struct mdm_loop_io *io)
{
    return io->index != MDM_LOOP_INACTIVE;
}

/* Closes the holes left by watchers stopped during the callbacks, keeping the order. */
static void compact_ios(struct mdm_loop *loop)
{
    size_t kept = 0;

    for (size_t i = 0; i < loop->io_count; i++) {
        struct mdm_loop_io *io = loop->ios[i];
        if (io == NULL)
            continue;
        io->index = kept;
        loop->ios[kept++] = io;
    }
    loop->io_count = kept;
    loop->io_holes = false;
}

static void run_ios(struct mdm_loop *loop)
{
    loop->dispatching = true;
    /* Watchers started by a callback are appended; they were not waited on and are not ready. */
    for (size_t i = 0; i < loop->io_count; i++) {
        struct mdm_loop_io *io = loop->ios[i];
        if (io == NULL || !io->ready)
            continue;
        io->ready = false;
        io->cb(io, io->ctx);
    }
    loop->dispatching = false;
    if (loop->io_holes)
        compact_ios(loop);
}

/* --- the loop ------------------------------------------------------------------- */

static void on_wakeup(struct mdm_loop_io *io, void *ctx)
{
    struct mdm_loop *loop = ctx;

    (void)io;
    mdm_wakeup_drain(loop->wakeup);
    if (loop->woken != NULL)
        loop->woken(loop, loop->hook_ctx);
}

int mdm_loop_new(struct mdm_loop **out, struct mdm_err *err)
{
    struct mdm_loop *loop = mdm_calloc(1, sizeof(*loop));
    int rc;

    if (loop == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    loop->clock = monotonic_clock;
    loop->now = monotonic_clock(NULL);
    loop->heap_cap = HEAP_FIRST_CAP;
    loop->io_cap = IO_FIRST_CAP;
    loop->heap = mdm_calloc(loop->heap_cap, sizeof(*loop->heap));
    loop->ios = mdm_calloc(loop->io_cap, sizeof(*loop->ios));
    if (loop->heap == NULL || loop->ios == NULL) {
        rc = mdm_err_set(err, MDM_ENOMEM, "out of memory");
        goto out;
    }
    rc = mdm_loop_backend_new(&loop->backend, err);
    if (rc != 0)
        goto out;
    rc = mdm_wakeup_open(&loop->wakeup, err);
    if (rc != 0)
        goto out;
    /* The first watcher: the wake-up's callback runs before those of the descriptors. */
    mdm_loop_io_init(loop, &loop->wake_io, on_wakeup, loop);
    rc = mdm_loop_io_start(&loop->wake_io, mdm_wakeup_fd(loop->wakeup));
    if (rc != 0) {
        mdm_err_set(err, rc, "out of memory");
        goto out;
    }
    *out = loop;
    return 0;
out:
    mdm_loop_free(loop);
    return rc;
}

void mdm_loop_free(struct mdm_loop *loop)
{
    if (loop == NULL)
        return;
    for (size_t i = 0; i < loop->heap_count; i++)
        loop->heap[i]->heap_index = MDM_LOOP_INACTIVE;
    for (size_t i = 0; i < loop->io_count; i++)
        if (loop->ios[i] != NULL)
            loop->ios[i]->index = MDM_LOOP_INACTIVE;
    mdm_wakeup_close(loop->wakeup);
    mdm_loop_backend_free(loop->backend);
    mdm_free(loop->heap);
    mdm_free(loop->ios);
    mdm_free(loop);
}

void mdm_loop_set_hooks(struct mdm_loop *loop, mdm_loop_cb prepare, mdm_loop_cb check,
                        mdm_loop_cb woken, void *ctx)
{
    loop->prepare = prepare;
    loop->check = check;
    loop->woken = woken;
    loop->hook_ctx = ctx;
}

void mdm_loop_wake(struct mdm_loop *loop)
{
    mdm_wakeup_post(loop->wakeup);
}

void mdm_loop_dont_wait(struct mdm_loop *loop)
{
    loop->dont_wait = true;
}

void mdm_loop_stop(struct mdm_loop *loop)
{
    loop->stop = true;
}

/* How long the wait may last: until the first timer, none with dont_wait, else no limit. */
static int wait_timeout(const struct mdm_loop *loop)
{
    int64_t wait;

    if (loop->dont_wait)
        return 0;
    if (loop->heap_count == 0)
        return -1;
    wait = loop->heap[0]->due_ms - loop->now;
    if (wait < 0)
        return 0;
    return wait > MDM_LOOP_WAIT_MAX_MS ? MDM_LOOP_WAIT_MAX_MS : (int)wait;
}

int mdm_loop_run_once(struct mdm_loop *loop, struct mdm_err *err)
{
    int ready;

    mdm_loop_update_time(loop);
    if (loop->prepare != NULL)
        loop->prepare(loop, loop->hook_ctx);
    mdm_loop_update_time(loop);
    ready =
        mdm_loop_backend_wait(loop->backend, loop->ios, loop->io_count, wait_timeout(loop), err);
    loop->dont_wait = false;
    if (ready < 0)
        return ready;
    mdm_loop_update_time(loop);
    if (ready > 0)
        run_ios(loop);
    run_timers(loop);
    if (loop->check != NULL)
        loop->check(loop, loop->hook_ctx);
    return 0;
}

int mdm_loop_run(struct mdm_loop *loop, struct mdm_err *err)
{
    loop->stop = false;
    while (!loop->stop) {
        int rc = mdm_loop_run_once(loop, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
