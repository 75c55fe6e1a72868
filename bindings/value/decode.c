/*
 * decode.c - pushing a message's values into a lua_State (decode.h; what
 * arrives: transfer.h; the bytes read: format.h).
 *
 * The message was written by encode.c in this process, so it is trusted:
 * lengths are not checked, and the few checks made (a tag, an index, the
 * end of the payload) are chl_asserts - a malformed message is a bug.
 * Objects met twice are kept in an object table only when the message has
 * back references (REF, UPJOIN); most messages have none.
 *
 * Cost: about 50 instructions an element of a flat array (FTABLE), whose
 * values are pushed and stored by the VM's SETLIST (dec_flat_array); other
 * tables pay a lua_rawseti or lua_rawset an element.
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "check.h"
#include "value/decode.h"
#include "value/format.h"
#include "value/registry.h"

#define FLAT_MIN 16             /* flat arrays built on the stack: from... */
#define FLAT_MAX 100000         /* ...to (stack slots, and their memory) */

typedef struct reader {
	lua_State *L;
	const unsigned char *p, *end;
	int objs;                   /* stack index of the object table, or 0 */
	uint32_t nobj;              /* objects decoded so far */
} reader;

static void dec_value(reader *r);

/* Number the object on top of the stack. */
static void dec_number_obj(reader *r)
{
	r->nobj++;
	if (r->objs) {
		lua_pushvalue(r->L, -1);
		lua_rawseti(r->L, r->objs, r->nobj);
	}
}

static uint32_t get_u32(reader *r)
{
	uint32_t v;
	memcpy(&v, r->p, sizeof v);
	r->p += sizeof v;
	return v;
}

static size_t get_size(reader *r)
{
	size_t v;
	memcpy(&v, r->p, sizeof v);
	r->p += sizeof v;
	return v;
}

/* Push the numbers of the NRUN at r->p; with t (a stack index) store each
 * as t[*i], *i advancing, else leave them on the stack (room is the
 * caller's).  Returns how many. */
static uint32_t dec_run(reader *r, int t, uint32_t *i)
{
	lua_State *L = r->L;
	const unsigned char *p = r->p + 1;
	uint32_t count;
	memcpy(&count, p, sizeof count);
	p += sizeof count;
	for (uint32_t c = 0; c < count;) {
		uint64_t bits;
		memcpy(&bits, p, sizeof bits);
		p += sizeof bits;
		uint32_t end = count - c <= 64 ? count : c + 64;
		for (; c < end; c++, bits >>= 1, p += 8) {
			if (bits & 1) {
				lua_Integer v;
				memcpy(&v, p, sizeof v);
				lua_pushinteger(L, v);
			} else {
				lua_Number v;
				memcpy(&v, p, sizeof v);
				lua_pushnumber(L, v);
			}
			if (t)
				lua_rawseti(L, t, (*i)++);
		}
	}
	r->p = p;
	return count;
}

/* Decode the array section of the table at t, slots 1..narr. */
static void dec_array(reader *r, int t, uint32_t narr)
{
	lua_State *L = r->L;
	uint32_t i = 1;
	while (i <= narr) {
		switch (*r->p) {
		case T_NRUN:
			dec_run(r, t, &i);
			break;
		case T_NIL:             /* a hole */
			r->p++;
			i++;
			break;
		default:
			dec_value(r);
			lua_rawseti(L, t, i++);
		}
	}
	chl_assert(i == narr + 1);
}

/* The state's packer: the chunk `return {...}`, loaded once and kept in
 * the registry.  Pushes it; raises on memory errors. */
static const char packer_key = 0;

static void push_packer(lua_State *L)
{
	static const char code[] = "return {...}";
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &packer_key) == LUA_TFUNCTION)
		return;
	lua_pop(L, 1);
	if (luaL_loadbuffer(L, code, sizeof code - 1, "=(transfer)") != LUA_OK)
		lua_error(L);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &packer_key);
}

/* Build the table of a flat array section (FTABLE) on the stack: push its
 * narr values (holes as nil), then call the packer, whose SETLIST stores
 * them straight into a new array part - about a fifth of the cost of
 * lua_rawseti per slot.  Leaves the table on top. */
static void dec_flat_array(reader *r, uint32_t narr)
{
	lua_State *L = r->L;
	luaL_checkstack(L, (int)narr + 8, "array too long to receive");
	push_packer(L);
	uint32_t i = 0;
	while (i < narr) {
		if (*r->p == T_NRUN) {
			i += dec_run(r, 0, NULL);
		} else {                /* a scalar, or a hole's NIL */
			dec_value(r);
			i++;
		}
	}
	chl_assert(i == narr);
	lua_call(L, (int)narr, 1);
}

static void dec_table(reader *r, int flat)
{
	lua_State *L = r->L;
	uint32_t narr = get_u32(r), npairs = get_u32(r);
	luaL_checkstack(L, 6, "value nested too deep");
	if (flat && narr >= FLAT_MIN && narr <= FLAT_MAX) {
		dec_flat_array(r, narr);
		dec_number_obj(r);
		narr = 0;
	} else {
		lua_createtable(L, (int)narr, (int)npairs);
		dec_number_obj(r);
	}
	int t = lua_gettop(L);
	if (narr > 0)
		dec_array(r, t, narr);
	for (uint32_t i = 0; i < npairs; i++) {
		dec_value(r);
		dec_value(r);
		lua_rawset(L, t);
	}
}

typedef struct chunk {
	const char *p;
	size_t len;
} chunk;

static const char *chunk_reader(lua_State *L, void *ud, size_t *size)
{
	chunk *c = ud;
	(void)L;
	*size = c->len;
	c->len = 0;
	return c->p;
}

static void dec_function(reader *r)
{
	lua_State *L = r->L;
	unsigned nups = *r->p++;
	chunk c;
	c.len = get_size(r);
	c.p = (const char *)r->p;
	r->p += c.len;
	luaL_checkstack(L, 6, "value nested too deep");
	if (lua_load(L, chunk_reader, &c, "=(transfer)", "b") != LUA_OK)
		lua_error(L);
	int f = lua_gettop(L);
	dec_number_obj(r);
	for (unsigned i = 1; i <= nups; i++) {
		if (*r->p == T_UPJOIN) {
			r->p++;
			uint32_t other = get_u32(r);
			unsigned n = *r->p++;
			lua_rawgeti(L, r->objs, (lua_Integer)other + 1);
			lua_upvaluejoin(L, f, (int)i, lua_gettop(L), (int)n);
			lua_pop(L, 1);
			continue;
		}
		dec_value(r);
		if (lua_setupvalue(L, f, (int)i) == NULL)
			chl_assert(!"upvalue count matches the bytecode");
	}
}

static void dec_libfn(reader *r)
{
	lua_State *L = r->L;
	uint16_t k;
	memcpy(&k, r->p, 2);
	r->p += 2;
	pthread_once(&chl_libmap_once, chl_libmap_build);
	chl_assert(k < chl_nlibmap);
	const chl_libfn *lf = &chl_libmap[k];
	/* Through the globals, not package.loaded: a goroutine's libraries are
	 * opened on first use (runtime/lazyenv.c), and a global access is that
	 * use. */
	if (strcmp(lf->lib, "_G") == 0) {
		if (lua_getglobal(L, lf->field) != LUA_TNIL)
			return;
		lua_pop(L, 1);
	} else if (lua_getglobal(L, lf->lib) == LUA_TTABLE) {
		if (lua_getfield(L, -1, lf->field) != LUA_TNIL) {
			lua_remove(L, -2);
			return;
		}
		lua_pop(L, 2);
	} else {
		lua_pop(L, 1);
	}
	luaL_error(L, "cannot receive %s%s%s: not in this state's libraries",
		   strcmp(lf->lib, "_G") ? lf->lib : "",
		   strcmp(lf->lib, "_G") ? "." : "", lf->field);
}

static void dec_value(reader *r)
{
	lua_State *L = r->L;
	unsigned tag = *r->p++;
	if (tag >= T_SSTR) {
		size_t len = tag - T_SSTR;
		lua_pushlstring(L, (const char *)r->p, len);
		r->p += len;
		return;
	}
	switch (tag) {
	case T_NIL:
		lua_pushnil(L);
		return;
	case T_FALSE:
	case T_TRUE:
		lua_pushboolean(L, tag == T_TRUE);
		return;
	case T_INT8:
		lua_pushinteger(L, (int8_t)*r->p++);
		return;
	case T_INT32: {
		int32_t v;
		memcpy(&v, r->p, sizeof v);
		r->p += sizeof v;
		lua_pushinteger(L, v);
		return;
	}
	case T_INT64: {
		lua_Integer v;
		memcpy(&v, r->p, sizeof v);
		r->p += sizeof v;
		lua_pushinteger(L, v);
		return;
	}
	case T_FLOAT: {
		lua_Number v;
		memcpy(&v, r->p, sizeof v);
		r->p += sizeof v;
		lua_pushnumber(L, v);
		return;
	}
	case T_STR: {
		size_t len = get_size(r);
		lua_pushlstring(L, (const char *)r->p, len);
		r->p += len;
		return;
	}
	case T_TABLE:
	case T_FTABLE:
		dec_table(r, tag == T_FTABLE);
		return;
	case T_LFUNC:
		dec_function(r);
		return;
	case T_REF:
		chl_assert(r->objs != 0);
		lua_rawgeti(L, r->objs, (lua_Integer)get_u32(r) + 1);
		return;
	case T_GLOBALS:
		lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
		return;
	case T_LIBFN:
		dec_libfn(r);
		return;
	case T_BINDFN: {
		uint16_t k;
		memcpy(&k, r->p, 2);
		r->p += 2;
		chl_assert(k < chl_nbindfns);
		lua_pushcfunction(L, chl_bindfns[k]);
		return;
	}
	case T_HANDLE: {
		unsigned ti = *r->p++;
		void *obj;
		memcpy(&obj, r->p, sizeof obj);
		r->p += sizeof obj;
		chl_assert(ti < (unsigned)chl_nhandle_types);
		luaL_checkstack(L, 2, "value nested too deep");
		chl_handle_types[ti]->retain(obj);
		chl_handle_types[ti]->push(L, chl_handle_types[ti], obj);
		dec_number_obj(r);
		return;
	}
	default:
		chl_assert(!"a valid tag");
	}
}

int chl_msg_decode(lua_State *L, const chl_msg *m)
{
	reader r;
	r.L = L;
	r.p = m->data;
	r.end = m->data + m->size;
	r.objs = 0;
	r.nobj = 0;
	luaL_checkstack(L, (int)m->nvalues + 6, "too many values to receive");
	if (m->backrefs) {
		lua_createtable(L, (int)m->nobjs, 0);
		r.objs = lua_gettop(L);
	}
	for (uint32_t k = 0; k < m->nvalues; k++)
		dec_value(&r);
	chl_assert(r.p == r.end);
	if (r.objs)
		lua_remove(L, r.objs);
	return (int)m->nvalues;
}
