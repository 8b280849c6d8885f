/* fs_posix.c - POSIX implementation of mdm_fs.h. */
#define _POSIX_C_SOURCE 200809L

#include "agent/os/mdm_fs.h"

#include "agent/common/mdm_alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Flushes the directory holding path so that a rename in it is durable. */
static void sync_parent_dir(const char *path)
{
    char dir[MDM_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len;
    int fd;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        len = (size_t)(slash - path);
        if (len == 0)
            len = 1;
        if (len >= sizeof(dir))
            return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * Writes data to "path.tmp" and renames it over path. With flush, the file
 * is flushed before the rename and the directory after it (durable against
 * power loss); without, the replacement is atomic for processes only.
 */
static int replace_file(const char *path, const void *data, size_t len, bool flush,
                        struct mdm_err *err)
{
    char tmp[MDM_PATH_MAX];
    const char *p = data;
    int fd = -1;
    int rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = mdm_err_set(err, MDM_EIO, "%s: write failed: %s", tmp, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (flush && fsync(fd) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = mdm_err_set(err, MDM_EIO, "%s: close failed: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot replace: %s", path, strerror(errno));
        goto out;
    }
    if (flush)
        sync_parent_dir(path);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int mdm_fs_write_atomic(const char *path, const void *data, size_t len, struct mdm_err *err)
{
    return replace_file(path, data, len, true, err);
}

int mdm_fs_replace_unflushed(const char *path, const void *data, size_t len, struct mdm_err *err)
{
    return replace_file(path, data, len, false, err);
}

int mdm_fs_write_at_flushed(const char *path, uint64_t offset, const void *data, size_t len,
                            struct mdm_err *err)
{
    const char *p = data;
    uint64_t at = offset;
    struct stat st;
    bool created = false;
    int fd, rc;

    if (offset > (uint64_t)INT64_MAX - len)
        return mdm_err_set(err, MDM_EINVAL, "%s: offset too large", path);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        created = fd >= 0;
    }
    if (fd < 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    /* Anything after the new data (a torn record, an older generation) is cut first. */
    if ((uint64_t)st.st_size > offset + len && ftruncate(fd, (off_t)(offset + len)) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot truncate: %s", path, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = mdm_err_set(err, MDM_EIO, "%s: write failed: %s", path, strerror(errno));
            goto out;
        }
        p += n;
        at += (uint64_t)n;
        len -= (size_t)n;
    }
    /* fdatasync: the data and the size, not the times; one flush. */
    if (fdatasync(fd) != 0) {
        rc = mdm_err_set(err, MDM_EIO, "%s: fdatasync failed: %s", path, strerror(errno));
        goto out;
    }
    /* A new file's name is durable only once its directory is flushed (once per file). */
    if (created)
        sync_parent_dir(path);
    rc = 0;
out:
    close(fd);
    return rc;
}

/* What a file that is not regular is, for the error message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

int mdm_fs_open_regular(const char *path, FILE **out, struct mdm_err *err)
{
    struct stat st;
    FILE *fp;
    int fd, flags;

    /* O_NONBLOCK: opening a FIFO does not wait for a writer; cleared below. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return MDM_ENOTFOUND;
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mdm_err_set(err, MDM_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mdm_err_set(err, MDM_EINVAL, "%s: not a regular file (%s)", path,
                           file_kind(st.st_mode));
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
        (fp = fdopen(fd, "rb")) == NULL) {
        int e = errno;
        close(fd);
        return mdm_err_set(err, MDM_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    *out = fp;
    return 0;
}

FILE *mdm_fs_fopen(const char *path, const char *mode)
{
    return fopen(path, mode);
}

int mdm_fs_mkdirs(const char *path, struct mdm_err *err)
{
    char buf[MDM_PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return mdm_err_set(err, MDM_EINVAL, "invalid directory name \"%s\"", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return mdm_err_set(err, MDM_EIO, "%s: cannot create directory: %s", buf,
                               strerror(errno));
        buf[i] = path[i];
    }
    return 0;
}

/* Default locations on POSIX systems. */
const char *mdm_fs_default_config_path(void)
{
    return "/etc/mdmhealth/mdmhealth.conf";
}

const char *mdm_fs_default_state_dir(void)
{
    return "/var/lib/mdmhealth";
}

static void fill_info(const struct stat *st, struct mdm_fs_info *out)
{
    out->dev = (uint64_t)st->st_dev;
    out->ino = (uint64_t)st->st_ino;
    out->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
}

int mdm_fs_stat(const char *path, struct mdm_fs_info *out)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? MDM_ENOTFOUND : MDM_EIO;
    fill_info(&st, out);
    return 0;
}

int mdm_fs_fstat(FILE *fp, struct mdm_fs_info *out)
{
    struct stat st;

    if (fstat(fileno(fp), &st) != 0)
        return MDM_EIO;
    fill_info(&st, out);
    return 0;
}

int mdm_fs_seek(FILE *fp, uint64_t offset)
{
    if (offset > (uint64_t)INT64_MAX || fseeko(fp, (off_t)offset, SEEK_SET) != 0)
        return MDM_EIO;
    return 0;
}

int mdm_fs_rename_new(const char *from, const char *to, struct mdm_err *err)
{
    /* link() fails with EEXIST instead of replacing, unlike rename(). */
    if (link(from, to) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot create: %s", to, strerror(errno));
    unlink(from);
    sync_parent_dir(to);
    return 0;
}

void mdm_fs_remove(const char *path)
{
    unlink(path);
}

int mdm_fs_make_private_temp_dir(char *out, size_t size, struct mdm_err *err)
{
    const char *base = getenv("TMPDIR");
    char name[MDM_PATH_MAX];

    if (base == NULL || base[0] != '/')
        base = "/tmp";
    if ((size_t)snprintf(name, sizeof(name), "%s/mdmhealth-XXXXXX", base) >= sizeof(name))
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long", base);
    /* mkdtemp creates the directory with mode 0700 under a name nobody held. */
    if (mkdtemp(name) == NULL)
        return mdm_err_set(err, MDM_EIO, "%s: cannot create a private directory: %s", base,
                           strerror(errno));
    if (strlen(name) >= size) {
        rmdir(name);
        return mdm_err_set(err, MDM_EINVAL, "%s: path too long", name);
    }
    memcpy(out, name, strlen(name) + 1);
    return 0;
}

void mdm_fs_remove_dir(const char *path)
{
    rmdir(path);
}

int mdm_fs_restrict_to_service(const char *path, bool is_dir, struct mdm_err *err)
{
    if (chmod(path, is_dir ? 0700 : 0600) != 0)
        return mdm_err_set(err, MDM_EIO, "%s: cannot change permissions: %s", path,
                           strerror(errno));
    return 0;
}
