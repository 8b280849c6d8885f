/*
 * mdm_thread.h - just enough threading for the diagnoser: start a detached
 * worker, and a mutex + condition variable to wait for it with a deadline.
 * thread_posix.c uses pthreads; thread_win.c Windows threads and
 * CONDITION_VARIABLE.
 */
#ifndef MDM_THREAD_H
#define MDM_THREAD_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_waitgroup; /* a counter of running workers with a lock */

/* Creates a wait group; NULL when out of memory. Free with mdm_waitgroup_free. */
struct mdm_waitgroup *mdm_waitgroup_new(void);
void mdm_waitgroup_free(struct mdm_waitgroup *wg);
void mdm_waitgroup_lock(struct mdm_waitgroup *wg);
void mdm_waitgroup_unlock(struct mdm_waitgroup *wg);
/* With the lock held: wakes waiters (a worker finished). */
void mdm_waitgroup_signal(struct mdm_waitgroup *wg);
/*
 * With the lock held: waits for a signal until the absolute monotonic time
 * deadline_ms (mdm_os_monotonic_ms). Returns false on timeout.
 */
bool mdm_waitgroup_wait(struct mdm_waitgroup *wg, long long deadline_ms);

/* Starts fn(arg) on a detached thread. Returns 0 or MDM_EIO. */
int mdm_thread_start(void (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif
