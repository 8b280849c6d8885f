/* mdm_buf.c - bounded growable buffer. */
#include "agent/common/mdm_buf.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"

#include <stdio.h>
#include <string.h>

void mdm_buf_init(struct mdm_buf *buf, size_t cap)
{
    buf->data = NULL;
    buf->len = 0;
    buf->size = 0;
    buf->cap = cap;
}

void mdm_buf_free(struct mdm_buf *buf)
{
    mdm_free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->size = 0;
}

void mdm_buf_reset(struct mdm_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL terminator. */
static int buf_reserve(struct mdm_buf *buf, size_t extra)
{
    size_t need;
    size_t size;
    char *grown;

    if (extra > buf->cap || buf->len > buf->cap - extra)
        return MDM_ETOOBIG;
    need = buf->len + extra + 1;
    if (need <= buf->size)
        return 0;
    size = buf->size ? buf->size : 64;
    while (size < need)
        size *= 2;
    if (size > buf->cap + 1)
        size = buf->cap + 1;
    grown = mdm_realloc(buf->data, size);
    if (grown == NULL)
        return MDM_ENOMEM;
    buf->data = grown;
    buf->size = size;
    return 0;
}

int mdm_buf_add(struct mdm_buf *buf, const void *data, size_t len)
{
    int rc = buf_reserve(buf, len);

    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int mdm_buf_adds(struct mdm_buf *buf, const char *s)
{
    return mdm_buf_add(buf, s, strlen(s));
}

int mdm_buf_printf(struct mdm_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MDM_EINVAL;
    rc = buf_reserve(buf, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

void mdm_buf_consume(struct mdm_buf *buf, size_t n)
{
    if (n >= buf->len) {
        mdm_buf_reset(buf);
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
    buf->data[buf->len] = '\0';
}

const char *mdm_buf_str(const struct mdm_buf *buf)
{
    return buf->data ? buf->data : "";
}
