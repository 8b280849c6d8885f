/*
 * fuzz_expr.c - libFuzzer harness of the expression compiler
 * (mdm_expr_compile, agent/engine/expr_compile.c): the input is an expression element
 * (<Expression>, <And>, <SimpleExpression>, <RegExExpression> ...) parsed with
 * the same libxml2 options as the pack loader; a compiled expression is also
 * evaluated against one event, so that regular expressions and comparisons run.
 */
#include "wevt/event.h"
#include "agent/engine/expr.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_errors(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mdm_event_data values[] = {
        {"Url", "https://enroll.contoso.com:8445/"},
        {NULL, "(401) Unauthorized"},
    };
    struct mdm_event ev;
    struct mdm_expr *expr = NULL;
    struct mdm_err err;
    xmlDoc *doc;

    if (size > 256 * 1024)
        return 0;
    xmlSetStructuredErrorFunc(NULL, ignore_errors);
    doc = xmlReadMemory((const char *)data, (int)size, "fuzz.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (doc == NULL)
        return 0;
    if (doc->intSubset == NULL && xmlDocGetRootElement(doc) != NULL &&
        mdm_expr_compile(xmlDocGetRootElement(doc), "fuzz.xml", &expr, &err) == 0) {
        mdm_event_init(&ev);
        ev.provider = "Device Manager";
        ev.event_id = 1003;
        ev.has_qualifiers = true;
        ev.qualifiers = 49152;
        ev.level = 2;
        ev.record_id = 4242;
        ev.time_created = "2026-11-25T05:36:30.1234567Z";
        ev.time_unix_ms = 1795584990123;
        ev.channel = "Mobile Device Manager";
        ev.computer = "DM01.contoso.com";
        ev.data = values;
        ev.data_count = 2;
        ev.description = "Cannot connect";
        (void)mdm_expr_eval(expr, &ev);
        mdm_expr_free(expr);
    }
    xmlFreeDoc(doc);
    return 0;
}
