/* wakeup_posix.c - mdm_wakeup.h with a non-blocking pipe. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_wakeup.h"

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct mdm_wakeup {
    int fds[2];
};

int mdm_wakeup_open(struct mdm_wakeup **out, struct mdm_err *err)
{
    struct mdm_wakeup *w = mdm_calloc(1, sizeof(*w));

    if (w == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    if (pipe(w->fds) != 0) {
        int e = errno;
        mdm_free(w);
        return mdm_err_set(err, MDM_EIO, "cannot create a wake-up pipe: %s", strerror(e));
    }
    for (int i = 0; i < 2; i++) {
        fcntl(w->fds[i], F_SETFL, fcntl(w->fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(w->fds[i], F_SETFD, FD_CLOEXEC);
    }
    *out = w;
    return 0;
}

int mdm_wakeup_fd(const struct mdm_wakeup *w)
{
    return w->fds[0];
}

void mdm_wakeup_post(struct mdm_wakeup *w)
{
    char c = 1;

    /* A full pipe already holds a wake-up: nothing is lost by failing here. */
    (void)!write(w->fds[1], &c, 1);
}

void mdm_wakeup_drain(struct mdm_wakeup *w)
{
    char buf[64];

    while (read(w->fds[0], buf, sizeof(buf)) > 0)
        ;
}

void mdm_wakeup_close(struct mdm_wakeup *w)
{
    if (w == NULL)
        return;
    close(w->fds[0]);
    close(w->fds[1]);
    mdm_free(w);
}
