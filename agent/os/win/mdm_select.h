/*
 * mdm_select.h (Windows) - select() and fd_set come from Winsock, and only
 * sockets can be waited on: every descriptor the main loop selects on
 * (signal, wake-ups, event source) is a loopback socket on Windows.
 */
#ifndef MDM_SELECT_H
#define MDM_SELECT_H

#include <winsock2.h>

#endif
