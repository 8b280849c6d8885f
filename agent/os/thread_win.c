/*
 * thread_win.c - mdm_thread.h with Windows threads: an SRWLOCK and a
 * CONDITION_VARIABLE (Windows Vista and later), detached CreateThread workers.
 */
#include "agent/os/mdm_thread.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"
#include "agent/os/mdm_os.h"

#include <windows.h>

struct mdm_waitgroup {
    SRWLOCK lock;
    CONDITION_VARIABLE cond;
};

struct mdm_waitgroup *mdm_waitgroup_new(void)
{
    struct mdm_waitgroup *wg = mdm_calloc(1, sizeof(*wg));

    if (wg == NULL)
        return NULL;
    InitializeSRWLock(&wg->lock);
    InitializeConditionVariable(&wg->cond);
    return wg;
}

/* SRW locks and condition variables hold no kernel object: nothing to destroy. */
void mdm_waitgroup_free(struct mdm_waitgroup *wg)
{
    mdm_free(wg);
}

void mdm_waitgroup_lock(struct mdm_waitgroup *wg)
{
    AcquireSRWLockExclusive(&wg->lock);
}

void mdm_waitgroup_unlock(struct mdm_waitgroup *wg)
{
    ReleaseSRWLockExclusive(&wg->lock);
}

void mdm_waitgroup_signal(struct mdm_waitgroup *wg)
{
    WakeAllConditionVariable(&wg->cond);
}

/*
 * The deadline is in the clock of mdm_os_monotonic_ms() (GetTickCount64 on
 * Windows); the wait gets the time left to it, in milliseconds. Like
 * pthread_cond_timedwait, a wake-up before the deadline returns true and the
 * caller checks its condition again.
 */
bool mdm_waitgroup_wait(struct mdm_waitgroup *wg, long long deadline_ms)
{
    long long left = deadline_ms - (long long)mdm_os_monotonic_ms();
    DWORD ms;

    if (left <= 0)
        return false;
    /* INFINITE (0xFFFFFFFF) would never time out: stay one below it. */
    ms = left >= (long long)INFINITE ? INFINITE - 1 : (DWORD)left;
    if (SleepConditionVariableSRW(&wg->cond, &wg->lock, ms, 0))
        return true;
    return GetLastError() != ERROR_TIMEOUT;
}

struct start {
    void (*fn)(void *);
    void *arg;
};

static DWORD WINAPI trampoline(LPVOID p)
{
    struct start s = *(struct start *)p;

    mdm_free(p);
    s.fn(s.arg);
    return 0;
}

int mdm_thread_start(void (*fn)(void *), void *arg)
{
    struct start *s = mdm_malloc(sizeof(*s));
    HANDLE t;

    if (s == NULL)
        return MDM_ENOMEM;
    s->fn = fn;
    s->arg = arg;
    t = CreateThread(NULL, 0, trampoline, s, 0, NULL);
    if (t == NULL) {
        mdm_free(s);
        return MDM_EIO;
    }
    /* Detached: the thread runs on; only our handle to it is closed. */
    CloseHandle(t);
    return 0;
}
