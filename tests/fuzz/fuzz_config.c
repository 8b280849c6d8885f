/*
 * fuzz_config.c - libFuzzer harness of the configuration parser
 * (mdm_config_load, agent/config/config.c): our directives, and the Net-SNMP lines
 * (trapsess, createUser, rouser, ...) as the parser classifies and keeps them
 * for the SNMP layer.
 *
 * mdm_config_load checks every SNMP line with our own code
 * (agent/config/config_snmp.c) before Net-SNMP may see it, so that check is fuzzed
 * here too. Not covered: Net-SNMP's own parsing of the lines that pass it,
 * which only runs inside mdm_snmp_start() (global state, files, sockets)
 * and cannot be called per input in process.
 */
#include "agent/config/config.h"

#include "fuzz_file.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = mdm_fuzz_input_file("conf", data, size);
    struct mdm_config *cfg = NULL;
    struct mdm_err err;

    if (mdm_config_load(file, &cfg, &err) == 0)
        mdm_config_free(cfg);
    return 0;
}
