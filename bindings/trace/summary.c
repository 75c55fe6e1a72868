/*
 * summary.c - the text summary (summary.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace/summary.h"

/* At most this many goroutines and channels are listed: a program with
 * 100,000 goroutines wants the first ones and a count. */
#define MAX_GS 40
#define MAX_CHANS 8

const char *trace_fmt_ns(int64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%" PRId64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.2fs", (double)ns / 1e9);
	return buf;
}

static int by_wait(const void *x, const void *y)
{
	const tr_chan *a = *(tr_chan *const *)x, *b = *(tr_chan *const *)y;

	if (a->wait_ns != b->wait_ns)
		return a->wait_ns < b->wait_ns ? 1 : -1;
	return a->id - b->id;
}

static void goroutines(FILE *f, const trace_model *m)
{
	char a[16], b[16], c[16], d[16];
	size_t width = 9;

	for (size_t i = 0; i < m->ngs && i < MAX_GS; i++)
		if (strlen(m->gs[i]->name) > width)
			width = strlen(m->gs[i]->name);
	if (width > 48)
		width = 48;
	fprintf(f, "%-*s %9s %9s %9s  %s\n", (int)width, "goroutine", "running", "runnable",
	        "blocked", "blocked on");
	for (size_t i = 0; i < m->ngs && i < MAX_GS; i++) {
		const tr_gor *g = m->gs[i];

		fprintf(f, "%-*.*s %9s %9s %9s ", (int)width, (int)width, g->name,
		        trace_fmt_ns(g->t_run, a, sizeof a),
		        trace_fmt_ns(g->t_runnable, b, sizeof b),
		        trace_fmt_ns(g->t_blocked, c, sizeof c));
		for (int k = 0; k < g->nblocked; k++)
			fprintf(f, "%s %s %s", k ? "," : "", g->blocked[k].reason,
			        trace_fmt_ns(g->blocked[k].ns, d, sizeof d));
		if (g->panic)
			fprintf(f, " [panicked]");
		else if (g->end < 0 && g->nspans && g->spans[g->nspans - 1].kind == TR_BLOCKED)
			fprintf(f, " [still blocked: %s%s%s]", g->spans[g->nspans - 1].reason,
			        g->spans[g->nspans - 1].where ? " at " : "",
			        g->spans[g->nspans - 1].where ? g->spans[g->nspans - 1].where : "");
		fputc('\n', f);
	}
	if (m->ngs > MAX_GS)
		fprintf(f, "... and %zu more goroutines\n", m->ngs - MAX_GS);
}

static void channels(FILE *f, const trace_model *m)
{
	const tr_chan **cs;
	int n = 0;
	char a[16], b[16];

	if (!m->nchans || !(cs = malloc((size_t)m->nchans * sizeof *cs)))
		return;
	for (int i = 0; i < m->nchans; i++)
		if (m->chans[i].waits)
			cs[n++] = &m->chans[i];
	qsort(cs, (size_t)n, sizeof *cs, by_wait);
	if (n)
		fprintf(f, "channels with the longest waits:\n");
	for (int i = 0; i < n && i < MAX_CHANS; i++)
		fprintf(f, "  %-18s %9s in %" PRId64 " wait%s, longest %s%s%s (%" PRId64 " sent, %"
		        PRId64 " received)\n", cs[i]->name, trace_fmt_ns(cs[i]->wait_ns, a, sizeof a),
		        cs[i]->waits, cs[i]->waits == 1 ? "" : "s",
		        trace_fmt_ns(cs[i]->wait_max, b, sizeof b),
		        cs[i]->wait_max_where ? " at " : "",
		        cs[i]->wait_max_where ? cs[i]->wait_max_where : "",
		        cs[i]->sends, cs[i]->recvs);
	free(cs);
}

void trace_write_summary(FILE *f, const trace_model *m)
{
	char t[16];

	fprintf(f, "\ntrace summary: %zu goroutine%s, %s, %zu events%s\n", m->ngs,
	        m->ngs == 1 ? "" : "s", trace_fmt_ns(m->end, t, sizeof t), m->nevents,
	        m->cut ? " (cut short: the event budget ran out)" : "");
	goroutines(f, m);
	channels(f, m);
}
