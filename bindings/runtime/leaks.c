/*
 * leaks.c - the leak detector (leaks.h).
 *
 * With the world stopped (sched.h: no goroutine runs a step, so every
 * parked goroutine's Lua state and wait record can be read; our own state
 * is read as it stands, from inside the call):
 *
 *  1. list the goroutines; for each, whether it can run or what it waits
 *     on (its wait record: wait.h), and the handles it holds (walk.h, or
 *     its start message when it has not run yet);
 *  2. note what every handle held by anyone is (reach in M_NOTE): the
 *     wake kind of each channel, the context each done channel belongs
 *     to (so that a deadline above it can be seen);
 *  3. index the waiting goroutines by the objects they wait on; a wait on
 *     a timer or signal channel, or on the done channel of a context with
 *     a deadline, can end: that goroutine can run;
 *  4. expand from the goroutines that can run (reach in M_EXPAND), each
 *     object once, to a fixed point: an object reached wakes the
 *     goroutines indexed under it, which can run too and are expanded in
 *     turn; a cancellation reached makes the done channels of its context
 *     and of every context below it closable (core: foreach_child); the
 *     signal watches' contexts start out canceled by the outside;
 *  5. the goroutines still waiting are leaked.  What each holds directly
 *     (reach in M_DIRECT) gives the "waits for" graph among them
 *     (goroutine -> object waited on -> goroutine holding it), whose
 *     strongly connected components of two goroutines or more are the
 *     partial deadlocks (Tarjan, without recursion: 100,000 goroutines).
 *
 * Cost: one walk per goroutine state and one visit per object; all
 * scratch is malloc'd here and freed before returning.  Out of memory
 * anywhere: CHL_NOMEM, nothing reported (a partial answer could accuse a
 * goroutine wrongly).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/dump.h"
#include "runtime/leaks.h"
#include "runtime/ptrmap.h"
#include "runtime/walk.h"

/* How long a search waits for running goroutines to yield. */
#define STOP_NS (5 * (int64_t)1000 * 1000 * 1000)

enum { M_NOTE, M_EXPAND, M_DIRECT };

/* ---- small growable arrays ---- */

typedef struct vec {
	void *v;
	size_t n, cap, size;
} vec;

#define VEC(type) { NULL, 0, 0, sizeof(type) }
#define AT(a, type, i) (((type *)(a).v)[i])

/* A new zeroed item at the end, or NULL when out of memory. */
static void *vec_push(vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		void *v = realloc(a->v, cap * a->size);

		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	memset((char *)a->v + a->n * a->size, 0, a->size);
	return (char *)a->v + a->n++ * a->size;
}

/* ---- the detector's state ---- */

typedef struct hent {
	const chl_lua_type *t;
	void *obj;
} hent;

/* One object a waiting goroutine waits on. */
typedef struct target {
	void *obj;
	int wake;                  /* CHL_WAKE_*, or -1 until noted */
	size_t gi;                 /* the goroutine */
	size_t next;               /* next target on the same object, + 1 */
} target;

typedef struct gor {
	goroutine *g;
	lua_State *L;              /* its state to read (NULL: not made yet) */
	const char *reason;        /* what a dump says it does */
	bool live;                 /* can run, now or once woken */
	size_t h0, hn;             /* the handles it holds: d->hs */
	size_t t0, tn;             /* what it waits on: d->ts */
	size_t x0, xn;             /* leaked: what it holds directly: d->xs */
} gor;

struct chl_reach {
	int mode;                  /* M_* */
	struct det *d;
};

typedef struct det {
	chl_reach r;
	goroutine *self;           /* the caller's goroutine */
	lua_State *L;              /* its running thread */
	vec gs;                    /* gor */
	vec hs;                    /* hent: every goroutine's handles */
	vec ts;                    /* target */
	vec xs;                    /* void *: M_DIRECT lists */
	vec hwork;                 /* hent: handles to expand */
	vec gwork;                 /* size_t: goroutines to expand */
	vec cwork;                 /* chl_ctx *: cancellations to follow */
	vec held;                  /* chl_ctx *: references to drop at the end */
	chl_ptrmap seen;           /* the walker's */
	chl_ptrmap ghs;            /* this goroutine's handles: obj -> index */
	chl_ptrmap wake;           /* channel -> CHL_WAKE_* (noted) */
	chl_ptrmap dones;          /* done channel -> its context (noted) */
	chl_ptrmap ctxs;           /* contexts noted */
	chl_ptrmap waiters;        /* object -> its first target + 1 */
	chl_ptrmap reached;        /* objects a goroutine that can run holds */
	chl_ptrmap closable;       /* done channels that can be closed */
	chl_ptrmap canceled;       /* contexts whose cancellation is reached */
	chl_ptrmap expanded;       /* handle objects expanded -> their type */
	chl_ptrmap msgs;           /* messages listed */
	bool nomem;
	bool incomplete;           /* a walk missed handles */
} det;

#define G(d, i) AT((d)->gs, gor, i)

static bool put(det *d, chl_ptrmap *m, const void *key, size_t val, size_t **at)
{
	bool added = false;
	size_t *p = chl_ptrmap_put(m, key, val, &added);

	if (!p)
		d->nomem = true;
	if (at)
		*at = p;
	return p && added;
}

static void make_live(det *d, size_t gi)
{
	size_t *w;

	if (G(d, gi).live)
		return;
	G(d, gi).live = true;
	if (!(w = vec_push(&d->gwork)))
		d->nomem = true;
	else
		*w = gi;
}

/* obj was reached (HOLDER) or became closable (CANCEL): who waits on it
 * that way can run. */
static void trigger(det *d, const void *obj, int wake)
{
	size_t *head = chl_ptrmap_get(&d->waiters, obj);

	for (size_t k = head ? *head : 0; k; k = AT(d->ts, target, k - 1).next) {
		target *t = &AT(d->ts, target, k - 1);

		if (t->wake == wake)
			make_live(d, t->gi);
	}
}

/* Remember which context each done channel of ctx's chain belongs to. */
static void note_chain(det *d, chl_ctx *ctx)
{
	for (chl_ctx *x = ctx; x; x = chl_ctx_parent(x)) {
		chl_chan *done = chl_ctx_done(x);

		if (!put(d, &d->ctxs, x, 0, NULL))
			return;
		if (done)
			put(d, &d->dones, done, (size_t)x, NULL);
	}
}

/* A cancellation to follow: one reference, dropped at the end. */
static void push_cancel(det *d, chl_ctx *ctx)
{
	chl_ctx **a = vec_push(&d->cwork), **b = vec_push(&d->held);

	if (!a || !b) {
		/* Out of memory: the reference stays (a context kept alive),
		 * since it cannot be dropped here, under a context lock. */
		d->nomem = true;
		return;
	}
	*a = *b = ctx;
}

/* ---- what handle types call (leaks.h) ---- */

void chl_reach_obj(chl_reach *r, void *obj)
{
	det *d = r->d;
	void **x;

	if (!obj)
		return;
	if (r->mode == M_EXPAND) {
		if (put(d, &d->reached, obj, 0, NULL))
			trigger(d, obj, CHL_WAKE_HOLDER);
	} else if (r->mode == M_DIRECT) {
		if (!(x = vec_push(&d->xs)))
			d->nomem = true;
		else
			*x = obj;
	}
}

bool chl_reach_chan(chl_reach *r, chl_chan *c, int wake)
{
	if (!c)
		return false;
	if (r->mode == M_NOTE) {
		put(r->d, &r->d->wake, c, (size_t)wake, NULL);
		return false;
	}
	if (wake != CHL_WAKE_HOLDER)
		return false;
	chl_reach_obj(r, c);
	return r->mode == M_EXPAND;
}

static void add_msg_handle(const chl_handle_type *ht, void *obj, void *arg)
{
	det *d = arg;
	const chl_lua_type *t = chl_lua_type_of(ht);
	hent *h;

	if (!t)
		return;
	if (!(h = vec_push(&d->hwork))) {
		d->nomem = true;
		return;
	}
	h->t = t;
	h->obj = obj;
}

void chl_reach_msg(chl_reach *r, const chl_msg *m)
{
	if (m && r->mode == M_EXPAND && put(r->d, &r->d->msgs, m, 0, NULL))
		chl_msg_foreach_handle(m, add_msg_handle, r->d);
}

void chl_reach_ctx(chl_reach *r, chl_ctx *ctx)
{
	if (ctx && r->mode != M_DIRECT)
		note_chain(r->d, ctx);
}

void chl_reach_cancel(chl_reach *r, chl_ctx *ctx)
{
	if (!ctx)
		return;
	if (r->mode == M_DIRECT) {
		chl_reach_obj(r, chl_ctx_done(ctx));
		return;
	}
	note_chain(r->d, ctx);
	if (r->mode == M_EXPAND)
		push_cancel(r->d, chl_ctx_retain(ctx));
}

/* ---- step 1: the goroutines, their waits and their handles ---- */

static void collect(chl_task *t, void *arg)
{
	det *d = arg;
	gor *o = vec_push(&d->gs);

	if (!o)
		d->nomem = true;
	else
		o->g = (goroutine *)t;
}

/* A handle the goroutine being walked holds (once per object and type). */
static void held_handle(const chl_lua_type *t, void *obj, void *arg)
{
	det *d = arg;
	size_t *at;
	hent *h;

	if (!put(d, &d->ghs, obj, d->hs.n, &at) && (!at || AT(d->hs, hent, *at).t == t))
		return;
	if (!(h = vec_push(&d->hs))) {
		d->nomem = true;
		return;
	}
	h->t = t;
	h->obj = obj;
}

static void held_msg_handle(const chl_handle_type *ht, void *obj, void *arg)
{
	const chl_lua_type *t = chl_lua_type_of(ht);

	if (t)
		held_handle(t, obj, arg);
}

static void add_target(det *d, size_t gi, void *obj, int wake)
{
	target *t;

	if (!obj)
		return;
	if (!(t = vec_push(&d->ts))) {
		d->nomem = true;
		return;
	}
	t->obj = obj;
	t->wake = wake;
	t->gi = gi;
}

/* Can it run, or what does it wait on? */
static void classify(det *d, size_t gi)
{
	gor *o = &G(d, gi);
	goroutine *g = o->g;
	chl_task_state st = g == d->self ? CHL_TASK_RUNNING : chl_sched_task_state(&g->task);
	chl_lua_wait *wt;
	chl_parker *p;

	o->reason = chl_dump_state(g, st);
	if (st == CHL_TASK_RUNNABLE || st == CHL_TASK_RUNNING) {
		make_live(d, gi);
		return;
	}
	wt = g->wait_yields ? &g->wait : g->thread_wait;
	p = wt ? wt->parker : NULL;
	/* Woken already (the ready is on its way), or a deadline will. */
	if (!p || atomic_load(&p->claimed) || p->deadline_when >= 0) {
		make_live(d, gi);
		return;
	}
	o->t0 = d->ts.n;
	if (wt->objs) {
		for (int i = 0; i < wt->nobjs; i++)
			add_target(d, gi, wt->objs[i], -1);
	} else {
		add_target(d, gi, wt->w.obj, -1);
	}
	if (wt->hook_ctx) {
		note_chain(d, wt->hook_ctx);
		add_target(d, gi, chl_ctx_done(wt->hook_ctx), CHL_WAKE_CANCEL);
	}
	o->tn = d->ts.n - o->t0;
}

static void list_goroutines(det *d, chl_sched *s)
{
	chl_sched_foreach(s, collect, d);
	for (size_t gi = 0; gi < d->gs.n && !d->nomem; gi++) {
		gor *o = &G(d, gi);
		goroutine *g = o->g;

		o->L = g == d->self ? d->L : g->L;
		classify(d, gi);
		chl_ptrmap_clear(&d->ghs);
		o->h0 = d->hs.n;
		if (o->L) {
			if (!chl_walk_state(o->L, &d->seen, held_handle, d))
				d->incomplete = true;
		} else if (g->start) {
			chl_msg_foreach_handle(g->start, held_msg_handle, d);
		}
		o = &G(d, gi);
		o->hn = d->hs.n - o->h0;
	}
}

/* ---- steps 2 and 3: what the handles are; the waits indexed ---- */

static void note_handles(det *d)
{
	chl_ptrmap noted = CHL_PTRMAP_INIT;

	d->r.mode = M_NOTE;
	for (size_t i = 0; i < d->hs.n && !d->nomem; i++) {
		hent *h = &AT(d->hs, hent, i);

		if (h->t->reach && put(d, &noted, h->obj, 0, NULL))
			h->t->reach(h->obj, &d->r);
	}
	chl_ptrmap_free(&noted);
}

/* Will a deadline close this done channel? */
static bool deadline_closes(det *d, const void *done)
{
	size_t *x = chl_ptrmap_get(&d->dones, done);
	chl_ctx *ctx = x ? (chl_ctx *)*x : NULL;

	return ctx && chl_ctx_err(ctx) == 0 && chl_ctx_deadline(ctx, NULL);
}

static void index_waits(det *d)
{
	for (size_t k = 0; k < d->ts.n && !d->nomem; k++) {
		target *t = &AT(d->ts, target, k);
		size_t *head;

		if (t->wake < 0) {
			size_t *w = chl_ptrmap_get(&d->wake, t->obj);

			t->wake = w ? (int)*w : CHL_WAKE_HOLDER;
		}
		if (t->wake == CHL_WAKE_OUTSIDE ||
		    (t->wake == CHL_WAKE_CANCEL && deadline_closes(d, t->obj))) {
			make_live(d, t->gi);
			continue;
		}
		put(d, &d->waiters, t->obj, 0, &head);
		if (head) {
			t->next = *head;
			*head = k + 1;
		}
	}
}

/* ---- step 4: from what can run, to a fixed point ---- */

static void expand_handle(det *d, hent h)
{
	size_t *at;

	if (!put(d, &d->expanded, h.obj, (size_t)h.t, &at) && (!at || *at == (size_t)h.t))
		return;   /* (a context met again as its cancel function goes on) */
	if (h.t->reach)
		h.t->reach(h.obj, &d->r);
	else
		chl_reach_obj(&d->r, h.obj);
}

static void add_child(chl_ctx *child, void *arg)
{
	push_cancel(arg, child);
}

static void follow_cancel(det *d, chl_ctx *ctx)
{
	chl_chan *done = chl_ctx_done(ctx);

	if (!put(d, &d->canceled, ctx, 0, NULL))
		return;
	if (done && put(d, &d->closable, done, 0, NULL))
		trigger(d, done, CHL_WAKE_CANCEL);
	chl_ctx_foreach_child(ctx, add_child, d);
}

static void add_signal_ctx(chl_ctx *ctx, void *arg)
{
	push_cancel(arg, ctx);
}

static void expand(det *d)
{
	d->r.mode = M_EXPAND;
	chl_signal_foreach_ctx(add_signal_ctx, d);
	while (!d->nomem) {
		if (d->hwork.n) {
			expand_handle(d, AT(d->hwork, hent, --d->hwork.n));
		} else if (d->cwork.n) {
			follow_cancel(d, AT(d->cwork, chl_ctx *, --d->cwork.n));
		} else if (d->gwork.n) {
			gor *o = &G(d, AT(d->gwork, size_t, --d->gwork.n));
			chl_go_hooks *hooks = &o->g->hooks;

			for (size_t i = 0; i < o->hn; i++) {
				hent *h = vec_push(&d->hwork);

				if (!h) {
					d->nomem = true;
					break;
				}
				*h = AT(d->hs, hent, o->h0 + i);
			}
			if (hooks->reach)
				hooks->reach(hooks->arg, &d->r);
		} else {
			break;
		}
	}
}

/* ---- step 5: the leaked, and their partial deadlocks ---- */

static int by_id(const void *a, const void *b)
{
	uint64_t x = (*(gor *const *)a)->g->task.id;
	uint64_t y = (*(gor *const *)b)->g->task.id;

	return (x > y) - (x < y);
}

/* What each leaked goroutine holds directly. */
static void direct_holdings(det *d, gor **lk, size_t n)
{
	d->r.mode = M_DIRECT;
	for (size_t i = 0; i < n && !d->nomem; i++) {
		gor *o = lk[i];

		o->x0 = d->xs.n;
		for (size_t k = 0; k < o->hn; k++) {
			hent *h = &AT(d->hs, hent, o->h0 + k);

			if (h->t->reach)
				h->t->reach(h->obj, &d->r);
			else
				chl_reach_obj(&d->r, h->obj);
		}
		if (o->g->hooks.reach)
			o->g->hooks.reach(o->g->hooks.arg, &d->r);
		o->xn = d->xs.n - o->x0;
	}
}

static bool waits_on(det *d, const gor *o, const void *obj)
{
	for (size_t k = 0; k < o->tn; k++)
		if (AT(d->ts, target, o->t0 + k).obj == obj)
			return true;
	return false;
}

/* The "waits for" graph: nodes 0..n-1 the leaked goroutines, then one
 * node per object they wait on; edges goroutine -> object it waits on ->
 * goroutine holding it (not waiting on it itself).  CSR form. */
typedef struct graph {
	size_t nodes, n;           /* all nodes; goroutine nodes */
	size_t *first;             /* nodes + 1: edges of v are first[v]..first[v+1] */
	size_t *to;
} graph;

typedef struct edge {
	size_t from, to;
} edge;

/* By source, then target: the same graph gives the same cycle texts. */
static int by_from(const void *a, const void *b)
{
	const edge *x = a, *y = b;

	if (x->from != y->from)
		return (x->from > y->from) - (x->from < y->from);
	return (x->to > y->to) - (x->to < y->to);
}

static bool build_graph(det *d, gor **lk, size_t n, graph *gr)
{
	chl_ptrmap objs = CHL_PTRMAP_INIT;
	vec es = VEC(edge);
	size_t nodes = n, *at, i, k;
	edge *e;

	for (i = 0; i < n; i++) {
		for (k = 0; k < lk[i]->tn; k++) {
			void *obj = AT(d->ts, target, lk[i]->t0 + k).obj;

			if (put(d, &objs, obj, nodes, &at))
				nodes++;
			if (!at || !(e = vec_push(&es)))
				goto fail;
			e->from = i;
			e->to = *at;
		}
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < lk[i]->xn; k++) {
			void *obj = AT(d->xs, void *, lk[i]->x0 + k);

			if (!(at = chl_ptrmap_get(&objs, obj)) || waits_on(d, lk[i], obj))
				continue;
			if (!(e = vec_push(&es)))
				goto fail;
			e->from = *at;
			e->to = i;
		}
	}
	if (es.n)
		qsort(es.v, es.n, sizeof(edge), by_from);
	gr->nodes = nodes;
	gr->n = n;
	gr->first = calloc(nodes + 1, sizeof *gr->first);
	gr->to = malloc((es.n ? es.n : 1) * sizeof *gr->to);
	if (!gr->first || !gr->to)
		goto fail;
	for (i = 0; i < es.n; i++) {
		gr->first[AT(es, edge, i).from + 1]++;
		gr->to[i] = AT(es, edge, i).to;
	}
	for (i = 0; i < nodes; i++)
		gr->first[i + 1] += gr->first[i];
	free(es.v);
	chl_ptrmap_free(&objs);
	return true;
fail:
	d->nomem = true;
	free(es.v);
	chl_ptrmap_free(&objs);
	return false;
}

#define UNSEEN ((size_t)-1)

/* Tarjan's strongly connected components, with explicit stacks: comp[v]
 * gets its component's number.  False when out of memory. */
static bool components(const graph *gr, size_t *comp)
{
	size_t nodes = gr->nodes, counter = 0, ncomp = 0, sp = 0, fp = 0;
	size_t *idx = malloc(nodes * sizeof *idx), *low = malloc(nodes * sizeof *low);
	size_t *stack = malloc(nodes * sizeof *stack);
	size_t (*frames)[2] = malloc(nodes * sizeof *frames);
	bool *on = calloc(nodes, sizeof *on);
	bool ok = idx && low && stack && frames && on;

	for (size_t v = 0; ok && v < nodes; v++)
		idx[v] = UNSEEN;
	for (size_t root = 0; ok && root < nodes; root++) {
		if (idx[root] != UNSEEN)
			continue;
		idx[root] = low[root] = counter++;
		stack[sp++] = root;
		on[root] = true;
		frames[fp][0] = root;
		frames[fp++][1] = gr->first[root];
		while (fp > 0) {
			size_t v = frames[fp - 1][0], *e = &frames[fp - 1][1];

			if (*e < gr->first[v + 1]) {
				size_t w = gr->to[(*e)++];

				if (idx[w] == UNSEEN) {
					idx[w] = low[w] = counter++;
					stack[sp++] = w;
					on[w] = true;
					frames[fp][0] = w;
					frames[fp++][1] = gr->first[w];
				} else if (on[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			fp--;
			if (fp > 0 && low[v] < low[frames[fp - 1][0]])
				low[frames[fp - 1][0]] = low[v];
			if (low[v] == idx[v]) {
				size_t w;

				do {
					w = stack[--sp];
					on[w] = false;
					comp[w] = ncomp;
				} while (w != v);
				ncomp++;
			}
		}
	}
	free(idx);
	free(low);
	free(stack);
	free(frames);
	free(on);
	return ok;
}

/* A short word for what a goroutine waits on, for cycle texts. */
static const char *kind_word(const char *reason)
{
	static const char *const words[][2] = {
		{ "sync.Mutex.Lock", "mutex" },
		{ "sync.WaitGroup.Wait", "waitgroup" },
		{ "sync.Once.Do", "once" },
		{ "semaphore.Acquire", "semaphore" },
		{ "errgroup.Go", "errgroup" },
		{ "errgroup.Wait", "errgroup" },
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(reason, words[i][0]) == 0)
			return words[i][1];
	return reason;
}

/* The cycle through start in its component, as text; sets waits_for of
 * every member.  A breadth-first search over goroutine nodes. */
static char *cycle_text(const graph *gr, const size_t *comp, size_t start,
                        chl_leak *v, size_t *prev)
{
	size_t n = gr->n, c = comp[start], head = 0, tail = 0, last = UNSEEN;
	size_t *queue = malloc(n * sizeof *queue);
	size_t *path = malloc(n * sizeof *path), len = 0;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	if (!queue || !path)
		goto out;
	for (size_t i = 0; i < n; i++)
		prev[i] = UNSEEN;
	queue[tail++] = start;
	prev[start] = start;
	while (head < tail && last == UNSEEN) {
		size_t u = queue[head++];

		for (size_t e = gr->first[u]; e < gr->first[u + 1] && last == UNSEEN; e++) {
			size_t o = gr->to[e];

			if (comp[o] != c)
				continue;
			for (size_t f2 = gr->first[o]; f2 < gr->first[o + 1]; f2++) {
				size_t w = gr->to[f2];

				if (comp[w] != c)
					continue;
				if (w == start) {
					last = u;
					break;
				}
				if (prev[w] == UNSEEN) {
					prev[w] = u;
					queue[tail++] = w;
				}
			}
		}
	}
	if (last == UNSEEN)
		goto out;
	for (size_t u = last; ; u = prev[u]) {
		path[len++] = u;
		if (u == start)
			break;
	}
	if (!(f = open_memstream(&text, &size)))
		goto out;
	for (size_t i = len; i-- > 0; ) {
		size_t a = path[i], b = i > 0 ? path[i - 1] : start;

		v[a].waits_for = v[b].id;
		fprintf(f, "%sG%llu waits for G%llu (%s at %s)", i + 1 < len ? ", " : "",
		        (unsigned long long)v[a].id, (unsigned long long)v[b].id,
		        kind_word(v[a].reason), v[a].line);
	}
	fclose(f);
	/* Members off the printed cycle: the first member each waits for. */
	for (size_t u = 0; u < n; u++) {
		if (comp[u] != c || v[u].waits_for)
			continue;
		for (size_t e = gr->first[u]; e < gr->first[u + 1] && !v[u].waits_for; e++)
			for (size_t f2 = gr->first[gr->to[e]]; f2 < gr->first[gr->to[e] + 1]; f2++)
				if (comp[gr->to[f2]] == c && gr->to[f2] != u) {
					v[u].waits_for = v[gr->to[f2]].id;
					break;
				}
	}
out:
	free(queue);
	free(path);
	return text;
}

/* The order the report prints the leaked in: the plain ones by id, then
 * each partial deadlock's members by id.  Fills order (lk->n entries);
 * returns lk->n. */
static size_t print_order(const chl_leaks *lk, size_t *order)
{
	size_t k = 0, i;

	for (i = 0; i < lk->n; i++)
		if (lk->v[i].cycle < 0)
			order[k++] = i;
	for (size_t c = 0; c < lk->ncycles; c++)
		for (i = 0; i < lk->n; i++)
			if (lk->v[i].cycle == (int)c)
				order[k++] = i;
	return k;
}

/* Where o blocked, into l->line (once). */
static void set_line(chl_leak *l, const gor *o)
{
	if (l->line[0])
		return;
	if (o->L)
		chl_dump_line(o->L, l->line, sizeof l->line);
	else
		snprintf(l->line, sizeof l->line, "?");
}

/* Fill out with the leaked goroutines (reading their states: the world
 * is still stopped).  For a printed report (CHL_LEAKS_TRACEBACKS) only
 * those printed in full and those in partial deadlocks get their line. */
static void report(det *d, chl_leaks *out, int flags)
{
	size_t n = 0, i;
	gor **lk;
	graph gr = { 0, 0, NULL, NULL };
	size_t *comp = NULL, *count = NULL, *prev = NULL, *cyc = NULL;

	for (i = 0; i < d->gs.n; i++)
		n += !G(d, i).live;
	if (n == 0)
		return;
	lk = malloc(n * sizeof *lk);
	out->v = calloc(n, sizeof *out->v);
	if (!lk || !out->v) {
		free(lk);
		d->nomem = true;
		return;
	}
	for (i = n = 0; i < d->gs.n; i++)
		if (!G(d, i).live)
			lk[n++] = &G(d, i);
	qsort(lk, n, sizeof *lk, by_id);
	out->n = n;
	for (i = 0; i < n; i++) {
		chl_leak *l = &out->v[i];
		goroutine *g = lk[i]->g;

		l->id = g->task.id;
		l->reason = lk[i]->reason;
		l->created = g->task.id == 1 ? NULL : g->created;
		l->cycle = -1;
		if (!(flags & CHL_LEAKS_TRACEBACKS))
			set_line(l, lk[i]);
	}
	direct_holdings(d, lk, n);
	if (d->nomem || !build_graph(d, lk, n, &gr))
		goto out;
	comp = malloc(gr.nodes * sizeof *comp);
	count = calloc(gr.nodes, sizeof *count);
	cyc = malloc(gr.nodes * sizeof *cyc);
	prev = malloc(n * sizeof *prev);
	if (!comp || !count || !cyc || !prev || !components(&gr, comp)) {
		d->nomem = true;
		goto out;
	}
	for (i = 0; i < n; i++)
		count[comp[i]]++;
	for (i = 0; i < n; i++)
		if (count[comp[i]] >= 2)
			set_line(&out->v[i], lk[i]);   /* the cycle texts name them */
	for (i = 0; i < gr.nodes; i++)
		cyc[i] = UNSEEN;
	/* By id: a cycle's text starts at its lowest goroutine. */
	for (i = 0; i < n; i++) {
		size_t c = comp[i];

		if (count[c] < 2)
			continue;
		if (cyc[c] == UNSEEN) {
			char *text = cycle_text(&gr, comp, i, out->v, prev);
			char **cs = text ? realloc(out->cycles, (out->ncycles + 1) * sizeof *cs) : NULL;

			if (!cs) {
				free(text);
				d->nomem = true;
				goto out;
			}
			out->cycles = cs;
			cs[out->ncycles] = text;
			cyc[c] = out->ncycles++;
		}
		out->v[i].cycle = (int)cyc[c];
	}
	/* Tracebacks of those the report prints in full (a new Lua state
	 * each: not for 100,000). */
	if (flags & CHL_LEAKS_TRACEBACKS) {
		size_t *order = prev;   /* n entries, free now */
		size_t shown = print_order(out, order);

		for (i = 0; i < shown && i < CHL_LEAKS_DUMP_MAX; i++) {
			set_line(&out->v[order[i]], lk[order[i]]);
			if (lk[order[i]]->L)
				out->v[order[i]].traceback = chl_dump_traceback(lk[order[i]]->L);
		}
	}
out:
	free(lk);
	free(gr.first);
	free(gr.to);
	free(comp);
	free(count);
	free(cyc);
	free(prev);
}

/* ---- the entry points ---- */

static void det_free(det *d)
{
	for (size_t i = 0; i < d->held.n; i++)
		chl_ctx_release(AT(d->held, chl_ctx *, i));
	free(d->gs.v);
	free(d->hs.v);
	free(d->ts.v);
	free(d->xs.v);
	free(d->hwork.v);
	free(d->gwork.v);
	free(d->cwork.v);
	free(d->held.v);
	chl_ptrmap_free(&d->seen);
	chl_ptrmap_free(&d->ghs);
	chl_ptrmap_free(&d->wake);
	chl_ptrmap_free(&d->dones);
	chl_ptrmap_free(&d->ctxs);
	chl_ptrmap_free(&d->waiters);
	chl_ptrmap_free(&d->reached);
	chl_ptrmap_free(&d->closable);
	chl_ptrmap_free(&d->canceled);
	chl_ptrmap_free(&d->expanded);
	chl_ptrmap_free(&d->msgs);
}

/* The id of a goroutine still running a step (a stop that timed out). */
static void find_running(chl_task *t, void *arg)
{
	uint64_t *id = arg;

	if (!*id && chl_sched_task_state(t) == CHL_TASK_RUNNING &&
	    t != chl_sched_current())
		*id = t->id;
}

void chl_leaks_free(chl_leaks *lk)
{
	for (size_t i = 0; i < lk->n; i++)
		free(lk->v[i].traceback);
	for (size_t i = 0; i < lk->ncycles; i++)
		free(lk->cycles[i]);
	free(lk->v);
	free(lk->cycles);
	memset(lk, 0, sizeof *lk);
}

int chl_leaks_find(lua_State *L, chl_leaks *out, int flags)
{
	static char not_stopped[96];
	chl_rt *rt = chl_rt_current();
	chl_sched *s = rt ? chl_rt_sched(rt) : NULL;
	det d = {
		.gs = VEC(gor), .hs = VEC(hent), .ts = VEC(target), .xs = VEC(void *),
		.hwork = VEC(hent), .gwork = VEC(size_t), .cwork = VEC(chl_ctx *),
		.held = VEC(chl_ctx *),
		.seen = CHL_PTRMAP_INIT, .ghs = CHL_PTRMAP_INIT, .wake = CHL_PTRMAP_INIT,
		.dones = CHL_PTRMAP_INIT, .ctxs = CHL_PTRMAP_INIT, .waiters = CHL_PTRMAP_INIT,
		.reached = CHL_PTRMAP_INIT, .closable = CHL_PTRMAP_INIT,
		.canceled = CHL_PTRMAP_INIT, .expanded = CHL_PTRMAP_INIT, .msgs = CHL_PTRMAP_INIT,
	};
	int stopped;

	memset(out, 0, sizeof *out);
	d.r.d = &d;
	d.L = L;
	d.self = L ? chl_lua_goroutine(L) : NULL;
	if (d.self && chl_sched_current() != &d.self->task)
		d.self = NULL;
	if (!s) {
		out->skipped = "the runtime is not started";
		return CHL_OK;
	}
	if (chl_sched_externals(s) > 0 || !d.self) {
		out->skipped = "an outside thread (plain C, or a stock lua5.4) may wake any goroutine";
		return CHL_OK;
	}
	stopped = chl_sched_stop_world(s, STOP_NS);
	if (stopped < 0) {
		out->skipped = "another stop of the world did not end";
		return CHL_OK;
	}
	if (stopped == 0) {
		uint64_t id = 0;

		chl_sched_foreach(s, find_running, &id);
		chl_sched_start_world(s);
		snprintf(not_stopped, sizeof not_stopped,
		         "goroutine %llu did not stop (a long C call, or preemption off)",
		         (unsigned long long)id);
		out->skipped = not_stopped;
		return CHL_OK;
	}
	list_goroutines(&d, s);
	note_handles(&d);
	index_waits(&d);
	expand(&d);
	if (!d.nomem && !d.incomplete)
		report(&d, out, flags);
	if (!(flags & CHL_LEAKS_KEEP_STOPPED))
		chl_sched_start_world(s);
	det_free(&d);
	if (d.nomem) {
		chl_leaks_free(out);
		return CHL_NOMEM;
	}
	if (d.incomplete)
		out->skipped = "a goroutine's state was too deep to walk";
	return CHL_OK;
}

void chl_leaks_print(const chl_leaks *lk, FILE *f)
{
	size_t plain = 0, i, k, *order;
	int cycle = -1;
	char state[96];

	if (lk->skipped) {
		fprintf(f, "leak check skipped: %s\n", lk->skipped);
		return;
	}
	if (lk->n == 0)
		return;
	for (i = 0; i < lk->n; i++)
		plain += lk->v[i].cycle < 0;
	fprintf(f, "leaked goroutines: %zu", lk->n);
	if (plain < lk->n)
		fprintf(f, " (%zu in %s)", lk->n - plain,
		        lk->ncycles > 1 ? "partial deadlocks" : "a partial deadlock");
	fputc('\n', f);
	if (!(order = malloc(lk->n * sizeof *order)))
		return;
	print_order(lk, order);
	for (k = 0; k < lk->n && k < CHL_LEAKS_DUMP_MAX; k++) {
		const chl_leak *l = &lk->v[order[k]];

		if (l->cycle >= 0 && l->cycle != cycle) {
			cycle = l->cycle;
			fprintf(f, "\npartial deadlock: %s\n", lk->cycles[cycle]);
		}
		snprintf(state, sizeof state, "%s (%s)", l->reason,
		         l->cycle < 0 ? "leaked" : "partial deadlock");
		fputc('\n', f);
		chl_dump_goroutine(f, l->id, state, l->traceback, l->created);
	}
	if (lk->n > k)
		fprintf(f, "\n... and %zu more leaked goroutines\n", lk->n - k);
	free(order);
}

int chl_leaks_at_exit(lua_State *L, bool fatal)
{
	chl_leaks lk;
	int rc = chl_leaks_find(L, &lk, CHL_LEAKS_TRACEBACKS | CHL_LEAKS_KEEP_STOPPED);
	int status = 0;

	fflush(stdout);
	if (rc != CHL_OK)
		fputs("leak check failed: not enough memory\n", stderr);
	chl_leaks_print(&lk, stderr);
	if (fatal && (lk.n > 0 || rc != CHL_OK))
		status = 2;       /* --leaks=fatal: a check that could not run fails */
	chl_leaks_free(&lk);
	return status;
}
