/*
 * xml_error.h - keeps the first error libxml2 reports during a parse (the
 * one that names the real cause; later ones are consequences). Used by the
 * Event XML parser and the management-pack loader.
 */
#ifndef MDM_XML_ERROR_H
#define MDM_XML_ERROR_H

#include <libxml/xmlerror.h>

struct mdm_xml_first_error {
    int seen;
    int line, column;
    char message[256]; /* without trailing newline or blanks */
};

/*
 * A libxml2 structured error handler: install it with
 * xmlSetStructuredErrorFunc(&first, mdm_xml_capture_first_error) around a
 * parse, with first zeroed.
 */
void mdm_xml_capture_first_error(void *ctx, xmlErrorPtr error);

#endif
