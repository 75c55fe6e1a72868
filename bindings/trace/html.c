/*
 * html.c - the HTML timeline (html.h): the page is timeline.html, carried
 * in the program as a C string, with the model written as JSON where the
 * page says DATA.
 */
#include <inttypes.h>
#include <string.h>

#include "hook.h"
#include "trace/html.h"
#include "trace/jsonout.h"
#include "timeline_html.h"

#define DATA_MARK "/*@DATA@*/"

static void key_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, ",\"%s\":", key);
	json_str(f, v);
}

static void span(FILE *f, const tr_span *s)
{
	fprintf(f, "[%" PRId64 ",%" PRId64 ",%d,", s->start, s->end, s->kind);
	json_str(f, s->kind == TR_RUN ? NULL : s->reason);
	putc_unlocked(',', f);
	json_str(f, s->where);
	fprintf(f, ",%d,%d,%" PRIu64 ",%d]", s->chan, s->open, s->by,
	        s->kind == TR_RUN ? s->worker : -1);
}

static void op(FILE *f, const trace_model *m, const tr_op *p)
{
	char label[96];

	fprintf(f, "[%" PRId64 ",", p->ts);
	json_str(f, trace_op_label(m, p, label, sizeof label));
	putc_unlocked(',', f);
	json_str(f, p->where);
	putc_unlocked(',', f);
	json_str(f, p->detail);
	fprintf(f, ",%d,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]", p->chan, p->op,
	        p->len, p->cap, p->end, p->count);
}

static void goroutine(FILE *f, const trace_model *m, const tr_gor *g)
{
	fprintf(f, "{\"id\":%" PRIu64, g->id);
	key_str(f, "name", g->name);
	key_str(f, "fn", g->fn);
	key_str(f, "created", g->created);
	key_str(f, "panic", g->panic);
	fprintf(f, ",\"parent\":%" PRIu64 ",\"start\":%" PRId64 ",\"end\":%" PRId64
	        ",\"run\":%" PRId64 ",\"runnable\":%" PRId64 ",\"blocked\":%" PRId64 ",\"by\":{",
	        g->parent, g->start, g->end, g->t_run, g->t_runnable, g->t_blocked);
	for (int i = 0; i < g->nblocked; i++) {
		if (i)
			putc_unlocked(',', f);
		json_str(f, g->blocked[i].reason);
		fprintf(f, ":%" PRId64, g->blocked[i].ns);
	}
	fputs_unlocked("},\n\"sp\":[", f);
	for (size_t i = 0; i < g->nspans; i++) {
		if (i)
			putc_unlocked(',', f);
		span(f, &g->spans[i]);
	}
	fputs_unlocked("],\n\"op\":[", f);
	for (size_t i = 0; i < g->nops; i++) {
		if (i)
			putc_unlocked(',', f);
		op(f, m, &g->ops[i]);
	}
	fputs_unlocked("]}", f);
}

static void data(FILE *f, const trace_model *m)
{
	fputs_unlocked("{\"producer\":\"chanlab " CHANLAB_VERSION "\"", f);
	key_str(f, "script", m->script);
	fprintf(f, ",\"end\":%" PRId64 ",\"det\":%s,\"seed\":%" PRIu64 ",\"status\":%d",
	        m->end, m->deterministic ? "true" : "false", m->seed, m->status);
	key_str(f, "why", m->why);
	fprintf(f, ",\"cut\":%s,\"events\":%zu,\"workers\":%d,\n\"gs\":[",
	        m->cut ? "true" : "false", m->nevents, m->nworkers);
	for (size_t i = 0; i < m->ngs; i++) {
		if (i)
			fputs_unlocked(",\n", f);
		goroutine(f, m, m->gs[i]);
	}
	fputs_unlocked("],\n\"chans\":[", f);
	for (int i = 0; i < m->nchans; i++) {
		const tr_chan *c = &m->chans[i];

		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_str(f, c->name);
		fprintf(f, ",\"cap\":%" PRId64 ",\"sends\":%" PRId64 ",\"recvs\":%" PRId64
		        ",\"waits\":%" PRId64 ",\"wait\":%" PRId64 ",\"max\":%" PRId64,
		        c->cap, c->sends, c->recvs, c->waits, c->wait_ns, c->wait_max);
		key_str(f, "at", c->wait_max_where);
		putc_unlocked('}', f);
	}
	fputs_unlocked("],\n\"flows\":[", f);
	for (size_t i = 0; i < m->nflows; i++) {
		const tr_flow *w = &m->flows[i];

		fprintf(f, "%s[%d,%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 ",", i ? ",\n" : "",
		        w->kind, w->from_g, w->from_ts, w->to_g, w->to_ts);
		json_str(f, w->label);
		fprintf(f, ",%d]", w->chan);
	}
	fputs_unlocked("],\n\"marks\":[", f);
	for (size_t i = 0; i < m->nmarks; i++) {
		const tr_mark *k = &m->marks[i];

		fprintf(f, "%s[%" PRId64 ",", i ? "," : "", k->ts);
		json_str(f, k->name);
		putc_unlocked(',', f);
		json_str(f, k->detail);
		fprintf(f, ",%" PRIu64 "]", k->g);
	}
	fputs_unlocked("]}", f);
}

int trace_write_html(FILE *f, const trace_model *m)
{
	const char *page = chl_timeline_html;
	const char *mark = strstr(page, DATA_MARK);

	if (!mark)
		return -1;
	fwrite_unlocked(page, 1, (size_t)(mark - page), f);
	data(f, m);
	fputs_unlocked(mark + strlen(DATA_MARK), f);
	return ferror(f) ? -1 : 0;
}
