# Attack 2 of issue 9: any genuine enclave passes for the KMS. The host runs init with Occlum's template
# (every verify_* "off"), or points OCCLUM_INIT_RA_KMS_SERVER at its own debug enclave KMS serving its
# own keys (a debug enclave's memory is open to the host; its MRENCLAVE is the genuine one when the image
# is the same, and its MRSIGNER is the vendor's when the vendor signed a debug build), or runs an AECS
# init whose ua_policy_* is empty, or that pins MRSIGNER, at a debug AECS KMS. Each: init exits 1 with one
# line and writes nothing; a GRPC-RATLS KMS is refused in the handshake, before any request.
plan 15  # checks in this section
P=$T/pinning
mkdir -p "$P"
W=$P
cp "$T/sim-root.der" "$T/collateral.json" "$P/"

# pin_debug DIR: the instance rebuilt as a debug enclave (Occlum.json metadata.debuggable true).
pin_debug() {
  $PY - "$1/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["debuggable"] = True
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
  "$INITRA" build "$1" >"$P/build.log" 2>&1 || { cat "$P/build.log"; return 1; }
}
# pin_init NAME CONF [env...]: init as the instance's program; prints rc, init's stderr, the files left.
pin_init() {
  name=$1 conf=$2; shift 2
  app_instance "$P/$name" "$conf" || return 1
  env "$@" "$INITRA" run "$P/$name" -- /bin/busybox sh -c \
    '/bin/initra init 2>/tmp/e; echo "rc=$?"; cat /tmp/e; busybox find /etc/keys -type f 2>/dev/null' 2>&1
}
# pin_refused DESC OUTPUT PATTERN [KMS_LOG]: exit 1, one line matching, nothing written, and the KMS log
# has no request since pin_mark.
pin_mark() { PIN_SEEN=$(cat "$1" 2>/dev/null | wc -l); }
pin_refused() {
  if grep -q '^rc=1$' "$2" && [ "$(grep -c '^initra: ' "$2")" = 1 ] && [ "$(grep -vc '^rc=' "$2")" = 1 ] &&
     grep -Eq "$3" "$2" && ! grep -q '^/etc/keys' "$2"; then
    ok "$1: $(grep '^initra: ' "$2" | cut -c1-170)"
  else not_ok "$1 (want /$3/, exit 1, one line, nothing written): $(cat "$2")"; fi
  if [ -n "${4:-}" ]; then
    tail -n +$((PIN_SEEN + 1)) "$4" | grep -q 'asked for' && not_ok "$1: the attacker's KMS was asked: $(tail -n +$((PIN_SEEN + 1)) "$4")" \
      || ok "$1: the attacker's KMS got no request and released nothing"
  fi
}

# pin_attack NAME CONF DESC PATTERN KMS_LOG [env...]: pin_init, then pin_refused against KMS_LOG.
pin_attack() {
  name=$1 conf=$2 desc=$3 pat=$4 log=$5; shift 5
  pin_mark "$log"
  pin_init "$name" "$conf" "$@" >"$P/o-$name"
  pin_refused "$desc" "$P/o-$name" "$pat" "$log"
}
# pin_edit IN OUT PYTHON: a copy of init_ra_conf.json IN edited by PYTHON (c the JSON, ra its ra_config,
# SIGNER the vendor's MRSIGNER).
pin_edit() {
  $PY - "$1" "$2" "$3" "$SIGNER" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); ra = c.get("ra_config"); SIGNER = sys.argv[4]
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}

# The attacker's GRPC-RATLS KMS: the genuine KMS image and signer, run as a debug enclave, serving the
# attacker's keys to any client of the vendor's MRSIGNER.
printf 'attacker key' >"$P/evil"
secrets_conf "$P/secret_config.json" demo_key="$P/evil"
"$INITRA" new "$P/probe" >/dev/null && "$INITRA" build "$P/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$P/probe" | field)
clients_conf "$P/dynamic_config.json" "$SIGNER" 0
kms_instance "$P/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$P/secret_config.json" "$P/dynamic_config.json" || { not_ok "pinning: KMS instance"; return 0; }
GENUINE_MRE=$("$INITRA" print mrenclave "$P/kms" | field)
pin_debug "$P/kms" || { not_ok "pinning: debug KMS instance"; return 0; }
EVIL_MRE=$("$INITRA" print mrenclave "$P/kms" | field)
check_eq "the debug build of the KMS image has the genuine MRENCLAVE (DEBUG is an attribute, not measured)" \
  "$EVIL_MRE" "$GENUINE_MRE"
EVIL_PORT=$(free_port)
if kms_start "$P/kms" "$EVIL_PORT" "$P/evil-kms.log"; then
  PIDS="$PIDS $KMS_PID"
  ok "the attacker's debug enclave KMS serves"
else not_ok "attacker KMS starts: $(cat "$P/evil-kms.log")"; fi
DEAD=$(free_port)
DEBUG_REFUSED="its evidence does not satisfy ra_config: .*the enclave is a debug enclave \(its memory is readable by the host\)"

# 1. The seed's template, unchanged ra_config (every verify_* "off"): init refuses before connecting.
"$INITRA" new "$P/tmpl" --init-ra grpc_ratls >/dev/null
pin_edit "$P/tmpl/init_ra_conf.json" "$P/c1.json" "c['kms_server'] = '127.0.0.1:$EVIL_PORT'
c['initra'] = {'collateral': '/etc/initra/collateral.json', 'trust_roots': ['/etc/initra/sim-root.der'], 'deadline_ms': 10000}"
pin_attack t1 "$P/c1.json" "seed template (every verify_* off)" \
  'ra_config: pins nothing: verify_mr_enclave and verify_mr_signer are both "off".*set verify_mr_enclave "on" and sgx_mrs\[\]\.mr_enclave to the KMS.s MRENCLAVE \(`initra print mrenclave DIR`\)' \
  "$P/evil-kms.log"

# The measured opt-out, "accept_any_enclave": true: init warns that the KMS is not pinned, and a debug
# KMS is still refused.
pin_edit "$P/c1.json" "$P/c1a.json" 'c["initra"]["accept_any_enclave"] = True'
pin_mark "$P/evil-kms.log"
pin_init t1a "$P/c1a.json" >"$P/o-t1a"
if grep -q '^rc=1$' "$P/o-t1a" && [ "$(grep -vc '^rc=' "$P/o-t1a")" = 2 ] && ! grep -q '^/etc/keys' "$P/o-t1a" &&
   grep -q "^init: warning: /etc/init_ra_conf.json: ra_config pins neither mr_enclave nor mr_signer (accept_any_enclave is set): any genuine enclave is accepted (kms_server 127.0.0.1:$EVIL_PORT)" "$P/o-t1a" &&
   grep -Eq "^initra: init: KMS server .* refused: .*$DEBUG_REFUSED" "$P/o-t1a"; then
  ok "accept_any_enclave: one warning line, and the debug KMS still refused, nothing written"
else not_ok "accept_any_enclave with a debug KMS: $(cat "$P/o-t1a")"; fi

# 2. init pins the KMS's MRENCLAVE, verify_enclave_debuggable "off" as in Occlum's template; the host
# redirects it to the debug build of that very image.
init_conf "$P/c2p.json" "$DEAD" "$GENUINE_MRE" demo_key=/etc/keys/demo_key
pin_edit "$P/c2p.json" "$P/c2.json" 'ra["verify_enclave_debuggable"] = "off"'
pin_attack t2 "$P/c2.json" "OCCLUM_INIT_RA_KMS_SERVER -> debug KMS with the pinned MRENCLAVE" \
  "KMS server 127.0.0.1:$EVIL_PORT refused: $DEBUG_REFUSED" "$P/evil-kms.log" OCCLUM_INIT_RA_KMS_SERVER="127.0.0.1:$EVIL_PORT"
# verify_enclave_debuggable "on" with debuggable false says the same explicitly.
pin_attack t2p "$P/c2p.json" "... with verify_enclave_debuggable \"on\", debuggable false" \
  "refused: its evidence does not satisfy ra_config: .*the enclave is a debug enclave, the entry requires debuggable false" \
  "$P/evil-kms.log" OCCLUM_INIT_RA_KMS_SERVER="127.0.0.1:$EVIL_PORT"

# 3. init pins the vendor's MRSIGNER (verify_enclave_debuggable "off", as Occlum's template has it): the
# debug KMS of that signer is still refused, debug enclaves need verify_enclave_debuggable "on".
pin_edit "$P/c2.json" "$P/c3.json" 'ra["verify_mr_enclave"], ra["verify_mr_signer"] = "off", "on"
ra["sgx_mrs"][0].update(mr_enclave="", mr_signer=SIGNER, debuggable=True)'
pin_attack t3 "$P/c3.json" "OCCLUM_INIT_RA_KMS_SERVER -> debug KMS of the pinned MRSIGNER" "$DEBUG_REFUSED" \
  "$P/evil-kms.log" OCCLUM_INIT_RA_KMS_SERVER="127.0.0.1:$EVIL_PORT"

# 4. AECS: the template's ua_policy_* left empty, kms_server the attacker's debug AECS KMS.
"$INITRA" kms aecs-admin --store "$P/store.json" register-service app-svc >/dev/null
printf 'kind: SecretPolicy\nsecrets:\n- spec: {name: k, type: SECRET_TYPE_IMPORT_DATA, service: app-svc, policy: {enclaveMatchAnyRules: [{mrsigner: "%s"}]}}\n  data: attacker key\n' \
  "$SIGNER" >"$P/spec.yaml"
"$INITRA" kms aecs-admin --store "$P/store.json" create-secret --file "$P/spec.yaml" >/dev/null
kms_instance "$P/aecs" '{"protocol": "aecs", "store": "/etc/kms/store.json"}' "$P/store.json" && pin_debug "$P/aecs" || { not_ok "pinning: AECS KMS instance"; return 0; }
AECS_PORT=$(free_port)
if kms_start "$P/aecs" "$AECS_PORT" "$P/evil-aecs.log"; then
  PIDS="$PIDS $KMS_PID"
  ok "the attacker's debug enclave AECS KMS serves"
else not_ok "attacker AECS KMS starts: $(cat "$P/evil-aecs.log")"; fi
aecs_init_conf "$P/c4.json" "$AECS_PORT" "" k=app-svc:/etc/keys/k
pin_attack t4 "$P/c4.json" "AECS init with every ua_policy_* empty" \
  'ra_config: pins nothing: neither ua_policy_hex_ta_measurement nor ua_policy_hex_signer is set.*set ua_policy_hex_ta_measurement to the AECS server.s MRENCLAVE' \
  "$P/evil-aecs.log"
# 5. AECS init pins the vendor's MRSIGNER (ua_policy_hex_signer), bool_debug_disabled left empty as UA
# allows: the debug AECS KMS of that signer is refused. (AECS's server proves itself in its reply, so it
# answers the request; what it sends is its own key sealed to this enclave, which init then refuses.)
AECS_RA_EXTRA='{"ua_policy_hex_signer": "'$SIGNER'"}' aecs_init_conf "$P/c5.json" "$AECS_PORT" "" k=app-svc:/etc/keys/k
pin_attack t5 "$P/c5.json" "AECS init pinning MRSIGNER -> debug AECS KMS of that signer" \
  "does not match ra_config's ua_policy_\*: .*bool_debug_disabled is \"false\": a debug enclave \(its memory is readable by the host\)" ""
W=$T
