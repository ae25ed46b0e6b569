# Init-RA failover across the KMS servers kms_server lists (docs/grpc-ratls.md#several-kms-servers), through
# real KMS processes in simulated enclaves: init moves on from an unreachable server or one at its connection
# cap or answering UNAVAILABLE, never from one that failed verification or refused the enclave; OCCLUM_INIT_RA_KMS_SERVER lists too;
# the AECS client likewise (a closed port, a server answering RESOURCE_EXHAUSTED).
. tests/lib.sh
plan 36
. scripts/instances.sh
PY=/usr/bin/python3
sim_platform
"$INITRA" new "$T/probe" >/dev/null && "$INITRA" build "$T/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$T/probe" | field)

# Two secrets (one binary, of a length that is not a multiple of 3); a clients file that admits the
# application (CONFIGSVN 1) and one that does not (9).
printf 'failover key one' >"$T/k1"; head -c 100 /dev/urandom >"$T/k2"
secrets_conf "$T/secret_config.json" k1="$T/k1" k2="$T/k2" demo_key="$T/k1"
clients_conf "$T/dynamic_config.json" "$SIGNER" 1
clients_conf "$T/deny_config.json" "$SIGNER" 9

# One KSS KMS image (one MRENCLAVE, the one init pins), launched with three attached configurations:
# good (twice), at its connection cap (max_connections 1), refusing the application. And a KMS of another
# image (genuine, but its MRENCLAVE is not pinned).
kms_instance "$T/kms" bound "$T/secret_config.json" "$T/dynamic_config.json" "$T/deny_config.json" || { not_ok "KMS instance builds"; exit 1; }
kms_instance "$T/wrong" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' \
  "$T/secret_config.json" "$T/dynamic_config.json" || { not_ok "second KMS instance builds"; exit 1; }
MRE=$("$INITRA" print mrenclave "$T/kms" | field)
GOOD='{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"'
kms_conf "$T/good.json" "$GOOD}"
kms_conf "$T/cap.json" "$GOOD, \"max_connections\": 1}"
kms_conf "$T/deny.json" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/deny_config.json"}'
PIDS=""
trap 'kill $PIDS 2>/dev/null' EXIT
start() { # NAME DIR CONF|-: a KMS on a free port; sets P_NAME
  port=$(free_port)
  if [ "$3" = - ]; then KMS_RUN_ARGS=""; else KMS_RUN_ARGS="--config $3 --config-id $("$INITRA" config-id "$3")"; fi
  kms_start "$2" "$port" "$T/$1.log" || { not_ok "KMS $1 starts"; exit 1; }
  PIDS="$PIDS $KMS_PID"
  eval "P_$1=$port PID_$1=$KMS_PID"
}
start g1 "$T/kms" "$T/good.json"
start g2 "$T/kms" "$T/good.json"
start cap "$T/kms" "$T/cap.json"
start deny "$T/kms" "$T/deny.json"
start wrong "$T/wrong" -
KMS_RUN_ARGS=""
[ "$(printf '%s\n' "$P_g1" "$P_g2" "$P_cap" "$P_deny" "$P_wrong" | sort -u | wc -l)" = 5 ] && kill -0 $PIDS \
  && ok "five KMS processes serving on five ports (two good, one capped, one refusing, one of another image)" \
  || not_ok "KMS processes: $PIDS"
DEAD=$(free_port) DEAD2=$(free_port)
L=127.0.0.1

# run_init NAME SERVERS [env...]: an application whose init_ra_conf.json lists SERVERS (e.g.
# "$DEAD,$L:$P_g1") and the keys $KEYS (k1 and k2 by default); its program runs init, then prints its exit
# status, init's stderr, and the SHA-256 of each key file. Output in $T/NAME.out.
run_init() {
  name=$1 servers=$2; shift 2
  # shellcheck disable=SC2086
  init_conf "$T/$name.json" "$servers" "$MRE" ${KEYS:-k1=/etc/keys/k1 k2=/keys/k2}
  app_instance "$T/$name" "$T/$name.json" || { not_ok "$name: app instance builds"; return 1; }
  env "$@" "$INITRA" run "$T/$name" --config-svn 1 -- /bin/busybox sh -c \
    '/bin/initra init 2>/tmp/e; echo "rc=$?"; cat /tmp/e; busybox find /etc/keys /keys -type f 2>/dev/null
     for f in /etc/keys/k1 /keys/k2; do [ -f $f ] && echo "sha256 $(busybox sha256sum $f | cut -c1-64) $f"; done; true' \
    >"$T/$name.out" 2>&1
}
sha() { sha256sum "$1" | cut -c1-64; }
keys_exact() { # DESC OUT: both keys arrived byte-exact, init exit 0
  if grep -q '^rc=0$' "$2" && grep -qx "sha256 $(sha "$T/k1") /etc/keys/k1" "$2" && grep -qx "sha256 $(sha "$T/k2") /keys/k2" "$2"; then
    ok "$1: both keys byte-exact"
  else not_ok "$1: $(cat "$2")"; fi
}
asked() { grep -c 'asked for' "$T/$1.log"; } # requests a KMS logged
log_lines() { wc -l <"$T/$1.log"; }

# 1. The first server a closed port: one line saying so, the second serves every key.
run_init u1 "$DEAD,$L:$P_g1"
keys_exact "closed port first, then a good KMS" "$T/u1.out"
grep -qx "init: kms $L:$DEAD unreachable (.*), trying $L:$P_g1" "$T/u1.out" \
  && ok "one line names the server left, why, and the next: $(grep '^init: kms' "$T/u1.out" | cut -c1-140)" || not_ok "failover line: $(cat "$T/u1.out")"
[ "$(grep -c '^init: kms' "$T/u1.out")" = 1 ] && grep -q "^init: 2 keys from $L:$P_g1 written" "$T/u1.out" \
  && ok "one failover line; the final line names the server that served" || not_ok "lines: $(cat "$T/u1.out")"
[ "$(asked g1)" = 2 ] && ok "the good KMS was asked once per key" || not_ok "g1 requests: $(asked g1)"

# 2. The first server genuine but of another MRENCLAVE: refused, final; the good one is never contacted.
before=$(log_lines g1)
run_init u2 "$P_wrong,$L:$P_g1"
expect_refusal "a KMS that fails ra_config first" "$T/u2.out" "KMS server $L:$P_wrong refused: its evidence does not satisfy ra_config: .*mr_enclave"
grep -q '^init: kms' "$T/u2.out" && not_ok "a failover line after a verification failure: $(cat "$T/u2.out")" || ok "no failover line after a verification failure"
[ "$(log_lines g1)" = "$before" ] && ok "the second (good) KMS saw nothing: its log is unchanged" || not_ok "g1 log grew: $(tail -2 "$T/g1.log")"
[ "$(asked wrong)" = 0 ] && ok "the refused KMS was never asked for a key (refused in the handshake)" || not_ok "wrong asked: $(asked wrong)"

# 3. The first server refuses the enclave (PERMISSION_DENIED): final, the second is not tried.
before=$(log_lines g1)
run_init u3 "$P_deny,$L:$P_g1"
expect_refusal "a KMS that refuses the enclave first" "$T/u3.out" "this enclave was refused by the KMS for key \"k1\" \(rpc $L:$P_deny .*PERMISSION_DENIED"
grep -q "asked for \"k1\": denied: .*config_svn is 1, the entry requires exactly 9" "$T/deny.log" \
  && ok "the refusing KMS logged its decision" || not_ok "deny log: $(tail -2 "$T/deny.log")"
[ "$(log_lines g1)" = "$before" ] && ! grep -q '^init: kms' "$T/u3.out" \
  && ok "the second KMS was not tried after PERMISSION_DENIED" || not_ok "g1 after deny: $(tail -2 "$T/g1.log"; cat "$T/u3.out")"

# After a failover, a refusal still ends the client, and its line names the server left before it.
run_init u3b "$DEAD,$L:$P_deny,$L:$P_g1"
expect_refusal "a refusal after a failover" "$T/u3b.out" \
  "this enclave was refused by the KMS for key \"k1\" \(rpc $L:$P_deny .*; tried before it: $L:$DEAD unreachable$"

# 4. The first server at its connection cap (one idle TCP connection held open, max_connections 1): it refuses
# the handshake, the client sees UNAVAILABLE and moves on.
$PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print("held", flush=True); time.sleep(120)' "$P_cap" >"$T/hold.out" &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for "$T/hold.out" held
run_init u4 "$P_cap,$L:$P_g2"
kill $HOLD 2>/dev/null
keys_exact "a KMS at its connection cap first, then a good one" "$T/u4.out"
grep -q 'handshake refused: more than 1 connections open (max_connections)' "$T/cap.log" \
  && ok "the capped KMS refused the handshake (its log)" || not_ok "cap log: $(tail -3 "$T/cap.log")"
grep -qx "init: kms $L:$P_cap unreachable (.*), trying $L:$P_g2" "$T/u4.out" && [ "$(asked cap)" = 0 ] && [ "$(asked g2)" = 2 ] \
  && ok "init moved on to the second; every key came from it" || not_ok "cap failover: cap $(asked cap) g2 $(asked g2) $(cat "$T/u4.out")"

# 4b. The first server answers UNAVAILABLE itself (a gRPC server that cannot serve now): a Python grpcio
# server whose RA-TLS certificate carries sim evidence of the pinned MRENCLAVE, so init's handshake
# verification passes and the status is the server's.
"$INITRA" sim ratls-cert --mrenclave "$MRE" --key-out "$T/unav.key" --cert-out "$T/unav.pem"
$PY tests/helpers/grsecret.py server "$T/unav.port" x --cert "$T/unav.pem" --key "$T/unav.key" \
  --unavailable "the store is locked; try another replica" 2>"$T/unav.err" &
PIDS="$PIDS $!"
wait_for "$T/unav.port" '[0-9]' || not_ok "UNAVAILABLE server starts: $(cat "$T/unav.err")"
P_unav=$(cat "$T/unav.port")
run_init u4b "$P_unav,$L:$P_g2"
keys_exact "a server answering UNAVAILABLE first, then a good KMS" "$T/u4b.out"
grep -qx "init: kms $L:$P_unav answered UNAVAILABLE (UNAVAILABLE: the store is locked; try another replica), trying $L:$P_g2" "$T/u4b.out" \
  && ok "the line says the server answered UNAVAILABLE, with its message" || not_ok "u4b line: $(cat "$T/u4b.out")"

# 4c. A failover between two keys: the first server gives the first key, then answers UNAVAILABLE for the
# second, which comes from the next server; the first key is not asked for again.
$PY tests/helpers/grsecret.py server "$T/unav2.port" "$(base64 -w0 "$T/k1")" --cert "$T/unav.pem" --key "$T/unav.key" \
  --unavailable "draining" --only k2 2>"$T/unav2.err" &
PIDS="$PIDS $!"
wait_for "$T/unav2.port" '[0-9]' || not_ok "second UNAVAILABLE server starts: $(cat "$T/unav2.err")"
P_unav2=$(cat "$T/unav2.port")
before=$(asked g1)
KEYS="demo_key=/etc/keys/k1 k2=/keys/k2" run_init u4c "$P_unav2,$L:$P_g1"
keys_exact "a failover between two keys" "$T/u4c.out"
[ "$(asked g1)" = $((before + 1)) ] && tail -1 "$T/g1.log" | grep -q 'asked for "k2": released' \
  && grep -qx "init: kms $L:$P_unav2 answered UNAVAILABLE (UNAVAILABLE: draining), trying $L:$P_g1" "$T/u4c.out" \
  && ok "the second server was asked for the second key only (the first was kept)" \
  || not_ok "g1 requests $before -> $(asked g1): $(tail -2 "$T/g1.log"; cat "$T/u4c.out")"

# 5. OCCLUM_INIT_RA_KMS_SERVER lists two servers: it overrides kms_server (which names a closed port).
run_init u5 "$DEAD2" OCCLUM_INIT_RA_KMS_SERVER="$L:$DEAD, $L:$P_g2"
keys_exact "OCCLUM_INIT_RA_KMS_SERVER with two servers" "$T/u5.out"
grep -qx "init: kms $L:$DEAD unreachable (.*), trying $L:$P_g2" "$T/u5.out" && ! grep -q "$DEAD2" "$T/u5.out" \
  && ok "the environment's list was used, in order" || not_ok "env list: $(cat "$T/u5.out")"

# 6. Every server unreachable: rounds with backoff up to the deadline, then one line naming each.
INIT_DEADLINE_MS=2000 run_init u6 "$DEAD,$L:$DEAD2"
expect_refusal "every server unreachable" "$T/u6.out" \
  "no KMS server served within 2000 ms: $L:$DEAD unreachable, $L:$DEAD2 unreachable \(last error, from $L:$DEAD2: .*\); check kms_server"
grep -q "^init: kms $L:$DEAD unreachable (.*), trying $L:$DEAD2$" "$T/u6.out" \
  && grep -q "^init: kms $L:$DEAD2 unreachable (.*), trying $L:$DEAD again in [0-9]* ms$" "$T/u6.out" \
  && ok "each server left has its line, the round's end says when it starts again" || not_ok "u6 lines: $(cat "$T/u6.out")"

# 7. Bad lists: one line naming the entry, nothing written (init's configuration is checked first).
init_conf "$T/conf.json" "$P_g1" "$MRE" k1=/etc/keys/k1
bad_conf "an empty entry" 'kms_server: "127.0.0.1:[0-9]+,,h:1": entry 2 is empty; list HOST:PORT entries separated by commas' 'c["kms_server"] += ",,h:1"'
bad_conf "a repeated entry" 'kms_server: entry 2 "127.0.0.1:[0-9]+" repeats entry 1' 'c["kms_server"] += "," + c["kms_server"]'
bad_conf "an entry without a port" 'kms_server: entry 2: "h" is not HOST:PORT' 'c["kms_server"] += ", h"'
bad_conf "17 servers" 'kms_server: ".*" lists more than 16 servers' 'c["kms_server"] = ",".join("h:%d" % i for i in range(1, 18))'

# ---- The AECS client: one KSS AECS image, two attached configurations (plain, and max_connections 1). ----
S=$T/store.json
adm() { "$INITRA" kms aecs-admin --store "$S" "$@" >/dev/null; }
adm register-service svc
cat >"$T/spec.yaml" <<EOF
kind: SecretPolicy
secrets:
- spec: {name: a1, type: SECRET_TYPE_IMPORT_DATA, service: svc, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
  data: "aecs failover secret"
EOF
adm create-secret --file "$T/spec.yaml" || not_ok "AECS store created"
kms_instance "$T/aecs" bound "$S" || { not_ok "AECS instance builds"; exit 1; }
AMRE=$("$INITRA" print mrenclave "$T/aecs" | field)
kms_conf "$T/aecs.json" '{"protocol": "aecs", "store": "/etc/kms/store.json"}'
kms_conf "$T/aecs-cap.json" '{"protocol": "aecs", "store": "/etc/kms/store.json", "max_connections": 1}'
start a1 "$T/aecs" "$T/aecs.json"
start acap "$T/aecs" "$T/aecs-cap.json"
KMS_RUN_ARGS=""
run_aecs() { # NAME SERVERS: like run_init, with an AECS init_ra_conf.json
  name=$1 servers=$2
  aecs_init_conf "$T/$name.json" "$servers" "$AMRE" a1=svc:/etc/keys/a1
  app_instance "$T/$name" "$T/$name.json" || { not_ok "$name: app instance builds"; return 1; }
  "$INITRA" run "$T/$name" -- /bin/busybox sh -c \
    '/bin/initra init 2>/tmp/e; echo "rc=$?"; cat /tmp/e; busybox find /etc/keys -type f 2>/dev/null
     [ -f /etc/keys/a1 ] && echo "content $(busybox cat /etc/keys/a1)"; true' >"$T/$name.out" 2>&1
}
run_aecs v1 "$DEAD,$L:$P_a1"
grep -q '^rc=0$' "$T/v1.out" && grep -qx 'content aecs failover secret' "$T/v1.out" \
  && ok "AECS: closed port first, the second serves the key byte-exact" || not_ok "AECS failover: $(cat "$T/v1.out")"
grep -qx "init: aecs $L:$DEAD unreachable (.*), trying $L:$P_a1" "$T/v1.out" && grep -q "^init: 1 key from $L:$P_a1 written" "$T/v1.out" \
  && ok "AECS: one line for the server left; the final line names the one that served" || not_ok "AECS lines: $(cat "$T/v1.out")"
$PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print("held", flush=True); time.sleep(120)' "$P_acap" >"$T/ahold.out" &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for "$T/ahold.out" held
before=$(asked a1)
run_aecs v2 "$P_acap,$L:$P_a1"
kill $HOLD 2>/dev/null
grep -q '^rc=0$' "$T/v2.out" && grep -qx 'content aecs failover secret' "$T/v2.out" && [ "$(asked a1)" = $((before + 1)) ] \
  && ok "AECS: a server at its connection cap first, the second serves" || not_ok "AECS cap: $(cat "$T/v2.out")"
grep -qx "init: aecs $L:$P_acap answered RESOURCE_EXHAUSTED (RESOURCE_EXHAUSTED: more than 1 connections .*), trying $L:$P_a1" "$T/v2.out" \
  && ok "AECS: RESOURCE_EXHAUSTED from the capped server, named in the line" || not_ok "AECS cap line: $(cat "$T/v2.out")"
# A refusal is final for AECS too: a server whose report does not match ua_policy (another image pinned).
before=$(asked a1)
AECS_RA_EXTRA='{"ua_policy_hex_ta_measurement": "'"$MRE"'"}' run_aecs v3 "$P_a1,$L:$DEAD"
expect_refusal "AECS: a server that fails ua_policy_* is final" "$T/v3.out" "AECS server $L:$P_a1 refused for key \"a1\": .*hex_ta_measurement"
grep -q '^init: aecs' "$T/v3.out" && not_ok "AECS moved on after a refusal" || ok "AECS: no failover line after a refusal"

stop_server "the first good KMS still serving after the checks, stops on SIGTERM" "$PID_g1" "$T/g1.log"
stop_server "the AECS server likewise" "$PID_a1" "$T/a1.log"
