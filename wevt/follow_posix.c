/* follow_posix.c - follow.h with Linux inotify. */
#define _GNU_SOURCE

#include "wevt/follow.h"

#include "agent/common/mdm_alloc.h"
#include "agent/os/mdm_fs.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct mdm_follow {
    int fd;
    int wd;
};

int mdm_follow_open(struct mdm_follow **out, const char *path, struct mdm_err *err)
{
    struct mdm_follow *f = mdm_calloc(1, sizeof(*f));
    char dir[MDM_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len;

    if (f == NULL)
        return mdm_err_set(err, MDM_ENOMEM, "out of memory");
    /*
     * The directory is watched, not the file, so that creation, replacement
     * (rotation) and growth of the file are all seen.
     */
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof(dir)) {
            mdm_free(f);
            return mdm_err_set(err, MDM_EINVAL, "%s: path too long", path);
        }
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    f->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (f->fd < 0) {
        mdm_free(f);
        return mdm_err_set(err, MDM_EIO, "%s: inotify: %s", path, strerror(errno));
    }
    f->wd = inotify_add_watch(
        f->fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE);
    if (f->wd < 0) {
        int e = errno;
        close(f->fd);
        mdm_free(f);
        return mdm_err_set(err, MDM_EIO, "%s: cannot watch directory %s: %s", path, dir,
                           strerror(e));
    }
    *out = f;
    return 0;
}

int mdm_follow_fd(struct mdm_follow *f)
{
    return f->fd;
}

int mdm_follow_wait(struct mdm_follow *f, int timeout_ms)
{
    struct pollfd p = {f->fd, POLLIN, 0};
    char buf[4096];
    int n;

    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return MDM_EIO;
    /* Drain: the caller re-reads the file whatever the notification said. */
    while (read(f->fd, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

void mdm_follow_close(struct mdm_follow *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    mdm_free(f);
}
