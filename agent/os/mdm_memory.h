/*
 * mdm_memory.h - the resident memory of this process (memory_posix.c,
 * memory_win.c).
 */
#ifndef MDM_MEMORY_H
#define MDM_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Gives back the resident pages of this process that the system can read
 * again from their files unchanged: the code and read-only data of the
 * program and its libraries that start-up touched (and the kernel's
 * fault-around mapped next to them), which an idle agent does not use.
 * What the agent uses afterwards comes back on use, from the page cache.
 * It is what the system does under memory pressure, done once, when start-up
 * is over (bench/results.md, issue 15). On Linux: MADV_DONTNEED on every
 * file mapping that is not writable and holds no page of its own (no
 * copy-on-write page: relocated data is never dropped), and MADV_RANDOM on
 * them so that a page used again does not bring its neighbours back with it
 * (the kernel maps 16 pages around each fault otherwise). On Windows:
 * EmptyWorkingSet's equivalent. *released (may be NULL) is set to the bytes
 * given back. Returns 0 or MDM_EIO; best effort, never fatal.
 */
int mdm_memory_release_clean_pages(size_t *released);

#ifdef __cplusplus
}
#endif

#endif
