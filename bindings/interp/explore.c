/*
 * explore.c - `chanlab explore`: the script under many schedules.
 *
 * Each run is a child process (fork, no exec: the explorer starts no
 * runtime, so the child is a clean copy) that runs the script
 * deterministically (core/decide.h) and ends like any `chanlab run`; its
 * stdout, stderr and exit status are its outcome, and a crash, panic,
 * deadlock or hang ends that run only.  Runs are grouped by outcome: the
 * exit status, stdout and the first line of stderr (the rest - a
 * traceback's addresses - may differ between equal outcomes).
 *
 * Strategies:
 *   random, pct  run i uses seed base+i; pct first measures how many
 *                decisions a run makes (one random run) to spread its
 *                change points over them;
 *   dfs          stateless depth-first search over the decisions: each
 *                run replays a prefix of choices, then takes option 0
 *                (continue the running goroutine) at every later choice,
 *                and logs every choice it made; the next prefix bumps the
 *                deepest choice that has an untried option (within the
 *                preemption bound).  When no choice is left the space is
 *                covered: every schedule was run once.
 * Replays: `chanlab run --seed N [--strategy pct --depth D --steps K]`,
 * or `--schedule LIST` for dfs.
 *
 * Up to --jobs children run at once (random, pct; dfs is sequential by
 * nature), each with a wall-time limit (--timeout, default 10 s).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interp/explore.h"

#define MAX_JOBS 64
#define MAX_CHOICES 65536      /* a dfs prefix longer than this is cut */

typedef enum { S_RANDOM, S_PCT, S_DFS } strategy;

typedef struct config {
	strategy strat;
	long runs;
	int depth;
	int preemptions;           /* dfs: < 0 unbounded */
	int jobs;
	bool json;
	uint64_t seed;             /* the first run's */
	double timeout;            /* seconds per run */
	int64_t steps;             /* pct: measured */
	int nargs;                 /* the script and its arguments */
	char **args;
} config;

/* A bytes buffer. */
typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

/* One decision of a run, as the child logged it. */
typedef struct choice {
	uint16_t n, taken, zero_is_last;
} choice;

/* A run in flight. */
typedef struct job {
	pid_t pid;
	int fd[3];                 /* stdout, stderr, decision log; -1 once at EOF */
	buf out[3];
	uint64_t seed;
	int *prefix;               /* dfs: the choices it replays (owned) */
	int nprefix;
	double started;
	bool killed;
} job;

/* One distinct outcome. */
typedef struct outcome {
	int exit;                  /* exit status; 128+N for signal N; -1 timeout */
	char *out, *err;           /* the first run's whole stdout and stderr */
	size_t nout;
	char *first_err;           /* stderr's first line: part of the key */
	long count;
	uint64_t seed;             /* the first run that gave it */
	char *schedule;            /* dfs: its --schedule LIST */
} outcome;

typedef struct results {
	outcome *v;
	size_t n, cap;
	long runs;
} results;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("chanlab explore: not enough memory\n", stderr);
		exit(2);
	}
	return q;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void buf_add(buf *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* ---- options ---- */

static int usage_error(const char *msg)
{
	fprintf(stderr, "chanlab explore: %s\n"
		"usage: chanlab explore [--runs N] [--strategy random|pct|dfs] [--depth D]\n"
		"                       [--preemptions P] [--jobs J] [--seed N] [--timeout S]\n"
		"                       [--json] script.lua [args...]\n", msg);
	return 1;
}

static bool whole(const char *s, long long min, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (!*s || *end || v < min)
		return false;
	*out = v;
	return true;
}

static int parse(int argc, char **argv, config *c)
{
	long long v;
	int i;

	c->strat = S_PCT;
	c->runs = 1000;
	c->depth = 3;
	c->preemptions = -1;
	c->seed = 1;
	c->timeout = 10;
	c->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			return usage_error("an option wants a value");
		i++;
		if (strcmp(a, "--strategy") == 0) {
			if (strcmp(val, "random") == 0)
				c->strat = S_RANDOM;
			else if (strcmp(val, "pct") == 0)
				c->strat = S_PCT;
			else if (strcmp(val, "dfs") == 0)
				c->strat = S_DFS;
			else
				return usage_error("--strategy wants random, pct or dfs");
		} else if (strcmp(a, "--runs") == 0 && whole(val, 1, &v)) {
			c->runs = (long)v;
		} else if (strcmp(a, "--depth") == 0 && whole(val, 1, &v)) {
			c->depth = (int)v;
		} else if (strcmp(a, "--preemptions") == 0 && whole(val, 0, &v)) {
			c->preemptions = (int)v;
		} else if (strcmp(a, "--jobs") == 0 && whole(val, 1, &v)) {
			c->jobs = (int)(v > MAX_JOBS ? MAX_JOBS : v);
		} else if (strcmp(a, "--seed") == 0 && whole(val, 0, &v)) {
			c->seed = (uint64_t)v;
		} else if (strcmp(a, "--timeout") == 0 && atof(val) > 0) {
			c->timeout = atof(val);
		} else {
			return usage_error("unknown option or bad value");
		}
	}
	if (i >= argc)
		return usage_error("no script given");
	if (c->jobs < 1)
		c->jobs = 1;
	if (c->strat == S_DFS)
		c->jobs = 1;
	c->args = argv + i;
	c->nargs = argc - i;
	return 0;
}

/* ---- running one child ---- */

/* The child: stdout, stderr and the log to their pipes, then the script. */
static _Noreturn void child(const config *c, job *jobs, int njobs, int pipes[3][2],
                            const chl_decide_config *det, chl_explore_start start)
{
	char **argv = xrealloc(NULL, (size_t)(c->nargs + 3) * sizeof *argv);
	int null = open("/dev/null", O_RDONLY);

	for (int k = 0; k < njobs; k++)
		for (int f = 0; f < 3; f++)
			if (jobs[k].pid > 0 && jobs[k].fd[f] >= 0)
				close(jobs[k].fd[f]);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(pipes[0][1], 1);
	dup2(pipes[1][1], 2);
	for (int f = 0; f < 3; f++) {
		close(pipes[f][0]);
		if (f < 2)
			close(pipes[f][1]);
	}
	signal(SIGPIPE, SIG_DFL);
	argv[0] = "chanlab";
	argv[1] = "run";
	for (int k = 0; k < c->nargs; k++)
		argv[k + 2] = c->args[k];
	argv[c->nargs + 2] = NULL;
	start(c->nargs + 2, argv, det);
	_exit(2);
}

/* Start job j (its seed and prefix set) as a child. */
static bool launch(const config *c, job *jobs, int njobs, job *j, chl_explore_start start)
{
	int pipes[3][2];
	chl_decide_config det = { 0 };

	for (int f = 0; f < 3; f++)
		if (pipe(pipes[f]) != 0) {
			perror("chanlab explore: pipe");
			return false;
		}
	det.seed = j->seed;
	det.depth = c->depth;
	det.steps = c->steps;
	det.strategy = c->strat == S_PCT ? CHL_STRATEGY_PCT :
	               c->strat == S_DFS ? CHL_STRATEGY_REPLAY : CHL_STRATEGY_RANDOM;
	det.replay = j->prefix;
	det.nreplay = j->nprefix;
	det.log_fd = pipes[2][1];
	fflush(stdout);
	fflush(stderr);
	j->pid = fork();
	if (j->pid < 0) {
		perror("chanlab explore: fork");
		return false;
	}
	if (j->pid == 0)
		child(c, jobs, njobs, pipes, &det, start);
	for (int f = 0; f < 3; f++) {
		close(pipes[f][1]);
		j->fd[f] = pipes[f][0];
		j->out[f].n = 0;
		fcntl(j->fd[f], F_SETFL, O_NONBLOCK);
	}
	j->started = now_s();
	j->killed = false;
	return true;
}

/* Read what is there; true once all three pipes are at EOF. */
static bool drain(job *j)
{
	char chunk[65536];
	bool open_left = false;

	for (int f = 0; f < 3; f++) {
		while (j->fd[f] >= 0) {
			ssize_t n = read(j->fd[f], chunk, sizeof chunk);

			if (n > 0) {
				buf_add(&j->out[f], chunk, (size_t)n);
			} else if (n == 0) {
				close(j->fd[f]);
				j->fd[f] = -1;
			} else {
				if (errno != EINTR)
					break;
			}
		}
		open_left |= j->fd[f] >= 0;
	}
	return !open_left;
}

/* The child's exit status (128+N for a signal N, -1 when we killed it). */
static int reap(job *j)
{
	int st;

	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	j->pid = 0;
	if (j->killed)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ---- outcomes ---- */

static size_t first_line_len(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);

	return nl ? (size_t)(nl - s) : n;
}

static char *schedule_text(const choice *cs, size_t n)
{
	buf b = { 0 };
	char num[16];

	buf_add(&b, "", 0);
	/* the choices that matter: up to the last one not 0 */
	while (n > 0 && cs[n - 1].taken == 0)
		n--;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(num, sizeof num, i ? ",%u" : "%u", cs[i].taken);
		buf_add(&b, num, (size_t)k);
	}
	if (n == 0)
		buf_add(&b, "0", 1);
	return b.p;
}

static void record(results *r, job *j, int exit, const choice *cs, size_t ncs)
{
	const char *err = j->out[1].p ? j->out[1].p : "";
	size_t nerr = j->out[1].n, fl = first_line_len(err, nerr);
	const char *out = j->out[0].p ? j->out[0].p : "";
	size_t nout = j->out[0].n;
	outcome *o;

	if (exit < 0) {
		err = "chanlab explore: the run timed out";
		nerr = fl = strlen(err);
	}
	r->runs++;
	for (size_t i = 0; i < r->n; i++) {
		o = &r->v[i];
		if (o->exit == exit && o->nout == nout && memcmp(o->out, out, nout) == 0 &&
		    strlen(o->first_err) == fl && memcmp(o->first_err, err, fl) == 0) {
			o->count++;
			return;
		}
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	o = &r->v[r->n++];
	o->exit = exit;
	o->out = xstrndup(out, nout);
	o->nout = nout;
	o->err = xstrndup(err, nerr);
	o->first_err = xstrndup(err, fl);
	o->count = 1;
	o->seed = j->seed;
	o->schedule = cs ? schedule_text(cs, ncs) : NULL;
}

/* ---- printing ---- */

static void shell_word(buf *b, const char *w)
{
	bool plain = *w != '\0';

	for (const char *p = w; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+", *p))
			plain = false;
	if (plain) {
		buf_add(b, w, strlen(w));
		return;
	}
	buf_add(b, "'", 1);
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			buf_add(b, "'\\''", 4);
		else
			buf_add(b, p, 1);
	}
	buf_add(b, "'", 1);
}

static char *replay_command(const config *c, const outcome *o)
{
	buf b = { 0 };
	char tmp[128];

	buf_add(&b, "chanlab run ", 12);
	if (c->strat == S_DFS) {
		buf_add(&b, "--schedule ", 11);
		buf_add(&b, o->schedule, strlen(o->schedule));
	} else {
		snprintf(tmp, sizeof tmp, "--seed %llu", (unsigned long long)o->seed);
		buf_add(&b, tmp, strlen(tmp));
		if (c->strat == S_PCT) {
			snprintf(tmp, sizeof tmp, " --strategy pct --depth %d --steps %lld",
				c->depth, (long long)c->steps);
			buf_add(&b, tmp, strlen(tmp));
		}
	}
	for (int k = 0; k < c->nargs; k++) {
		buf_add(&b, " ", 1);
		shell_word(&b, c->args[k]);
	}
	return b.p;
}

static void json_string(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int by_count(const void *a, const void *b)
{
	const outcome *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->seed > y->seed) - (x->seed < y->seed);
}

static void print_indented(const char *label, const char *s, size_t n)
{
	printf("  %s:%s\n", label, n ? "" : " (nothing)");
	while (n > 0) {
		size_t k = first_line_len(s, n);

		printf("    | %.*s\n", (int)k, s);
		if (k == n)
			break;
		s += k + 1;
		n -= k + 1;
	}
}

static void report(const config *c, results *r, bool complete, double secs)
{
	qsort(r->v, r->n, sizeof *r->v, by_count);
	for (size_t i = 0; i < r->n; i++) {
		outcome *o = &r->v[i];
		char *replay = replay_command(c, o);

		if (c->json) {
			printf("{\"count\":%ld,\"exit\":%d,\"stdout\":", o->count, o->exit);
			json_string(o->out, o->nout);
			fputs(",\"stderr\":", stdout);
			json_string(o->err, strlen(o->err));
			if (c->strat == S_DFS) {
				fputs(",\"seed\":null,\"schedule\":", stdout);
				json_string(o->schedule, strlen(o->schedule));
			} else {
				printf(",\"seed\":%llu", (unsigned long long)o->seed);
			}
			fputs(",\"replay\":", stdout);
			json_string(replay, strlen(replay));
			puts("}");
		} else {
			printf("outcome %zu of %zu: %ld run%s (%.1f%%), exit status %d%s\n",
				i + 1, r->n, o->count, o->count == 1 ? "" : "s",
				100.0 * (double)o->count / (double)r->runs, o->exit,
				o->exit < 0 ? " (timed out)" : "");
			print_indented("stdout", o->out, o->nout);
			if (*o->first_err)
				printf("  stderr: %s\n", o->first_err);
			printf("  replay: %s\n\n", replay);
		}
		free(replay);
	}
	if (c->json) {
		printf("{\"runs\":%ld,\"distinct\":%zu,\"complete\":%s,\"seconds\":%.3f}\n",
			r->runs, r->n, complete ? "true" : "false", secs);
		return;
	}
	if (c->strat == S_DFS && complete)
		printf("all %ld schedules explored", r->runs);
	else
		printf("%ld runs", r->runs);
	printf(", %zu distinct outcome%s, %.2f s (%.0f schedules/s)\n", r->n,
		r->n == 1 ? "" : "s", secs, secs > 0 ? (double)r->runs / secs : 0.0);
}

/* ---- the loops ---- */

static void job_free(job *j)
{
	for (int f = 0; f < 3; f++)
		free(j->out[f].p);
	free(j->prefix);
	memset(j, 0, sizeof *j);
}

/* Wait for jobs[0..n) to end, each within the timeout; call done(j, exit)
 * for each as it ends.  With wait_one, return after the first. */
static void wait_jobs(const config *c, job *jobs, int n, bool wait_one,
                      void (*done)(job *j, int exit, void *arg), void *arg)
{
	for (;;) {
		struct pollfd pf[MAX_JOBS * 3];
		int np = 0, live = 0;
		double t = now_s();

		for (int k = 0; k < n; k++) {
			job *j = &jobs[k];

			if (j->pid <= 0)
				continue;
			live++;
			if (!j->killed && t - j->started > c->timeout) {
				kill(j->pid, SIGKILL);
				j->killed = true;
			}
			for (int f = 0; f < 3; f++)
				if (j->fd[f] >= 0) {
					pf[np].fd = j->fd[f];
					pf[np].events = POLLIN;
					np++;
				}
		}
		if (live == 0)
			return;
		if (np > 0)
			poll(pf, (nfds_t)np, 100);
		for (int k = 0; k < n; k++) {
			job *j = &jobs[k];

			if (j->pid > 0 && drain(j)) {
				done(j, reap(j), arg);
				if (wait_one)
					return;
			}
		}
	}
}

static void decode_log(const buf *b, choice **cs, size_t *n)
{
	const unsigned char *p = (const unsigned char *)b->p;

	*n = b->n / 6;
	*cs = xrealloc(NULL, (*n ? *n : 1) * sizeof **cs);
	for (size_t i = 0; i < *n; i++) {
		(*cs)[i].n = (uint16_t)(p[6 * i] | p[6 * i + 1] << 8);
		(*cs)[i].taken = (uint16_t)(p[6 * i + 2] | p[6 * i + 3] << 8);
		(*cs)[i].zero_is_last = (uint16_t)(p[6 * i + 4] | p[6 * i + 5] << 8);
	}
}

static void seeded_done(job *j, int exit, void *arg)
{
	record(arg, j, exit, NULL, 0);
	job_free(j);
}

/* random, pct: runs with seeds seed, seed+1, ... */
static void explore_seeded(const config *c, results *r, chl_explore_start start)
{
	job jobs[MAX_JOBS] = { 0 };
	long next = 0;

	while (next < c->runs || r->runs < next) {
		int k, free_slot = -1, busy = 0;

		for (k = 0; k < c->jobs; k++) {
			if (jobs[k].pid > 0)
				busy++;
			else if (free_slot < 0)
				free_slot = k;
		}
		if (next < c->runs && free_slot >= 0) {
			jobs[free_slot].seed = c->seed + (uint64_t)next;
			if (!launch(c, jobs, c->jobs, &jobs[free_slot], start))
				break;
			next++;
			continue;
		}
		if (busy == 0)
			break;
		wait_jobs(c, jobs, c->jobs, true, seeded_done, r);
	}
	wait_jobs(c, jobs, c->jobs, false, seeded_done, r);
}

/* The decisions a random run makes: pct's k. */
typedef struct measured {
	int64_t steps;
} measured;

static void measure_done(job *j, int exit, void *arg)
{
	(void)exit;
	((measured *)arg)->steps = (int64_t)(j->out[2].n / 6);
	job_free(j);
}

static int64_t measure_steps(const config *c, chl_explore_start start)
{
	config one = *c;
	job j = { 0 };
	measured m = { 0 };

	one.strat = S_RANDOM;
	j.seed = c->seed;
	if (!launch(&one, &j, 1, &j, start))
		return 100;
	wait_jobs(&one, &j, 1, false, measure_done, &m);
	return m.steps > 0 ? m.steps : 1;
}

typedef struct dfs_state {
	results *r;
	choice *log;               /* the last run's choices */
	size_t nlog;
} dfs_state;

static void dfs_done(job *j, int exit, void *arg)
{
	dfs_state *d = arg;

	free(d->log);
	decode_log(&j->out[2], &d->log, &d->nlog);
	record(d->r, j, exit, d->log, d->nlog);
	job_free(j);
}

/* The next prefix after a run that made choices cs: the deepest choice
 * with an untried option within the preemption bound, bumped.  Returns
 * false when there is none (the space is covered); *cut is set when an
 * option was skipped only because of the bound. */
static bool next_prefix(const config *c, const choice *cs, size_t n, int **prefix,
                        int *nprefix, bool *cut)
{
	int *pre;
	int used = 0;

	if (n > MAX_CHOICES)
		n = MAX_CHOICES;
	pre = xrealloc(NULL, (n ? n : 1) * sizeof *pre);
	/* preemptions used before each position */
	for (size_t i = 0; i < n; i++)
		pre[i] = 0;
	for (size_t i = 0; i < n; i++) {
		pre[i] = used;
		used += cs[i].zero_is_last && cs[i].taken != 0;
	}
	for (size_t i = n; i-- > 0;) {
		for (unsigned t = cs[i].taken + 1u; t < cs[i].n; t++) {
			int cost = pre[i] + (cs[i].zero_is_last ? 1 : 0);

			if (c->preemptions >= 0 && cost > c->preemptions) {
				*cut = true;
				break;
			}
			*prefix = xrealloc(NULL, (i + 1) * sizeof **prefix);
			for (size_t k = 0; k < i; k++)
				(*prefix)[k] = cs[k].taken;
			(*prefix)[i] = (int)t;
			*nprefix = (int)i + 1;
			free(pre);
			return true;
		}
	}
	free(pre);
	return false;
}

static bool explore_dfs(const config *c, results *r, chl_explore_start start)
{
	dfs_state d = { r, NULL, 0 };
	int *prefix = NULL, nprefix = 0;
	bool cut = false, more = true;

	while (more && r->runs < c->runs) {
		job j = { 0 };

		j.prefix = prefix;
		j.nprefix = nprefix;
		if (!launch(c, &j, 1, &j, start)) {
			free(prefix);
			return false;
		}
		prefix = NULL;      /* the job owns it now */
		wait_jobs(c, &j, 1, false, dfs_done, &d);
		more = next_prefix(c, d.log, d.nlog, &prefix, &nprefix, &cut);
	}
	free(prefix);
	free(d.log);
	return !more && !cut;
}

int chl_explore_main(int argc, char **argv, chl_explore_start start)
{
	config c = { 0 };
	results r = { 0 };
	bool complete = false;
	double t0;
	int rc = parse(argc, argv, &c);

	if (rc != 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	t0 = now_s();
	if (c.strat == S_DFS) {
		complete = explore_dfs(&c, &r, start);
	} else {
		if (c.strat == S_PCT)
			c.steps = measure_steps(&c, start);
		explore_seeded(&c, &r, start);
	}
	report(&c, &r, complete, now_s() - t0);
	fflush(stdout);
	return 0;
}
