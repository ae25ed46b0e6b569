#!/bin/sh
# The store's benchmarks (issue 17), measured in this run (bench/store_bench.c says what each line is):
#   store_put_s_100k_secrets, store_mb_100k_secrets, store_list_ms_100k, store_fetch_us,
#   store_audit_fsyncs_per_record_8_threads (group commit: well below 1), audit_appends_per_s_sqlite;
#   on a throwaway PostgreSQL (scripts/pg.sh): audit_appends_per_s_pg, audit_records_per_commit_pg.
set -eu
B=${INITRA_BUILD:-build}
. scripts/bench_lib.sh
bench_dir store
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude $(pkg-config --cflags $PKG) -o "$B/bench/store_bench" \
  bench/store_bench.c "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread
rm -f "$W"/bench.db*
"$B/bench/store_bench" "$W"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "bench: no PostgreSQL (/usr/lib/postgresql/*/bin/initdb): audit_appends_per_s_pg not measured" >&2
  exit 0
fi
PGD=$(mktemp -d /tmp/initra-pg.XXXXXX)  # where the postgres user can reach it
trap 'sh scripts/pg.sh stop "$PGD" >/dev/null 2>&1; rm -rf "$PGD"' EXIT
CI=$(sh scripts/pg.sh start "$PGD" | tail -1)
"$B/bench/store_bench" --pg "$CI"
