/*
 * loop_posix.c - the wait of mdm_loop.h on POSIX: poll() over the watched
 * descriptors. poll() has no FD_SETSIZE ceiling and its cost is the number of
 * watched descriptors, not the highest descriptor number; the agent watches
 * a handful (signal pipe, wake-up pipe, inotify, Net-SNMP's sockets).
 */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/loop_internal.h"

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/select.h>

/* More than any agent needs, and a cap on what a runaway integration can make us allocate. */
#define BACKEND_FDS_MAX 4096u

struct mdm_loop_backend {
    struct pollfd *fds;
    size_t cap;
};

int mdm_loop_backend_new(struct mdm_loop_backend **out, struct mdm_err *err)
{
    struct mdm_loop_backend *b = mdm_calloc(1, sizeof(*b));

    if (b == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    *out = b;
    return 0;
}

void mdm_loop_backend_free(struct mdm_loop_backend *b)
{
    if (b == NULL)
        return;
    mdm_free(b->fds);
    mdm_free(b);
}

int mdm_loop_backend_reserve(struct mdm_loop_backend *b, size_t count)
{
    struct pollfd *grown;
    size_t cap;

    if (count <= b->cap)
        return 0;
    if (count > BACKEND_FDS_MAX)
        return MDM_ETOOBIG;
    cap = b->cap == 0 ? 16 : b->cap * 2;
    while (cap < count)
        cap *= 2;
    grown = mdm_realloc(b->fds, cap * sizeof(*grown));
    if (grown == NULL)
        return MDM_ENOMEM;
    b->fds = grown;
    b->cap = cap;
    return 0;
}

int mdm_loop_backend_wait(struct mdm_loop_backend *b, struct mdm_loop_io *const *ios, size_t count,
                          int timeout_ms, struct mdm_err *err)
{
    int n, ready = 0;

    for (size_t i = 0; i < count; i++) {
        b->fds[i].fd = ios[i]->fd;
        b->fds[i].events = POLLIN;
        b->fds[i].revents = 0;
    }
    n = poll(b->fds, (nfds_t)count, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return mdm_err_set(err, MDM_EIO, "poll: %s", strerror(errno));
    }
    for (size_t i = 0; n > 0 && i < count; i++) {
        /*
         * An error or hang-up counts as readable: the read that follows
         * reports it. A descriptor that is not open (POLLNVAL) is never
         * ready: its callback could not clear the condition, and would run
         * in every turn.
         */
        if (b->fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
            ios[i]->ready = true;
            ready++;
        }
    }
    return ready;
}

size_t mdm_loop_fd_set_list(const void *fds_arg, int maxfd, int *out, size_t cap)
{
    const fd_set *fds = fds_arg;
    size_t n = 0;

    for (int fd = 0; fd <= maxfd && fd < FD_SETSIZE; fd++) {
        if (!FD_ISSET(fd, fds))
            continue;
        if (n < cap)
            out[n] = fd;
        n++;
    }
    return n;
}
