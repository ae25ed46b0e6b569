#!/bin/sh
# make demo: the end-to-end flow on the simulated SGX platform, each step printed.
set -eu
B=${INITRA_BUILD:-build}
INITRA="$(pwd)/$B/bin/initra"
D="$(pwd)/$B/demo"
rm -rf "$D"
mkdir -p "$D"
export INITRA_SIM_DIR="$D/sim"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { # prints the command (arguments with spaces quoted), then runs it
  printf '$'
  for a in "$@"; do case "$a" in *" "*) printf " '%s'" "$a";; *) printf ' %s' "$a";; esac; done
  printf '\n'
  "$@"
}

step "1. A simulated SGX platform: sim root CA, PCK chain, QE key and signed collateral (in $INITRA_SIM_DIR)"
run "$INITRA" sim init --tcb-status UpToDate
ls -l "$INITRA_SIM_DIR"

step "2. A quote for an enclave identity with all four KSS fields set"
CONFIG_ID=$(printf 'demo configuration v1' | openssl dgst -sha512 -binary | base64 -w0)
run "$INITRA" sim quote --mrenclave "$(printf 'demo-app' | openssl dgst -sha256 -r | cut -c1-64)" \
    --mrsigner "$(printf 'demo-signer' | openssl dgst -sha256 -r | cut -c1-64)" --isv-prod-id 1 --isv-svn 2 \
    --family-id 00112233445566778899aabbccddeeff --ext-prod-id 0102030405060708090a0b0c0d0e0f10 \
    --config-id "$CONFIG_ID" --config-svn 0x12ab --report-data 48656c6c6f -o "$D/app.quote"
echo "wrote $D/app.quote ($(wc -c <"$D/app.quote") bytes, DCAP v3 format)"

step "3. Every field of the quote, as a verifier sees it"
run "$INITRA" quote dump "$D/app.quote"

step "4. The PCK certificate chain in the quote verifies against the sim root with OpenSSL itself; its SGX extension"
run "$INITRA" sim root -o "$D/sim-root.der"
openssl x509 -inform DER -in "$D/sim-root.der" -out "$D/sim-root.pem"
python3 - "$D/app.quote" "$D" <<'PY'
import sys
q = open(sys.argv[1], 'rb').read()
pems = q[q.find(b'-----BEGIN CERTIFICATE-----'):].split(b'-----END CERTIFICATE-----')
open(sys.argv[2] + '/pck-leaf.pem', 'wb').write(pems[0] + b'-----END CERTIFICATE-----\n')
open(sys.argv[2] + '/pck-ca.pem', 'wb').write(pems[1].lstrip() + b'-----END CERTIFICATE-----\n')
PY
run openssl verify -CAfile "$D/sim-root.pem" -untrusted "$D/pck-ca.pem" "$D/pck-leaf.pem"
echo "The PCK certificate's SGX extension (1.2.840.113741.1.13.1), decoded by initra:"
run "$INITRA" quote dump --pck "$D/app.quote"

if "$INITRA" quote verify --help >/dev/null 2>&1; then
  step "5. Full DCAP verification of the quote with the sim root named as trust anchor"
  run "$INITRA" sim collateral -o "$D/collateral.json"
  run "$INITRA" quote verify "$D/app.quote" --collateral "$D/collateral.json" --trust-root "$D/sim-root.der"
fi

W="$D/grpc"
mkdir -p "$W"
export INITRA_SIGN_KEY_DIR="$D/signing"
. scripts/instances.sh

step "6. Init-RA (GRPC-RATLS): the KMS's files, in Occlum's formats"
printf 'demo password' >"$W/demo_key"
head -c 100 /dev/urandom >"$W/disk_key"
secrets_conf "$W/secret_config.json" demo_key="$W/demo_key" disk_key="$W/disk_key"
echo "secret_config.json: demo_key (13 bytes) and disk_key (100 random bytes), base64"
sim_export
"$INITRA" new "$W/probe" >/dev/null && "$INITRA" build "$W/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$W/probe" | field)
clients_conf "$W/dynamic_config.json" "$SIGNER" 1
echo "dynamic_config.json: clients must be production enclaves signed by $SIGNER and launched with CONFIGSVN 1:"
cat "$W/dynamic_config.json"

step "7. A KMS instance: initra itself in a simulated enclave, serving ratls.GrSecret over mutual RA-TLS"
kms_instance "$W/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' \
  "$W/secret_config.json" "$W/dynamic_config.json"
echo "The KMS configuration, measured into the KMS image as /etc/initra/kms.json (docs/kms.md):"
cat "$W/kms/image/etc/initra/kms.json"
KMS_MRE=$("$INITRA" print mrenclave "$W/kms" | field)
PORT=$(free_port)
echo "$ initra run $W/kms -- /bin/initra kms serve --listen 127.0.0.1:$PORT"
kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
cat "$W/kms.log"

step "8. An application instance (busybox) created with --init-ra grpc_ratls; its init_ra_conf.json pins the KMS's MRENCLAVE"
echo "Occlum's template (every verify_* \"off\") pins nothing, so init refuses it:"
"$INITRA" new "$W/template" --init-ra grpc_ratls >/dev/null
run "$INITRA" init --conf "$W/template/init_ra_conf.json" || echo "(init exited with status $?, as expected)"
echo "The KMS's MRENCLAVE, to pin it by:"
run "$INITRA" print mrenclave "$W/kms"
init_conf "$W/init_ra_conf.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key disk_key=/etc/keys/disk_key
echo "init_ra_conf.json: verify_mr_enclave \"on\" with that MRENCLAVE, and verify_enclave_debuggable \"on\" with"
echo "debuggable false (only a production KMS; a debug enclave's memory is open to the host):"
cat "$W/init_ra_conf.json"
app_instance "$W/app" "$W/init_ra_conf.json" --init-ra

step "9. Run it with CONFIGSVN 1: /bin/init attests, verifies the KMS, writes both keys (0600), then the application prints their SHA-256"
run "$INITRA" run "$W/app" --config-svn 1 -- /bin/busybox sh -c 'busybox ls -l /etc/keys; busybox sha256sum /etc/keys/*'
echo "The same keys, hashed on the host:"
(cd "$W" && sha256sum demo_key disk_key)

step "10. Run it with CONFIGSVN 2: the KMS refuses this enclave, so the application never starts"
rc=0
"$INITRA" run "$W/app" --config-svn 2 -- /bin/busybox echo "application started" || rc=$?
[ $rc != 0 ] || { echo "unexpected: the application started"; exit 1; }
echo "(initra run exited with status $rc, as expected)"

step "11. The KMS log: who asked for what, and every decision (never a secret)"
cat "$W/kms.log"
kill $KMS_PID; wait $KMS_PID 2>/dev/null || true
echo "KMS stopped."

W="$D/aecs"
mkdir -p "$W"
sim_export
step "12. Init-RA (AECS): a store with a registered service and three secrets, made with initra kms aecs-admin"
run "$INITRA" kms aecs-admin --store "$W/store.json" register-service app-svc
cat >"$W/secrets.yaml" <<EOF
kind: SecretPolicy
secrets:
- spec: {name: demo_key, type: SECRET_TYPE_IMPORT_DATA, service: app-svc, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
  data: "demo password"
- spec: {name: aes_key, type: SECRET_TYPE_AES256_KEY, service: app-svc, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
- spec: {name: rsa_key, type: SECRET_TYPE_RSA_KEY_PAIR, service: app-svc, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
EOF
cat "$W/secrets.yaml"
run "$INITRA" kms aecs-admin --store "$W/store.json" create-secret --file "$W/secrets.yaml"
run "$INITRA" kms aecs-admin --store "$W/store.json" list

step "13. An AECS KMS instance: kubetee.Aecs/GetEnclaveSecret over plaintext HTTP/2, its own Passport report from the sim enclave"
kms_instance "$W/kms" '{"protocol": "aecs", "store": "/etc/kms/store.json"}' "$W/store.json"
echo "/etc/initra/kms.json in the AECS KMS image:"
cat "$W/kms/image/etc/initra/kms.json"
AECS_MRE=$("$INITRA" print mrenclave "$W/kms" | field)
APORT=$(free_port)
echo "$ initra run $W/kms -- /bin/initra kms serve --listen 127.0.0.1:$APORT"
kms_start "$W/kms" "$APORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
cat "$W/kms.log"

step "14. An application whose AECS init_ra_conf.json pins the KMS by ua_policy_hex_ta_measurement"
aecs_init_conf "$W/init_ra_conf.json" "$APORT" "$AECS_MRE" demo_key=app-svc:/etc/keys/demo_key \
  aes_key=app-svc:/etc/keys/aes_key rsa_key=app-svc:/etc/keys/rsa_key.json
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print(json.dumps({k: c[k] for k in ('kms_server','kms_keys')}, indent=2)); print('ra_config.ua_policy_hex_ta_measurement:', c['ra_config']['ua_policy_hex_ta_measurement'])" "$W/init_ra_conf.json"
app_instance "$W/app" "$W/init_ra_conf.json" --init-ra

step "15. Run it: /bin/init verifies the KMS's Passport, sends its own, opens three envelopes and writes the keys"
run "$INITRA" run "$W/app" -- /bin/busybox sh -c 'busybox ls -l /etc/keys; busybox wc -c /etc/keys/*; busybox sha256sum /etc/keys/*'
echo "The same secrets, hashed on the host from the store:"
python3 - "$W/store.json" <<'PY'
import hashlib, json, sys
for s in json.load(open(sys.argv[1]))["secrets"]:
    print(hashlib.sha256(s["data"].encode()).hexdigest(), len(s["data"]), "bytes", s["name"])
PY

step "16. The AECS KMS log (never a secret); stopping it"
cat "$W/kms.log"
kill $KMS_PID; wait $KMS_PID 2>/dev/null || true
echo "AECS KMS stopped."

W="$D/occlum"
mkdir -p "$W"
sim_export
step "17. Occlum's two stages: an encrypted image, its key (occlum gen-image-key's form) held by a GRPC-RATLS KMS"
head -c 16 /dev/urandom | od -An -tx1 | tr -s ' \n' '-' | sed 's/^-//; s/-$//' >"$W/image_key"
echo >>"$W/image_key"
echo "image_key: 16 hex bytes separated by '-' (its text stays in $W/image_key and at the KMS)"
printf 'demo password' >"$W/demo_key"
secrets_conf "$W/secret_config.json" image_key="$W/image_key" demo_key="$W/demo_key"
"$INITRA" new "$W/probe" >/dev/null && "$INITRA" build "$W/probe" >/dev/null 2>&1
clients_conf "$W/dynamic_config.json" "$("$INITRA" print mrsigner "$W/probe" | field)" 0
kms_instance "$W/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' \
  "$W/secret_config.json" "$W/dynamic_config.json"
KMS_MRE=$("$INITRA" print mrenclave "$W/kms" | field)
PORT=$(free_port)
kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
init_conf "$W/init_ra_conf.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key
echo "$ initra new $W/app --init-ra grpc_ratls --initfs; initra build $W/app --image-key $W/image_key"
occlum_instance "$W/app" "$W/init_ra_conf.json" grpc_ratls --image-key "$W/image_key"
echo "initfs/etc/image_config.json: $(cat "$W/app/initfs/etc/image_config.json")"
echo "the initfs (init's root before the mount):"; (cd "$W/app/initfs" && find bin etc ! -type d | sort | sed 's/^/  /')
echo "the image (the application's root): $(cd "$W/app/image" && find . ! -type d | tr '\n' ' ')"

step "18. Boot it: init fetches image_key and demo_key, MountRootFS switches to the image, then the key is written there"
run env INITRA_INIT_TRACE=1 "$INITRA" run "$W/app" -- /bin/busybox sh -c 'busybox ls -l /etc/keys; busybox sha256sum /etc/keys/demo_key; busybox ls /bin'
echo "The same key, hashed on the host:"
(cd "$W" && sha256sum demo_key)

step "19. The same image built with another key: MountRootFS refuses, the application never starts"
printf '%s\n' "$(tr '0-9a-f' '1-9a-f0' <"$W/image_key")" >"$W/other_key"
occlum_instance "$W/app2" "$W/init_ra_conf.json" grpc_ratls --image-key "$W/other_key"
rc=0
"$INITRA" run "$W/app2" -- /bin/busybox echo "application started" || rc=$?
[ $rc != 0 ] || { echo "unexpected: the application started"; exit 1; }
echo "(initra run exited with status $rc, as expected)"
kill $KMS_PID; wait $KMS_PID 2>/dev/null || true

W="$D/store"
mkdir -p "$W/host"
sim_export
step "20. A KMS with state: the operator's admin key, and a KMS configuration naming a sealed store on the host and that key"
run "$INITRA" kms admin keygen --out "$W/admin" | tee "$W/keygen.out"
SPKI=$(field <"$W/keygen.out" | tail -1)
kms_conf "$W/kms-site.json" "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$SPKI\"]}"
cat "$W/kms-site.json"; echo
echo "One pre-signed KMS image; this configuration is attached at launch and bound by CONFIGID (its SHA-512):"
kms_instance "$W/kms" bound
KMS_MRE=$("$INITRA" print mrenclave "$W/kms" | field)
CID=$("$INITRA" config-id "$W/kms-site.json")
CID_HEX=$(printf '%s' "$CID" | base64 -d | od -An -tx1 | tr -d ' \n')
PORT=$(free_port)
echo "$ initra run $W/kms --config $W/kms-site.json --config-id \$(initra config-id $W/kms-site.json) --host-dir $W/host -- /bin/initra kms serve --listen 127.0.0.1:$PORT"
KMS_RUN_ARGS="--config $W/kms-site.json --config-id $CID --host-dir $W/host" kms_start "$W/kms" "$PORT" "$W/kms.log"
trap 'kill $KMS_PID 2>/dev/null || true' EXIT
grep 'store' "$W/kms.log" | head -3

step "21. secret put: the CLI first verifies the KMS against what the operator expects (its MRENCLAVE and CONFIGID)"
printf '[{"mr_enclave": "%s", "config_id": "%s"}]\n' "$KMS_MRE" "$CID_HEX" >"$W/expect.json"
cat "$W/expect.json"
A() { run "$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$W/expect.json" --key "$W/admin.key" --cert "$W/admin.crt" \
        --trust-root "$W/sim-root.der" --collateral "$W/collateral.json" "$@"; }
head -c 32 /dev/urandom >"$W/db_key.v1"
A secret put db_key --file "$W/db_key.v1" --min-config-svn 1
SIGNER=$(probe_signer "$W/probe")
printf '[{"name": "apps", "mr_signer": "%s"}]\n' "$SIGNER" >"$W/apps-policy.json"
A policy set default "$W/apps-policy.json"

step "22. An application enclave (CONFIGSVN 1) whose init pins the KMS by MRENCLAVE and CONFIGID fetches db_key: byte-exact"
init_conf "$W/app.json" "$PORT" "$KMS_MRE" db_key=/etc/keys/db_key
python3 - "$W/app.json" "$CID_HEX" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["ra_config"] = [{"mr_enclave": j["ra_config"]["sgx_mrs"][0]["mr_enclave"], "config_id": sys.argv[2]}]
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
app_instance "$W/app" "$W/app.json" --init-ra
run "$INITRA" run "$W/app" --config-svn 1 -- /bin/busybox sha256sum /etc/keys/db_key
echo "On the host: $(sha256sum "$W/db_key.v1" | cut -c1-64)  db_key version 1"

step "23. Rotation: version 2 for CONFIGSVN 2; both launches read the right version"
head -c 32 /dev/urandom >"$W/db_key.v2"
A secret put db_key --file "$W/db_key.v2" --min-config-svn 2
A secret list
run "$INITRA" run "$W/app" --config-svn 1 -- /bin/busybox sha256sum /etc/keys/db_key
run "$INITRA" run "$W/app" --config-svn 2 -- /bin/busybox sha256sum /etc/keys/db_key
echo "On the host: $(sha256sum "$W/db_key.v1" | cut -c1-64)  version 1"
echo "             $(sha256sum "$W/db_key.v2" | cut -c1-64)  version 2"

step "24. The audit log: every release, denial and admin operation, chained; verified end to end"
A audit --verify | tail -4

step "25. The KMS restarts (same image, configuration and host directory): nothing lost"
kill $KMS_PID; wait $KMS_PID 2>/dev/null || true
echo "the store on the host holds only ciphertext: $(ls -l "$W/host" | tail -n +2 | awk '{print $NF}' | tr '\n' ' ')"
KMS_RUN_ARGS="--config $W/kms-site.json --config-id $CID --host-dir $W/host" kms_start "$W/kms" "$PORT" "$W/kms.log"
A secret list
run "$INITRA" run "$W/app" --config-svn 2 -- /bin/busybox sha256sum /etc/keys/db_key
kill $KMS_PID; wait $KMS_PID 2>/dev/null || true

W="$D/replicas"
mkdir -p "$W"
sim_export
step "26. Two KMS replicas on PostgreSQL: a throwaway cluster (scripts/pg.sh), one KMS image naming it, two enclaves of that image"
PGD=$(mktemp -d /tmp/initra-demo-pg.XXXXXX)
trap 'kill $KMS_A $KMS_B 2>/dev/null || true; sh scripts/pg.sh stop "$PGD" >/dev/null 2>&1; rm -rf "$PGD"' EXIT
echo "$ sh scripts/pg.sh start $PGD"
CI=$(sh scripts/pg.sh start "$PGD" | tail -1)
echo "$CI"
kms_instance "$W/kms" "{\"store\": {\"postgres\": \"$CI\"}, \"admins\": [\"$SPKI\"]}"
KMS_MRE=$("$INITRA" print mrenclave "$W/kms" | field)
PA=$(free_port); PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
echo "$ initra run $W/kms -- /bin/initra kms serve --listen 127.0.0.1:$PA    # replica A"
kms_start "$W/kms" "$PA" "$W/a.log"; KMS_A=$KMS_PID
echo "$ initra run $W/kms -- /bin/initra kms serve --listen 127.0.0.1:$PB    # replica B"
kms_start "$W/kms" "$PB" "$W/b.log"; KMS_B=$KMS_PID
grep serving "$W/a.log" | head -1; grep -i 'data key\|serving' "$W/b.log" | head -2

step "27. A secret put through replica A is listed through replica B at once; one application fetches through each"
printf '[{"mr_enclave": "%s"}]\n' "$KMS_MRE" >"$W/expect.json"
R() { port=$1; shift; run "$INITRA" kms admin --kms "127.0.0.1:$port" --expect "$W/expect.json" --key "$D/store/admin.key" \
        --cert "$D/store/admin.crt" --trust-root "$W/sim-root.der" --collateral "$W/collateral.json" "$@"; }
printf '[{"name": "apps", "mr_signer": "%s"}]\n' "$SIGNER" >"$W/apps-policy.json"
R "$PA" policy set default "$W/apps-policy.json"
head -c 32 /dev/urandom >"$W/shared_key"
R "$PA" secret put shared_key --file "$W/shared_key"
R "$PB" secret list
init_conf "$W/app-a.json" "$PA" "$KMS_MRE" shared_key=/etc/keys/shared_key
init_conf "$W/app-b.json" "$PB" "$KMS_MRE" shared_key=/etc/keys/shared_key
app_instance "$W/app-a" "$W/app-a.json" --init-ra
app_instance "$W/app-b" "$W/app-b.json" --init-ra
run "$INITRA" run "$W/app-a" -- /bin/busybox sha256sum /etc/keys/shared_key
run "$INITRA" run "$W/app-b" -- /bin/busybox sha256sum /etc/keys/shared_key
echo "On the host: $(sha256sum "$W/shared_key" | cut -c1-64)"

step "28. Replica A stops; replica B keeps serving (and an application listing both, A first, fails over to B)"
kill $KMS_A; wait $KMS_A 2>/dev/null || true
echo "replica A stopped"
run "$INITRA" run "$W/app-b" -- /bin/busybox sha256sum /etc/keys/shared_key
init_conf "$W/app-ab.json" "$PA" "$KMS_MRE" shared_key=/etc/keys/shared_key
python3 - "$W/app-ab.json" "$PB" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["kms_server"] += ",127.0.0.1:" + sys.argv[2]
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
echo "kms_server: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kms_server"])' "$W/app-ab.json")"
app_instance "$W/app-ab" "$W/app-ab.json" --init-ra
run "$INITRA" run "$W/app-ab" -- /bin/busybox sha256sum /etc/keys/shared_key
R "$PB" audit --verify | tail -2
kill $KMS_B; wait $KMS_B 2>/dev/null || true

step "Done. Files are in $D"
