#!/bin/sh
# The store's benchmarks (issue 17), measured in this run (bench/store_bench.c says what each line is):
#   store_put_s_100k_secrets, store_mb_100k_secrets, store_list_ms_100k, store_fetch_us,
#   store_audit_fsyncs_per_record_8_threads (group commit: well below 1).
set -eu
B=${INITRA_BUILD:-build}
. scripts/bench_lib.sh
bench_dir store
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude $(pkg-config --cflags $PKG) -o "$B/bench/store_bench" \
  bench/store_bench.c "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread
rm -f "$W"/bench.db*
"$B/bench/store_bench" "$W"
