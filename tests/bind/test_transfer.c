/*
 * test_transfer.c - copying values between two independent lua_States
 * (bindings/value/): every scalar bit for bit, tables with cycles and
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

#include "value/transfer.h"

typedef struct pair {
	lua_State *src, *dst;
} pair;

/* A step run in protected mode (protect, below). */
typedef void (*step_fn)(lua_State *L, void *ud);
static void protect(lua_State *L, step_fn fn, void *ud);

/* ---- a fake handle type: a refcounted C object ---- */

typedef struct fake {
	int refs;
} fake;

#define FAKE "test.fake"

static void *fake_get(lua_State *L, int idx, const chl_handle_type *t)
{
	(void)t;
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

static void fake_push(lua_State *L, const chl_handle_type *t, void *o)
{
	(void)t;
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

static void *nest_get(lua_State *L, int idx, const chl_handle_type *t)
{
	(void)t;
	lua_newtable(L);
	lua_pushinteger(L, 42);
	lua_setfield(L, -2, "inner");
	nested_msg = chl_msg_encode(L, -1, 1, "send");
	lua_pop(L, 1);
	return luaL_testudata(L, idx, NEST) ? *(fake **)luaL_testudata(L, idx, NEST) : NULL;
}

static void nest_push(lua_State *L, const chl_handle_type *t, void *o)
{
	(void)t;
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

static void *raise_get(lua_State *L, int idx, const chl_handle_type *t)
{
	(void)idx;
	(void)t;
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

typedef struct handle_args {
	fake *obj;
	const char *global;
} handle_args;

static void new_handle_step(lua_State *L, void *ud)
{
	handle_args *a = ud;
	fake **u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = NULL;                      /* no reference until it is complete */
	luaL_setmetatable(L, FAKE);
	fake_retain(a->obj);
	*u = a->obj;
	lua_setglobal(L, a->global);
}

/* Push a new handle on obj (taking a reference) and name it `global`. */
static void new_handle(lua_State *L, fake *obj, const char *global)
{
	handle_args a = { obj, global };
	protect(L, new_handle_step, &a);
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

/* Steps that allocate run in protected mode: out of memory is then a Lua
 * error the test reports, never a panic (which would abort).  fn(L, ud)
 * runs in a fresh frame (it sees none of the caller's stack) and must not
 * use cmocka's assertions (they would jump over Lua's frames). */
typedef struct step {
	step_fn fn;
	void *ud;
} step;

static int l_step(lua_State *L)
{
	step *st = lua_touserdata(L, 1);
	lua_pop(L, 1);
	st->fn(L, st->ud);
	return 0;
}

/* fn(L, ud) in protected mode; LUA_OK or the error, its message in err. */
static int try_protect(lua_State *L, step_fn fn, void *ud, char *err, size_t cap)
{
	step st = { fn, ud };
	lua_pushcfunction(L, l_step);   /* a light C function: no allocation */
	lua_pushlightuserdata(L, &st);
	int rc = lua_pcall(L, 1, 0, 0);
	if (rc != LUA_OK) {
		snprintf(err, cap, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return rc;
}

/* The same; a failure fails the test. */
static void protect(lua_State *L, step_fn fn, void *ud)
{
	char err[512];
	if (try_protect(L, fn, ud, err, sizeof err) != LUA_OK)
		fail_msg("Lua error: %s", err);
}

typedef struct named_cfn {
	const char *name;
	lua_CFunction fn;
} named_cfn;

static void set_cfunction_step(lua_State *L, void *ud)
{
	named_cfn *n = ud;
	lua_pushcfunction(L, n->fn);
	lua_setglobal(L, n->name);
}

/* The global `name` = the C function fn, in protected mode. */
static void set_cfunction(lua_State *L, const char *name, lua_CFunction fn)
{
	named_cfn n = { name, fn };
	protect(L, set_cfunction_step, &n);
}

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
	"end\n"
	/* every pair of a tree of tables (no cycles), canonical: equal dumps,
	 * equal contents, bit for bit */
	"function dump(v)\n"
	"  if type(v) ~= 'table' then return sig(v) end\n"
	"  local out = {}\n"
	"  for k, x in next, v do out[#out + 1] = dump(k) .. '=' .. dump(x) end\n"
	"  table.sort(out)\n"
	"  return '{' .. table.concat(out, ',') .. '}'\n"
	"end\n"
	/* a table from a constructor with explicit keys: they all go to the
	 * hash part */
	"function ctor(pairs_)\n"
	"  local parts = {}\n"
	"  for _, kv in ipairs(pairs_) do\n"
	"    parts[#parts + 1] = string.format('[%q] = %q', kv[1], kv[2])\n"
	"  end\n"
	"  return load('return {' .. table.concat(parts, ', ') .. '}')()\n"
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

static void open_step(lua_State *L, void *ud)
{
	(void)ud;
	luaL_openlibs(L);
	open_types(L);
}

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	char err[512];
	assert_non_null(L);
	if (try_protect(L, open_step, NULL, err, sizeof err) != LUA_OK) {
		lua_close(L);
		fail_msg("opening the libraries: %s", err);
	}
	run(L, SIG);
	return L;
}

static int setup(void **state)
{
	pair *p = calloc(1, sizeof *p);
	assert_non_null(p);
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
	enc_args *a = lua_touserdata(L, -1);
	lua_pop(L, 1);
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
	/* A light C function and a light userdata: pushing them allocates
	 * nothing, so out of memory can only happen inside the pcall. */
	lua_pushcfunction(L, l_encode);
	lua_insert(L, -(n + 1));
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, n + 1, 0, 0) != LUA_OK) {
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
	const chl_msg *m = lua_touserdata(L, 1);
	lua_pop(L, 1);
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
	lua_pushcfunction(L, l_decode);
	lua_pushlightuserdata(L, (void *)m);
	int rc = lua_pcall(L, 1, 0, 0);
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

/* Move the value of src's global `name` to dst and check that dst's copy
 * has exactly the same pairs (dump); returns nothing, fails the test. */
static void move_same(pair *p, const char *name)
{
	char code[256];
	snprintf(code, sizeof code, "return %s, dump(%s)", name, name);
	move(p, code);
	check(p->dst, "assert(type(got[1]) == 'table')\n"
		      "local d = dump(got[1])\n"
		      "assert(d == got[2], 'copy differs: ' .. d:sub(1, 200))");
}

static const char KINDS[] =
	"local N, k = 1000, {}\n"
	"k.ints = {}; for i = 1, N do k.ints[i] = (i * 7919) % 2003 - 1000 end\n"
	"k.ints[1], k.ints[2], k.ints[3] = math.mininteger, math.maxinteger, 0\n"
	"k.big = {}; for i = 1, N do k.big[i] = (i << 40) + i end\n"
	"k.floats = {}; for i = 1, N do k.floats[i] = i / 7 end\n"
	"k.floats[1], k.floats[2], k.floats[3] = -0.0, 0/0, -(0/0)\n"
	"k.floats[4], k.floats[5], k.floats[6] = 1/0, 3.0, 2^63\n"
	"k.alternating = {}\n"
	"for i = 1, N do k.alternating[i] = i % 2 == 0 and i or i + 0.0 end\n"
	"k.mixed = {}\n"
	"for i = 1, N do k.mixed[i] = (i // 10) % 2 == 0 and i or i * 0.5 end\n"
	"k.strings = {}; for i = 1, N do k.strings[i] = 's' .. i end\n"
	"k.strings[7] = string.rep('long', 100)\n"
	"k.bools = {}; for i = 1, N do k.bools[i] = i % 3 == 0 end\n"
	"k.tables = {}; for i = 1, N do k.tables[i] = {i, tostring(i), {i + 0.5}} end\n"
	"k.scalars = {}\n"
	"for i = 1, N do\n"
	"  local r = i % 5\n"
	"  k.scalars[i] = r == 0 and i or r == 1 and 's' .. i or r == 2 and i + 0.25\n"
	"                 or r == 3 and (i % 2 == 0) or i * 3\n"
	"end\n"
	"k.runs_then_table = {}\n"
	"for i = 1, 100 do k.runs_then_table[i] = i end\n"
	"k.runs_then_table[101] = {x = 1}\n"
	"for i = 102, 200 do k.runs_then_table[i] = i + 0.5 end\n"
	"k.short = {1, 2.5, 'three', true, 5}\n"
	"k.long = {}; for i = 1, 100001 do k.long[i] = i end\n"
	"KINDS = k\n";

static void test_arrays_of_each_kind_round_trip(void **state)
{
	pair *p = *state;
	static const char *const kinds[] = {
		"ints", "big", "floats", "alternating", "mixed", "strings",
		"bools", "tables", "scalars", "runs_then_table", "short", "long",
	};
	run(p->src, KINDS);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "KINDS.%s", kinds[i]);
		move_same(p, name);
	}
	move(p, "return KINDS.ints, KINDS.floats, KINDS.alternating, KINDS.long");
	check(p->dst,
	      "local ints, floats, alt, long = got[1], got[2], got[3], got[4]\n"
	      "assert(#ints == 1000 and #floats == 1000 and #alt == 1000)\n"
	      "assert(ints[1] == math.mininteger and ints[2] == math.maxinteger)\n"
	      "for i = 1, 1000 do assert(math.type(ints[i]) == 'integer') end\n"
	      "for i = 1, 1000 do assert(math.type(floats[i]) == 'float') end\n"
	      "assert(1 / floats[1] == -1/0 and floats[2] ~= floats[2])\n"
	      "assert(floats[5] == 3 and math.type(floats[5]) == 'float')\n"
	      "for i = 1, 1000 do\n"
	      "  assert(math.type(alt[i]) == (i % 2 == 0 and 'integer' or 'float'))\n"
	      "end\n"
	      "assert(#long == 100001 and long[100001] == 100001)\n");
	/* sizes: 8 bytes and a bit a number in runs */
	chl_msg *m = encode_code(p->src, "return KINDS.ints");
	assert_true(chl_msg_size(m) <= 1000 * 8 + 1000 / 8 + 64);
	chl_msg_free(m);
	m = encode_code(p->src, "return KINDS.alternating");
	assert_true(chl_msg_size(m) <= 1000 * 9 + 64);
	chl_msg_free(m);
	/* shared and self references inside a big array */
	move(p, "local s, t = {}, {}\n"
		"for i = 1, 1000 do t[i] = s end\n"
		"t[500] = t; t[501] = 7\n"
		"return t\n");
	check(p->dst, "local t = got[1]\n"
		      "assert(#t == 1000 and t[1] == t[1000] and t[1] ~= t)\n"
		      "assert(t[500] == t and t[501] == 7)\n");
}

static void test_arrays_with_holes(void **state)
{
	pair *p = *state;
	run(p->src,
	    "H = {}\n"
	    "H[1] = {1, nil, 3}\n"
	    "H[2] = {nil, nil, 3}\n"
	    "H[3] = {}; for i = 1, 1000 do if i % 7 ~= 0 then H[3][i] = i end end\n"
	    "H[4] = {}; for i = 1, 1000 do H[4][i] = i + 0.5 end\n"
	    "for i = 1, 1000, 3 do H[4][i] = nil end\n"
	    "H[5] = {}; for i = 1, 1000 do H[5][i] = 's' .. i end\n"
	    "for i = 1, 1000 do if i % 10 < 6 then H[5][i] = nil end end\n"
	    "local big, huge = {}, {}\n"
	    "for e = 0, 30 do big[#big + 1] = {1 << e, e} end\n"
	    "for e = 0, 40 do huge[#huge + 1] = {1 << e, e} end\n"
	    "H[6] = ctor(big)      -- border 2^30, 31 elements\n"
	    "H[7] = ctor(huge)     -- border 2^40\n"
	    "assert(rawlen(H[6]) == 1 << 30 and rawlen(H[7]) == 1 << 40)\n"
	    "H[8] = {}; for i = 1, 200 do H[8][i] = i end\n"
	    "for i = 20, 180 do H[8][i] = nil end\n"
	    "H[9] = {}; for i = 1, 100 do H[9][i * 3] = i end\n");
	for (int i = 1; i <= 9; i++) {
		char name[32];
		snprintf(name, sizeof name, "H[%d]", i);
		move_same(p, name);
	}
	/* holes are read raw: __index does not fill them, __len is not asked */
	move(p, "local mt = {__index = function() return 'filled' end,\n"
		"            __len = function() return 2 end}\n"
		"local small = setmetatable({1, nil, 3}, mt)\n"
		"local t = {}; for i = 1, 300 do t[i] = i end\n"
		"t[100], t[200] = nil, nil\n"
		"return small, setmetatable(t, mt)\n");
	check(p->dst, "local small, t = got[1], got[2]\n"
		      "assert(getmetatable(small) == nil and getmetatable(t) == nil)\n"
		      "assert(small[1] == 1 and small[2] == nil and small[3] == 3)\n"
		      "local n = 0\n"
		      "for k, v in pairs(t) do assert(k == v); n = n + 1 end\n"
		      "assert(n == 298 and t[100] == nil and t[300] == 300)\n");
}

static void test_border_smaller_than_element_count(void **state)
{
	pair *p = *state;
	run(p->src,
	    /* a border is found by binary search: a hole on its path makes
	     * it short (B[1]: 511 of 999 elements) */
	    "B = {}\n"
	    "B[1] = {}; for i = 1, 1000 do B[1][i] = i end; B[1][512] = nil\n"
	    "B[2] = {}; for i = 1, 100 do B[2][i] = i + 0.5 end; B[2][64] = nil\n"
	    "B[3] = {}; for i = 1, 1000 do B[3][i] = 's' .. i end\n"
	    "B[3][512], B[3][256], B[3][1000] = nil, nil, nil\n"
	    "B[4] = {1, 2, 3}; for i = 5, 1000 do B[4][i] = i * 1.5 end\n"
	    "B[5] = {}; for i = 1, 64 do B[5][i] = i end\n"
	    "B[5][33] = nil; for i = 65, 300 do B[5][i] = i end\n"
	    "local shorter = 0\n"
	    "for i = 1, 5 do\n"
	    "  local n = 0\n"
	    "  for _ in pairs(B[i]) do n = n + 1 end\n"
	    "  if rawlen(B[i]) < n - 1 then shorter = shorter + 1 end\n"
	    "end\n"
	    "assert(shorter >= 3, 'short borders: ' .. shorter)\n");
	for (int i = 1; i <= 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "B[%d]", i);
		move_same(p, name);
	}
}

static void test_integer_keys_in_the_hash_part(void **state)
{
	pair *p = *state;
	run(p->src,
	    "math.randomseed(7)\n"
	    "C = {}\n"
	    /* explicit keys 1..n shuffled among others: all in the hash part,
	     * the border too, with other keys before and after it */
	    "for _, n in ipairs({3, 17, 100, 300}) do\n"
	    "  local kv = {}\n"
	    "  for i = 1, n do kv[#kv + 1] = {i, 'v' .. i} end\n"
	    "  for i = 1, n // 3 + 1 do kv[#kv + 1] = {'s' .. i, i} end\n"
	    "  kv[#kv + 1] = {n + 2, 'after'}; kv[#kv + 1] = {-1, 'neg'}\n"
	    "  kv[#kv + 1] = {1.5, 'half'}; kv[#kv + 1] = {1 << 50, 'far'}\n"
	    "  for i = #kv, 2, -1 do\n"
	    "    local j = math.random(i); kv[i], kv[j] = kv[j], kv[i]\n"
	    "  end\n"
	    "  C[#C + 1] = ctor(kv)\n"
	    "end\n"
	    /* integer keys dropped into free hash nodes, after string keys
	     * that may come before them in traversal order: resuming the
	     * traversal from the border alone would skip those (regression) */
	    "for i = 1, 40 do\n"
	    "  local t = {}\n"
	    "  for j = 1, i do t['k' .. j] = j end\n"
	    "  t[1], t[2], t[3] = 1, 2, 3\n"
	    "  C[#C + 1] = t\n"
	    "end\n"
	    "local t = {a = 1, b = 2, c = 3}; t[1] = 'x'; t[2] = 'y'; C[#C + 1] = t\n"
	    "t = {}; for i = 300, 1, -1 do t[i] = i end; C[#C + 1] = t\n"
	    "t = {}; for i = 1, 100 do t['k' .. i] = i; t[i] = i end; C[#C + 1] = t\n"
	    /* random histories of sets and deletes */
	    "for _ = 1, 400 do\n"
	    "  local t = {}\n"
	    "  for _ = 1, math.random(0, 250) do\n"
	    "    local r = math.random()\n"
	    "    if r < 0.7 then t[math.random(80)] = math.random(3) == 1 and 0.5 or 1\n"
	    "    elseif r < 0.85 then t[math.random(80)] = nil\n"
	    "    elseif r < 0.95 then t['s' .. math.random(20)] = true\n"
	    "    else t[math.random(1000, 2000)] = 'big' end\n"
	    "  end\n"
	    "  C[#C + 1] = t\n"
	    "end\n"
	    /* small ones: deleted keys stay in their hash nodes, where
	     * lua_next still accepts them */
	    "for _ = 1, 400 do\n"
	    "  local t = {}\n"
	    "  for _ = 1, math.random(0, 30) do\n"
	    "    local r = math.random()\n"
	    "    if r < 0.6 then t[math.random(12)] = 1\n"
	    "    elseif r < 0.85 then t[math.random(12)] = nil\n"
	    "    else t['s' .. math.random(6)] = true end\n"
	    "  end\n"
	    "  C[#C + 1] = t\n"
	    "end\n");
	move_same(p, "C");
	/* the first ones alone too */
	for (int i = 1; i <= 8; i++) {
		char name[32];
		snprintf(name, sizeof name, "C[%d]", i);
		move_same(p, name);
	}
}

static void test_empty_tables(void **state)
{
	pair *p = *state;
	move(p, "return {}, {{}}, {[{}] = {}}, setmetatable({}, {__index = {x = 1}}),\n"
		"  {n = 0}, {nil, nil}, {[1] = nil}\n");
	check(p->dst,
	      "assert(got.n == 7)\n"
	      "assert(next(got[1]) == nil)\n"
	      "assert(#got[2] == 1 and next(got[2][1]) == nil and next(got[2], 1) == nil)\n"
	      "local k, v = next(got[3])\n"
	      "assert(next(k) == nil and next(v) == nil and k ~= v)\n"
	      "assert(getmetatable(got[4]) == nil and got[4].x == nil and next(got[4]) == nil)\n"
	      "assert(got[5].n == 0 and next(got[5], 'n') == nil)\n"
	      "assert(next(got[6]) == nil and next(got[7]) == nil)\n");
}

static void test_exact_size_and_forwarded_arrays(void **state)
{
	pair *p = *state;
	/* arrays whose array part has no spare slot (constructors, pack,
	 * a power of two), around FLAT_MIN (16) */
	run(p->src,
	    "E = {}\n"
	    "E[1] = load('return {' .. string.rep('7, ', 1000) .. '}')()\n"
	    "local src = {}; for i = 1, 1000 do src[i] = i * 0.5 end\n"
	    "E[2] = table.pack(table.unpack(src))\n"
	    "E[3] = {}; for i = 1, 1024 do E[3][i] = i end\n"
	    "E[4] = (function(...) return {...} end)(table.unpack(src, 1, 200))\n"
	    "E[5] = {}; for i = 1, 16 do E[5][i] = i end\n"
	    "E[6] = {}; for i = 1, 15 do E[6][i] = i end\n");
	for (int i = 1; i <= 6; i++) {
		char name[32];
		snprintf(name, sizeof name, "E[%d]", i);
		move_same(p, name);
	}
	/* a received table sent on again (dst -> src) arrives the same */
	run(p->src, KINDS);
	move(p, "return KINDS.ints, KINDS.mixed, KINDS.scalars, dump(KINDS.ints),\n"
		"  dump(KINDS.mixed), dump(KINDS.scalars)\n");
	check(p->dst, "BACK = {got[1], got[2], got[3]}\n"
		      "DUMPS = {got[4], got[5], got[6]}\n");
	chl_msg *m = encode_code(p->dst, "return BACK, DUMPS");
	decode(p->src, m);
	chl_msg_free(m);
	check(p->src, "for i = 1, 3 do assert(dump(got[1][i]) == got[2][i], i) end");
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
	set_cfunction(p->src, "hello", l_hello);
	move(p, "return {hello}");
	check(p->dst, "assert(got[1][1]() == 'hello from C')");
}

static void open_base_step(lua_State *L, void *ud)
{
	(void)ud;
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	lua_pop(L, 1);
}

static void test_missing_library_in_destination(void **state)
{
	pair *p = *state;
	lua_State *bare = luaL_newstate();
	assert_non_null(bare);
	protect(bare, open_base_step, NULL);
	chl_msg *m = encode_code(p->src, "return print, {string.upper}");
	char err[256];
	assert_int_not_equal(try_decode(bare, m, err, sizeof err), LUA_OK);
	assert_string_equal(err,
		"cannot receive string.upper: not in this state's libraries");
	chl_msg_free(m);
	lua_close(bare);
}

static void set_light_step(lua_State *L, void *ud)
{
	lua_pushlightuserdata(L, ud);
	lua_setglobal(L, "light");
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
	set_cfunction(p->src, "secret", l_secret);
	expect_error(p->src, "return {fn = secret}",
		     "cannot send C function (at value.fn)");
	protect(p->src, set_light_step, p);
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

static void closed_handle_step(lua_State *L, void *ud)
{
	(void)ud;
	fake **u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = NULL;
	luaL_setmetatable(L, FAKE);
	lua_setglobal(L, "closed");
}

static void forged_step(lua_State *L, void *ud)
{
	(void)ud;
	lua_newuserdatauv(L, 1, 0);
	lua_newtable(L);
	lua_pushliteral(L, FAKE);
	lua_setfield(L, -2, "__name");
	lua_setmetatable(L, -2);
	lua_setglobal(L, "forged");
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
	protect(p->src, closed_handle_step, NULL);
	expect_error(p->src, "return closed", "cannot send test.fake (at value)");
	/* a forged __name is foreign userdata */
	protect(p->src, forged_step, NULL);
	expect_error(p->src, "return {forged}",
		     "cannot send userdata test.fake (at value[1])");
	check(p->src, "h = nil; collectgarbage(); collectgarbage()");
	assert_int_equal(obj.refs, 0);
}

static void nest_step(lua_State *L, void *ud)
{
	fake **u = lua_newuserdatauv(L, sizeof *u, 0);
	*u = NULL;                      /* no reference until it is complete */
	luaL_setmetatable(L, NEST);
	fake_retain(ud);
	*u = ud;
	lua_setglobal(L, "n");
}

static void test_reentrant_encode_from_a_handle(void **state)
{
	pair *p = *state;
	fake obj = { 0 };
	protect(p->src, nest_step, &obj);
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

static void raise_step(lua_State *L, void *ud)
{
	(void)ud;
	lua_newuserdatauv(L, 1, 0);
	luaL_setmetatable(L, RAISE);
	lua_setglobal(L, "bad");
}

static void test_error_unwinding_through_encode(void **state)
{
	pair *p = *state;
	protect(p->src, raise_step, NULL);
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
	char err[512];
	if (!L)
		return NULL;            /* job->ok stays 0: the test fails */
	if (try_protect(L, open_step, NULL, err, sizeof err) == LUA_OK
	    && (lua_pushcfunction(L, l_decode), lua_pushlightuserdata(L, (void *)job->m),
		lua_pcall(L, 1, 0, 0)) == LUA_OK
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

/* Decode the message ud into L as the global `last` (its last value). */
static void decode_last_step(lua_State *L, void *ud)
{
	chl_msg_decode(L, ud);
	lua_setglobal(L, "last");
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
			char err[512];
			chl_msg *m;
			lua_pushvalue(src, v);   /* a copy of a value: no allocation */
			m = try_encode_as(src, 1, "send", NULL, 0, err, sizeof err);
			if (m == NULL)
				fail_msg("encode failed: %s", err);
			if (try_protect(dst, decode_last_step, m, err, sizeof err) != LUA_OK) {
				chl_msg_free(m);
				fail_msg("decode failed: %s", err);
			}
			chl_msg_free(m);
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
	run(p->src, "local t = {}\n"
		    "for i = 1, 1000 do t[i] = i % 2 == 0 and i or i + 0.5 end\n"
		    "return t");
	double mixed = time_round_trips(p, 0.3,
		"assert(#last == 1000 and math.type(last[1000]) == 'integer')");
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
	printf("transfer: 1000-mixed table   %.0f round trips/s (%.2f us each)\n",
	       mixed, 1e6 / mixed);
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
		cmocka_unit_test_setup_teardown(test_arrays_of_each_kind_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arrays_with_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_border_smaller_than_element_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integer_keys_in_the_hash_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_size_and_forwarded_arrays, setup, teardown),
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
