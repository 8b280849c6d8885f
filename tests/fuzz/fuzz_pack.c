/*
 * fuzz_pack.c - libFuzzer harness of the management pack loader
 * (mdm_pack_load_memory): a whole pack XML, with its monitors, expressions,
 * alert settings and language packs.
 */
#include "agent/engine/pack.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdm_pack *pack = NULL;
    struct mdm_err err;

    if (mdm_pack_load_memory((const char *)data, size, "fuzz.xml", &pack, &err) == 0)
        mdm_pack_free(pack);
    return 0;
}
