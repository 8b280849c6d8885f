/*
 * channel_driver.c - a Windows test program for the "channel" event source
 * (wevt/source_channel_win.c), run under Wine by tests/test_windows_channel.cc
 * with the wevtapi.dll test double next to it.
 *
 *   channel_driver [--seek POSITION] [--count N] [--timeout-ms MS]
 *                  [--ready FILE] [--no-pollfd] CHANNEL
 *
 * It opens CHANNEL with mdm_source_open(MDM_SOURCE_CHANNEL, ...), seeks when
 * asked, and prints one line per result:
 *   RECORD_ID EVENT_ID COMPUTER DESCRIPTION   an event (line breaks in the
 *                                             description become spaces)
 *   BAD MESSAGE                               MDM_EBADRECORD
 * It stops when N events were read and nothing more is ready (N = 0: at the
 * first moment nothing is ready), or when MS milliseconds have passed. While
 * nothing is ready it waits as the agent does: select() on
 * mdm_source_pollfd() then mdm_source_wait(src, 0), or with --no-pollfd
 * mdm_source_wait(src, remaining time). --ready FILE is created the first
 * time it waits, so that a test knows when to append events. At the end it
 * prints:
 *   ORIGIN ORIGIN-OF-THE-LAST-EVENT
 *   POSITION POSITION
 *   COUNTERS resubscriptions=N render_failures=N
 *   TIMEOUT                                   (only when the time ran out)
 * Exit status: 0, 1 when the source fails (a line "ERROR open: MESSAGE" or
 * "ERROR next: MESSAGE"), 2 for a usage error.
 */
#include <winsock2.h>
#include <windows.h>

#include "wevt/source.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr, "usage: channel_driver [--seek POSITION] [--count N] [--timeout-ms MS] "
                    "[--ready FILE] [--no-pollfd] CHANNEL\n");
    exit(2);
}

/* Prints text with line breaks and tabs as spaces. */
static void print_flat(const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        putchar(*p == '\r' || *p == '\n' || *p == '\t' ? ' ' : *p);
}

int main(int argc, char **argv)
{
    const char *seek = NULL, *ready = NULL, *channel = NULL;
    unsigned long count = 0, events = 0;
    unsigned long timeout_ms = 30000;
    bool use_pollfd = true, ready_done = false, timed_out = false;
    struct mdm_source *src = NULL;
    struct mdm_event ev;
    struct mdm_err err;
    char position[MDM_SOURCE_POSITION_MAX];
    char origin[512] = "";
    ULONGLONG deadline;
    WSADATA wsa;
    int status = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seek") == 0 && i + 1 < argc)
            seek = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout_ms = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
            ready = argv[++i];
        else if (strcmp(argv[i], "--no-pollfd") == 0)
            use_pollfd = false;
        else if (argv[i][0] == '-' || channel != NULL)
            usage();
        else
            channel = argv[i];
    }
    if (channel == NULL)
        usage();
    /* Winsock carries the wake-up socket that select() waits on. */
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        printf("ERROR WSAStartup failed\n");
        return 1;
    }
    deadline = GetTickCount64() + timeout_ms;
    mdm_event_init(&ev);
    mdm_err_clear(&err);

    rc = mdm_source_open(&src, MDM_SOURCE_CHANNEL, channel, &err);
    if (rc != 0) {
        printf("ERROR open: %s\n", err.msg);
        status = 1;
        goto out;
    }
    if (seek != NULL && (rc = mdm_source_seek(src, seek, &err)) != 0) {
        printf("ERROR seek: %s\n", err.msg);
        status = 1;
        goto out;
    }
    for (;;) {
        rc = mdm_source_next(src, &ev, &err);
        if (rc == 0) {
            printf("%" PRIu64 " %" PRIu32 " %s ", ev.record_id, ev.event_id,
                   ev.computer != NULL ? ev.computer : "-");
            print_flat(ev.description != NULL ? ev.description : "");
            putchar('\n');
            fflush(stdout);
            snprintf(origin, sizeof(origin), "%s", ev.origin != NULL ? ev.origin : "");
            if (ev.offset != ev.record_id)
                printf("BAD-OFFSET %" PRIu64 "\n", ev.offset);
            events++;
            continue;
        }
        if (rc == MDM_EBADRECORD) {
            printf("BAD ");
            print_flat(err.msg);
            putchar('\n');
            fflush(stdout);
            continue;
        }
        if (rc != MDM_EAGAIN) {
            printf("ERROR next: %s\n", err.msg);
            status = 1;
            break;
        }
        if (events >= count)
            break;
        if (ready != NULL && !ready_done) {
            FILE *fp = fopen(ready, "w");
            if (fp != NULL)
                fclose(fp);
            ready_done = true;
        }
        {
            ULONGLONG now = GetTickCount64();
            int remaining;
            int fd;
            if (now >= deadline) {
                timed_out = true;
                break;
            }
            remaining = (int)(deadline - now);
            fd = use_pollfd ? mdm_source_pollfd(src) : -1;
            if (fd >= 0) {
                /* As the agent's main loop: select(), then let the source drain its wake-up. */
                struct timeval tv;
                fd_set set;
                FD_ZERO(&set);
                FD_SET((SOCKET)fd, &set);
                tv.tv_sec = remaining / 1000;
                tv.tv_usec = (remaining % 1000) * 1000;
                if (select(0, &set, NULL, NULL, &tv) > 0)
                    mdm_source_wait(src, 0);
            } else {
                mdm_source_wait(src, remaining);
            }
        }
    }
    printf("ORIGIN %s\n", origin);
    mdm_source_position(src, position, sizeof(position));
    printf("POSITION %s\n", position);
    printf("COUNTERS resubscriptions=%" PRIu64 " render_failures=%" PRIu64 "\n",
           mdm_source_channel_resubscriptions(), mdm_source_channel_render_failures());
    if (timed_out)
        printf("TIMEOUT\n");
out:
    fflush(stdout);
    mdm_source_close(src);
    mdm_event_free(&ev);
    WSACleanup();
    return status;
}
