#!/bin/sh
# KMS replicas on PostgreSQL (issue 18; docs/kms.md, "Running replicas"): two sim KMS enclaves of one
# image on one scripts/pg.sh cluster ("store": {"postgres": CONNINFO}). A secret put through replica A
# is fetched by an application through replica B and listed through B at once; the CONNINFO's password
# is never logged; PostgreSQL stopped mid-run: fetches fail closed (UNAVAILABLE, nothing released, no
# release without its audit record), then succeed again with no KMS restarted; one audit chain verifies.
# Three replicas under load (64 clients, 10,000 fetches, bench/fetch_bench.c load), kill -9 of one: 0
# failures, a release record per fetch, the chain verifies. The host restores an older dump: refused.
. tests/lib.sh
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  skip "KMS replicas on PostgreSQL: no /usr/lib/postgresql/*/bin/initdb (make test installs Debian's postgresql)"
  exit 0
fi
plan 42
. scripts/instances.sh
sim_platform
D=$(mktemp -d /tmp/initra-pg.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; sh scripts/pg.sh stop "$D" >/dev/null 2>&1; rm -rf "$D"' EXIT
sh scripts/pg.sh start "$D" >"$T/pg.out" 2>&1
CI=$(tail -1 "$T/pg.out")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)  # scripts/pg.sh's
echo "$CI" | grep -q 'dbname=initra' || { not_ok "pg.sh start: $(tail -3 "$T/pg.out")"; exit 1; }

# Bad store settings: one line naming the field, nothing served.
printf '{"store": {"postgres": ""}}' >"$T/bad1.json"
check_fails "store.postgres empty: refused, naming the field" 2 'store.postgres: is not a libpq CONNINFO' \
  "$INITRA" kms serve --config "$T/bad1.json" --listen 127.0.0.1:0
printf '{"store": {"postgres": "%s", "sqlite": "/host/kms.db"}}' "$CI" >"$T/bad2.json"
check_fails "store names both drivers: refused" 2 'store: give "sqlite" or "postgres", not both' \
  "$INITRA" kms serve --config "$T/bad2.json" --listen 127.0.0.1:0

printf '{"store": {"sqlite": "/host/kms.db"}, "replica": {"advertise": "10.0.0.1:4433"}}' >"$T/bad3.json"
check_fails "replica without PostgreSQL: refused" 2 '"replica" is for KMS replicas on PostgreSQL' \
  "$INITRA" kms serve --config "$T/bad3.json" --listen 127.0.0.1:0
printf '{"store": {"postgres": "%s"}, "replica": {"advertise": "nope"}}' "$CI" >"$T/bad4.json"
check_fails "replica.advertise not HOST:PORT: refused" 2 'replica: .*is not \{"advertise": "HOST:PORT"\}' \
  "$INITRA" kms serve --config "$T/bad4.json" --listen 127.0.0.1:0

SIGNER=$(probe_signer "$T/probe")
ADM=$("$INITRA" kms admin keygen --out "$T/admin" | tail -1) && [ ${#ADM} = 64 ] || { not_ok "admin key"; exit 1; }
# The password is ignored by pg.sh's trusting cluster; it shows that the KMS never logs it.
PW=pw-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
CONF="{\"store\": {\"postgres\": \"$CI password=$PW\"}, \"admins\": [\"$ADM\"]}"
kms_instance "$T/kms" "$CONF" || { not_ok "KMS instance builds"; exit 1; }
KMS_MRE=$("$INITRA" print mrenclave "$T/kms" | field)
PA=$(free_port)
kms_start "$T/kms" "$PA" "$T/a.log" && PIDS="$PIDS $KMS_PID" && ok "replica A starts on PostgreSQL" \
  || { not_ok "replica A: $(tail -3 "$T/a.log")"; exit 1; }
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
kms_start "$T/kms" "$PB" "$T/b.log" && PIDS="$PIDS $KMS_PID" && ok "replica B (same image, same CONNINFO) starts" \
  || { not_ok "replica B: $(tail -3 "$T/b.log")"; exit 1; }
grep -q "sealed store postgres://.*127.0.0.1:[0-9]*/initra" "$T/a.log" && ok "the log names the database (postgres://HOST:PORT/DB)" \
  || not_ok "store label: $(grep serving "$T/a.log")"
if grep -q "$PW" "$T/a.log" "$T/b.log"; then not_ok "the CONNINFO's password is in a log"; else ok "the CONNINFO's password is in no log"; fi

# `initra kms admin`, verifying each replica by attestation first (its MRENCLAVE).
printf '[{"mr_enclave": "%s"}]' "$KMS_MRE" >"$T/expect.json"
adm() {
  port=$1; shift
  "$INITRA" kms admin --kms "127.0.0.1:$port" --expect "$T/expect.json" --key "$T/admin.key" --cert "$T/admin.crt" \
    --trust-root "$T/sim-root.der" --collateral "$T/collateral.json" "$@"
}
printf '[{"name": "apps", "mr_signer": "%s"}]' "$SIGNER" >"$T/pol.json"
check "policy set through A" adm "$PA" policy set default "$T/pol.json"
head -c 48 /dev/urandom >"$T/v1"
check_eq "secret put through A" "$(adm "$PA" secret put shared --file "$T/v1")" "put default/shared version 1 (48 bytes)"
check_eq "secret list through B shows it at once" "$(adm "$PB" secret list | grep -c '^default/shared  version 1  bytes  48 bytes')" 1

nf=0
fetch_via() { # PORT KEY: an application enclave fetches KEY through the KMS on PORT; output in $T/of$nf
  nf=$((nf + 1))
  init_conf "$T/cf$nf.json" "$1" "$KMS_MRE" "$2=/etc/keys/k"
  try_init "f$nf" "$T/cf$nf.json" --config-svn 1 >"$T/of$nf"
}
fetch_via "$PB" shared
grep -q '^rc=0$' "$T/of$nf" && ok "an application fetches through B what was put through A" || not_ok "fetch via B: $(cat "$T/of$nf")"
"$INITRA" run "$T/f$nf" --config-svn 1 -- /bin/busybox sh -c '/bin/initra init && busybox sha256sum /etc/keys/k' >"$T/sum" 2>&1
check_eq "byte-exact through B" "$(grep /etc/keys/k "$T/sum" | cut -c1-64)" "$(sha256sum <"$T/v1" | cut -c1-64)"
grep -q 'asked for "shared": released version 1' "$T/b.log" && ok "B's log: released version 1" || not_ok "B log: $(tail -2 "$T/b.log")"

# The host's older copy, restored at the end (rollback).
"$PGBIN/pg_dump" "$CI" --clean --if-exists -f "$T/old.sql" || not_ok "pg_dump"

# PostgreSQL stopped: fail closed, then back without restarting either KMS.
# release records in the database's audit table (read as the host can)
released() { "$PGBIN/psql" "$CI" -tAc "SELECT count(*) FROM audit WHERE rec LIKE '%\"decision\":\"released\"%'"; }
R0=$(released)
sh scripts/pg.sh stop "$D" >/dev/null 2>&1
INIT_DEADLINE_MS=3000 fetch_via "$PB" shared
expect_refusal "PostgreSQL down: the fetch fails closed" "$T/of$nf" 'UNAVAILABLE|unavailable|try again'
grep -q 'asked for "shared": audit record not written .*answered UNAVAILABLE, nothing released' "$T/b.log" \
  && ok "B's log: UNAVAILABLE, nothing released" || not_ok "B log: $(tail -3 "$T/b.log")"
sleep 5
sh scripts/pg.sh start "$D" >/dev/null 2>&1
kill -0 ${PIDS% *} 2>/dev/null && kill -0 ${PIDS##* } 2>/dev/null && ok "both replicas kept running through the outage" \
  || not_ok "a replica exited: $(tail -2 "$T/a.log" "$T/b.log")"
fetch_via "$PB" shared
grep -q '^rc=0$' "$T/of$nf" && ok "PostgreSQL back: B serves again, not restarted" || not_ok "after restart B: $(cat "$T/of$nf")"
fetch_via "$PA" shared
grep -q '^rc=0$' "$T/of$nf" && ok "and A too" || not_ok "after restart A: $(cat "$T/of$nf") $(tail -3 "$T/a.log")"
check_eq "releases in the audit log: exactly the two after the outage" "$(released)" "$((R0 + 2))"
adm "$PB" audit --verify >"$T/av" 2>"$T/av.err"
grep -q '^audit chain verified: [0-9]* records' "$T/av.err" && ok "one audit chain from both replicas verifies ($(cat "$T/av.err"))" \
  || not_ok "audit --verify: $(head -3 "$T/av" "$T/av.err")"
grep -c '"protocol":"grpc_ratls"' "$T/av" | grep -q '^[1-9]' && ok "fetch records are in the chain" || not_ok "no fetch records"

# Three replicas, 64 clients, 10,000 fetches over new connections (bench/fetch_bench.c load: init's failover
# walker; bounded at 300 s), kill -9 of one replica in the middle: none fails, every release is audited.
BD=$(cd "$(dirname "$INITRA")/.." && pwd)
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -I"$BD/gen" $(pkg-config --cflags $PKG) -o "$T/fetch_bench" \
  bench/fetch_bench.c "$BD/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread || { not_ok "fetch_bench builds"; exit 1; }
printf '[{"name": "apps", "mr_signer": "%s"}, {"name": "load", "mr_signer": "%s"}]' "$SIGNER" \
  "$(printf '42%.0s' $(seq 32))" >"$T/pol2.json"
PC=$(free_port)
while [ "$PC" = "$PA" ] || [ "$PC" = "$PB" ]; do PC=$(free_port); done
kms_start "$T/kms" "$PC" "$T/c.log" && PIDS="$PIDS $KMS_PID" && ok "replica C starts" || { not_ok "replica C: $(tail -3 "$T/c.log")"; exit 1; }
check "policy set through C admits the load clients" adm "$PC" policy set default "$T/pol2.json"
R1=$(released)
CK=$(kms_pid "$PC") # the KMS process inside C's enclave (from /proc: a fresh Debian has no pgrep)
"$T/fetch_bench" load "127.0.0.1:$PA,127.0.0.1:$PB,127.0.0.1:$PC" "$KMS_MRE" shared 64 10000 300 >"$T/load.out" 2>"$T/load.err" &
LPID=$!
# kill -9 of the KMS enclave process of replica C once the load is under way (its log shows releases)
i=0
while [ "$(grep -c 'released version' "$T/c.log")" -lt 200 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$CK" ] && kill -9 $CK && ok "kill -9 of replica C mid-load (after $(grep -c 'released version' "$T/c.log") of its releases)" \
  || not_ok "kill -9 of replica C (pid '$CK')"
wait $LPID
LRC=$?
grep -q '^load fetched 10000 failed 0 ' "$T/load.out" && [ $LRC = 0 ] && ok "10,000 fetches, 0 failed ($(cat "$T/load.out"))" \
  || not_ok "load: $(cat "$T/load.out" "$T/load.err" | head -5)"
R2=$(released)
[ $((R2 - R1)) -ge 10000 ] && ok "every release has its audit record ($((R2 - R1)) release records for 10000 fetches)" \
  || not_ok "release records $((R2 - R1)) < 10000"
# (--since now: the chain is verified whole by the KMS; only the newest records come back)
adm "$PA" audit --verify --since "$(date +%s)" >"$T/av2" 2>"$T/av2.err"
grep -q '^audit chain verified: [0-9]* records' "$T/av2.err" && ok "audit --verify passes after the kill ($(cat "$T/av2.err"))" \
  || not_ok "audit --verify: $(head -3 "$T/av2" "$T/av2.err")"

# Attested key sharing. Replica D runs on another platform: a copy of the sim PKI with a seal secret of its
# own (another CPU under the same root), so its seal key opens no sealed copy of the data key. It asks a
# running replica (from the database's replica rows), gets the key encrypted to its attested RA-TLS key,
# seals a copy of its own and serves; restarted, it needs nobody.
cp -r "$T/sim" "$T/sim2" && head -c 32 /dev/urandom >"$T/sim2/seal_secret"
PD=$(free_port)
INITRA_SIM_DIR=$T/sim2; export INITRA_SIM_DIR
kms_start "$T/kms" "$PD" "$T/d.log" && PIDS="$PIDS $KMS_PID" && D_PID=$KMS_PID && ok "replica D on another platform starts" \
  || not_ok "replica D: $(tail -3 "$T/d.log")"
INITRA_SIM_DIR=$T/sim; export INITRA_SIM_DIR
grep -q 'no sealed copy of the data key opens here (.*sealed on another platform' "$T/d.log" \
  && grep -q 'replicas: got the data key from 127.0.0.1:[0-9]* (attested' "$T/d.log" \
  && ok "D's seal key opens no copy: a running replica gave it the data key" || not_ok "D: $(grep -i 'replica\|store' "$T/d.log" | head -5)"
fetch_via "$PD" shared
grep -q '^rc=0$' "$T/of$nf" && ok "D serves the application" || not_ok "fetch via D: $(cat "$T/of$nf")"
given() { "$PGBIN/psql" "$CI" -tAc "SELECT count(*) FROM audit WHERE rec LIKE '%\"protocol\":\"replica\"%' AND rec LIKE '%\"decision\":\"$1\"%'"; }
[ "$(given released)" -ge 1 ] && ok "the giver audited the release (protocol replica)" || not_ok "no replica release record"
kill "$D_PID"; wait "$D_PID" 2>/dev/null
INITRA_SIM_DIR=$T/sim2; export INITRA_SIM_DIR
kms_start "$T/kms" "$PD" "$T/d2.log" && PIDS="$PIDS $KMS_PID"
INITRA_SIM_DIR=$T/sim; export INITRA_SIM_DIR
fetch_via "$PD" shared
grep -q '^rc=0$' "$T/of$nf" && ! grep -q 'asking the running replicas' "$T/d2.log" \
  && ok "D restarted opens its own sealed copy and serves: it needs nobody" || not_ok "D restarted: $(head -3 "$T/d2.log")"

# A replica of another MRSIGNER asks: refused and audited; it serves nothing.
INITRA_SIGN_KEY_DIR=$T/keys2 kms_instance "$T/kmsx" "$CONF" || not_ok "other signer's KMS builds"
PX=$(free_port)
kms_start "$T/kmsx" "$PX" "$T/x.log" && PIDS="$PIDS $KMS_PID"
grep -q 'replicas: 127.0.0.1:[0-9]* did not give the data key: .*PERMISSION_DENIED' "$T/x.log" \
  && grep -q 'asked for the data key: refused, replica rule: mr_signer' "$T/a.log" "$T/b.log" \
  && ok "another signer's replica asks for the data key: refused by the rule (mr_signer)" \
  || not_ok "other signer: $(grep replicas "$T/x.log" | head -3)"
[ "$(given denied)" -ge 1 ] && ok "the refusal is in the audit log (protocol replica, denied)" || not_ok "no replica denial record"
INIT_DEADLINE_MS=3000 fetch_via "$PX" shared
expect_refusal "the refused replica serves nothing" "$T/of$nf" 'UNAVAILABLE'

# "replica": {"policy": ...} replaces the default rule: a replica K2 of this signer whose configuration
# admits the other signer gives X the key (on X's next try, every 10 s); A and B still refuse it.
XS=$("$INITRA" print mrsigner "$T/kmsx" | field)
K2CONF="{\"store\": {\"postgres\": \"$CI\"}, \"admins\": [\"$ADM\"], \"replica\": {\"policy\": [{\"mr_signer\": \"$XS\"}]}}"
kms_instance "$T/kms2" "$K2CONF" || not_ok "K2 builds"
PK2=$(free_port)
kms_start "$T/kms2" "$PK2" "$T/k2.log" && PIDS="$PIDS $KMS_PID"
got=0
for _ in $(seq 60); do grep -q "replicas: got the data key from 127.0.0.1:$PK2" "$T/x.log" && { got=1; break; }; sleep 0.5; done
[ $got = 1 ] && grep -q 'asked for the data key: sent' "$T/k2.log" \
  && ok "replica.policy admitting another signer: K2 gives it the key (A and B, default rule, still refuse)" \
  || not_ok "replica.policy: $(grep replicas "$T/x.log" | tail -2) $(grep 'data key' "$T/k2.log" | tail -2)"
printf '{"store": {"postgres": "%s"}, "replica": {"policy": "mr_signer", "advertise": "h:1"}}' "$CI" >"$T/bad5.json"
check_fails "replica.policy that is no policy: refused, naming it" 2 'replica.policy.*is not a policy' \
  "$INITRA" kms serve --config "$T/bad5.json" --listen 127.0.0.1:0

# A debug build of the very same KMS image (same MRENCLAVE, MRSIGNER, config_id; the host reads its
# memory) asks: refused by the rule, it serves nothing.
kms_instance "$T/kmsdbg" "$CONF" && python3 - "$T/kmsdbg/Occlum.json" <<'PY' && "$INITRA" build "$T/kmsdbg" >"$T/dbg.build" 2>&1 \
  || not_ok "debug KMS builds: $(tail -2 "$T/dbg.build")"
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["debuggable"] = True
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
PG2=$(free_port)
kms_start "$T/kmsdbg" "$PG2" "$T/dbg.log" && PIDS="$PIDS $KMS_PID"
grep -q 'asked for the data key: refused, replica rule: the asker is a debug enclave' "$T/a.log" "$T/b.log" \
  && grep -q 'did not give the data key: .*PERMISSION_DENIED' "$T/dbg.log" \
  && ok "a debug build of the same KMS image asks for the data key: refused (the host reads its memory)" \
  || not_ok "debug replica: $(grep replicas "$T/dbg.log" | head -3)"
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# Rollback: the host restores the older dump. Both replicas saw newer audit records: they refuse to serve.
"$PGBIN/psql" "$CI" -q -f "$T/old.sql" >"$T/restore.out" 2>&1
INIT_DEADLINE_MS=3000 fetch_via "$PA" shared
expect_refusal "database rolled back to an older dump: A serves nothing" "$T/of$nf" 'UNAVAILABLE'
grep -q "rollback: the database's audit chain ends at record [0-9]* but this KMS saw record [0-9]* committed" "$T/a.log" \
  && ok "A's log says why: rollback (record numbers)" || not_ok "A log: $(tail -2 "$T/a.log") $(cat "$T/restore.out")"

# A waiting replica asks again (every INITRA_KMS_ASK_SECONDS = 10 s): every replica stops; E, on a platform of
# its own (as D above), starts with nobody to ask and waits; A starts again (its own sealed copy); E gets the key from A.
for p in $PIDS; do kill "$p" 2>/dev/null; done
for p in $PIDS; do wait "$p" 2>/dev/null; done
PIDS=""
PE=$(free_port)
cp -r "$T/sim" "$T/sim3" && head -c 32 /dev/urandom >"$T/sim3/seal_secret"
INITRA_SIM_DIR=$T/sim3; export INITRA_SIM_DIR
kms_start "$T/kms" "$PE" "$T/e.log" && PIDS="$PIDS $KMS_PID"
INITRA_SIM_DIR=$T/sim; export INITRA_SIM_DIR
kms_start "$T/kms" "$PA" "$T/a2.log" && PIDS="$PIDS $KMS_PID"
got=0
for _ in $(seq 60); do grep -q 'replicas: got the data key from' "$T/e.log" && { got=1; break; }; sleep 0.5; done
grep -q 'no running replica gave the data key' "$T/e.log" && [ $got = 1 ] \
  && ok "a waiting replica asks again and gets the key once a replica runs: $(grep -c 'did not give\|no running' "$T/e.log") failed tries first" \
  || not_ok "waiting replica: $(grep replicas "$T/e.log" | tail -3)"
