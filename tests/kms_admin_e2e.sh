# Sourced by tests/t_kms_admin.sh once the sealed store, the KMS's Admin service and `initra run
# --host-dir` are in the tree: a KMS enclave whose store lives on the host (/host/kms.db), its admin, an
# application enclave fetching what was put; an unlisted admin key; a recovery on a new sim platform.
# (The KMS configuration keys "store", "admins" and "recovery_key" as docs/kms.md describes them.)
plan 29
SIGNER=$(probe_signer "$T/probe")

# A KMS enclave with a store on the host, the admin listed, the recovery key in the image.
kms_instance "$T/skms" "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$SPKI\"], \"recovery_key\": \"/etc/kms/rec.pub\"}" \
  "$T/rec.pub" || { not_ok "store KMS instance builds"; exit 1; }
SKMS_MRE=$("$INITRA" print mrenclave "$T/skms" | field)
mkdir -p "$T/host"
SPORT=$(free_port)
KMS_RUN_ARGS="--host-dir $T/host" kms_start "$T/skms" "$SPORT" "$T/skms.log" \
  && ok "a KMS with a sealed store starts (store on the host)" || { not_ok "store KMS starts"; exit 1; }
trap 'kill $KMS_PID 2>/dev/null' EXIT
printf '[{"mr_enclave": "%s"}]' "$SKMS_MRE" >"$T/expect.json"
V="--trust-root $T/sim-root.der --collateral $T/collateral.json"
# shellcheck disable=SC2086
A() { "$INITRA" kms admin --kms "127.0.0.1:$SPORT" --expect "$T/expect.json" --key "$T/admin.key" --cert "$T/admin.crt" $V "$@"; }

head -c 100 /dev/urandom >"$T/db.bin"
check "secret put (after verifying the KMS)" A secret put db_key --file "$T/db.bin"
grep -q '^put default/db_key version 1 (100 bytes)$' "$T/out" && ok "put says name, version and size" || not_ok "put: $(cat "$T/out")"
check "secret generate aes256" A secret generate gen_key --type aes256
check "secret list" A secret list
grep -q '^default/db_key  version 1  bytes  100 bytes' "$T/out" && grep -q '^default/gen_key  version 1  aes256  32 bytes' "$T/out" \
  && ok "list: names, versions, types, sizes" || not_ok "list: $(cat "$T/out")"
B64=$(base64 -w0 "$T/db.bin"); HEX=$(od -An -tx1 "$T/db.bin" | tr -d ' \n')
grep -q -e "$B64" -e "$HEX" "$T/out" "$T/skms.log" && not_ok "a value is printed or logged" || ok "no value in the list or the KMS log"

# The namespace policy, then an application enclave fetches db_key byte-exact.
printf '[{"mr_signer": "%s", "min_config_svn": 1}]' "$SIGNER" >"$T/app-policy.json"
check "policy set default" A policy set default "$T/app-policy.json"
init_conf "$T/app.json" "$SPORT" "$SKMS_MRE" db_key=/etc/keys/db_key
app_instance "$T/app" "$T/app.json" --init-ra || not_ok "app instance builds"
"$INITRA" run "$T/app" --config-svn 1 -- /bin/busybox sha256sum /etc/keys/db_key >"$T/app.out" 2>"$T/app.err"
check_eq "the application reads what was put, byte-exact" "$(cut -c1-64 "$T/app.out")" "$(sha256sum "$T/db.bin" | cut -c1-64)"

# Versions: version 2 for CONFIGSVN >= 2; a launch with 1 still reads version 1, one with 2 reads version 2.
head -c 32 /dev/urandom >"$T/db2.bin"
check "secret put version 2 --min-config-svn 2" A secret put db_key --file "$T/db2.bin" --min-config-svn 2
"$INITRA" run "$T/app" --config-svn 1 -- /bin/busybox sha256sum /etc/keys/db_key >"$T/app1.out" 2>"$T/app1.err"
"$INITRA" run "$T/app" --config-svn 2 -- /bin/busybox sha256sum /etc/keys/db_key >"$T/app2.out" 2>"$T/app2.err"
check_eq "CONFIGSVN 1 reads version 1, CONFIGSVN 2 reads version 2" \
  "$(cut -c1-64 "$T/app1.out") $(cut -c1-64 "$T/app2.out")" \
  "$(sha256sum "$T/db.bin" | cut -c1-64) $(sha256sum "$T/db2.bin" | cut -c1-64)"
check "secret delete --version 2" A secret delete db_key --version 2
A secret list >"$T/list2" 2>&1
grep -q 'db_key  version 2' "$T/list2" && not_ok "version 2 still listed: $(cat "$T/list2")" || ok "version 2 is gone, version 1 stays"

# Refusals: an admin key not listed; a KMS that fails --expect (nothing sent, nothing stored).
check_fails "an admin key not listed is refused, one line" 1 "listed under \"admins\"|PERMISSION_DENIED" \
  "$INITRA" kms admin --kms "127.0.0.1:$SPORT" --expect "$T/expect.json" --key "$T/other.key" --cert "$T/other.crt" $V secret list
printf '[{"mr_enclave": "%064d"}]' 1 >"$T/expect-other.json"
check_fails "--expect that the KMS fails: refused before sending" 1 "refused before anything was sent: .*mr_enclave is $SKMS_MRE" \
  "$INITRA" kms admin --kms "127.0.0.1:$SPORT" --expect "$T/expect-other.json" --key "$T/admin.key" --cert "$T/admin.crt" $V \
  secret put refused_secret --file "$T/value"
A secret list >"$T/list3" 2>&1
grep -q refused_secret "$T/list3" "$T/skms.log" && not_ok "refused_secret reached the KMS" || ok "the refused secret is not in the store or the KMS log"

# Imports: Occlum's secret_config.json and dynamic_config.json into namespace imp; an AECS store (its
# service svc2 a namespace, its rule the namespace's policy).
check "import secrets secret_config.json --namespace imp" A import secrets "$T/secret_config.json" --namespace imp
clients_conf "$T/imp-clients.json" "$SIGNER" 1
check "import policy dynamic_config.json --namespace imp" A import policy "$T/imp-clients.json" --namespace imp
"$INITRA" kms aecs-admin --store "$T/aecs2.json" register-service svc2 >/dev/null
sed -e 's/service: svc1/service: svc2/' -e '/user_data/d' "$T/aecs-spec.yaml" >"$T/aecs2-spec.yaml"
"$INITRA" kms aecs-admin --store "$T/aecs2.json" create-secret --file "$T/aecs2-spec.yaml" >/dev/null
check "import aecs" A import aecs "$T/aecs2.json"
A secret list >"$T/list5" 2>&1
grep -q '^imp/demo_key  version 1  bytes  6 bytes' "$T/list5" && grep -q '^svc2/k1  version 1  bytes  13 bytes' "$T/list5" \
  && grep -q '^policy for namespace imp$' "$T/list5" && grep -q '^policy for namespace svc2$' "$T/list5" \
  && ok "the imported secrets and namespace policies are listed" || not_ok "imports: $(cat "$T/list5")"

# The audit: every operation above, the chain verified end to end.
check "audit --verify" A audit --verify
grep -q 'audit chain verified: [0-9]* records' "$T/err" && grep -q '"put"' "$T/out" && ok "audit: records of the puts, chain verified" \
  || not_ok "audit: $(head -c 300 "$T/out") $(cat "$T/err")"
OTHER=$(openssl x509 -in "$T/other.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
grep -q "$OTHER" "$T/out" && ok "the refused admin key is in the audit" || not_ok "no audit record names $OTHER"
check_fails "audit --since a bad time" 2 "neither Unix seconds nor ISO 8601" A audit --since 2026-13-45
stop_server "the store KMS stops" "$KMS_PID" "$T/skms.log"

# Recovery: the same KMS image on a new sim platform (another platform secret: its seal key cannot open
# the store) comes up locked; `recover` re-wraps the data key with rec.key; the secrets are there.
export INITRA_SIM_DIR="$T/sim2"
"$INITRA" sim init >/dev/null && "$INITRA" sim root -o "$T/sim2-root.der" && "$INITRA" sim collateral -o "$T/collateral2.json"
V="--trust-root $T/sim2-root.der --collateral $T/collateral2.json"
"$INITRA" run "$T/skms" --host-dir "$T/host" -- /bin/initra kms serve --listen "127.0.0.1:$SPORT" \
  >"$T/skms2.log" 2>&1 &
KMS_PID=$!
wait_for "$T/skms2.log" serving
grep -qi locked "$T/skms2.log" && ok "on a new platform the KMS comes up locked" || not_ok "not locked: $(tail -3 "$T/skms2.log")"
check "recover --recovery-key rec.key" A recover --recovery-key "$T/rec.key"
A secret list >"$T/list4" 2>&1
grep -q '^default/db_key  version 1' "$T/list4" && grep -q '^default/gen_key' "$T/list4" \
  && ok "after recovery the secrets are there" || not_ok "after recovery: $(cat "$T/list4")"
stop_server "the recovered KMS stops" "$KMS_PID" "$T/skms2.log"
