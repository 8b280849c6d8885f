/* thread_posix.c - mdm_thread.h with pthreads (CLOCK_MONOTONIC condition variable). */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_thread.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"

#include <pthread.h>
#include <time.h>

struct mdm_waitgroup {
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

struct mdm_waitgroup *mdm_waitgroup_new(void)
{
    struct mdm_waitgroup *wg = mdm_calloc(1, sizeof(*wg));
    pthread_condattr_t attr;

    if (wg == NULL)
        return NULL;
    pthread_mutex_init(&wg->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wg->cond, &attr);
    pthread_condattr_destroy(&attr);
    return wg;
}

void mdm_waitgroup_free(struct mdm_waitgroup *wg)
{
    if (wg == NULL)
        return;
    pthread_cond_destroy(&wg->cond);
    pthread_mutex_destroy(&wg->lock);
    mdm_free(wg);
}

void mdm_waitgroup_lock(struct mdm_waitgroup *wg)
{
    pthread_mutex_lock(&wg->lock);
}

void mdm_waitgroup_unlock(struct mdm_waitgroup *wg)
{
    pthread_mutex_unlock(&wg->lock);
}

void mdm_waitgroup_signal(struct mdm_waitgroup *wg)
{
    pthread_cond_broadcast(&wg->cond);
}

bool mdm_waitgroup_wait(struct mdm_waitgroup *wg, long long deadline_ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    return pthread_cond_timedwait(&wg->cond, &wg->lock, &ts) == 0;
}

struct start {
    void (*fn)(void *);
    void *arg;
};

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;

    mdm_free(p);
    s.fn(s.arg);
    return NULL;
}

int mdm_thread_start(void (*fn)(void *), void *arg)
{
    struct start *s = mdm_malloc(sizeof(*s));
    pthread_attr_t attr;
    pthread_t t;
    int rc;

    if (s == NULL)
        return MDM_ENOMEM;
    s->fn = fn;
    s->arg = arg;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, trampoline, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        mdm_free(s);
        return MDM_EIO;
    }
    return 0;
}
