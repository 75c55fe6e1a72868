/*
 * model.c - building the trace's model from the events (model.h).
 *
 * One pass over the events in time order drives a small state machine
 * per goroutine (none -> runnable -> running -> blocked | runnable | dead):
 * each transition closes the span of the state it leaves.  Operations
 * land in the goroutine's list; the first one after a wake is the one its
 * blocked span waited for (it names the channel and, when the park did
 * not, the line).  Flows are opened by whichever end comes first and
 * kept only when both ends came; targets "the next running span of G
 * after t" are found at the end, when every span is known.
 *
 * Cost: O(events) plus a sort of the flow ids; memory: the model holds
 * one record per span, operation and flow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "trace/model.h"

enum { GS_NONE, GS_RUNNABLE, GS_RUN, GS_BLOCKED, GS_DEAD };

/* Flow ids of the trace file above the values' 32-bit ones. */
#define GROUP_ID_BASE (UINT64_C(1) << 32)

typedef struct builder {
	trace_model *m;
	tr_gor **by_id;            /* goroutines by id (sparse) */
	size_t cap_id;
	struct cslot { const void *obj; int chan; } *cmap;
	size_t cmap_cap, cmap_len;
	int *vflow;                /* value flow id -> flow index + 1 */
	size_t vflow_cap;
	size_t cap_flows, cap_marks;
	int cap_chans;
	uint64_t next_group;
	int64_t t0;
	bool oom;
} builder;

/* Make room for need elements in *p (of *cap); false (and b->oom) when
 * out of memory. */
static bool grow(builder *b, void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	if (!(np = realloc(*p, ncap * elem))) {
		b->oom = true;
		return false;
	}
	memset((char *)np + *cap * elem, 0, (ncap - *cap) * elem);
	*p = np;
	*cap = ncap;
	return true;
}

#define GROW(b, arr, cap, need) grow((b), (void **)&(arr), &(cap), (need), sizeof *(arr))

/* ---- goroutines ---- */

static tr_gor *gor(builder *b, uint64_t id, int64_t ts)
{
	tr_gor *g;

	if (id >= b->cap_id && !GROW(b, b->by_id, b->cap_id, id + 1))
		return NULL;
	if ((g = b->by_id[id]) != NULL)
		return g;
	if (!(g = calloc(1, sizeof *g))) {
		b->oom = true;
		return NULL;
	}
	g->id = id;
	g->start = ts;
	g->end = -1;
	g->last = ts - 1;
	g->block_span = -1;
	b->by_id[id] = g;
	return g;
}

/* ts moved, if need be, to 1 ns after g's last event (model.h). */
static int64_t at(tr_gor *g, int64_t ts)
{
	if (ts <= g->last)
		ts = g->last + 1;
	g->last = ts;
	return ts;
}

static tr_span *add_span(builder *b, tr_gor *g, int kind, int64_t end)
{
	tr_span *s;

	if (!GROW(b, g->spans, g->cap_spans, g->nspans + 1))
		return NULL;
	s = &g->spans[g->nspans++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->start = g->since;
	s->end = end;
	return s;
}

/* Close g's current span at ts: the state it was in, as a span. */
static tr_span *close_state(builder *b, tr_gor *g, int64_t ts)
{
	tr_span *s = NULL;

	g->quiet_run = false;
	switch (g->state) {
	case GS_RUN:
		if ((s = add_span(b, g, TR_RUN, ts)))
			s->worker = g->worker;
		break;
	case GS_RUNNABLE:
		if ((s = add_span(b, g, TR_RUNNABLE, ts))) {
			s->reason = g->why;
			s->by = g->by;
		}
		break;
	case GS_BLOCKED:
		if ((s = add_span(b, g, TR_BLOCKED, ts))) {
			s->reason = g->why;
			s->where = g->wait_where;
		}
		break;
	default:
		break;
	}
	return s;
}

static void set_state(tr_gor *g, int state, int64_t ts, const char *why, uint64_t by)
{
	g->state = state;
	g->since = ts;
	g->why = why;
	g->by = by;
}

static void add_pending(builder *b, tr_gor *g, uint64_t target, int64_t ts, bool spawn)
{
	size_t cap = (size_t)g->cap_pending;

	if (!GROW(b, g->pending, cap, (size_t)g->npending + 1))
		return;
	g->cap_pending = (int)cap;
	g->pending[g->npending].g = target;
	g->pending[g->npending].ts = ts;
	g->pending[g->npending].spawn = spawn;
	g->npending++;
}

/* ---- channels ---- */

static size_t ptr_hash(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static bool cmap_grow(builder *b)
{
	size_t cap = b->cmap_cap ? 2 * b->cmap_cap : 64;
	struct cslot *t = calloc(cap, sizeof *t);

	if (!t) {
		b->oom = true;
		return false;
	}
	for (size_t i = 0; i < b->cmap_cap; i++)
		if (b->cmap[i].obj) {
			size_t j = ptr_hash(b->cmap[i].obj, cap);

			while (t[j].obj)
				j = (j + 1) & (cap - 1);
			t[j] = b->cmap[i];
		}
	free(b->cmap);
	b->cmap = t;
	b->cmap_cap = cap;
	return true;
}

/* The channel at obj (1-based), numbered in the order they were made
 * (MAKE events; fresh: from one) or first used.  A different capacity at
 * a known address is a new channel too (made before the trace began). */
static int chan_of(builder *b, const void *obj, int64_t cap, bool fresh)
{
	trace_model *m = b->m;
	size_t i, ncap = (size_t)b->cap_chans;
	tr_chan *c;

	if (!obj)
		return 0;
	if (2 * (b->cmap_len + 1) > b->cmap_cap && !cmap_grow(b))
		return 0;
	i = ptr_hash(obj, b->cmap_cap);
	while (b->cmap[i].obj && b->cmap[i].obj != obj)
		i = (i + 1) & (b->cmap_cap - 1);
	if (b->cmap[i].obj && m->chans[b->cmap[i].chan - 1].cap == cap && !fresh)
		return b->cmap[i].chan;
	if (!GROW(b, m->chans, ncap, (size_t)m->nchans + 1))
		return 0;
	b->cap_chans = (int)ncap;
	c = &m->chans[m->nchans++];
	memset(c, 0, sizeof *c);
	c->id = m->nchans;
	c->cap = cap;
	snprintf(c->name, sizeof c->name, "chan#%d cap=%lld", c->id, (long long)cap);
	if (!b->cmap[i].obj)
		b->cmap_len++;
	b->cmap[i].obj = obj;
	b->cmap[i].chan = c->id;
	return c->id;
}

/* ---- flows ---- */

static tr_flow *new_flow(builder *b, int kind, uint64_t id)
{
	trace_model *m = b->m;
	tr_flow *f;

	if (!GROW(b, m->flows, b->cap_flows, m->nflows + 1))
		return NULL;
	f = &m->flows[m->nflows++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->id = id;
	return f;
}

/* The flow of the value with this id, made on first sight. */
static tr_flow *value_flow(builder *b, uint64_t id)
{
	tr_flow *f;

	if (id >= b->vflow_cap && !GROW(b, b->vflow, b->vflow_cap, id + 1))
		return NULL;
	if (b->vflow[id])
		return &b->m->flows[b->vflow[id] - 1];
	if (!(f = new_flow(b, TF_VALUE, id)))
		return NULL;
	b->vflow[id] = (int)b->m->nflows;
	f->from_ts = f->to_ts = -1;
	return f;
}

/* The value flow id leaves g's blocked span s (it offered the value). */
static void value_from_span(builder *b, tr_gor *g, tr_span *s, uint64_t id)
{
	tr_flow *f = value_flow(b, id);

	if (!f || f->from_ts >= 0)
		return;
	f->from_g = g->id;
	f->from_ts = s->end;
	f->from_span = true;
	f->chan = s->chan;
	s->bind_out = id;
}

static void value_from_op(builder *b, tr_gor *g, tr_op *op, uint64_t id)
{
	tr_flow *f = value_flow(b, id);

	if (!f)
		return;
	if (!f->label)
		f->label = op->detail;
	f->chan = op->chan;
	if (f->from_ts >= 0)
		return;
	f->from_g = g->id;
	f->from_ts = op->ts;
	op->bind_out = id;
}

static void value_to_op(builder *b, tr_gor *g, tr_op *op, uint64_t id)
{
	tr_flow *f = value_flow(b, id);

	if (!f || f->to_ts >= 0)
		return;
	f->to_g = g->id;
	f->to_ts = op->ts;
	if (!f->label)
		f->label = op->detail;
	op->bind_in = id;
}

/* One arrow per goroutine in g's pending list (spawn ones or the
 * others), from op, sharing one id; the targets are found at the end. */
static void group_flows(builder *b, tr_gor *g, tr_op *op, int kind, bool spawns)
{
	uint64_t id = 0;

	for (int i = 0; i < g->npending; i++) {
		tr_flow *f;

		if (g->pending[i].spawn != spawns)
			continue;
		if (!id)
			id = GROUP_ID_BASE + ++b->next_group;
		if (!(f = new_flow(b, kind, id)))
			return;
		f->from_g = g->id;
		f->from_ts = op->ts;
		f->to_g = g->pending[i].g;
		f->to_ts = g->pending[i].ts;   /* "after": resolved at the end */
		f->chan = op->chan;
		op->bind_out = id;
		if (spawns)
			op->to_g = g->pending[i].g;
	}
}

/* ---- operations ---- */

static bool is_go(const char *what)
{
	return what && (strcmp(what, "go") == 0 || strcmp(what, "sync.WaitGroup.Go") == 0 ||
	                strcmp(what, "errgroup.Go") == 0 || strcmp(what, "errgroup.TryGo") == 0);
}

static bool is_select(const trace_rec *e, const char *dir)
{
	return e->op == CHL_OP_SELECT && e->what && strcmp(e->what, dir) == 0;
}

static void on_op(builder *b, tr_gor *g, const trace_rec *e, int64_t ts)
{
	trace_model *m = b->m;
	tr_op *op;
	bool send = e->op == CHL_OP_SEND || is_select(e, "select send");
	bool recv = e->op == CHL_OP_RECV || is_select(e, "select receive");
	bool quiet = e->op == CHL_OP_SYNC && !is_go(e->what) && g->npending == 0 &&
	             !g->after_block && e->what;

	if (quiet && g->quiet_run) {
		op = &g->ops[g->nops - 1];
		op->end = ts;
		op->count++;
		if (strcmp(op->what, e->what) != 0)
			op->mixed = true;
		return;
	}
	if (!GROW(b, g->ops, g->cap_ops, g->nops + 1))
		return;
	op = &g->ops[g->nops++];
	memset(op, 0, sizeof *op);
	g->quiet_run = quiet;
	op->ts = op->end = ts;
	op->count = 1;
	op->op = e->op;
	op->what = e->what;
	op->where = e->where;
	op->detail = e->detail;
	op->len = e->a;
	op->cap = e->b;
	op->aux = e->aux;
	if (e->op == CHL_OP_SEND || e->op == CHL_OP_RECV || e->op == CHL_OP_CLOSE ||
	    e->op == CHL_OP_SELECT)
		op->chan = chan_of(b, e->obj, e->b, false);
	if (g->after_block && g->block_span >= 0) {
		tr_span *s = &g->spans[g->block_span];

		op->completes_block = true;
		if (!s->where)
			s->where = e->where;
		s->chan = op->chan;
		if (op->chan) {
			tr_chan *c = &m->chans[op->chan - 1];

			c->waits++;
			c->wait_ns += s->end - s->start;
			if (s->end - s->start > c->wait_max) {
				c->wait_max = s->end - s->start;
				c->wait_max_where = s->where;
			}
		}
		/* A send that waited: the value left when a receiver took it,
		 * at the end of the span, not now. */
		if (send && e->flow && e->aux)
			value_from_span(b, g, s, e->flow);
	}
	g->after_block = false;
	if (send && e->aux) {
		if (e->flow)
			value_from_op(b, g, op, e->flow);
		if (op->chan)
			m->chans[op->chan - 1].sends++;
	} else if (recv && e->aux) {
		if (e->flow)
			value_to_op(b, g, op, e->flow);
		if (op->chan)
			m->chans[op->chan - 1].recvs++;
	} else if (e->op == CHL_OP_CLOSE) {
		group_flows(b, g, op, TF_CLOSE, false);
	} else if (e->op == CHL_OP_SYNC && is_go(e->what)) {
		group_flows(b, g, op, TF_GO, true);
		for (int i = 0; i < g->npending; i++) {
			tr_gor *c = g->pending[i].spawn ? gor(b, g->pending[i].g, ts) : NULL;

			if (c) {
				c->fn = e->detail;
				c->created = e->where;
			}
		}
	} else if (!send && !recv) {
		group_flows(b, g, op, TF_WAKE, false);
	}
	g->npending = 0;
	g->wait_what = g->wait_where = NULL;
	g->wait_flow = 0;
}

/* ---- the pass ---- */

static void add_mark(builder *b, const trace_rec *e, int64_t ts, const char *name,
                     const char *detail, uint64_t g)
{
	trace_model *m = b->m;
	tr_mark *k;

	if (!GROW(b, m->marks, b->cap_marks, m->nmarks + 1))
		return;
	k = &m->marks[m->nmarks++];
	k->ts = ts;
	k->worker = e ? e->worker : -1;
	k->thread = e ? e->thread : -1;
	k->name = name;
	k->detail = detail;
	k->g = g;
}

/* g woke others since its last operation. */
static bool pending_wakes(const tr_gor *g)
{
	for (int i = 0; i < g->npending; i++)
		if (!g->pending[i].spawn)
			return true;
	return false;
}

static void on_event(builder *b, const trace_rec *e)
{
	trace_model *m = b->m;
	int64_t ts = e->ts - b->t0;
	tr_gor *g = NULL, *p;
	tr_span *s;

	if (e->worker >= m->nworkers)
		m->nworkers = e->worker + 1;
	if (e->thread >= m->nthreads)
		m->nthreads = e->thread + 1;
	if (e->g && e->op != CHL_OP_SPAWN && e->op != CHL_OP_READY && !(g = gor(b, e->g, ts)))
		return;
	switch (e->op) {
	case CHL_OP_SPAWN:
		if (!(p = gor(b, e->peer, ts)))
			return;
		ts = at(p, ts);
		p->start = ts;
		p->parent = e->g;
		set_state(p, GS_RUNNABLE, ts, "created", e->g);
		if (e->g && (g = gor(b, e->g, ts)))
			add_pending(b, g, p->id, at(g, ts), true);
		break;
	case CHL_OP_RUN:
		ts = at(g, ts);
		close_state(b, g, ts);
		set_state(g, GS_RUN, ts, NULL, 0);
		g->worker = e->worker;
		break;
	case CHL_OP_YIELD:
		ts = at(g, ts);
		close_state(b, g, ts);
		set_state(g, GS_RUNNABLE, ts, "preempted", 0);
		break;
	case CHL_OP_PARK:
		ts = at(g, ts);
		close_state(b, g, ts);
		set_state(g, GS_BLOCKED, ts, e->what, 0);
		g->after_block = false;
		if (!g->wait_what || !e->what || strcmp(g->wait_what, e->what) != 0) {
			g->wait_where = NULL;   /* the WAIT was another wait's */
			g->wait_flow = 0;
		}
		break;
	case CHL_OP_READY:
		if (!(p = gor(b, e->peer, ts)))
			return;
		ts = at(p, ts);
		if (p->state == GS_BLOCKED && (s = close_state(b, p, ts))) {
			p->block_span = (int)(s - p->spans);
			p->after_block = true;
			if (p->wait_flow)
				value_from_span(b, p, s, p->wait_flow);
			p->wait_what = p->wait_where = NULL;
			p->wait_flow = 0;
			set_state(p, GS_RUNNABLE, ts, "woken", e->g);
		}
		if (e->g && (g = gor(b, e->g, ts)))
			add_pending(b, g, p->id, at(g, ts), false);
		break;
	case CHL_OP_EXIT:
		ts = at(g, ts);
		if (g->state == GS_RUN && pending_wakes(g)) {
			trace_rec fin = *e;   /* what its end did: wg:go's done, errgroup's cancel */

			fin.op = CHL_OP_SYNC;
			fin.what = "finished";
			fin.where = fin.detail = NULL;
			on_op(b, g, &fin, ts);
			ts = at(g, ts);
		}
		close_state(b, g, ts);
		set_state(g, GS_DEAD, ts, NULL, 0);
		g->end = ts;
		g->npending = 0;
		g->after_block = false;
		break;
	case CHL_OP_WAIT:
		if (!g)
			return;
		g->wait_what = e->what;
		g->wait_where = e->where;
		g->wait_flow = e->flow;
		break;
	case CHL_OP_TIMER:
		add_mark(b, e, ts, "timer fired", NULL, 0);
		break;
	case CHL_OP_MAKE:
		chan_of(b, e->obj, e->b, true);
		break;
	case CHL_OP_PANIC:
		if (g) {
			ts = at(g, ts);
			g->panic = e->detail;
		}
		add_mark(b, e, ts, "panic", e->detail, e->g);
		break;
	default:
		if (g)
			on_op(b, g, e, at(g, ts));
		break;
	}
	if (ts > m->end)
		m->end = ts;
}

/* ---- the end ---- */

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

static bool has_id(const uint64_t *ids, size_t n, uint64_t id)
{
	return id && n && bsearch(&id, ids, n, sizeof *ids, cmp_u64) != NULL;
}

/* g's first running span starting at or after ts, or NULL. */
static tr_span *run_after(tr_gor *g, int64_t ts)
{
	size_t lo = 0, hi = g->nspans;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (g->spans[mid].start < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < g->nspans; lo++)
		if (g->spans[lo].kind == TR_RUN)
			return &g->spans[lo];
	return NULL;
}

/* Targets of the group flows; keep the flows with both ends (in order),
 * and clear the ids of slices whose flows went. */
static void finish_flows(builder *b)
{
	trace_model *m = b->m;
	uint64_t *out = NULL, *in = NULL;
	size_t k = 0, nout = 0, nin = 0;

	for (size_t i = 0; i < m->nflows; i++) {
		tr_flow *f = &m->flows[i];

		if (f->kind == TF_VALUE) {
			f->done = f->from_ts >= 0 && f->to_ts >= 0;
		} else {
			tr_gor *t = f->to_g < b->cap_id ? b->by_id[f->to_g] : NULL;
			tr_span *s = t ? run_after(t, f->to_ts) : NULL;

			f->done = s && !s->bind_in;
			if (f->done) {
				s->bind_in = f->id;
				f->to_ts = s->start;
			}
		}
	}
	if (m->nflows && (!(out = malloc(m->nflows * sizeof *out)) ||
	                  !(in = malloc(m->nflows * sizeof *in)))) {
		free(out);
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < m->nflows; i++)
		if (m->flows[i].done) {
			out[nout++] = m->flows[i].id;
			in[nin++] = m->flows[i].id;
			m->nflows_kind[m->flows[i].kind]++;
			m->flows[k++] = m->flows[i];
		}
	m->nflows = k;
	if (nout) {
		qsort(out, nout, sizeof *out, cmp_u64);
		qsort(in, nin, sizeof *in, cmp_u64);
	}
	for (size_t i = 0; i < m->ngs; i++) {
		tr_gor *g = m->gs[i];

		for (size_t j = 0; j < g->nspans; j++) {
			if (!has_id(out, nout, g->spans[j].bind_out))
				g->spans[j].bind_out = 0;
			if (!has_id(in, nin, g->spans[j].bind_in))
				g->spans[j].bind_in = 0;
		}
		for (size_t j = 0; j < g->nops; j++) {
			if (!has_id(out, nout, g->ops[j].bind_out))
				g->ops[j].bind_out = 0;
			if (!has_id(in, nin, g->ops[j].bind_in))
				g->ops[j].bind_in = 0;
		}
	}
	free(out);
	free(in);
}

static void add_reason(builder *b, tr_gor *g, const char *reason, int64_t ns)
{
	size_t cap;

	reason = reason ? reason : "blocked";
	for (int i = 0; i < g->nblocked; i++)
		if (strcmp(g->blocked[i].reason, reason) == 0) {
			g->blocked[i].ns += ns;
			return;
		}
	cap = (size_t)g->nblocked;
	if (!GROW(b, g->blocked, cap, cap + 1))
		return;
	g->blocked[g->nblocked].reason = reason;
	g->blocked[g->nblocked++].ns = ns;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "?";
}

/* Close what is still open at the end, name the goroutines, add up. */
static void finish_gors(builder *b)
{
	trace_model *m = b->m;

	for (size_t id = 0; id < b->cap_id; id++) {
		tr_gor *g = b->by_id[id];

		if (!g)
			continue;
		if (g->state != GS_DEAD && g->state != GS_NONE) {
			tr_span *s = close_state(b, g, g->last > m->end ? g->last : m->end);

			if (s) {
				s->open = true;
				if (s->kind == TR_BLOCKED && g->wait_flow)
					value_from_span(b, g, s, g->wait_flow);
			}
		}
		if (g->fn)
			snprintf(g->name, sizeof g->name, "G%llu %s", (unsigned long long)g->id, g->fn);
		else if (g->id == 1 && !g->parent)
			snprintf(g->name, sizeof g->name, "G1 main (%s)", base_name(m->script));
		else
			snprintf(g->name, sizeof g->name, "G%llu", (unsigned long long)g->id);
		for (size_t j = 0; j < g->nspans; j++) {
			tr_span *s = &g->spans[j];
			int64_t d = s->end - s->start;

			if (s->end > m->end)
				m->end = s->end;
			if (s->kind == TR_RUN)
				g->t_run += d;
			else if (s->kind == TR_RUNNABLE)
				g->t_runnable += d;
			else {
				g->t_blocked += d;
				add_reason(b, g, s->reason, d);
			}
		}
	}
}

static void gor_free(tr_gor *g)
{
	free(g->spans);
	free(g->ops);
	free(g->blocked);
	free(g->pending);
	free(g);
}

trace_model *trace_model_build(trace_rec **ev, size_t n, bool cut,
                               const trace_run_info *info)
{
	builder b = { 0 };
	trace_model *m = calloc(1, sizeof *m);
	size_t ngs = 0;

	if (!m)
		return NULL;
	b.m = m;
	m->script = info->script;
	m->deterministic = info->deterministic;
	m->seed = info->seed;
	m->status = info->status;
	m->why = info->why;
	m->cut = cut;
	m->nevents = n;
	b.t0 = n ? ev[0]->ts : 0;
	for (size_t i = 0; i < n && !b.oom; i++)
		on_event(&b, ev[i]);
	finish_gors(&b);
	/* every goroutine into m->gs, so that trace_model_free finds them */
	if (b.cap_id && !(m->gs = calloc(b.cap_id, sizeof *m->gs)))
		b.oom = true;
	for (size_t id = 0; id < b.cap_id; id++)
		if (b.by_id[id]) {
			if (m->gs)
				m->gs[ngs++] = b.by_id[id];
			else
				gor_free(b.by_id[id]);   /* out of memory */
		}
	m->ngs = ngs;
	if (!b.oom)
		finish_flows(&b);
	if (!b.oom && info->why && strcmp(info->why, "deadlock") == 0)
		add_mark(&b, NULL, m->end, "deadlock", "all goroutines are asleep", 0);
	free(b.by_id);
	free(b.cmap);
	free(b.vflow);
	if (b.oom) {
		trace_model_free(m);
		return NULL;
	}
	return m;
}

void trace_model_free(trace_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ngs; i++)
		gor_free(m->gs[i]);
	free(m->gs);
	free(m->chans);
	free(m->flows);
	free(m->marks);
	free(m);
}

const char *trace_op_label(const trace_model *m, const tr_op *op, char *buf, size_t size)
{
	const char *chan = op->chan ? m->chans[op->chan - 1].name : "";
	char id[24];

	switch (op->op) {
	case CHL_OP_SEND:
		snprintf(buf, size, "%s %.*s", strstr(op->what, "try") ? "trysend" : "send",
		         (int)strcspn(chan, " "), chan);
		break;
	case CHL_OP_RECV:
		snprintf(buf, size, "%s %.*s", strstr(op->what, "try") ? "tryrecv" : "recv",
		         (int)strcspn(chan, " "), chan);
		break;
	case CHL_OP_CLOSE:
		snprintf(buf, size, "close %.*s", (int)strcspn(chan, " "), chan);
		break;
	case CHL_OP_SELECT:
		if (op->aux == 0)
			snprintf(buf, size, "select: default");
		else
			snprintf(buf, size, "select: %s %.*s (case %lld)",
			         strcmp(op->what, "select send") == 0 ? "send" : "recv",
			         (int)strcspn(chan, " "), chan, (long long)op->aux);
		break;
	case CHL_OP_CANCEL:
		snprintf(buf, size, "cancel");
		break;
	default:
		if (op->count > 1 && op->mixed) {
			snprintf(buf, size, "%lld operations", (long long)op->count);
		} else if (op->count > 1) {
			snprintf(buf, size, "%s \xc3\x97%lld", op->what, (long long)op->count);
		} else if (is_go(op->what) && op->to_g) {
			snprintf(id, sizeof id, "G%llu", (unsigned long long)op->to_g);
			snprintf(buf, size, "%s %s", op->what, id);
		} else {
			snprintf(buf, size, "%s", op->what ? op->what : "?");
		}
	}
	return buf;
}
