/* mdm_json.c - JSON string escaping. */
#include "agent/common/mdm_json.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0 when it is invalid. */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int mdm_json_add_string(struct mdm_buf *buf, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int rc = mdm_buf_add(buf, "\"", 1);

    while (rc == 0 && *p != '\0') {
        unsigned char c = *p;
        size_t n;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = mdm_buf_add(buf, esc, 2);
            p++;
        } else if (c == '\n') {
            rc = mdm_buf_add(buf, "\\n", 2);
            p++;
        } else if (c == '\r') {
            rc = mdm_buf_add(buf, "\\r", 2);
            p++;
        } else if (c == '\t') {
            rc = mdm_buf_add(buf, "\\t", 2);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            rc = mdm_buf_printf(buf, "\\u%04x", c);
            p++;
        } else if ((n = utf8_sequence(p)) == 0) {
            rc = mdm_buf_add(buf, "\\ufffd", 6);
            p++;
        } else {
            rc = mdm_buf_add(buf, p, n);
            p += n;
        }
    }
    if (rc == 0)
        rc = mdm_buf_add(buf, "\"", 1);
    return rc;
}
