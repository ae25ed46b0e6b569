#!/bin/sh
# KMS replicas on PostgreSQL (issue 18), measured in this run (bench/fetch_bench.c store, store_pg, store_pg2:
# GRPC-RATLS fetches over new connections, 8 clients, sealed store with an audit record per release):
#   fetch_ratio_pg: fetches/s of one KMS on PostgreSQL (a scripts/pg.sh cluster on this machine) divided by
#     one KMS on SQLite, same run (issue 18: at least 0.7).
#   fetch_ratio_2_replicas: two KMS replicas on that database (in one process), the clients spread over
#     both, divided by one replica on it. On a 2-core machine this measures overhead, not scaling.
# failover_ms is bench_grpc.sh's; audit_appends_per_s_pg is bench_store.sh's.
set -eu
B=${INITRA_BUILD:-build}
SECS=${BENCH_SECONDS:-3}
. scripts/bench_lib.sh
bench_dir replicas
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "bench: no PostgreSQL (/usr/lib/postgresql/*/bin/initdb): fetch_ratio_pg, fetch_ratio_2_replicas not measured" >&2
  exit 0
fi
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -I"$B/gen" $(pkg-config --cflags $PKG) -o "$B/bench/fetch_bench_replicas" \
  bench/fetch_bench.c "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread
"$INITRA" sim init >/dev/null
PGD=$(mktemp -d /tmp/initra-pg.XXXXXX)  # where the postgres user can reach it
trap 'sh scripts/pg.sh stop "$PGD" >/dev/null 2>&1; rm -rf "$PGD"' EXIT
CI=$(sh scripts/pg.sh start "$PGD" | tail -1)
val() { sed -n "s/^$1 //p"; }
s=$("$B/bench/fetch_bench_replicas" store "$SECS" 8 | val fetch_per_s_store)
p=$(INITRA_BENCH_PG=$CI "$B/bench/fetch_bench_replicas" store_pg "$SECS" 8 | val fetch_per_s_store_pg)
p2=$(INITRA_BENCH_PG=$CI "$B/bench/fetch_bench_replicas" store_pg2 "$SECS" 8 | val fetch_per_s_store_pg_2_replicas)
echo "fetch_per_s_store_sqlite $s"
echo "fetch_per_s_store_pg $p"
echo "fetch_per_s_store_pg_2_replicas $p2"
python3 -c "print('fetch_ratio_pg %.2f' % ($p / $s))"
python3 -c "print('fetch_ratio_2_replicas %.2f' % ($p2 / $p))"
