# Kiln — build, test and run.
#
#   make            build/kiln and build/libkiln.a
#   make deps       install the Debian packages the build needs (apt-get)
#   make run        deps + build + run the examples
#   make test       deps + build + every test; ends with "N passed, N failed"
#   make asan       the whole test suite under AddressSanitizer + UBSan
#   make bench      the speed benchmarks, Kiln beside lua5.4 (needs lua5.4)
#   make clean      remove build/

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SANFLAGS ?=
EXTRA   ?=
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Werror -fvisibility=hidden \
           -D_DEFAULT_SOURCE -MMD -MP $(SANFLAGS) $(EXTRA)
LDFLAGS := $(SANFLAGS)
LDLIBS  := -lmimalloc -lm

PKGS := libffi-dev libuv1-dev libmimalloc-dev libcriterion-dev pkg-config
BENCH_PKGS := lua5.4 hyperfine

LIB_SRCS := $(wildcard compiler/*.c) $(filter-out vm/main.c,$(wildcard vm/*.c)) \
            $(wildcard interp/*.c) $(wildcard gc/*.c) $(wildcard runtime/*.c) \
            $(wildcard stdlib/*.c) $(wildcard jit/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)

KILN := $(BUILD)/kiln
LIB  := $(BUILD)/libkiln.a
UNIT := $(BUILD)/unit-tests
BADGEN := $(BUILD)/bad-images
MUTATE := $(BUILD)/mutate

.PHONY: all deps run test test-run asan bench bench-deps clean
all: $(KILN) $(LIB)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(KILN): $(BUILD)/obj/vm/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/unit/%.o: CFLAGS += $(shell pkg-config --cflags criterion 2>/dev/null)
$(UNIT): $(UNIT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

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

test: deps
	@$(MAKE) --no-print-directory $(SWITCH_KILN)
	@$(MAKE) --no-print-directory KILN_SWITCH=$(SWITCH_KILN) test-run

test-run: $(KILN) $(UNIT) $(BADGEN) $(MUTATE)
	@KILN=$(KILN) KILN_SWITCH=$(KILN_SWITCH) UNIT=$(UNIT) BADGEN=$(BADGEN) MUTATE=$(MUTATE) \
	  OUT=$(BUILD)/test bash tests/run.sh

# AddressSanitizer + UBSan over the whole suite. Objects come from malloc
# (KILN_GC_MALLOC) so the sanitizer sees each one.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA=-DKILN_GC_MALLOC test-run

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

bench: deps bench-deps
	@$(MAKE) --no-print-directory all
	@KILN=$(KILN) bash bench/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# libFuzzer targets (clang), with ASan + UBSan; see tests/fuzz/README.md.
FUZZ_FLAGS := -std=c11 -g -O1 -D_DEFAULT_SOURCE -DKILN_GC_MALLOC \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
.PHONY: fuzz
fuzz:
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_source tests/fuzz/fuzz_source.c $(LIB_SRCS) $(LDLIBS)
	clang $(FUZZ_FLAGS) -o build/fuzz/fuzz_image tests/fuzz/fuzz_image.c $(LIB_SRCS) $(LDLIBS)
