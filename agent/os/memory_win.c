/*
 * memory_win.c - mdm_memory.h on Windows: the working set emptied once
 * (SetProcessWorkingSetSize with (SIZE_T)-1, which is what EmptyWorkingSet
 * does). Windows keeps the pages on its standby list and gives them back
 * on use; pages the process wrote go to its modified list, so nothing is
 * lost either way. The bytes released are not known here: *released is 0.
 */
#include "agent/os/mdm_memory.h"

#include "agent/common/mdm_err.h"

#include <windows.h>

int mdm_memory_release_clean_pages(size_t *released)
{
    if (released != NULL)
        *released = 0;
    if (!SetProcessWorkingSetSize(GetCurrentProcess(), (SIZE_T)-1, (SIZE_T)-1))
        return MDM_EIO;
    return 0;
}
