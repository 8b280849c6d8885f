/*
 * mdm_alloc.h - the one allocation entry point of mdmhealth.
 *
 * All product code allocates through these wrappers so that the tests can
 * make the Nth allocation fail (c-ares style allocation-failure fixture) and
 * prove that every error path cleans up and reports MDM_ENOMEM.
 */
#ifndef MDM_ALLOC_H
#define MDM_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *mdm_malloc(size_t size);
void *mdm_calloc(size_t count, size_t size);
void *mdm_realloc(void *ptr, size_t size);
void mdm_free(void *ptr);

/* Returns a copy of s owned by the caller (free with mdm_free), or NULL. */
char *mdm_strdup(const char *s);
/* Returns a NUL-terminated copy of the first len bytes of s, or NULL. */
char *mdm_strndup(const char *s, size_t len);

/*
 * Overwrites n bytes at p with zeros so that a secret (a password, a pass
 * phrase) does not stay in memory; the writes go through a volatile pointer,
 * so the compiler cannot drop them as dead stores. The one copy of this.
 */
void mdm_wipe(void *p, size_t n);

/*
 * Test hook: after `count` more successful allocations, every allocation
 * fails until reset with a negative count. The counters are atomic, so
 * allocations on worker threads are counted too; tests only.
 */
void mdm_alloc_fail_after(long count);
/* Test hook: number of allocations made since the last mdm_alloc_fail_after. */
long mdm_alloc_count(void);

#ifdef __cplusplus
}
#endif

#endif
