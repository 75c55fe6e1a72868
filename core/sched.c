/*
 * sched.c - the M:N scheduler: workers, run queues, parking, deadlock
 * detection, preemption.  The interface and the lock order are in sched.h.
 *
 * Workers.  Each worker is a pthread with a local run queue (`q`, guarded
 * by its `mu`) and a `runnext` slot that only its own thread touches.
 * Only the owner ever *adds* to its local queue and runnext (tasks readied
 * or spawned by its running task); other workers only take from the queue
 * (steal half), never from runnext.  So a worker that finds its local
 * queue and runnext empty knows they stay empty until it runs a task.
 * The global queue (`gq`) and the idle list are guarded by the global lock
 * `s->mu`; tasks readied or spawned by other threads go there.
 *
 * Task states (t->state): RUNNABLE (on a queue or runnext) -> RUNNING (a
 * worker runs its step; exactly one: asserted) -> PARKING (step returned
 * PARK, the worker is inside chl_parker_commit) -> PARKED -> RUNNABLE
 * (ready).  A ready that comes during commit (a deadline already passed,
 * a context already cancelled, a waker quicker than commit's tail) moves
 * PARKING -> WOKEN and does not queue the task: the worker, once commit
 * has returned and it no longer touches the parker, sees WOKEN and queues
 * the task itself.  Any other ready (RUNNING, RUNNABLE, WOKEN) is a
 * second ready for one park, which the claim protocol excludes: asserted.
 *
 * Idle workers and wakeups.  `nactive` counts workers that are neither
 * asleep in the idle list nor blocked (chl_sched_block_enter); `nidle` the
 * sleepers.  Invariant (under s->mu): nactive + nidle >= procs, so when
 * fewer than procs workers are active there is a sleeper to wake: a block
 * that would break it starts a spare worker.  A worker wakes a sleeper
 * when it puts work on a queue that others may take (local queue beyond
 * runnext, global queue) and fewer than procs are active.  No lost
 * wakeup: the pusher stores the queue length and then loads nidle; a
 * worker about to sleep increments nidle and then loads every queue
 * length (all sequentially consistent): one of the two sees the other.
 * When nactive exceeds procs (a blocked worker came back), workers retire
 * to the idle list at their next schedule until it does not.
 *
 * Choosing the next task (find_work): runnext first (it continues the
 * current time slice), then the local queue, a batch from the global
 * queue, half of another worker's local queue, sleep.  Every FAIR_TICK
 * slices the global queue's head is moved behind the local queue, so the
 * global queue is never starved.  A yielding task goes to the global
 * tail, never to runnext.
 *
 * Deadlock detection: see the comment above deadlock_check().
 * Preemption: see the comment above monitor_main().
 * Blocking a worker (non-yieldable waits): see chl_sched_block_enter().
 *
 * Nothing here allocates per schedule: queues are intrusive (runq.h).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "decide.h"
#include "hook.h"
#include "lock.h"
#include "runq.h"
#include "sched.h"
#include "timer.h"

enum {
	T_NONE,        /* not spawned, or finished */
	T_RUNNABLE,    /* on a run queue or in a runnext slot */
	T_RUNNING,     /* its step runs on a worker */
	T_PARKING,     /* step returned PARK; the worker is committing */
	T_PARKED,      /* waiting for its one ready */
	T_WOKEN,       /* readied while PARKING; the worker will queue it */
};

enum {
	BLK_RUNNING,   /* block_enter done, the parker's lock not yet dropped */
	BLK_PARKED,    /* lock dropped: counted as parked */
	BLK_WOKEN,     /* readied */
};

#define GLOBAL_BATCH 64        /* most tasks taken from the global queue at once */
#define FAIR_TICK 61           /* check the global queue every so many schedules */
#define MAX_SPARES 256         /* spare workers made for blocked ones, at most */
#define SLICE_NS (10 * 1000 * 1000)          /* preemption time slice */
#define POLL_MIN_NS (10 * 1000 * 1000)       /* deadlock poll when all idle */
#define POLL_MAX_NS (1000 * 1000 * 1000)

/* The nrun word: runnable-or-running count in the low 32 bits, a
 * generation bumped by every increment in the high 32 bits. */
#define RUN_ONE UINT64_C(1)
#define RUN_GEN (UINT64_C(1) << 32)
#define RUN_COUNT(v) ((uint32_t)(v))

struct worker;

/* The wrapping of a blocked task's thread parker (block_enter). */
typedef struct block_rec {
	chl_parker *parker;            /* wrapped parker, NULL when none; owner
	                                  writes, blk_ready reads under blk_mu */
	void (*ready)(chl_parker *p);  /* the parker's own ready; set before the
	                                  parker is reachable */
	chl_unlock_fn unlock;          /* the primitive's unlock that ours calls */
	void *unlock_arg;
	atomic_int state;              /* BLK_* */
	struct worker *next;           /* in blk_list; blk_mu */
} block_rec;

struct worker {
	chl_sched *s;
	int id;
	pthread_t thread;
	/* the owner's, touched on every schedule */
	chl_task *runnext;             /* owner only */
	unsigned tick;                 /* owner only: time slices begun, for
	                                  FAIR_TICK and the monitor */
	uint32_t rng;                  /* owner only: steal victim choice */
	uint64_t last_id;              /* owner only: the task it ran last, if
	                                  still runnable (det's "continue") */
	chl_task *det_next;            /* owner only: chosen by a decision
	                                  point of the running task, runs next */
	bool blocked;                  /* owner only: in block_enter..leave */
	atomic_int has_next;           /* hint runnext != NULL, for the monitor */
	atomic_int blocked_hint;       /* `blocked`, for the monitor */
	atomic_uint run_word;          /* tick << 1 | a step runs now (monitor,
	                                  handler); written by the owner */
	atomic_uint preempt_word;      /* run_word the monitor asked to preempt */
	/* the local queue */
	pthread_mutex_t mu;            /* guards q */
	chl_runq q;
	/* idle: s->mu */
	pthread_cond_t cv;
	bool wakeup;
	struct worker *idle_next;
	/* the monitor's */
	unsigned mon_word;             /* run_word at its last look */
	block_rec blk;
};

struct chl_sched {
	chl_sched_config cfg;
	int procs;
	bool detect;                   /* cfg.detect_deadlock */
	bool preempt_on;               /* cfg.on_preempt != NULL */
	bool det;                      /* a deterministic run (decide.h): one
	                                  worker, every runnable task on gq,
	                                  the next one chosen by chl_decide_task */
	/* workers: slots written under mu before nworkers is raised (release) */
	struct worker **w;
	int cap;
	atomic_int nworkers;
	/* the global lock */
	pthread_mutex_t mu;
	chl_runq gq;                   /* mu */
	struct worker *idle;           /* mu: sleeping workers */
	atomic_int nidle;              /* written under mu */
	atomic_int nspinning;          /* workers looking for work before
	                                  sleeping (0 or 1); see spin_for_work */
	atomic_int nactive;            /* written under mu */
	atomic_bool stop;              /* written under mu */
	pthread_cond_t mon_cv;         /* the monitor sleeps here (mu) */
	bool mon_sleeping;             /* mu: waits without timeout */
	pthread_t monitor;
	bool monitor_started;
	/* tasks */
	pthread_mutex_t all_mu;
	pthread_cond_t idle_cv;        /* all_mu: live reached 0 */
	chl_task *all;                 /* all_mu: live tasks */
	atomic_llong live;
	atomic_ullong next_id;
	/* deadlock detection */
	atomic_ullong nrun;            /* see RUN_* */
	atomic_int nexternal;
	atomic_bool deadlocked;        /* on_deadlock called */
	/* stopping the world (chl_sched_stop_world) */
	atomic_bool world_stop;        /* written under mu; read without it by
	                                  workers before each step */
	int world_acked;               /* mu: active workers held at the gate */
	pthread_cond_t world_cv;       /* mu: the stopper waits for acks */
	pthread_cond_t world_go_cv;    /* mu: held workers wait for the start */
	/* stats */
	atomic_ullong preempts, steals;
};

/* The worker this thread is (NULL elsewhere) and the task it runs (NULL
 * between steps).  Atomic so that the SIGURG handler reads them whole. */
static _Thread_local struct worker *_Atomic tls_worker;
static _Thread_local chl_task *_Atomic tls_task;

/* Blocked workers whose parker is wrapped, for blk_ready's lookup. */
static pthread_mutex_t blk_mu = PTHREAD_MUTEX_INITIALIZER;
static struct worker *blk_list;

static void run_task(struct worker *w, chl_task *t, bool inherit);
static void world_changed(chl_sched *s);
static void world_gate(chl_sched *s);

/* ---- deadlock detection ---- */

/* chl_sched_wake_source_add's count: process-wide, like the timer heap
 * (see sched.h).  RMWs with release, read with acquire. */
static atomic_int wake_sources;

void chl_sched_wake_source_add(int delta)
{
	atomic_fetch_add_explicit(&wake_sources, delta, memory_order_release);
}

int chl_sched_wake_sources(void)
{
	return atomic_load_explicit(&wake_sources, memory_order_acquire);
}

static inline void run_inc(chl_sched *s)
{
	if (s->detect)
		atomic_fetch_add(&s->nrun, RUN_ONE | RUN_GEN);
}

/*
 * Called when the runnable count has just become 0 (v: the nrun word we
 * left) or when nothing ran for a while (the monitor).  Declares a
 * deadlock when tasks are live, no external thread is registered, no
 * timer is pending, no wake source is counted (a signal registration) -
 * and nrun is still exactly v.
 *
 * Why no false report, even when a wake races with the check: every
 * ready increments nrun (bumping the generation) *before* the readied task
 * can run, and while the ready is being made its maker is itself counted
 * by one of the conditions: a running task is in nrun until it parks,
 * after its readies; a timer callback is pending until it returns (the
 * timer heap counts the callback in flight, and publishes the decrement
 * with release, which our acquire load pairs with); a signal dispatcher
 * is covered by the wake source its registration counts (signal.c drops
 * it, with release, only under the registry lock the dispatcher delivers
 * under, and the unregistering party - counted itself - waits for a
 * context cancellation in flight); an external thread by its
 * registration.  So if a condition reads "nobody" and nrun is still v
 * afterwards, nobody readied anything between our decrement and the
 * final load (the generation would differ), and nobody can any more:
 * every party that could has been seen absent.  Example: the last task
 * parks with a deadline; the timer fires just as we decrement.  Either
 * we read pending > 0 (callback not done), or the callback is done and
 * its ready bumped nrun before pending dropped, so the final compare
 * fails.  A task readied and re-parked meanwhile (count back to 0) also
 * fails it: the generation moved on.  (2^32 increments within one check
 * would be needed to fool it.)
 */
static void deadlock_check(chl_sched *s, uint64_t v)
{
	if (atomic_load(&s->live) == 0)
		return;
	if (atomic_load(&s->nexternal) > 0)
		return;
	if (chl_timers_pending() > 0)
		return;
	if (chl_sched_wake_sources() > 0)
		return;
	if (atomic_load(&s->nrun) != v)
		return;
	if (atomic_exchange(&s->deadlocked, true))
		return;
	if (s->cfg.on_deadlock)
		s->cfg.on_deadlock(s, s->cfg.ud);
}

/* A task stopped counting (parked, blocked, finished).  Call with no lock
 * held: it may run the check and call on_deadlock. */
static inline void run_dec(chl_sched *s)
{
	uint64_t old;

	if (!s->detect)
		return;
	old = atomic_fetch_sub(&s->nrun, RUN_ONE);
	chl_assert(RUN_COUNT(old) > 0);
	if (RUN_COUNT(old) == 1)
		deadlock_check(s, old - RUN_ONE);
}

static void deadlock_poll(chl_sched *s)
{
	uint64_t v = atomic_load(&s->nrun);

	if (s->detect && RUN_COUNT(v) == 0)
		deadlock_check(s, v);
}

/* ---- idle workers ---- */

/* Wake one sleeper if fewer than procs workers are active.  s->mu held. */
static bool wake_one_locked(chl_sched *s)
{
	struct worker *w = s->idle;

	if (!w || atomic_load(&s->nactive) >= s->procs)
		return false;
	s->idle = w->idle_next;
	w->idle_next = NULL;
	atomic_fetch_sub(&s->nidle, 1);
	atomic_fetch_add(&s->nactive, 1);
	w->wakeup = true;
	pthread_cond_signal(&w->cv);
	if (s->mon_sleeping)
		pthread_cond_signal(&s->mon_cv);
	return true;
}

/* Work was just put where other workers may take it.  No lock held.
 * A spinning worker will take it: no sleeper is woken then.  (If the
 * spinner gives up at this very moment, it stores nspinning = 0 before
 * idle_sleep looks at the queues, and we stored the queue before loading
 * nspinning: one of us sees the other.) */
static void wake_idle(chl_sched *s)
{
	if (atomic_load(&s->nidle) == 0 || atomic_load(&s->nspinning) > 0)
		return;
	pthread_mutex_lock(&s->mu);
	wake_one_locked(s);
	pthread_mutex_unlock(&s->mu);
}

/* Is there work another worker could take?  s->mu held (exact for the
 * global queue; the local lengths pair with the pushers' wake_idle). */
static bool work_visible(chl_sched *s, struct worker *self)
{
	int i, n = atomic_load_explicit(&s->nworkers, memory_order_acquire);

	if (chl_runq_len(&s->gq) > 0)
		return true;
	for (i = 0; i < n; i++) {
		struct worker *v = s->w[i];
		if (v != self && chl_runq_len(&v->q) > 0)
			return true;
	}
	return false;
}

static void idle_remove(chl_sched *s, struct worker *w)
{
	struct worker **pp;

	for (pp = &s->idle; *pp; pp = &(*pp)->idle_next) {
		if (*pp == w) {
			*pp = w->idle_next;
			w->idle_next = NULL;
			return;
		}
	}
}

/* Sleep until woken (or stopped).  retire: leaving because too many are
 * active; the caller has handed its local tasks to the global queue.
 * Takes and drops s->mu. */
static void idle_sleep(struct worker *w, bool retire)
{
	chl_sched *s = w->s;
	int was;

	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->stop)) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (retire && atomic_load(&s->nactive) <= s->procs)
		retire = false;
	was = atomic_fetch_sub(&s->nactive, 1);
	chl_assert(was > 0);
	w->wakeup = false;
	w->idle_next = s->idle;
	s->idle = w;
	atomic_fetch_add(&s->nidle, 1);
	if (!retire && work_visible(s, w)) {
		idle_remove(s, w);
		atomic_fetch_sub(&s->nidle, 1);
		atomic_fetch_add(&s->nactive, 1);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	/* Everyone asleep: the monitor polls for a deadlock that a timer
	 * callback (which readied nobody) may have left. */
	if (atomic_load(&s->nactive) == 0 && s->mon_sleeping)
		pthread_cond_signal(&s->mon_cv);
	world_changed(s);
	while (!w->wakeup && !atomic_load(&s->stop))
		pthread_cond_wait(&w->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

/* ---- run queues ---- */

/* Global queue tail; wake a sleeper if asked.  Takes and drops s->mu. */
static void global_put(chl_sched *s, chl_task *t, bool wake)
{
	pthread_mutex_lock(&s->mu);
	chl_runq_put(&s->gq, t);
	if (wake)
		wake_one_locked(s);
	pthread_mutex_unlock(&s->mu);
}

/* Local queue tail (owner only).  Takes w->mu, then maybe s->mu. */
static void local_put(struct worker *w, chl_task *t)
{
	if (w->s->det) {
		global_put(w->s, t, true);
		return;
	}
	pthread_mutex_lock(&w->mu);
	chl_runq_put(&w->q, t);
	pthread_mutex_unlock(&w->mu);
	wake_idle(w->s);
}

/* Into runnext (owner only); the previous one goes to the local tail,
 * where others may take it. */
static void put_next(struct worker *w, chl_task *t)
{
	chl_task *old = w->runnext;

	if (w->s->det) {
		global_put(w->s, t, true);
		return;
	}
	w->runnext = t;
	if (!old) {
		atomic_store_explicit(&w->has_next, 1, memory_order_relaxed);
		return;
	}
	local_put(w, old);
}

/* The local head (owner only). */
static chl_task *local_get(struct worker *w)
{
	chl_task *t;

	/* Only the owner adds to q, so an empty hint here is exact. */
	if (chl_runq_len(&w->q) == 0)
		return NULL;
	pthread_mutex_lock(&w->mu);
	t = chl_runq_get(&w->q);
	pthread_mutex_unlock(&w->mu);
	return t;
}

/* A chain taken from elsewhere: run its first task, queue the rest here. */
static chl_task *take_chain(struct worker *w, chl_task *first, chl_task *last, int k)
{
	if (k > 1) {
		pthread_mutex_lock(&w->mu);
		chl_runq_put_chain(&w->q, first->next, last, k - 1);
		pthread_mutex_unlock(&w->mu);
	}
	first->next = NULL;
	return first;
}

/* A batch from the global queue (a fair share, at most max). */
static chl_task *global_get(struct worker *w, int max)
{
	chl_sched *s = w->s;
	chl_task *first, *last;
	int k, n;
	bool more;

	if (chl_runq_len(&s->gq) == 0)
		return NULL;
	pthread_mutex_lock(&s->mu);
	n = chl_runq_len(&s->gq);
	k = n / s->procs + 1;
	if (k > max)
		k = max;
	first = chl_runq_cut(&s->gq, k, &k, &last);
	more = chl_runq_len(&s->gq) > 0;
	pthread_mutex_unlock(&s->mu);
	if (!first)
		return NULL;
	first = take_chain(w, first, last, k);
	if (k > 1 || more)
		wake_idle(s);
	return first;
}

/* Half of another worker's local queue (never its runnext). */
static chl_task *steal(struct worker *w)
{
	chl_sched *s = w->s;
	int n = atomic_load_explicit(&s->nworkers, memory_order_acquire);
	int i, start;

	if (n < 2)
		return NULL;
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	start = (int)(w->rng % (uint32_t)n);
	for (i = 0; i < n; i++) {
		struct worker *v = s->w[(start + i) % n];
		chl_task *first, *last;
		int k;

		if (v == w || chl_runq_len(&v->q) == 0)
			continue;
		pthread_mutex_lock(&v->mu);
		k = chl_runq_len(&v->q);
		first = chl_runq_cut(&v->q, k - k / 2, &k, &last);
		pthread_mutex_unlock(&v->mu);
		if (!first)
			continue;
		atomic_fetch_add_explicit(&s->steals, 1, memory_order_relaxed);
		first = take_chain(w, first, last, k);
		if (k > 1)
			wake_idle(s);
		return first;
	}
	return NULL;
}

/* Move runnext and the local queue to the global queue (the worker blocks
 * or retires) and wake sleepers for them.  Owner only; returns how many. */
static int hand_off(struct worker *w)
{
	chl_sched *s = w->s;
	chl_task *first, *last;
	int k, i;

	pthread_mutex_lock(&w->mu);
	first = chl_runq_cut(&w->q, INT_MAX, &k, &last);
	pthread_mutex_unlock(&w->mu);
	if (w->runnext) {
		chl_task *t = w->runnext;

		w->runnext = NULL;
		atomic_store_explicit(&w->has_next, 0, memory_order_relaxed);
		t->next = first;
		if (!first)
			last = t;
		first = t;
		k++;
	}
	if (k == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	chl_runq_put_chain(&s->gq, first, last, k);
	for (i = 0; i < k && wake_one_locked(s); i++)
		;
	pthread_mutex_unlock(&s->mu);
	return k;
}

/* ---- workers ---- */

/* Too many active (a blocked worker came back): go idle if still so. */
static void maybe_retire(struct worker *w)
{
	if (atomic_load(&w->s->nactive) <= w->s->procs)
		return;
	hand_off(w);
	idle_sleep(w, true);
}

/* Every FAIR_TICK slices, move the global queue's head to the local
 * tail: it then runs after the tasks already queued here, so a worker kept
 * busy by its local queue cannot starve the global one, and (unlike
 * running it at once) no task gets an extra turn ahead of a round. */
static void global_to_local(struct worker *w)
{
	chl_task *t;

	if (chl_runq_len(&w->s->gq) == 0)
		return;
	pthread_mutex_lock(&w->s->mu);
	t = chl_runq_get(&w->s->gq);
	pthread_mutex_unlock(&w->s->mu);
	if (t) {
		pthread_mutex_lock(&w->mu);
		chl_runq_put(&w->q, t);
		pthread_mutex_unlock(&w->mu);
	}
}

/* How long a worker out of work keeps looking before it sleeps.  A futex
 * sleep and wake cost several microseconds on each side; a task readied
 * by a busy worker a few microseconds later is taken without either. */
#define SPIN_NS (30 * 1000)

static int work_count(chl_sched *s)
{
	int i, k = chl_runq_len(&s->gq);
	int n = atomic_load_explicit(&s->nworkers, memory_order_acquire);

	for (i = 0; i < n; i++)
		k += chl_runq_len(&s->w[i]->q);
	return k;
}

/* Look for work for up to SPIN_NS before sleeping; true if some showed up.
 * One worker spins at a time (Go's rule of thumb), so idle CPUs are not
 * all burnt.  A spinner that finds more than one task wakes a sleeper for
 * the rest, since pushers did not while it spun. */
static bool spin_for_work(struct worker *w)
{
	chl_sched *s = w->s;
	int expect = 0, k = 0;
	int64_t until;
	unsigned i;

	if (!atomic_compare_exchange_strong(&s->nspinning, &expect, 1))
		return false;
	until = chl_real_now() + SPIN_NS;
	for (i = 1; !atomic_load_explicit(&s->stop, memory_order_relaxed); i++) {
		if ((k = work_count(s)) > 0)
			break;
		if ((i & 63) == 0) {
			if (chl_real_now() > until)
				break;
			/* On a crowded machine the spinner would burn the time
			 * slice of the very thread that is about to make work:
			 * offer the CPU now and then (a no-op when idle). */
			if ((i & 1023) == 0)
				sched_yield();
		}
		chl_cpu_relax();
	}
	atomic_store(&s->nspinning, 0);
	if (k > 1)
		wake_idle(s);
	return k > 0;
}

/* ---- deterministic runs (decide.h) ----
 *
 * Every runnable task waits on the global queue; the worker takes the one
 * chl_decide_task chooses.  When none is runnable the virtual clock jumps
 * to the next timer (chl_timers_advance), whose callbacks ready tasks; only
 * when no timer is pending either does the worker sleep (a signal, or a
 * task blocked on its thread, may still ready someone) - and the deadlock
 * check, run as the last task parked, has already spoken if nobody can. */

/* Unlink and return the task chl_decide_task picks from gq (s->mu held,
 * gq not empty). */
static chl_task *det_take(struct worker *w)
{
	chl_sched *s = w->s;
	int n = chl_runq_len(&s->gq), k = 0, i = 0;
	uint64_t small[64], *ids = n <= 64 ? small : malloc((size_t)n * sizeof *ids);

	if (ids) {           /* out of memory: the head, still deterministic */
		for (chl_task *t = s->gq.head; t; t = t->next)
			ids[i++] = t->id;
		k = chl_decide_task(ids, n, w->last_id);
		if (ids != small)
			free(ids);
	}
	return chl_runq_take_at(&s->gq, k);
}

static chl_task *det_find_work(struct worker *w)
{
	chl_sched *s = w->s;
	chl_task *t;

	if ((t = w->det_next) != NULL) {
		w->det_next = NULL;
		return t;
	}
	for (;;) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			return NULL;
		pthread_mutex_lock(&s->mu);
		t = chl_runq_len(&s->gq) > 0 ? det_take(w) : NULL;
		pthread_mutex_unlock(&s->mu);
		if (t)
			return t;
		w->last_id = 0;
		if (chl_timers_advance())
			continue;
		deadlock_poll(s);
		idle_sleep(w, false);
	}
}

/* The next task to run, or NULL when the scheduler stops.  Order: runnext
 * (*inherit: it continues the current time slice, as in Go, so that a
 * ping-pong pair is preempted like one long task), then - with the global
 * queue looked at every FAIR_TICK slices - the local queue, a global
 * batch, a steal, and sleep. */
bool chl_sched_decide(void)
{
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	chl_task *cur = atomic_load_explicit(&tls_task, memory_order_relaxed);
	chl_sched *s;
	uint64_t small[64], *ids;
	int n, k = 0, i = 1;

	if (!w || !cur || !(s = w->s)->det || w->blocked)
		return false;
	pthread_mutex_lock(&s->mu);
	n = chl_runq_len(&s->gq) + 1;
	if (n == 1) {                /* nobody else can run: no choice */
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	ids = n <= 64 ? small : malloc((size_t)n * sizeof *ids);
	if (ids) {
		ids[0] = cur->id;
		for (chl_task *t = s->gq.head; t; t = t->next)
			ids[i++] = t->id;
		k = chl_decide_task(ids, n, cur->id);
		if (ids != small)
			free(ids);
	}
	if (k > 0)
		w->det_next = chl_runq_take_at(&s->gq, k - 1);
	pthread_mutex_unlock(&s->mu);
	return k > 0;
}

static chl_task *find_work(struct worker *w, bool *inherit)
{
	chl_sched *s = w->s;
	chl_task *t;

	if (s->det) {
		*inherit = false;
		return det_find_work(w);
	}
	for (;;) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			return NULL;
		maybe_retire(w);
		if ((t = w->runnext) != NULL) {
			w->runnext = NULL;
			atomic_store_explicit(&w->has_next, 0, memory_order_relaxed);
			*inherit = true;
			return t;
		}
		*inherit = false;
		if (w->tick % FAIR_TICK == 0)
			global_to_local(w);
		if ((t = local_get(w)) || (t = global_get(w, GLOBAL_BATCH)) ||
		    (t = steal(w)))
			return t;
		if (!spin_for_work(w))
			idle_sleep(w, false);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	chl_task *t;
	sigset_t set;
	bool inherit;

	atomic_store_explicit(&tls_worker, w, memory_order_relaxed);
	chl_hook_set_worker(w->id);
	/* Preemption needs SIGURG even if the creating thread blocked it. */
	sigemptyset(&set);
	sigaddset(&set, SIGURG);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while ((t = find_work(w, &inherit)) != NULL) {
		if (atomic_load_explicit(&w->s->world_stop, memory_order_relaxed))
			world_gate(w->s);
		run_task(w, t, inherit);
	}
	return NULL;
}

static struct worker *worker_new(chl_sched *s, int id)
{
	struct worker *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->s = s;
	w->id = id;
	w->rng = 2654435761u * (uint32_t)(id + 1);
	atomic_init(&w->has_next, 0);
	atomic_init(&w->blocked_hint, 0);
	atomic_init(&w->run_word, 0);
	atomic_init(&w->preempt_word, 0);
	atomic_init(&w->blk.state, BLK_RUNNING);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	chl_runq_init(&w->q);
	return w;
}

static void worker_free(struct worker *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Make, start and publish one worker (counted active by the caller).
 * Returns false when stopping or out of slots, memory or threads.  Under
 * s->mu throughout, so that concurrent starts get distinct slots; the
 * slot is published (nworkers, release) only once the thread exists. */
static bool worker_start(chl_sched *s)
{
	struct worker *w;
	int n;

	pthread_mutex_lock(&s->mu);
	n = atomic_load(&s->nworkers);
	w = n < s->cap && !atomic_load(&s->stop) ? worker_new(s, n) : NULL;
	if (w && pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		worker_free(w);
		w = NULL;
	}
	if (w) {
		s->w[n] = w;
		atomic_store_explicit(&s->nworkers, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&s->mu);
	return w != NULL;
}

/* ---- running tasks ---- */

/* Step returned PARK: commit, then PARKED - unless a ready came during
 * commit (WOKEN), in which case it runs next here. */
static void park(struct worker *w, chl_task *t)
{
	chl_sched *s = w->s;
	int st = T_PARKING;

	atomic_store_explicit(&t->state, T_PARKING, memory_order_release);
	chl_parker_commit(&t->parker);
	if (atomic_compare_exchange_strong(&t->state, &st, T_PARKED)) {
		run_dec(s);    /* t may be running elsewhere already: not touched */
		return;
	}
	chl_assert(st == T_WOKEN);
	atomic_store_explicit(&t->state, T_RUNNABLE, memory_order_relaxed);
	put_next(w, t);
}

static void finish(struct worker *w, chl_task *t)
{
	chl_sched *s = w->s;

	pthread_mutex_lock(&s->all_mu);
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		s->all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	pthread_mutex_unlock(&s->all_mu);
	atomic_store_explicit(&t->state, T_NONE, memory_order_relaxed);
	if (t->release)
		t->release(t);   /* t may be gone now */
	if (atomic_fetch_sub(&s->live, 1) == 1) {
		pthread_mutex_lock(&s->all_mu);
		pthread_cond_broadcast(&s->idle_cv);
		pthread_mutex_unlock(&s->all_mu);
	}
	run_dec(s);
}

/* Report an event of task t (hook.h); g is t, peer the other task. */
static void emit_task(chl_op op, chl_task *t, uint64_t peer, const char *what)
{
	chl_event ev = { 0 };

	ev.op = op;
	ev.g = t->id;
	ev.peer = peer;
	ev.what = what;
	chl_hook_emit(&ev);
}

/* Run one step of t (inherit: from runnext, same time slice). */
static void run_task(struct worker *w, chl_task *t, bool inherit)
{
	chl_sched *s = w->s;
	chl_step r;

	chl_assert(atomic_load_explicit(&t->state, memory_order_relaxed) == T_RUNNABLE);
	atomic_store_explicit(&t->state, T_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&t->preempt, 0, memory_order_relaxed);
	if (!inherit)
		w->tick++;
	atomic_store_explicit(&w->run_word, w->tick << 1 | 1, memory_order_relaxed);
	atomic_store_explicit(&tls_task, t, memory_order_relaxed);
	if (CHL_HOOK_ON())
		emit_task(CHL_OP_RUN, t, 0, NULL);
	r = t->step(t);
	if (w->blocked)              /* block_enter without block_leave */
		chl_sched_block_leave(t);
	atomic_store_explicit(&tls_task, NULL, memory_order_relaxed);
	atomic_store_explicit(&w->run_word, w->tick << 1, memory_order_relaxed);
	w->last_id = r == CHL_STEP_YIELD ? t->id : 0;
	if (CHL_HOOK_ON())
		emit_task(r == CHL_STEP_YIELD ? CHL_OP_YIELD :
		          r == CHL_STEP_PARK ? CHL_OP_PARK : CHL_OP_EXIT,
		          t, 0, r == CHL_STEP_PARK ? t->parker.reason : NULL);
	switch (r) {
	case CHL_STEP_YIELD:
		/* The global tail, never runnext: a yielder must not starve
		 * others.  Wake a sleeper only if it would wait here. */
		atomic_store_explicit(&t->state, T_RUNNABLE, memory_order_relaxed);
		global_put(s, t, w->runnext || chl_runq_len(&w->q) > 0);
		break;
	case CHL_STEP_PARK:
		park(w, t);
		break;
	case CHL_STEP_DONE:
		finish(w, t);
		break;
	default:
		chl_assert(!"step returned an unknown chl_step");
	}
}

/* The READY event of t (hook.h); out of line, so that task_ready's fast
 * path pays only the branch. */
static __attribute__((noinline, cold)) void emit_ready(chl_task *t)
{
	chl_event ev = { 0 };

	ev.op = CHL_OP_READY;
	ev.peer = t->id;
	chl_hook_emit(&ev);
}

/* p->ready of every task: make it runnable.  Called by the one claimer of
 * its park (waiter.h), with at most primitive locks held. */
static void task_ready(chl_parker *p)
{
	chl_task *t = (chl_task *)p;
	chl_sched *s = t->sched;
	struct worker *w;
	int st = atomic_load(&t->state);

	/* Reported before the state changes, so that every wake is seen
	 * (also one that comes during commit) and its time falls between
	 * t's park and t's next run. */
	if (CHL_HOOK_ON())
		emit_ready(t);
	for (;;) {
		chl_assert(st == T_PARKED || st == T_PARKING);
		if (st == T_PARKED) {
			if (atomic_compare_exchange_weak(&t->state, &st, T_RUNNABLE))
				break;
		} else if (atomic_compare_exchange_weak(&t->state, &st, T_WOKEN)) {
			return;   /* its worker queues it after commit */
		}
	}
	run_inc(s);
	w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	if (w && w->s == s && !w->blocked &&
	    atomic_load_explicit(&tls_task, memory_order_relaxed))
		put_next(w, t);
	else
		global_put(s, t, true);
}

/* ---- the monitor: preemption, deadlock polls ---- */

/* SIGURG: preempt the task running on this worker, if it is in the time
 * slice the monitor meant (run_word unchanged).  Async-signal-safe:
 * atomics only. */
static void on_sigurg(int sig)
{
	int saved = errno;
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	chl_task *t = atomic_load_explicit(&tls_task, memory_order_relaxed);

	(void)sig;
	if (w && t && t->sched == w->s) {
		unsigned word = atomic_load_explicit(&w->run_word, memory_order_relaxed);

		if ((word & 1) && word == atomic_load_explicit(&w->preempt_word,
		    memory_order_relaxed)) {
			atomic_store_explicit(&t->preempt, 1, memory_order_relaxed);
			if (w->s->cfg.on_preempt)
				w->s->cfg.on_preempt(t, w->s->cfg.ud);
		}
	}
	errno = saved;
}

bool chl_sched_preempt_requested(void)
{
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	unsigned word;

	if (!w)
		return false;
	word = atomic_load_explicit(&w->run_word, memory_order_relaxed);
	return (word & 1) && word == atomic_load_explicit(&w->preempt_word,
		memory_order_relaxed);
}

static pthread_once_t sigurg_once = PTHREAD_ONCE_INIT;
static bool sigurg_ok;

static void sigurg_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigurg;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigurg_ok = sigaction(SIGURG, &sa, NULL) == 0;
}

/* One look at the workers: a worker running a step of the same time slice
 * as at the last look (10 ms ago) while other tasks wait gets SIGURG.  A
 * slice is one task's steps, or a chain of runnext steps (inherit). */
static void scan(chl_sched *s)
{
	int i, n = atomic_load_explicit(&s->nworkers, memory_order_acquire);
	bool waiting = chl_runq_len(&s->gq) > 0;

	for (i = 0; i < n && !waiting; i++)
		waiting = chl_runq_len(&s->w[i]->q) > 0 ||
			atomic_load_explicit(&s->w[i]->has_next, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		struct worker *v = s->w[i];
		unsigned word = atomic_load_explicit(&v->run_word, memory_order_relaxed);

		if (waiting && (word & 1) && word == v->mon_word &&
		    !atomic_load_explicit(&v->blocked_hint, memory_order_relaxed)) {
			atomic_store_explicit(&v->preempt_word, word, memory_order_relaxed);
			atomic_fetch_add_explicit(&s->preempts, 1, memory_order_relaxed);
			pthread_kill(v->thread, SIGURG);
		}
		v->mon_word = word;
	}
}

static struct timespec ts_at(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / CHL_NS_PER_SEC);
	ts.tv_nsec = (long)(ns % CHL_NS_PER_SEC);
	return ts;
}

/*
 * The monitor thread.  While some worker is active and preemption is on,
 * it looks every SLICE_NS (scan above): a step that spans two looks ran
 * 10 to 20 ms.  When every worker sleeps it polls for a deadlock (a timer
 * whose callback readied nobody may have been the last hope) with a
 * backoff from 10 ms to 1 s, or sleeps without timeout when nothing is
 * live / detection is off.  Otherwise (active, no preemption) it sleeps
 * until all are idle.  Clock: chl_real_now() (monotonic), like mon_cv.
 */
static void *monitor_main(void *arg)
{
	chl_sched *s = arg;
	int64_t poll = POLL_MIN_NS, next_scan = chl_real_now() + SLICE_NS;

	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->stop)) {
		bool all_idle = atomic_load(&s->nactive) == 0;
		int64_t now = chl_real_now();
		struct timespec ts;

		if (all_idle && s->detect && atomic_load(&s->live) > 0) {
			ts = ts_at(now + poll);
			pthread_cond_timedwait(&s->mon_cv, &s->mu, &ts);
			if (poll < POLL_MAX_NS)
				poll *= 2;
			if (atomic_load(&s->nactive) == 0 && !atomic_load(&s->stop)) {
				pthread_mutex_unlock(&s->mu);
				deadlock_poll(s);
				pthread_mutex_lock(&s->mu);
			}
			next_scan = chl_real_now() + SLICE_NS;
			continue;
		}
		poll = POLL_MIN_NS;
		if (all_idle || !s->preempt_on) {
			s->mon_sleeping = true;
			pthread_cond_wait(&s->mon_cv, &s->mu);
			s->mon_sleeping = false;
			next_scan = chl_real_now() + SLICE_NS;
			continue;
		}
		if (now < next_scan) {
			ts = ts_at(next_scan);
			pthread_cond_timedwait(&s->mon_cv, &s->mu, &ts);
			continue;
		}
		next_scan = now + SLICE_NS;
		pthread_mutex_unlock(&s->mu);
		scan(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- life ---- */

static void sched_stop_and_free(chl_sched *s)
{
	int i, n;

	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, true);
	n = atomic_load(&s->nworkers);
	for (i = 0; i < n; i++)
		pthread_cond_signal(&s->w[i]->cv);
	pthread_cond_signal(&s->mon_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->monitor_started)
		pthread_join(s->monitor, NULL);
	/* No worker is made once stop is set (worker_start checks it). */
	n = atomic_load(&s->nworkers);
	for (i = 0; i < n; i++)
		pthread_join(s->w[i]->thread, NULL);
	for (i = 0; i < n; i++)
		worker_free(s->w[i]);
	free(s->w);
	pthread_cond_destroy(&s->mon_cv);
	pthread_cond_destroy(&s->world_cv);
	pthread_cond_destroy(&s->world_go_cv);
	pthread_cond_destroy(&s->idle_cv);
	pthread_mutex_destroy(&s->all_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

chl_sched *chl_sched_new(const chl_sched_config *cfg)
{
	chl_sched *s = calloc(1, sizeof *s);
	pthread_condattr_t ca;
	int i, procs = cfg->procs;

	if (!s)
		return NULL;
	if (procs <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		procs = n > 0 ? (int)n : 1;
	}
	if (procs > 4096)
		procs = 4096;
	if (chl_det_on)
		procs = 1;              /* one worker: the order is the strategy's */
	s->det = chl_det_on;
	s->cfg = *cfg;
	s->procs = procs;
	s->detect = cfg->detect_deadlock;
	s->cap = procs + MAX_SPARES;
	s->w = calloc((size_t)s->cap, sizeof *s->w);
	if (!s->w) {
		free(s);
		return NULL;
	}
	if (cfg->on_preempt && !s->det) {
		pthread_once(&sigurg_once, sigurg_install);
		s->preempt_on = sigurg_ok;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->all_mu, NULL);
	pthread_cond_init(&s->idle_cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->mon_cv, &ca);
	pthread_cond_init(&s->world_cv, &ca);
	pthread_cond_init(&s->world_go_cv, &ca);
	pthread_condattr_destroy(&ca);
	chl_runq_init(&s->gq);
	atomic_init(&s->nidle, 0);
	atomic_init(&s->nspinning, 0);
	atomic_init(&s->nactive, procs);
	atomic_init(&s->nworkers, 0);
	atomic_init(&s->stop, false);
	atomic_init(&s->live, 0);
	atomic_init(&s->next_id, 1);
	atomic_init(&s->nrun, 0);
	atomic_init(&s->nexternal, 0);
	atomic_init(&s->deadlocked, false);
	atomic_init(&s->world_stop, false);
	atomic_init(&s->preempts, 0);
	atomic_init(&s->steals, 0);
	for (i = 0; i < procs; i++) {
		if (!worker_start(s)) {
			sched_stop_and_free(s);
			return NULL;
		}
	}
	/* A deterministic run needs no monitor: nothing is preempted, and its
	 * one worker polls for a deadlock itself before it sleeps. */
	if (!s->det) {
		if (pthread_create(&s->monitor, NULL, monitor_main, s) != 0) {
			sched_stop_and_free(s);
			return NULL;
		}
		s->monitor_started = true;
	}
	return s;
}

void chl_sched_free(chl_sched *s)
{
	if (s)
		sched_stop_and_free(s);
}

int chl_sched_procs(const chl_sched *s)
{
	return s->procs;
}

void chl_sched_spawn(chl_sched *s, chl_task *t)
{
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);

	t->sched = s;
	t->id = atomic_fetch_add(&s->next_id, 1);
	t->next = NULL;
	t->blocking = false;
	chl_parker_prepare(&t->parker, NULL);
	t->parker.ready = task_ready;
	atomic_init(&t->preempt, 0);
	atomic_init(&t->state, T_RUNNABLE);
	run_inc(s);    /* before live: a check never sees it live but uncounted */
	atomic_fetch_add(&s->live, 1);
	pthread_mutex_lock(&s->all_mu);
	t->all_prev = NULL;
	t->all_next = s->all;
	if (s->all)
		s->all->all_prev = t;
	s->all = t;
	pthread_mutex_unlock(&s->all_mu);
	if (CHL_HOOK_ON()) {
		chl_event ev = { 0 };

		ev.op = CHL_OP_SPAWN;
		ev.peer = t->id;
		chl_hook_emit(&ev);
	}
	if (w && w->s == s && !w->blocked &&
	    atomic_load_explicit(&tls_task, memory_order_relaxed))
		local_put(w, t);
	else
		global_put(s, t, true);
}

chl_task *chl_sched_current(void)
{
	return atomic_load_explicit(&tls_task, memory_order_relaxed);
}

uint64_t chl_hook_current_id(void)
{
	chl_task *t = atomic_load_explicit(&tls_task, memory_order_relaxed);

	return t ? t->id : 0;
}

int64_t chl_sched_count(const chl_sched *s)
{
	return atomic_load(&((chl_sched *)s)->live);
}

void chl_sched_external_enter(chl_sched *s)
{
	atomic_fetch_add(&s->nexternal, 1);
}

void chl_sched_external_leave(chl_sched *s)
{
	if (atomic_fetch_sub(&s->nexternal, 1) == 1)
		deadlock_poll(s);
}

/* ---- blocking a worker (non-yieldable fallback) ---- */

/* Our unlock in the blocked task's parker: drop the primitive's lock(s),
 * then count the task parked (unless already readied). */
static void blk_unlock(void *arg)
{
	struct worker *w = arg;
	int st = BLK_RUNNING;

	if (w->blk.unlock)
		w->blk.unlock(w->blk.unlock_arg);
	if (atomic_compare_exchange_strong(&w->blk.state, &st, BLK_PARKED))
		run_dec(w->s);
}

/* Our ready in the blocked task's parker: count it runnable *before* its
 * thread can wake (so the count never shows it parked while it runs). */
static void blk_ready(chl_parker *p)
{
	struct worker *w;
	void (*ready)(chl_parker *);

	pthread_mutex_lock(&blk_mu);
	for (w = blk_list; w && w->blk.parker != p; w = w->blk.next)
		;
	pthread_mutex_unlock(&blk_mu);
	chl_assert(w != NULL);
	/* w stays blocked (and listed) until its ready below wakes it. */
	ready = w->blk.ready;
	if (atomic_exchange(&w->blk.state, BLK_WOKEN) == BLK_PARKED)
		run_inc(w->s);
	ready(p);
}

/*
 * The task's worker is about to sleep in chl_thread_park (its task cannot
 * leave the stack).  Hand its runnext and local queue to the global queue,
 * count it out of the active workers and start a spare when that leaves
 * fewer than procs active or idle, so other tasks - including the one
 * that will wake this one - still run (procs == 1 included).  With
 * deadlock detection, wrap the thread parker (see block_rec): our unlock
 * counts the task parked once the primitive's lock is dropped (after
 * commit armed any deadline), our ready counts it runnable again before
 * its thread can wake - the same ordering a task park has.
 */
void chl_sched_block_enter(chl_task *t)
{
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	chl_sched *s;
	bool spare;
	int was;

	if (!w || w->blocked || atomic_load_explicit(&tls_task, memory_order_relaxed) != t)
		return;
	s = w->s;
	w->blocked = true;
	atomic_store_explicit(&w->blocked_hint, 1, memory_order_relaxed);
	t->blocking = true;
	if (s->detect) {
		/* The waiter is queued but its lock is still held (or it is not
		 * queued at all): nobody reads p->ready / p->unlock yet. */
		chl_parker *p = chl_thread_parker_self();

		w->blk.parker = p;
		w->blk.ready = p->ready;
		w->blk.unlock = p->unlock;
		w->blk.unlock_arg = p->unlock_arg;
		atomic_store(&w->blk.state, BLK_RUNNING);
		p->ready = blk_ready;
		chl_parker_set_unlock(p, blk_unlock, w);
		pthread_mutex_lock(&blk_mu);
		w->blk.next = blk_list;
		blk_list = w;
		pthread_mutex_unlock(&blk_mu);
	}
	pthread_mutex_lock(&s->mu);
	was = atomic_fetch_sub(&s->nactive, 1);
	chl_assert(was > 0);
	/* Keep nactive + nidle >= procs: a spare when this block breaks it. */
	spare = atomic_load(&s->nactive) + atomic_load(&s->nidle) < s->procs;
	if (spare)
		atomic_fetch_add(&s->nactive, 1);   /* the spare, active at birth */
	else if (atomic_load(&s->nactive) == 0 && s->mon_sleeping)
		pthread_cond_signal(&s->mon_cv);    /* all idle: deadlock polls */
	world_changed(s);
	pthread_mutex_unlock(&s->mu);
	if (spare && !worker_start(s)) {
		pthread_mutex_lock(&s->mu);
		atomic_fetch_sub(&s->nactive, 1);
		world_changed(s);
		pthread_mutex_unlock(&s->mu);
	}
	hand_off(w);
}

void chl_sched_block_leave(chl_task *t)
{
	struct worker *w = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	chl_sched *s;

	if (!w || !w->blocked || atomic_load_explicit(&tls_task, memory_order_relaxed) != t)
		return;
	s = w->s;
	if (w->blk.parker) {
		chl_parker *p = w->blk.parker;
		struct worker **pp;

		pthread_mutex_lock(&blk_mu);
		for (pp = &blk_list; *pp != w; pp = &(*pp)->blk.next)
			;
		*pp = w->blk.next;
		w->blk.parker = NULL;
		pthread_mutex_unlock(&blk_mu);
		p->ready = w->blk.ready;
		if (p->unlock == blk_unlock)   /* it never parked */
			chl_parker_set_unlock(p, w->blk.unlock, w->blk.unlock_arg);
		if (atomic_exchange(&w->blk.state, BLK_RUNNING) == BLK_PARKED)
			run_inc(s);   /* parked but left without a ready */
	}
	pthread_mutex_lock(&s->mu);
	/* Back to running the task's code: not while the world is stopped
	 * (it counts as stopped until nactive includes it again). */
	while (atomic_load(&s->world_stop))
		pthread_cond_wait(&s->world_go_cv, &s->mu);
	atomic_fetch_add(&s->nactive, 1);
	if (s->mon_sleeping)
		pthread_cond_signal(&s->mon_cv);
	pthread_mutex_unlock(&s->mu);
	/* After the gate: a stopper reads t->blocking with the world stopped. */
	t->blocking = false;
	w->blocked = false;
	atomic_store_explicit(&w->blocked_hint, 0, memory_order_relaxed);
}

/* ---- stopping the world ---- */

/*
 * Why the world is still once chl_sched_stop_world returns 1.  The
 * stopper sets world_stop under s->mu and waits (world_cv) until every
 * active worker but its own is held at the gate: world_acked == nactive -
 * self.  A worker leaves `nactive` only under s->mu, to sleep idle
 * (idle_sleep) or to block (block_enter), and comes back only under it:
 * a sleeper is woken under s->mu and then runs nothing before the gate,
 * whose check sees world_stop (stored under the s->mu it just took); a
 * blocked worker passes the gate in block_leave before it counts itself
 * active again, and its task's code runs only after that.  An active
 * worker looks at world_stop (relaxed: one load a step) before each step;
 * a stale false costs one more step, never a wrong answer, because the
 * stopper waits for the ack, given under s->mu once that step is over.
 * So every step that ran before the stop happened before the stopper's
 * return (through s->mu), and none starts until chl_sched_start_world.
 * Tasks may still be readied meanwhile (timers, signals): that only moves
 * them between states and queues, it never runs them.
 *
 * Long steps are cut short by asking for preemption (world_kick), the
 * monitor's way; a step that cannot be preempted (preemption off, a long
 * C call) makes the stop time out.
 */

/* A count the stopper waits on changed.  s->mu held. */
static void world_changed(chl_sched *s)
{
	if (atomic_load_explicit(&s->world_stop, memory_order_relaxed))
		pthread_cond_signal(&s->world_cv);
}

/* Before a step, when world_stop was seen: hold here until the start. */
static void world_gate(chl_sched *s)
{
	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->world_stop)) {
		s->world_acked++;
		pthread_cond_signal(&s->world_cv);
		while (atomic_load(&s->world_stop))
			pthread_cond_wait(&s->world_go_cv, &s->mu);
		s->world_acked--;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Ask every worker running a step (but me) to end it soon.  s->mu held. */
static void world_kick(chl_sched *s, struct worker *me)
{
	int i, n = atomic_load_explicit(&s->nworkers, memory_order_acquire);

	for (i = 0; i < n; i++) {
		struct worker *v = s->w[i];
		unsigned word = atomic_load_explicit(&v->run_word, memory_order_relaxed);

		if (v == me || !(word & 1) ||
		    atomic_load_explicit(&v->blocked_hint, memory_order_relaxed))
			continue;
		atomic_store_explicit(&v->preempt_word, word, memory_order_relaxed);
		if (s->preempt_on)
			pthread_kill(v->thread, SIGURG);
	}
}

#define WORLD_KICK_NS (1000 * 1000)    /* preemption asked again this often */

int chl_sched_stop_world(chl_sched *s, int64_t timeout_ns)
{
	struct worker *me = atomic_load_explicit(&tls_worker, memory_order_relaxed);
	int self = me && me->s == s && !me->blocked ? 1 : 0;
	int64_t until = timeout_ns < 0 ? INT64_MAX : chl_now() + timeout_ns;
	struct timespec ts;

	if (!self)
		me = NULL;
	pthread_mutex_lock(&s->mu);
	/* Another stopper first: wait for its start like a worker at the gate. */
	while (atomic_load(&s->world_stop)) {
		int rc;

		s->world_acked += self;
		pthread_cond_signal(&s->world_cv);
		ts = ts_at(until);
		rc = pthread_cond_timedwait(&s->world_go_cv, &s->mu, &ts);
		s->world_acked -= self;
		if (rc == ETIMEDOUT && atomic_load(&s->world_stop)) {
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
	}
	atomic_store(&s->world_stop, true);
	for (;;) {
		int64_t now = chl_now(), next;

		if (s->world_acked == atomic_load(&s->nactive) - self) {
			pthread_mutex_unlock(&s->mu);
			return 1;
		}
		if (now >= until) {
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		world_kick(s, me);
		next = until - now < WORLD_KICK_NS ? until : now + WORLD_KICK_NS;
		ts = ts_at(next);
		pthread_cond_timedwait(&s->world_cv, &s->mu, &ts);
	}
}

void chl_sched_start_world(chl_sched *s)
{
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->world_stop, false);
	pthread_cond_broadcast(&s->world_go_cv);
	pthread_mutex_unlock(&s->mu);
}

chl_task_state chl_sched_task_state(const chl_task *t)
{
	switch (atomic_load(&((chl_task *)t)->state)) {
	case T_RUNNABLE:
	case T_WOKEN:
		return CHL_TASK_RUNNABLE;
	case T_PARKED:
		return CHL_TASK_PARKED;
	case T_RUNNING:
		return t->blocking ? CHL_TASK_BLOCKED : CHL_TASK_RUNNING;
	default:
		return CHL_TASK_RUNNING;   /* parking: its worker is committing */
	}
}

int chl_sched_externals(chl_sched *s)
{
	return atomic_load(&s->nexternal);
}

/* ---- introspection ---- */

void chl_sched_foreach(chl_sched *s, void (*fn)(chl_task *t, void *arg), void *arg)
{
	chl_task *t;

	pthread_mutex_lock(&s->all_mu);
	for (t = s->all; t; t = t->all_next)
		fn(t, arg);
	pthread_mutex_unlock(&s->all_mu);
}

void chl_sched_wait_idle(chl_sched *s)
{
	pthread_mutex_lock(&s->all_mu);
	while (atomic_load(&s->live) > 0)
		pthread_cond_wait(&s->idle_cv, &s->all_mu);
	pthread_mutex_unlock(&s->all_mu);
}

void chl_sched_stats_get(chl_sched *s, chl_sched_stats *out)
{
	out->live = atomic_load(&s->live);
	out->runnable = s->detect ? (int64_t)RUN_COUNT(atomic_load(&s->nrun)) : -1;
	out->workers = atomic_load(&s->nworkers);
	out->idle = atomic_load(&s->nidle);
	out->preempts = atomic_load_explicit(&s->preempts, memory_order_relaxed);
	out->steals = atomic_load_explicit(&s->steals, memory_order_relaxed);
}
