/*
 * memory_posix.c - mdm_memory.h on Linux: /proc/self/smaps read, then
 * madvise on the file mappings it shows to hold no page of their own.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_RANDOM */

#include "agent/os/mdm_memory.h"

#include "agent/common/mdm_err.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* At most this many mappings are released (an agent has about 250). */
#define RANGES_MAX 1024

struct range {
    uintptr_t start, end;
};

/*
 * Lists into ranges the mappings that can be released: file-backed (an
 * inode), not writable, no anonymous (copy-on-write) page, no page locked,
 * no I/O or pure-PFN mapping.
 * Returns the count, or -1 when smaps cannot be read.
 */
static int releasable(struct range *ranges, int max)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    char line[512];
    struct range cur = {0, 0};
    bool candidate = false;
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        uintptr_t start, end;
        unsigned long long offset, inode;
        char perms[8], dev[16];
        unsigned long long kib;

        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %15s %llu", &start, &end, perms,
                   &offset, dev, &inode) == 6) {
            cur.start = start;
            cur.end = end;
            candidate = inode != 0 && perms[0] == 'r' && perms[1] != 'w';
            continue;
        }
        if (!candidate)
            continue;
        /*
         * A copy-on-write page is an anonymous page: its content exists
         * nowhere else. (Private_Dirty is no criterion: it also counts the
         * page-cache pages of a file written and not yet flushed, which the
         * page cache keeps.)
         */
        if ((sscanf(line, "Anonymous: %llu", &kib) == 1 ||
             sscanf(line, "Locked: %llu", &kib) == 1) &&
            kib != 0) {
            candidate = false;
            continue;
        }
        /* VmFlags is the last line of a mapping's block. */
        if (strncmp(line, "VmFlags:", 8) == 0) {
            if (n < max && strstr(line, " io") == NULL && strstr(line, " pf") == NULL)
                ranges[n++] = cur;
            candidate = false;
        }
    }
    fclose(f);
    return n;
}

int mdm_memory_release_clean_pages(size_t *released)
{
    static struct range ranges[RANGES_MAX];
    size_t total = 0;
    int n = releasable(ranges, RANGES_MAX);

    if (n < 0)
        return MDM_EIO;
    for (int i = 0; i < n; i++) {
        void *at = (void *)ranges[i].start;
        size_t len = ranges[i].end - ranges[i].start;
        (void)madvise(at, len, MADV_RANDOM);
        if (madvise(at, len, MADV_DONTNEED) == 0)
            total += len;
    }
    if (released != NULL)
        *released = total;
    return 0;
}
