# Issue 9, attack 1 (part A): the KMS takes its security configuration only from measured sources.
# The genuine KMS image (configuration measured in /etc/initra/kms.json) is started by a hostile launcher
# with flags, inherited descriptors and environment variables; a CONFIGID-bound KMS image gets swapped or
# unpinned configurations. Each attempt: exit code, one line naming the config key to use, nothing served.
# Plus the DoS cap (max_connections) over real sockets.
plan 34  # checks in this section
D=$T/kmsconf
mkdir -p "$D"
GRS="$PY tests/helpers/grsecret.py"
"$INITRA" new "$D/probe" >/dev/null && "$INITRA" build "$D/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$D/probe" | field)
printf 'the-genuine-secret' >"$D/pw"
printf 'attacker-chosen-key' >"$D/evil"
secrets_conf "$D/secret_config.json" demo_key="$D/pw"
secrets_conf "$D/evil_secrets.json" demo_key="$D/evil"
clients_conf "$D/dynamic_config.json" "$SIGNER" 1
# An attacker policy that allows any enclave, for --clients / --policy.
echo '[{"mr_signer": "'"$SIGNER"'", "allow_debug": true}]' >"$D/evil_clients.json"
GOOD_B64="\"$(base64 -w0 "$D/pw")\"" # the reply form: quoted base64 (Occlum's)
EVIL_B64=$(base64 -w0 "$D/evil")
kms_instance "$D/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' \
  "$D/secret_config.json" "$D/dynamic_config.json" || { not_ok "kmsconf: KMS instance builds"; return 0; }

# in_kms DESC CODE PATTERN [ENV=V...] -- ARGS...: the genuine KMS image run with ARGS (and fds 7, 8 open
# on the attacker's root and collateral) must exit CODE with one line matching PATTERN and serve nothing.
in_kms() {
  d=$1 code=$2 pat=$3; shift 3
  envs=""
  while [ "$1" != -- ]; do envs="$envs $1"; shift; done
  shift
  # shellcheck disable=SC2086
  env $envs timeout 20 "$INITRA" run "$D/kms" -- /bin/initra kms serve --listen "127.0.0.1:$(free_port)" "$@" \
    7<"$T/attacker-root.der" 8<"$T/attacker-collateral.json" >"$D/out" 2>"$D/err"; rc=$?
  if [ "$rc" = "$code" ] && [ "$(wc -l <"$D/err")" = 1 ] && grep -Eq -- "$pat" "$D/err" && ! grep -q serving "$D/err" "$D/out"
  then ok "kmsconf: $d: $(cut -c1-150 "$D/err")"
  else not_ok "kmsconf: $d (exit $rc, want $code /$pat/): $(head -c 600 "$D/err")"; fi
}
in_kms "attacker's root and collateral by inherited descriptors" 2 \
  '--trust-root is refused inside an enclave .*set "trust_roots" in /etc/initra/kms.json' -- \
  --trust-root /proc/self/fd/7 --collateral /proc/self/fd/8
in_kms "--collateral alone" 2 '--collateral is refused inside an enclave .*"collateral"' -- --collateral /proc/self/fd/8
in_kms "--secrets pointing to an attacker file" 2 '--secrets is refused inside an enclave .*set "secrets"' -- \
  --secrets /proc/self/fd/7
in_kms "--clients" 2 '--clients is refused inside an enclave .*"clients"' -- --clients /etc/kms/dynamic_config.json
in_kms "--policy" 2 '--policy is refused inside an enclave .*"policy"' -- --policy /proc/self/fd/7
in_kms "--store" 2 '--store is refused inside an enclave .*"store"' -- --store /proc/self/fd/7
in_kms "--pccs" 2 '--pccs is refused inside an enclave .*"pccs_url"' -- --pccs http://127.0.0.1:1/
in_kms "--protocol" 2 '--protocol is refused inside an enclave .*"protocol"' -- --protocol aecs
in_kms "--config" 2 '--config is refused inside an enclave' -- --config /etc/kms/dynamic_config.json
in_kms "--insecure-no-attestation" 2 '--insecure-no-attestation is refused inside an enclave' -- --insecure-no-attestation
in_kms "PCCS_URL in the environment" 2 'environment variable PCCS_URL is refused inside an enclave .*"pccs_url"' \
  PCCS_URL=http://127.0.0.1:1/ --
in_kms "INITRA_QCNL_CONF in the environment" 2 'INITRA_QCNL_CONF is refused inside an enclave' \
  INITRA_QCNL_CONF=/proc/self/fd/7 --

# The genuine KMS, started as measured, against a client certificate forged on the attacker's platform.
PORT=$(free_port)
kms_start "$D/kms" "$PORT" "$D/kms.log" || { not_ok "kmsconf: genuine KMS starts"; return 0; }
PIDS="$PIDS $KMS_PID"
wait_for "$D/kms.log" "configuration from /etc/initra/kms.json" && ok "kmsconf: the KMS names its measured configuration" \
  || not_ok "kmsconf: log: $(cat "$D/kms.log")"
openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$D/kms.pem" 2>/dev/null
kget() { $GRS client "127.0.0.1:$1" demo_key --root "$D/kms.pem" --override "initra RA-TLS" --cert "$2" --key "$3" 2>&1; }
INITRA_SIM_DIR=$ATTACKER_SIM "$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$D/forged.key" \
  --cert-out "$D/forged.pem"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$D/good.key" --cert-out "$D/good.pem"
got=$(kget "$PORT" "$D/forged.pem" "$D/forged.key")
case "$got" in *"$GOOD_B64"*) not_ok "kmsconf: forged certificate got the secret";; *) ok "kmsconf: forged client certificate gets nothing";; esac
grep -q "handshake refused" "$D/kms.log" && ok "kmsconf: KMS log shows the refused handshake" || not_ok "kmsconf: log: $(tail -2 "$D/kms.log")"
[ "$(kget "$PORT" "$D/good.pem" "$D/good.key")" = "$GOOD_B64" ] && ok "kmsconf: a genuine client still gets the genuine secret" \
  || not_ok "kmsconf: genuine client: $(kget "$PORT" "$D/good.pem" "$D/good.key")"
[ "$(grep -c released "$D/kms.log")" = 1 ] && ok "kmsconf: exactly one release in the KMS log (the genuine client)" \
  || not_ok "kmsconf: releases: $(grep released "$D/kms.log")"
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# ---- A CONFIGID-bound KMS image: one pre-signed image, its configuration attached at launch. ----
kms_instance "$D/bkms" bound "$D/secret_config.json" "$D/dynamic_config.json" || { not_ok "kmsconf: bound KMS builds"; return 0; }
[ ! -e "$D/bkms/image/etc/initra/kms.json" ] && grep -qx config_id "$D/bkms/image/etc/initra/config_binding" \
  && ok "kmsconf: bound image has no kms.json, binding config_id" || not_ok "kmsconf: bound image"
kms_conf "$D/site.json" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}'
SITE_ID=$("$INITRA" config-id "$D/site.json")
# in_bkms DESC CODE PATTERN CONF CONFIG_ID: the bound KMS with CONF attached under CONFIG_ID.
in_bkms() {
  d=$1 code=$2 pat=$3 conf=$4 cid=$5
  timeout 20 "$INITRA" run "$D/bkms" --config "$conf" --config-id "$cid" -- /bin/initra kms serve \
    --listen "127.0.0.1:$(free_port)" 7<"$D/evil_secrets.json" >"$D/out" 2>"$D/err"; rc=$?
  if [ "$rc" = "$code" ] && [ "$(wc -l <"$D/err")" = 1 ] && grep -Eq -- "$pat" "$D/err" && ! grep -q serving "$D/err"
  then ok "kmsconf: $d: $(cut -c1-150 "$D/err")"
  else not_ok "kmsconf: $d (exit $rc, want $code /$pat/): $(head -c 600 "$D/err")"; fi
}
kms_conf "$D/evil_site.json" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json", "accept_any_enclave": true}'
in_bkms "a swapped configuration (hash is not the CONFIGID)" 1 \
  "/etc/init_ra_conf.json: its SHA-512 .* is not this enclave's CONFIGID" "$D/evil_site.json" "$SITE_ID"
kms_conf "$D/unpinned.json" '{"secrets": "/proc/self/fd/7", "clients": "/etc/kms/dynamic_config.json"}'
in_bkms "a bound configuration naming a host descriptor without sha256" 1 \
  'secrets: "/proc/self/fd/7" is under /proc, which the host provides' "$D/unpinned.json" "$("$INITRA" config-id "$D/unpinned.json")"
kms_conf "$D/wrongpin.json" '{"secrets": {"path": "/proc/self/fd/7", "sha256": "'"$(sha256sum "$D/secret_config.json" | cut -c1-64)"'"}, "clients": "/etc/kms/dynamic_config.json"}'
in_bkms "a bound configuration pinning a file the host swapped" 1 \
  'secrets: /proc/self/fd/7: its SHA-256 is [0-9a-f]{64}, not the [0-9a-f]{64} the configuration pins' "$D/wrongpin.json" \
  "$("$INITRA" config-id "$D/wrongpin.json")"
# The right configuration under the right CONFIGID serves, and its quote carries that CONFIGID.
PORT=$(free_port)
KMS_RUN_ARGS="--config $D/site.json --config-id $SITE_ID" kms_start "$D/bkms" "$PORT" "$D/bkms.log" \
  && ok "kmsconf: the bound KMS serves with the configuration its CONFIGID names" || { not_ok "kmsconf: bound KMS"; return 0; }
PIDS="$PIDS $KMS_PID"
wait_for "$D/bkms.log" "configuration from /etc/init_ra_conf.json" && ok "kmsconf: bound KMS names the attached configuration" \
  || not_ok "kmsconf: bound log: $(cat "$D/bkms.log")"
openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$D/kms.pem" 2>/dev/null
[ "$(kget "$PORT" "$D/good.pem" "$D/good.key")" = "$GOOD_B64" ] && ok "kmsconf: bound KMS releases to the genuine client" \
  || not_ok "kmsconf: bound genuine client: $(kget "$PORT" "$D/good.pem" "$D/good.key")"
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# A pinned host file (an inherited descriptor) is accepted while it matches; SIGHUP after the host
# changes it is refused and the old secrets stay.
cp "$D/secret_config.json" "$D/hostfile.json"
kms_conf "$D/pinned.json" '{"secrets": {"path": "/proc/self/fd/9", "sha256": "'"$(sha256sum "$D/hostfile.json" | cut -c1-64)"'"}, "clients": "/etc/kms/dynamic_config.json"}'
PORT=$(free_port)
"$INITRA" run "$D/bkms" --config "$D/pinned.json" --config-id "$("$INITRA" config-id "$D/pinned.json")" -- /bin/initra kms serve \
  --listen "127.0.0.1:$PORT" 9<"$D/hostfile.json" >"$D/pin.log" 2>&1 &
PPID_=$!; PIDS="$PIDS $PPID_"
if wait_for "$D/pin.log" serving; then
  ok "kmsconf: a host file pinned by sha256 is accepted while it matches"
  cp "$D/evil_secrets.json" "$D/hostfile.json"
  kill -HUP $PPID_; wait_for "$D/pin.log" 'reload refused'
  grep -q "reload refused, keeping the old configuration: secrets: /proc/self/fd/9: its SHA-256 is" "$D/pin.log" \
    && ok "kmsconf: SIGHUP after the host changed a pinned file is refused" || not_ok "kmsconf: pinned reload: $(tail -2 "$D/pin.log")"
  openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$D/kms.pem" 2>/dev/null
  got=$(kget "$PORT" "$D/good.pem" "$D/good.key")
  [ "$got" = "$GOOD_B64" ] && ok "kmsconf: the old (genuine) secrets are still served" || not_ok "kmsconf: after refused reload: $got"
  grep -q "$EVIL_B64" "$D/pin.log" && not_ok "kmsconf: attacker value in the log" || true
else
  not_ok "kmsconf: pinned host file: $(cat "$D/pin.log")"
fi
kill $PPID_ 2>/dev/null; wait $PPID_ 2>/dev/null

# A FIFO as configuration (it could serve an evil text to one reader and a good one to the next):
# refused without reading, even outside an enclave (inside one, the image cannot hold a FIFO).
mkfifo "$D/fifo.json"
( kms_conf "$D/fifo_writer.json" '{"clients": "/etc/x"}'; timeout 5 sh -c "cat '$D/fifo_writer.json' >'$D/fifo.json'" ) 2>/dev/null &
check_fails "kmsconf: a FIFO as configuration" 2 'fifo.json: is not a regular file' \
  timeout 10 "$INITRA" kms serve --listen 127.0.0.1:0 --config "$D/fifo.json" --insecure-no-attestation
wait 2>/dev/null

# Outside an enclave (development) --config FILE follows the same rules, and is not mixed with flags.
check_fails "kmsconf: --config with a flag" 2 'give --config FILE or the flags, not both \(--secrets\)' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --config "$D/site.json" --secrets "$D/evil_secrets.json" --insecure-no-attestation
echo '{"clients": "/proc/self/fd/0"}' >"$D/dev_bad.json"
check_fails "kmsconf: --config with a host descriptor" 2 'dev_bad.json: clients: "/proc/self/fd/0" is under /proc' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --config "$D/dev_bad.json" --insecure-no-attestation

# ---- DoS cap: max_connections. A KMS (outside an enclave, to reach it without attestation) allowing
# one connection: while an idle TCP connection is held open, a second client's call is refused. ----
cat >"$D/cap.json" <<J
{"secrets": "$D/secret_config.json", "clients": "$D/dynamic_config.json", "collateral": "$W/collateral.json",
 "trust_roots": ["$W/sim-root.der"], "max_connections": 1, "max_concurrent_streams": 2}
J
PORT=$(free_port)
"$INITRA" kms serve --listen "127.0.0.1:$PORT" --config "$D/cap.json" --insecure-no-attestation >"$D/cap.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
if wait_for "$D/cap.log" serving; then
  openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$D/kms.pem" 2>/dev/null
  [ "$(kget "$PORT" "$D/good.pem" "$D/good.key")" = "$GOOD_B64" ] && ok "kmsconf: one connection: served" || not_ok "kmsconf: cap: single client"
  $PY -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); time.sleep(8)' "$PORT" &
  HOLD=$!
  sleep 0.5
  got=$(kget "$PORT" "$D/good.pem" "$D/good.key")
  case "$got" in *"$GOOD_B64"*) not_ok "kmsconf: served beyond max_connections";;
    *) ok "kmsconf: a connection beyond max_connections gets nothing: $(echo "$got" | tail -1 | cut -c1-120)";; esac
  grep -q "more than 1 connections open (max_connections)" "$D/cap.log" && ok "kmsconf: KMS log: over the connection cap" \
    || not_ok "kmsconf: cap log: $(tail -2 "$D/cap.log")"
  kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
else
  not_ok "kmsconf: capped KMS: $(cat "$D/cap.log")"
fi
kill $CPID 2>/dev/null; wait $CPID 2>/dev/null

# The same cap in the AECS server (plaintext HTTP/2: the call is refused before the handler runs).
"$INITRA" kms aecs-admin --store "$D/store.json" register-service svc >/dev/null
cat >"$D/acap.json" <<J
{"protocol": "aecs", "store": "$D/store.json", "collateral": "$W/collateral.json", "trust_roots": ["$W/sim-root.der"],
 "max_connections": 1}
J
PORT=$(free_port)
"$INITRA" kms serve --listen "127.0.0.1:$PORT" --config "$D/acap.json" --insecure-no-attestation >"$D/acap.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
if wait_for "$D/acap.log" serving; then
  $PY -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); time.sleep(8)' "$PORT" &
  HOLD=$!
  sleep 0.5
  $PY tests/helpers/aecs.py client "127.0.0.1:$PORT" svc k --initra "$INITRA" --mrsigner "$SIGNER" \
    --collateral "$W/collateral.json" >"$D/acap.out" 2>"$D/acap.err"
  grep -q "ERROR RESOURCE_EXHAUSTED more than 1 connections are open to this server (its max_connections)" "$D/acap.err" \
    && ok "kmsconf: AECS call beyond max_connections: RESOURCE_EXHAUSTED" || not_ok "kmsconf: AECS cap: $(cat "$D/acap.err")"
  kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
else
  not_ok "kmsconf: capped AECS KMS: $(cat "$D/acap.log")"
fi
kill $CPID 2>/dev/null; wait $CPID 2>/dev/null
