/* mdm_alloc.c - allocation wrappers with a failure-injection hook for tests. */
#include "agent/common/mdm_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/*
 * The counters are updated by every thread that allocates (the main loop and
 * the diagnoser's worker threads), so they are atomics: a plain increment
 * from two threads is a data race (undefined behaviour, and lost counts).
 */
static atomic_long fail_after = -1;
static atomic_long alloc_count;

/* Returns nonzero when the test hook says this allocation must fail. */
static int should_fail(void)
{
    long left;

    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    left = atomic_load_explicit(&fail_after, memory_order_relaxed);
    for (;;) {
        if (left < 0)
            return 0;
        if (left == 0)
            return 1;
        /* Take one of the allocations still allowed; another thread may take it first. */
        if (atomic_compare_exchange_weak_explicit(&fail_after, &left, left - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return 0;
    }
}

void mdm_alloc_fail_after(long count)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_after, count);
}

long mdm_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void *mdm_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *mdm_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *mdm_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void mdm_free(void *ptr)
{
    free(ptr);
}

char *mdm_strndup(const char *s, size_t len)
{
    char *copy = mdm_malloc(len + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *mdm_strdup(const char *s)
{
    return mdm_strndup(s, strlen(s));
}

void mdm_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n-- > 0)
        *v++ = 0;
}
