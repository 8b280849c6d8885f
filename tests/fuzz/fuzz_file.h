/*
 * fuzz_file.h - for the harnesses whose code under test reads a file: the
 * input written to one temporary file per process (made on first use,
 * rewritten for every input), whose path is returned. Any failure aborts:
 * a harness cannot go on without its file.
 */
#ifndef MDM_FUZZ_FILE_H
#define MDM_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* tag names the file ("conf" gives TMPDIR/mdm-fuzz-conf-XXXXXX). */
const char *mdm_fuzz_input_file(const char *tag, const uint8_t *data, size_t size);

#endif
