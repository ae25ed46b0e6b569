# initra kms aecs-admin: a store built from an AECS-style YAML spec and a JSON spec (import data,
# generated AES key, generated RSA key pair in AECS's JSON form), 0600 and valid JSON; list and
# destroy-secret; each bad input a one-line error with the store left byte-for-byte unchanged.
. tests/lib.sh
plan 46

ADMIN="$INITRA kms aecs-admin"
S="$T/store.json"
adm() { $ADMIN --store "$S" "$@"; }

check "register-service creates the store" adm register-service service1
check_eq "store mode 0600" "$(stat -c %a "$S")" "600"
check "register a second service" adm register-service other.svc-2

cat >"$T/spec.yaml" <<'EOF'
apiVersion: v1
kind: SecretPolicy
secrets:
- spec:
    name: demo_key
    type: SECRET_TYPE_IMPORT_DATA
    service: service1
    readonly: "true"
    share: "public"
    policy:
      enclaveMatchAnyRules:
      - mrenclave: ""
        mrsigner: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
        prodID: "1234"
        minIsvSvn: "0"
        user_data: ""
        spid: ""
        debug_disabled: "true"
  data: password-test
- spec:
    name: aes_key
    type: SECRET_TYPE_AES256_KEY
    service: service1
    policy:
      enclaveMatchAnyRules:
      - mrsigner: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
- spec:
    name: rsa_key
    type: SECRET_TYPE_RSA_KEY_PAIR
    service: service1
    policy:
      enclaveMatchAnyRules:
      - mrsigner: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
    params:
    - key: "pkcs_type"
      value: "pkcs8"
    - key: "bit_length"
      value: 2048
EOF
check "create-secret from the AECS-style YAML spec" adm create-secret --file "$T/spec.yaml"
check_eq "store still 0600 after rewrite" "$(stat -c %a "$S")" "600"
python3 - "$S" >"$T/py.out" 2>&1 <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
assert s["version"] == 1 and s["services"] == ["service1", "other.svc-2"], s["services"]
sec = {x["name"]: x for x in s["secrets"]}
d = sec["demo_key"]
assert d["type"] == "IMPORT_DATA" and d["data"] == "password-test", d
assert d["policy"] == [{"hex_signer": "CD" * 32, "hex_prod_id": "1234", "str_min_isvsvn": "0", "bool_debug_disabled": "true"}], d["policy"]
a = sec["aes_key"]
assert a["type"] == "AES256_KEY" and re.fullmatch("[0-9A-F]{64}", a["data"]), a
r = sec["rsa_key"]
kp = json.loads(r["data"])
assert list(kp) == ["privateKey", "publicKey"], list(kp)
assert kp["privateKey"].startswith("-----BEGIN PRIVATE KEY-----") and kp["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
open(sys.argv[1] + ".priv.pem", "w").write(kp["privateKey"])
open(sys.argv[1] + ".pub.pem", "w").write(kp["publicKey"])
print("ok")
PY
check_eq "store content: import data, policy normalised, 64 uppercase hex AES key, RSA pair {privateKey, publicKey}" \
  "$(cat "$T/py.out")" "ok"
openssl pkey -in "$S.priv.pem" -pubout -out "$T/derived.pub" 2>"$T/err" && cmp -s "$T/derived.pub" "$S.pub.pem" \
  && ok "openssl: the RSA private key matches its public key" || not_ok "RSA key pair mismatch: $(cat "$T/err")"
openssl rsa -in "$S.priv.pem" -noout -text 2>/dev/null | grep -q "Private-Key: (2048 bit" \
  && ok "RSA key pair is 2048 bits" || not_ok "RSA key size"

cat >"$T/spec.json" <<'EOF'
{"kind": "SecretPolicy", "secrets": [
  {"spec": {"name": "k2", "service": "other.svc-2", "type": "SECRET_TYPE_RSA_KEY_PAIR",
            "policy": {"enclaveMatchAnyRules": [{"hex_ta_measurement": "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"}]}}}]}
EOF
check "create-secret from a JSON spec" adm create-secret --file "$T/spec.json"
python3 -c "
import json,sys
s=json.load(open('$S'))
k=[x for x in s['secrets'] if x['name']=='k2'][0]
kp=json.loads(k['data'])
assert kp['privateKey'].startswith('-----BEGIN RSA PRIVATE KEY-----') and kp['publicKey'].startswith('-----BEGIN RSA PUBLIC KEY-----')
" 2>"$T/err" && ok "RSA_KEY_PAIR without pkcs_type: PKCS#1 PEMs" || not_ok "PKCS#1 pair: $(cat "$T/err")"

check "list" adm list
grep -q "^service service1 (3 secrets)" "$T/out" && grep -q "demo_key  IMPORT_DATA  13 bytes  policy: 1 rule" "$T/out" \
  && ok "list shows services, secrets, types and sizes" || not_ok "list output: $(cat "$T/out")"
grep -q "password-test" "$T/out" && not_ok "list prints a secret value" || ok "list never prints secret values"

# Bad input: one line, nothing written.
cp "$S" "$T/before"
same() { cmp -s "$S" "$T/before" && ok "$1: store unchanged" || not_ok "$1: store changed"; }
check_fails "forbidden character in a service name" 2 "service name \"bad/name\" has the forbidden character '/'" \
  adm register-service bad/name
same "bad service name"
long=$(python3 -c 'print("a"*256)')
check_fails "256-character name" 2 "is 256 characters; at most 255" adm register-service "$long"
check_fails "service registered twice" 1 "service \"service1\" is already registered" adm register-service service1
same "duplicate service"
sed 's/name: demo_key/name: "demo key"/' "$T/spec.yaml" >"$T/bad1.yaml"
check_fails "forbidden character in a secret name" 2 "bad1.yaml: secrets\[0\]\.spec: secret name \"demo key\" has the forbidden character ' '" \
  adm create-secret --file "$T/bad1.yaml"
big=$(python3 -c 'print("x"*10241)')
printf 'kind: SecretPolicy\nsecrets:\n- spec: {name: big, type: SECRET_TYPE_IMPORT_DATA, service: service1, policy: {enclaveMatchAnyRules: [{mrsigner: cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd}]}}\n  data: %s\n' "$big" >"$T/big.yaml"
check_fails "import data over 10240 bytes" 2 "secrets\[0\]\.data: import data is 10241 bytes; AECS allows at most 10240" \
  adm create-secret --file "$T/big.yaml"
same "oversized import data"
ok10240=$(python3 -c 'print("x"*10240)')
printf 'kind: SecretPolicy\nsecrets:\n- spec: {name: big, type: SECRET_TYPE_IMPORT_DATA, service: service1, policy: {enclaveMatchAnyRules: [{mrsigner: cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd}]}}\n  data: %s\n' "$ok10240" >"$T/max.yaml"
cp "$S" "$T/keep"; check "import data of exactly 10240 bytes accepted" adm create-secret --file "$T/max.yaml"; cp "$T/keep" "$S"
sed 's/service: service1/service: nosuch/' "$T/spec.yaml" >"$T/unknown.yaml"
check_fails "unknown service" 1 "service \"nosuch\" is not registered; run .initra kms aecs-admin register-service nosuch. first" \
  adm create-secret --file "$T/unknown.yaml"
same "unknown service"
check_fails "secret created twice (all or nothing)" 1 "already has a secret \"demo_key\".*nothing was written" \
  adm create-secret --file "$T/spec.yaml"
same "duplicate secret"
sed 's/SECRET_TYPE_AES256_KEY/SECRET_TYPE_CERTIFICATE/' "$T/spec.yaml" >"$T/cert.yaml"
check_fails "unsupported type" 2 "secrets\[1\]\.spec\.type: \"SECRET_TYPE_CERTIFICATE\" is not supported" \
  adm create-secret --file "$T/cert.yaml"
sed 's/prodID: "1234"/prodID: "0x4d2"/' "$T/spec.yaml" >"$T/prod.yaml"
check_fails "hex prodID refused" 2 "enclaveMatchAnyRules: \[0\]: hex_prod_id: \"0x4d2\" is not a decimal number" \
  adm create-secret --file "$T/prod.yaml"
sed 's/mrenclave: ""/mrenclav: ""/' "$T/spec.yaml" >"$T/typo.yaml"
check_fails "unknown rule key" 2 "unknown key \"mrenclav\"" adm create-secret --file "$T/typo.yaml"
sed 's/mrsigner: "[cd]*"/mrsigner: ""/; s/prodID: "1234"/prodID: ""/; s/minIsvSvn: "0"/minIsvSvn: ""/; s/debug_disabled: "true"/debug_disabled: ""/' "$T/spec.yaml" >"$T/empty.yaml"
check_fails "a rule whose fields are all empty (it would match any enclave)" 2 \
  "empty.yaml: secrets\[0\]\.spec\.policy\.enclaveMatchAnyRules: \[0\]: every field of the entry is empty, so it would match any enclave; set hex_ta_measurement \(mrenclave\) or hex_signer \(mrsigner\)" \
  adm create-secret --file "$T/empty.yaml"
printf 'kind: SecretPolicy\nsecrets: &a\n- spec: *a\n' >"$T/alias.yaml"
check_fails "YAML aliases refused" 2 "alias.yaml: line [0-9]+: YAML (anchors|aliases) are not supported" adm create-secret --file "$T/alias.yaml"
printf 'kind: SecretPolicy\nsecrets: [\n' >"$T/syntax.yaml"
check_fails "YAML syntax error names the line" 2 "syntax.yaml: line [0-9]+: YAML: " adm create-secret --file "$T/syntax.yaml"
same "bad specs"
check_fails "destroy an unknown secret" 1 "service \"service1\" has no secret \"nosuch\"" adm destroy-secret service1 nosuch
check_fails "destroy in an unknown service" 1 "service \"nosuch\" is not registered" adm destroy-secret nosuch demo_key
same "bad destroy"

# A store that is not valid: say what and where.
printf '{"version": 1, "services": ["s"], "secrets": [}' >"$T/broken.json"
check_fails "store not JSON" 2 "broken.json:1:[0-9]+: not valid JSON" $ADMIN --store "$T/broken.json" list
printf '{"version": 1, "services": ["s"], "secrets": [{"service": "s", "name": "k", "type": "AES256_KEY", "data": "abc", "policy": []}]}' >"$T/bad2.json"
check_fails "store with a malformed AES key" 2 "bad2.json: secrets\[0\]\.data: an AES256_KEY is 64 uppercase hex digits" \
  $ADMIN --store "$T/bad2.json" list
printf '{"version": 1, "services": ["s"], "secrets": [{"service": "t", "name": "k", "type": "IMPORT_DATA", "data": "x", "policy": []}]}' >"$T/bad3.json"
check_fails "store with a secret of an unregistered service" 2 "bad3.json: secrets\[0\]\.service: \"t\" is not a registered service" \
  $ADMIN --store "$T/bad3.json" list
printf '{"version": 1, "services": ["s"], "secrets": [{"service": "s", "name": "k", "type": "IMPORT_DATA", "data": "x", "policy": [{"hex_signer": ""}]}]}' >"$T/bad4.json"
check_fails "store holding a rule whose fields are all empty" 2 "bad4.json: secrets\[0\]\.policy: \[0\]: every field of the entry is empty" \
  $ADMIN --store "$T/bad4.json" list
cp "$T/bad3.json" "$T/bad3.copy"
check_fails "register-service on an invalid store" 2 "bad3.json: secrets\[0\]" $ADMIN --store "$T/bad3.json" register-service t
cmp -s "$T/bad3.json" "$T/bad3.copy" && ok "an invalid store is not rewritten" || not_ok "invalid store rewritten"
check_fails "missing store for list" 2 "nosuch.json" $ADMIN --store "$T/nosuch.json" list

check "destroy-secret" adm destroy-secret service1 demo_key
adm list >"$T/list2"
grep -q demo_key "$T/list2" && not_ok "destroyed secret still listed" || ok "destroyed secret gone"
check_eq "store still 0600" "$(stat -c %a "$S")" "600"
