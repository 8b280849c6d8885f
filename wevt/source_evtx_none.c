/*
 * source_evtx_none.c - the "evtx" source when mdmhealth was built without
 * libevtx (Windows builds read live channels through wevtapi instead, and a
 * Linux build may lack libevtx-dev). Opening says so plainly.
 */
#include "wevt/source_impl.h"

static int evtx_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    (void)src;
    return mdm_err_set(err, MDM_EUNSUPPORTED,
                       "%s: this mdmhealth was built without libevtx, so it cannot read .evtx "
                       "files; export the events as XML (wevtutil qe LOG /f:xml) instead",
                       path);
}

static int evtx_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    (void)src;
    (void)ev;
    (void)err;
    return MDM_EOF;
}

static int evtx_position(struct mdm_source *src, char *buf, size_t size)
{
    (void)src;
    if (size > 0)
        buf[0] = '\0';
    return 0;
}

static int evtx_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    (void)src;
    (void)position;
    return mdm_err_set(err, MDM_EUNSUPPORTED, "built without libevtx");
}

static void evtx_close(struct mdm_source *src)
{
    (void)src;
}

const struct mdm_source_ops mdm_source_evtx_ops = {
    "evtx", evtx_open, evtx_next, NULL, NULL, evtx_position, evtx_seek, evtx_close,
};
