/*
 * fuzz_value.c - libFuzzer target: random Lua value graphs copied between
 * states (bindings/value/) must arrive equal.
 *
 * The fuzzer's bytes are a small program (build_graph) that builds values
 * in state A: integers and floats of every kind (nan, -0.0, inf,
 * math.mininteger, raw bits), strings with zeros, tables with cycles and
 * shared references (also as keys), arrays (runs of numbers), closures whose upvalues are any of
 * these and may be shared between closures, handles, standard library
 * functions, the globals table, and now and then a value that cannot cross
 * (a coroutine, a light userdata).  The last few values are encoded as
 * one message, decoded into state B, checked equal to the originals
 * (same_values), encoded again from B and decoded into state C, checked
 * again, and decoded into B a second time, checked again.  A message that cannot be made must raise encode's error, and
 * leave nothing behind: after each input every handle's reference count
 * is back to zero.
 *
 * Equal means isomorphic graphs: each table or function of A has exactly
 * one counterpart in B and the mapping is one-to-one, so a shared
 * reference stays shared and a cycle stays a cycle.  To find an object's
 * counterpart when it is a table key, every table the program makes
 * carries its number under the key TAG_KEY, and every closure its number
 * in the upvalue named "tag".  Floats compare bit for bit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "value/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The program holds at most MAX_VALUES values; tags are 1..MAX_VALUES. */
#define MAX_VALUES 48
#define MAX_OPS 256
#define TAG_KEY "\1tag"

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_value: %s\n", why);
	abort();
}

/* ---- a handle type: refcounted C objects whose counts must balance ---- */

#define NFAKES 3
#define FAKE "fuzz.fake"
static int fake_refs[NFAKES];

static void *fake_get(lua_State *L, int idx, const chl_handle_type *t)
{
	int **u = luaL_testudata(L, idx, FAKE);

	(void)t;
	return u ? *u : NULL;
}

static void fake_retain(void *o)
{
	++*(int *)o;
}

static void fake_release(void *o)
{
	if (--*(int *)o < 0)
		fail("a handle released more often than retained");
}

static void fake_push(lua_State *L, const chl_handle_type *t, void *o)
{
	int **u = lua_newuserdatauv(L, sizeof *u, 0);

	(void)t;
	*u = o;
	luaL_setmetatable(L, FAKE);
}

static int fake_gc(lua_State *L)
{
	int **u = luaL_checkudata(L, 1, FAKE);

	if (*u)
		fake_release(*u);
	*u = NULL;
	return 0;
}

static const chl_handle_type fake_type = {
	FAKE, fake_get, fake_retain, fake_release, fake_push,
};

/* ---- the two states ---- */

/* Closures come from these chunks; each is called with its tag and
 * returns its closures.  Between them: several upvalues, _ENV, an upvalue
 * shared by two closures, a closure made inside a closure. */
static const char *const chunks[] = {
	"local tag, a, b = ... return function() return tag, a, b end",
	"local tag, a = ... return function(x) a = x return tag, print end",
	"local tag, tag2, s = ... return function() return tag, s end, "
	"function(v) s = v return tag2 end",
	"local tag = ... local u = {} "
	"return (function() return function() return tag, u end end)()",
};
#define NCHUNKS (int)(sizeof chunks / sizeof chunks[0])

static lua_State *A, *B, *C;
static int chunk_ref[NCHUNKS];      /* the compiled chunks, in A's registry */

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();

	if (!L)
		fail("cannot make a state");
	luaL_openlibs(L);
	luaL_newmetatable(L, FAKE);
	lua_pushcfunction(L, fake_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	return L;
}

static void set_up(void)
{
	static int fakes_registered;

	if (!fakes_registered) {
		chl_handle_type_register(&fake_type);
		fakes_registered = 1;
	}
	A = new_state();
	B = new_state();
	C = new_state();
	for (int i = 0; i < NCHUNKS; i++) {
		if (luaL_loadstring(A, chunks[i]) != LUA_OK)
			fail(lua_tostring(A, -1));
		chunk_ref[i] = luaL_ref(A, LUA_REGISTRYINDEX);
	}
}

/* ---- the program: bytes -> values in A ---- */

typedef struct reader {
	const uint8_t *p, *end;
} reader;

static unsigned byte(reader *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

static uint64_t bytes8(reader *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | byte(r);
	return v;
}

/* The values live in a table at stack index 1 of A, 1..n; the tags of
 * tables and closures are their index there. */
typedef struct program {
	reader r;
	int n;
} program;

static void keep(program *pg)
{
	lua_rawseti(A, 1, ++pg->n);
}

static int pick(program *pg)
{
	return pg->n ? 1 + (int)(byte(&pg->r) % (unsigned)pg->n) : 0;
}

static void push_number(program *pg)
{
	static const double specials[] = { 0.0, -0.0, 1.0 / 0.0, -1.0 / 0.0,
	                                   0.1, 9007199254740993.0, 4.9e-324, -1.5 };
	unsigned k = byte(&pg->r) % 12;
	double d;
	uint64_t bits;

	if (k < 8)
		lua_pushnumber(A, specials[k]);
	else if (k == 8)
		lua_pushinteger(A, LUA_MININTEGER);
	else if (k == 9)
		lua_pushinteger(A, LUA_MAXINTEGER);
	else if (k == 10) {
		bits = 0x7ff8000000000000u | byte(&pg->r);   /* NaNs, some signed */
		if (byte(&pg->r) & 1)
			bits |= UINT64_C(1) << 63;
		memcpy(&d, &bits, sizeof d);
		lua_pushnumber(A, d);
	} else {
		bits = bytes8(&pg->r);
		memcpy(&d, &bits, sizeof d);
		lua_pushnumber(A, d);
	}
}

static void push_string(program *pg)
{
	char buf[256];
	unsigned len = byte(&pg->r);

	for (unsigned i = 0; i < len; i++)
		buf[i] = (char)byte(&pg->r);
	lua_pushlstring(A, buf, len);
}

static void push_table(program *pg)
{
	lua_createtable(A, 0, 1);
	lua_pushinteger(A, pg->n + 1);
	lua_setfield(A, -2, TAG_KEY);
}

/* t[k] = v for three values of the program; a key that cannot be one
 * (nil, NaN) or the tag's key is skipped. */
static void set_field(program *pg)
{
	int t = pick(pg), k = pick(pg), v = pick(pg);

	if (!t)
		return;
	lua_rawgeti(A, 1, t);
	lua_rawgeti(A, 1, k);
	lua_rawgeti(A, 1, v);
	lua_pushglobaltable(A);
	if (lua_rawequal(A, -1, -4)) {          /* A's globals stay as they are */
		lua_pop(A, 4);
		return;
	}
	lua_pop(A, 1);
	if (lua_type(A, -3) != LUA_TTABLE || lua_isnil(A, -2) ||
	    (lua_type(A, -2) == LUA_TNUMBER && lua_tonumber(A, -2) != lua_tonumber(A, -2)) ||
	    (lua_type(A, -2) == LUA_TSTRING && strcmp(lua_tostring(A, -2), TAG_KEY) == 0)) {
		lua_pop(A, 3);
		return;
	}
	lua_rawset(A, -3);
	lua_pop(A, 1);
}

/* The upvalues of a closure that the program may change: every one but
 * the tag and _ENV. */
static bool free_upvalue(lua_State *L, int f, int i)
{
	const char *name = lua_getupvalue(L, f, i);

	if (!name)
		return false;
	lua_pop(L, 1);
	return strncmp(name, "tag", 3) != 0 && strcmp(name, "_ENV") != 0;
}

/* Closures from one of the chunks, each kept as a value of its own, with
 * their free upvalues set to values of the program. */
static void push_closures(program *pg)
{
	int c = (int)(byte(&pg->r) % NCHUNKS), top = lua_gettop(A), got;

	lua_rawgeti(A, LUA_REGISTRYINDEX, chunk_ref[c]);
	lua_pushinteger(A, pg->n + 1);
	lua_pushinteger(A, pg->n + 2);      /* chunk 2's second closure */
	lua_call(A, 2, LUA_MULTRET);
	got = lua_gettop(A) - top;
	if (pg->n + got > MAX_VALUES) {
		lua_settop(A, top);
		return;
	}
	for (int k = 0; k < got; k++) {
		int f = top + 1 + k;

		for (int i = 1; lua_getupvalue(A, f, i); i++) {
			lua_pop(A, 1);
			if (free_upvalue(A, f, i)) {
				lua_rawgeti(A, 1, pick(pg));
				lua_setupvalue(A, f, i);
			}
		}
	}
	for (int k = 0; k < got; k++) {
		lua_pushvalue(A, top + 1 + k);
		keep(pg);
	}
	lua_settop(A, top);
}

/* Make upvalue i of closure f refer to upvalue j of closure g: shared. */
static void join_upvalues(program *pg)
{
	int f = pick(pg), g = pick(pg);
	int i = 1 + (int)(byte(&pg->r) % 3), j = 1 + (int)(byte(&pg->r) % 3);

	lua_rawgeti(A, 1, f);
	lua_rawgeti(A, 1, g);
	if (lua_type(A, -2) == LUA_TFUNCTION && lua_type(A, -1) == LUA_TFUNCTION &&
	    !lua_iscfunction(A, -2) && !lua_iscfunction(A, -1) &&
	    free_upvalue(A, -2, i) && free_upvalue(A, -1, j))
		lua_upvaluejoin(A, -2, i, -1, j);
	lua_pop(A, 2);
}

static void push_library_function(program *pg)
{
	static const char *const names[][2] = {
		{ "_G", "print" }, { "string", "format" }, { "math", "max" },
		{ "table", "insert" }, { "_G", "pcall" }, { "string", "char" },
	};
	unsigned k = byte(&pg->r) % 6;

	if (strcmp(names[k][0], "_G") == 0)
		lua_pushglobaltable(A);
	else
		lua_getglobal(A, names[k][0]);
	lua_getfield(A, -1, names[k][1]);
	lua_remove(A, -2);
}

/* Something that cannot cross (encode must say so). */
static void push_uncrossable(program *pg)
{
	static int anchor;

	if (byte(&pg->r) & 1)
		lua_newthread(A);
	else
		lua_pushlightuserdata(A, &anchor);
}

static void push_handle(program *pg)
{
	int *o = &fake_refs[byte(&pg->r) % NFAKES];

	fake_retain(o);
	fake_push(A, &fake_type, o);
}

/* t[#t + 1] = v, a run of them: arrays (the encoder packs runs of
 * numbers, the decoder builds flat array parts). */
static void append(program *pg)
{
	int t = pick(pg), count = 1 + (int)(byte(&pg->r) % 80), v = pick(pg);

	lua_rawgeti(A, 1, t);
	lua_pushglobaltable(A);
	if (lua_type(A, -2) != LUA_TTABLE || lua_rawequal(A, -1, -2)) {
		lua_pop(A, 2);
		return;
	}
	lua_pop(A, 1);
	for (int i = 0; i < count; i++) {
		if (byte(&pg->r) & 1)
			lua_rawgeti(A, 1, v);               /* the same value again */
		else if (byte(&pg->r) & 1)
			lua_pushinteger(A, (lua_Integer)byte(&pg->r) - 128);
		else
			lua_pushnumber(A, (double)byte(&pg->r) / 8);
		lua_rawseti(A, -2, (lua_Integer)lua_rawlen(A, -2) + 1);
	}
	lua_pop(A, 1);
}

static void build_graph(program *pg)
{
	for (int ops = 0; ops < MAX_OPS && pg->r.p < pg->r.end; ops++) {
		unsigned op = byte(&pg->r) % 16;

		if (pg->n == MAX_VALUES && op != 8 && op != 9 && op != 13)
			continue;       /* full: only the ops that make nothing */
		switch (op) {
		case 0: lua_pushnil(A); keep(pg); break;
		case 1: lua_pushboolean(A, byte(&pg->r) & 1); keep(pg); break;
		case 2: lua_pushinteger(A, (lua_Integer)bytes8(&pg->r)); keep(pg); break;
		case 3: case 4: push_number(pg); keep(pg); break;
		case 5: case 6: push_string(pg); keep(pg); break;
		case 7: push_table(pg); keep(pg); break;
		case 8: set_field(pg); break;
		case 9: append(pg); break;
		case 10: push_closures(pg); break;
		case 11: push_handle(pg); keep(pg); break;
		case 12: push_library_function(pg); keep(pg); break;
		case 13: join_upvalues(pg); break;
		case 14: lua_pushglobaltable(A); keep(pg); break;
		case 15:
			if (byte(&pg->r) % 8 == 0) {
				push_uncrossable(pg);
				keep(pg);
			}
			break;
		}
	}
}

/* ---- equality of two graphs ---- */

/* What one comparison has matched so far: the counterpart of each tag,
 * and the pairs of shared upvalues. */
typedef struct matching {
	lua_State *L1, *L2;
	const void *tagged[MAX_VALUES + 1];   /* tag -> L2's object */
	void *up1[256], *up2[256];            /* upvalue ids, pairwise */
	int nup;
	int roots2, nroots2;                  /* L2's graph: its roots' indices */
} matching;

static bool same(matching *m, int i1, int i2);

/* The tag of the table or closure at idx (0: none). */
static lua_Integer tag_of(lua_State *L, int idx)
{
	lua_Integer tag = 0;

	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_getfield(L, idx, TAG_KEY);
		tag = lua_tointeger(L, -1);
		lua_pop(L, 1);
	} else if (lua_type(L, idx) == LUA_TFUNCTION && !lua_iscfunction(L, idx)) {
		const char *name;

		for (int i = 1; (name = lua_getupvalue(L, idx, i)); i++) {
			if (strncmp(name, "tag", 3) == 0)
				tag = lua_tointeger(L, -1);
			lua_pop(L, 1);
			if (tag)
				break;
		}
	}
	return tag > 0 && tag <= MAX_VALUES ? tag : 0;
}

static bool is_globals(lua_State *L, int idx)
{
	bool g;

	lua_pushglobaltable(L);
	g = lua_rawequal(L, idx, -1);
	lua_pop(L, 1);
	return g;
}

/* Push the object tagged `tag` that a walk from idx reaches (through
 * table keys and values and closure upvalues, not into the globals); false
 * and nothing pushed when there is none.  The walk marks what it has seen
 * in the table at `seen`. */
static bool find_tagged(lua_State *L, int idx, lua_Integer tag, int seen)
{
	int type = lua_type(L, idx);

	idx = lua_absindex(L, idx);
	if ((type != LUA_TTABLE && (type != LUA_TFUNCTION || lua_iscfunction(L, idx))) ||
	    is_globals(L, idx))
		return false;
	if (tag_of(L, idx) == tag) {
		lua_pushvalue(L, idx);
		return true;
	}
	lua_pushvalue(L, idx);
	if (lua_rawget(L, seen) != LUA_TNIL) {
		lua_pop(L, 1);
		return false;
	}
	lua_pop(L, 1);
	lua_pushvalue(L, idx);
	lua_pushboolean(L, 1);
	lua_rawset(L, seen);
	if (!lua_checkstack(L, 8))
		fail("cannot grow the stack to walk");
	if (type == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, idx)) {      /* key, value */
			if (find_tagged(L, -1, tag, seen) || find_tagged(L, -2, tag, seen)) {
				lua_replace(L, -3);
				lua_pop(L, 1);
				return true;
			}
			lua_pop(L, 1);
		}
		return false;
	}
	for (int i = 1; lua_getupvalue(L, idx, i); i++) {
		if (find_tagged(L, -1, tag, seen)) {
			lua_remove(L, -2);
			return true;
		}
		lua_pop(L, 1);
	}
	return false;
}

/* Push L2's counterpart of L1's tagged object at k1 (to look it up as a
 * key); false when L2's graph has no object with its tag. */
static bool counterpart(matching *m, int k1)
{
	lua_Integer tag = tag_of(m->L1, k1);
	int seen;

	if (!tag)
		fail("an untagged object used as a key");
	lua_newtable(m->L2);
	seen = lua_gettop(m->L2);
	for (int r = 0; r < m->nroots2; r++)
		if (find_tagged(m->L2, m->roots2 + r, tag, seen)) {
			lua_remove(m->L2, seen);
			return true;
		}
	lua_pop(m->L2, 1);
	return false;
}

static bool same_bits(lua_State *L1, int i1, lua_State *L2, int i2)
{
	lua_Number a = lua_tonumber(L1, i1), b = lua_tonumber(L2, i2);

	if (lua_isinteger(L1, i1) != lua_isinteger(L2, i2))
		return false;
	if (lua_isinteger(L1, i1))
		return lua_tointeger(L1, i1) == lua_tointeger(L2, i2);
	return memcmp(&a, &b, sizeof a) == 0;
}

/* The object at i1 is met here first, and i2 is its counterpart; or it
 * was matched before, to i2 (seen).  Untagged objects (the table inside
 * chunk 3's closure) are met once only. */
static bool match_tag(matching *m, int i1, int i2, bool *seen)
{
	lua_Integer t1 = tag_of(m->L1, i1), t2 = tag_of(m->L2, i2);
	const void *p2 = lua_topointer(m->L2, i2);

	*seen = false;
	if (t1 != t2 || !t1)
		return t1 == t2;
	if (m->tagged[t1]) {
		*seen = true;
		return m->tagged[t1] == p2;
	}
	for (int t = 1; t <= MAX_VALUES; t++)
		if (m->tagged[t] == p2)
			return false;   /* two objects became one */
	m->tagged[t1] = p2;
	return true;
}

/* Push onto L2 the key that L1's key at k1 is copied as; false when it has
 * none to look up by (handles and library functions as keys: counted
 * only, their values are compared where else they appear). */
static bool push_key(matching *m, int k1)
{
	size_t len;
	const char *s;

	switch (lua_type(m->L1, k1)) {
	case LUA_TSTRING:
		s = lua_tolstring(m->L1, k1, &len);
		lua_pushlstring(m->L2, s, len);
		return true;
	case LUA_TNUMBER:
		if (lua_isinteger(m->L1, k1))
			lua_pushinteger(m->L2, lua_tointeger(m->L1, k1));
		else
			lua_pushnumber(m->L2, lua_tonumber(m->L1, k1));
		return true;
	case LUA_TBOOLEAN:
		lua_pushboolean(m->L2, lua_toboolean(m->L1, k1));
		return true;
	case LUA_TTABLE:
		if (is_globals(m->L1, k1)) {
			lua_pushglobaltable(m->L2);
			return true;
		}
		/* fall through */
	case LUA_TFUNCTION:
		if (lua_iscfunction(m->L1, k1))
			return false;
		if (!counterpart(m, k1))
			fail("a key has no counterpart");
		return true;
	default:
		return false;
	}
}

static bool same_table(matching *m, int t1, int t2)
{
	int n1 = 0, n2 = 0;

	if (lua_getmetatable(m->L2, t2))
		return false;           /* metatables do not cross */
	lua_pushnil(m->L2);
	while (lua_next(m->L2, t2)) {
		n2++;
		lua_pop(m->L2, 1);
	}
	lua_pushnil(m->L1);
	while (lua_next(m->L1, t1)) {   /* key at -2, value at -1 */
		int k1 = lua_gettop(m->L1) - 1;

		n1++;
		if (push_key(m, k1)) {
			int k2 = lua_gettop(m->L2);

			if (!same(m, k1, k2))
				return false;
			lua_rawget(m->L2, t2);
			if (!same(m, k1 + 1, k2))
				return false;
			lua_pop(m->L2, 1);
		}
		lua_pop(m->L1, 1);
	}
	return n1 == n2;
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	luaL_addlstring(ud, p, sz);
	return 0;
}

/* Push the bytecode of the Lua function at idx (with debug info). */
static void push_dump(lua_State *L, int idx)
{
	luaL_Buffer b;

	lua_pushvalue(L, idx);
	luaL_buffinit(L, &b);
	lua_dump(L, dump_writer, &b, 0);
	luaL_pushresult(&b);
	lua_remove(L, -2);
}

static bool same_upvalue_id(matching *m, void *id1, void *id2)
{
	for (int i = 0; i < m->nup; i++)
		if (m->up1[i] == id1 || m->up2[i] == id2)
			return m->up1[i] == id1 && m->up2[i] == id2;
	if (m->nup == 256)
		return true;            /* too many to follow: values still compared */
	m->up1[m->nup] = id1;
	m->up2[m->nup++] = id2;
	return true;
}

static bool same_function(matching *m, int f1, int f2)
{
	size_t l1, l2;
	const char *d1, *d2;
	bool ok;

	if (lua_iscfunction(m->L1, f1) || lua_iscfunction(m->L2, f2))
		return lua_tocfunction(m->L1, f1) == lua_tocfunction(m->L2, f2);
	push_dump(m->L1, f1);
	push_dump(m->L2, f2);
	d1 = lua_tolstring(m->L1, -1, &l1);
	d2 = lua_tolstring(m->L2, -1, &l2);
	ok = l1 == l2 && memcmp(d1, d2, l1) == 0;
	lua_pop(m->L1, 1);
	lua_pop(m->L2, 1);
	for (int i = 1; ok; i++) {
		const char *n1 = lua_getupvalue(m->L1, f1, i);
		const char *n2 = lua_getupvalue(m->L2, f2, i);

		if (!n1 || !n2) {
			if (n1 || n2)
				ok = false;
			lua_settop(m->L1, lua_gettop(m->L1) - (n1 != NULL));
			lua_settop(m->L2, lua_gettop(m->L2) - (n2 != NULL));
			break;
		}
		ok = strcmp(n1, n2) == 0 &&
		     same_upvalue_id(m, lua_upvalueid(m->L1, f1, i), lua_upvalueid(m->L2, f2, i)) &&
		     same(m, lua_gettop(m->L1), lua_gettop(m->L2));
		lua_pop(m->L1, 1);
		lua_pop(m->L2, 1);
	}
	return ok;
}

/* The value at i1 of L1 and the one at i2 of L2 are copies. */
static bool same(matching *m, int i1, int i2)
{
	lua_State *L1 = m->L1, *L2 = m->L2;
	int type = lua_type(L1, i1);
	bool seen;

	i1 = lua_absindex(L1, i1);
	i2 = lua_absindex(L2, i2);
	if (type != lua_type(L2, i2))
		return false;
	if (!lua_checkstack(L1, 10) || !lua_checkstack(L2, 10))
		fail("cannot grow the stack to compare");
	switch (type) {
	case LUA_TNIL:
		return true;
	case LUA_TBOOLEAN:
		return lua_toboolean(L1, i1) == lua_toboolean(L2, i2);
	case LUA_TNUMBER:
		return same_bits(L1, i1, L2, i2);
	case LUA_TSTRING: {
		size_t l1, l2;
		const char *s1 = lua_tolstring(L1, i1, &l1), *s2 = lua_tolstring(L2, i2, &l2);

		return l1 == l2 && memcmp(s1, s2, l1) == 0;
	}
	case LUA_TUSERDATA:
		return fake_get(L1, i1, &fake_type) &&
		       fake_get(L1, i1, &fake_type) == fake_get(L2, i2, &fake_type);
	case LUA_TTABLE: {
		bool g1 = is_globals(L1, i1), g2 = is_globals(L2, i2);

		if (g1 || g2)
			return g1 && g2;
		if (!match_tag(m, i1, i2, &seen))
			return false;
		return seen || same_table(m, i1, i2);
	}
	case LUA_TFUNCTION:
		if (!match_tag(m, i1, i2, &seen))
			return false;
		return seen || same_function(m, i1, i2);
	default:
		return false;
	}
}

/* The n values at first1.. of L1 and first2.. of L2 are copies. */
static bool same_values(lua_State *L1, int first1, lua_State *L2, int first2, int n)
{
	static matching m;

	memset(&m, 0, sizeof m);
	m.L1 = L1;
	m.L2 = L2;
	m.roots2 = first2;
	m.nroots2 = n;
	for (int i = 0; i < n; i++)
		if (!same(&m, first1 + i, first2 + i))
			return false;
	return true;
}

/* ---- one input ---- */

static int encode_in(lua_State *L)
{
	int n = (int)lua_tointeger(L, lua_upvalueindex(1));

	lua_pushlightuserdata(L, chl_msg_encode(L, 1, n, "send"));
	return 1;
}

static int decode_in(lua_State *L)
{
	return chl_msg_decode(L, lua_touserdata(L, 1));
}

/* Encode the n values on top of L's stack (protected); NULL and L's error
 * message on top when they cannot cross. */
static chl_msg *encode(lua_State *L, int n)
{
	chl_msg *m;

	lua_pushinteger(L, n);
	lua_pushcclosure(L, encode_in, 1);
	lua_rotate(L, -n - 1, 1);
	if (lua_pcall(L, n, 1, 0) != LUA_OK)
		return NULL;
	m = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return m;
}

/* Decode m into L (protected); pushes its values. */
static void decode(lua_State *L, const chl_msg *m)
{
	lua_pushcfunction(L, decode_in);
	lua_pushlightuserdata(L, (void *)m);
	if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK)
		fail(lua_tostring(L, -1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	program pg = { { data, data + size }, 0 };
	int nroots, top;
	chl_msg *m1, *m2;

	if (!A)
		set_up();
	lua_settop(A, 0);
	lua_settop(B, 0);
	lua_settop(C, 0);
	lua_newtable(A);                        /* 1: the program's values */
	build_graph(&pg);
	nroots = pg.n < 4 ? pg.n : 1 + (int)(byte(&pg.r) % 4);
	for (int i = pg.n - nroots + 1; i <= pg.n; i++)
		lua_rawgeti(A, 1, i);           /* 2..: what is sent */

	top = lua_gettop(A);
	m1 = encode(A, nroots);
	if (!m1) {
		const char *err = lua_tostring(A, -1);

		if (!err || strncmp(err, "cannot send", 11) != 0)
			fail(err ? err : "encode raised a non-string");
	} else {
		if (chl_msg_count(m1) != nroots)
			fail("the message counts its values wrong");
		lua_settop(A, top - nroots);
		for (int i = pg.n - nroots + 1; i <= pg.n; i++)
			lua_rawgeti(A, 1, i);
		decode(B, m1);
		if (lua_gettop(B) != nroots || !same_values(A, 2, B, 1, nroots))
			fail("A -> B: the copy differs");
		/* and on: B's copy encodes as well, and arrives equal in C */
		m2 = encode(B, nroots);
		if (!m2)
			fail(lua_tostring(B, -1));
		decode(C, m2);
		if (!same_values(A, 2, C, 1, nroots))
			fail("B -> C: the copy differs");
		/* a message decodes more than once, as new values each time */
		decode(B, m1);
		if (!same_values(A, 2, B, 1, nroots))
			fail("the second decoding differs");
		chl_msg_free(m1);
		chl_msg_free(m2);
	}
	lua_settop(A, 0);
	lua_settop(B, 0);
	lua_settop(C, 0);
	lua_gc(A, LUA_GCCOLLECT);
	lua_gc(B, LUA_GCCOLLECT);
	lua_gc(C, LUA_GCCOLLECT);
	for (int i = 0; i < NFAKES; i++)
		if (fake_refs[i] != 0)
			fail("a handle reference leaked");
	return 0;
}
