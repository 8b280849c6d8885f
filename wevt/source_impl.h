/* source_impl.h - what the source backends share with the dispatcher (source.c). */
#ifndef MDM_SOURCE_IMPL_H
#define MDM_SOURCE_IMPL_H

#include "wevt/source.h"

extern const struct mdm_source_ops mdm_source_xml_ops;        /* source_xml.c */
extern const struct mdm_source_ops mdm_source_xml_follow_ops; /* source_xml.c */
extern const struct mdm_source_ops mdm_source_evtx_ops;       /* source_evtx*.c */
extern const struct mdm_source_ops mdm_source_channel_ops;    /* source_channel_*.c */

#endif
