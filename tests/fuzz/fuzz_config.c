/*
 * fuzz_config.c - libFuzzer harness of the configuration parser
 * (mdm_config_load, agent/config.c): our directives, and the Net-SNMP lines
 * (trapsess, createUser, rouser, ...) as the parser classifies and keeps them
 * for the SNMP layer.
 *
 * Not covered here: Net-SNMP's own parsing of those lines, which only runs
 * inside mdm_snmp_start() (`mdmhealth check` starts Net-SNMP's agent library
 * to validate them: global state, files, sockets) and cannot be called per
 * input in process. An SNMP-line validator that runs inside mdm_config_load
 * is covered by this harness as soon as it exists.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];

static const char *input_file(void)
{
    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        int fd;
        snprintf(path, sizeof(path), "%s/mdm-fuzz-conf-XXXXXX", dir && *dir ? dir : "/tmp");
        fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = input_file();
    FILE *f = fopen(file, "wb");
    struct mdm_config *cfg = NULL;
    struct mdm_err err;

    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    if (mdm_config_load(file, &cfg, &err) == 0)
        mdm_config_free(cfg);
    return 0;
}
