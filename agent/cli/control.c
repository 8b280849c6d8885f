/*
 * control.c - operator requests to the running agent through its state
 * directory (control.h describes the protocol).
 *
 * File format, one "key=value" per line, unknown keys refused:
 *   request: id=ID / action=reset / monitor=ID / target=NAME (may be empty)
 *   answer:  id=ID / status=N / text=ONE LINE
 */
#include "agent/cli/control.h"

#include "agent/common/mdm_alloc.h"
#include "agent/common/mdm_buf.h"
#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State directory paths are capped like every other path the agent builds. */
#define CONTROL_PATH_MAX 4096

static int control_path(char *out, const char *state_dir, const char *name, const char *suffix)
{
    int n = snprintf(out, CONTROL_PATH_MAX, "%s/%s%s", state_dir, name, suffix ? suffix : "");

    return n < 0 || n >= CONTROL_PATH_MAX ? MDM_ETOOBIG : 0;
}

void mdm_control_new_id(char *out, size_t size)
{
    static unsigned counter;

    snprintf(out, size, "%ld-%lld-%u", (long)mdm_os_process_id(), (long long)mdm_os_now_ms(),
             ++counter);
}

/* A value goes on one line of its own: no line breaks, no NUL, capped. */
static bool value_ok(const char *v, size_t max)
{
    size_t n = 0;

    while (n < max && v[n] != '\0')
        n++;
    return n < max && strpbrk(v, "\r\n") == NULL;
}

int mdm_control_submit(const char *state_dir, const struct mdm_control_request *req,
                       struct mdm_err *err)
{
    char tmp[CONTROL_PATH_MAX], path[CONTROL_PATH_MAX];
    struct mdm_buf b;
    int rc;

    mdm_buf_init(&b, MDM_CONTROL_FILE_MAX);
    if (req->action != MDM_CONTROL_RESET || req->id[0] == '\0' || req->monitor[0] == '\0' ||
        !value_ok(req->id, sizeof(req->id)) || !value_ok(req->monitor, sizeof(req->monitor)) ||
        !value_ok(req->target, sizeof(req->target))) {
        rc = mdm_err_set(err, MDM_EINVAL, "a request field is empty, too long or has a line break");
        goto out;
    }
    if (control_path(tmp, state_dir, "control.req.", req->id) != 0 ||
        control_path(path, state_dir, "control.req", NULL) != 0) {
        rc = mdm_err_set(err, MDM_ETOOBIG, "%s: state directory path too long", state_dir);
        goto out;
    }
    if ((rc = mdm_buf_printf(&b, "id=%s\naction=reset\nmonitor=%s\ntarget=%s\n", req->id,
                             req->monitor, req->target)) != 0) {
        mdm_err_set(err, rc, "request too large");
        goto out;
    }
    if ((rc = mdm_fs_write_atomic(tmp, b.data, b.len, err)) != 0)
        goto out;
    if (mdm_fs_rename_new(tmp, path, NULL) != 0) {
        struct mdm_fs_info info;

        mdm_fs_remove(tmp);
        /* Either a request is waiting (try again) or the directory refuses us. */
        if (mdm_fs_stat(path, &info) == 0) {
            rc = mdm_err_set(err, MDM_EAGAIN, "%s: another request is waiting", path);
            goto out;
        }
        rc = mdm_err_set(err, MDM_EIO, "%s: cannot create the request", path);
        goto out;
    }
    rc = 0;
out:
    mdm_buf_free(&b);
    return rc;
}

/*
 * Parses a request or answer file's lines into the fields given. Each of
 * keys[i] fills vals[i] (capped at sizes[i]); a key not listed, a line
 * without '=' or a value too long is MDM_EPARSE with the line number.
 */
static int parse_lines(const char *text, const char *const *keys, char **vals, const size_t *sizes,
                       size_t nkeys, struct mdm_err *err)
{
    const char *p = text;
    long line = 0;

    while (*p != '\0') {
        const char *end = strchr(p, '\n');
        const char *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t i;

        line++;
        eq = memchr(p, '=', len);
        if (eq == NULL)
            return mdm_err_set(err, MDM_EPARSE, "line %ld: no '='", line);
        for (i = 0; i < nkeys; i++) {
            size_t klen = strlen(keys[i]);

            if ((size_t)(eq - p) == klen && memcmp(p, keys[i], klen) == 0)
                break;
        }
        if (i == nkeys)
            return mdm_err_set(err, MDM_EPARSE, "line %ld: unknown key \"%.*s\"", line,
                               (int)(eq - p), p);
        if ((size_t)(p + len - eq - 1) >= sizes[i])
            return mdm_err_set(err, MDM_EPARSE, "line %ld: value too long", line);
        memcpy(vals[i], eq + 1, (size_t)(p + len - eq - 1));
        vals[i][p + len - eq - 1] = '\0';
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int read_request(const char *path, struct mdm_control_request *out, struct mdm_err *err)
{
    char action[16] = "";
    const char *const keys[] = {"id", "action", "monitor", "target"};
    char *vals[] = {out->id, action, out->monitor, out->target};
    const size_t sizes[] = {sizeof(out->id), sizeof(action), sizeof(out->monitor),
                            sizeof(out->target)};
    char *text = NULL;
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = mdm_fs_read_all(path, MDM_CONTROL_FILE_MAX, &text, &len, err)) != 0)
        goto out;
    if ((rc = parse_lines(text, keys, vals, sizes, 4, err)) != 0) {
        mdm_err_prefix(err, "%s: ", path);
        goto out;
    }
    if (strcmp(action, "reset") != 0 || out->id[0] == '\0' || out->monitor[0] == '\0') {
        rc = mdm_err_set(err, MDM_EPARSE, "%s: not a reset request with an id and a monitor", path);
        goto out;
    }
    out->action = MDM_CONTROL_RESET;
    rc = 0;
out:
    mdm_free(text);
    return rc;
}

int mdm_control_withdraw(const char *state_dir, const char *id)
{
    char path[CONTROL_PATH_MAX], mine[CONTROL_PATH_MAX];
    struct mdm_control_request req;

    if (control_path(path, state_dir, "control.req", NULL) != 0 ||
        control_path(mine, state_dir, "control.withdraw.", id) != 0)
        return MDM_ENOTFOUND;
    /*
     * Take whatever waits under the shared name; if it is another command's
     * request (ours was claimed and a new one came), put it back.
     */
    if (mdm_fs_rename_new(path, mine, NULL) != 0)
        return MDM_ENOTFOUND;
    if (read_request(mine, &req, NULL) == 0 && strcmp(req.id, id) != 0) {
        if (mdm_fs_rename_new(mine, path, NULL) != 0)
            mdm_fs_remove(mine);
        return MDM_ENOTFOUND;
    }
    mdm_fs_remove(mine);
    return 0;
}

int mdm_control_claim(const char *state_dir, struct mdm_control_request *out, struct mdm_err *err)
{
    char path[CONTROL_PATH_MAX], work[CONTROL_PATH_MAX];
    struct mdm_fs_info info;
    int rc;

    if (control_path(path, state_dir, "control.req", NULL) != 0 ||
        control_path(work, state_dir, "control.work", NULL) != 0)
        return mdm_err_set(err, MDM_ETOOBIG, "%s: state directory path too long", state_dir);
    if (mdm_fs_stat(path, &info) != 0)
        return MDM_ENOTFOUND;
    /* A work file left by an agent stopped mid-request was never answered. */
    mdm_fs_remove(work);
    if (mdm_fs_rename_new(path, work, NULL) != 0)
        return MDM_ENOTFOUND; /* withdrawn in the meantime */
    if ((rc = read_request(work, out, err)) != 0) {
        char id[MDM_CONTROL_ID_MAX] = "";

        /* Answer what can be answered, so that the command does not wait in vain. */
        if (out->id[0] != '\0')
            snprintf(id, sizeof(id), "%s", out->id);
        mdm_control_answer(state_dir, id, rc, err ? err->msg : "unreadable request", NULL);
        mdm_fs_remove(work);
        return MDM_EPARSE;
    }
    return 0;
}

int mdm_control_answer(const char *state_dir, const char *id, int status, const char *text,
                       struct mdm_err *err)
{
    char done[CONTROL_PATH_MAX], work[CONTROL_PATH_MAX];
    char line[MDM_CONTROL_TEXT_MAX];
    struct mdm_buf b;
    size_t i;
    int rc;

    if (control_path(done, state_dir, "control.done", NULL) != 0 ||
        control_path(work, state_dir, "control.work", NULL) != 0)
        return mdm_err_set(err, MDM_ETOOBIG, "%s: state directory path too long", state_dir);
    /* The text is one line for the operator: line breaks become spaces. */
    snprintf(line, sizeof(line), "%s", text ? text : "");
    for (i = 0; line[i] != '\0'; i++)
        if (line[i] == '\r' || line[i] == '\n')
            line[i] = ' ';
    mdm_buf_init(&b, MDM_CONTROL_FILE_MAX);
    if ((rc = mdm_buf_printf(&b, "id=%s\nstatus=%d\ntext=%s\n", id, status, line)) != 0) {
        mdm_err_set(err, rc, "answer too large");
        goto out;
    }
    if ((rc = mdm_fs_write_atomic(done, b.data, b.len, err)) != 0)
        goto out;
    mdm_fs_remove(work);
out:
    mdm_buf_free(&b);
    return rc;
}

int mdm_control_read_answer(const char *state_dir, const char *id, int *status, char *text,
                            size_t text_size)
{
    char done[CONTROL_PATH_MAX];
    char got_id[MDM_CONTROL_ID_MAX] = "", got_status[16] = "";
    char got_text[MDM_CONTROL_TEXT_MAX] = "";
    const char *const keys[] = {"id", "status", "text"};
    char *vals[] = {got_id, got_status, got_text};
    const size_t sizes[] = {sizeof(got_id), sizeof(got_status), sizeof(got_text)};
    char *file = NULL;
    size_t len;
    int rc = MDM_ENOTFOUND;

    if (control_path(done, state_dir, "control.done", NULL) != 0)
        return MDM_ENOTFOUND;
    if (mdm_fs_read_all(done, MDM_CONTROL_FILE_MAX, &file, &len, NULL) != 0)
        goto out;
    /* An answer to an unreadable request carries no id; it can only be ours. */
    if (parse_lines(file, keys, vals, sizes, 3, NULL) != 0 ||
        (got_id[0] != '\0' && strcmp(got_id, id) != 0))
        goto out;
    *status = atoi(got_status);
    snprintf(text, text_size, "%s", got_text);
    mdm_fs_remove(done);
    rc = 0;
out:
    mdm_free(file);
    return rc;
}
