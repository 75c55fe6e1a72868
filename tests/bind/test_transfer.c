/*
 * test_transfer.c - copying values between two independent lua_States
 * (bindings/transfer.c): every scalar bit for bit, tables with cycles and
 * shared references, functions with upvalues and globals, standard library
 * C functions, handles with their reference counts, the exact error
 * messages, and a timing print.  Each test gets two fresh states, `src` and
 * `dst` (luaL_newstate + luaL_openlibs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <cmocka.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "transfer.h"

typedef struct pair {
	lua_State *src, *dst;
} pair;

/* ---- a fake handle type: a refcounted C object ---- */

typedef struct fake {
	int refs;
} fake;

#define FAKE "test.fake"

static void *fake_get(lua_State *L, int idx)
{
	fake **u = luaL_testudata(L, idx, FAKE);
	return u ? *u : NULL;
}

static void fake_retain(void *o)
{
	((fake *)o)->refs++;
}

static void fake_release(void *o)
{
	((fake *)o)->refs--;
}

static void fake_push(lua_State *L, void *o)
{
	fake **u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = o;
	luaL_setmetatable(L, FAKE);
}

static int fake_gc(lua_State *L)
{
	fake **u = luaL_checkudata(L, 1, FAKE);
	if (*u)
		fake_release(*u);
	*u = NULL;
	return 0;
}

static const chl_handle_type fake_type = {
	FAKE, fake_get, fake_retain, fake_release, fake_push,
};

/* A second type whose get() encodes a message itself: re-enters the
 * encoder of the same state. */
#define NEST "test.nest"
static chl_msg *nested_msg;

static void *nest_get(lua_State *L, int idx)
{
	(void)idx;
	lua_newtable(L);
	lua_pushinteger(L, 42);
	lua_setfield(L, -2, "inner");
	nested_msg = chl_msg_encode(L, -1, 1, "send");
	lua_pop(L, 1);
	return luaL_testudata(L, idx, NEST) ? *(fake **)luaL_testudata(L, idx, NEST) : NULL;
}

static void nest_push(lua_State *L, void *o)
{
	fake **u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = o;
	luaL_setmetatable(L, NEST);
}

static int nest_gc(lua_State *L)
{
	fake **u = luaL_checkudata(L, 1, NEST);
	if (*u)
		fake_release(*u);
	*u = NULL;
	return 0;
}

static const chl_handle_type nest_type = {
	NEST, nest_get, fake_retain, fake_release, nest_push,
};

/* A third type whose get() raises: the error unwinds through the encoder. */
#define RAISE "test.raise"

static void *raise_get(lua_State *L, int idx)
{
	(void)idx;
	luaL_error(L, "get failed");
	return NULL;
}

static const chl_handle_type raise_type = {
	RAISE, raise_get, fake_retain, fake_release, fake_push,
};

static void open_types(lua_State *L)
{
	luaL_newmetatable(L, RAISE);
	lua_pop(L, 1);
	luaL_newmetatable(L, FAKE);
	lua_pushcfunction(L, fake_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, NEST);
	lua_pushcfunction(L, nest_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

/* Push a new handle on obj (taking a reference) and name it `global`. */
static void new_handle(lua_State *L, fake *obj, const char *global)
{
	fake_retain(obj);
	fake_push(L, obj);
	lua_setglobal(L, global);
}

/* A C function nobody registered, and one the "bindings" did. */
static int l_secret(lua_State *L)
{
	lua_pushliteral(L, "secret");
	return 1;
}

static int l_hello(lua_State *L)
{
	lua_pushliteral(L, "hello from C");
	return 1;
}

/* ---- helpers ---- */

static const char SIG[] =
	"function sig(...)\n"
	"  local out = {}\n"
	"  for i = 1, select('#', ...) do\n"
	"    local v = select(i, ...)\n"
	"    local t = math.type(v) or type(v)\n"
	"    local s\n"
	"    if t == 'integer' then s = string.pack('<j', v)\n"
	"    elseif t == 'float' then s = string.pack('<d', v)\n"
	"    else s = tostring(v) end\n"
	"    out[#out + 1] = t .. ':' .. s\n"
	"  end\n"
	"  return table.concat(out, '|')\n"
	"end\n";

/* Run code (chunk name `name`) in L; it must not fail.  Leaves its results
 * on the stack and returns how many. */
static int run_named(lua_State *L, const char *code, const char *name)
{
	int top = lua_gettop(L);
	if (luaL_loadbuffer(L, code, strlen(code), name) != LUA_OK
	    || lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK)
		fail_msg("Lua error: %s", lua_tostring(L, -1));
	return lua_gettop(L) - top;
}

static int run(lua_State *L, const char *code)
{
	return run_named(L, code, "=test");
}

/* Run code that asserts; fail with its message if it raises. */
static void check(lua_State *L, const char *code)
{
	int n = run(L, code);
	lua_pop(L, n);
}

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	assert_non_null(L);
	luaL_openlibs(L);
	open_types(L);
	run(L, SIG);
	return L;
}

static int setup(void **state)
{
	pair *p = calloc(1, sizeof *p);
	p->src = new_state();
	p->dst = new_state();
	run(p->src, "MARK = 'src'");
	run(p->dst, "MARK = 'dst'");
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	pair *p = *state;
	lua_close(p->src);
	lua_close(p->dst);
	free(p);
	return 0;
}

typedef struct enc_args {
	const char *what, *label;
	int first;
	chl_msg *m;
} enc_args;

static int l_encode(lua_State *L)
{
	enc_args *a = lua_touserdata(L, lua_upvalueindex(1));
	a->m = chl_msg_encode_as(L, 1, lua_gettop(L), a->what, a->label, a->first);
	return 0;
}

/* Encode the n values on top of L (popping them) in protected mode: the
 * message, or NULL with the error message copied into err. */
static chl_msg *try_encode_as(lua_State *L, int n, const char *what,
			      const char *label, int first, char *err, size_t cap)
{
	enc_args a = { what, label, first, NULL };
	int base = lua_gettop(L) - n;
	lua_pushlightuserdata(L, &a);
	lua_pushcclosure(L, l_encode, 1);
	lua_insert(L, -(n + 1));
	if (lua_pcall(L, n, 0, 0) != LUA_OK) {
		snprintf(err, cap, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		assert_int_equal(lua_gettop(L), base);
		return NULL;
	}
	assert_int_equal(lua_gettop(L), base);
	return a.m;
}

static int l_decode(lua_State *L)
{
	const chl_msg *m = lua_touserdata(L, lua_upvalueindex(1));
	int n = chl_msg_decode(L, m);
	assert_int_equal(lua_gettop(L), n);
	lua_createtable(L, n, 1);
	for (int i = 1; i <= n; i++) {
		lua_pushvalue(L, i);
		lua_rawseti(L, -2, i);
	}
	lua_pushinteger(L, n);
	lua_setfield(L, -2, "n");
	lua_setglobal(L, "got");
	return 0;
}

/* Decode m into L as the global table `got` (with got.n); 0 or the error. */
static int try_decode(lua_State *L, const chl_msg *m, char *err, size_t cap)
{
	int base = lua_gettop(L);
	lua_pushlightuserdata(L, (void *)m);
	lua_pushcclosure(L, l_decode, 1);
	int rc = lua_pcall(L, 0, 0, 0);
	if (rc != LUA_OK) {
		snprintf(err, cap, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	assert_int_equal(lua_gettop(L), base);
	return rc;
}

static void decode(lua_State *L, const chl_msg *m)
{
	char err[512];
	if (try_decode(L, m, err, sizeof err))
		fail_msg("decode failed: %s", err);
}

static chl_msg *encode_code(lua_State *L, const char *code)
{
	char err[2048];
	int n = run(L, code);
	chl_msg *m = try_encode_as(L, n, "send", NULL, 0, err, sizeof err);
	if (m == NULL)
		fail_msg("encode failed: %s", err);
	return m;
}

/* Run code in src, move its results to dst's global `got`. */
static void move(pair *p, const char *code)
{
	chl_msg *m = encode_code(p->src, code);
	decode(p->dst, m);
	chl_msg_free(m);
}

/* Run code in src; encoding its results must fail with exactly `expected`. */
static void expect_error_as(lua_State *L, const char *code, const char *what,
			    const char *label, int first, const char *expected)
{
	char err[4096];
	int n = run(L, code);
	chl_msg *m = try_encode_as(L, n, what, label, first, err, sizeof err);
	if (m != NULL) {
		chl_msg_free(m);
		fail_msg("encoding did not fail (expected: %s)", expected);
	}
	assert_string_equal(err, expected);
}

static void expect_error(lua_State *L, const char *code, const char *expected)
{
	expect_error_as(L, code, "send", NULL, 0, expected);
}

/* ---- tests ---- */

static const char SCALARS[] =
	"vals = table.pack(nil, true, false, 0, 1, -1, 127, 128, -128, -129,\n"
	"  32767, 2147483647, 2147483648, -2147483648, -2147483649,\n"
	"  math.maxinteger, math.mininteger, (1 << 53) + 1,\n"
	"  0.0, -0.0, 0.5, 1/0, -1/0, 0/0, -(0/0), 2^53, 2^53 + 2, 3.0, 1e308,\n"
	"  5e-324, -2^63, '', 'a\\0b', string.rep('x\\0', 111),\n"
	"  string.rep('y', 223), string.rep('z', 224),\n"
	"  string.rep('\\0\\255', 5000), nil)\n"
	"return table.unpack(vals, 1, vals.n)\n";

static void test_scalars_round_trip_bit_exact(void **state)
{
	pair *p = *state;
	run(p->src, SCALARS);
	move(p, "local s = {} for i = 1, vals.n do s[i] = sig(vals[i]) end\n"
		"return s, vals.n");
	check(p->dst, "expected, count = got[1], got[2]");
	move(p, "return table.unpack(vals, 1, vals.n)");
	check(p->dst,
	      "assert(got.n == count and count == 38, got.n)\n"
	      "for i = 1, count do\n"
	      "  assert(sig(got[i]) == expected[i], 'value #' .. i)\n"
	      "end\n"
	      "assert(got[1] == nil and got[2] == true and got[3] == false)\n"
	      "assert(got[16] == math.maxinteger and math.type(got[16]) == 'integer')\n"
	      "assert(got[17] == math.mininteger and math.type(got[17]) == 'integer')\n"
	      "assert(got[18] == 9007199254740993 and math.type(got[18]) == 'integer')\n"
	      "assert(got[20] == 0 and 1 / got[20] == -1/0)\n"
	      "assert(got[22] == 1/0 and got[23] == -1/0)\n"
	      "assert(got[24] ~= got[24] and got[25] ~= got[25])\n"
	      "assert(math.type(got[28]) == 'float' and got[28] == 3)\n"
	      "assert(got[33] == 'a\\0b' and #got[33] == 3)\n"
	      "assert(#got[36] == 224 and #got[37] == 10000)\n"
	      "assert(got[37]:sub(-2) == '\\0\\255')\n"
	      "assert(got[38] == nil)\n");
}

static void test_single_scalar_is_small(void **state)
{
	pair *p = *state;
	chl_msg *m = encode_code(p->src, "return 7");
	assert_int_equal(chl_msg_count(m), 1);
	assert_true(chl_msg_size(m) <= 64);
	decode(p->dst, m);
	chl_msg_free(m);
	check(p->dst, "assert(got[1] == 7 and math.type(got[1]) == 'integer')");
	m = encode_code(p->src, "return");
	assert_int_equal(chl_msg_count(m), 0);
	decode(p->dst, m);
	chl_msg_free(m);
	check(p->dst, "assert(got.n == 0)");
}

static void test_nested_tables_and_mixed_keys(void **state)
{
	pair *p = *state;
	move(p,
	     "local t = {1, 2.5, 'three', {4, {5}}, a = {b = {c = 'd'}},\n"
	     "  [1.5] = 'f', ['1'] = 's', [true] = 't', [-7] = 'neg',\n"
	     "  [math.maxinteger] = 'max', [10] = 'ten', [2^63] = 'big'}\n"
	     "local one = {}; one[1.0] = 'x'\n"
	     "local holes = {1, nil, 3}\n"
	     "local rev = {}; for i = 10, 1, -1 do rev[i] = i * 10 end\n"
	     "local numstr = {'a', ['2'] = 'b', ['3'] = 'c'}\n"
	     "return t, one, holes, rev, {[1000000] = 1}, numstr\n");
	check(p->dst,
	      "local t = got[1]\n"
	      "assert(t[1] == 1 and math.type(t[1]) == 'integer')\n"
	      "assert(t[2] == 2.5 and t[3] == 'three')\n"
	      "assert(t[4][1] == 4 and t[4][2][1] == 5)\n"
	      "assert(t.a.b.c == 'd')\n"
	      "assert(t[1.5] == 'f' and t['1'] == 's' and t[true] == 't')\n"
	      "assert(t[-7] == 'neg' and t[math.maxinteger] == 'max')\n"
	      "assert(t[10] == 'ten' and t[2^63] == 'big')\n"
	      "local kinds = {}\n"
	      "for k in pairs(t) do\n"
	      "  local kind = math.type(k) or type(k)\n"
	      "  kinds[kind] = (kinds[kind] or 0) + 1\n"
	      "end\n"
	      "assert(kinds.integer == 7, kinds.integer)\n"
	      "assert(kinds.float == 2 and kinds.string == 2 and kinds.boolean == 1)\n"
	      "local k = next(got[2])\n"
	      "assert(k == 1 and math.type(k) == 'integer' and got[2][1] == 'x')\n"
	      "assert(got[3][1] == 1 and got[3][2] == nil and got[3][3] == 3)\n"
	      "for i = 1, 10 do assert(got[4][i] == i * 10) end\n"
	      "assert(#got[4] == 10)\n"
	      "assert(got[5][1000000] == 1 and next(got[5], 1000000) == nil)\n"
	      "local ns = got[6]\n"
	      "assert(ns[1] == 'a' and ns[2] == nil and ns['2'] == 'b' and ns['3'] == 'c')\n");
}

static void test_cycles_and_shared_references(void **state)
{
	pair *p = *state;
	move(p,
	     "local t = {}; t.self = t\n"
	     "local a = {}\n"
	     "local s = {x = a, y = a, [a] = a, list = {a, a}}\n"
	     "local c1, c2 = {}, {}; c1.other = c2; c2.other = c1\n"
	     "return t, s, c1, a\n");
	check(p->dst,
	      "local t, s, c1, a = got[1], got[2], got[3], got[4]\n"
	      "assert(t.self == t)\n"
	      "assert(s.x == s.y and s.x == a)\n"
	      "assert(s[a] == a and s.list[1] == a and s.list[2] == a)\n"
	      "assert(c1.other.other == c1 and c1.other ~= c1)\n");
}

static void test_many_shared_tables(void **state)
{
	pair *p = *state;
	/* thousands of numbered objects: the object map grows and rehashes */
	move(p, "local shared, t = {}, {}\n"
		"for i = 1, 5000 do t[i] = {shared, i, name = 'n' .. i} end\n"
		"t.long = {[string.rep('k', 300)] = string.rep('v', 300)}\n"
		"return t, shared\n");
	check(p->dst, "local t, shared = got[1], got[2]\n"
		      "assert(#t == 5000)\n"
		      "for i = 1, 5000 do\n"
		      "  assert(t[i][1] == shared and t[i][2] == i and t[i].name == 'n' .. i)\n"
		      "end\n"
		      "assert(t.long[string.rep('k', 300)] == string.rep('v', 300))\n");
	/* and the encoder is fine afterwards */
	move(p, "local a = {}; return {a, a}");
	check(p->dst, "assert(got[1][1] == got[1][2])");
}

static void test_message_is_a_snapshot(void **state)
{
	pair *p = *state;
	chl_msg *m = encode_code(p->src, "T = {n = 1, sub = {1}}; return T");
	check(p->src, "T.n = 2; T.sub[1] = 99");
	decode(p->dst, m);
	check(p->dst, "first = got[1]; assert(first.n == 1 and first.sub[1] == 1)");
	decode(p->dst, m);          /* again: a second, distinct copy */
	chl_msg_free(m);
	check(p->dst, "assert(got[1] ~= first and got[1].n == 1)\n"
		      "got[1].n = 5; assert(first.n == 1)");
	check(p->src, "assert(T.n == 2)");
}

static void test_closure_copies_upvalues(void **state)
{
	pair *p = *state;
	move(p,
	     "local n = 0\n"
	     "local function inc() n = n + 1; return n end\n"
	     "local function get() return n end\n"
	     "inc()\n"
	     "SRC_INC = inc\n"
	     "local function fact(k) if k <= 1 then return 1 end return k * fact(k - 1) end\n"
	     "local cfg = {x = 1}\n"
	     "local function conf() return cfg end\n"
	     "return inc, get, fact, conf, cfg\n");
	check(p->dst,
	      "local inc, get, fact, conf, cfg = table.unpack(got, 1, 5)\n"
	      "assert(inc() == 2 and inc() == 3)\n"
	      "assert(get() == 3, 'upvalue shared between inc and get')\n"
	      "assert(fact(5) == 120)\n"
	      "assert(conf() == cfg and cfg.x == 1)\n");
	check(p->src, "assert(SRC_INC() == 2, 'the original is untouched')");
}

static void test_function_sees_destination_globals(void **state)
{
	pair *p = *state;
	check(p->dst, "print = function(...) printed = table.concat({...}, ' ') end");
	move(p,
	     "return function(x)\n"
	     "  print('hi', x)\n"
	     "  formatted = string.format('%d!', x)\n"
	     "  return MARK\n"
	     "end\n");
	check(p->dst,
	      "local f = got[1]\n"
	      "assert(f(3) == 'dst')\n"
	      "assert(printed == 'hi 3' and formatted == '3!')\n"
	      "local name, env = debug.getupvalue(f, 1)\n"
	      "assert(name == '_ENV' and env == _G)\n");
	check(p->src, "assert(formatted == nil)");
}

static void test_globals_table_anywhere_is_rebound(void **state)
{
	pair *p = *state;
	move(p, "return {env = _G}, _G");
	check(p->dst, "assert(got[1].env == _G and got[2] == _G)");
}

static void test_private_env_is_copied(void **state)
{
	pair *p = *state;
	move(p, "local env = {y = 5}\n"
		"return load('y = y + 1; return y', '=x', 't', env), env\n");
	check(p->dst, "assert(got[1]() == 6 and got[2].y == 6 and y == nil)");
}

static void test_traceback_keeps_line_numbers(void **state)
{
	pair *p = *state;
	int n = run_named(p->src,
			  "return function()\n"
			  "  local x = 1\n"
			  "  error('boom')\n"
			  "end\n", "@job.lua");
	char err[256];
	chl_msg *m = try_encode_as(p->src, n, "send", NULL, 0, err, sizeof err);
	assert_non_null(m);
	decode(p->dst, m);
	chl_msg_free(m);
	check(p->dst,
	      "local ok, e = pcall(got[1])\n"
	      "assert(not ok and e == 'job.lua:3: boom', e)\n"
	      "local tb = select(2, xpcall(got[1], debug.traceback))\n"
	      "assert(tb:find('job.lua:3:', 1, true), tb)\n");
}

static void test_standard_c_functions_cross_by_name(void **state)
{
	pair *p = *state;
	move(p, "return string.upper, print, {f = string.format, r = require,\n"
		"  n = next, floor = math.floor, w = io.write}\n");
	check(p->dst,
	      "assert(rawequal(got[1], string.upper) and got[1]('x') == 'X')\n"
	      "assert(rawequal(got[2], print))\n"
	      "local t = got[3]\n"
	      "assert(t.f == string.format and t.f('%d', 4) == '4')\n"
	      "assert(t.r == require and t.n == next)\n"
	      "assert(t.floor == math.floor and t.w == io.write)\n");
	/* by name: a destination that replaced print gets its replacement */
	check(p->dst, "print = function() return 'mine' end");
	move(p, "return print");
	check(p->dst, "assert(got[1] == print and got[1]() == 'mine')");
}

static void test_registered_binding_function_crosses(void **state)
{
	pair *p = *state;
	lua_pushcfunction(p->src, l_hello);
	lua_setglobal(p->src, "hello");
	move(p, "return {hello}");
	check(p->dst, "assert(got[1][1]() == 'hello from C')");
}

static void test_missing_library_in_destination(void **state)
{
	pair *p = *state;
	lua_State *bare = luaL_newstate();
	luaL_requiref(bare, LUA_GNAME, luaopen_base, 1);
	lua_pop(bare, 1);
	chl_msg *m = encode_code(p->src, "return print, {string.upper}");
	char err[256];
	assert_int_not_equal(try_decode(bare, m, err, sizeof err), LUA_OK);
	assert_string_equal(err,
		"cannot receive string.upper: not in this state's libraries");
	chl_msg_free(m);
	lua_close(bare);
}

static void test_error_paths(void **state)
{
	pair *p = *state;
	expect_error(p->src, "return {jobs = {1, 2, coroutine.create(print)}}",
		     "cannot send thread (at value.jobs[3])");
	expect_error(p->src, "return {out = io.stdout}",
		     "cannot send userdata FILE* (at value.out)");
	expect_error(p->src, "return {[coroutine.create(print)] = 1}",
		     "cannot send thread (at value.<key>)");
	expect_error(p->src, "local co = coroutine.create(print)\n"
			     "return {handler = function() return co end}",
		     "cannot send thread (at value.handler.<upvalue co>)");
	expect_error(p->src,
		     "return {['a b'] = {[2.5] = {[true] = {['end'] = {\n"
		     "  coroutine.create(print)}}}}}",
		     "cannot send thread (at value[\"a b\"][2.5][true][\"end\"][1])");
	expect_error(p->src, "return {[{}] = {f = coroutine.wrap(print)}}",
		     "cannot send C function (at value[<table>].f)");
	expect_error(p->src, "return 1, 2, coroutine.create(print)",
		     "cannot send thread (at value #3)");
	lua_pushcfunction(p->src, l_secret);
	lua_setglobal(p->src, "secret");
	expect_error(p->src, "return {fn = secret}",
		     "cannot send C function (at value.fn)");
	lua_pushlightuserdata(p->src, p);
	lua_setglobal(p->src, "light");
	expect_error(p->src, "return {light}",
		     "cannot send light userdata (at value[1])");
	/* the bindings' forms */
	expect_error_as(p->src, "return print, 1, {x = coroutine.create(print)}",
			"pass %s to go", "argument", 1,
			"cannot pass thread to go (at argument #3.x)");
	expect_error_as(p->src, "return {x = coroutine.create(print)}",
			"set", NULL, 0, "cannot set thread (at value.x)");
	/* the encoder is usable again after errors */
	move(p, "return {1, {2}}");
	check(p->dst, "assert(got[1][2][1] == 2)");
}

static void test_nesting_limit(void **state)
{
	pair *p = *state;
	/* 200 nested tables cross */
	move(p, "local t = {}\n"
		"for i = 1, 199 do t = {t} end\n"
		"return t\n");
	check(p->dst, "local d, t = 1, got[1]\n"
		      "while t[1] do d = d + 1; t = t[1] end\n"
		      "assert(d == 200, d)");
	/* 201 do not */
	char expected[1024];
	int n = snprintf(expected, sizeof expected,
			 "cannot send: nesting deeper than 200 (at value");
	for (int i = 0; i < 200; i++)
		n += snprintf(expected + n, sizeof expected - (size_t)n, "[1]");
	snprintf(expected + n, sizeof expected - (size_t)n, ")");
	expect_error(p->src, "local t = {}\n"
			     "for i = 1, 200 do t = {t} end\n"
			     "return t\n", expected);
	/* functions count as levels too; a path too long to show whole keeps
	 * its deepest part after "..." */
	char err[4096];
	n = run(p->src, "local f = function() end\n"
			"for i = 1, 200 do local g = f; f = function() return g end end\n"
			"return f\n");
	assert_null(try_encode_as(p->src, n, "pass %s to go", "argument", 1,
				  err, sizeof err));
	const char *head = "cannot pass value to go: nesting deeper than 200 "
			   "(at argument #1....<upvalue g>.<upvalue g>";
	const char *tail = ".<upvalue g>.<upvalue g>)";
	assert_memory_equal(err, head, strlen(head));
	assert_string_equal(err + strlen(err) - strlen(tail), tail);
	assert_true(strlen(err) < 1200);
}

static void test_handles_are_shared_with_refcounts(void **state)
{
	pair *p = *state;
	fake obj = { 0 };
	new_handle(p->src, &obj, "h");
	assert_int_equal(obj.refs, 1);
	chl_msg *m = encode_code(p->src, "return {h, h, {inner = h}}, h");
	assert_int_equal(obj.refs, 2);          /* one per distinct userdata */
	decode(p->dst, m);
	assert_int_equal(obj.refs, 3);
	check(p->dst, "local t = got[1]\n"
		      "assert(t[1] == t[2] and t[1] == t[3].inner and t[1] == got[2])\n"
		      "assert(getmetatable(t[1]) == debug.getregistry()['test.fake'])\n"
		      "first = t[1]");
	decode(p->dst, m);
	assert_int_equal(obj.refs, 4);
	chl_msg_free(m);
	assert_int_equal(obj.refs, 3);
	check(p->dst, "got = nil; collectgarbage(); collectgarbage()");
	assert_int_equal(obj.refs, 2);
	check(p->dst, "first = nil; collectgarbage(); collectgarbage()");
	assert_int_equal(obj.refs, 1);
	/* failures take no reference */
	expect_error(p->src, "return {h, coroutine.create(print)}",
		     "cannot send thread (at value[2])");
	assert_int_equal(obj.refs, 1);
	/* a closed handle (get() returns NULL) cannot cross */
	check(p->src, "closed = setmetatable({}, {})");
	fake **u = lua_newuserdatauv(p->src, sizeof *u, 0);
	*u = NULL;
	luaL_setmetatable(p->src, FAKE);
	lua_setglobal(p->src, "closed");
	expect_error(p->src, "return closed", "cannot send test.fake (at value)");
	/* a forged __name is foreign userdata */
	lua_newuserdatauv(p->src, 1, 0);
	lua_newtable(p->src);
	lua_pushliteral(p->src, FAKE);
	lua_setfield(p->src, -2, "__name");
	lua_setmetatable(p->src, -2);
	lua_setglobal(p->src, "forged");
	expect_error(p->src, "return {forged}",
		     "cannot send userdata test.fake (at value[1])");
	check(p->src, "h = nil; collectgarbage(); collectgarbage()");
	assert_int_equal(obj.refs, 0);
}

static void test_reentrant_encode_from_a_handle(void **state)
{
	pair *p = *state;
	fake obj = { 0 };
	fake_retain(&obj);
	nest_push(p->src, &obj);
	lua_setglobal(p->src, "n");
	chl_msg *m = encode_code(p->src, "return {a = {1, 2, 3}, n = n, b = {4}}");
	assert_non_null(nested_msg);
	decode(p->dst, m);
	check(p->dst, "assert(got[1].a[3] == 3 and got[1].b[1] == 4)\n"
		      "assert(type(got[1].n) == 'userdata')");
	decode(p->dst, nested_msg);
	check(p->dst, "assert(got[1].inner == 42)");
	chl_msg_free(nested_msg);
	nested_msg = NULL;
	chl_msg_free(m);
	check(p->dst, "got = nil; collectgarbage(); collectgarbage()");
	check(p->src, "n = nil; collectgarbage(); collectgarbage()");
	assert_int_equal(obj.refs, 0);
}

static void test_error_unwinding_through_encode(void **state)
{
	pair *p = *state;
	lua_newuserdatauv(p->src, 1, 0);
	luaL_setmetatable(p->src, RAISE);
	lua_setglobal(p->src, "bad");
	for (int i = 0; i < 3; i++) {
		expect_error(p->src, "return {1, {2, {bad}}}", "get failed");
		move(p, "return {1, {2, {3}}}, 'x'");
		check(p->dst, "assert(got[1][2][2][1] == 3 and got[2] == 'x')");
	}
}

static void test_message_outlives_its_source(void **state)
{
	pair *p = *state;
	lua_State *tmp = new_state();
	chl_msg *m = encode_code(tmp,
		"local acc = {}\n"
		"return function(x) acc[#acc + 1] = x; return #acc, string.rep(x, 2) end\n");
	lua_close(tmp);
	decode(p->dst, m);
	chl_msg_free(m);
	check(p->dst, "local n, s = got[1]('ab'); assert(n == 1 and s == 'abab')\n"
		      "assert(got[1]('c') == 2)");
}

typedef struct thread_job {
	const chl_msg *m;
	int ok;
} thread_job;

static void *decode_elsewhere(void *arg)
{
	thread_job *job = arg;
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	lua_pushlightuserdata(L, (void *)job->m);
	lua_pushcclosure(L, l_decode, 1);
	if (lua_pcall(L, 0, 0, 0) == LUA_OK
	    && luaL_dostring(L, "return got[1](got[2])") == LUA_OK)
		job->ok = lua_tointeger(L, -1) == 55;
	lua_close(L);
	return NULL;
}

static void test_decode_on_another_thread(void **state)
{
	pair *p = *state;
	chl_msg *m = encode_code(p->src,
		"return function(t) local s = 0 for _, v in ipairs(t) do s = s + v end return s end,\n"
		"  {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}\n");
	thread_job job = { m, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, decode_elsewhere, &job), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	chl_msg_free(m);
	assert_true(job.ok);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Round trips of the value on top of src (popped) for about `secs`;
 * returns the number per second.  Checks the last copy with `verify`. */
static double time_round_trips(pair *p, double secs, const char *verify)
{
	lua_State *src = p->src, *dst = p->dst;
	int v = lua_gettop(src);
	long iters = 0;
	double t0 = now_s(), t1;
	do {
		for (int i = 0; i < 100; i++) {
			chl_msg *m = chl_msg_encode(src, v, 1, "send");
			chl_msg_decode(dst, m);
			chl_msg_free(m);
			lua_setglobal(dst, "last");
		}
		iters += 100;
		t1 = now_s();
	} while (t1 - t0 < secs);
	lua_pop(src, 1);
	check(dst, verify);
	return (double)iters / (t1 - t0);
}

static void test_timing(void **state)
{
	pair *p = *state;
	run(p->src, "local t = {}; for i = 1, 1000 do t[i] = i end; return t");
	double ints = time_round_trips(p, 0.3,
		"assert(#last == 1000 and last[1000] == 1000)");
	run(p->src, "local t = {}; for i = 1, 1000 do t[i] = i + 0.5 end; return t");
	double floats = time_round_trips(p, 0.3,
		"assert(#last == 1000 and last[1000] == 1000.5)");
	run(p->src, "return 12345");
	double one = time_round_trips(p, 0.2, "assert(last == 12345)");
	run(p->src, "return 'short string'");
	double str = time_round_trips(p, 0.2, "assert(last == 'short string')");
	run(p->src, "return {id = 7, name = 'job', tags = {'a', 'b'}}");
	double rec = time_round_trips(p, 0.2, "assert(last.tags[2] == 'b')");
	printf("transfer: 1000-integer table %.0f round trips/s (%.2f us each)\n",
	       ints, 1e6 / ints);
	printf("transfer: 1000-float table   %.0f round trips/s (%.2f us each)\n",
	       floats, 1e6 / floats);
	printf("transfer: one integer %.0f ns, short string %.0f ns, "
	       "small record %.0f ns per round trip\n",
	       1e9 / one, 1e9 / str, 1e9 / rec);
	assert_true(ints > 0 && one > 0);
}

int main(void)
{
	chl_handle_type_register(&fake_type);
	chl_handle_type_register(&nest_type);
	chl_handle_type_register(&raise_type);
	chl_handle_type_register(&fake_type);   /* twice: ignored */
	chl_transfer_register_cfunction("test.hello", l_hello);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scalars_round_trip_bit_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_scalar_is_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_tables_and_mixed_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cycles_and_shared_references, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_shared_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_is_a_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closure_copies_upvalues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_sees_destination_globals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_globals_table_anywhere_is_rebound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_env_is_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traceback_keeps_line_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_c_functions_cross_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registered_binding_function_crosses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_library_in_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handles_are_shared_with_refcounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentrant_encode_from_a_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_unwinding_through_encode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_outlives_its_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_on_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
