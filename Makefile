# initra: make | make test | make demo | make bench | make fuzz | make install PREFIX=...
# Everything builds under $(BUILD); `make` first installs the missing Debian packages the goals need
# (scripts/deps.sh: the build's for make/demo/install, plus the test peers for test, clang for fuzz).

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= gcc
SAN     ?=
PKGS    := openssl jansson libcurl libcbor grpc libprotobuf-c yaml-0.1 sqlite3

CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
OPT     := -O2 -g
ifeq ($(SAN),1)
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is loaded on first use (src/dcap/pccs.c), so it is not linked.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -ldl
# The initra binary links gRPC and its absl/upb/re2/c-ares libraries statically: resolving ~50 more
# shared objects at every start cost ~6 ms, paid by /bin/init before the application may start.
GRPC_STATIC = $(shell pkg-config --static --libs grpc libprotobuf-c 2>/dev/null | tr ' ' '\n' | \
                grep -E '^-l(grpc|gpr|upb|re2|cares|address_sorting|absl_.*|protobuf-c)$$' | awk '!s[$$0]++')
BIN_LIBS   = -Wl,-Bstatic $(GRPC_STATIC) -Wl,-Bdynamic \
             $(shell pkg-config --libs $(filter-out libcurl grpc libprotobuf-c,$(PKGS)) 2>/dev/null) \
             -lstdc++ -lz -lm -ldl -lpthread -lrt
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
# libcurl is dlopen()ed by this absolute path (never found through $LD_LIBRARY_PATH), and `initra build`
# copies it to the same path in images: pkg-config's libdir, else the compiler's multiarch directory.
LIBCURL_PATH = $(or $(shell pkg-config --variable=libdir libcurl 2>/dev/null),/usr/lib/$(shell $(CC) -print-multiarch))/libcurl.so.4
LDFLAGS += $(OPT)
LDLIBS  += $(PKG_LIBS) -lpthread

LIB_SRC   := $(sort $(wildcard src/*/*.c))
TOOL_SRC  := $(sort $(wildcard tools/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
# proto/NAME.proto -> $(BUILD)/gen/NAME.pb-c.[ch] (protoc-c), compiled into the library.
PROTO_SRC := $(sort $(wildcard proto/*.proto))
PROTO_C   := $(PROTO_SRC:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_H   := $(PROTO_C:%.c=%.h)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(PROTO_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)
FUZZ_SRC  := $(sort $(wildcard fuzz/*.c))
FUZZ_TARGETS := $(filter-out replay,$(FUZZ_SRC:fuzz/%.c=%))
REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay/%)
LIB       := $(BUILD)/lib/libinitra.a
BIN       := $(BUILD)/bin/initra
# One scripts/deps.sh run for the goals given (e.g. build+test), so apt runs once, before any compile.
DEPS_FOR   := $(sort $(filter test fuzz bench,$(MAKECMDGOALS)))
DEPS_STAMP := $(BUILD)/.deps-build$(subst $(eval) ,,$(DEPS_FOR:%=+%))

# make test without the real-quote vectors: the one skip line comes first, before the build.
ifneq ($(filter test,$(MAKECMDGOALS)),)
VECTORS_NOTE := $(shell sh tests/vectors.sh 2>&1)
ifneq ($(.SHELLSTATUS),0)
$(error $(VECTORS_NOTE))
endif
ifneq ($(VECTORS_NOTE),)
$(info $(VECTORS_NOTE))
export INITRA_VECTORS_SAID := 1
endif
endif

.PHONY: all deps test unit demo bench fuzz install clean
all: $(BIN)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh $@ $(DEPS_FOR)

.SECONDARY: $(PROTO_C) $(PROTO_H)
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/src/dcap/pccs.o $(BUILD)/obj/src/enclave/instance.o: CFLAGS += -DINITRA_LIBCURL_PATH='"$(LIBCURL_PATH)"'
# The front-end sees the public API only (include/initra/); scripts/layers.sh checks the rest.
$(TOOL_OBJ): CFLAGS := $(filter-out -Isrc -I$(BUILD)/gen,$(CFLAGS))

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(TOOL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(LIB) $(BIN_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS)

# Small programs the shell tests drive (e.g. a gRPC peer for the interop test).
$(BUILD)/helpers/%: tests/helpers/%.c $(LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Corpus replay: each fuzz target linked with a plain main() that feeds it files (gcc, ASan+UBSan).
$(BUILD)/fuzz-replay/%: fuzz/%.c fuzz/replay.c $(LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< fuzz/replay.c $(LIB) $(LDLIBS)

unit: $(UNIT_BIN) $(REPLAY_BIN)

# make test: the normal build and the ASan+UBSan build of the unit tests and corpus replays,
# then every test under tests/ (tests/run.sh prints "N passed, N failed").
test: $(DEPS_STAMP) all unit $(HELPER_BIN)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 unit
	@INITRA_BUILD=$(BUILD) sh tests/run.sh

demo: all
	@INITRA_BUILD=$(BUILD) sh scripts/demo.sh

bench: all
	@INITRA_BUILD=$(BUILD) sh scripts/bench.sh

# make fuzz: libFuzzer targets (clang), each run FUZZ_RUNS executions from its corpus.
FUZZ_RUNS ?= 1000000
fuzz: $(PROTO_C) | $(DEPS_STAMP)
	@INITRA_BUILD=$(BUILD) FUZZ_RUNS=$(FUZZ_RUNS) sh scripts/fuzz.sh $(FUZZ_TARGETS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/initra
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/initra
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libinitra.a
	install -m 0644 include/initra/*.h $(DESTDIR)$(PREFIX)/include/initra/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(filter-out libcurl,$(PKGS))|' scripts/initra.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/initra.pc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/tests $(BUILD)/helpers -name '*.d' 2>/dev/null)
