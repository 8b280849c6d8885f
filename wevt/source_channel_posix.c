/*
 * source_channel_posix.c - the "channel" source where there is no Windows
 * Event Log: opening says so. (Export the log with `wevtutil qe /f:xml` or as
 * .evtx and use the xml, xml-follow or evtx source instead.)
 */
#include "wevt/source_impl.h"

static int channel_open(struct mdm_source *src, const char *path, struct mdm_err *err)
{
    (void)src;
    return mdm_err_set(err, MDM_EUNSUPPORTED,
                       "the \"%s\" event log channel can only be read on Windows; here, use "
                       "`source xml-follow FILE` with events exported by wevtutil",
                       path);
}

static int channel_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    (void)src;
    (void)ev;
    (void)err;
    return MDM_EOF;
}

static int channel_position(struct mdm_source *src, char *buf, size_t size)
{
    (void)src;
    if (size > 0)
        buf[0] = '\0';
    return 0;
}

static int channel_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    (void)src;
    (void)position;
    return mdm_err_set(err, MDM_EUNSUPPORTED, "Windows only");
}

static void channel_close(struct mdm_source *src)
{
    (void)src;
}

uint64_t mdm_source_channel_resubscriptions(void)
{
    return 0;
}

uint64_t mdm_source_channel_render_failures(void)
{
    return 0;
}

const struct mdm_source_ops mdm_source_channel_ops = {
    "channel", channel_open,     channel_next, NULL,
    NULL,      channel_position, channel_seek, channel_close,
};
