#!/bin/sh
# AECS benchmark (issue 9 F), measured in this run:
#   aecs_init_ms_3_keys: median over RUNS (default 15) of the time from the start of /bin/init to the
#     application's exec, an AECS init fetching 3 keys from an AECS KMS instance on loopback (sim platform).
set -eu
B=${INITRA_BUILD:-build}
RUNS=${BENCH_RUNS:-15}
. scripts/bench_lib.sh
bench_dir aecs
"$INITRA" sim init >/dev/null
sim_export

"$INITRA" new "$W/probe" >/dev/null; "$INITRA" build "$W/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$W/probe" | field)
S="$W/store.json"
"$INITRA" kms aecs-admin --store "$S" register-service bench >/dev/null
cat >"$W/spec.yaml" <<Y
kind: SecretPolicy
secrets:
- spec: {name: k0, type: SECRET_TYPE_AES256_KEY, service: bench, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
- spec: {name: k1, type: SECRET_TYPE_AES256_KEY, service: bench, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
- spec: {name: k2, type: SECRET_TYPE_IMPORT_DATA, service: bench, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
  data: "bench data"
Y
"$INITRA" kms aecs-admin --store "$S" create-secret --file "$W/spec.yaml" >/dev/null
kms_instance "$W/kms" '{"protocol": "aecs", "store": "/etc/kms/store.json"}' "$S"
PORT=$(free_port)
kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
aecs_init_conf "$W/conf.json" "$PORT" "$("$INITRA" print mrenclave "$W/kms" | field)" \
  k0=bench:/etc/keys/k0 k1=bench:/etc/keys/k1 k2=bench:/etc/keys/k2
app_instance "$W/app" "$W/conf.json" --init-ra
timed aecs_init_ms_3_keys init_to_exec_ms "$W/app" /bin/busybox
