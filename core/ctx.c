/*
 * ctx.c - the context tree.
 *
 * Nodes: one static background; cancelable nodes (K_CANCEL: own lock,
 * done channel, children list, hooks, optional deadline timer); value
 * nodes (K_VALUE: immutable key/value, no lock; their done/err are their
 * nearest cancelable ancestor's, `anc`).
 *
 * References: a node holds one on its parent, so every ancestor outlives
 * it.  A cancelable node sits, unowned, in the children list of `reg`,
 * the nearest cancelable ancestor (NULL under a background-only chain);
 * it unlinks itself when freed.  A cancellation borrows the winning
 * node's cause into descendants, which the reference chain keeps alive.
 *
 * Locking: a node's `mu` is a LEAF lock - nothing is locked while it is
 * held (the done channel is closed after it is dropped, hooks run without
 * it, children are visited one at a time without it, timers are started
 * and stopped outside it).  So no two context locks are ever held at once
 * (the "parent before child" rule of sched.h holds vacuously), and a
 * context lock may be taken under a primitive lock (a task arming a
 * context watch while queued on a semaphore).
 *
 * Cancellation of node c (cancel_node):
 *  1. under c->mu: if c->decided != 0 another cancellation won: wait for
 *     it to finish (unless it is ours, nested), free our cause, return.
 *     Otherwise store decided, cause, canceler; drop c->mu.
 *  2. close done, then publish err (chl_ctx_err: published err, or the
 *     decided err once done is seen closed - so err != 0 iff closed).
 *  3. stop the deadline timer; run hooks one at a time (running_hook lets
 *     chl_ctx_hook_remove wait for the one in flight).
 *  4. take children off the list one at a time; each is retained unless
 *     it is being freed (its refs hit 0: its free waits for c->mu to
 *     unlink, so it is still readable under c->mu), canceled with the same
 *     err and cause, and released.  A child created after step 1 is born
 *     done instead of being listed, so the list only shrinks.
 *  5. set finished and wake losers waiting in step 1.
 *
 * Why no deadlock: a thread only waits (step 1) for the winner of the node
 * it is at, and that winner only waits for nodes below it; waits point
 * strictly down the tree.  The one exception would be the deadline timer
 * callback, whose node's winner may be stopping that very timer (step 3):
 * the callback never waits when it loses.  Hooks must not cancel, since
 * that could wait sideways.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctx.h"
#include "refcount.h"
#include "timer.h"

enum kind { K_BACKGROUND, K_CANCEL, K_VALUE };

struct chl_ctx {
	chl_refcount refs;        /* references; unused for the background */
	enum kind kind;           /* fixed */
	chl_ctx *parent;          /* one reference; NULL for background; fixed */
	chl_ctx *anc;             /* nearest cancelable self-or-ancestor, or
	                             NULL; fixed */

	/* K_VALUE: all fixed after creation */
	void *key;                /* malloc'ed copy of the key bytes */
	size_t key_len;
	void *value;
	void (*free_value)(void *);

	/* K_CANCEL */
	pthread_mutex_t mu;       /* guards what says "mu" (a leaf lock) */
	pthread_cond_t cv;        /* mu: finished, running_hook changes */
	chl_chan *done;           /* closed in step 2; fixed */
	atomic_int decided;       /* err chosen by the winner; written under mu */
	atomic_int err;           /* published after done is closed */
	void *cause;              /* mu, fixed once decided */
	void (*free_cause)(void *);   /* NULL when the cause is borrowed */
	const char *cause_msg;    /* mu, fixed once decided */
	pthread_t canceler;       /* mu: the winner's thread, once decided */
	bool finished;            /* mu: steps 2-4 done */
	chl_ctx_hook *hooks;      /* mu: registered, not fired */
	chl_ctx_hook *running_hook;   /* mu: the hook whose fn runs now */
	chl_ctx *children;        /* mu: cancelable descendants listed here */
	chl_ctx *reg;             /* whose children list we join; fixed */
	chl_ctx *sib_prev, *sib_next; /* reg->mu */
	bool linked;              /* on reg's list; reg->mu */
	bool has_deadline;        /* own deadline timer; fixed */
	int64_t deadline;         /* fixed */
	chl_timer timer;          /* the deadline; see timer.h */
};

static chl_ctx background = { .kind = K_BACKGROUND };

chl_ctx *chl_ctx_background(void)
{
	return &background;
}

/* ---- references ---- */

chl_ctx *chl_ctx_retain(chl_ctx *ctx)
{
	if (ctx && ctx->kind != K_BACKGROUND)
		chl_ref_retain(&ctx->refs);
	return ctx;
}

/* Free one node whose last reference is gone; returns its parent, whose
 * reference the caller must drop.  Locks: takes reg->mu; may wait for a
 * running deadline callback (which cannot be waiting for us). */
static chl_ctx *free_node(chl_ctx *c)
{
	chl_ctx *parent = c->parent;

	if (c->kind == K_CANCEL) {
		if (c->reg) {
			chl_ctx *r = c->reg;
			pthread_mutex_lock(&r->mu);
			if (c->linked) {
				if (c->sib_prev)
					c->sib_prev->sib_next = c->sib_next;
				else
					r->children = c->sib_next;
				if (c->sib_next)
					c->sib_next->sib_prev = c->sib_prev;
				c->linked = false;
			}
			pthread_mutex_unlock(&r->mu);
		}
		if (c->has_deadline)
			chl_timer_stop(&c->timer);
		if (c->free_cause && c->cause)
			c->free_cause(c->cause);
		chl_chan_release(c->done);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
	} else {
		if (c->free_value)
			c->free_value(c->value);
		free(c->key);
	}
	free(c);
	return parent;
}

void chl_ctx_release(chl_ctx *ctx)
{
	/* A loop, not recursion: a long chain can be freed at once. */
	while (ctx && ctx->kind != K_BACKGROUND &&
			chl_ref_release(&ctx->refs))
		ctx = free_node(ctx);
}

/* ---- cancellation ---- */

static void unlink_hook(chl_ctx *c, chl_ctx_hook *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		c->hooks = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->linked = false;
}

/* Step 3b: run the hooks one at a time, each unlinked before it runs. */
static void run_hooks(chl_ctx *c)
{
	chl_ctx_hook *h;

	pthread_mutex_lock(&c->mu);
	while ((h = c->hooks) != NULL) {
		unlink_hook(c, h);
		c->running_hook = h;
		pthread_mutex_unlock(&c->mu);
		h->fn(h, h->arg);    /* h may be gone once fn returns */
		pthread_mutex_lock(&c->mu);
		c->running_hook = NULL;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

static bool cancel_node(chl_ctx *c, int err, void *cause,
	void (*free_cause)(void *), const char *msg, bool wait_if_lost);

/* Step 4: cancel the listed children with our err and (borrowed) cause. */
static void cancel_children(chl_ctx *c, int err, void *cause, const char *msg)
{
	chl_ctx *ch;

	pthread_mutex_lock(&c->mu);
	while ((ch = c->children) != NULL) {
		bool alive;
		c->children = ch->sib_next;
		if (ch->sib_next)
			ch->sib_next->sib_prev = NULL;
		ch->sib_prev = ch->sib_next = NULL;
		ch->linked = false;
		alive = chl_ref_try_retain(&ch->refs);
		pthread_mutex_unlock(&c->mu);
		if (alive) {
			cancel_node(ch, err, cause, NULL, msg, true);
			chl_ctx_release(ch);
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
}

/* Steps 1-5 for one cancelable node.  True if this call won.  Locks:
 * none held on entry or exit (c->mu inside).  The caller holds a reference
 * to c. */
static bool cancel_node(chl_ctx *c, int err, void *cause,
	void (*free_cause)(void *), const char *msg, bool wait_if_lost)
{
	pthread_mutex_lock(&c->mu);
	if (atomic_load_explicit(&c->decided, memory_order_relaxed) != 0) {
		if (wait_if_lost && !pthread_equal(c->canceler, pthread_self()))
			while (!c->finished)
				pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
		if (free_cause && cause)
			free_cause(cause);
		return false;
	}
	c->cause = cause;
	c->free_cause = free_cause;
	c->cause_msg = msg;
	c->canceler = pthread_self();
	atomic_store_explicit(&c->decided, err, memory_order_release);
	pthread_mutex_unlock(&c->mu);

	chl_chan_close(c->done);
	atomic_store_explicit(&c->err, err, memory_order_release);
	if (c->has_deadline)
		chl_timer_stop(&c->timer);
	run_hooks(c);
	cancel_children(c, err, cause, msg);

	pthread_mutex_lock(&c->mu);
	c->finished = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return true;
}

int chl_ctx_cancel(chl_ctx *ctx, int err, void *cause,
	void (*free_cause)(void *), const char *cause_msg)
{
	int rc = CHL_OK;

	if (!ctx)
		rc = CHL_NIL;
	else if (ctx->kind != K_CANCEL || (err != CHL_CANCELED && err != CHL_DEADLINE))
		rc = CHL_INVAL;
	if (rc != CHL_OK) {
		if (free_cause && cause)
			free_cause(cause);
		return rc;
	}
	cancel_node(ctx, err, cause, free_cause, cause_msg, true);
	return CHL_OK;
}

/* The deadline timer's callback, on the timer thread.  The node may be
 * in the middle of being freed (refs 0, its free waiting in
 * chl_timer_stop for us): then leave it alone. */
static void deadline_fired(chl_timer *t, void *arg)
{
	chl_ctx *c = arg;

	(void)t;
	if (!chl_ref_try_retain(&c->refs))
		return;
	cancel_node(c, CHL_DEADLINE, NULL, NULL, NULL, false);
	chl_ctx_release(c);
}

/* ---- making contexts ---- */

static chl_ctx *node_new(chl_ctx *parent, enum kind kind)
{
	chl_ctx *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	chl_ref_init(&c->refs);
	c->kind = kind;
	c->parent = parent;
	return c;
}

/* A cancelable child of parent, linked under parent's nearest cancelable
 * ancestor, or born done when that one is decided already.  deadline < 0:
 * none of its own.  Locks: takes reg->mu; starts the timer unlocked. */
static int cancel_new(chl_ctx *parent, int64_t deadline, chl_ctx **out)
{
	chl_ctx *c, *r;
	int born_err = 0;

	if (!out)
		return CHL_INVAL;
	if (!parent)
		return CHL_NIL;
	c = node_new(parent, K_CANCEL);
	if (!c)
		return CHL_NOMEM;
	c->done = chl_chan_new(0, 0);
	if (!c->done) {
		free(c);
		return CHL_NOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->anc = c;
	c->reg = r = parent->anc;
	chl_ctx_retain(parent);
	if (deadline >= 0) {
		c->has_deadline = true;
		c->deadline = deadline;
		chl_timer_init(&c->timer, deadline_fired, c);
	}

	if (r) {
		pthread_mutex_lock(&r->mu);
		born_err = atomic_load_explicit(&r->decided, memory_order_relaxed);
		if (born_err) {
			/* Born done: the ancestor's err and cause, borrowed. */
			c->cause = r->cause;
			c->cause_msg = r->cause_msg;
		} else {
			c->sib_next = r->children;
			if (r->children)
				r->children->sib_prev = c;
			r->children = c;
			c->linked = true;
		}
		pthread_mutex_unlock(&r->mu);
	}
	if (born_err) {
		c->canceler = pthread_self();
		c->finished = true;
		atomic_store_explicit(&c->decided, born_err, memory_order_relaxed);
		chl_chan_close(c->done);
		atomic_store_explicit(&c->err, born_err, memory_order_release);
	} else if (c->has_deadline) {
		if (deadline <= chl_now()) {
			cancel_node(c, CHL_DEADLINE, NULL, NULL, NULL, true);
		} else if (chl_timer_start(&c->timer, deadline, 0) != CHL_OK) {
			chl_ctx_release(c);
			return CHL_NOMEM;
		}
	}
	*out = c;
	return CHL_OK;
}

int chl_ctx_with_cancel(chl_ctx *parent, chl_ctx **out)
{
	return cancel_new(parent, -1, out);
}

int chl_ctx_with_deadline(chl_ctx *parent, int64_t deadline_ns, chl_ctx **out)
{
	int64_t pd;

	if (parent && chl_ctx_deadline(parent, &pd) && pd <= deadline_ns) {
		/* The parent's deadline comes first: its timer will cancel us,
		 * unless it has passed already and the timer has yet to run -
		 * then we are born done rather than wait for it. */
		if (pd > chl_now())
			return cancel_new(parent, -1, out);
		deadline_ns = pd;
	}
	if (deadline_ns < 0)
		deadline_ns = 0;                       /* long past: born done */
	return cancel_new(parent, deadline_ns, out);
}

int chl_ctx_with_timeout(chl_ctx *parent, int64_t timeout_ns, chl_ctx **out)
{
	int64_t now = chl_now();

	/* timeout <= 0 is done at once: a deadline of now has passed when
	 * cancel_new compares it with the clock again. */
	if (timeout_ns <= 0)
		return chl_ctx_with_deadline(parent, now, out);
	if (timeout_ns > INT64_MAX - now)
		timeout_ns = INT64_MAX - now;
	return chl_ctx_with_deadline(parent, now + timeout_ns, out);
}

int chl_ctx_with_value(chl_ctx *parent, const void *key, size_t key_len,
	void *value, void (*free_value)(void *), chl_ctx **out)
{
	chl_ctx *c;

	if (!out || (!key && key_len > 0))
		return CHL_INVAL;
	if (!parent)
		return CHL_NIL;
	c = node_new(parent, K_VALUE);
	if (!c)
		return CHL_NOMEM;
	c->key = malloc(key_len ? key_len : 1);
	if (!c->key) {
		free(c);
		return CHL_NOMEM;
	}
	if (key_len)
		memcpy(c->key, key, key_len);
	c->key_len = key_len;
	c->value = value;
	c->free_value = free_value;
	c->anc = parent->anc;
	chl_ctx_retain(parent);
	*out = c;
	return CHL_OK;
}

/* ---- asking ---- */

bool chl_ctx_value(chl_ctx *ctx, const void *key, size_t key_len, void **value)
{
	for (; ctx; ctx = ctx->parent) {
		if (ctx->kind == K_VALUE && ctx->key_len == key_len &&
				(key_len == 0 || memcmp(ctx->key, key, key_len) == 0)) {
			if (value)
				*value = ctx->value;
			return true;
		}
	}
	return false;
}

int chl_ctx_err(chl_ctx *ctx)
{
	chl_ctx *a = ctx ? ctx->anc : NULL;
	int e;

	if (!a)
		return 0;
	e = atomic_load_explicit(&a->err, memory_order_acquire);
	if (e)
		return e;
	/* Between close and publish (step 2): done closed means done. */
	e = atomic_load_explicit(&a->decided, memory_order_acquire);
	if (e && chl_chan_is_closed(a->done))
		return e;
	return 0;
}

int chl_ctx_cause(chl_ctx *ctx, void **cause, const char **cause_msg)
{
	int e = chl_ctx_err(ctx);
	void *cv = NULL;
	const char *msg = NULL;

	if (e) {
		chl_ctx *a = ctx->anc;
		pthread_mutex_lock(&a->mu);
		cv = a->cause;
		msg = a->cause_msg;
		pthread_mutex_unlock(&a->mu);
	}
	if (cause)
		*cause = cv;
	if (cause_msg)
		*cause_msg = msg;
	return e;
}

bool chl_ctx_deadline(chl_ctx *ctx, int64_t *deadline_ns)
{
	for (; ctx; ctx = ctx->parent) {
		if (ctx->kind == K_CANCEL && ctx->has_deadline) {
			if (deadline_ns)
				*deadline_ns = ctx->deadline;
			return true;
		}
	}
	return false;
}

chl_chan *chl_ctx_done(chl_ctx *ctx)
{
	return ctx && ctx->anc ? ctx->anc->done : NULL;
}

chl_ctx *chl_ctx_parent(chl_ctx *ctx)
{
	return ctx ? ctx->parent : NULL;
}

/* ---- hooks ---- */

bool chl_ctx_hook_add(chl_ctx *ctx, chl_ctx_hook *h)
{
	chl_ctx *a = ctx ? ctx->anc : NULL;
	bool armed = true;

	h->prev = h->next = NULL;
	h->linked = false;
	h->owner = a;
	if (!a)
		return true;     /* can never be done: nothing to wait for */
	pthread_mutex_lock(&a->mu);
	if (atomic_load_explicit(&a->decided, memory_order_relaxed) != 0) {
		armed = false;
	} else {
		h->next = a->hooks;
		if (a->hooks)
			a->hooks->prev = h;
		a->hooks = h;
		h->linked = true;
	}
	pthread_mutex_unlock(&a->mu);
	return armed;
}

bool chl_ctx_hook_remove(chl_ctx *ctx, chl_ctx_hook *h)
{
	chl_ctx *a = h->owner;
	bool removed = false;

	(void)ctx;   /* h remembers where it was added */
	if (!a)
		return true;
	pthread_mutex_lock(&a->mu);
	if (h->linked) {
		unlink_hook(a, h);
		removed = true;
	} else {
		while (a->running_hook == h && !pthread_equal(a->canceler, pthread_self()))
			pthread_cond_wait(&a->cv, &a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return removed;
}

static void watch_fired(chl_ctx_hook *h, void *arg)
{
	chl_parker *p = arg;

	if (chl_parker_claim(p))
		chl_parker_complete(p, NULL,
			atomic_load_explicit(&h->owner->decided, memory_order_acquire));
}

/* Runs at commit (waiter.h), once the parker is parked and its waiter
 * queued: a hook added earlier could ready a task that is still running.
 * A context done in between ends the wait here, with the error its
 * canceler decided - not chl_ctx_err, which stays 0 until done is closed
 * (step 2): a wait ended with status 0 reads as a success (a semaphore
 * acquire returned OK holding no tokens; test_sem's stress caught it
 * under ThreadSanitizer). */
static void watch_commit(void *arg)
{
	chl_ctx_hook *h = arg;
	chl_parker *p = h->arg;

	if (!chl_ctx_hook_add(h->watching, h) && chl_parker_claim(p))
		chl_parker_complete(p, NULL,
			atomic_load_explicit(&h->owner->decided, memory_order_acquire));
}

bool chl_parker_watch_ctx(chl_parker *p, chl_ctx *ctx, chl_ctx_hook *h)
{
	h->fn = watch_fired;
	h->arg = p;
	h->owner = NULL;
	h->linked = false;
	h->watching = ctx;
	if (chl_ctx_err(ctx) != 0)
		return false;
	p->on_commit = watch_commit;
	p->on_commit_arg = h;
	return true;
}

void chl_parker_unwatch_ctx(chl_ctx *ctx, chl_ctx_hook *h)
{
	chl_ctx_hook_remove(ctx, h);
}
