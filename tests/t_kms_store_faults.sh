# The sealed store under faults (issue 17), through real processes and the real admin CLI/client:
#  - kill -9 of the KMS while 50 admin clients run 500 concurrent `secret put`: after a restart every put a
#    client saw confirmed is there, byte-exact (an application enclave fetches each), and audit --verify passes;
#  - an audit record edited in the database file on the host: audit --verify fails naming that record;
#  - `secret list` and `audit` of more than one reply's worth (pages of 10,000 entries, of ~3 MB of records);
#  - a put when the host's disk is full (a tmpfs too small): it fails with one line, nothing half-written,
#    the store stays readable and serves what it had.
. tests/lib.sh
plan 10
. scripts/instances.sh
LOAD="$(dirname "$INITRA")/../helpers/admin_load"
sim_platform
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; umount "$T/small" 2>/dev/null' EXIT

SIGNER=$(probe_signer "$T/probe")
"$INITRA" kms admin keygen --out "$T/admin" >"$T/keygen" 2>&1 || { not_ok "admin keygen: $(cat "$T/keygen")"; exit 1; }
SPKI=$(awk '{print $NF}' "$T/keygen" | tail -1)
kms_instance "$T/kms" "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$SPKI\"]}" \
  || { not_ok "KMS instance builds"; exit 1; }
KMS_MRE=$("$INITRA" print mrenclave "$T/kms" | field)
PORT=$(free_port)
mkdir -p "$T/host"
# stop_kms: SIGTERM, then wait until the KMS inside the enclave is gone (its port free for the next start).
stop_kms() {
  kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null
  for _ in $(seq 200); do [ -n "$(kms_pid "$PORT")" ] || return 0; sleep 0.05; done
}
start() { KMS_RUN_ARGS="--host-dir $1" kms_start "$T/kms" "$PORT" "$T/kms.log" && PIDS="$PIDS $KMS_PID"; }
printf '[{"mr_enclave": "%s"}]' "$KMS_MRE" >"$T/expect.json"
A() {
  "$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$T/expect.json" --key "$T/admin.key" --cert "$T/admin.crt" \
    --trust-root "$T/sim-root.der" --collateral "$T/collateral.json" "$@"
}
start "$T/host" || { not_ok "KMS starts: $(tail -3 "$T/kms.log")"; exit 1; }
printf '[{"name": "apps", "mr_signer": "%s"}]' "$SIGNER" >"$T/policy.json"
check "policy set default" A policy set default "$T/policy.json"

# 1. kill -9 in the middle of 500 concurrent puts.
KPID=$(kms_pid "$PORT")
"$LOAD" put "127.0.0.1:$PORT" "$T/expect.json" "$T/admin.key" "$T/admin.crt" "$T/sim-root.der" "$T/collateral.json" \
  500 50 "$T/done.txt" >"$T/load.out" 2>&1 &
LPID=$!
n=0
for _ in $(seq 1200); do
  n=$(cat "$T/done.txt" 2>/dev/null | wc -l)
  [ "$n" -ge 100 ] && break
  sleep 0.05
done
kill -9 $KPID 2>/dev/null
wait "$LPID"
stop_kms
DONE=$(wc -l <"$T/done.txt")
[ "$DONE" -ge 100 ] && [ "$DONE" -lt 500 ] && [ -n "$KPID" ] \
  && ok "the KMS (pid $KPID) was killed with -9 in the middle: $DONE of 500 puts confirmed ($(cat "$T/load.out"))" \
  || not_ok "kill in the middle: pid '$KPID', $DONE confirmed, $(cat "$T/load.out")"
start "$T/host" && ok "the KMS restarts on the same store" || not_ok "restart: $(tail -3 "$T/kms.log")"
A secret list >"$T/list" 2>"$T/list.err"
missing=0
while read -r name version hash; do
  grep -q "^default/$name  version $version " "$T/list" || missing=$((missing + 1))
done <"$T/done.txt"
check_eq "every confirmed put is listed after the restart (with its version)" "$missing" 0
# Every confirmed value, byte-exact, through an application enclave that fetches them all.
set --
while read -r name version hash; do set -- "$@" "$name=/etc/keys/$name"; done <"$T/done.txt"
init_conf "$T/app.json" "$PORT" "$KMS_MRE" "$@"
app_instance "$T/app" "$T/app.json" --init-ra || not_ok "application instance builds"
"$INITRA" run "$T/app" -- /bin/busybox sh -c 'cd /etc/keys && busybox sha256sum *' >"$T/app.out" 2>"$T/app.err"
bad=0
while read -r name version hash; do grep -q "^$hash  $name\$" "$T/app.out" || bad=$((bad + 1)); done <"$T/done.txt"
[ "$bad" = 0 ] && [ "$(wc -l <"$T/app.out")" = "$DONE" ] && ok "an application reads all $DONE confirmed secrets byte-exact" \
  || not_ok "byte-exact: $bad differ; $(wc -l <"$T/app.out") read; $(tail -2 "$T/app.err")"
check "audit --verify passes after the kill" A audit --verify
grep -q 'audit chain verified' "$T/err" && ok "audit: $(cat "$T/err")" || not_ok "audit: $(cat "$T/err")"

# 2. The host edits one audit record in the database file: the chain names it.
stop_kms
python3 - "$T/host/kms.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE audit SET rec = replace(rec, '\"op\":\"put\"', '\"op\":\"delete\"') WHERE seq = 3")
db.commit()
PY
start "$T/host" || not_ok "restart after the edit: $(tail -3 "$T/kms.log")"
check_fails "audit --verify names the edited record" 1 "audit chain of KMS .* is broken: audit record 3: its HMAC does not match" \
  A audit --verify

# 2b. More than one page of secret list (a reply holds at most 10,000 entries): 10,100 more puts.
"$LOAD" put "127.0.0.1:$PORT" "$T/expect.json" "$T/admin.key" "$T/admin.crt" "$T/sim-root.der" "$T/collateral.json" \
  10100 32 "$T/done2.txt" >"$T/load2.out" 2>&1
A secret list >"$T/list2" 2>"$T/list2.err"
n=$(grep -c '^default/load-' "$T/list2")
[ "$n" -ge 10100 ] && [ "$(sort -u "$T/list2" | grep -c '^default/load-')" = "$n" ] \
  && ok "secret list over pages: $n versions, none twice ($(cat "$T/load2.out"))" || not_ok "paged list: $n; $(cat "$T/list2.err" "$T/load2.out")"
A audit >"$T/audit2" 2>"$T/audit2.err"
a=$(grep -c '"op":"put"' "$T/audit2")
[ "$a" -ge 10100 ] && [ "$(cut -d, -f1 "$T/audit2" | sort -u | wc -l)" = "$(wc -l <"$T/audit2")" ] \
  && ok "audit over pages (more than one gRPC message): $(wc -l <"$T/audit2") records, $a puts, none twice" \
  || not_ok "paged audit: $a puts; $(cat "$T/audit2.err")"
stop_kms

# 3. A put on a full disk: a 2 MiB tmpfs as the host directory.
mkdir -p "$T/small"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
  plan 4
  start "$T/small" || not_ok "KMS on the tmpfs: $(tail -3 "$T/kms.log")"
  head -c 32 /dev/urandom >"$T/kept"
  A policy set default "$T/policy.json" >/dev/null 2>&1
  check "a secret put while there is space" A secret put kept --file "$T/kept"
  dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null
  head -c 100000 /dev/urandom >"$T/big"
  check_fails "a put on a full disk fails with one line" 1 "UNAVAILABLE|full|cannot commit" A secret put big --file "$T/big"
  rm -f "$T/small/fill"
  A secret list >"$T/list3" 2>&1
  grep -q '^default/kept  version 1 ' "$T/list3" && ! grep -q 'default/big' "$T/list3" \
    && ok "the store stays readable: the earlier secret is there, nothing of the failed put" || not_ok "after full: $(cat "$T/list3")"
  init_conf "$T/app2.json" "$PORT" "$KMS_MRE" kept=/etc/keys/kept
  app_instance "$T/app2" "$T/app2.json" --init-ra
  "$INITRA" run "$T/app2" -- /bin/busybox sha256sum /etc/keys/kept >"$T/app2.out" 2>"$T/app2.err"
  check_eq "and serves it byte-exact" "$(cut -c1-64 "$T/app2.out")" "$(sha256sum "$T/kept" | cut -c1-64)"
  stop_kms
  umount "$T/small"
else
  skip "a put on a full disk: this machine cannot mount a tmpfs"
fi
