/*
 * ctx.h - Go's context package: a tree of contexts that carry cancellation,
 * deadlines and request-scoped values.
 *
 * Kinds: the background (root, never done), cancelable contexts
 * (with_cancel, with_deadline, with_timeout) and value contexts
 * (with_value, done when their nearest cancelable ancestor is).
 *
 * Semantics (Go's):
 *  - Canceling a context cancels every descendant, with the same err and
 *    cause.  The first cancellation of a context wins; later ones are
 *    no-ops.  Cancel is synchronous: when chl_ctx_cancel returns, the
 *    context and all its descendants are done (a call that lost to another
 *    cancellation still in progress waits for it).
 *  - A child of a done parent is born done with the parent's err and
 *    cause.  A deadline is capped by the parent's; a deadline already past
 *    (a timeout <= 0) makes a context born done with CHL_DEADLINE.
 *  - done is closed before err becomes visible and err is visible once
 *    done is closed: chl_ctx_err() != 0 if and only if done is closed.
 *
 * Every function is thread-safe.  A context is reference-counted; a child
 * holds a reference to its parent, the parent only a weak link to its
 * cancelable children (they unlink when freed).  The background context is
 * static: retain/release do nothing to it.
 */
#ifndef CHL_CTX_H
#define CHL_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "status.h"
#include "waiter.h"

typedef struct chl_ctx chl_ctx;

/* ---- making contexts ---- */

/* The root: never canceled, no deadline, no values.  Cannot fail. */
chl_ctx *chl_ctx_background(void);

/* A cancelable child of parent.  *out gets one reference.  CHL_OK,
 * CHL_NIL (parent NULL), CHL_INVAL (out NULL), CHL_NOMEM. */
int chl_ctx_with_cancel(chl_ctx *parent, chl_ctx **out);

/* A cancelable child canceled with CHL_DEADLINE at deadline_ns (absolute
 * chl_now() ns).  If the parent's deadline is not later, the child is a
 * plain cancelable context reporting the parent's deadline.  A deadline
 * already past: born done.  Errors as with_cancel. */
int chl_ctx_with_deadline(chl_ctx *parent, int64_t deadline_ns, chl_ctx **out);

/* with_deadline(parent, chl_now() + timeout_ns); timeout <= 0: born done. */
int chl_ctx_with_timeout(chl_ctx *parent, int64_t timeout_ns, chl_ctx **out);

/* A child carrying (key, value).  The key is compared by bytes (copied;
 * key may be NULL when key_len is 0).  The value is opaque, owned by the
 * context from success on and freed with free_value (may be NULL) when
 * the context is freed; a NULL value is a real value that shadows outer
 * ones.  CHL_OK, CHL_NIL (parent NULL), CHL_INVAL (out NULL, or key NULL
 * with key_len > 0), CHL_NOMEM; on failure the caller keeps the value. */
int chl_ctx_with_value(chl_ctx *parent, const void *key, size_t key_len,
	void *value, void (*free_value)(void *), chl_ctx **out);

/* ---- asking ---- */

/* Walk up from ctx to the nearest value context with this key.  True and
 * *value (may be NULL: a shadowing nil) when found; false otherwise.  The
 * value is borrowed: valid while ctx is.  No lock (values never change). */
bool chl_ctx_value(chl_ctx *ctx, const void *key, size_t key_len, void **value);

/* 0 while not done, else CHL_CANCELED or CHL_DEADLINE.  0 for NULL. */
int chl_ctx_err(chl_ctx *ctx);

/* err (as chl_ctx_err) and what caused it: *cause / *cause_msg are the
 * cause given to the cancellation that won, or the ancestor's whose
 * cancellation reached ctx; NULL when none was given or not done.  Either
 * pointer may be NULL.  The cause is borrowed: valid while ctx is. */
int chl_ctx_cause(chl_ctx *ctx, void **cause, const char **cause_msg);

/* True and *deadline_ns if ctx or an ancestor has a deadline (the nearest
 * one, which is never later than those above it). */
bool chl_ctx_deadline(chl_ctx *ctx, int64_t *deadline_ns);

/* The channel closed when ctx is done (elem_size 0; made with the
 * context).  NULL for the background and contexts that can never be
 * canceled (a nil channel: receive blocks forever).  Borrowed. */
chl_chan *chl_ctx_done(chl_ctx *ctx);

/* The parent (borrowed), NULL for the background. */
chl_ctx *chl_ctx_parent(chl_ctx *ctx);

/* References: atomic, NULL-safe, no-ops on the background.  The last
 * release frees ctx (stops its deadline timer, unlinks it from its
 * parent, frees its value/cause) and drops its parent reference. */
chl_ctx *chl_ctx_retain(chl_ctx *ctx);
void chl_ctx_release(chl_ctx *ctx);

/* ---- introspection (the leak detector) ---- */

/* The value a value context carries itself (not an ancestor's); NULL for
 * other kinds (and for a NULL value).  Borrowed, as chl_ctx_value's. */
void *chl_ctx_own_value(chl_ctx *ctx);

/* Call fn for each cancelable context listed under ctx: those whose
 * nearest cancelable ancestor is ctx, which its cancellation cancels
 * directly.  fn gets one reference to the child (to release later) and
 * runs under ctx's lock: it must only record (no lock, no context call).
 * Nothing for a context that is not cancelable. */
void chl_ctx_foreach_child(chl_ctx *ctx, void (*fn)(chl_ctx *child, void *arg), void *arg);

/* ---- canceling ---- */

/* Cancel a with_cancel / with_deadline / with_timeout context with err
 * (CHL_CANCELED or CHL_DEADLINE) and an optional cause: an opaque pointer
 * freed with free_cause (may be NULL), and/or a static message
 * (cause_msg, e.g. "interrupt signal received").  The cause is always
 * taken: kept by the winning cancellation, freed otherwise (also on
 * failure).  Synchronous (see above).  Returns CHL_OK (also when another
 * cancellation had won), CHL_NIL (ctx NULL), CHL_INVAL (not a cancelable
 * context, or err not one of the two).  Must not be called from a hook. */
int chl_ctx_cancel(chl_ctx *ctx, int err, void *cause,
	void (*free_cause)(void *), const char *cause_msg);

/* ---- hooks (Go's AfterFunc, synchronous) ---- */

typedef struct chl_ctx_hook chl_ctx_hook;
struct chl_ctx_hook {
	void (*fn)(chl_ctx_hook *h, void *arg);  /* set by the caller */
	void *arg;                               /* set by the caller */
	/* private, set by chl_ctx_hook_add: */
	chl_ctx_hook *prev, *next;   /* in owner's hook list; owner's lock */
	chl_ctx *owner;              /* the cancelable context it waits on */
	bool linked;                 /* in that list now; owner's lock */
	chl_ctx *watching;           /* chl_parker_watch_ctx: added at commit */
};

/* Run h->fn(h, h->arg) once ctx is done, on the thread that cancels it
 * (the timer thread for a deadline).  fn must be short, must not block
 * and must not cancel a context.  If ctx is done already nothing is
 * registered and false is returned (the caller acts itself); otherwise
 * true (also for a context that can never be done: fn never runs).
 * Takes only ctx's own lock, which is a leaf: may be called with any
 * other chanlab lock held.  h must stay valid until removed or fired. */
bool chl_ctx_hook_add(chl_ctx *ctx, chl_ctx_hook *h);

/* Unregister h.  True if it was removed before firing; false if it fired
 * or is firing.  On return fn is not running (unless this is called from
 * fn itself) and will not run.  ctx is the context given to add. */
bool chl_ctx_hook_remove(chl_ctx *ctx, chl_ctx_hook *h);

/* Make a parked wait end when ctx is done: a hook claims p and completes
 * it with ctx's err (CHL_CANCELED / CHL_DEADLINE), p->fired == NULL.
 * Call after chl_parker_prepare(p).  Returns false (and arms nothing) if
 * ctx is already done; the caller then fails the wait itself.  Pair with
 * chl_parker_unwatch_ctx after the wake, with the same h. */
bool chl_parker_watch_ctx(chl_parker *p, chl_ctx *ctx, chl_ctx_hook *h);
void chl_parker_unwatch_ctx(chl_ctx *ctx, chl_ctx_hook *h);

#endif
