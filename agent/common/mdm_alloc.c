/* mdm_alloc.c - allocation wrappers with a failure-injection hook for tests. */
#include "mdm_alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1;
static long alloc_count;

/* Returns nonzero when the test hook says this allocation must fail. */
static int should_fail(void)
{
    alloc_count++;
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void mdm_alloc_fail_after(long count)
{
    fail_after = count;
    alloc_count = 0;
}

long mdm_alloc_count(void)
{
    return alloc_count;
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
