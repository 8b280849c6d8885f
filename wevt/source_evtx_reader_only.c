/*
 * source_evtx_reader_only.c - the "evtx" source of builds without libevtx
 * (the Windows cross build, a Linux build without libevtx-dev): the
 * reader-only source of source_evtx_records.c, which reads the intact
 * records with our own reader and reports every record it refuses. Builds
 * with libevtx compile source_evtx.c instead.
 */
#include "wevt/source_evtx_records.h"

const struct mdm_source_ops mdm_source_evtx_ops = {
    "evtx", mdm_evtx_reader_source_open, mdm_evtx_reader_source_next, NULL,
    NULL,   mdm_evtx_source_position,    mdm_evtx_source_seek,        mdm_evtx_reader_source_close,
};
