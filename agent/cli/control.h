/*
 * control.h - requests from an operator's command (`mdmhealth reset`) to the
 * running agent, through one file in the agent's state directory.
 *
 * The state directory is already the agent's private, durable place that
 * only the service account and administrators can write, on Linux and on
 * Windows alike; a request there needs no socket, no SNMP write access and
 * no second authentication scheme. The protocol, with rename as the only
 * atomic step:
 *
 *   command   writes STATE/control.req.<id>, renames it to STATE/control.req
 *             without replacing (mdm_fs_rename_new: one request at a time)
 *   agent     renames control.req to control.work (the claim), reads it,
 *             acts, writes STATE/control.done (atomically), removes the work
 *             file
 *   command   reads control.done, checks the id, removes it; when no agent
 *             claims the request in time it takes the request back
 *             (mdm_control_withdraw), so nothing is applied behind the
 *             operator's back at a later start
 */
#ifndef MDM_CONTROL_H
#define MDM_CONTROL_H

#include "agent/common/mdm_err.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A request or answer file is never larger than this. */
#define MDM_CONTROL_FILE_MAX 4096

/* Ids, monitor IDs and targets are capped at these sizes (with the NUL). */
#define MDM_CONTROL_ID_MAX      64
#define MDM_CONTROL_MONITOR_MAX 1024
#define MDM_CONTROL_TARGET_MAX  256
#define MDM_CONTROL_TEXT_MAX    1024

enum mdm_control_action { MDM_CONTROL_RESET = 1 };

struct mdm_control_request {
    char id[MDM_CONTROL_ID_MAX];
    enum mdm_control_action action;
    char monitor[MDM_CONTROL_MONITOR_MAX];
    char target[MDM_CONTROL_TARGET_MAX]; /* "" = every target */
};

/*
 * Makes a request id unique enough for one state directory: process id,
 * wall-clock time and a counter.
 */
void mdm_control_new_id(char *out, size_t size);

/*
 * Places req in state_dir for the agent. MDM_EAGAIN when another request is
 * waiting (try again shortly), MDM_EINVAL for a field with a line break or
 * too long, MDM_EIO with a message otherwise.
 */
int mdm_control_submit(const char *state_dir, const struct mdm_control_request *req,
                       struct mdm_err *err);

/*
 * Takes back the request `id` if no agent has claimed it yet. Returns 0 when
 * it was withdrawn, MDM_ENOTFOUND when it is no longer waiting (claimed, or
 * gone).
 */
int mdm_control_withdraw(const char *state_dir, const char *id);

/*
 * The agent's side: claims the waiting request, if any, into *out. Returns 0
 * with *out set, MDM_ENOTFOUND when there is none, MDM_EPARSE (with a
 * message; the file is answered and removed) for a request it cannot read.
 */
int mdm_control_claim(const char *state_dir, struct mdm_control_request *out, struct mdm_err *err);

/*
 * The agent's answer to the request `id`: status 0 (done) or a negative
 * MDM_E* code, and one line of text for the operator. Removes the claimed
 * request.
 */
int mdm_control_answer(const char *state_dir, const char *id, int status, const char *text,
                       struct mdm_err *err);

/*
 * The command's side: the answer to `id` if it is there (0, *status and
 * text set, the answer file removed), MDM_ENOTFOUND if not yet.
 */
int mdm_control_read_answer(const char *state_dir, const char *id, int *status, char *text,
                            size_t text_size);

#ifdef __cplusplus
}
#endif

#endif
