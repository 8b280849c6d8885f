/*
 * evtx_reader.h - a reader of .evtx files of our own (portable C, no
 * libevtx): file header, chunks with their CRC-32 checks, record headers,
 * and the binary XML of each record (templates, substitution values, nested
 * binary XML), mapped straight to a struct mdm_event without rendering XML.
 *
 * It lists the records of intact chunks the way libevtx 20181227 lists its
 * "records" (chunk by chunk, record by record), so that the evtx source can
 * use it for the records libevtx would render, and keep libevtx's XML path
 * for every record this reader refuses (a chunk whose CRC does not match,
 * a token or value type it does not handle, anything that would not give
 * the very fields the XML path gives).
 */
#ifndef MDM_EVTX_READER_H
#define MDM_EVTX_READER_H

#include "wevt/event.h"
#include "agent/common/mdm_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mdm_evtx_reader;

/*
 * Opens path and lists its records (at most max_records). Returns 0 and sets
 * *out (owned by the caller, free with mdm_evtx_reader_close), MDM_ENOTFOUND
 * or MDM_EIO when the file cannot be opened, MDM_EPARSE when it is no .evtx
 * file this reader handles (err names file, offset and cause), MDM_ETOOBIG,
 * or MDM_ENOMEM.
 */
int mdm_evtx_reader_open(struct mdm_evtx_reader **out, const char *path, size_t max_records,
                         struct mdm_err *err);
void mdm_evtx_reader_close(struct mdm_evtx_reader *r);

/* Records listed, in file order (libevtx's intact record indexes). */
size_t mdm_evtx_reader_count(const struct mdm_evtx_reader *r);
/* The record number of record i's header. */
uint64_t mdm_evtx_reader_number(const struct mdm_evtx_reader *r, size_t i);

/*
 * Whether record i lies in a chunk whose CRC-32 checks hold (the records of
 * other chunks are refused without a look).
 */
bool mdm_evtx_reader_readable(const struct mdm_evtx_reader *r, size_t i);

/* The file offset of record i's header. */
uint64_t mdm_evtx_reader_offset(const struct mdm_evtx_reader *r, size_t i);

/*
 * Damage the record list does not cover, for a source that has no other way
 * to read it (source_evtx_records.c without libevtx): chunk c (of
 * mdm_evtx_reader_chunks()) within the file header's chunk count has no
 * chunk signature, or a record header that breaks its record list off.
 * Returns NULL when there is none, else the cause (static text), and sets
 * *offset to the file offset of the damage. libevtx's scan may recover
 * records from such a chunk; this reader does not.
 */
uint32_t mdm_evtx_reader_chunks(const struct mdm_evtx_reader *r);
const char *mdm_evtx_reader_chunk_damage(const struct mdm_evtx_reader *r, uint32_t c,
                                         uint64_t *offset);

/*
 * Makes the reader parse the records of chunks whose CRC-32 does not match
 * too. Only for the fuzz harness (tests/fuzz/fuzz_evtx_source.c): mutated
 * inputs rarely keep a chunk's CRC, and the parser must withstand any bytes.
 */
void mdm_evtx_reader_ignore_crc(struct mdm_evtx_reader *r);

/*
 * Reads record i into ev (which must be reset). Returns 0; MDM_EUNSUPPORTED
 * when this reader refuses the record (err says why: the caller reads it
 * another way), with ev reset; or MDM_ENOMEM.
 */
int mdm_evtx_reader_event(struct mdm_evtx_reader *r, size_t i, struct mdm_event *ev,
                          struct mdm_err *err);

#ifdef __cplusplus
}
#endif

#endif
