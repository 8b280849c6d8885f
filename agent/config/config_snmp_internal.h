/*
 * config_snmp_internal.h - what the checks of the Net-SNMP lines share:
 * config_snmp.c (splitting, VACM lines, the directive table),
 * config_snmp_usm.c (USM) and config_snmp_notify.c (transports and
 * notifications). Private to those files.
 */
#ifndef MDM_CONFIG_SNMP_INTERNAL_H
#define MDM_CONFIG_SNMP_INTERNAL_H

#include "agent/config/config_snmp.h"

#include <stdbool.h>
#include <stddef.h>

/* The words of one line, split as Net-SNMP's copy_nword() splits them. */
struct words {
    char *buf; /* every word, NUL-terminated, one after the other */
    const char *w[MDM_SNMP_WORDS_MAX];
    size_t n;
};

#define AUTH_NAMES "MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512"
#define PRIV_NAMES "DES, AES, AES-192 or AES-256"

/* config_snmp_usm.c: the privacy protocol names Net-SNMP 5.9 knows, NULL-terminated. */
extern const char *const cfg_snmp_priv_protocols[];

/* config_snmp.c: whether word is one of list (NULL-terminated), without regard to case. */
bool cfg_snmp_is_one_of(const char *word, const char *const *list);
/* config_snmp.c: whether s is a whole decimal number from 0 to max. */
bool cfg_snmp_is_decimal(const char *s, unsigned long max);
/* config_snmp_usm.c: the key length of an authentication protocol, or 0 when the name is not one.
 */
unsigned cfg_snmp_auth_key_len(const char *word);
/* config_snmp_usm.c */
int cfg_snmp_check_engine_id(const char *name, const char *option, const char *s,
                             struct mdm_err *err);
/* config_snmp_usm.c */
int cfg_snmp_check_passphrase(const char *name, const char *what, const char *s,
                              struct mdm_err *err);
/* config_snmp_usm.c: createUser. */
int cfg_snmp_check_create_user(const char *name, const struct words *ws, struct mdm_err *err);
/* config_snmp_notify.c: agentaddress. */
int cfg_snmp_check_agentaddress(const char *name, const struct words *ws, struct mdm_err *err);
/* config_snmp_notify.c: trapsess. */
int cfg_snmp_check_trapsess(const char *name, const struct words *ws, struct mdm_err *err);
/* config_snmp_notify.c: trap2sink and informsink. */
int cfg_snmp_check_sink(const char *name, const struct words *ws, struct mdm_err *err);
/* config_snmp_notify.c: trapsink, refused. */
int cfg_snmp_check_trapsink(const char *name, const struct words *ws, struct mdm_err *err);

#endif
