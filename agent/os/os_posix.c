/* os_posix.c - mdm_os.h on POSIX. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_os.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int mdm_os_setenv(const char *name, const char *value)
{
    return setenv(name, value, 1) == 0 ? 0 : MDM_EIO;
}

const char *mdm_os_path_list_separator(void)
{
    return ":";
}

int mdm_os_host_name(char *out, size_t size)
{
    char name[256];

    /* POSIX leaves the result unterminated when it was cut: terminate, then check. */
    name[sizeof(name) - 1] = '\0';
    if (gethostname(name, sizeof(name) - 1) != 0)
        return MDM_EIO;
    if (strlen(name) >= size)
        return MDM_ETOOBIG;
    memcpy(out, name, strlen(name) + 1);
    return 0;
}

int mdm_os_system_description(char *out, size_t size)
{
    struct utsname u;
    int n;

    if (uname(&u) != 0)
        return MDM_EIO;
    n = snprintf(NULL, 0, "%s %s %s", u.sysname, u.release, u.machine);
    if (n < 0)
        return MDM_EIO;
    if ((size_t)n >= size)
        return MDM_ETOOBIG;
    snprintf(out, size, "%s %s %s", u.sysname, u.release, u.machine);
    return 0;
}

int64_t mdm_os_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mdm_os_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mdm_os_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    /* An interrupted sleep resumes with what remains. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

long mdm_os_process_id(void)
{
    return (long)getpid();
}

/*
 * The terminal whose echo is off, for the signal handler: it puts the saved
 * state back, reinstalls the previous disposition and raises the signal
 * again, so that Ctrl-C still ends the process but never leaves the
 * terminal without echo. Only async-signal-safe calls (tcsetattr,
 * sigaction, raise).
 */
static const int secret_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
#define SECRET_SIGNAL_COUNT (sizeof(secret_signals) / sizeof(secret_signals[0]))
static volatile sig_atomic_t secret_fd = -1;
static struct termios secret_saved;
static struct sigaction secret_old[SECRET_SIGNAL_COUNT];
static bool secret_caught[SECRET_SIGNAL_COUNT];

static void secret_on_signal(int sig)
{
    if (secret_fd >= 0)
        tcsetattr(secret_fd, TCSANOW, &secret_saved);
    for (size_t i = 0; i < SECRET_SIGNAL_COUNT; i++)
        if (secret_signals[i] == sig && secret_caught[i])
            sigaction(sig, &secret_old[i], NULL);
    /* Blocked until this handler returns, then delivered with the old disposition. */
    raise(sig);
}

static void write_all(int fd, const char *text)
{
    size_t len = strlen(text);

    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

int mdm_os_read_secret(const char *prompt, char *out, size_t size, struct mdm_err *err)
{
    char line[MDM_OS_SECRET_LINE_MAX + 1];
    struct termios quiet;
    struct sigaction sa;
    size_t len = 0;
    bool too_long = false, got_line = false, restore = false;
    int in = STDIN_FILENO, out_fd = STDERR_FILENO, tty, rc;

    if (!isatty(STDIN_FILENO))
        return mdm_err_set(err, MDM_ENOTFOUND, "standard input is not a terminal");
    /* The controlling terminal when there is one, so that the prompt is not in stdout. */
    tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty >= 0)
        in = out_fd = tty;
    if (tcgetattr(in, &secret_saved) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "cannot read the terminal's settings: %s", strerror(errno));
        goto out;
    }
    quiet = secret_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = secret_on_signal;
    sigemptyset(&sa.sa_mask);
    secret_fd = in;
    restore = true;
    for (size_t i = 0; i < SECRET_SIGNAL_COUNT; i++) {
        /* A signal this process ignores stays ignored. */
        secret_caught[i] = sigaction(secret_signals[i], NULL, &secret_old[i]) == 0 &&
                           secret_old[i].sa_handler != SIG_IGN &&
                           sigaction(secret_signals[i], &sa, NULL) == 0;
    }
    /* Echo off before the prompt: nothing typed after the prompt is ever shown. */
    if (tcsetattr(in, TCSAFLUSH, &quiet) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "cannot turn the terminal's echo off: %s", strerror(errno));
        goto out;
    }
    write_all(out_fd, prompt);
    /* One byte at a time: nothing after the line end is taken from the terminal. */
    for (;;) {
        char c;
        ssize_t n = read(in, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (c == '\n') {
            got_line = true;
            break;
        }
        if (len < MDM_OS_SECRET_LINE_MAX)
            line[len++] = c;
        else
            too_long = true;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (!got_line && len == 0)
        rc = mdm_err_set(err, MDM_EIO, "end of input before a line was entered");
    else if (too_long || len + 1 > size)
        rc = mdm_err_set(err, MDM_ETOOBIG, "the line entered is too long (at most %zu bytes)",
                         size > 0 && size - 1 < MDM_OS_SECRET_LINE_MAX
                             ? size - 1
                             : (size_t)MDM_OS_SECRET_LINE_MAX);
    else {
        memcpy(out, line, len + 1);
        rc = 0;
    }
out:
    if (restore) {
        tcsetattr(in, TCSAFLUSH, &secret_saved);
        for (size_t i = 0; i < SECRET_SIGNAL_COUNT; i++)
            if (secret_caught[i])
                sigaction(secret_signals[i], &secret_old[i], NULL);
        secret_fd = -1;
        /* The Enter key was not echoed: end the prompt's line. */
        write_all(out_fd, "\n");
    }
    mdm_wipe(line, sizeof(line));
    if (tty >= 0)
        close(tty);
    return rc;
}
