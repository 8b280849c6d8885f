/*
 * ldap_win.h - the limit shared by the LDAP client (ldap_win.c) and
 * discovery (ldap_discover_win.c) on Windows. Private to those files.
 */
#ifndef MDM_LDAP_WIN_H
#define MDM_LDAP_WIN_H

#define HOST_MAX 256 /* bytes of the host part of the URI */

#endif
