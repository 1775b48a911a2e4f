# Postern build. GNU make + pkg-config; see README.md.
#
#   make            build build/postern
#   make check      install deps, build, run unit, fuzz-corpus and integration tests
#   make demo       run a ready-to-try server in ./var/demo
#   make bench      side-by-side figures with Postfix (not part of check)
#   make bench-dkim DKIM sign/verify beside OpenDKIM and dkimpy (in make bench)
#   make bench-imap IMAP beside Dovecot on the same Maildir (in make bench)
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make docs       regenerate docs/configuration.md from the parameter table
#   SANITIZE=1      build with ASan + UBSan (in build/asan)
#   CC=clang        build with clang

# Every user-facing target first makes sure the Debian packages are there, then
# re-runs make, so that pkg-config is asked only once the libraries exist.
ifndef POSTERN_DEPS_OK
TARGETS := all check unit integration fuzz fuzz-check demo bench bench-dkim bench-imap docs \
	valgrind
.PHONY: $(TARGETS) clean format
$(TARGETS):
	@scripts/install-deps $(if $(filter bench bench-dkim bench-imap,$@),--bench)
	@$(MAKE) --no-print-directory POSTERN_DEPS_OK=1 -j$$(nproc) $@
clean:
	rm -rf build
format:
	clang-format -i $$(find src tests -name '*.[ch]')
else

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
SANITIZE ?= 0
PYTHON := /usr/bin/python3

BUILD := build
ifeq ($(SANITIZE),1)
BUILD := build/asan
endif

PKGS := openssl libevent libevent_pthreads sqlite3 libsodium libunbound libcurl \
	libpsl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS := -std=c17 -O2 -g -D_GNU_SOURCE $(WARN) $(HARDEN) -Isrc $(PKG_CFLAGS)
LDFLAGS := -pie -Wl,-z,relro,-z,now
LIBS := $(PKG_LIBS) -lpthread
ifeq ($(SANITIZE),1)
CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2 -O2,$(CFLAGS)) -O1 \
	-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

SRCS := $(sort $(shell find src -name '*.c'))
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check unit integration fuzz fuzz-check demo bench bench-dkim bench-imap docs \
	valgrind
all: $(BUILD)/postern

$(BUILD)/postern: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LIBS) -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# the SPF and ARC suites drive the checkers through build/tests/spf_stub
# and build/tests/arc_stub
integration: $(BUILD)/postern $(BUILD)/tests/spf_stub $(BUILD)/tests/arc_stub
	POSTERN_BIN=$(abspath $(BUILD)/postern) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

check: all unit fuzz-check
	@$(MAKE) --no-print-directory integration
	@echo "make check: all tests passed"

valgrind: all $(BUILD)/tests/spf_stub $(BUILD)/tests/arc_stub
	POSTERN_VALGRIND=1 POSTERN_BIN=$(abspath $(BUILD)/postern) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# libFuzzer targets: built with clang, always with ASan+UBSan
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIB_SRCS := $(filter src/lib/% src/mail/% src/mailauth/% src/queue/qfile.c src/queue/spool.c src/mta/sts.c src/mta/tlsrpt.c src/sasl/% src/net/tls.c src/db/directory.c src/imapd/% src/pop3d/parse.c src/pop3d/stuff.c src/store/uidlist.c src/store/mdname.c,$(SRCS))
# the IMAP server's own files (those that include imapd/imapd.h) need the
# event loop, the network and the store: they stay out of the fuzz library,
# which otherwise fails to link every target
FUZZ_IMAPD_SERVER := $(shell grep -l '"imapd/imapd.h"' src/imapd/*.c)
FUZZ_LIB_SRCS := $(filter-out $(FUZZ_IMAPD_SERVER),$(FUZZ_LIB_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_SAN := address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS)
# the library is compiled once for every target (fuzzer-no-link), then
# each target links it: a change to one file rebuilds one object
FUZZ_OBJS := $(FUZZ_LIB_SRCS:%.c=build/fuzz/obj/%.o)
# made through the pattern rule below: keep them (not intermediate files)
.SECONDARY: $(FUZZ_OBJS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP -c -o $@ $<
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -lpthread
-include $(FUZZ_OBJS:.o=.d)

# check: each target replays its committed corpus (fast, no new inputs)
fuzz-check: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  $$f -runs=0 -artifact_prefix=build/fuzz/ tests/fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log \
	    || { cat build/fuzz/$$n.log; exit 1; }; echo "== $$f corpus ok"; done

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/fuzz/new/$$n; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=build/fuzz/ \
	    build/fuzz/new/$$n tests/fuzz/corpus/$$n; done

docs: $(BUILD)/postern
	$(BUILD)/postern config reference > docs/configuration.md

demo: $(BUILD)/postern
	POSTERN_BIN=$(abspath $(BUILD)/postern) scripts/demo

bench: $(BUILD)/postern
	POSTERN_BIN=$(abspath $(BUILD)/postern) bench/run

# bench/dkim links the pure DKIM code (src/mailauth and what it uses)
DKIM_BENCH_OBJS := $(filter $(BUILD)/src/mailauth/% $(BUILD)/src/lib/% \
	$(BUILD)/src/mail/%,$(OBJS))
bench-dkim: $(DKIM_BENCH_OBJS)
	POSTERN_BUILD=$(abspath $(BUILD)) bench/dkim

bench-imap: $(BUILD)/postern
	POSTERN_BIN=$(abspath $(BUILD)/postern) bench/imap

-include $(OBJS:.o=.d)
endif
