#!/bin/sh
# GRPC-RATLS benchmarks (issue 5), all measured in this run:
#   fetch_per_s_ratls / fetch_per_s_mtls / fetch_ratio: secrets per second over new connections (full mutual
#     handshake + GetSecret) from 8 concurrent clients, RA-TLS against plain mutual TLS, same server code.
#   fetch_per_s_store / fetch_ratio_store: the same over RA-TLS with the secret in the sealed store (namespace
#     policy, an audit record per release), against fetch_per_s_ratls (today's JSON files);
#     audit_fsyncs_per_release: fsyncs of the store per release with 8 clients on kept connections (8 releases in
#     flight: group commit), and _new_conn the same over new connections (handshakes dominate, fewer in flight).
#   init_ms_10_keys: median time from the start of /bin/init to the application's exec, 10 keys, loopback.
#   launch_ms: median time from `initra run` to the application's exec, instance without init-RA.
#   kms_rss_mb_256_clients: the KMS's resident memory while 256 clients hold connections.
#   failover_ms: median of 10: kill -9 of the KMS a client is fetching from, to that client's next
#     successful fetch through the second KMS of its list (bench/fetch_bench.c failover, init's failover code).
set -eu
B=${INITRA_BUILD:-build}
SECS=${BENCH_SECONDS:-3}
RUNS=${BENCH_RUNS:-15}
. scripts/bench_lib.sh
bench_dir grpc
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -I"$B/gen" $(pkg-config --cflags $PKG) -o "$B/bench/fetch_bench" \
  bench/fetch_bench.c "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread
"$INITRA" sim init >/dev/null
sim_export

r=$("$B/bench/fetch_bench" ratls "$SECS" 8)
m=$("$B/bench/fetch_bench" mtls "$SECS" 8)
s=$("$B/bench/fetch_bench" store "$SECS" 8)
k=$("$B/bench/fetch_bench" store-keep "$SECS" 8)
echo "$r"; echo "$m"; echo "$s"; echo "$k"
python3 -c "print('fetch_ratio %.2f' % (${r##* } / ${m##* }))"
# The sealed store with audit on against today's JSON files, same run (issue 17: at least 0.8).
python3 -c "print('fetch_ratio_store %.2f' % ($(echo "$s" | sed -n 's/^fetch_per_s_store //p') / ${r##* }))"

# init: a KMS instance with 10 secrets, an application instance fetching all 10.
set --
for i in 0 1 2 3 4 5 6 7 8 9; do head -c 32 /dev/urandom >"$W/k$i"; set -- "$@" "key$i=$W/k$i"; done
secrets_conf "$W/secret_config.json" "$@"
"$INITRA" new "$W/probe" >/dev/null; "$INITRA" build "$W/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$W/probe" | field)
cat >"$W/clients.json" <<J
[{"name": "apps", "mr_signer": "$SIGNER", "allow_debug": true},
 {"name": "bench clients", "mr_signer": "$(printf '42%.0s' $(seq 32))"}]
J
kms_instance "$W/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/clients.json", "max_connections": 4096}' \
  "$W/secret_config.json" "$W/clients.json"
PORT=$(free_port)
kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
set --
for i in 0 1 2 3 4 5 6 7 8 9; do set -- "$@" "key$i=/etc/keys/key$i"; done
init_conf "$W/conf.json" "$PORT" "$("$INITRA" print mrenclave "$W/kms" | field)" "$@"
app_instance "$W/app" "$W/conf.json" --init-ra
timed init_ms_10_keys init_to_exec_ms "$W/app" /bin/busybox

"$INITRA" new "$W/plain" >/dev/null; cp "$(command -v busybox)" "$W/plain/image/busybox"
"$INITRA" build "$W/plain" >/dev/null 2>&1
timed launch_ms launch_to_exec_ms "$W/plain" /busybox

# Memory: 256 RA-TLS clients hold connections to the KMS instance.
# The KMS itself (the launcher's grandchild: kms_pid in scripts/instances.sh).
KPID=$(kms_pid "$PORT")
rss() { awk '/^VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$KPID/status"; }
echo "kms_rss_mb_idle $(rss)"
mkfifo "$W/hold"
"$B/bench/fetch_bench" hold "127.0.0.1:$PORT" 256 "$("$INITRA" print mrenclave "$W/kms" | field)" key0 <"$W/hold" >"$W/held" 2>&1 &
HPID=$!
exec 9>"$W/hold"
wait_for "$W/held" "held 256" || { cat "$W/held"; exit 1; }
echo "kms_rss_mb_256_clients $(rss)"
exec 9>&-
wait $HPID

# Failover: the KMS above is the second of the list; ten times, a fresh first KMS from the same image, a
# client fetching from it, the first killed with SIGKILL by the client, which fails over to the second.
SECOND=$KMS_PID
MRE=$("$INITRA" print mrenclave "$W/kms" | field)
: >"$W/failover_ms.values"
for i in $(seq 10); do
  PORT_A=$(free_port)
  kms_start "$W/kms" "$PORT_A" "$W/kms_a.log"
  trap 'kill $SECOND $KMS_PID 2>/dev/null || true' EXIT
  A_PID=$(kms_pid "$PORT_A")
  "$B/bench/fetch_bench" failover "127.0.0.1:$PORT_A,127.0.0.1:$PORT" "$MRE" key0 "$A_PID" >"$W/failover.out" 2>&1 \
    || { cat "$W/failover.out" >&2; exit 1; }
  wait "$KMS_PID" 2>/dev/null || true
  sed -n 's/^failover_ms //p' "$W/failover.out" >>"$W/failover_ms.values"
done
echo "failover_ms $(median <"$W/failover_ms.values")"
