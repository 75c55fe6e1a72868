/*
 * chrome.c - the Chrome trace-event JSON (chrome.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "trace/chrome.h"
#include "trace/jsonout.h"

#define PID_PROGRAM 1
#define PID_RUNTIME 2
#define TID_WORKER  INT64_C(1000000000)
#define TID_THREAD  INT64_C(1100000000)

typedef struct out {
	FILE *f;
	const trace_model *m;
	bool first;                /* no event written yet */
} out;

/* Start an event object: the comma before it, ph, pid, tid, ts. */
static void ev_begin(out *o, char ph, int pid, int64_t tid, int64_t ts)
{
	fputs_unlocked(o->first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"", o->f);
	o->first = false;
	putc_unlocked(ph, o->f);
	fputs_unlocked(pid == PID_PROGRAM ? "\",\"pid\":1,\"tid\":" : "\",\"pid\":2,\"tid\":", o->f);
	json_int(o->f, tid);
	fputs_unlocked(",\"ts\":", o->f);
	json_us(o->f, ts);
}

static void meta(out *o, int pid, int64_t tid, const char *name, const char *value,
                 int64_t sort)
{
	fputs_unlocked(o->first ? "\n" : ",\n", o->f);
	o->first = false;
	fprintf(o->f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%" PRId64 ",\"name\":\"%s\",\"args\":{",
	        pid, tid, name);
	if (value) {
		fputs_unlocked("\"name\":", o->f);
		json_str(o->f, value);
	} else {
		fprintf(o->f, "\"sort_index\":%" PRId64, sort);
	}
	fputs_unlocked("}}", o->f);
}

static void arg_str(out *o, bool *first, const char *key, const char *v)
{
	if (!v)
		return;
	fputs_unlocked(*first ? "\"" : ",\"", o->f);
	fputs_unlocked(key, o->f);
	fputs_unlocked("\":", o->f);
	json_str(o->f, v);
	*first = false;
}

static void arg_int(out *o, bool *first, const char *key, int64_t v)
{
	fputs_unlocked(*first ? "\"" : ",\"", o->f);
	fputs_unlocked(key, o->f);
	fputs_unlocked("\":", o->f);
	json_int(o->f, v);
	*first = false;
}

/* The flow fields of a slice. */
static void binds(out *o, uint64_t out_id, uint64_t in_id)
{
	if (out_id || in_id) {
		fputs_unlocked(",\"bind_id\":", o->f);
		json_int(o->f, (int64_t)(out_id ? out_id : in_id));
		fputs_unlocked(out_id ? ",\"flow_out\":true" : ",\"flow_in\":true", o->f);
	}
}

static const char *chan_name(const trace_model *m, int chan)
{
	return chan ? m->chans[chan - 1].name : NULL;
}

static void span(out *o, const tr_gor *g, const tr_span *s)
{
	const trace_model *m = o->m;
	bool first = true;
	char why[64];

	ev_begin(o, 'X', PID_PROGRAM, (int64_t)g->id, s->start);
	fputs_unlocked(",\"dur\":", o->f);
	json_us(o->f, s->end - s->start);
	fputs_unlocked(",\"name\":", o->f);
	json_str(o->f, s->kind == TR_RUN ? "running" : s->kind == TR_RUNNABLE ? "runnable" :
	         s->reason ? s->reason : "blocked");
	fprintf(o->f, ",\"cat\":\"%s\"", s->kind == TR_RUN ? "running" :
	        s->kind == TR_RUNNABLE ? "runnable" : "blocked");
	/* One of the two: a slice carries one flow (chrome.h). */
	binds(o, s->bind_out, s->bind_out ? 0 : s->bind_in);
	fputs_unlocked(",\"args\":{", o->f);
	if (s->kind == TR_RUN) {
		arg_int(o, &first, "worker", s->worker);
	} else if (s->kind == TR_RUNNABLE) {
		if (s->reason && strcmp(s->reason, "preempted") == 0)
			snprintf(why, sizeof why, "preempted");
		else if (s->by)
			snprintf(why, sizeof why, "%s by G%" PRIu64, s->reason ? s->reason : "woken", s->by);
		else
			snprintf(why, sizeof why, "%s by the runtime", s->reason ? s->reason : "woken");
		arg_str(o, &first, "why", why);
	} else {
		arg_str(o, &first, "line", s->where);
		arg_str(o, &first, "chan", chan_name(m, s->chan));
	}
	if (s->open)
		arg_str(o, &first, "state", "still so when the trace ended");
	fputs_unlocked("}}", o->f);
}

static void instant(out *o, int pid, int64_t tid, int64_t ts, const char *name,
                    const char *k1, const char *v1, const char *k2, const char *v2)
{
	bool first = true;

	ev_begin(o, 'i', pid, tid, ts);
	fprintf(o->f, ",\"s\":\"%c\",\"name\":", tid ? 't' : 'g');
	json_str(o->f, name);
	fputs_unlocked(",\"cat\":\"event\",\"args\":{", o->f);
	arg_str(o, &first, k1, v1);
	if (k2)
		arg_str(o, &first, k2, v2);
	fputs_unlocked("}}", o->f);
}

static void op(out *o, const tr_gor *g, const tr_op *p)
{
	const trace_model *m = o->m;
	bool first = true;
	char label[96];

	trace_op_label(m, p, label, sizeof label);
	ev_begin(o, 'X', PID_PROGRAM, (int64_t)g->id, p->ts);
	fputs_unlocked(",\"dur\":", o->f);
	json_us(o->f, p->end - p->ts);
	fputs_unlocked(",\"name\":", o->f);
	json_str(o->f, label);
	fputs_unlocked(",\"cat\":\"op\"", o->f);
	binds(o, p->bind_out, p->bind_out ? 0 : p->bind_in);
	fputs_unlocked(",\"args\":{", o->f);
	arg_str(o, &first, p->count > 1 ? "first at" : "line", p->where);
	if (p->count > 1)
		arg_int(o, &first, "count", p->count);
	arg_str(o, &first, "chan", chan_name(m, p->chan));
	arg_str(o, &first, "value", p->detail);
	if (p->chan) {
		arg_int(o, &first, "len", p->len);
		arg_int(o, &first, "cap", p->cap);
	}
	if (p->op == CHL_OP_SELECT)
		arg_int(o, &first, "case", p->aux);
	if (p->op == CHL_OP_RECV || (p->op == CHL_OP_SELECT && p->what &&
	                             strcmp(p->what, "select receive") == 0))
		fprintf(o->f, "%s\"ok\":%s", first ? "" : ",", p->aux ? "true" : "false");
	fputs_unlocked("}}", o->f);
	if (p->op == CHL_OP_CLOSE || p->op == CHL_OP_CANCEL)
		instant(o, PID_PROGRAM, (int64_t)g->id, p->ts, label, "line", p->where, NULL, NULL);
	if (p->chan && p->cap > 0 && p->op != CHL_OP_CLOSE) {
		ev_begin(o, 'C', PID_PROGRAM, PID_PROGRAM, p->ts);
		fputs_unlocked(",\"name\":", o->f);
		json_str(o->f, chan_name(m, p->chan));
		fprintf(o->f, ",\"args\":{\"len\":%" PRId64 "}}", p->len);
	}
}

static void goroutine(out *o, const tr_gor *g)
{
	char by[32];

	for (size_t i = 0; i < g->nspans; i++)
		span(o, g, &g->spans[i]);
	for (size_t i = 0; i < g->nops; i++)
		op(o, g, &g->ops[i]);
	snprintf(by, sizeof by, "G%" PRIu64, g->parent);
	instant(o, PID_PROGRAM, (int64_t)g->id, g->start, "spawn",
	        "by", g->parent ? by : "the program", "line", g->created);
	if (g->end >= 0)
		instant(o, PID_PROGRAM, (int64_t)g->id, g->end, "exit", NULL, NULL, NULL, NULL);
}

/* ---- the workers' tracks ---- */

typedef struct wspan {
	int64_t start, end;
	const tr_gor *g;
	int worker;
} wspan;

static int by_worker_start(const void *x, const void *y)
{
	const wspan *a = x, *b = y;

	if (a->worker != b->worker)
		return a->worker - b->worker;
	return (a->start > b->start) - (a->start < b->start);
}

/* Each running span again on its worker's track; a worker's spans are
 * made back to back where moving a goroutine's ties apart made them
 * overlap by a nanosecond. */
static void workers(out *o)
{
	const trace_model *m = o->m;
	wspan *w = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < m->ngs; i++)
		for (size_t j = 0; j < m->gs[i]->nspans; j++) {
			const tr_span *s = &m->gs[i]->spans[j];

			if (s->kind != TR_RUN || s->worker < 0)
				continue;
			if (n == cap) {
				wspan *p = realloc(w, (cap = cap ? 2 * cap : 256) * sizeof *w);

				if (!p) {
					free(w);
					return;
				}
				w = p;
			}
			w[n++] = (wspan){ s->start, s->end, m->gs[i], s->worker };
		}
	if (n)
		qsort(w, n, sizeof *w, by_worker_start);
	for (size_t i = 0; i < n; i++) {
		int64_t start = w[i].start;

		if (i > 0 && w[i - 1].worker == w[i].worker && start < w[i - 1].end)
			start = w[i - 1].end;
		if (start > w[i].end)
			start = w[i].end;
		w[i].start = start;
		ev_begin(o, 'X', PID_RUNTIME, TID_WORKER + w[i].worker, start);
		fputs_unlocked(",\"dur\":", o->f);
		json_us(o->f, w[i].end - start);
		fputs_unlocked(",\"name\":", o->f);
		json_str(o->f, w[i].g->name);
		fprintf(o->f, ",\"cat\":\"running\",\"args\":{\"goroutine\":%" PRIu64 "}}", w[i].g->id);
	}
	free(w);
}

static void marks(out *o)
{
	const trace_model *m = o->m;
	char end[96];

	for (size_t i = 0; i < m->nmarks; i++) {
		const tr_mark *k = &m->marks[i];

		if (k->g)
			instant(o, PID_PROGRAM, (int64_t)k->g, k->ts, k->name, "message", k->detail,
			        NULL, NULL);
		else if (k->worker >= 0)
			instant(o, PID_RUNTIME, TID_WORKER + k->worker, k->ts, k->name, "detail",
			        k->detail, NULL, NULL);
		else if (k->thread >= 0)
			instant(o, PID_RUNTIME, TID_THREAD + k->thread, k->ts, k->name, "detail",
			        k->detail, NULL, NULL);
		else
			instant(o, PID_PROGRAM, 0, k->ts, k->name, "detail", k->detail, NULL, NULL);
	}
	snprintf(end, sizeof end, "exit status %d%s%s%s", m->status, m->why ? " (" : "",
	         m->why ? m->why : "", m->why ? ")" : "");
	instant(o, PID_PROGRAM, 0, m->end, end, NULL, NULL, NULL, NULL);
}

static void metadata(out *o)
{
	const trace_model *m = o->m;
	char name[512];

	snprintf(name, sizeof name, "chanlab %s", m->script ? m->script : "");
	meta(o, PID_PROGRAM, PID_PROGRAM, "process_name", name, 0);
	meta(o, PID_PROGRAM, PID_PROGRAM, "process_sort_index", NULL, 1);
	for (size_t i = 0; i < m->ngs; i++) {
		meta(o, PID_PROGRAM, (int64_t)m->gs[i]->id, "thread_name", m->gs[i]->name, 0);
		meta(o, PID_PROGRAM, (int64_t)m->gs[i]->id, "thread_sort_index", NULL,
		     (int64_t)m->gs[i]->id);
	}
	meta(o, PID_RUNTIME, TID_WORKER, "process_name", "chanlab runtime threads", 0);
	meta(o, PID_RUNTIME, TID_WORKER, "process_sort_index", NULL, 2);
	for (int w = 0; w < m->nworkers; w++) {
		snprintf(name, sizeof name, "worker %d", w);
		meta(o, PID_RUNTIME, TID_WORKER + w, "thread_name", name, 0);
		meta(o, PID_RUNTIME, TID_WORKER + w, "thread_sort_index", NULL, w);
	}
	for (size_t i = 0; i < m->nmarks; i++)
		if (!m->marks[i].g && m->marks[i].worker < 0 && m->marks[i].thread >= 0) {
			snprintf(name, sizeof name, "thread %d (timers, signals)", m->marks[i].thread);
			meta(o, PID_RUNTIME, TID_THREAD + m->marks[i].thread, "thread_name", name, 0);
		}
}

int trace_write_chrome(FILE *f, const trace_model *m)
{
	out o = { f, m, true };

	fputs_unlocked("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"chanlab " CHANLAB_VERSION
	      "\",\"script\":", f);
	json_str(f, m->script);
	if (m->deterministic)
		fprintf(f, ",\"seed\":%" PRIu64, m->seed);
	fprintf(f, ",\"exit status\":%d,\"ended by\":", m->status);
	json_str(f, m->why ? m->why : "the main goroutine's return");
	fprintf(f, ",\"events\":%zu,\"cut short\":%s},\n\"traceEvents\":[", m->nevents,
	        m->cut ? "true" : "false");
	metadata(&o);
	for (size_t i = 0; i < m->ngs; i++)
		goroutine(&o, m->gs[i]);
	workers(&o);
	marks(&o);
	fputs_unlocked("\n]}\n", f);
	return ferror(f) ? -1 : 0;
}
