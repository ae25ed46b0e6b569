#!/bin/sh
# make fuzz: builds each libFuzzer target with clang (ASan+UBSan) and runs it FUZZ_RUNS executions,
# starting from fuzz/corpus/NAME and the shared DCAP vectors. New interesting inputs land in the corpus dir.
set -eu
B=${INITRA_BUILD:-build}
RUNS=${FUZZ_RUNS:-1000000}
VECTORS=${INITRA_VECTORS:-../shared/vectors/dcap}
mkdir -p "$B/fuzz"
SRC="$(ls src/*/*.c) $(ls "$B"/gen/*.pb-c.c 2>/dev/null)"
CURL_SO="$(pkg-config --variable=libdir libcurl)/libcurl.so.4"
FLAGS="-DINITRA_LIBCURL_PATH=\"$CURL_SO\" -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude -Isrc -I$B/gen $(pkg-config --cflags openssl jansson libcurl libcbor grpc libprotobuf-c yaml-0.1 sqlite3)"
LIBS="$(pkg-config --libs openssl jansson libcurl libcbor grpc libprotobuf-c yaml-0.1 sqlite3) -lpthread"
for t in "$@"; do
  echo "fuzz: building $t"
  clang $FLAGS -o "$B/fuzz/$t" "fuzz/$t.c" $SRC $LIBS
  mkdir -p "fuzz/corpus/$t"
  seeds="fuzz/corpus/$t"
  [ -d "$VECTORS" ] && seeds="$seeds $VECTORS"
  echo "fuzz: running $t for $RUNS executions"
  if ! "$B/fuzz/$t" -runs="$RUNS" -max_len=65536 -print_final_stats=1 -artifact_prefix="$B/fuzz/$t-" \
       $seeds >"$B/fuzz/$t.log" 2>&1; then
    tail -40 "$B/fuzz/$t.log"
    echo "fuzz: $t FAILED; the input is in $B/fuzz/$t-crash-* (add it to fuzz/corpus/$t/ once fixed)"
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units)' "$B/fuzz/$t.log"
done
