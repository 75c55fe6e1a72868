# chanlab - every entry point: deps, build, test, labs, sanitizers, bench, install.
#
#   make deps     install what is missing (apt-get when root, else says how)
#   make          build build/libchanlab.a, build/chanlab, build/chanlab.so
#                 (never installs anything)
#   make test     deps, then layer check (tests/layers.lua), C tests, Lua
#                 tests, lab verification; ends "N passed, N failed"
#   make labs     deps, then verify and show every lab (the main job)
#   make tsan     the tests under ThreadSanitizer   (build/tsan)
#   make asan     the tests under Address+UB Sanitizer (build/asan)
#   make bench    benchmarks, chanlab beside Go; never fails
#   make faults   fault injection: every allocation made to fail in turn
#   make fuzz     the libFuzzer targets for FUZZ_SECONDS each (needs clang)
#   make soak     the producer/consumer soak for SOAK_SECONDS (default 600)
#   make install  public headers, library, module, interpreter, pkg-config under PREFIX
#
# Sources: core/ (C, no Lua) -> build/libchanlab.a; bindings/ (every
# sub-folder but interp/) -> the module and, with bindings/interp/, the
# interpreter.  Header dependencies come from the compiler (-MMD -MP).

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
VERSION := 0.1.0

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL = -std=c11 -pthread $(WARN) $(OPT) $(SAN) -D_GNU_SOURCE -fPIC -MMD -MP \
             -DCHANLAB_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
LUA_CFLAGS = $(shell pkg-config --cflags lua5.4 2>/dev/null)
LUA_LIBS   = $(shell pkg-config --libs lua5.4 2>/dev/null)
# The interpreter links Lua's archive when there is one, as Debian's own
# lua5.4 does: every Lua API call is then a direct call, not one through the
# PLT (table_msg +20 %, pingpong and mutex -15 % measured side by side);
# -rdynamic still exports the API to C modules loaded with require.
LUA_LIBDIR = $(shell pkg-config --variable=libdir lua5.4 2>/dev/null)
LUA_EXE_LIBS = $(or $(wildcard $(LUA_LIBDIR)/liblua5.4.a),$(LUA_LIBS))
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
# Binding files name their headers by folder ("runtime/goroutine.h") and
# the core's by name ("chanlab.h").
BIND_INC   = -iquote core -iquote bindings -iquote $(BUILD)/gen $(LUA_CFLAGS)

CORE_SRC  := $(wildcard core/*.c)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
BIND_SRC  := $(wildcard bindings/*.c) $(filter-out bindings/interp/%,$(wildcard bindings/*/*.c))
BIND_OBJ  := $(BIND_SRC:%.c=$(BUILD)/%.o)
INTERP_SRC := $(wildcard bindings/interp/*.c)
INTERP_OBJ := $(INTERP_SRC:%.c=$(BUILD)/%.o)
INTERP_LUA := $(wildcard bindings/interp/*.lua)
INTERP_GEN := $(INTERP_LUA:bindings/interp/%.lua=$(BUILD)/gen/%_lua.h)
TRACE_HTML := $(wildcard bindings/trace/*.html)
TRACE_GEN  := $(TRACE_HTML:bindings/trace/%.html=$(BUILD)/gen/%_html.h)
CTEST_SRC := $(wildcard tests/c/test_*.c)
CTEST_BIN := $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
BTEST_SRC := $(wildcard tests/bind/test_*.c)
CTEST_BIN += $(BTEST_SRC:tests/bind/%.c=$(BUILD)/tests/%)
# The fuzz targets, built two ways: replayed over their corpus by a plain
# main (tests/fuzz/replay.c) in every build, run by libFuzzer in `make fuzz`.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
CTEST_BIN += $(FUZZ_NAMES:%=$(BUILD)/tests/test_fuzz_%)
CBENCH_SRC := $(wildcard scripts/bench/c/*.c)
CBENCH_BIN := $(CBENCH_SRC:scripts/bench/c/%.c=$(BUILD)/bench/%)

# What `make install` puts under include/chanlab: chanlab.h and the
# headers it includes, nothing internal (check.h, lock.h, runq.h ...).
PUBLIC_H  := chanlab.h status.h timer.h waiter.h sched.h chan.h select.h wg.h \
             mutex.h once.h sem.h atomic.h ctx.h timechan.h signal.h

LIB    := $(BUILD)/libchanlab.a
EXE    := $(BUILD)/chanlab
MODULE := $(BUILD)/chanlab.so
HAVE_BINDINGS := $(wildcard bindings/interp/main.c)

.PHONY: all deps test labs tsan asan bench install clean
.DEFAULT_GOAL := all

all: $(LIB) $(if $(HAVE_BINDINGS),$(EXE) $(MODULE)) $(CTEST_BIN) $(CBENCH_BIN)

deps:
	@scripts/deps.sh

$(BUILD)/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The interpreter's objects include the embedded Lua (order-only: the
# compiler's .d files track the real dependency after the first build).
$(BUILD)/bindings/%.o: bindings/%.c | $(INTERP_GEN) $(TRACE_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(BIND_INC) -c $< -o $@

$(LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The interpreter carries its Lua parts (lab runner, prompt) as C strings;
# written to a temporary first, so a failed run leaves no empty header.
$(BUILD)/gen/%_lua.h: bindings/interp/%.lua scripts/embed.lua
	@mkdir -p $(dir $@)
	lua5.4 scripts/embed.lua chl_$*_lua $< > $@.tmp && mv $@.tmp $@

# The trace's HTML timeline page, the same way (bindings/trace/html.h).
$(BUILD)/gen/%_html.h: bindings/trace/%.html scripts/embed.lua
	@mkdir -p $(dir $@)
	lua5.4 scripts/embed.lua chl_$*_html $< > $@.tmp && mv $@.tmp $@

$(EXE): $(INTERP_OBJ) $(BIND_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -rdynamic -o $@ $^ $(LUA_EXE_LIBS) -lm -ldl

# -z nodelete: the runtime's threads (workers, timer, monitor) live as long
# as the process, so the module must stay mapped when lua_close unloads its
# C libraries; without it a worker woken after the dlclose ran unmapped code
# (a stock lua5.4 segfaulted at exit about 1 run in 50).
$(MODULE): $(BIND_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -shared -Wl,-z,nodelete -o $@ $^

$(BUILD)/tests/%: tests/c/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote core -o $@ $< $(LIB) $(CMOCKA_LIBS) -lm

# C tests of the bindings: they link Lua and every binding object.
$(BUILD)/tests/%: tests/bind/%.c $(BIND_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(BIND_INC) -o $@ $< \
		$(BIND_OBJ) $(LIB) $(LUA_LIBS) $(CMOCKA_LIBS) -lm -ldl

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BIND_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(BIND_INC) -DFUZZ_CORPUS='"tests/fuzz/corpus/$*"' -o $@ \
		$< tests/fuzz/replay.c $(BIND_OBJ) $(LIB) $(LUA_LIBS) -lm -ldl

$(BUILD)/bench/%: scripts/bench/c/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote core -o $@ $< $(LIB) -lm

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# test and labs install what is missing first, then build (a separate
# make, so that a parallel build never races the installation).
test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run.sh

labs: deps
	@$(MAKE) --no-print-directory all
	@$(EXE) lab verify --show

# Sanitizer builds run every lab under 10 seeds instead of 100
# (test_schedule.lua) and the soak for 10 s instead of 60, its memory
# reported but not judged (their allocators hold freed memory back): a
# sanitized run is 10 to 30 times slower.
tsan:
	@CHANLAB_TEST_SEEDS=$${CHANLAB_TEST_SEEDS:-10} CHANLAB_SOAK_SECONDS=$${CHANLAB_SOAK_SECONDS:-10} \
	CHANLAB_SOAK_MEMORY=report $(MAKE) --no-print-directory \
		BUILD=build/tsan OPT="-O1 -g" \
		SAN="-fsanitize=thread -fno-omit-frame-pointer" test

asan:
	@CHANLAB_TEST_SEEDS=$${CHANLAB_TEST_SEEDS:-10} CHANLAB_SOAK_SECONDS=$${CHANLAB_SOAK_SECONDS:-10} \
	CHANLAB_SOAK_MEMORY=report $(MAKE) --no-print-directory \
		BUILD=build/asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" test

bench: all
	@BUILD=$(BUILD) scripts/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include/chanlab $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(addprefix core/,$(PUBLIC_H)) $(DESTDIR)$(PREFIX)/include/chanlab/
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' chanlab.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/chanlab.pc
	$(if $(HAVE_BINDINGS),install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4 && \
		install -m 755 $(EXE) $(DESTDIR)$(PREFIX)/bin/ && \
		install -m 755 $(MODULE) $(DESTDIR)$(PREFIX)/lib/lua/5.4/ && \
		install -d $(DESTDIR)$(PREFIX)/share/chanlab && \
		cp -r labs $(DESTDIR)$(PREFIX)/share/chanlab/)
	$(if $(HAVE_BINDINGS),install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/lua/5.4 && \
		install -m 644 bindings/interp/chanlab.1 $(DESTDIR)$(PREFIX)/share/man/man1/ && \
		install -m 644 bindings/chanlab.d.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/)

clean:
	rm -rf build

# ---- reliability: fault injection, fuzzing, soak (issue #13) ----------
#
#   make faults   build/faults (ASan, allocations wrapped by
#                 tests/faults/failalloc.c): for every N up to the count of
#                 allocations of the Lua workload and of the C suites, a run
#                 whose N-th allocation fails; none may crash, hang, trip
#                 a sanitizer, leak, or end without saying "not enough
#                 memory".  FAULT_STRIDE=k runs every k-th N only.
#   make fuzz     build/fuzz (clang, libFuzzer + ASan/UBSan): each target
#                 (tests/fuzz/fuzz_*.c) for FUZZ_SECONDS (default 60);
#                 corpus in tests/fuzz/corpus, FUZZ_KEEP=1 adds the finds
#   make soak     8 producers x 8 consumers for SOAK_SECONDS (default 600)
# make test replays each fuzz corpus (build/tests/test_fuzz_*) and runs
# the soak for 60 s (CHANLAB_SOAK_SECONDS).

FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=strdup,--wrap=_exit
FAULT_OBJ = $(BUILD)/tests/faults/failalloc.o
ASAN_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: faults fuzz soak

soak: all
	@CHANLAB_SOAK_SECONDS=$${SOAK_SECONDS:-600} $(EXE) tests/soak/soak.lua

$(BUILD)/tests/faults/failalloc.o: tests/faults/failalloc.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

ifeq ($(FAULTS),1)
$(EXE) $(CTEST_BIN): $(FAULT_OBJ)
LUA_EXE_LIBS += $(FAULT_WRAP)
CMOCKA_LIBS += $(FAULT_OBJ) $(FAULT_WRAP)
endif

# libFuzzer: the objects built with clang and coverage, each target linked
# with -fsanitize=fuzzer and Lua's archive; run from a copy of its corpus
# so that what it finds stays in the build folder (FUZZ_KEEP=1 merges the
# new inputs into tests/fuzz/corpus).
FUZZ_SAN := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BIND_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $(BIND_INC) -o $@ $< $(BIND_OBJ) $(LIB) \
		$(LUA_EXE_LIBS) -lm -ldl

fuzz: deps
	@command -v clang >/dev/null || { echo "make fuzz: needs clang (apt-get install clang)"; exit 1; }
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz OPT="-O1 -g" SAN="$(FUZZ_SAN)" \
		$(FUZZ_NAMES:%=build/fuzz/fuzz/fuzz_%)
	@BUILD=build/fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60} tests/fuzz/run.sh $(FUZZ_NAMES)

faults: deps
	@$(MAKE) --no-print-directory BUILD=build/faults OPT="-O1 -g" SAN="$(ASAN_SAN)" FAULTS=1 all
	@BUILD=build/faults tests/faults/run.sh
