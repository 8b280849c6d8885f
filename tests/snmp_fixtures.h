/*
 * snmp_fixtures.h - real processes for the SNMP end-to-end tests: free
 * loopback ports, child processes in their own process group (always
 * stopped, also when a test fails), snmptrapd / snmpd instances with their
 * logs, `mdmhealth run -f`, Net-SNMP command-line tools, and polling with a
 * deadline instead of fixed sleeps.
 *
 * Every Net-SNMP program started here gets a private SNMPCONFPATH and
 * SNMP_PERSISTENT_DIR under the test's directory, so nothing is read from or
 * written to /etc/snmp, /var/lib/snmp or ~/.snmp, and tests running in
 * parallel (ctest -j) share no files and no fixed ports.
 */
#ifndef MDM_SNMP_FIXTURES_H
#define MDM_SNMP_FIXTURES_H

#include <sys/types.h>

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace snmptest
{

/* A port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). */
int free_udp_port();
int free_tcp_port();

/* A file's contents, or "" when it cannot be read (no test failure: for polling). */
std::string read_text(const std::string &path);

/* Polls pred every step_ms until it is true or timeout_ms passed; returns its last value. */
bool wait_until(const std::function<bool()> &pred, int timeout_ms, int step_ms = 50);

/* The path of a Net-SNMP program (snmptrapd, snmpd, snmpget...), or "" when not installed. */
std::string find_program(const std::string &name);

/*
 * A child process in its own process group, its stdout and stderr appended
 * to a log file. The destructor stops it (SIGTERM to the group, then SIGKILL
 * after a grace period), so no test leaves a daemon behind. Children also get
 * PR_SET_PDEATHSIG, so they die with a test process that is killed.
 */
class Process
{
  public:
    Process() = default;
    ~Process();
    Process(const Process &) = delete;
    Process &operator=(const Process &) = delete;

    /* Starts argv (argv[0] a path) with env entries "NAME=VALUE" added. False when fork failed. */
    bool start(const std::vector<std::string> &argv, const std::vector<std::string> &env,
               const std::string &log_path);
    pid_t pid() const
    {
        return pid_;
    }
    /* True while the process has not exited (reaps it when it has). */
    bool running();
    /* Waits up to timeout_ms for the exit; true when it exited. */
    bool wait_exit(int timeout_ms);
    /* Exit status after exit: 0..255, or -SIGNAL when killed by a signal. */
    int exit_status() const
    {
        return status_;
    }
    /* Sends sig to the process (not the group). */
    void signal(int sig);
    /* SIGKILL to the whole group, then reaps. */
    void kill_hard();
    /* SIGTERM to the group, wait up to grace_ms, then SIGKILL. Returns exit_status(). */
    int stop(int grace_ms = 5000);
    const std::string &log_path() const
    {
        return log_path_;
    }
    std::string log() const;

  private:
    pid_t pid_ = -1;
    bool exited_ = true;
    int status_ = -1;
    std::string log_path_;
};

/* The environment that isolates a Net-SNMP program in dir (see the file comment). */
std::vector<std::string> netsnmp_env(const std::string &dir);

/*
 * Runs a program to its end (killed after timeout_ms), capturing stdout and
 * stderr separately; status as mdmtest::RunResult (-1 when killed).
 */
mdmtest::RunResult run_with_env(const std::vector<std::string> &argv,
                                const std::vector<std::string> &env, int timeout_ms = 20000);

/* One notification as snmptrapd logged it (one line per notification, see TrapReceiver). */
struct Notification {
    std::string pdu;      /* "TRAP2" or "INFORM" */
    std::string security; /* "SNMP v2c, community traps" / "SNMP v3, user trapuser, context " */
    std::string trap_oid; /* snmpTrapOID.0's value, numeric or a name */
    std::vector<std::pair<std::string, std::string>> vars; /* OID -> "TYPE: value" */
    std::string raw;

    /* The value of the varbind whose OID is oid, without its type and quotes; "<absent>". */
    std::string value(const std::string &oid) const;
    /* The "TYPE: value" text of that varbind, or "<absent>". */
    std::string typed(const std::string &oid) const;
};

/* Parses the lines of a TrapReceiver log that are notifications. */
std::vector<Notification> parse_notifications(const std::string &log);

/*
 * A real snmptrapd on udp:127.0.0.1:FREE_PORT, logging each notification as
 * one line ("NOTIFICATION|%P|%v") to a file. With mib_dirs it loads
 * MDM-HEALTH-MIB and prints names; without, every OID is numeric (-On).
 */
class TrapReceiver
{
  public:
    /*
     * Starts it with conf as snmptrapd.conf, retrying on another port if
     * the chosen one was taken meanwhile (port 0), or on port (retrying
     * while it is still held). Returns "" or what went wrong.
     */
    std::string start(const std::string &dir, const std::string &conf,
                      const std::string &mib_dirs = "", int port = 0);
    int port() const
    {
        return port_;
    }
    std::vector<Notification> notifications() const;
    /* Waits until pred holds for the notifications logged so far. */
    bool wait_for(const std::function<bool(const std::vector<Notification> &)> &pred,
                  int timeout_ms = 10000) const;
    std::string log() const
    {
        return proc_.log();
    }
    void stop()
    {
        proc_.stop();
    }

  private:
    Process proc_;
    int port_ = 0;
    std::string log_path_;
};

/*
 * A real snmpd acting as AgentX master: agentaddress udp:127.0.0.1:PORT,
 * agentXSocket tcp:127.0.0.1:XPORT, plus the extra lines given.
 */
class MasterAgent
{
  public:
    /* udp_port / agentx_port 0 = choose free ones (retrying on a clash). */
    std::string start(const std::string &dir, const std::string &extra_conf, int udp_port = 0,
                      int agentx_port = 0);
    int udp_port() const
    {
        return udp_port_;
    }
    int agentx_port() const
    {
        return agentx_port_;
    }
    std::string log() const
    {
        return proc_.log();
    }
    int stop()
    {
        return proc_.stop();
    }

  private:
    Process proc_;
    int udp_port_ = 0, agentx_port_ = 0;
    int starts_ = 0;
};

/*
 * `mdmhealth run -c DIR/mdmhealth.conf -f` following DIR/events.xml with its
 * state in DIR/state. The SNMP lines of the configuration come from the test.
 */
class MdmAgent
{
  public:
    explicit MdmAgent(const std::string &dir);
    const std::string &dir() const
    {
        return dir_;
    }
    const std::string &events_path() const
    {
        return events_;
    }
    const std::string &config_path() const
    {
        return config_;
    }
    std::string state_file() const
    {
        return dir_ + "/state/state";
    }
    /* Writes the configuration: source, state-dir, then snmp_lines. */
    void configure(const std::string &snmp_lines);
    /*
     * Starts the agent and waits until it follows the events file (and, with
     * agentaddress, listens). Returns "" or what went wrong with its log.
     * Each start logs to a new file (mdm-N.log).
     */
    std::string start(int timeout_ms = 10000);
    /* Appends one event line to the followed file (one write). */
    void append(const std::string &event_xml_line);
    /* Extra arguments of `mdmhealth run` (e.g. "--debug") and "NAME=VALUE" for the next starts. */
    void set_run_extra(const std::vector<std::string> &args, const std::vector<std::string> &env)
    {
        extra_args_ = args;
        extra_env_ = env;
    }
    Process &process()
    {
        return proc_;
    }
    std::string log() const
    {
        return proc_.log();
    }
    /* Waits until the current log contains text. */
    bool wait_log(const std::string &text, int timeout_ms = 10000) const;
    int stop(int grace_ms = 5000)
    {
        return proc_.stop(grace_ms);
    }

  private:
    std::string dir_, events_, config_;
    std::vector<std::string> extra_args_, extra_env_;
    Process proc_;
    int starts_ = 0;
};

/* The MDM-HEALTH-MIB numeric OIDs used by the tests. */
namespace oids
{
extern const std::string kRoot;                      /* 1.3.6.1.4.1.8072.9999.9999 */
extern const std::string kAlertRaised;               /* .0.1 */
extern const std::string kAlertResolved;             /* .0.2 */
std::string monitor_column(int column, int row = 1); /* .1.2.1.COL.ROW */
std::string agent_scalar(int item);                  /* .1.1.N.0 */
enum {
    kName = 2,
    kTarget = 4,
    kState = 5,
    kLastChange = 6,
    kLastEventId = 7,
    kLastRecordId = 8,
    kLastDescription = 9,
    kAlertActive = 10,
    kRepeatCount = 11,
    kSeverity = 12,
    kPriority = 13,
    kReset = 14,
    kType = 15
};
enum {
    kEventsRead = 5,
    kEventsMatched = 6,
    kNotificationsSent = 8,
    kNotificationsFailed = 9,
    kNotificationsPending = 10,
    kPackMonitorsLoaded = 14,
    kPackMonitorsSkipped = 15
};
} // namespace oids

/*
 * Runs snmpget (or another tool: tool is its name) against udp:127.0.0.1:port
 * with auth_args (e.g. {"-v2c", "-c", "secret"}), numeric output, one try
 * with a short timeout. The isolation environment lives in dir.
 */
mdmtest::RunResult snmp_tool(const std::string &dir, const std::string &tool,
                             const std::vector<std::string> &auth_args, int port,
                             const std::vector<std::string> &oids,
                             const std::vector<std::string> &extra = {});
/*
 * The "TYPE: value" snmpget printed for oid (numeric output), or "" when
 * there was no value (timeout, error, noSuch...).
 */
std::string get_value(const mdmtest::RunResult &r, const std::string &oid);

/* The health field (3rd of a "row" line) of row row_index in a state file, or "". */
std::string state_file_health(const std::string &state_text, size_t row_index = 0);
/* The number of "notice" lines (notifications still queued) in a state file. */
size_t state_file_notices(const std::string &state_text);

/* Removes a directory tree (the test's scratch directory). */
void remove_tree(const std::string &path);

/* The directory of the IETF base MIB modules (scripts/mib-base-modules), or "" with why. */
std::string mib_base_dir(std::string *why);

/* The Enrollment Connection monitor and the events the SNMP tests feed it. */
namespace enrollment
{
extern const std::string kMonitorId;
extern const std::string kComputer;
extern const std::string kFailure; /* the 1003's description */
extern const std::string kSuccess; /* the 1004's description */
extern const std::string kFailureTime;
extern const std::string kSuccessTime;
/* A 1003 (error) / 1004 (healthy) of "Device Manager" with record ID record. */
std::string failure_event(unsigned long long record, const std::string &computer = kComputer);
std::string success_event(unsigned long long record, const std::string &computer = kComputer);
} // namespace enrollment

/*
 * What every test of a running mdmhealth shares: the programs it needs (the
 * test is skipped when one is missing), a scratch directory, the agent, a
 * trap receiver and a master snmpd. TearDown stops them all, and on failure
 * prints their logs and keeps the directory.
 */
class AgentTest : public ::testing::Test
{
  protected:
    /* Called from SetUp; nothing may follow it there (it may skip the test). */
    void prepare(const char *dir_name, std::initializer_list<const char *> programs);
    void TearDown() override;
    /* Waits until the agent's state file holds no queued notification. */
    bool queue_drained(int timeout_ms = 10000);
    /* Stops what else a fixture started and returns its logs, for TearDown. */
    virtual std::string stop_others()
    {
        return "";
    }

    std::string dir_;
    std::unique_ptr<MdmAgent> agent_;
    TrapReceiver trapd_;
    MasterAgent master_;
};

} // namespace snmptest

#endif
