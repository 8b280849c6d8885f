/*
 * libevtx_load.h - libevtx, loaded when the first .evtx file is opened.
 *
 * The evtx source reads intact records with our own reader
 * (evtx_binxml.c) and calls libevtx only to list a file's records and for
 * what our reader refuses. So libevtx is not linked into the program: an
 * agent that never reads an .evtx file (most follow Event XML or a channel)
 * does not map libevtx and libbfio, 0.5 MiB of its idle RSS
 * (bench/results.md, issue 15). libevtx_load_posix.c loads it by the soname
 * of the library the build found (MDM_LIBEVTX_SONAME, CMakeLists.txt).
 *
 * Include this header instead of <libevtx.h> in the one file that calls
 * libevtx (source_evtx.c): after it, each libevtx_* call used there goes
 * through the loaded library; mdm_libevtx_load() must have succeeded first.
 * Tests that call libevtx themselves include <libevtx.h> and link it.
 */
#ifndef MDM_WEVT_LIBEVTX_LOAD_H
#define MDM_WEVT_LIBEVTX_LOAD_H

#include "agent/common/mdm_err.h"

#include <libevtx.h>

/* The libevtx functions the evtx source calls: X(name) for each. */
#define MDM_LIBEVTX_CALLS(X)                                                                       \
    X(libevtx_error_free)                                                                          \
    X(libevtx_error_sprint)                                                                        \
    X(libevtx_file_close)                                                                          \
    X(libevtx_file_free)                                                                           \
    X(libevtx_file_get_number_of_records)                                                          \
    X(libevtx_file_get_number_of_recovered_records)                                                \
    X(libevtx_file_get_record_by_index)                                                            \
    X(libevtx_file_get_recovered_record_by_index)                                                  \
    X(libevtx_file_initialize)                                                                     \
    X(libevtx_file_open)                                                                           \
    X(libevtx_record_free)                                                                         \
    X(libevtx_record_get_identifier)                                                               \
    X(libevtx_record_get_utf8_xml_string)                                                          \
    X(libevtx_record_get_utf8_xml_string_size)

struct mdm_libevtx_api {
#define MDM_LIBEVTX_FIELD(name) __typeof__(name) *name;
    MDM_LIBEVTX_CALLS(MDM_LIBEVTX_FIELD)
#undef MDM_LIBEVTX_FIELD
};

/* Filled by mdm_libevtx_load(); read-only afterwards. */
extern struct mdm_libevtx_api mdm_libevtx_api;

/*
 * Loads libevtx once per process (thread-safe; it stays loaded). Returns 0,
 * or MDM_EUNSUPPORTED with err naming the library and the loader's reason
 * when it cannot be loaded (for instance libevtx1 not installed).
 */
int mdm_libevtx_load(struct mdm_err *err);

/*
 * From here on, every libevtx call goes through the loaded library (not in
 * libevtx_load_posix.c, which fills the table by these very names).
 */
#ifndef MDM_LIBEVTX_LOADER
#define libevtx_error_free                 mdm_libevtx_api.libevtx_error_free
#define libevtx_error_sprint               mdm_libevtx_api.libevtx_error_sprint
#define libevtx_file_close                 mdm_libevtx_api.libevtx_file_close
#define libevtx_file_free                  mdm_libevtx_api.libevtx_file_free
#define libevtx_file_get_number_of_records mdm_libevtx_api.libevtx_file_get_number_of_records
#define libevtx_file_get_number_of_recovered_records                                               \
    mdm_libevtx_api.libevtx_file_get_number_of_recovered_records
#define libevtx_file_get_record_by_index mdm_libevtx_api.libevtx_file_get_record_by_index
#define libevtx_file_get_recovered_record_by_index                                                 \
    mdm_libevtx_api.libevtx_file_get_recovered_record_by_index
#define libevtx_file_initialize            mdm_libevtx_api.libevtx_file_initialize
#define libevtx_file_open                  mdm_libevtx_api.libevtx_file_open
#define libevtx_record_free                mdm_libevtx_api.libevtx_record_free
#define libevtx_record_get_identifier      mdm_libevtx_api.libevtx_record_get_identifier
#define libevtx_record_get_utf8_xml_string mdm_libevtx_api.libevtx_record_get_utf8_xml_string
#define libevtx_record_get_utf8_xml_string_size                                                    \
    mdm_libevtx_api.libevtx_record_get_utf8_xml_string_size
#endif /* MDM_LIBEVTX_LOADER */

#endif
