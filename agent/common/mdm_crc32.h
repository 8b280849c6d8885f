/* mdm_crc32.h - the CRC-32 of the .evtx format and of the state journal. */
#ifndef MDM_CRC32_H
#define MDM_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CRC-32 as zlib's crc32(): mdm_crc32(0, data, len) is the checksum of data;
 * passing the result of one call as crc continues it over the next bytes.
 */
uint32_t mdm_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
