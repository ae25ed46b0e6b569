#!/bin/sh
# The KMS's sealed store at operator scale (issue 17), measured in this run through real processes: a KMS
# enclave with its store on the host (--host-dir), 100,000 secrets of 32 bytes put through the attested admin
# client (tests/helpers/admin_load, 64 clients), then
#   kms_store_put_s_100k_secrets: seconds for the 100,000 puts (each its own audited, durable transaction);
#   kms_store_mb_100k_secrets: the database's size on the host after the KMS stopped (WAL checkpointed);
#   kms_secret_list_s_100k: wall time of `initra kms admin ... secret list` printing all 100,000 versions.
set -eu
B=${INITRA_BUILD:-build}
N=${BENCH_STORE_SECRETS:-100000}
. scripts/bench_lib.sh
bench_dir kms_store
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude $(pkg-config --cflags $PKG) -o "$B/bench/admin_load" \
  tests/helpers/admin_load.c "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread
"$INITRA" sim init >/dev/null
sim_export
"$INITRA" kms admin keygen --out "$W/admin" >"$W/keygen"
SPKI=$(field <"$W/keygen" | tail -1)
kms_instance "$W/kms" "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$SPKI\"]}"
printf '[{"mr_enclave": "%s"}]' "$("$INITRA" print mrenclave "$W/kms" | field)" >"$W/expect.json"
mkdir -p "$W/host"
PORT=$(free_port)
KMS_RUN_ARGS="--host-dir $W/host" kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
t0=$(date +%s.%N)
"$B/bench/admin_load" put "127.0.0.1:$PORT" "$W/expect.json" "$W/admin.key" "$W/admin.crt" "$W/sim-root.der" \
  "$W/collateral.json" "$N" 64 "$W/done.txt" >"$W/load.out"
t1=$(date +%s.%N)
grep -q "^done $N failed 0$" "$W/load.out" || { echo "bench: kms store: $(cat "$W/load.out")" >&2; exit 1; }
"$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$W/expect.json" --key "$W/admin.key" --cert "$W/admin.crt" \
  --trust-root "$W/sim-root.der" --collateral "$W/collateral.json" secret list >"$W/list.out"
t2=$(date +%s.%N)
[ "$(grep -c '^default/load-' "$W/list.out")" = "$N" ] || { echo "bench: kms store: list has $(wc -l <"$W/list.out") lines" >&2; exit 1; }
kill "$KMS_PID"; wait "$KMS_PID" 2>/dev/null || true
for _ in $(seq 200); do pgrep -x -f "/bin/initra kms serve --listen 127.0.0.1:$PORT" >/dev/null || break; sleep 0.05; done
bytes=$(cat "$W/host"/kms.db* | wc -c)
python3 -c "print('kms_store_put_s_100k_secrets %.1f' % ($t1 - $t0)); print('kms_store_mb_100k_secrets %.1f' % ($bytes / 1e6)); print('kms_secret_list_s_100k %.2f' % ($t2 - $t1))"
