/*
 * model.h - what a trace shows, built from the recorded events
 * (record.h) once, at exit, for every output (chrome.h, html.h,
 * summary.h): per goroutine the spans of its life (running, waiting to
 * run, blocked with the reason and the script line) and its operations;
 * the channels; the arrows between goroutines.
 *
 * Arrows (flows), each matched exactly:
 *   value  a send to the receive that took that value: the sender stamps
 *          the value with a flow id (chl_lua_val.flow) that travels with
 *          it, and the receiver reports it back.  The arrow leaves the
 *          send, or the span the sender spent blocked offering the value
 *          (it ends when a receiver took it), and ends at the receive.
 *   close  a close to each goroutine it woke: the READY events the
 *          closer emitted during the close (hook.h: READY's g is the
 *          waker), to that goroutine's next running span.
 *   go     a go() (wg:go, errgroup's go) to the new goroutine's first
 *          running span: the SPAWN events emitted during the call.
 *   wake   another operation (unlock, done, cancel, ...) to each
 *          goroutine it woke, as for close.
 * An arrow whose two ends were not both recorded (the value was never
 * received, the run ended first) is not drawn.
 *
 * Times are nanoseconds from the first event.  On one goroutine every
 * event is at least 1 ns after the one before (ties on a coarse clock
 * are moved), so its operations fall strictly inside its running spans.
 */
#ifndef CHL_TRACE_MODEL_H
#define CHL_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/record.h"

enum { TR_RUN, TR_RUNNABLE, TR_BLOCKED };          /* span kinds */
enum { TF_VALUE, TF_CLOSE, TF_GO, TF_WAKE, TF_KINDS };  /* flow kinds */

typedef struct tr_span {
	int64_t start, end;
	int kind;
	int worker;                /* TR_RUN: the worker it ran on */
	const char *reason;        /* TR_BLOCKED: "chan receive"...; TR_RUNNABLE:
	                              "created", "woken", "preempted" */
	const char *where;         /* TR_BLOCKED: the script line, or NULL */
	int chan;                  /* TR_BLOCKED: the channel (1-based), or 0 */
	uint64_t by;               /* TR_RUNNABLE: the goroutine that made or
	                              woke it (0: the runtime) */
	uint64_t bind_out, bind_in;/* ids of the flows leaving / arriving, 0 */
	bool open;                 /* still going when the trace ended */
} tr_span;

/* An operation; a run of operations one goroutine made back to back in
 * one running span that neither wait, wake nor move a value (atomics,
 * unlocks waking no one, len, ...) is one tr_op with a count, so that a
 * tight loop of a million atomic adds is one slice, not a million. */
typedef struct tr_op {
	int64_t ts, end;           /* end: the last of a run (= ts when one) */
	int64_t count;             /* operations in the run, >= 1 */
	bool mixed;                /* the run has other operations than `what` */
	int op;                    /* chl_op */
	const char *what, *where, *detail;
	int chan;                  /* 1-based, or 0 */
	int64_t len, cap, aux;
	uint64_t bind_out, bind_in;/* ids of the flows leaving / arriving, 0 */
	uint64_t to_g;             /* go: the goroutine it made, or 0 */
	bool completes_block;      /* the operation the span before waited for */
} tr_op;

typedef struct tr_gor {
	uint64_t id;
	char name[112];            /* "G7 worker (lab.lua:12)" */
	const char *fn;            /* "worker (lab.lua:12)", or NULL */
	const char *created;       /* where go() was called, or NULL */
	uint64_t parent;           /* 0: none */
	int64_t start, end;        /* end: -1 when alive at the end */
	const char *panic;         /* its panic message, or NULL */
	tr_span *spans;            /* in time order, back to back */
	size_t nspans;
	tr_op *ops;                /* in time order */
	size_t nops;
	/* totals */
	int64_t t_run, t_runnable, t_blocked;
	struct tr_reason { const char *reason; int64_t ns; } *blocked;
	int nblocked;              /* reasons in blocked[] */
	/* private to model.c */
	size_t cap_spans, cap_ops;
	int state;
	int64_t since, last;
	int worker;
	const char *why;
	uint64_t by;
	const char *wait_what, *wait_where;
	uint64_t wait_flow;
	int block_span;            /* the span just ended by a wake, or -1 */
	bool after_block;          /* its first operation since that wake is to come */
	bool quiet_run;            /* its last op is a run (tr_op) that may grow */
	struct tr_pending { uint64_t g; int64_t ts; bool spawn; } *pending;
	int npending, cap_pending; /* READY and SPAWN since its last operation */
} tr_gor;

typedef struct tr_chan {
	int id;                    /* 1-based: chan#id */
	int64_t cap;
	char name[48];             /* "chan#3 cap=4" */
	int64_t sends, recvs;
	int64_t waits, wait_ns, wait_max;
	const char *wait_max_where;
} tr_chan;

typedef struct tr_flow {
	int kind;                  /* TF_* */
	uint64_t id;               /* in the trace file (a value's flow id; one
	                              id for all the arrows of a close or wake) */
	uint64_t from_g, to_g;
	int64_t from_ts, to_ts;    /* where the arrow leaves and arrives */
	const char *label;         /* the value, or NULL */
	int chan;                  /* 1-based, or 0 */
	bool from_span;            /* leaves a blocked span, not an operation */
	bool done;                 /* private to model.c: both ends known */
} tr_flow;

/* A mark at one moment: timer fires, a deadlock, the end. */
typedef struct tr_mark {
	int64_t ts;
	int worker;                /* its track: a worker, or -1 */
	int thread;                /* with worker -1: the recording thread */
	const char *name, *detail;
	uint64_t g;                /* with a goroutine: its track */
} tr_mark;

typedef struct trace_model {
	const char *script;        /* the program's name */
	bool deterministic;
	uint64_t seed;
	int status;                /* exit status */
	const char *why;           /* NULL, "panic", "deadlock", "SIGINT" ... */
	bool cut;                  /* the event budget ran out */
	size_t nevents;
	int64_t end;               /* the last event's time */
	int nworkers;              /* worker indexes seen: 0 .. nworkers-1 */
	int nthreads;
	tr_gor **gs;               /* by id order */
	size_t ngs;
	tr_chan *chans;
	int nchans;
	tr_flow *flows;
	size_t nflows;
	size_t nflows_kind[TF_KINDS];
	tr_mark *marks;
	size_t nmarks;
} trace_model;

/* What the model says about the run itself. */
typedef struct trace_run_info {
	const char *script;
	bool deterministic;
	uint64_t seed;
	int status;
	const char *why;
} trace_run_info;

/* Build the model of the n sorted events; NULL when out of memory.  The
 * texts of the events are used in place: keep them alive. */
trace_model *trace_model_build(trace_rec **ev, size_t n, bool cut,
                               const trace_run_info *info);

/* Free m (NULL is fine); the events it used stay. */
void trace_model_free(trace_model *m);

/* The label of an operation, e.g. "send chan#3", "select: recv chan#3
 * (case 2)", "go G7", "sync.Mutex.Lock", into buf. */
const char *trace_op_label(const trace_model *m, const tr_op *op, char *buf, size_t size);

#endif
