/*
 * record.h - the trace's recorder: a hook sink (core/hook.h) that copies
 * each event into a buffer of the thread that emitted it.
 *
 * A buffer is a chain of fixed chunks, one chain per thread, registered
 * once in a global list (the only lock, taken the first time a thread
 * records).  Only the owning thread appends; it publishes each event with
 * a release store of its chunk's count, so the reader - at exit, on any
 * thread, while other threads may still be recording - sees every
 * published event whole and nothing half-written.  Chunks never move and
 * are never freed: they are read when the process is ending.
 *
 * Cost of an event: a copy of it and of its two texts (where, detail),
 * no lock - the hook calls sinks under primitives' locks.  The next chunk
 * is allocated ahead, by an event that comes without a lock (not READY,
 * WAIT, PARK or MAKE), so that those that may hold one only copy.  Past the
 * event budget recording stops (the trace says it was cut short).
 *
 * Times: chl_now() in nanoseconds; in a deterministic run, where the
 * virtual clock stands still while goroutines run, a logical clock
 * instead: each event 1 us after the one before, or at the virtual time
 * if that is later (a sleep shows its virtual length), so the same seed
 * gives the same times.
 */
#ifndef CHL_TRACE_RECORD_H
#define CHL_TRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One recorded event: chl_event's fields, its texts copied. */
typedef struct trace_rec {
	int64_t ts;                /* ns (see above) */
	uint64_t g, peer, flow;
	const void *obj;           /* an identity only: never dereferenced */
	const char *what;          /* static text */
	const char *where, *detail;/* copies in the chunk, or NULL */
	int64_t a, b, aux;
	uint32_t seq;              /* its place in its thread's stream */
	uint16_t op;               /* chl_op */
	int16_t worker;            /* -1: not a worker thread */
	uint16_t thread;           /* the recording thread (0: the first to record) */
} trace_rec;

/* Install the sink (before any goroutine runs).  logical: a deterministic
 * run's clock (above); max_events: the budget. */
void trace_record_start(bool logical, size_t max_events);

/* Stop recording (any thread; events in progress may still land). */
void trace_record_stop(void);

/* Every published event sorted by time, then thread, then order: a
 * malloc'd array (*n entries; NULL when empty or out of memory).
 * *cut: the budget ran out.  Call after trace_record_stop. */
trace_rec **trace_record_collect(size_t *n, bool *cut);

#endif
