/*
 * main.c - the `chanlab` interpreter.
 *
 *   chanlab [run] [--procs N] [--seed N ...] [--leaks[=fatal]] [--trace FILE]
 *           [--sandbox ...] script.lua [args...]
 *   chanlab [--procs N] -e 'code'
 *   chanlab explore [options] script.lua [args...]   (explore.c)
 *   chanlab lab list | run N | verify [N] [--show]
 *   chanlab --help | --version
 *   chanlab            (a terminal: an interactive prompt; else stdin)
 *
 * The script runs as goroutine 1 on the scheduler, with the API as
 * globals, `arg` and `...` as in lua, and its folder first on
 * package.path.  Exit status: 0 when the main goroutine returns (whatever
 * else runs), 1 for usage errors and scripts that do not load (printed as
 * "chanlab: file:line: message"), 2 for panics and deadlocks (and, with
 * --leaks=fatal, for goroutines leaked at the end).  Ctrl-\ (SIGQUIT)
 * prints every goroutine and exits 2, as in Go.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "interp/explore.h"
#include "interp/limitargs.h"
#include "module.h"
#include "runtime/lazyenv.h"
#include "runtime/report.h"
#include "runtime/sigquit.h"
#include "trace/trace.h"
#include "lab_lua.h"
#include "repl_lua.h"

static const char usage[] =
	"usage: chanlab [run] [options] script.lua [args...]\n"
	"       chanlab [options] -e 'code'\n"
	"       chanlab explore [--runs N] [--strategy random|pct|dfs] [--depth D]\n"
	"                       [--preemptions P] [--jobs J] [--json] script.lua [args...]\n"
	"       chanlab lab list | run N | verify [N] [--show]\n"
	"       chanlab --help | --version\n"
	"With no script, a terminal gets an interactive prompt; otherwise the\n"
	"script is read from standard input.\n"
	"Options:\n"
	"  --procs N          worker threads (default: CPUs)\n"
	"  --leaks            when the script ends, report the goroutines that can\n"
	"                     never run again (leaked, or in a partial deadlock) on\n"
	"                     stderr, in Go's dump format\n"
	"  --leaks=fatal      the same, and exit 2 when there are any\n"
	"  --seed N           deterministic run: one worker, every scheduling choice\n"
	"                     from a generator seeded by N, a virtual clock (sleeps\n"
	"                     take no time); the same seed gives the same output.\n"
	"                     signal.raise is delivered in order; signals from outside\n"
	"                     are not reproducible.\n"
	"  --strategy S       with --seed: random (default) or pct\n"
	"  --depth D          pct: the bug depth (default 3)\n"
	"  --steps K          pct: decisions expected per run (default 100)\n"
	"  --schedule LIST    deterministic run replaying the choices LIST\n"
	"                     (comma-separated, as `explore --strategy dfs` prints)\n"
	"  --trace FILE       record every goroutine's life and write it at the end\n"
	"                     (also on panic, deadlock, Ctrl-C): FILE.html is a\n"
	"                     timeline page, any other name Chrome trace JSON for\n"
	"                     ui.perfetto.dev or chrome://tracing\n"
	"  --trace-summary    at the end, time running and blocked per goroutine\n"
	"                     and the longest channel waits, on stderr\n"
	"Limits, for untrusted scripts (past one: \"fatal error: ...\", exit 2):\n"
	"  --sandbox          a restricted standard library (no files, processes,\n"
	"                     C modules or binary chunks) and, unless given,\n"
	"                     --mem-limit 256M --cpu-limit 10 --timeout 30\n"
	"                     --max-goroutines 10000 --max-buffer 1048576\n"
	"  --mem-limit SIZE   memory of the whole program: Lua states, channel\n"
	"                     buffers, messages (SIZE: bytes, or with K, M, G)\n"
	"  --goroutine-mem SIZE  memory of each goroutine's Lua state\n"
	"  --cpu-limit SECS   CPU time of the process\n"
	"  --timeout SECS     wall time\n"
	"  --max-goroutines N goroutines alive at once\n"
	"  --max-buffer N     values in a channel's buffer\n"
	"explore runs the script under many schedules (default: pct, 1000 runs) and\n"
	"prints each distinct outcome with the command that replays it.\n"
	"Ctrl-\\ (SIGQUIT) prints every goroutine and exits 2.\n"
	"Environment: CHANLAB_PROCS (worker threads, default: CPUs),\n"
	"CHANLAB_PREEMPT=0 (no preemption), CHANLAB_SEED (as --seed),\n"
	"CHANLAB_TRACE (as --trace), CHANLAB_LABS (the labs folder).\n";

static _Noreturn void die_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "chanlab: %s\n", msg);
	fputs(usage, stderr);
	exit(1);
}

/* ---- the main goroutine's end ---- */

/* What --leaks asked for (main_finish's hook argument). */
enum { LEAKS_OFF, LEAKS_REPORT, LEAKS_FATAL };

/* Runs in goroutine 1 when its chunk returns: the program ends here and
 * now, as Go's does when main returns - on this worker, before the
 * scheduler can notice that the goroutines left behind are all asleep.
 * With --leaks the leak report comes first (leaks.h: the world stays
 * stopped, so nothing runs between the report and the exit).  An error
 * is left to panic. */
static int main_finish(lua_State *L, int status, int base, void *arg)
{
	int leaks = (int)(intptr_t)arg;

	(void)base;
	if (status != LUA_OK)
		return 0;
	chl_rt_exit(leaks == LEAKS_OFF ? 0 : chl_leaks_at_exit(L, leaks == LEAKS_FATAL));
}

/* ---- setup ---- */

static char *dir_of(const char *path)
{
	char *copy = strdup(path), *slash;

	if (!copy) {
		fputs("chanlab: not enough memory\n", stderr);
		exit(1);
	}
	slash = strrchr(copy, '/');
	if (!slash) {
		free(copy);
		return dir_of("./x");
	}
	if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	return copy;
}

static void set_globals(lua_State *L, const char *script_dir, bool sandbox)
{
	if (sandbox) {             /* as every goroutine's (runtime/sandbox.h) */
		chl_lazyenv_install(L);
		return;
	}
	luaL_openlibs(L);
	chl_module_set_globals(L);
	if (script_dir) {
		lua_getglobal(L, "package");
		lua_getfield(L, -1, "path");
		lua_pushfstring(L, "%s/?.lua;%s", script_dir, lua_tostring(L, -1));
		lua_setfield(L, -3, "path");
		lua_pop(L, 2);
	}
}

/* arg[0] = script, arg[1..] = its arguments, arg[-k] = what came before. */
static void set_arg(lua_State *L, char **argv, int argc, int script)
{
	int i;

	lua_createtable(L, argc - script - 1, script + 1);
	for (i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

/* In load_in (protected): a load that failed raises its message. */
static void load_or_die(lua_State *L, int rc)
{
	if (rc != LUA_OK)
		lua_error(L);
}

/* The labs folder: $CHANLAB_LABS, ./labs, or beside the executable
 * (build/chanlab, build/tsan/chanlab, PREFIX/bin/chanlab). */
static void find_labs(char *out, size_t size, const char *exe)
{
	const char *env = getenv("CHANLAB_LABS");
	char *dir = dir_of(exe);
	const char *tries[] = { "%s/../labs", "%s/../../labs", "%s/../share/chanlab/labs" };
	size_t i;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		free(dir);
		return;
	}
	snprintf(out, size, "labs");
	if (access("labs/01_worker_pool.lua", R_OK) != 0)
		for (i = 0; i < sizeof tries / sizeof *tries; i++) {
			char path[PATH_MAX + 32];
			snprintf(out, size, tries[i], dir);
			snprintf(path, sizeof path, "%s/01_worker_pool.lua", out);
			if (access(path, R_OK) == 0)
				break;
		}
	free(dir);
}

/* ---- the steps of main ---- */

/* What the command line asks for. */
typedef struct options {
	chl_rt_config cfg;
	const char *code;          /* -e 'code' */
	const char *script;        /* a file, "-" (stdin), or NULL */
	char *script_dir;          /* its folder (owned), or NULL */
	bool lab;                  /* chanlab lab ... */
	int leaks;                 /* LEAKS_*: --leaks, --leaks=fatal */
	int first_arg;             /* argv index of the script's first argument */
	chl_decide_config det;     /* with cfg.det = &det: a deterministic run */
	int replay[4096];          /* --schedule's choices */
	chl_limits lim;            /* --sandbox, --mem-limit ... (limitargs.h) */
	chl_trace_config trace;    /* --trace FILE, --trace-summary */
} options;

/* A whole number option value, or a usage error. */
static long long number_arg(const char *opt, const char *v, long long min)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	if (!*v || *end || n < min) {
		char msg[96];

		snprintf(msg, sizeof msg, "%s wants a whole number >= %lld", opt, min);
		die_usage(msg);
	}
	return n;
}

/* --schedule 0,1,0,2 */
static void parse_schedule(options *o, const char *list)
{
	const char *p = list;

	o->det.strategy = CHL_STRATEGY_REPLAY;
	o->det.replay = o->replay;
	o->det.nreplay = 0;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 0 || o->det.nreplay == (int)(sizeof o->replay / sizeof *o->replay))
			die_usage("--schedule wants numbers >= 0 separated by commas");
		o->replay[o->det.nreplay++] = (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			die_usage("--schedule wants numbers >= 0 separated by commas");
	}
	o->cfg.det = &o->det;
}

/* The options of a deterministic run; true if argv[*i] was one. */
static bool det_option(int argc, char **argv, int *i, options *o)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (strcmp(a, "--seed") == 0 && v) {
		o->det.seed = (uint64_t)number_arg("--seed", v, 0);
		o->cfg.det = &o->det;
	} else if (strncmp(a, "--seed=", 7) == 0) {
		o->det.seed = (uint64_t)number_arg("--seed", a + 7, 0);
		o->cfg.det = &o->det;
		return true;
	} else if (strcmp(a, "--strategy") == 0 && v) {
		if (strcmp(v, "random") == 0)
			o->det.strategy = CHL_STRATEGY_RANDOM;
		else if (strcmp(v, "pct") == 0)
			o->det.strategy = CHL_STRATEGY_PCT;
		else
			die_usage("--strategy wants random or pct");
	} else if (strcmp(a, "--depth") == 0 && v) {
		o->det.depth = (int)number_arg("--depth", v, 1);
	} else if (strcmp(a, "--steps") == 0 && v) {
		o->det.steps = number_arg("--steps", v, 1);
	} else if (strcmp(a, "--schedule") == 0 && v) {
		parse_schedule(o, v);
	} else if (strcmp(a, "--decision-log") == 0 && v) {
		o->det.log_fd = (int)number_arg("--decision-log", v, 1);
	} else {
		return false;
	}
	(*i)++;
	return true;
}

/* --trace FILE, --trace=FILE, --trace-summary; true if argv[*i] was one. */
static bool trace_option(int argc, char **argv, int *i, options *o)
{
	const char *a = argv[*i];

	if (strcmp(a, "--trace") == 0 && *i + 1 < argc)
		o->trace.path = argv[++*i];
	else if (strncmp(a, "--trace=", 8) == 0)
		o->trace.path = a + 8;
	else if (strcmp(a, "--trace-summary") == 0)
		o->trace.summary = true;
	else
		return false;
	return true;
}

/* Parse argv into o; prints and exits for --help, --version and usage
 * errors. */
static void parse_args(int argc, char **argv, options *o)
{
	int i = 1;

	const char *seed = getenv("CHANLAB_SEED");
	const char *trace = getenv("CHANLAB_TRACE");

	chl_rt_config_from_env(&o->cfg);
	o->cfg.detect_deadlock = true;
	if (seed && *seed) {
		o->det.seed = (uint64_t)number_arg("CHANLAB_SEED", seed, 0);
		o->cfg.det = &o->det;
	}
	if (trace && *trace)
		o->trace.path = trace;
	if (i < argc && strcmp(argv[i], "run") == 0)
		i++;
	else if (i < argc && strcmp(argv[i], "lab") == 0) {
		o->lab = true;
		i++;
	}
	for (; i < argc && argv[i][0] == '-' && !o->lab; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
			printf("chanlab %s (%s)\n", CHANLAB_VERSION, LUA_RELEASE);
			exit(0);
		} else if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc) {
			o->cfg.procs = atoi(argv[++i]);
			if (o->cfg.procs < 1)
				die_usage("--procs wants a number >= 1");
		} else if (strncmp(argv[i], "--procs=", 8) == 0) {
			o->cfg.procs = atoi(argv[i] + 8);
			if (o->cfg.procs < 1)
				die_usage("--procs wants a number >= 1");
		} else if (strcmp(argv[i], "--leaks") == 0) {
			o->leaks = LEAKS_REPORT;
		} else if (strcmp(argv[i], "--leaks=fatal") == 0) {
			o->leaks = LEAKS_FATAL;
		} else if (det_option(argc, argv, &i, o) || trace_option(argc, argv, &i, o)) {
			continue;
		} else if (chl_limit_option(argc, argv, &i, &o->lim, die_usage)) {
			continue;
		} else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
			o->code = argv[++i];
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-") == 0) {
			break;
		} else {
			fprintf(stderr, "chanlab: unknown option '%s'\n", argv[i]);
			die_usage(NULL);
		}
	}
	o->first_arg = i;
	if (!o->lab && !o->code && i < argc) {
		o->script = argv[i];
		o->first_arg = i + 1;
		if (strcmp(o->script, "-") != 0)
			o->script_dir = dir_of(o->script);
	}
	o->cfg.script_dir = o->script_dir;
	chl_limit_options_done(&o->lim);
	o->cfg.limits = &o->lim;
}

/* Protected, as lua.c's pmain (a state out of memory raises): the
 * globals and `arg`. */
static int set_up_state(lua_State *L)
{
	const options *o = lua_touserdata(L, 1);
	char **argv = lua_touserdata(L, 2);
	int argc = (int)lua_tointeger(L, 3);

	lua_settop(L, 0);
	set_globals(L, o->script_dir, o->lim.sandbox);
	set_arg(L, argv, argc, o->first_arg - 1);
	return 0;
}

/* Protected: push the script's arguments (its results). */
static int push_args(lua_State *L)
{
	char **argv = lua_touserdata(L, 1);
	int from = (int)lua_tointeger(L, 2), argc = (int)lua_tointeger(L, 3);

	lua_settop(L, 0);
	luaL_checkstack(L, argc - from, "too many arguments");
	for (int i = from; i < argc; i++)
		lua_pushstring(L, argv[i]);
	return argc - from;
}

/* Start the runtime and make the main goroutine's state, with the API as
 * globals and `arg`; exits 1 when either cannot be made. */
static lua_State *set_up(int argc, char **argv, options *o, chl_rt **rt, goroutine **g)
{
	lua_State *L;

	*rt = chl_module_start(&o->cfg);
	if (!*rt) {
		fputs("chanlab: cannot start the runtime (out of memory or threads)\n", stderr);
		exit(1);
	}
	if ((o->trace.path || o->trace.summary) && !o->lab) {
		o->trace.script = o->script ? o->script : o->code ? "(command line)" : "stdin";
		if (chl_trace_start(&o->trace) != 0) {
			fprintf(stderr, "chanlab: cannot write the trace %s: %s\n", o->trace.path,
			        strerror(errno));
			exit(1);
		}
	}
	L = chl_goroutine_new_main(*rt, g);
	if (!L) {
		fputs("chanlab: not enough memory\n", stderr);
		exit(1);
	}
	lua_pushcfunction(L, set_up_state);
	lua_pushlightuserdata(L, o);
	lua_pushlightuserdata(L, argv);
	lua_pushinteger(L, argc);
	if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
		fprintf(stderr, "chanlab: %s\n", lua_tostring(L, -1));
		exit(1);
	}
	return L;
}

/* The lab runner gets the executable's path and the labs folder. */
static void load_lab_runner(lua_State *L)
{
	char exe[PATH_MAX], labs[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	exe[n > 0 ? n : 0] = '\0';
	find_labs(labs, sizeof labs, exe);
	lua_pushstring(L, exe);
	lua_setglobal(L, "CHANLAB_EXE");
	lua_pushstring(L, labs);
	lua_setglobal(L, "CHANLAB_LABS");
	load_or_die(L, luaL_loadbuffer(L, chl_lab_lua, sizeof chl_lab_lua - 1, "=lab"));
}

/* Push the main chunk: the lab runner, -e code, the script, the prompt
 * (a terminal and no script) or stdin; raises when it does not load. */
static void load_chunk(lua_State *L, const options *o)
{
	const char *mode = o->lim.sandbox ? "t" : NULL;   /* no binary chunk */

	if (o->lab)
		load_lab_runner(L);
	else if (o->code)
		load_or_die(L, luaL_loadbufferx(L, o->code, strlen(o->code), "=(command line)", mode));
	else if (o->script && strcmp(o->script, "-") != 0)
		load_or_die(L, luaL_loadfilex(L, o->script, mode));
	else if (!o->script && isatty(0))
		load_or_die(L, luaL_loadbuffer(L, chl_repl_lua, sizeof chl_repl_lua - 1, "=repl"));
	else
		load_or_die(L, luaL_loadfilex(L, NULL, mode));
}

/* Protected: the state may run out of memory anywhere in the loading. */
static int load_in(lua_State *L)
{
	const options *o = lua_touserdata(L, 1);

	lua_settop(L, 0);
	load_chunk(L, o);
	return 1;
}

/* Push the main chunk (load_chunk); exits 1 when it does not load. */
static void load_main(lua_State *L, const options *o)
{
	lua_pushcfunction(L, load_in);
	lua_pushlightuserdata(L, (void *)o);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		const char *msg = lua_tostring(L, -1);

		fprintf(stderr, "chanlab: %s\n", msg ? msg : "cannot load the script");
		exit(1);
	}
}

/* Run the chunk as goroutine 1 with the script's arguments.  Never
 * returns: the program ends in main_finish, a panic or a deadlock. */
static _Noreturn void run(lua_State *L, int argc, char **argv, const options *o,
                          chl_rt *rt, goroutine *g)
{
	lua_pushcfunction(L, push_args);
	lua_pushlightuserdata(L, argv);
	lua_pushinteger(L, o->first_arg);
	lua_pushinteger(L, argc);
	if (lua_pcall(L, 3, LUA_MULTRET, 0) != LUA_OK) {
		fprintf(stderr, "chanlab: %s\n", lua_tostring(L, -1));
		exit(1);
	}
	g->hooks.finish = main_finish;
	g->hooks.arg = (void *)(intptr_t)o->leaks;
	chl_sigquit_install(rt);
	chl_goroutine_spawn(rt, g);
	for (;;)
		pause();
}

/* Everything after the arguments are parsed. */
static _Noreturn void start(int argc, char **argv, options *o)
{
	chl_rt *rt;
	goroutine *g;
	lua_State *L = set_up(argc, argv, o, &rt, &g);

	load_main(L, o);
	run(L, argc, argv, o, rt, g);
}

/* An explorer's child (explore.h): argv as for `chanlab run`, the
 * schedule given. */
static _Noreturn void start_explored(int argc, char **argv, const chl_decide_config *det)
{
	options o = { 0 };

	parse_args(argc, argv, &o);
	o.det = *det;
	o.cfg.det = &o.det;
	o.trace.path = NULL;       /* the explored runs write no trace */
	o.trace.summary = false;
	start(argc, argv, &o);
}

int main(int argc, char **argv)
{
	options o = { 0 };

	if (argc > 1 && strcmp(argv[1], "explore") == 0)
		return chl_explore_main(argc - 1, argv + 1, start_explored);
	parse_args(argc, argv, &o);
	start(argc, argv, &o);
}
