/*
 * encode.c - encoding Lua values into self-contained messages (encode.h;
 * what crosses: transfer.h; the bytes written: format.h).
 *
 * A message of scalars only (nil, booleans, numbers, strings) skips the
 * encoder: one sizing pass, one malloc (encode_scalars).  Anything else
 * goes through a per-state encoder (a userdata kept in the registry, its
 * buffers freed by __gc, taken out of the registry while in use), so an
 * error raised half way leaks nothing and a re-entrant encode gets its own;
 * the message is malloc'd only at the end, the payload copied into it.
 *
 * Metatables are not copied: a metatable is usually behaviour (a class),
 * and behaviour is code the receiver loads for itself; copying it silently
 * would give every message its own class table.  Only handles keep theirs,
 * because their push() sets it in the destination.
 *
 * Cost: per element of a big table, one lua_next plus a few API calls to
 * read the key and the value: about 230 instructions to encode an integer
 * element, 170 of them in the Lua API (see enc_table: the API has no
 * cheaper way to walk a table that may have a hash part, and no sound
 * shortcut to its array part).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "value/encode.h"
#include "value/format.h"
#include "value/registry.h"

/* ---- scalars, shared by the fast path and the encoder ---- */

static inline unsigned char *put_int(unsigned char *p, lua_Integer v)
{
	if (v >= INT8_MIN && v <= INT8_MAX) {
		*p++ = T_INT8;
		*p++ = (unsigned char)(int8_t)v;
	} else if (v >= INT32_MIN && v <= INT32_MAX) {
		int32_t x = (int32_t)v;
		*p++ = T_INT32;
		memcpy(p, &x, sizeof x);
		p += sizeof x;
	} else {
		*p++ = T_INT64;
		memcpy(p, &v, sizeof v);
		p += sizeof v;
	}
	return p;
}

static unsigned char *put_float(unsigned char *p, lua_Number v)
{
	*p++ = T_FLOAT;
	memcpy(p, &v, sizeof v);
	return p + sizeof v;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t len)
{
	if (len <= SSTR_MAX) {
		*p++ = (unsigned char)(T_SSTR + len);
	} else {
		*p++ = T_STR;
		memcpy(p, &len, sizeof len);
		p += sizeof len;
	}
	memcpy(p, s, len);
	return p + len;
}

static size_t str_size(size_t len)
{
	return 1 + (len <= SSTR_MAX ? 0 : sizeof(size_t)) + len;
}

/* Push the number at idx as an item; idx holds a number. */
static unsigned char *put_number(unsigned char *p, lua_State *L, int idx)
{
	if (lua_isinteger(L, idx))
		return put_int(p, lua_tointegerx(L, idx, NULL));
	return put_float(p, lua_tonumberx(L, idx, NULL));
}

/* A message with room for `payload` bytes and nhandles handle records
 * (the layout of format.h); nvalues is left to the caller.  NULL if
 * malloc fails. */
static chl_msg *msg_alloc(size_t payload, size_t nhandles)
{
	size_t hoff = (payload + 7) & ~(size_t)7;
	chl_msg *m = malloc(sizeof *m + hoff + nhandles * sizeof(hrec));
	if (m == NULL)
		return NULL;
	m->size = payload;
	m->hoff = hoff;
	m->nhandles = (uint32_t)nhandles;
	m->nobjs = 0;
	m->backrefs = 0;
	return m;
}

/* The fast path: if the n values at idx are all nil, booleans, numbers or
 * strings, encode them with one malloc and return 1 (*out NULL if malloc
 * failed); else return 0 and touch nothing.  Cannot raise. */
static int encode_scalars(lua_State *L, int idx, int n, chl_msg **out)
{
	size_t size = 0, len;
	for (int k = 0; k < n; k++) {
		switch (lua_type(L, idx + k)) {
		case LUA_TNIL:
		case LUA_TBOOLEAN:
			size += 1;
			break;
		case LUA_TNUMBER:
			size += 9;      /* at most; the message is a few bytes roomy */
			break;
		case LUA_TSTRING:
			lua_tolstring(L, idx + k, &len);
			size += str_size(len);
			break;
		default:
			return 0;
		}
	}
	chl_msg *m = msg_alloc(size, 0);
	*out = m;
	if (m == NULL)
		return 1;
	unsigned char *p = m->data;
	for (int k = 0; k < n; k++) {
		int i = idx + k;
		switch (lua_type(L, i)) {
		case LUA_TNIL:
			*p++ = T_NIL;
			break;
		case LUA_TBOOLEAN:
			*p++ = lua_toboolean(L, i) ? T_TRUE : T_FALSE;
			break;
		case LUA_TNUMBER:
			p = put_number(p, L, i);
			break;
		default: {
			const char *s = lua_tolstring(L, i, &len);
			p = put_str(p, s, len);
		}
		}
	}
	m->size = (size_t)(p - m->data);
	m->nvalues = (uint32_t)n;
	return 1;
}

/* ---- the encoder ---- */

/* An open-addressing map: pointer -> number, emptied in O(1) between
 * encodes by bumping `gen` (a slot is live only if its gen matches).  Keys
 * are objects (lua_topointer of tables, functions, userdata -> object
 * number) and upvalue ids (lua_upvalueid -> function number << 8 | upvalue
 * number); they never collide, being distinct allocations. */
typedef struct slot {
	const void *key;
	uint64_t val;
	uint32_t gen;
} slot;

enum { E_OK, E_TYPE, E_DEPTH, E_NOMEM, E_STACK };

#define PATH_MAX_LEN 1024
#define KEEP_BUF (256 * 1024)   /* larger scratch buffers are freed after use */
#define KEEP_SLOTS 4096

typedef struct encoder {
	lua_State *L;               /* the state being encoded from */
	unsigned char *buf;         /* payload being built */
	size_t len, cap;
	slot *slots;                /* the object map, cap mask + 1 */
	size_t mask, used;
	uint32_t gen;
	hrec *hs;                   /* handles met, in order */
	size_t nh, hcap;
	uint32_t nobjs, backrefs;
	const void *globals;        /* the source's globals table */
	int err;                    /* E_*: what failed */
	char type[80];              /* E_TYPE: what could not cross */
	size_t pathpos;             /* path[pathpos..] is the path built so far */
	int truncated;              /* segments were dropped at the front */
	char path[PATH_MAX_LEN + 1];
} encoder;

static const char encoder_key = 0;      /* registry key: the state's encoder */
#define ENCODER_MT "chanlab.transfer.encoder"

static void enc_free_buffers(encoder *e)
{
	free(e->buf);
	free(e->slots);
	free(e->hs);
	e->buf = NULL;
	e->slots = NULL;
	e->hs = NULL;
	e->len = e->cap = e->mask = e->used = e->nh = e->hcap = 0;
}

static int encoder_gc(lua_State *L)
{
	enc_free_buffers(lua_touserdata(L, 1));
	return 0;
}

/* Push a new encoder userdata.  May raise (memory). */
static encoder *enc_new(lua_State *L)
{
	encoder *e = lua_newuserdatauv(L, sizeof *e, 0);
	memset(e, 0, sizeof *e);
	if (luaL_newmetatable(L, ENCODER_MT)) {
		lua_pushcfunction(L, encoder_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return e;
}

/* Take the state's encoder out of the registry and push it: while it is in
 * use the registry has none, so a re-entrant encode (from a handle's get()
 * or a finalizer) makes a fresh one, and an error that unwinds through an
 * encode only drops an encoder to the garbage collector.  May raise
 * (memory) - nothing is held yet. */
static encoder *enc_acquire(lua_State *L)
{
	encoder *e;
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &encoder_key) == LUA_TUSERDATA) {
		e = lua_touserdata(L, -1);
		lua_pushboolean(L, 0);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &encoder_key);
	} else {
		lua_pop(L, 1);
		lua_pushboolean(L, 0);  /* create the key now: release cannot raise */
		lua_rawsetp(L, LUA_REGISTRYINDEX, &encoder_key);
		e = enc_new(L);
	}
	e->L = L;
	return e;
}

/* Put the encoder (on top of the stack) back into the registry, where the
 * key already exists (holding false): no allocation, cannot raise.  Its buffers stay for the next
 * encode unless unusually big. */
static void enc_release(encoder *e)
{
	if (e->cap > KEEP_BUF || e->mask + 1 > KEEP_SLOTS)
		enc_free_buffers(e);
	lua_rawsetp(e->L, LUA_REGISTRYINDEX, &encoder_key);
}

static int enc_grow(encoder *e, size_t n)
{
	size_t cap = e->cap ? e->cap : 256;
	while (cap - e->len < n) {
		if (cap > SIZE_MAX / 2)
			return e->err = E_NOMEM;
		cap *= 2;
	}
	unsigned char *b = realloc(e->buf, cap);
	if (b == NULL)
		return e->err = E_NOMEM;
	e->buf = b;
	e->cap = cap;
	return 0;
}

/* Make room for n more payload bytes: 0 or E_NOMEM. */
static inline int need(encoder *e, size_t n)
{
	return e->cap - e->len >= n ? 0 : enc_grow(e, n);
}

static inline void put_u8(encoder *e, unsigned v)
{
	e->buf[e->len++] = (unsigned char)v;
}

static inline void put_u32(encoder *e, uint32_t v)
{
	memcpy(e->buf + e->len, &v, sizeof v);
	e->len += sizeof v;
}

static int map_rehash(encoder *e)
{
	size_t ncap = e->slots ? (e->mask + 1) * 2 : 64;
	slot *ns = calloc(ncap, sizeof *ns);
	if (ns == NULL)
		return e->err = E_NOMEM;
	for (size_t i = 0; e->slots && i <= e->mask; i++) {
		slot *s = &e->slots[i];
		if (s->gen != e->gen)
			continue;
		size_t h = ((uintptr_t)s->key >> 4) * 0x9E3779B97F4A7C15u;
		for (h &= ncap - 1; ns[h].gen == 1; h = (h + 1) & (ncap - 1))
			;
		ns[h].key = s->key;
		ns[h].val = s->val;
		ns[h].gen = 1;
	}
	free(e->slots);
	e->slots = ns;
	e->mask = ncap - 1;
	e->gen = 1;
	return 0;
}

/* The slot of key: live if the key is present, else free for it. */
static slot *map_slot(encoder *e, const void *key)
{
	size_t h = (((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15u) & e->mask;
	while (e->slots[h].gen == e->gen && e->slots[h].key != key)
		h = (h + 1) & e->mask;
	return &e->slots[h];
}

/* Insert key (absent) -> val: 0 or E_NOMEM. */
static int map_put(encoder *e, const void *key, uint64_t val)
{
	if ((e->used + 1) * 2 > e->mask + 1 && map_rehash(e))
		return E_NOMEM;
	slot *s = map_slot(e, key);
	s->key = key;
	s->val = val;
	s->gen = e->gen;
	e->used++;
	return 0;
}

/* If p was met before, write a REF to it and return 1. */
static int enc_backref(encoder *e, const void *p, int *rc)
{
	if (e->used == 0)
		return 0;
	slot *s = map_slot(e, p);
	if (s->gen != e->gen)
		return 0;
	if ((*rc = need(e, 5)) == 0) {
		put_u8(e, T_REF);
		put_u32(e, (uint32_t)s->val);
		e->backrefs++;
	}
	return 1;
}

/* Number a newly met object: 0 or E_NOMEM. */
static int enc_number_obj(encoder *e, const void *p)
{
	return map_put(e, p, e->nobjs++);
}

/* ---- encode errors: the path is built from the failure outwards ---- */

static int fail_type(encoder *e, const char *type)
{
	snprintf(e->type, sizeof e->type, "%s", type);
	return e->err = E_TYPE;
}

static void path_prepend(encoder *e, const char *seg, size_t len)
{
	if (len > e->pathpos) {
		e->truncated = 1;
		return;
	}
	e->pathpos -= len;
	memcpy(e->path + e->pathpos, seg, len);
}

static int is_identifier(const char *s, size_t len)
{
	static const char *const reserved[] = {
		"and", "break", "do", "else", "elseif", "end", "false", "for",
		"function", "goto", "if", "in", "local", "nil", "not", "or",
		"repeat", "return", "then", "true", "until", "while",
	};
	if (len == 0 || len > 40 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		      || (c >= '0' && c <= '9')))
			return 0;
	}
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == len && memcmp(reserved[i], s, len) == 0)
			return 0;
	return 1;
}

/* Prepend the segment naming the value stored under the key at index k. */
static void path_key(encoder *e, int k)
{
	lua_State *L = e->L;
	char seg[160];
	int n = 0;
	switch (lua_type(L, k)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, k, &len);
		if (is_identifier(s, len)) {
			n = snprintf(seg, sizeof seg, ".%s", s);
			break;
		}
		n = snprintf(seg, sizeof seg, "[\"");
		for (size_t i = 0; i < len && n < 120; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '"' || c == '\\')
				n += snprintf(seg + n, sizeof seg - (size_t)n, "\\%c", c);
			else if (c >= 0x20 && c < 0x7F)
				seg[n++] = (char)c;
			else
				n += snprintf(seg + n, sizeof seg - (size_t)n, "\\%u", c);
			if (i + 1 < len && n >= 120)
				n += snprintf(seg + n, sizeof seg - (size_t)n, "...");
		}
		n += snprintf(seg + n, sizeof seg - (size_t)n, "\"]");
		break;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, k))
			n = snprintf(seg, sizeof seg, "[%lld]",
				     (long long)lua_tointegerx(L, k, NULL));
		else
			n = snprintf(seg, sizeof seg, "[%.14g]",
				     (double)lua_tonumberx(L, k, NULL));
		break;
	case LUA_TBOOLEAN:
		n = snprintf(seg, sizeof seg, "[%s]",
			     lua_toboolean(L, k) ? "true" : "false");
		break;
	default:
		n = snprintf(seg, sizeof seg, "[<%s>]", luaL_typename(L, k));
	}
	path_prepend(e, seg, (size_t)n < sizeof seg ? (size_t)n : sizeof seg - 1);
}

static void path_literal(encoder *e, const char *a, const char *b, const char *c)
{
	char seg[128];
	int n = snprintf(seg, sizeof seg, "%s%s%s", a, b, c);
	path_prepend(e, seg, (size_t)n < sizeof seg ? (size_t)n : sizeof seg - 1);
}

/* ---- encoding values ---- */

static inline int enc_value(encoder *e, int idx, int depth);

static int enc_typed(encoder *e, int idx, int t, int depth);

/* Tables: ONE lua_next pass.  The keys met first that are integers
 * increasing from 1 - the array part, which the traversal visits first
 * and in order - go to the array section, a gap between two of them as
 * NIL items; the first key that is not (or a gap that would make holes
 * outnumber the values by more than HOLE_SLACK: keys 1, 2, 4... 2^40 are
 * not an array) ends it, and every key from there goes as a pair.  Any
 * traversal order gives a correct message; this one gives a compact one.
 *
 * Why not lua_rawlen and lua_rawgeti for the array, then lua_next from
 * the border n for the rest?  That skips the keys that come before n in
 * traversal order, which are not all in 1..n when n sits in the hash part
 * (t = {k = 1}; t[1] = 1 can put both there, k first).  Only a walk from
 * the start tells where n sits, and it costs what this pass costs; no
 * probe does: lua_next(t, n + 1) on the absent n + 1 does not raise when
 * n + 1 is an index of the array part - nor when it is a key deleted from
 * the hash part, whose node keeps it (Lua 5.4 ltable.c findindex).
 * test_integer_keys_in_the_hash_part has such tables.
 *
 * Numbers in the array section go as runs (NRUN): 8 raw bytes each, an
 * integer/float bitmap per 64 - no tag to write or to switch on.  Cost
 * per integer element (walk_nums): lua_next, lua_isinteger and
 * lua_tointegerx on the key and on the value, and a lua_pushvalue of the
 * key (cheaper than popping the value; the stack is cut back every 16
 * steps) - about 170 instructions in the API, 60 around them. */

#define HOLE_SLACK 8
#define MAX_ARRAY (INT_MAX - 1) /* longest array section (lua_createtable's int) */
#define RUN_MIN 4               /* shorter runs are rewritten as items */
#define CUT_EVERY 16            /* steps between cutting the stack back */

/* An open NRUN: where its count and current bitmap are, what it holds. */
typedef struct run {
	size_t at;                  /* offset of the count; 0: no run open */
	size_t bm;                  /* offset of the current block's bitmap */
	uint32_t n;                 /* values so far */
	uint64_t bits;              /* the current block's bitmap so far */
} run;

/* Append a number (8 bytes at v, integer if isint) to the run, opening a
 * run or a block if needed: the cases walk_nums leaves (the first number,
 * a full block or buffer, a number after a gap).  0 or E_NOMEM. */
static int run_put(encoder *e, run *r, const void *v, int isint)
{
	if (r->at == 0) {
		if (need(e, 1 + 4 + 8 + 8))
			return E_NOMEM;
		put_u8(e, T_NRUN);
		r->at = e->len;
		r->bm = e->len + 4;
		r->n = 0;
		r->bits = 0;
		e->len += 4 + 8;
	} else if ((r->n & 63) == 0) {  /* block full: store it, open one */
		if (need(e, 8 + 8))
			return E_NOMEM;
		memcpy(e->buf + r->bm, &r->bits, 8);
		r->bm = e->len;
		r->bits = 0;
		e->len += 8;
	} else if (need(e, 8)) {
		return E_NOMEM;
	}
	memcpy(e->buf + e->len, v, 8);
	e->len += 8;
	r->bits |= (uint64_t)isint << (r->n & 63);
	r->n++;
	return 0;
}

/* Close the run: store its count and last bitmap, or, if it is short,
 * rewrite its values as plain items (never longer: 13 + 8n bytes become
 * at most 9n).  Cannot fail. */
static void run_close(encoder *e, run *r)
{
	if (r->at == 0)
		return;
	if (r->n >= RUN_MIN) {
		memcpy(e->buf + r->at, &r->n, 4);
		memcpy(e->buf + r->bm, &r->bits, 8);
	} else {
		unsigned char vals[RUN_MIN * 8];
		memcpy(vals, e->buf + r->at + 12, (size_t)r->n * 8);
		unsigned char *p = e->buf + r->at - 1;
		for (uint32_t j = 0; j < r->n; j++) {
			if (r->bits >> j & 1) {
				lua_Integer v;
				memcpy(&v, vals + j * 8, 8);
				p = put_int(p, v);
			} else {
				lua_Number v;
				memcpy(&v, vals + j * 8, 8);
				p = put_float(p, v);
			}
		}
		e->len = (size_t)(p - e->buf);
	}
	r->at = 0;
}

/* Prepend "[i]" to the error path. */
static void path_index(encoder *e, lua_Integer i)
{
	char seg[32];
	int n = snprintf(seg, sizeof seg, "[%" PRId64 "]", (int64_t)i);
	path_prepend(e, seg, (size_t)n);
}

/* The array section being written (its length and value count live in
 * the caller's locals: the hot loop's). */
typedef struct asec {
	lua_Integer holes;          /* slots of 1..narr without a value */
	int flat;                   /* no table, function or userdata value */
	run r;                      /* the open run of numbers */
} asec;

/* Write the value at vi as slot k of the array section, which ends at
 * narr (k > narr, the gap allowed by HOLE_SLACK): the general case.  0 or
 * E_*. */
static int array_put(encoder *e, asec *a, int vi, lua_Integer k,
		     lua_Integer narr, int depth)
{
	lua_State *L = e->L;
	int rc;
	if (k > narr + 1) {         /* a gap: holes */
		run_close(e, &a->r);
		if ((rc = need(e, (size_t)(k - narr - 1))))
			return rc;
		memset(e->buf + e->len, T_NIL, (size_t)(k - narr - 1));
		e->len += (size_t)(k - narr - 1);
		a->holes += k - narr - 1;
	}
	int t = lua_type(L, vi);
	if (t == LUA_TNUMBER) {
		int isint = lua_isinteger(L, vi);
		if (isint) {
			lua_Integer v = lua_tointegerx(L, vi, NULL);
			rc = run_put(e, &a->r, &v, 1);
		} else {
			lua_Number v = lua_tonumberx(L, vi, NULL);
			rc = run_put(e, &a->r, &v, 0);
		}
	} else {
		if (a->r.at != 0)
			run_close(e, &a->r);
		if (t == LUA_TSTRING) {     /* inline: arrays of strings */
			size_t len;
			const char *str = lua_tolstring(L, vi, &len);
			if ((rc = need(e, str_size(len))) == 0)
				e->len = (size_t)(put_str(e->buf + e->len, str, len)
						  - e->buf);
			return rc;
		}
		if (t != LUA_TBOOLEAN)
			a->flat = 0;
		if ((rc = enc_typed(e, vi, t, depth + 1)))
			path_index(e, k);
	}
	return rc;
}

/* Where a table's walk is: the stack and the array section. */
typedef struct walk {
	int base;                   /* the stack below the walk */
	int ki;                     /* the current key (its value above it) */
	unsigned steps;             /* elements met */
	lua_Integer narr;           /* the array section's last slot */
} walk;

/* Step the walk: keep the current key on top for lua_next (pushing it
 * again is cheaper than popping the value; every CUT_EVERY steps the stack
 * is cut back to it), then fetch the next element.  0 at the end. */
static inline int walk_next(lua_State *L, int idx, walk *w)
{
	if (++w->steps % CUT_EVERY) {
		lua_pushvalue(L, w->ki);
		w->ki += 2;
	} else {
		lua_copy(L, w->ki, w->base + 1);
		lua_settop(L, w->base + 1);
		w->ki = w->base + 1;
	}
	return lua_next(L, idx);
}

/* What walk_nums left current. */
enum { W_END, W_UNREAD, W_NOTINT, W_INT };

/* The hot loop of a big array of numbers: while the current element is
 * key narr + 1 with a number value and the open run has room in its block
 * and the buffer, append it and step.  Returns W_END at the end of
 * the table, else what it learnt of the element it did not take: nothing
 * (W_UNREAD), that its key is not an integer (W_NOTINT) or is *k (W_INT).
 * Its state lives in locals: five API calls an element leave few
 * registers. */
static int walk_nums(encoder *e, int idx, walk *wk, run *r, lua_Integer *kp)
{
	lua_State *L = e->L;
	walk w = *wk;
	uint32_t n = r->n;
	uint64_t bits = r->bits;
	unsigned char *p = e->buf + e->len;
	/* numbers that fit in the block and the buffer */
	size_t room = 64 - (n & 63);
	if ((n & 63) == 0)
		room = 0;
	if ((size_t)(e->cap - e->len) / 8 < room)
		room = (e->cap - e->len) / 8;
	int got = W_UNREAD;
	while (room > 0) {
		if (!lua_isinteger(L, w.ki)) {
			got = W_NOTINT;
			break;
		}
		lua_Integer k = lua_tointegerx(L, w.ki, NULL);
		if (k != w.narr + 1) {
			*kp = k;
			got = W_INT;
			break;
		}
		if (lua_isinteger(L, w.ki + 1)) {
			lua_Integer v = lua_tointegerx(L, w.ki + 1, NULL);
			memcpy(p, &v, sizeof v);
			bits |= (uint64_t)1 << (n & 63);
		} else if (lua_type(L, w.ki + 1) == LUA_TNUMBER) {
			lua_Number v = lua_tonumberx(L, w.ki + 1, NULL);
			memcpy(p, &v, sizeof v);
		} else {
			*kp = k;
			got = W_INT;
			break;
		}
		p += 8;
		n++;
		room--;
		w.narr = k;
		if (!walk_next(L, idx, &w)) {
			got = W_END;
			break;
		}
	}
	*wk = w;
	r->n = n;
	r->bits = bits;
	e->len = (size_t)(p - e->buf);
	return got;
}

static int enc_table(encoder *e, int idx, int depth)
{
	lua_State *L = e->L;
	const void *p = lua_topointer(L, idx);
	int rc = 0;
	if (p == e->globals) {
		if ((rc = need(e, 1)) == 0)
			put_u8(e, T_GLOBALS);
		return rc;
	}
	if (enc_backref(e, p, &rc))
		return rc;
	if (depth >= CHL_MSG_MAXDEPTH)
		return e->err = E_DEPTH;
	/* this level's 2 * CUT_EVERY + 1 + a leaf's 3 */
	if (!lua_checkstack(L, 2 * CUT_EVERY + 8))
		return e->err = E_STACK;
	if ((rc = enc_number_obj(e, p)) || (rc = need(e, 9)))
		return rc;
	put_u8(e, T_TABLE);
	size_t counts = e->len;
	e->len += 8;
	asec a = { 0, 1, { 0, 0, 0, 0 } };
	uint32_t npairs = 0;
	int inarr = 1;
	walk w;
	w.base = lua_gettop(L);
	w.ki = w.base + 1;          /* the key lua_next takes: on top */
	w.steps = 0;
	w.narr = 0;
	lua_pushnil(L);
	int more = lua_next(L, idx);
	while (more) {
		int got = W_UNREAD;
		lua_Integer k = 0;
		if (inarr && a.r.at != 0
		    && (got = walk_nums(e, idx, &w, &a.r, &k)) == W_END)
			break;
		int ki = w.ki;
		if (inarr && got == W_UNREAD && lua_isinteger(L, ki)) {
			k = lua_tointegerx(L, ki, NULL);
			got = W_INT;
		}
		if (inarr && got == W_INT) {
			if (k > w.narr && k <= MAX_ARRAY
			    && k - w.narr - 1 <= w.narr - 2 * a.holes + HOLE_SLACK) {
				if ((rc = array_put(e, &a, ki + 1, k, w.narr, depth)))
					return rc;
				w.narr = k;
				more = walk_next(L, idx, &w);
				continue;
			}
		}
		if (inarr) {
			inarr = 0;
			run_close(e, &a.r);
		}
		if ((rc = enc_value(e, ki, depth + 1))) {
			path_literal(e, ".<key>", "", "");
			return rc;
		}
		if ((rc = enc_value(e, ki + 1, depth + 1))) {
			path_key(e, ki);
			return rc;
		}
		npairs++;
		more = walk_next(L, idx, &w);
	}
	lua_Integer narr = w.narr;
	int base = w.base;
	lua_settop(L, base);
	run_close(e, &a.r);
	if (narr > 0 && a.flat)
		e->buf[counts - 1] = T_FTABLE;
	uint32_t n32 = (uint32_t)narr;
	memcpy(e->buf + counts, &n32, 4);
	memcpy(e->buf + counts + 4, &npairs, 4);
	return 0;
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	encoder *e = ud;
	(void)L;
	if (need(e, sz))
		return 1;
	memcpy(e->buf + e->len, p, sz);
	e->len += sz;
	return 0;
}

static int enc_cfunction(encoder *e, int idx)
{
	lua_State *L = e->L;
	lua_CFunction f = lua_tocfunction(L, idx);
	unsigned tag = T_BINDFN;
	int k = chl_bindfn_find(f), rc;
	if (k >= 0 && lua_getupvalue(L, idx, 1)) {
		lua_pop(L, 1);          /* a closure of f: not the light one */
		k = -1;
	}
	if (k < 0) {
		tag = T_LIBFN;
		k = chl_libmap_find(f);
		if (k < 0)
			return fail_type(e, "C function");
	}
	if ((rc = need(e, 3)))
		return rc;
	uint16_t k16 = (uint16_t)k;
	put_u8(e, tag);
	memcpy(e->buf + e->len, &k16, 2);
	e->len += 2;
	return 0;
}

static int enc_function(encoder *e, int idx, int depth)
{
	lua_State *L = e->L;
	if (lua_iscfunction(L, idx))
		return enc_cfunction(e, idx);
	const void *p = lua_topointer(L, idx);
	int rc = 0;
	if (enc_backref(e, p, &rc))
		return rc;
	if (depth >= CHL_MSG_MAXDEPTH)
		return e->err = E_DEPTH;
	if (!lua_checkstack(L, 8))
		return e->err = E_STACK;
	uint32_t fnum = e->nobjs;
	if ((rc = enc_number_obj(e, p)) || (rc = need(e, 2 + sizeof(size_t))))
		return rc;
	put_u8(e, T_LFUNC);
	size_t head = e->len;
	e->len += 1 + sizeof(size_t);
	lua_pushvalue(L, idx);
	rc = lua_dump(L, dump_writer, e, 0);
	lua_pop(L, 1);
	if (rc)
		return e->err = E_NOMEM;
	size_t codelen = e->len - head - 1 - sizeof(size_t);
	memcpy(e->buf + head + 1, &codelen, sizeof codelen);
	int i;
	const char *name;
	for (i = 1; (name = lua_getupvalue(L, idx, i)) != NULL; i++) {
		const void *id = lua_upvalueid(L, idx, i);
		slot *s = e->used ? map_slot(e, id) : NULL;
		if (s && s->gen == e->gen) {
			lua_pop(L, 1);
			if ((rc = need(e, 6)))
				return rc;
			put_u8(e, T_UPJOIN);
			put_u32(e, (uint32_t)(s->val >> 8));
			put_u8(e, (unsigned)(s->val & 0xFF));
			e->backrefs++;
			continue;
		}
		if ((rc = map_put(e, id, (uint64_t)fnum << 8 | (unsigned)i)))
			return rc;
		if ((rc = enc_value(e, lua_gettop(L), depth + 1))) {
			path_literal(e, ".<upvalue ", name, ">");
			return rc;
		}
		lua_pop(L, 1);
	}
	e->buf[head] = (unsigned char)(i - 1);
	return 0;
}

static int enc_userdata(encoder *e, int idx)
{
	lua_State *L = e->L;
	const chl_handle_type *t = NULL;
	int ti = -1, rc = 0;
	if (!lua_getmetatable(L, idx))
		return fail_type(e, "userdata");
	if (lua_getfield(L, -1, "__name") == LUA_TSTRING) {
		const char *name = lua_tostring(L, -1);
		ti = chl_handle_type_find(name);
		if (ti >= 0) {  /* the real metatable, not a forged __name */
			luaL_getmetatable(L, chl_handle_types[ti]->tname);
			if (!lua_rawequal(L, -1, -3))
				ti = -1;
			lua_pop(L, 1);
		}
		if (ti < 0) {
			char type[80];
			snprintf(type, sizeof type, "userdata %s", name);
			lua_pop(L, 2);
			return fail_type(e, type);
		}
	}
	lua_pop(L, 2);
	if (ti < 0)
		return fail_type(e, "userdata");
	t = chl_handle_types[ti];
	const void *p = lua_topointer(L, idx);
	if (enc_backref(e, p, &rc))
		return rc;
	void *obj = t->get(L, idx, t);
	if (obj == NULL)
		return fail_type(e, t->tname);
	if (e->nh == e->hcap) {
		size_t ncap = e->hcap ? e->hcap * 2 : 8;
		hrec *hs = realloc(e->hs, ncap * sizeof *hs);
		if (hs == NULL)
			return e->err = E_NOMEM;
		e->hs = hs;
		e->hcap = ncap;
	}
	if ((rc = enc_number_obj(e, p)) || (rc = need(e, 2 + sizeof obj)))
		return rc;
	e->hs[e->nh].obj = obj;
	e->hs[e->nh].type = (uint32_t)ti;
	e->nh++;
	put_u8(e, T_HANDLE);
	put_u8(e, (unsigned)ti);
	memcpy(e->buf + e->len, &obj, sizeof obj);
	e->len += sizeof obj;
	return 0;
}

/* Encode the value at idx (absolute), of type t, not an integer.  Returns
 * 0, or E_* with e->err set and the path below this value in e->path.
 * Leaves the stack as it was on success; on failure the caller resets it. */
static int enc_typed(encoder *e, int idx, int t, int depth)
{
	lua_State *L = e->L;
	int rc;
	switch (t) {
	case LUA_TNIL:
		if ((rc = need(e, 1)) == 0)
			put_u8(e, T_NIL);
		return rc;
	case LUA_TBOOLEAN:
		if ((rc = need(e, 1)) == 0)
			put_u8(e, lua_toboolean(L, idx) ? T_TRUE : T_FALSE);
		return rc;
	case LUA_TNUMBER:
		if ((rc = need(e, 9)) == 0)
			e->len = (size_t)(put_float(e->buf + e->len,
						    lua_tonumberx(L, idx, NULL)) - e->buf);
		return rc;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		if ((rc = need(e, str_size(len))) == 0)
			e->len = (size_t)(put_str(e->buf + e->len, s, len) - e->buf);
		return rc;
	}
	case LUA_TTABLE:
		return enc_table(e, idx, depth);
	case LUA_TFUNCTION:
		return enc_function(e, idx, depth);
	case LUA_TUSERDATA:
		return enc_userdata(e, idx);
	case LUA_TLIGHTUSERDATA:
		return fail_type(e, "light userdata");
	default:
		return fail_type(e, luaL_typename(L, idx));
	}
}

/* Encode the value at idx (absolute): as enc_typed, integers first (the
 * common element of big arrays: two API calls). */
static inline int enc_value(encoder *e, int idx, int depth)
{
	lua_State *L = e->L;
	if (lua_isinteger(L, idx)) {
		if (need(e, 9))
			return E_NOMEM;
		e->len = (size_t)(put_int(e->buf + e->len,
					  lua_tointegerx(L, idx, NULL)) - e->buf);
		return 0;
	}
	return enc_typed(e, idx, lua_type(L, idx), depth);
}

/* Name the top-level value k into buf. */
static void root_name(char *buf, size_t cap, int n, int k, const char *label,
		      int first)
{
	if (label != NULL)
		snprintf(buf, cap, "%s #%d", label, first + k);
	else if (n == 1)
		snprintf(buf, cap, "value");
	else
		snprintf(buf, cap, "value #%d", k + 1);
}

/* "cannot <what> <type>": `what` may hold one "%s" where the type goes
 * ("pass %s to go"); without a type (other errors) it reads "value". */
static void what_type(char *out, size_t cap, const char *what, const char *type)
{
	const char *hole = strstr(what, "%s");
	if (hole != NULL)
		snprintf(out, cap, "%.*s%s%s", (int)(hole - what), what,
			 type ? type : "value", hole + 2);
	else
		snprintf(out, cap, "%s%s%s", what, type ? " " : "", type ? type : "");
}

/* Raise the encoder's error in L; releases the encoder first.  Never returns. */
static void enc_raise(encoder *e, const char *what, const char *root)
{
	lua_State *L = e->L;
	char msg[PATH_MAX_LEN + 512], w[256];
	const char *path = e->path + e->pathpos;
	const char *dots = e->truncated ? "..." : "";
	what_type(w, sizeof w, what, e->err == E_TYPE ? e->type : NULL);
	switch (e->err) {
	case E_TYPE:
		snprintf(msg, sizeof msg, "cannot %s (at %s%s%s)", w, root, dots,
			 path);
		break;
	case E_DEPTH:
		snprintf(msg, sizeof msg,
			 "cannot %s: nesting deeper than %d (at %s%s%s)", w,
			 CHL_MSG_MAXDEPTH, root, dots, path);
		break;
	case E_STACK:
		/* nesting is capped far below Lua's stack limit: a stack
		 * that cannot grow is almost always memory */
		snprintf(msg, sizeof msg,
			 "cannot %s: stack overflow or not enough memory (at %s%s%s)",
			 w, root, dots, path);
		break;
	default:
		snprintf(msg, sizeof msg, "cannot %s: not enough memory", w);
	}
	enc_release(e);
	lua_pushstring(L, msg);
	lua_error(L);
}

chl_msg *chl_msg_encode_as(lua_State *L, int idx, int n, const char *what,
			   const char *label, int first)
{
	chl_msg *m = NULL;
	if (n > 0)
		idx = lua_absindex(L, idx);
	if (encode_scalars(L, idx, n, &m)) {
		if (m == NULL) {
			char w[256];
			what_type(w, sizeof w, what, NULL);
			luaL_error(L, "cannot %s: not enough memory", w);
		}
		return m;
	}

	if (!lua_checkstack(L, 8))
		luaL_error(L, "stack overflow or not enough memory");
	encoder *e = enc_acquire(L);
	int base = lua_gettop(L);       /* the encoder is at base */
	if (++e->gen == 0 || e->slots == NULL) {   /* wrapped: clear for real */
		if (e->slots)
			memset(e->slots, 0, (e->mask + 1) * sizeof *e->slots);
		e->gen = 1;
	}
	e->len = e->used = e->nh = 0;
	e->nobjs = e->backrefs = 0;
	e->err = E_OK;
	e->pathpos = PATH_MAX_LEN;
	e->path[PATH_MAX_LEN] = '\0';
	e->truncated = 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	e->globals = lua_topointer(L, -1);
	lua_pop(L, 1);
	if (e->slots == NULL && map_rehash(e)) {
		enc_raise(e, what, "");
		return NULL;
	}
	for (int k = 0; k < n; k++) {
		if (enc_value(e, idx + k, 0)) {
			char root[96];
			root_name(root, sizeof root, n, k, label, first);
			lua_settop(L, base);
			enc_raise(e, what, root);
		}
	}
	lua_settop(L, base);
	m = msg_alloc(e->len, e->nh);
	if (m == NULL) {
		e->err = E_NOMEM;
		enc_raise(e, what, "");
	}
	memcpy(m->data, e->buf, e->len);
	if (e->nh)
		memcpy(m->data + m->hoff, e->hs, e->nh * sizeof(hrec));
	m->nvalues = (uint32_t)n;
	m->nobjs = e->nobjs;
	m->backrefs = e->backrefs;
	enc_release(e);
	const hrec *hs = (const hrec *)(m->data + m->hoff);
	for (uint32_t i = 0; i < m->nhandles; i++)
		chl_handle_types[hs[i].type]->retain(hs[i].obj);
	return m;
}

chl_msg *chl_msg_encode(lua_State *L, int idx, int n, const char *what)
{
	return chl_msg_encode_as(L, idx, n, what, NULL, 0);
}
