/*
 * record.c - the recorder (record.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "trace/record.h"

#define CHUNK_EVENTS 1024
#define CHUNK_TEXT (32 * 1024)
#define TEXT_MAX 127               /* longer texts are cut */

typedef struct chunk {
	_Atomic(struct chunk *) next;  /* set once, by the owner (release) */
	_Atomic uint32_t n;            /* events published (release, owner) */
	size_t text_used;              /* owner only */
	trace_rec ev[CHUNK_EVENTS];
	char text[CHUNK_TEXT];
} chunk;

typedef struct tbuf {
	struct tbuf *next;             /* list_mu */
	chunk *head;                   /* set before the buffer is listed */
	chunk *tail;                   /* owner only */
	chunk *spare;                  /* owner only: the next chunk, made early */
	uint32_t seq;                  /* owner only */
	uint16_t thread;
	bool full;                     /* owner only: out of budget or memory */
} tbuf;

static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static tbuf *bufs;                 /* list_mu; newest first */
static int nbufs;                  /* list_mu */

static _Thread_local tbuf *mine;
static atomic_bool stopped;
static atomic_bool cut;
static _Atomic long chunks_left;   /* the budget, in chunks */
static bool logical;
static _Atomic int64_t logical_last;

/* A new chunk from the budget, or NULL (cut short). */
static chunk *chunk_new(void)
{
	chunk *c;

	if (atomic_fetch_sub(&chunks_left, 1) <= 0 || !(c = malloc(sizeof *c))) {
		atomic_store(&cut, true);
		return NULL;
	}
	atomic_init(&c->next, NULL);
	atomic_init(&c->n, 0);
	c->text_used = 0;
	return c;
}

/* This thread's buffer, made and listed on its first event. */
static tbuf *my_buf(void)
{
	tbuf *b = calloc(1, sizeof *b);

	if (!b)
		return NULL;
	b->head = b->tail = chunk_new();
	if (!b->head) {
		free(b);
		return NULL;
	}
	pthread_mutex_lock(&list_mu);
	b->thread = (uint16_t)nbufs++;
	b->next = bufs;
	bufs = b;
	pthread_mutex_unlock(&list_mu);
	mine = b;
	return b;
}

/* The logical time of an event at virtual time vt (record.h). */
static int64_t logical_ts(int64_t vt)
{
	int64_t last = atomic_load(&logical_last), ts;

	do
		ts = last + 1000 > vt ? last + 1000 : vt;
	while (!atomic_compare_exchange_weak(&logical_last, &last, ts));
	return ts;
}

/* Copy s into c's text (room was checked). */
static const char *keep(chunk *c, const char *s, size_t len)
{
	char *p = c->text + c->text_used;

	memcpy(p, s, len);
	p[len] = '\0';
	c->text_used += len + 1;
	return p;
}

/* Events that may come with a primitive's lock held (hook.h): no malloc
 * for them if it can be helped - the others make the spare chunk early. */
static bool under_lock(chl_op op)
{
	return op == CHL_OP_READY || op == CHL_OP_WAIT || op == CHL_OP_PARK || op == CHL_OP_MAKE;
}

static void sink(const chl_event *ev, void *ud)
{
	tbuf *b = mine;
	chunk *c;
	trace_rec *r;
	size_t wlen, dlen;
	uint32_t n;

	(void)ud;
	if (atomic_load_explicit(&stopped, memory_order_relaxed))
		return;
	if (!b && !(b = my_buf()))
		return;
	if (b->full)
		return;
	wlen = ev->where ? strnlen(ev->where, TEXT_MAX) : 0;
	dlen = ev->detail ? strnlen(ev->detail, TEXT_MAX) : 0;
	c = b->tail;
	n = atomic_load_explicit(&c->n, memory_order_relaxed);
	if (!b->spare && !under_lock(ev->op) &&
	    (n > CHUNK_EVENTS / 2 || c->text_used > CHUNK_TEXT / 2))
		b->spare = chunk_new();
	if (n == CHUNK_EVENTS || c->text_used + wlen + dlen + 2 > CHUNK_TEXT) {
		chunk *next = b->spare ? b->spare : chunk_new();

		b->spare = NULL;
		if (!next) {
			b->full = true;
			return;
		}
		atomic_store_explicit(&c->next, next, memory_order_release);
		b->tail = c = next;
		n = 0;
	}
	r = &c->ev[n];
	r->ts = logical ? logical_ts(ev->ts) : ev->ts;
	r->g = ev->g;
	r->peer = ev->peer;
	r->flow = ev->flow;
	r->obj = ev->obj;
	r->what = ev->what;
	r->where = ev->where ? keep(c, ev->where, wlen) : NULL;
	r->detail = ev->detail ? keep(c, ev->detail, dlen) : NULL;
	r->a = ev->a;
	r->b = ev->b;
	r->aux = ev->aux;
	r->seq = b->seq++;
	r->op = (uint16_t)ev->op;
	r->worker = (int16_t)ev->worker;
	r->thread = b->thread;
	atomic_store_explicit(&c->n, n + 1, memory_order_release);
}

void trace_record_start(bool logical_clock, size_t max_events)
{
	logical = logical_clock;
	atomic_store(&chunks_left, (long)(max_events / CHUNK_EVENTS) + 1);
	chl_hook_add(sink, NULL);
}

void trace_record_stop(void)
{
	atomic_store(&stopped, true);
}

static int by_time(const void *x, const void *y)
{
	const trace_rec *a = *(trace_rec *const *)x, *b = *(trace_rec *const *)y;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->thread != b->thread)
		return a->thread < b->thread ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

trace_rec **trace_record_collect(size_t *count, bool *was_cut)
{
	trace_rec **all = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&list_mu);
	for (tbuf *b = bufs; b; b = b->next)
		for (chunk *c = b->head; c; c = atomic_load_explicit(&c->next, memory_order_acquire)) {
			uint32_t k = atomic_load_explicit(&c->n, memory_order_acquire);

			if (n + k > cap) {
				size_t ncap = cap ? 2 * cap : 4096;
				trace_rec **p;

				while (ncap < n + k)
					ncap *= 2;
				if (!(p = realloc(all, ncap * sizeof *p))) {
					pthread_mutex_unlock(&list_mu);
					free(all);
					*count = 0;
					return NULL;
				}
				all = p;
				cap = ncap;
			}
			for (uint32_t i = 0; i < k; i++)
				all[n++] = &c->ev[i];
		}
	pthread_mutex_unlock(&list_mu);
	if (n)
		qsort(all, n, sizeof *all, by_time);
	*count = n;
	*was_cut = atomic_load(&cut);
	return all;
}
