/* signal_posix.c - mdm_signal.h with a self-pipe written by async-signal-safe handlers. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2] = {-1, -1};
static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
    int saved = errno;
    char c = 1;

    pending |= sig == SIGHUP ? MDM_SIGNAL_RELOAD : MDM_SIGNAL_STOP;
    if (pipe_fds[1] >= 0)
        (void)!write(pipe_fds[1], &c, 1);
    errno = saved;
}

int mdm_signal_open(struct mdm_err *err)
{
    struct sigaction sa;

    if (pipe(pipe_fds) != 0)
        return mdm_err_set(err, MDM_EIO, "cannot create the signal pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(pipe_fds[i], F_SETFL, fcntl(pipe_fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(pipe_fds[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

void mdm_signal_raise(int what)
{
    char c = 1;

    pending |= what;
    if (pipe_fds[1] >= 0)
        (void)!write(pipe_fds[1], &c, 1);
}

int mdm_signal_fd(void)
{
    return pipe_fds[0];
}

int mdm_signal_take(void)
{
    char buf[64];
    int got;

    while (read(pipe_fds[0], buf, sizeof(buf)) > 0)
        ;
    got = pending;
    pending = 0;
    return got;
}

void mdm_signal_close(void)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
        pipe_fds[i] = -1;
    }
}
