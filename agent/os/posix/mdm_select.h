/* mdm_select.h (POSIX) - where select() and fd_set come from. agent/os/win/ has the Windows one. */
#ifndef MDM_SELECT_H
#define MDM_SELECT_H

#include <sys/select.h>

#endif
