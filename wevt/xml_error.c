/* xml_error.c - see xml_error.h. */
#include "wevt/xml_error.h"

#include <stdio.h>
#include <string.h>

void mdm_xml_capture_first_error(void *ctx, xmlErrorPtr error)
{
    struct mdm_xml_first_error *first = ctx;
    size_t n;

    if (first->seen || error == NULL)
        return;
    first->seen = 1;
    first->line = error->line;
    first->column = error->int2;
    snprintf(first->message, sizeof(first->message), "%s",
             error->message ? error->message : "cannot parse");
    n = strlen(first->message);
    while (n > 0 && (first->message[n - 1] == '\n' || first->message[n - 1] == ' '))
        first->message[--n] = '\0';
}
