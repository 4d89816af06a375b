# Kiln — build, test and run.
#
#   make            build/kiln, build/libkiln.a, build/libkiln.so, build/kiln.pc
#   make install    PREFIX=/usr/local (default) and DESTDIR: bin/kiln,
#                   lib/libkiln.{a,so*}, include/kiln.h, lib/pkgconfig/kiln.pc
#   make uninstall  removes what make install put there (same PREFIX/DESTDIR)
#   make deps       install the Debian packages the build needs (apt-get)
#   make run        deps + build + run the examples
#   make test       deps + build + every test (and a ThreadSanitizer build of the
#                   threaded one, and a sample of make oomtest); ends with
#                   "N passed, N failed"
#   make asan       the whole test suite under AddressSanitizer + UBSan
#   make tsan       only the ThreadSanitizer test (VMs on threads)
#   make oomtest    failure injection: every allocation of libkiln made to fail in
#                   turn, over programs and API sequences (tests/oom), under ASan
#   make bench      the speed benchmarks, Kiln (interpreter, JIT) beside lua5.4, LuaJIT, node, C
#   make opstats    build/opstats/kiln, which reports executed opcodes and pairs
#   make embed-example  build/embed, the C application of examples/embed
#   make clean      remove build/

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SANFLAGS ?=
EXTRA   ?=
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Werror -fvisibility=hidden \
           -D_DEFAULT_SOURCE -MMD -MP $(SANFLAGS) $(EXTRA)
LDFLAGS := $(SANFLAGS)
LDLIBS  := -lmimalloc -lffi -luv -lm

PKGS := libffi-dev libuv1-dev libmimalloc-dev libcriterion-dev libcapstone-dev pkg-config \
        clang-format
# `make bench`'s peers and tools (node is used when present, not installed).
BENCH_PKGS := lua5.4 luajit gnuplot-nox hyperfine liblua5.4-dev wrk

LIB_SRCS := $(wildcard compiler/*.c) $(filter-out vm/main.c,$(wildcard vm/*.c)) \
            $(wildcard interp/*.c) $(wildcard gc/*.c) $(wildcard runtime/*.c) \
            $(wildcard stdlib/*.c) $(wildcard jit/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# Criterion tests: the C pieces (tests/unit) and the embedding API as an
# embedder uses it (tests/api), in one runner. tests/unit/test_x64.c decodes
# the JIT's machine code with capstone, so the runner links it (libkiln
# loads capstone only for `kiln dis --jit`, with dlopen).
UNIT_SRCS := $(wildcard tests/unit/*.c) $(wildcard tests/api/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)

KILN := $(BUILD)/kiln
LIB  := $(BUILD)/libkiln.a
# The static library make install installs (see its rule below).
PUBLIB := $(BUILD)/pub/libkiln.a

# Version from vm/config.h (KILN_VERSION, what kiln_version() returns).
# While the major version is 0 any minor release may change the ABI, so the
# soname carries major.minor (libkiln.so.0.1); from 1.0 on only the major.
VERSION := $(shell sed -n 's/^.define KILN_VERSION "\(.*\)".*/\1/p' vm/config.h)
$(if $(VERSION),,$(error cannot read KILN_VERSION from vm/config.h))
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
SONAME  := libkiln.so.$(if $(filter 0,$(VERSION_MAJOR)),0.$(VERSION_MINOR),$(VERSION_MAJOR))
SO      := $(BUILD)/libkiln.so
SO_FILE := $(BUILD)/libkiln.so.$(VERSION)
PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/obj/%.o)
PC      := $(BUILD)/kiln.pc

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

define KILN_PC
prefix=$(PREFIX)
libdir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

Name: kiln
Description: Kiln process virtual machine, embeddable (libkiln)
Version: $(VERSION)
Libs: -L$${libdir} -lkiln
Libs.private: $(LDLIBS)
Cflags: -I$${includedir}
endef
UNIT := $(BUILD)/unit-tests
BADGEN := $(BUILD)/bad-images
MUTATE := $(BUILD)/mutate

.PHONY: all deps run test test-run asan tsan tsan-build oomtest oom-build bench bench-deps opstats clean install uninstall FORCE \
        embed-example
all: $(KILN) $(LIB) $(PUBLIB) $(SO) $(BUILD)/$(SONAME) $(PC)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The static library `make install` installs: the same objects linked into
# one, whose symbols other than the KILN_API functions (all hidden, by
# -fvisibility=hidden) are made local, so a host with its own gc_alloc or
# vm_poll links with it. ($(LIB), with every symbol, is the tests'.)
$(PUBLIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(LD) -r -o $(BUILD)/pub/kiln.o $^
	objcopy --localize-hidden $(BUILD)/pub/kiln.o
	@rm -f $@
	ar rcs $@ $(BUILD)/pub/kiln.o

# The shared library: the same sources compiled again, position-independent,
# into $(BUILD)/pic/obj (the kiln binary keeps its non-PIC objects). Only the
# KILN_API functions of vm/kiln.h are exported (-fvisibility=hidden).
$(BUILD)/pic/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(SO_FILE): $(PIC_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)

$(SO) $(BUILD)/$(SONAME): $(SO_FILE)
	ln -sf $(notdir $<) $@

# kiln.pc for this PREFIX: rewritten only when its text changes, so that
# `make install PREFIX=...` never installs one made for another prefix.
$(PC): export KILN_PC_TEXT = $(KILN_PC)
$(PC): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$KILN_PC_TEXT" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(KILN): $(BUILD)/obj/vm/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/api/%.o: CFLAGS += $(shell pkg-config --cflags criterion 2>/dev/null) -pthread
$(UNIT): $(UNIT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS) $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion) \
	  $(shell pkg-config --libs capstone 2>/dev/null || echo -lcapstone)

# examples/embed: a C application embedding Kiln (build/embed SCRIPT).
# tests/heapcap/maxrss.c: a command's peak RSS, for the heap-limit checks
# of tests/run.sh (not under sanitizers, whose shadow memory is RSS too).
MAXRSS := $(BUILD)/maxrss
$(MAXRSS): tests/heapcap/maxrss.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -o $@ $<

EMBED := $(BUILD)/embed
$(EMBED): examples/embed/embed.c $(LIB)
	$(CC) $(CFLAGS) -pthread -Ivm $(LDFLAGS) -o $@ $^ $(LDLIBS)
embed-example: $(EMBED)

$(BADGEN): $(BUILD)/obj/tests/bad/bad_images.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(MUTATE): $(BUILD)/obj/tests/fuzz/mutate.o
	$(CC) $(LDFLAGS) -o $@ $^

deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@for f in examples/*.kn; do echo "== kiln run $$f"; $(KILN) run $$f || exit 1; done

# The interpreter built with its portable switch dispatch instead of
# computed goto (vm/config.h): `make test` runs the language suite on it too.
SWITCH_KILN := $(BUILD)/switch/kiln
$(SWITCH_KILN): $(LIB_SRCS) vm/main.c
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/switch EXTRA="$(EXTRA) -DKILN_NO_COMPUTED_GOTO" \
	  $(BUILD)/switch/kiln

# ThreadSanitizer: tests/tsan/threads.c (VMs on threads, compiling, and an
# interrupt from another thread) on a libkiln built with -fsanitize=thread,
# the default allocator (mimalloc) included.
TSAN_BIN := $(BUILD)/tsan/tsan-threads
TSAN_THREADS ?=
$(BUILD)/tsan-threads: tests/tsan/threads.c tests/api/mixed_program.h tests/api/mobility.h $(LIB)
	$(CC) $(CFLAGS) -pthread $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tsan-build:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan OPT=-O1 SANFLAGS=-fsanitize=thread $(TSAN_BIN)

# make tsan: only the ThreadSanitizer test (make test runs it too).
tsan: deps tsan-build
	TSAN_OPTIONS="suppressions=tests/tsan/suppressions.txt halt_on_error=1" $(TSAN_BIN)

test: deps
	@$(MAKE) --no-print-directory $(SWITCH_KILN)
	@$(MAKE) --no-print-directory tsan-build
	@$(MAKE) --no-print-directory oom-build
	@$(MAKE) --no-print-directory KILN_SWITCH=$(SWITCH_KILN) TSAN_THREADS=$(TSAN_BIN) \
	  OOM_SAMPLE=$(OOM_BUILD) test-run

# The install check (tests/install/check.sh, from run.sh's cli section)
# needs the libraries; it is skipped under sanitizers (make asan), whose
# runtime an application linked by pkg-config flags would lack.
INSTALL_CHECK := $(if $(SANFLAGS),no,yes)
test-run: $(KILN) $(UNIT) $(BADGEN) $(MUTATE) $(EMBED) $(if $(SANFLAGS),,$(LIB) $(PUBLIB) $(SO) $(BUILD)/$(SONAME) $(MAXRSS))
	@KILN=$(KILN) KILN_SWITCH=$(KILN_SWITCH) UNIT=$(UNIT) BADGEN=$(BADGEN) MUTATE=$(MUTATE) EMBED=$(EMBED) \
	  MAXRSS=$(if $(SANFLAGS),,$(MAXRSS)) \
	  TSAN_THREADS=$(TSAN_THREADS) OOM_BUILD=$(OOM_SAMPLE) \
	  OUT=$(BUILD)/test BUILD=$(BUILD) INSTALL_CHECK=$(INSTALL_CHECK) MAKE="$(MAKE)" CC="$(CC)" \
	  bash tests/run.sh

# Failure injection (tests/oom/README.md): libkiln built as for make asan,
# linked with tests/oom/oom_wrap.c in front of its allocation functions
# (-Wl,--wrap), into build/asan/oom-driver (programs and API sequences run
# in-process) and build/asan/kiln-oom (the command line, KILN_OOM_AT=N).
# make oomtest tries every injection point; make test a sample of them.
# The library's objects are make asan's (the same flags, the same folder).
OOM_BUILD := build/asan
# make asan's sanitizers (UBSan's undefined group leaves out float-cast-overflow: a
# float converted to an integer it does not fit)
ASAN_SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
  -fno-omit-frame-pointer
OOM_FLAGS := BUILD=$(OOM_BUILD) OPT=-O1 EXTRA=-DKILN_GC_MALLOC SANFLAGS="$(ASAN_SANFLAGS)"
OOM_SAMPLE ?=
OOM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup \
            -Wl,--wrap=mmap,--wrap=munmap
$(BUILD)/oom-driver: $(BUILD)/obj/tests/oom/driver.o $(BUILD)/obj/tests/oom/oom_wrap.o $(LIB)
	$(CC) $(LDFLAGS) $(OOM_WRAP) -o $@ $^ $(LDLIBS)
$(BUILD)/kiln-oom: $(BUILD)/obj/vm/main.o $(BUILD)/obj/tests/oom/oom_wrap.o $(LIB)
	$(CC) $(LDFLAGS) $(OOM_WRAP) -o $@ $^ $(LDLIBS)
oom-build:
	@$(MAKE) --no-print-directory $(OOM_FLAGS) $(OOM_BUILD)/oom-driver $(OOM_BUILD)/kiln-oom
oomtest: deps oom-build
	@OOM_BUILD=$(OOM_BUILD) bash tests/oom/run.sh full

# AddressSanitizer + UBSan over the whole suite. A small heap's objects,
# large ones and --gc-verify's come from malloc (KILN_GC_MALLOC), so the
# sanitizer sees each one; the heap's own spans and runs (gc/pages.c) are
# poisoned where nothing is handed out, with a red zone after each block.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 SANFLAGS="$(ASAN_SANFLAGS)" \
	  EXTRA=-DKILN_GC_MALLOC test-run

# build/opstats/kiln counts the instructions each `kiln run` executes and
# prints the most frequent opcodes and opcode pairs to stderr (profiling
# the interpreter; slower than the normal build).
opstats:
	@$(MAKE) --no-print-directory BUILD=build/opstats EXTRA=-DKILN_OPSTATS build/opstats/kiln

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make bench-deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	fi

# Kernels and the AWFY ports under Kiln's interpreter (--jit=off) and JIT
# (--jit=on) and every installed peer (lua5.4, luajit -joff, luajit, node; C
# for the kernels), then the JIT's compile times (--jit=always --jit-stats at
# the smallest sizes); tables on stdout and in build/bench/results.md, charts
# beside it.
# RUNS (default 5) and WARMUP (default 1) pass through the environment.
bench: deps bench-deps
	@$(MAKE) --no-print-directory all
	@KILN=$(KILN) bash bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(KILN) $(DESTDIR)$(BINDIR)/kiln
	install -m 644 $(PUBLIB) $(DESTDIR)$(LIBDIR)/libkiln.a
	install -m 755 $(SO_FILE) $(DESTDIR)$(LIBDIR)/libkiln.so.$(VERSION)
	ln -sf libkiln.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libkiln.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkiln.so
	install -m 644 vm/kiln.h $(DESTDIR)$(INCLUDEDIR)/kiln.h
	install -m 644 $(PC) $(DESTDIR)$(PKGCONFIGDIR)/kiln.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kiln $(DESTDIR)$(LIBDIR)/libkiln.a \
	  $(DESTDIR)$(LIBDIR)/libkiln.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libkiln.so $(DESTDIR)$(INCLUDEDIR)/kiln.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/kiln.pc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/pic/obj -name '*.d' 2>/dev/null)

# libFuzzer targets (clang), with ASan + UBSan; see tests/fuzz/README.md.
FUZZ_FLAGS := -std=c11 -g -O1 -D_DEFAULT_SOURCE -DKILN_GC_MALLOC \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
.PHONY: fuzz
fuzz:
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_source tests/fuzz/fuzz_source.c $(LIB_SRCS) $(LDLIBS)
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_image tests/fuzz/fuzz_image.c $(LIB_SRCS) $(LDLIBS)
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_struct tests/fuzz/fuzz_struct.c $(LIB_SRCS) $(LDLIBS)
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_api tests/fuzz/fuzz_api.c $(LIB_SRCS) $(LDLIBS)
