/*
 * diag.c - runs the checks concurrently, each with a deadline, and applies
 * the diagnosis -> resolver table (docs/diagnose.md, "The diagnoses").
 *
 * Each check runs on a detached thread with its own copy of the result. The
 * runner waits until every check finished or the deadline passed; a check
 * still running then is reported as "error: did not finish" and its thread
 * frees its context when it ends (getaddrinfo, for one, cannot be cancelled).
 */
#include "agent/diag/diag.h"

#include "agent/diag/checks.h"
#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_os.h"
#include "agent/os/mdm_thread.h"

#include <stdio.h>
#include <string.h>

/*
 * The checks, in the order of the names table (MDM_DIAG_CHECKS, diag.h);
 * CHECK_<suffix> is a check's row, so that the diagnosis table below names
 * checks through the table and a misspelt name does not compile.
 */
#define CHECK_INDEX(check, suffix, help) CHECK_##suffix,
enum check_index { MDM_DIAG_CHECKS(CHECK_INDEX) };
#undef CHECK_INDEX
#define CHECK_ROW(check, suffix, help) {check, mdm_check_##suffix},
static const struct {
    const char *name;
    mdm_check_fn fn;
} check_table[] = {MDM_DIAG_CHECKS(CHECK_ROW)};
#undef CHECK_ROW
#define CHECK_COUNT (sizeof(check_table) / sizeof(check_table[0]))

/* Shared between the runner and the workers; freed by whoever leaves last. */
#define OPT_STRING_MAX 1024

struct run {
    struct mdm_waitgroup *wg;
    struct mdm_diag_options opt; /* its strings point into text[] below */
    char text[10][OPT_STRING_MAX];
    struct mdm_check_result results[CHECK_COUNT];
    bool done[CHECK_COUNT];
    size_t running; /* workers not finished */
    bool abandoned; /* the runner stopped waiting */
};

struct job {
    struct run *run;
    size_t index;
};

static void free_run(struct run *run)
{
    mdm_waitgroup_free(run->wg);
    mdm_free(run);
}

static void worker(void *arg)
{
    struct job job = *(struct job *)arg;
    struct mdm_check_result r;
    struct run *run = job.run;
    int64_t start = mdm_os_monotonic_ms();
    bool last;

    mdm_free(arg);
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", check_table[job.index].name);
    r.status = MDM_CHECK_ERROR;
    snprintf(r.detail, sizeof(r.detail), "the check gave no result");
    check_table[job.index].fn(&run->opt, &r);
    r.duration_ms = mdm_os_monotonic_ms() - start;

    mdm_waitgroup_lock(run->wg);
    run->results[job.index] = r;
    run->done[job.index] = true;
    run->running--;
    last = run->running == 0;
    mdm_waitgroup_signal(run->wg);
    if (run->abandoned && last) {
        mdm_waitgroup_unlock(run->wg);
        free_run(run);
        return;
    }
    mdm_waitgroup_unlock(run->wg);
}

/* Is name one of the space-separated words of list? */
static bool is_skipped(const char *list, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t n;
        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, " ,");
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

int mdm_diag_run(const struct mdm_diag_options *opt, struct mdm_diag_report *report)
{
    struct run *run = mdm_calloc(1, sizeof(*run));
    int64_t start, deadline;
    bool free_it;

    memset(report, 0, sizeof(*report));
    report->started_ms = mdm_os_now_ms();
    if (run == NULL || (run->wg = mdm_waitgroup_new()) == NULL) {
        mdm_free(run);
        return MDM_ENOMEM;
    }
    /*
     * The checks get their own copies of the option strings: a check the
     * runner gave up on keeps running after mdm_diag_run returned and the
     * caller freed its configuration.
     */
    run->opt = *opt;
    /* A borrowed secret must not outlive its caller: the checks use the file only. */
    run->opt.ldap_password = NULL;
    {
        const char **fields[] = {&run->opt.enrollment_server,  &run->opt.enrollment_address,
                                 &run->opt.dm_server,          &run->opt.ad_group,
                                 &run->opt.ldap_uri,           &run->opt.ldap_base,
                                 &run->opt.computer_dn,        &run->opt.ldap_bind_dn,
                                 &run->opt.ldap_password_file, &run->opt.skip};
        for (size_t f = 0; f < 10; f++) {
            if (*fields[f] != NULL) {
                snprintf(run->text[f], OPT_STRING_MAX, "%s", *fields[f]);
                *fields[f] = run->text[f];
            }
        }
    }
    if (run->opt.timeout_ms <= 0)
        run->opt.timeout_ms = MDM_DIAG_TIMEOUT_MS_DEFAULT;
    mdm_waitgroup_lock(run->wg);
    for (size_t i = 0; i < CHECK_COUNT; i++) {
        struct job *job;
        run->results[i].status = MDM_CHECK_ERROR;
        snprintf(run->results[i].name, sizeof(run->results[i].name), "%s", check_table[i].name);
        if (is_skipped(run->opt.skip, check_table[i].name)) {
            run->results[i].status = MDM_CHECK_SKIP;
            snprintf(run->results[i].detail, sizeof(run->results[i].detail),
                     "not run: listed in diag-skip");
            run->done[i] = true;
            continue;
        }
        job = mdm_malloc(sizeof(*job));
        if (job == NULL || (job->run = run, job->index = i, mdm_thread_start(worker, job) != 0)) {
            mdm_free(job);
            snprintf(run->results[i].detail, sizeof(run->results[i].detail),
                     "cannot start the check (out of threads or memory)");
            run->done[i] = true;
            continue;
        }
        run->running++;
    }
    /* A check's own timeout plus a margin for resolution before it. */
    start = mdm_os_monotonic_ms();
    deadline = start + 2LL * run->opt.timeout_ms + 1000;
    while (run->running > 0 && mdm_os_monotonic_ms() < deadline)
        mdm_waitgroup_wait(run->wg, deadline);
    for (size_t i = 0; i < CHECK_COUNT; i++) {
        report->checks[i] = run->results[i];
        if (!run->done[i]) {
            report->checks[i].status = MDM_CHECK_ERROR;
            report->checks[i].duration_ms = mdm_os_monotonic_ms() - start;
            snprintf(report->checks[i].detail, sizeof(report->checks[i].detail),
                     "did not finish within %lld ms", 2LL * run->opt.timeout_ms + 1000);
        }
    }
    report->check_count = CHECK_COUNT;
    run->abandoned = true;
    free_it = run->running == 0;
    mdm_waitgroup_unlock(run->wg);
    if (free_it)
        free_run(run);
    mdm_diag_decide(report);
    return 0;
}

static const struct mdm_check_result *find(const struct mdm_diag_report *r, const char *name)
{
    for (size_t i = 0; i < r->check_count; i++)
        if (strcmp(r->checks[i].name, name) == 0)
            return &r->checks[i];
    return NULL;
}

static bool failed(const struct mdm_diag_report *r, enum check_index check)
{
    const struct mdm_check_result *c = find(r, check_table[check].name);
    return c != NULL && c->status == MDM_CHECK_FAIL;
}

static bool passed(const struct mdm_diag_report *r, enum check_index check)
{
    const struct mdm_check_result *c = find(r, check_table[check].name);
    return c != NULL && c->status == MDM_CHECK_PASS;
}

static void add(struct mdm_diag_report *r, enum mdm_diagnosis_id id, const char *because,
                enum check_index check)
{
    static const char *const diagnosis[] = {
        NULL,
        "The Device Management Machine cannot connect to network",
        "HTTP 401 Unauthorized Logon Failed using Loopback connector",
        "Server is not in proper security groups",
    };
    static const char *const resolver[] = {
        NULL,
        "Fix network connectivity issues",
        "HTTP 401 Unauthorized Logon Failed using Loopback connector",
        "Add Computer Account to SCMDM 2008 AD Groups",
    };

    if (r->diagnosis_count >= MDM_DIAGNOSES_MAX)
        return;
    r->diagnoses[r->diagnosis_count].id = id;
    r->diagnoses[r->diagnosis_count].diagnosis = diagnosis[id];
    r->diagnoses[r->diagnosis_count].resolver = resolver[id];
    r->diagnoses[r->diagnosis_count].because = because;
    r->diagnoses[r->diagnosis_count].check = check_table[check].name;
    r->diagnosis_count++;
}

void mdm_diag_decide(struct mdm_diag_report *r)
{
    const char *network = NULL;
    enum check_index evidence = CHECK_dns;

    r->diagnosis_count = 0;
    /*
     * Network, in the knowledge article's order: the local stack, then the
     * name, then the Enrollment Server itself. An HTTPS port that answers
     * proves the path works even when pings fail (ICMP blocked by a
     * firewall), so pings alone never make this diagnosis.
     */
    if (failed(r, CHECK_ping_loopback)) {
        network = "the TCP/IP stack of this computer does not answer on 127.0.0.1";
        evidence = CHECK_ping_loopback;
    } else if (failed(r, CHECK_dns) && passed(r, CHECK_ping_enrollment_ip)) {
        network = "the Enrollment Server answers by IP address but its name does not resolve "
                  "(DNS)";
        evidence = CHECK_dns;
    } else if (failed(r, CHECK_dns)) {
        network = "the Enrollment Server's name does not resolve (DNS)";
        evidence = CHECK_dns;
    } else if (failed(r, CHECK_https_enrollment) && failed(r, CHECK_ping_enrollment_ip)) {
        network = "the Enrollment Server answers neither ICMP nor its admin port (host down, "
                  "or no route)";
        evidence = CHECK_https_enrollment;
    } else if (failed(r, CHECK_https_enrollment)) {
        network = "the Enrollment Server answers ICMP but not HTTPS on its admin port (firewall, "
                  "or the service is not listening)";
        evidence = CHECK_https_enrollment;
    } else if (failed(r, CHECK_enrollment_services)) {
        network = "the SCMDM Enrollment services are not running on the Enrollment Server";
        evidence = CHECK_enrollment_services;
    } else if (failed(r, CHECK_https_dm_admin)) {
        network = "this DM server's own admin port does not answer HTTPS";
        evidence = CHECK_https_dm_admin;
    }
    if (network != NULL)
        add(r, MDM_DIAG_NETWORK, network, evidence);
    if (failed(r, CHECK_loopback))
        add(r, MDM_DIAG_LOOPBACK,
            "the Enrollment Server name maps to this computer and the loopback check is active",
            CHECK_loopback);
    if (failed(r, CHECK_ad_group))
        add(r, MDM_DIAG_AD_GROUP,
            "this computer account is not a member of the SCMDM 2008 Device Management "
            "Servers group",
            CHECK_ad_group);
}

struct start_job {
    struct mdm_diag_options opt;
    char text[10][OPT_STRING_MAX];
    void (*done)(struct mdm_diag_report *report, void *ctx);
    void *ctx;
};

static void start_worker(void *arg)
{
    struct start_job *job = arg;
    struct mdm_diag_report *report = mdm_calloc(1, sizeof(*report));

    if (report != NULL && mdm_diag_run(&job->opt, report) != 0) {
        mdm_free(report);
        report = NULL;
    }
    job->done(report, job->ctx);
    mdm_free(job);
}

int mdm_diag_start(const struct mdm_diag_options *opt,
                   void (*done)(struct mdm_diag_report *report, void *ctx), void *ctx)
{
    struct start_job *job = mdm_calloc(1, sizeof(*job));
    const char **fields[10];
    int rc;

    if (job == NULL)
        return MDM_ENOMEM;
    job->opt = *opt;
    job->opt.ldap_password = NULL; /* as in mdm_diag_run */
    job->done = done;
    job->ctx = ctx;
    fields[0] = &job->opt.enrollment_server;
    fields[1] = &job->opt.enrollment_address;
    fields[2] = &job->opt.dm_server;
    fields[3] = &job->opt.ad_group;
    fields[4] = &job->opt.ldap_uri;
    fields[5] = &job->opt.ldap_base;
    fields[6] = &job->opt.computer_dn;
    fields[7] = &job->opt.ldap_bind_dn;
    fields[8] = &job->opt.ldap_password_file;
    fields[9] = &job->opt.skip;
    for (size_t f = 0; f < 10; f++) {
        if (*fields[f] != NULL) {
            snprintf(job->text[f], OPT_STRING_MAX, "%s", *fields[f]);
            *fields[f] = job->text[f];
        }
    }
    rc = mdm_thread_start(start_worker, job);
    if (rc != 0)
        mdm_free(job);
    return rc;
}

const char *mdm_check_status_name(enum mdm_check_status status)
{
    switch (status) {
    case MDM_CHECK_PASS:
        return "pass";
    case MDM_CHECK_FAIL:
        return "fail";
    case MDM_CHECK_WARN:
        return "warn";
    case MDM_CHECK_SKIP:
        return "skip";
    default:
        return "error";
    }
}

const char *mdm_diag_explain(enum mdm_diagnosis_id id)
{
    switch (id) {
    case MDM_DIAG_NETWORK:
        return "Check network connectivity (knowledge article):\n"
               "  1. From this DM server, ping the Enrollment Server's IP address. No reply: a\n"
               "     network or firewall problem (see 3-5).\n"
               "  2. Then ping its FQDN. The IP answers but the FQDN does not: DNS host name\n"
               "     resolution (ipconfig /all: are the DNS servers right and reachable? is the\n"
               "     DHCP Client service running?).\n"
               "  3. Ping 127.0.0.1 (TCP/IP stack), the local IP address (routing, adapter), the\n"
               "     default gateway (adapter, router, cabling) and the DNS servers.\n"
               "  4. Check that no firewall blocks the admin ports: HTTPS 8445 (Enrollment\n"
               "     Server) and 8446 (DM server); a firewall that drops ICMP makes ping fail\n"
               "     while the ports work.\n"
               "  5. Make sure the SCMDM Enrollment services run on the Enrollment Server\n"
               "     (Services console), and look for errors in Event Viewer.\n";
    case MDM_DIAG_LOOPBACK:
        return "HTTP 401 Unauthorized Logon Failed using Loopback connector (knowledge article):\n"
               "  The Enrollment Server's name maps to this computer (same server, NLB name or\n"
               "  custom host header), and Windows' loopback check rejects Integrated\n"
               "  Authentication through it.\n"
               "  Narrow fix: add the name to "
               "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\MSV1_0\\\n"
               "  BackConnectionHostNames (REG_MULTI_SZ): mdmhealth resolve loopback --apply.\n"
               "  Article's fix: "
               "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\DisableLoopbackCheck\n"
               "  (DWORD) = 1: mdmhealth resolve loopback --disable-check --apply.\n"
               "  Restart IIS (iisreset) or the server afterwards.\n";
    case MDM_DIAG_AD_GROUP:
        return "Add Computer Account to SCMDM 2008 AD Groups (knowledge article):\n"
               "  1. In Active Directory Users and Computers, View > Advanced Features.\n"
               "  2. Open the SCMDM2008 Infrastructure Groups OU.\n"
               "  3. SCMDM2008DeviceManagementServers > Properties > Members > Add.\n"
               "  4. Object Types: Computers; add this DM server's computer account (only a\n"
               "     trusted SCMDM 2008 Device Management server, after SCMDM Setup ran).\n"
               "  Or: mdmhealth resolve ad-group --apply, or in PowerShell:\n"
               "     Add-ADGroupMember -Identity SCMDM2008DeviceManagementServers -Members "
               "'DM01$'\n";
    default:
        return "";
    }
}

bool mdm_diag_check_name_known(const char *name)
{
#define CHECK_NAME(check, suffix, help) check,
    static const char *const names[] = {MDM_DIAG_CHECKS(CHECK_NAME)};
#undef CHECK_NAME

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}
