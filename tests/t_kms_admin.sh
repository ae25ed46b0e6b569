# initra kms admin: keygen and the command line (no KMS needed); the KMS verified by attestation before
# anything is sent (a real sim KMS enclave); and, once the sealed store, the Admin service and
# `initra run --host-dir` are in the tree, the verbs end to end against a KMS enclave with a store.
. tests/lib.sh
. scripts/instances.sh
PY=/usr/bin/python3

# 1. keygen: PREFIX.key 0600 and PREFIX.crt; the printed hash is the certificate's SPKI SHA-256 as
# openssl computes it.
plan 14
"$INITRA" kms admin keygen --out "$T/admin" >"$T/kg.out" 2>"$T/kg.err"
check_eq "keygen exits 0, nothing on stderr" "$?:$(cat "$T/kg.err")" "0:"
check_eq "keygen: admin.key mode 0600, admin.crt 0644" "$(stat -c %a "$T/admin.key") $(stat -c %a "$T/admin.crt")" "600 644"
SPKI=$(openssl x509 -in "$T/admin.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
check_eq "keygen prints the SPKI SHA-256 (last line) that openssl computes" "$(tail -1 "$T/kg.out")" "$SPKI"
openssl x509 -in "$T/admin.crt" -noout -subject -enddate >"$T/kg.x509"
grep -q 'CN *= *initra admin' "$T/kg.x509" && grep -q "notAfter=.* $(($(date -u +%Y) + 10)) GMT" "$T/kg.x509" \
  && ok "admin.crt: CN initra admin, valid 10 years" || not_ok "admin.crt: $(cat "$T/kg.x509")"
check "admin.key is an EC P-256 key" sh -c "openssl pkey -in '$T/admin.key' -noout -text | grep -q 'NIST CURVE: P-256'"
cp "$T/admin.key" "$T/admin.key.before"
check_fails "keygen never overwrites a key" 1 "kms admin keygen: .*/admin.key exists; remove it first" \
  "$INITRA" kms admin keygen --out "$T/admin"
check "the existing key is unchanged" cmp "$T/admin.key" "$T/admin.key.before"
check_fails "keygen without --out" 2 "^initra: kms admin keygen: --out PREFIX is required$" "$INITRA" kms admin keygen
check_fails "keygen into a missing directory: one line, nothing written" 1 "$T/no/dir/a.crt: cannot create" \
  "$INITRA" kms admin keygen --out "$T/no/dir/a"
# recovery-keygen: both types, the private key 0600, never overwritten.
"$INITRA" kms admin recovery-keygen --type x25519 --out "$T/rec" >"$T/rk.out" 2>"$T/rk.err"
check_eq "recovery-keygen x25519: exit 0, rec.key 0600" "$?:$(stat -c %a "$T/rec.key")" "0:600"
check "rec.pub is an X25519 public key" sh -c "openssl pkey -pubin -in '$T/rec.pub' -noout -text | grep -q X25519"
"$INITRA" kms admin recovery-keygen --type rsa-3072 --out "$T/rec-rsa" >/dev/null 2>&1
check "recovery-keygen rsa-3072: a 3072-bit RSA key" sh -c "openssl pkey -in '$T/rec-rsa.key' -noout -text | grep -q '3072 bit'"
check_fails "recovery-keygen never overwrites a key" 1 "rec.key exists" \
  "$INITRA" kms admin recovery-keygen --type x25519 --out "$T/rec"
check_fails "recovery-keygen --type must be rsa-3072 or x25519" 2 "recovery-keygen: --type 'rsa-2048' is not rsa-3072 or x25519" \
  "$INITRA" kms admin recovery-keygen --type rsa-2048 --out "$T/rec"

# 2. The command line: every mistake is one line, exit 2, before any connection (the KMS address is dead).
plan 21
printf '[{"mr_enclave": "%064d"}]' 0 >"$T/expect-zero.json"
printf 'hunter2' >"$T/value"
C="--kms 127.0.0.1:1 --expect $T/expect-zero.json --key $T/admin.key --cert $T/admin.crt --collateral $T/none.json"
# shellcheck disable=SC2086
adm() { "$INITRA" kms admin $C "$@"; }
check_fails "a secret value as an argument is impossible (not echoed)" 2 \
  "secret put: unexpected argument after NAME: a value comes only from --file F" adm secret put k hunter2
grep -q hunter2 "$T/err" && not_ok "the refused value is echoed: $(cat "$T/err")" || ok "the refused value is not echoed"
check_fails "secret put has no --value option" 2 "secret put: unknown argument '--value'" adm secret put k --value x
check_fails "secret put without --file" 2 "secret put: expected NAME --file F" adm secret put k
check_fails "--config-id must be base64 of 64 bytes" 2 "--config-id 'AAAA' is not base64 of 64 bytes" \
  adm secret put k --file "$T/value" --config-id AAAA
check_fails "--min-config-svn above 65535" 2 "--min-config-svn '70000' is not a number from 0 to 65535" \
  adm secret put k --file "$T/value" --min-config-svn 70000
check_fails "--min-config-svn given twice" 2 "--min-config-svn given twice" \
  adm secret put k --file "$T/value" --min-config-svn 1 --min-config-svn 2
check_fails "generate --type random:0" 2 "--type 'random:0' is not aes256, random:N" adm secret generate k --type random:0
check_fails "delete --version 0" 2 "--version '0' is not a version number" adm secret delete k --version 0
check_fails "a namespace with '/'" 2 "namespace \"a/b\" contains '/'" adm secret list --namespace a/b
check_fails "audit --since neither Unix seconds nor ISO 8601" 2 "--since 'yesterday' is neither Unix seconds nor ISO 8601 UTC" \
  adm audit --since yesterday
check_fails "an unknown verb" 2 "kms admin: unknown verb 'frob'" adm frob
check_fails "recover without --recovery-key" 2 "kms admin recover: --recovery-key FILE is required" adm recover
check_fails "--kms, --expect, --key and --cert are required" 2 "kms admin: --kms HOST:PORT, --expect KMS_POLICY.json, --key" \
  "$INITRA" kms admin --kms 127.0.0.1:1 secret list
printf '[{"isv_prod_id": 0}]' >"$T/expect-nothing.json"
check_fails "--expect must pin MRENCLAVE or MRSIGNER" 2 "--expect .*expect-nothing.json: \[0\]: an allowed identity must name mr_enclave or mr_signer.* the KMS's MRENCLAVE" \
  "$INITRA" kms admin --kms 127.0.0.1:1 --expect "$T/expect-nothing.json" --key "$T/admin.key" --cert "$T/admin.crt" secret list
check_fails "an unreadable collateral names the option" 2 "cannot verify the KMS \(--collateral or --pccs, --trust-root\): .*none.json: cannot open" \
  adm secret list
check_fails "a secret file that does not exist" 2 "secret put: --file .*/nope: cannot open" adm secret put k --file "$T/nope"
printf '{"k": 5}' >"$T/bad-secrets.json"
check_fails "import secrets: a bad secret_config.json, before any connection" 2 "import secrets: .*bad-secrets.json: k: the value is not a string of base64" \
  adm import secrets "$T/bad-secrets.json"
"$INITRA" kms admin keygen --out "$T/other" >/dev/null
check_fails "a key that is not the certificate's" 2 "the admin certificate and key \(--cert, --key\): .*private key does not belong" \
  "$INITRA" kms admin --kms 127.0.0.1:1 --expect "$T/expect-zero.json" --key "$T/other.key" --cert "$T/admin.crt" \
  --collateral "$T/none.json" secret list
"$INITRA" kms aecs-admin --store "$T/aecs.json" register-service svc1 >/dev/null
cat >"$T/aecs-spec.yaml" <<'EOF'
kind: SecretPolicy
secrets:
- spec:
    name: k1
    type: SECRET_TYPE_IMPORT_DATA
    service: svc1
    policy:
      enclaveMatchAnyRules:
      - mrsigner: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
        user_data: "AB"
  data: password-test
EOF
"$INITRA" kms aecs-admin --store "$T/aecs.json" create-secret --file "$T/aecs-spec.yaml" >/dev/null
check_fails "import aecs: a rule initra cannot express is named, before any connection" 2 \
  "import aecs: .*aecs.json: svc1/k1: policy\[0\]: hex_user_data \"AB\" has no equivalent in an initra policy" \
  adm import aecs "$T/aecs.json"
printf '{"secrets": ' >"$T/bad-policy.json"
check_fails "policy set: a policy file that is not JSON" 2 "policy set: .*bad-policy.json:1:.*not valid JSON" \
  adm policy set default "$T/bad-policy.json"

# 3. A KMS enclave that fails --expect is refused in the handshake: nothing is sent (today's GRPC-RATLS
# KMS; the refusal is the admin's, so it holds whatever the KMS would do with the call).
plan 6
sim_platform
printf 's3cr3t' >"$T/pw"
secrets_conf "$T/secret_config.json" demo_key="$T/pw"
printf '[{"mr_signer": "%064d"}]' 0 >"$T/dynamic_config.json"
grpc_kms_start  # KMS_MRE, PORT, KMS_PID; one check
trap 'kill $KMS_PID 2>/dev/null' EXIT
LINES=$(wc -l <"$T/kms.log")
printf '[{"mr_enclave": "%064d"}]' 1 >"$T/expect-other.json"
check_fails "a KMS with another MRENCLAVE: refused before anything was sent, naming the field" 1 \
  "KMS 127.0.0.1:$PORT refused before anything was sent: .*mr_enclave is $KMS_MRE, the entry requires 0{63}1" \
  "$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$T/expect-other.json" --key "$T/admin.key" --cert "$T/admin.crt" \
  --trust-root "$T/sim-root.der" --collateral "$T/collateral.json" secret put refused_secret --file "$T/value"
sleep 0.3
tail -n +$((LINES + 1)) "$T/kms.log" | grep -qi 'refused_secret\|admin\|asked' \
  && not_ok "the KMS log shows a call: $(tail -3 "$T/kms.log")" || ok "the KMS log shows no call"
# --expect in Occlum's format (dynamic_config.json) works the same: another MRENCLAVE is refused before
# sending; the KMS's own MRENCLAVE passes our check (what happens next is the KMS's: this one has no
# admins, so it refuses the admin, never "refused before anything was sent").
occlum_expect() {
  $PY - "$1" "$2" <<'PYX'
import json, sys
json.dump({"verify_mr_enclave": "on", "verify_mr_signer": "off", "verify_isv_prod_id": "off", "verify_isv_svn": "off",
           "verify_config_svn": "off", "verify_enclave_debuggable": "on",
           "sgx_mrs": [{"mr_enclave": sys.argv[2], "mr_signer": "", "isv_prod_id": 0, "isv_svn": 0, "config_svn": 0,
                        "debuggable": False}]}, open(sys.argv[1], "w"))
PYX
}
occlum_expect "$T/expect-occlum-other.json" "$(printf '%064d' 2)"
check_fails "--expect in Occlum's format: another MRENCLAVE refused before sending" 1 \
  "refused before anything was sent: .*mr_enclave" \
  "$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$T/expect-occlum-other.json" --key "$T/admin.key" --cert "$T/admin.crt" \
  --trust-root "$T/sim-root.der" --collateral "$T/collateral.json" secret list
occlum_expect "$T/expect-occlum.json" "$KMS_MRE"
"$INITRA" kms admin --kms "127.0.0.1:$PORT" --expect "$T/expect-occlum.json" --key "$T/admin.key" --cert "$T/admin.crt" \
  --trust-root "$T/sim-root.der" --collateral "$T/collateral.json" secret list >"$T/o3" 2>"$T/e3"
[ $? = 1 ] && ! grep -q 'refused before anything was sent' "$T/e3" && grep -q '^initra: kms admin ListSecrets: ' "$T/e3" \
  && ok "the KMS's own MRENCLAVE passes --expect (the KMS answers: $(cut -c1-90 "$T/e3"))" || not_ok "right --expect: $(cat "$T/e3")"
stop_server "the KMS is still serving" "$KMS_PID" "$T/kms.log"

# 4. End to end with the sealed store (issue 17): needs the Admin service in the KMS and `initra run
# --host-dir` (the store at /host/kms.db lives on the host).
if [ ! -f src/kms/admin.c ] || ! "$INITRA" run --help 2>&1 | grep -q -- '--host-dir'; then
  skip "end to end: the KMS's Admin service (src/kms/admin.c) and initra run --host-dir are not in this tree yet"
  exit 0
fi
. tests/kms_admin_e2e.sh
