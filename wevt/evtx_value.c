/*
 * evtx_value.c - the .evtx reader: UTF-16 text and substitution values
 * formatted as text as libfwevt formats them.
 * The format and the caps: evtx_internal.h.
 */
#include "wevt/evtx_internal.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"
#include "agent/common/mdm_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Converts n UTF-16LE code units to UTF-8 in scratch, cut at the first NUL
 * (as libuna does). Unpaired surrogates are refused. *esc is set when the
 * text holds '&', '<' or '>'.
 */
int evtx_utf16_to_utf8(struct bx *b, const uint8_t *p, size_t n, uint32_t at, char **out,
                       size_t *out_len)
{
    char *s = evtx_scratch(b->r, n * 3 + 1), *q = s;

    if (s == NULL)
        return REFUSE(b, at, "record too large");
    for (size_t i = 0; i < n; i++) {
        uint32_t u = le16(p + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = i + 1 < n ? le16(p + 2 * i + 2) : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return REFUSE(b, at, "unpaired UTF-16 surrogate");
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return REFUSE(b, at, "unpaired UTF-16 surrogate");
        }
        if (u < 0x80) {
            *q++ = (char)u;
        } else if (u < 0x800) {
            *q++ = (char)(0xC0 | (u >> 6));
            *q++ = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            *q++ = (char)(0xE0 | (u >> 12));
            *q++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *q++ = (char)(0x80 | (u & 0x3F));
        } else {
            *q++ = (char)(0xF0 | (u >> 18));
            *q++ = (char)(0x80 | ((u >> 12) & 0x3F));
            *q++ = (char)(0x80 | ((u >> 6) & 0x3F));
            *q++ = (char)(0x80 | (u & 0x3F));
        }
    }
    *q = '\0';
    *out = s;
    *out_len = (size_t)(q - s);
    return 0;
}

/* Formats the value of a substitution (not NULL, not binary XML) as libfwevt does. */
int evtx_format_value(struct bx *b, const struct subst *v, uint32_t at, char **out, size_t *out_len)
{
    const uint8_t *p = v->data;
    char tmp[96];
    int n = -1;
    int rc;

    switch (v->type) {
    case 0x01: /* UTF-16 string */
        if (v->size % 2 != 0)
            return REFUSE(b, at, "odd UTF-16 string size");
        return evtx_utf16_to_utf8(b, p, v->size / 2, at, out, out_len);
    case 0x02: { /* ANSI string: ASCII only (the code page is libevtx's business) */
        size_t len = 0;
        char *s;
        while (len < v->size && p[len] != 0) {
            if (p[len] >= 0x80)
                return REFUSE(b, at, "non-ASCII ANSI string");
            /* libfwevt escapes UTF-16 strings only: these would break its XML. */
            if (p[len] == '&' || p[len] == '<' || p[len] == '>')
                return REFUSE(b, at, "ANSI string with markup characters");
            len++;
        }
        if ((s = evtx_scratch(b->r, len + 1)) == NULL)
            return REFUSE(b, at, "record too large");
        memcpy(s, p, len);
        s[len] = '\0';
        *out = s;
        *out_len = len;
        return 0;
    }
    case 0x03:
        if (v->size == 1)
            n = snprintf(tmp, sizeof(tmp), "%d", (int)(int8_t)p[0]);
        break;
    case 0x04:
        if (v->size == 1)
            n = snprintf(tmp, sizeof(tmp), "%u", (unsigned)p[0]);
        break;
    case 0x05:
        if (v->size == 2)
            n = snprintf(tmp, sizeof(tmp), "%d", (int)(int16_t)le16(p));
        break;
    case 0x06:
        if (v->size == 2)
            n = snprintf(tmp, sizeof(tmp), "%u", (unsigned)le16(p));
        break;
    case 0x07:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRId32, (int32_t)le32(p));
        break;
    case 0x08:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu32, le32(p));
        break;
    case 0x09:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)le64(p));
        break;
    case 0x0A:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, le64(p));
        break;
    case 0x0D: /* boolean, 32 bits */
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%s", le32(p) != 0 ? "true" : "false");
        break;
    case 0x0E: { /* binary: upper-case hex */
        static const char hex[] = "0123456789ABCDEF";
        char *s = evtx_scratch(b->r, 2 * (size_t)v->size + 1);
        if (s == NULL)
            return REFUSE(b, at, "record too large");
        for (size_t i = 0; i < v->size; i++) {
            s[2 * i] = hex[p[i] >> 4];
            s[2 * i + 1] = hex[p[i] & 15];
        }
        s[2 * (size_t)v->size] = '\0';
        *out = s;
        *out_len = 2 * (size_t)v->size;
        return 0;
    }
    case 0x0F: /* GUID */
        if (v->size == 16)
            n = snprintf(tmp, sizeof(tmp),
                         "{%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", le32(p),
                         (unsigned)le16(p + 4), (unsigned)le16(p + 6), p[8], p[9], p[10], p[11],
                         p[12], p[13], p[14], p[15]);
        break;
    case 0x10: /* size_t */
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu32, le32(p));
        else if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "%" PRIu64, le64(p));
        break;
    case 0x11: /* FILETIME: ISO 8601 with nanoseconds */
        if (v->size == 8) {
            uint64_t ft = le64(p);
            uint64_t secs = ft / 10000000u, frac = ft % 10000000u;
            int64_t days = (int64_t)(secs / 86400u), rem = (int64_t)(secs % 86400u);
            /* Civil date from days since 1601-01-01 (days_from_civil inverted). */
            int64_t z = days - 134774 + 719468; /* days since 0000-03-01 */
            int64_t era = z / 146097, doe = z - era * 146097;
            int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
            int64_t m = mp < 10 ? mp + 3 : mp - 9;
            if (m <= 2)
                y++;
            if (y > 9999)
                return REFUSE(b, at, "FILETIME past year 9999");
            n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%07" PRIu64 "00Z", (int)y,
                         (int)m, (int)d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                         frac);
        }
        break;
    case 0x12: /* SYSTEMTIME: ISO 8601 with milliseconds */
        if (v->size == 16) {
            unsigned y = le16(p), mo = le16(p + 2), d = le16(p + 6), h = le16(p + 8),
                     mi = le16(p + 10), s = le16(p + 12), ms = le16(p + 14);
            if (y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 ||
                ms > 999)
                return REFUSE(b, at, "SYSTEMTIME out of range");
            n = snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo, d, h, mi,
                         s, ms);
        }
        break;
    case 0x13: /* SID */
        if (v->size >= 8 && v->size == 8 + 4 * (unsigned)p[1]) {
            uint64_t auth = 0;
            size_t len;
            for (int i = 2; i < 8; i++)
                auth = (auth << 8) | p[i];
            if (auth > UINT32_MAX)
                return REFUSE(b, at, "SID authority over 32 bits");
            n = snprintf(tmp, sizeof(tmp), "S-%u-%" PRIu64, (unsigned)p[0], auth);
            len = (size_t)n;
            if (p[1] > 15)
                return REFUSE(b, at, "SID with more than 15 sub-authorities");
            for (unsigned i = 0; i < p[1]; i++)
                len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "-%" PRIu32,
                                        le32(p + 8 + 4 * i));
            if (len >= sizeof(tmp))
                return REFUSE(b, at, "SID too long");
            n = (int)len;
        }
        break;
    case 0x14:
        if (v->size == 4)
            n = snprintf(tmp, sizeof(tmp), "0x%08" PRIx32, le32(p));
        break;
    case 0x15:
        if (v->size == 8)
            n = snprintf(tmp, sizeof(tmp), "0x%016" PRIx64, le64(p));
        break;
    default:
        return REFUSE(b, at, "value type this reader leaves to libevtx");
    }
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return REFUSE(b, at, "value of an unexpected size");
    if ((*out = evtx_scratch(b->r, (size_t)n + 1)) == NULL)
        return REFUSE(b, at, "record too large");
    memcpy(*out, tmp, (size_t)n + 1);
    *out_len = (size_t)n;
    rc = 0;
    return rc;
}
