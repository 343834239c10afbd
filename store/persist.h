/* The store's durable state: a state file (snapshot) plus a write-ahead
 * journal in a state folder, so that the store's contents survive a
 * restart of stubstored however it ended.  See persist.c's opening comment
 * for the invariant and docs/store.md for the files.
 *
 * Without persist_open() (the fuzzer, benchmarks in-process, --volatile)
 * s->persist stays NULL and every function here does nothing.
 */
#ifndef STUBSTORED_PERSIST_H
#define STUBSTORED_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Open (creating it, mode 0700) and lock the state folder, load the state
 * file and replay the journal into s -- freshly initialised, with no
 * connection yet -- and start a new journal.  The journal is compacted
 * once it holds compact_bytes (0: PERSIST_COMPACT_BYTES).  From then on every change to
 * s is journaled.  0, or -1 with the reason logged: another store holds
 * the folder, or a file is damaged (nothing is half-loaded: the caller
 * must exit). */
int persist_open(struct store *s, const char *dir, uint64_t compact_bytes);

/* Journal bytes after which a compaction starts, unless the state file is
 * larger (then twice its size); the default of persist_open(.., 0). */
#define PERSIST_COMPACT_BYTES (4u << 20)

/* Load a state file image and a journal image (either may be empty) into
 * s, as persist_open() does with files, but without a folder and without
 * journaling afterwards.  For the fuzzer and the benchmarks: 0, or -1 with
 * the reason in why. */
int persist_load_images(struct store *s, const uint8_t *state, size_t state_len,
                        const uint8_t *journal, size_t journal_len, char *why, size_t whylen);

/* Write a state file image of s into b (what a compaction writes). */
int persist_snapshot_image(const struct store *s, uint64_t gen, uint64_t seq, struct buf *b);

/* The descriptor that becomes readable when more of the journal is
 * durable; the event loop then calls persist_synced().  -1 if none. */
int persist_event_fd(const struct store *s);

/* At the end of each round of the event loop: write what was journaled
 * since the last call and have it synced (group commit), and start a
 * compaction when the journal has grown.  If the journal cannot be written
 * the process exits (111) without acknowledging anything more. */
void persist_commit(struct store *s);

/* Whether changes were journaled since the last persist_commit(). */
bool persist_pending(const struct store *s);

/* The event descriptor is readable: release the output that waited for
 * what is now durable (those connections join s->flush). */
void persist_synced(struct store *s);

/* SIGCHLD: a compaction may have ended. */
void persist_child_exited(struct store *s);

/* Clean shutdown: write and sync everything, let a running compaction
 * finish, stop the sync thread, unlock the folder. */
void persist_close(struct store *s);

/* Output ordering (wire.c): a message queued now may leave only once the
 * journal is durable up to persist_position(); persist_durable() is how
 * far it is. */
uint64_t persist_position(const struct persist *p);
uint64_t persist_durable(const struct persist *p);

/* ---- the journal: one call per change, from tree.c, domain.c, watch.c --- */

void journal_create(struct persist *p, const char *path, size_t len, const struct perm *perms,
                    uint32_t n);
void journal_value(struct persist *p, const char *path, size_t len, const char *value, size_t vlen);
void journal_perms(struct persist *p, const char *path, size_t len, const struct perm *perms,
                   uint32_t n);
void journal_remove(struct persist *p, const char *path, size_t len);
void journal_domain(struct persist *p, uint32_t domid, uint32_t target);
void journal_release(struct persist *p, uint32_t domid);
void journal_watch(struct persist *p, uint32_t domid, const struct watch *w);
void journal_unwatch(struct persist *p, uint32_t domid, const char *path, const char *token);
void journal_unwatch_all(struct persist *p, uint32_t domid);

#endif
