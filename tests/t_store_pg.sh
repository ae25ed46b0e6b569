#!/bin/sh
# The store on a real PostgreSQL (docs/kms.md, "The store on PostgreSQL"): scripts/pg.sh starts a
# throwaway cluster; test_store (tests/unit/test_store.c) runs its suite and its multi-process cases
# on it, each case in a database of its own.
. tests/lib.sh
TS=$(dirname "$INITRA")/../tests/test_store
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  skip "the store on PostgreSQL: no /usr/lib/postgresql/*/bin/initdb (make test installs Debian's postgresql)"
  exit 0
fi
plan 11
PSQL=$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1 | sed 's|initdb$|psql|')  # scripts/pg.sh's
# the cluster lives where the postgres user can reach it (the test's own directory is root's, 0700)
D=$(mktemp -d /tmp/initra-pg.XXXXXX)
trap 'sh scripts/pg.sh stop "$D" >/dev/null 2>&1; rm -rf "$D"' EXIT

sh scripts/pg.sh start "$D" >"$T/start.out" 2>&1
CI=$(tail -1 "$T/start.out")
port=$(echo "$CI" | sed -n 's/.*port=\([0-9][0-9]*\).*/\1/p')
if echo "$CI" | grep -Eq '^host=127\.0\.0\.1 port=[0-9]+ dbname=initra ' && [ -S "$D/.s.PGSQL.$port" ]; then
  ok "pg.sh start: the CONNINFO is the last line ($CI), the socket is in DIR"
else not_ok "pg.sh start: $(tail -3 "$T/start.out")"; fi

# case_db CASE: test_store CASE (suite: all of it) on a fresh database named CASE; its failed checks
# go to stderr.
case_db() {
  db=$1
  "$PSQL" "$CI" -qc "CREATE DATABASE $db" >/dev/null 2>&1 || { echo "createdb $db failed" >&2; return 1; }
  case $db in suite|asan) set --;; *) set -- "$db";; esac
  INITRA_TEST_PG="$CI dbname=$db" INITRA_TEST_PG_DIR=$D "$TS" "$@" >"$T/$db.out" 2>&1
  rc=$?
  grep '^not ok' "$T/$db.out" >&2
  [ $rc = 0 ] && grep -q '^ok - ' "$T/$db.out"
}
check "the store's suite passes on PostgreSQL" case_db suite
# the ASan+UBSan build's (make test builds it): the libpq driver's memory under the whole suite
if [ -x "$(dirname "$TS")/../asan/tests/test_store" ]; then
  plan 1
  TS_PLAIN=$TS TS=$(dirname "$TS")/../asan/tests/test_store
  check "the suite passes on PostgreSQL under ASan+UBSan (leaks too)" case_db asan
  TS=$TS_PLAIN
else skip "the suite on PostgreSQL under ASan+UBSan: no $(dirname "$TS")/../asan/tests/test_store (make test builds it)"; fi
check "two processes append 100 audit records each to one chain; it verifies" case_db procs
check "two processes put one name 150 times each: no version twice, each holds its put's value" case_db puts
check "a schema version row newer than this initra's is refused with one line" case_db schema
check "PostgreSQL stopped: put, fetch and audit fail with one line; started again: the same handle works" \
  case_db restart
line=$(grep -m1 '^ok - a put fails with one line: .*PostgreSQL' "$T/restart.out" | cut -c1-200)
if [ -n "$line" ]; then ok "the restart case's error names PostgreSQL: ${line#ok - }"
else not_ok "the restart case's errors: $(grep -c . "$T/restart.out") lines, no put error naming PostgreSQL"; fi

check "pg.sh stop, and stop again (idempotent)" sh -c "sh scripts/pg.sh stop '$D' && sh scripts/pg.sh stop '$D' && [ ! -e '$D/postmaster.pid' ]"
check "nothing listens after stop" sh -c "! '$PSQL' '$CI' -qtAc 'SELECT 1' 2>/dev/null"
check "pg.sh start again: the same CONNINFO" sh -c "[ \"\$(sh scripts/pg.sh start '$D' | tail -1)\" = '$CI' ]"
mkdir -p "$T/notempty" && touch "$T/notempty/file"
check_fails "pg.sh start on a directory that is neither empty nor a cluster" 1 "neither empty nor a PostgreSQL cluster" \
  sh scripts/pg.sh start "$T/notempty"
