/*
 * config_snmp.h - our own validation of the Net-SNMP lines of mdmhealth.conf.
 *
 * Net-SNMP reads mdmhealth.conf itself (mdm_snmp.h), and some of its parsers
 * trust their input: `createUser u1 SHA-256` (no pass phrase) dereferences a
 * NULL pointer inside the USM parser of Net-SNMP 5.9 and kills the agent,
 * `mdmhealth check` and a reload alike. So every SNMP line is checked here,
 * by mdm_config_load(), before Net-SNMP ever sees the file: the syntax of
 * each directive as snmpd.conf(5) describes it, the words split exactly as
 * Net-SNMP's copy_nword() splits them (quotes, backslash escapes), and the
 * limits Net-SNMP enforces only later or not at all (pass phrases of at
 * least 8 characters, words Net-SNMP would silently cut).
 *
 * The check is deliberately portable C with no Net-SNMP dependency, so the
 * configuration parser (and its fuzzer) covers it without an SNMP library.
 */
#ifndef MDM_CONFIG_SNMP_H
#define MDM_CONFIG_SNMP_H

#include <stdbool.h>

#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* USM: pass phrases shorter than this are refused by Net-SNMP (RFC 3414 advises 8). */
#define MDM_SNMP_PASSPHRASE_MIN 8u
/* Net-SNMP copies each word into a 1024-byte buffer and cuts longer ones silently. */
#define MDM_SNMP_WORD_MAX 1023u
/* More words than any directive takes: a line with more is refused. */
#define MDM_SNMP_WORDS_MAX 64u

/*
 * True for the standard Net-SNMP directives that the SNMP layer handles (the
 * table in config_snmp.c, which also says how each is checked).
 */
bool mdm_config_is_snmp_directive(const char *name);

/*
 * Checks one Net-SNMP directive (name as written, value = the rest of the
 * line, already trimmed). Returns 0, or MDM_EINVAL with err saying what is
 * wrong ("createUser u1: an authentication pass phrase is needed after
 * SHA-256"); the caller adds FILE:LINE. MDM_ENOMEM when out of memory.
 */
int mdm_config_snmp_check_line(const char *name, const char *value, struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif
