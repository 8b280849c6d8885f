/* source.c - dispatches the generic source calls to the backend's ops table. */
#include "wevt/source_impl.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_text.h"
#include "agent/os/mdm_fs.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int mdm_source_kind_parse(const char *name, enum mdm_source_kind *out)
{
    if (strcmp(name, "xml") == 0)
        *out = MDM_SOURCE_XML;
    else if (strcmp(name, "xml-follow") == 0)
        *out = MDM_SOURCE_XML_FOLLOW;
    else if (strcmp(name, "evtx") == 0)
        *out = MDM_SOURCE_EVTX;
    else if (strcmp(name, "channel") == 0)
        *out = MDM_SOURCE_CHANNEL;
    else
        return MDM_EINVAL;
    return 0;
}

/*
 * Whether the first len bytes of a file are the start of XML text: '<' after
 * an optional UTF-8 byte order mark and blanks.
 */
static bool starts_as_xml(const unsigned char *head, size_t len)
{
    size_t i = len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

    while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    return i < len && head[i] == '<';
}

int mdm_source_kind_guess(const char *path, enum mdm_source_kind *out, struct mdm_err *err)
{
    unsigned char head[8];
    size_t len = strlen(path), got;
    enum mdm_source_kind kind =
        len >= 5 && mdm_ascii_iequal(path + len - 5, ".evtx") ? MDM_SOURCE_EVTX : MDM_SOURCE_XML;
    FILE *f = NULL;
    struct mdm_err ignored;

    mdm_err_clear(&ignored);
    /* '-' is standard input; an unreadable file's own open says why. */
    if (strcmp(path, "-") == 0 || mdm_fs_open_regular(path, &f, &ignored) != 0)
        goto out;
    got = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (got == sizeof(head) && memcmp(head, "ElfFile", 8) == 0)
        kind = MDM_SOURCE_EVTX; /* an .evtx file under another name */
    else if (starts_as_xml(head, got))
        kind = MDM_SOURCE_XML; /* Event XML under an .evtx name */
    else if (got == sizeof(head) && memcmp(head + 4, "LfLe", 4) == 0)
        return mdm_err_set(err, MDM_EUNSUPPORTED,
                           "%s: an event log of the Windows Server 2003 format (.evt), which "
                           "mdmhealth does not read; convert it on Windows with: wevtutil epl "
                           "\"%s\" NEW.evtx /lf:true",
                           path, path);
out:
    *out = kind;
    return 0;
}

int mdm_source_open(struct mdm_source **out, enum mdm_source_kind kind, const char *path,
                    struct mdm_err *err)
{
    struct mdm_source *src = mdm_calloc(1, sizeof(*src));
    int rc;

    if (src == NULL || (src->path = mdm_strdup(path)) == NULL) {
        mdm_free(src);
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    }
    src->kind = kind;
    switch (kind) {
    case MDM_SOURCE_XML:
        src->ops = &mdm_source_xml_ops;
        break;
    case MDM_SOURCE_XML_FOLLOW:
        src->ops = &mdm_source_xml_follow_ops;
        break;
    case MDM_SOURCE_CHANNEL:
        src->ops = &mdm_source_channel_ops;
        break;
    default:
        src->ops = &mdm_source_evtx_ops;
        break;
    }
    rc = src->ops->open(src, path, err);
    if (rc != 0) {
        mdm_free(src->path);
        mdm_free(src);
        return rc;
    }
    *out = src;
    return 0;
}

int mdm_source_next(struct mdm_source *src, struct mdm_event *ev, struct mdm_err *err)
{
    mdm_event_reset(ev);
    return src->ops->next(src, ev, err);
}

int mdm_source_wait(struct mdm_source *src, int timeout_ms)
{
    return src->ops->wait ? src->ops->wait(src, timeout_ms) : 0;
}

int mdm_source_pollfd(struct mdm_source *src)
{
    return src->ops->pollfd ? src->ops->pollfd(src) : -1;
}

int mdm_source_position(struct mdm_source *src, char *buf, size_t size)
{
    return src->ops->position(src, buf, size);
}

int mdm_source_seek(struct mdm_source *src, const char *position, struct mdm_err *err)
{
    return src->ops->seek(src, position, err);
}

void mdm_source_close(struct mdm_source *src)
{
    if (src == NULL)
        return;
    src->ops->close(src);
    mdm_free(src->path);
    mdm_free(src);
}
