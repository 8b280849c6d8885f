/*
 * outbox.h - the durable queue of notifications (ConfirmDelivery).
 *
 * Every state change that must reach the managers becomes one notice. A
 * notice stays in the outbox until every destination is done with it: a trap
 * destination when the trap was sent, an inform destination when the
 * manager acknowledged it. The outbox is saved in the state file together
 * with the monitor states and the event position (store.h), so an event
 * counts as handled only once its notice is durably queued; a kill at any
 * instant loses no notice, and delivery resumes in order after a restart.
 *
 * This module is plain data and has no Net-SNMP dependency; notify.c sends.
 */
#ifndef MDM_OUTBOX_H
#define MDM_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/common/mdm_buf.h"
#include "agent/common/mdm_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MDM_OUTBOX_MAX      1000u /* notices kept; beyond, the oldest is dropped and counted */
#define MDM_DEST_MAX        32u   /* notification destinations (one bit each) */
#define MDM_NOTICE_TEXT_MAX 256u  /* text varbinds: at most 255 octets plus NUL */
#define MDM_NOTICE_NAME_MAX 128u  /* check, diagnosis and resolver names */

enum mdm_notice_kind {
    MDM_NOTICE_RAISED = 1,   /* mdmAlertRaised */
    MDM_NOTICE_RESOLVED = 2, /* mdmAlertResolved */
    MDM_NOTICE_DIAGNOSIS = 3 /* mdmDiagnosis */
};

struct mdm_notice {
    uint64_t seq; /* assigned by the outbox, increasing */
    enum mdm_notice_kind kind;
    unsigned row; /* mdmMonitorIndex */
    int health;   /* enum mdm_health */
    int severity; /* enum mdm_severity */
    int priority; /* enum mdm_priority */
    uint32_t event_id;
    uint64_t record_id;
    int64_t time_ms; /* event time, ms since 1970 UTC */
    char monitor[MDM_NOTICE_TEXT_MAX];
    char target[MDM_NOTICE_TEXT_MAX];
    char description[MDM_NOTICE_TEXT_MAX];
    /* MDM_NOTICE_DIAGNOSIS only: the mdmDiagTable row that holds the evidence. */
    unsigned diag_row;
    int check_status; /* enum mdm_check_status */
    char check[MDM_NOTICE_NAME_MAX];
    char detail[MDM_NOTICE_TEXT_MAX];
    char diagnosis[MDM_NOTICE_NAME_MAX]; /* "" when the run found none */
    char resolver[MDM_NOTICE_NAME_MAX];
    uint32_t pending; /* destination slots still to be served */
};

struct mdm_outbox {
    /*
     * A ring of `slots` notices, grown by doubling while notices queue up (a
     * manager away) up to cap, and given back when the outbox is empty
     * again: a full outbox takes 1.4 MiB, an agent whose notices leave at
     * once needs a few slots.
     */
    struct mdm_notice *items;
    size_t head, count, slots, cap;
    uint64_t next_seq;
    uint64_t overflows; /* notices dropped because the outbox was full */
    uint64_t dest_keys[MDM_DEST_MAX];
    size_t dest_count;
    /*
     * A change since the last mdm_outbox_save (a notice queued or served,
     * destinations changed): the caller decides how soon it must be saved.
     */
    bool unsaved;
    uint64_t saves; /* successful mdm_outbox_save calls */
};

/*
 * Initialises an empty outbox holding at most cap notices (0 =
 * MDM_OUTBOX_MAX). Returns 0 or MDM_ENOMEM.
 */
int mdm_outbox_init(struct mdm_outbox *ob, size_t cap);
void mdm_outbox_free(struct mdm_outbox *ob);

/*
 * A stable key for a destination: a hash of its configuration directive, so
 * that notices saved before a restart go to the same destinations after it.
 */
uint64_t mdm_outbox_dest_key(const char *directive);

/*
 * Sets the destinations (slot i has key keys[i], n <= MDM_DEST_MAX). Pending
 * work of notices is carried over by key; work for destinations that are
 * gone is dropped, and notices left with none are removed.
 */
int mdm_outbox_set_destinations(struct mdm_outbox *ob, const uint64_t *keys, size_t n);

/*
 * Queues a copy of n for every destination (n->seq and n->pending are set
 * here). Text is cut at MDM_NOTICE_TEXT_MAX - 1 octets on a character
 * boundary. With no destinations nothing is queued. When the outbox is full
 * the oldest notice is dropped and counted in overflows. Returns 0, or
 * MDM_ENOMEM when the ring could not grow (nothing changed then).
 */
int mdm_outbox_push(struct mdm_outbox *ob, const struct mdm_notice *n);

/* The oldest notice still pending for slot, or NULL. Valid until the next change. */
const struct mdm_notice *mdm_outbox_next_for(const struct mdm_outbox *ob, size_t slot);

/* Marks notice seq done for slot; fully served notices at the head are removed. */
void mdm_outbox_done(struct mdm_outbox *ob, uint64_t seq, size_t slot);

/* Notices still pending for at least one destination. */
size_t mdm_outbox_count(const struct mdm_outbox *ob);

/* True when the outbox changed after it was last serialized by mdm_outbox_save. */
bool mdm_outbox_unsaved(const struct mdm_outbox *ob);

/* Appends the outbox as store lines ("\noutbox ...", "\nnotice ..."). */
int mdm_outbox_save(struct mdm_outbox *ob, struct mdm_buf *buf);
/*
 * Restores one saved line (from mdm_store_load_ex). Call before
 * mdm_outbox_set_destinations so that saved work is mapped by key.
 * Returns 0, or MDM_EPARSE for a damaged line.
 */
int mdm_outbox_load_line(struct mdm_outbox *ob, char *line);

#ifdef __cplusplus
}
#endif

#endif
