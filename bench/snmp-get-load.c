/*
 * snmp-get-load.c - a GET load generator for bench/snmp-throughput: one
 * Net-SNMP session (v2c or v3, any snmpget options), WINDOW requests in
 * flight, each a GET of the same OIDs, for SECONDS; prints what was answered.
 *
 *   snmp-get-load [snmpget options] AGENT SECONDS WINDOW OID...
 *   e.g. snmp-get-load -v2c -c secret udp:127.0.0.1:1161 5 8 .1.3.6.1.2.1.1.1.0
 *
 * Output, one line: "gets N varbinds V seconds S gets/s R errors E timeouts T".
 * A response with an error status or a noSuch/endOfMibView value counts as
 * an error, so a load that is not answered in full cannot look fast.
 * Exit status 0 when at least one GET was answered and none failed.
 *
 * Built by bench/snmp-throughput with the system's Net-SNMP (pkg-config
 * netsnmp). Not part of mdmhealth.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_OIDS 64

static oid oids[MAX_OIDS][MAX_OID_LEN];
static size_t oid_lens[MAX_OIDS];
static int oid_count;
static netsnmp_session *session;
static double deadline;
static long answered, varbinds, errors, timeouts, in_flight;

static double now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int on_response(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic);

static int send_one(void)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);

    for (int i = 0; i < oid_count; i++)
        snmp_add_null_var(pdu, oids[i], oid_lens[i]);
    if (snmp_async_send(session, pdu, on_response, NULL) == 0) {
        snmp_free_pdu(pdu);
        return -1;
    }
    in_flight++;
    return 0;
}

static int on_response(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
    (void)s;
    (void)reqid;
    (void)magic;
    in_flight--;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
        int n = 0, bad = pdu->errstat != SNMP_ERR_NOERROR;
        for (netsnmp_variable_list *v = pdu->variables; v != NULL; v = v->next_variable) {
            n++;
            if (v->type == SNMP_NOSUCHOBJECT || v->type == SNMP_NOSUCHINSTANCE ||
                v->type == SNMP_ENDOFMIBVIEW)
                bad = 1;
        }
        if (bad || n != oid_count) {
            errors++;
        } else {
            answered++;
            varbinds += n;
        }
    } else {
        timeouts++;
    }
    if (now() < deadline)
        send_one();
    return 1;
}

int main(int argc, char **argv)
{
    netsnmp_session template_session;
    int arg, window;
    double seconds, start, elapsed;

    arg = snmp_parse_args(argc, argv, &template_session, "", NULL);
    if (arg < 0)
        return 2;
    if (argc - arg < 3) {
        fprintf(stderr, "usage: snmp-get-load [snmpget options] AGENT SECONDS WINDOW OID...\n");
        return 2;
    }
    seconds = atof(argv[arg++]);
    window = atoi(argv[arg++]);
    for (; arg < argc && oid_count < MAX_OIDS; arg++, oid_count++) {
        oid_lens[oid_count] = MAX_OID_LEN;
        if (read_objid(argv[arg], oids[oid_count], &oid_lens[oid_count]) == 0) {
            fprintf(stderr, "snmp-get-load: not an OID: %s\n", argv[arg]);
            return 2;
        }
    }
    if (seconds <= 0 || window < 1 || oid_count == 0) {
        fprintf(stderr, "snmp-get-load: SECONDS > 0, WINDOW >= 1 and at least one OID\n");
        return 2;
    }
    session = snmp_open(&template_session);
    if (session == NULL) {
        snmp_sess_perror("snmp-get-load", &template_session);
        return 1;
    }
    start = now();
    deadline = start + seconds;
    for (int i = 0; i < window; i++)
        if (send_one() != 0) {
            snmp_sess_perror("snmp-get-load", session);
            return 1;
        }
    while (in_flight > 0) {
        int numfds = 0, block = 1;
        fd_set fds;
        struct timeval tv = {1, 0};

        FD_ZERO(&fds);
        snmp_select_info(&numfds, &fds, &tv, &block);
        if (select(numfds, &fds, NULL, NULL, &tv) > 0)
            snmp_read(&fds);
        else
            snmp_timeout();
    }
    elapsed = now() - start;
    printf("gets %ld varbinds %ld seconds %.3f gets/s %.0f errors %ld timeouts %ld\n", answered,
           varbinds, elapsed, (double)answered / elapsed, errors, timeouts);
    snmp_close(session);
    return answered > 0 && errors == 0 && timeouts == 0 ? 0 : 1;
}
