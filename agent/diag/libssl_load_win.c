/*
 * libssl_load_win.c - mdm_libssl_load() where libssl is static in the
 * program (the Windows build): the table points at the linked functions.
 */
#define MDM_LIBSSL_LOADER /* this file fills the table: no call redirected */
#include "agent/diag/libssl_load.h"

struct mdm_libssl_api mdm_libssl_api = {
#define MDM_LIBSSL_LINKED(name) name,
    MDM_LIBSSL_CALLS(MDM_LIBSSL_LINKED)
#undef MDM_LIBSSL_LINKED
};

int mdm_libssl_load(struct mdm_err *err)
{
    (void)err;
    return 0;
}
