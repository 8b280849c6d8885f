/*
 * replay.c - `mdmhealth replay`: evaluate exported events (.evtx or Event
 * XML) and print every state change, as the agent would have seen them.
 */
#include "agent/cli/cli.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"
#include "wevt/source.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char replay_usage[] =
    "usage: mdmhealth replay [-c FILE] [--pack FILE]... [--strict] [--json] [--quiet]\n"
    "                        [--until TIME] EVENTS...\n"
    "\n"
    "Evaluates the management pack's monitors on exported events and prints every\n"
    "state change. EVENTS are .evtx files (read with libevtx) or Event XML files as\n"
    "printed by `wevtutil qe /f:xml` or `Get-WinEvent | %% ToXml` ('-' reads stdin).\n"
    "The files are one stream: state carries over from one file to the next.\n"
    "Without EVENTS, the configuration's `source` is read to its current end.\n"
    "\n"
    "  -c, --config FILE  configuration (default %s if it exists)\n"
    "  --pack FILE        management pack XML, repeatable: the files are one set\n"
    "                     (default: the configured packs, else the built-in pack)\n"
    "  --strict           a monitor the pack set holds but mdmhealth cannot evaluate\n"
    "                     is an error (default: skipped; `mdmhealth check` lists them)\n"
    "  --json             one JSON object per state change (see docs/replay.md)\n"
    "  --quiet            no summary line on stderr\n"
    "  --until TIME       after the input, let time run to TIME (ISO 8601, e.g.\n"
    "                     2026-11-20T18:00:00Z): the timers due by then fire\n"
    "\n"
    "Time is the events' TimeCreated: a timer (timer reset, repeated-event window)\n"
    "fires when the first event after its due time is read, at its due time.\n"
    "Every computer in the input is a target of its own, unless the configuration\n"
    "has `target` lines, which restrict evaluation to those computers.\n"
    "Damaged records are reported on stderr (file, position, cause) and skipped;\n"
    "the events around them are still evaluated.\n"
    "\n"
    "Exit status: 0 all input read; 1 some input could not be read or some records\n"
    "were damaged (everything else was still evaluated); 2 usage, configuration or\n"
    "management pack error.\n";

struct replay_ctx {
    bool json;
    struct mdm_buf out;
    bool header_printed;
    int write_failed;
};

static int on_transition(const struct mdm_transition *t, void *arg)
{
    struct replay_ctx *ctx = arg;

    if (ctx->json) {
        mdm_buf_reset(&ctx->out);
        if (mdm_output_transition_json(&ctx->out, t) != 0)
            return MDM_ENOMEM;
        if (fwrite(ctx->out.data, 1, ctx->out.len, stdout) != ctx->out.len)
            ctx->write_failed = 1;
        return 0;
    }
    if (!ctx->header_printed) {
        mdm_output_table_header(stdout);
        ctx->header_printed = true;
    }
    mdm_output_transition_row(stdout, t);
    return 0;
}

struct replay_totals {
    uint64_t inputs_failed;
    uint64_t damaged;
};

/* Reads one input to its end, evaluating every event. Returns 0 or a fatal code. */
static int replay_input(struct mdm_engine *engine, enum mdm_source_kind kind, const char *path,
                        struct replay_ctx *ctx, struct replay_totals *totals)
{
    struct mdm_source *src = NULL;
    struct mdm_event ev;
    struct mdm_err err;
    int rc;

    mdm_event_init(&ev);
    mdm_err_clear(&err);
    /* A followed file is replayed up to its current end. */
    if (kind == MDM_SOURCE_XML_FOLLOW)
        kind = MDM_SOURCE_XML;
    rc = mdm_source_open(&src, kind, path, &err);
    if (rc != 0) {
        mdm_cli_error("%s", err.msg);
        totals->inputs_failed++;
        rc = 0;
        goto out;
    }
    for (;;) {
        rc = mdm_source_next(src, &ev, &err);
        if (rc == MDM_EOF || rc == MDM_EAGAIN) {
            rc = 0;
            break;
        }
        if (rc == MDM_EBADRECORD) {
            mdm_cli_error("warning: %s", err.msg);
            totals->damaged++;
            continue;
        }
        if (rc != 0) {
            mdm_cli_error("%s", err.msg);
            totals->inputs_failed++;
            rc = 0;
            break;
        }
        rc = mdm_engine_process(engine, &ev, on_transition, ctx, &err);
        if (rc == MDM_ETOOBIG) {
            mdm_cli_error("warning: %s", err.msg);
            rc = 0;
        } else if (rc != 0) {
            mdm_cli_error("%s: %s", path, err.msg[0] ? err.msg : mdm_strerror(rc));
            break;
        }
    }
out:
    mdm_source_close(src);
    mdm_event_free(&ev);
    return rc;
}

int mdm_cmd_replay(int argc, char **argv)
{
    const char *cfg_path = NULL;
    const char **pack_paths = NULL;
    struct mdm_cli_packs packs = {NULL, 0, false};
    struct replay_ctx ctx;
    struct replay_totals totals = {0, 0};
    struct mdm_config *cfg = NULL;
    struct mdm_pack *pack = NULL;
    struct mdm_engine *engine = NULL;
    struct mdm_err err;
    const struct mdm_engine_stats *stats;
    bool quiet = false, end_of_options = false, has_until = false;
    int64_t until_ms = 0;
    char **inputs = NULL;
    int ninputs = 0;
    int status = MDM_EXIT_USAGE;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    mdm_buf_init(&ctx.out, 1024u * 1024u);
    mdm_err_clear(&err);
    inputs = mdm_calloc((size_t)argc + 1, sizeof(*inputs));
    pack_paths = mdm_calloc((size_t)argc + 1, sizeof(*pack_paths));
    packs.paths = pack_paths;
    if (inputs == NULL || pack_paths == NULL) {
        mdm_cli_error("out of memory");
        status = MDM_EXIT_FAILURE;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (end_of_options || a[0] != '-' || strcmp(a, "-") == 0) {
            inputs[ninputs++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            end_of_options = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(replay_usage, mdm_fs_default_config_path());
            status = MDM_EXIT_OK;
            goto out;
        } else if (strcmp(a, "--json") == 0) {
            ctx.json = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--until") == 0 && i + 1 < argc) {
            if (mdm_parse_iso8601(argv[++i], &until_ms) != 0) {
                mdm_cli_error("replay: --until %s: not an ISO 8601 time such as "
                              "2026-11-20T18:00:00Z",
                              argv[i]);
                goto out;
            }
            has_until = true;
        } else if (strcmp(a, "--strict") == 0) {
            packs.strict = true;
        } else if (mdm_cli_config_arg(argc, argv, &i, &cfg_path)) {
            continue; /* -c FILE */
        } else if (strcmp(a, "--pack") == 0 && i + 1 < argc) {
            pack_paths[packs.count++] = argv[++i];
        } else {
            mdm_cli_error("replay: unknown option or missing value: %s (see mdmhealth replay "
                          "--help)",
                          a);
            goto out;
        }
    }
    if (mdm_cli_load_packs(cfg_path, &packs, &cfg, &pack) != 0)
        goto out;
    if (ninputs == 0 && !cfg->has_source) {
        mdm_cli_error("replay: no EVENTS given and the configuration has no `source` (see "
                      "mdmhealth replay --help)");
        goto out;
    }
    rc = mdm_engine_new(pack, true, &engine, &err);
    for (size_t t = 0; rc == 0 && t < cfg->target_count; t++)
        rc = mdm_engine_add_target(engine, cfg->targets[t], NULL);
    if (rc != 0) {
        mdm_cli_error("out of memory");
        status = MDM_EXIT_FAILURE;
        goto out;
    }
    if (!quiet && pack->skip_count > 0) {
        struct mdm_buf summary;
        mdm_buf_init(&summary, 256);
        if (mdm_pack_format_summary(pack, false, &summary) == 0)
            mdm_cli_error("note: packs: %s (not evaluated; `mdmhealth check` lists why)",
                          summary.data);
        mdm_buf_free(&summary);
    }

    status = MDM_EXIT_FAILURE;
    if (ninputs == 0) {
        rc = replay_input(engine, cfg->source_kind, cfg->source_path, &ctx, &totals);
    } else {
        rc = 0;
        for (int i = 0; rc == 0 && i < ninputs; i++) {
            enum mdm_source_kind kind;
            mdm_err_clear(&err);
            if (mdm_source_kind_guess(inputs[i], &kind, &err) != 0) {
                mdm_cli_error("%s", err.msg); /* an input of a format not read: as unreadable */
                totals.inputs_failed++;
                continue;
            }
            rc = replay_input(engine, kind, inputs[i], &ctx, &totals);
        }
    }
    if (rc == 0 && has_until) {
        rc = mdm_engine_advance(engine, until_ms, on_transition, &ctx, &err);
        if (rc != 0 && !ctx.write_failed)
            mdm_cli_error("replay: %s", err.msg);
    }
    if (!quiet && mdm_engine_next_deadline(engine) != INT64_MAX) {
        char due[40];
        mdm_format_iso8601(mdm_engine_next_deadline(engine), due, sizeof(due));
        mdm_cli_error("note: timers are still pending at the end of the input (the first due at "
                      "%s); --until TIME lets them fire",
                      due);
    }
    if (!quiet && mdm_engine_service_monitors_waiting(engine) > 0)
        mdm_cli_error("note: %zu service-state monitor row(s) not evaluated: they ask the "
                      "Service Control Manager, which only the running agent does",
                      mdm_engine_service_monitors_waiting(engine));
    if (fflush(stdout) != 0 || ctx.write_failed) {
        mdm_cli_error("replay: cannot write the output");
        goto out;
    }
    stats = mdm_engine_stats(engine);
    if (!quiet)
        fprintf(stderr,
                "mdmhealth: replay: %" PRIu64 " events read, %" PRIu64 " matched, %" PRIu64
                " state changes, %" PRIu64 " repeats, %" PRIu64 " alerts raised, %" PRIu64
                " resolved, %zu targets, %" PRIu64 " damaged records, %" PRIu64
                " unreadable inputs\n",
                stats->events, stats->matched, stats->changes, stats->repeats, stats->alerts_raised,
                stats->alerts_resolved, mdm_engine_target_count(engine), totals.damaged,
                totals.inputs_failed);
    if (rc == 0 && totals.damaged == 0 && totals.inputs_failed == 0)
        status = MDM_EXIT_OK;
out:
    mdm_engine_free(engine);
    mdm_pack_free(pack);
    mdm_config_free(cfg);
    mdm_buf_free(&ctx.out);
    mdm_free(inputs);
    mdm_free(pack_paths);
    return status;
}
