/* mdm_text.c - small text helpers. */
#include "agent/common/mdm_text.h"

#include <string.h>

size_t mdm_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t cut;

    if (len <= max)
        return len;
    cut = max;
    /* Step back over continuation bytes (10xxxxxx) to a character start. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0u) == 0x80u)
        cut--;
    return cut;
}

void mdm_utf8_copy(char *dst, size_t size, const char *s)
{
    size_t n;

    if (size == 0)
        return;
    n = mdm_utf8_cut(s, strlen(s), size - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

int mdm_ascii_tolower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int mdm_ascii_toupper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - ('a' - 'A') : c;
}

bool mdm_ascii_iequal_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (mdm_ascii_tolower((unsigned char)a[i]) != mdm_ascii_tolower((unsigned char)b[i]))
            return false;
        if (a[i] == '\0')
            return true;
    }
    return true;
}

bool mdm_ascii_iequal(const char *a, const char *b)
{
    while (*a && mdm_ascii_tolower((unsigned char)*a) == mdm_ascii_tolower((unsigned char)*b)) {
        a++;
        b++;
    }
    return mdm_ascii_tolower((unsigned char)*a) == mdm_ascii_tolower((unsigned char)*b);
}
