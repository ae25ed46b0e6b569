# The GRPC-RATLS KMS on the sealed store (issue 17): a KMS enclave whose measured configuration names
# {"sqlite": "/host/kms.db"} (the launcher's --host-dir) and an admin key; secrets and namespace policies
# put through the Admin service (tests/helpers/kms_admin_peer, plain mutual TLS); application enclaves
# fetch them with init. Versions by CONFIGSVN, NOT_FOUND vs PERMISSION_DENIED, a refused admin key, the
# audit log, audit failure, a damaged row, a restart with nothing lost, a store sealed elsewhere.
. tests/lib.sh
plan 62
. scripts/instances.sh
PEER="$(dirname "$INITRA")/../helpers/kms_admin_peer"
sim_platform
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT

SIGNER=$(probe_signer "$T/probe")
ADM=$("$PEER" keygen "$T/admin") && [ ${#ADM} = 64 ] || { not_ok "admin key"; exit 1; }
OTHER=$("$PEER" keygen "$T/other")
mkdir -p "$T/host"
openssl genpkey -algorithm X25519 -out "$T/rec.key" 2>/dev/null && openssl pkey -in "$T/rec.key" -pubout -out "$T/rec.pub"
CONF="{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$ADM\"], \"recovery_key\": \"/etc/kms/rec.pub\"}"
NOREC="{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$ADM\"]}"
kms_instance "$T/kms" "$CONF" "$T/rec.pub" || { not_ok "KMS instance builds"; exit 1; }
KMS_MRE=$("$INITRA" print mrenclave "$T/kms" | field)
PORT=$(free_port)
KMS_RUN_ARGS="--host-dir $T/host"
start_kms() {
  KMS_RUN_ARGS="--host-dir $T/host" kms_start "$T/kms" "$PORT" "$T/kms.log" && PIDS="$PIDS $KMS_PID"
}
start_kms && ok "KMS on the sealed store starts without clients/policy" || { not_ok "KMS starts: $(tail -3 "$T/kms.log")"; exit 1; }
grep -q 'serving initra.kms.v1.Admin on the same port (1 admins)' "$T/kms.log" && ok "the Admin service is on the KMS's port" \
  || not_ok "Admin service: $(tail -3 "$T/kms.log")"
[ -s "$T/host/kms.db" ] && ok "the database is on the host directory" || not_ok "no $T/host/kms.db: $(ls -la "$T/host")"
admin() { "$PEER" "127.0.0.1:$PORT" "$T/admin.key" "$T/admin.crt" "$@"; }
# fetch_refused DESC KEY PATTERN / fetch_ok DESC KEY: an application enclave (CONFIGSVN ${SVN:-1}, pinning the
# KMS ${MRE:-$KMS_MRE}) runs init for KEY: refused with one line matching PATTERN and nothing written, or
# written (exit 0).
nf=0
fetch_try() {
  nf=$((nf + 1))
  init_conf "$T/cf$nf.json" "$PORT" "${MRE:-$KMS_MRE}" "$1=/etc/keys/k"
  try_init "f$nf" "$T/cf$nf.json" --config-svn "${SVN:-1}" >"$T/of$nf"
}
fetch_refused() { fetch_try "$2"; expect_refusal "$1" "$T/of$nf" "$3"; }
fetch_ok() { fetch_try "$2"; grep -q '^rc=0$' "$T/of$nf" && ok "$1" || not_ok "$1: $(cat "$T/of$nf")"; }

# Namespace "default": production enclaves of this signer; namespace "tenant": per-secret, only "open".
printf '[{"name": "apps", "mr_signer": "%s"}]' "$SIGNER" >"$T/pol-default.json"
printf '{"identities": {"apps": {"mr_signer": "%s"}}, "secrets": {"open": ["apps"]}}' "$SIGNER" >"$T/pol-tenant.json"
check "policy set default (client policy)" admin policy default "$T/pol-default.json"
check "policy set tenant (per-secret)" admin policy tenant "$T/pol-tenant.json"
printf '[{"name": "any"}]' >"$T/pol-any.json"
admin policy x "$T/pol-any.json" >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'INVALID_ARGUMENT.*namespace x policy.*mr_enclave or mr_signer' "$T/e" && ok "a policy that pins nothing is refused" \
  || not_ok "unpinned policy: $(cat "$T/o" "$T/e")"
printf '[{"name": ' >"$T/pol-bad.json"
admin policy x "$T/pol-bad.json" >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'INVALID_ARGUMENT.*namespace x policy:1:[0-9]*: not valid JSON' "$T/e" && ok "bad policy JSON: line and column" \
  || not_ok "bad policy JSON: $(cat "$T/e")"

# 1. Put through Admin, fetched byte-exact by an application enclave.
head -c 100 /dev/urandom >"$T/bin100"
check_eq "put demo_key" "$(admin put default demo_key "$T/bin100")" "version 1"
printf 'tenant-open' >"$T/open"; printf 'tenant-closed' >"$T/closed"
admin put tenant open "$T/open" >/dev/null && admin put tenant closed "$T/closed" >/dev/null
init_conf "$T/c1.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key tenant/open=/etc/keys/open
try_init a1 "$T/c1.json" --config-svn 1 >"$T/o1"
grep -q '^rc=0$' "$T/o1" && ok "init fetches demo_key and tenant/open" || not_ok "init: $(cat "$T/o1")"
"$INITRA" run "$T/a1" --config-svn 1 -- /bin/busybox sh -c '/bin/initra init && busybox sha256sum /etc/keys/demo_key /etc/keys/open' >"$T/o1b" 2>&1
check_eq "demo_key arrives byte-exact" "$(grep demo_key "$T/o1b" | cut -c1-64)" "$(sha256sum <"$T/bin100" | cut -c1-64)"
check_eq "tenant/open arrives byte-exact" "$(grep /open "$T/o1b" | cut -c1-64)" "$(printf tenant-open | sha256sum | cut -c1-64)"
grep -q 'asked for "demo_key": released version 1 (100 bytes)' "$T/kms.log" && ok "KMS log: released version 1" \
  || not_ok "log: $(grep demo_key "$T/kms.log" | tail -2)"

# 2. NOT_FOUND vs PERMISSION_DENIED.
fetch_refused "unknown name: NOT_FOUND" nope 'the KMS has no key named "nope"'
fetch_refused "no rule in the namespace policy: PERMISSION_DENIED" tenant/closed 'refused by the KMS for key "tenant/closed"'
grep -q 'asked for "tenant/closed": denied: namespace "tenant" policy' "$T/kms.log" && ok "KMS log names the namespace policy" \
  || not_ok "log: $(grep closed "$T/kms.log" | tail -1)"
fetch_refused "a namespace without a policy: no one reads" nopol/x 'refused by the KMS for key "nopol/x"'

# 3. Versions with KSS semantics: CONFIGSVN 3 reads the version for 3, 2 the one for 2, 0 none.
for v in 1 2 3; do printf "rot-v$v" >"$T/rot$v"; admin put default rot "$T/rot$v" "$v" >/dev/null; done
for svn in 1 2 3; do
  init_conf "$T/cv.json" "$PORT" "$KMS_MRE" rot=/etc/keys/rot
  app_instance "$T/av$svn" "$T/cv.json" >/dev/null
  got=$("$INITRA" run "$T/av$svn" --config-svn $svn -- /bin/busybox sh -c '/bin/initra init 2>/dev/null && busybox cat /etc/keys/rot' 2>&1 | tail -1)
  check_eq "CONFIGSVN $svn reads rot's version for $svn" "$got" "rot-v$svn"
done
SVN=0; fetch_refused "CONFIGSVN 0: no version for it (PERMISSION_DENIED)" rot 'refused by the KMS for key "rot"'; SVN=1

# 4. A key not listed under admins: refused and audited; the audit has a record per decision.
"$PEER" "127.0.0.1:$PORT" "$T/other.key" "$T/other.crt" list >"$T/o" 2>"$T/e"
[ $? = 1 ] && ! grep -q . "$T/o" && ok "a key not listed under admins is refused" || not_ok "other key: $(cat "$T/o" "$T/e")"
admin audit verify >"$T/audit"
grep -q "admin key $OTHER is not listed under admins" "$T/audit" && ok "the refused admin key is audited" \
  || not_ok "audit of the refused key: $(grep -c . "$T/audit") lines"
grep -q '"name":"demo_key".*"decision":"released"' "$T/audit" && grep -q '"name":"closed".*"decision":"denied"' "$T/audit" \
  && grep -q '"name":"nope".*"decision":"not_found"' "$T/audit" && ok "release, denial and not-found are audited" \
  || not_ok "audit records: $(head -c 600 "$T/audit")"
head -1 "$T/audit" | grep -q '^verified [0-9]' && ok "audit verify: $(head -1 "$T/audit")" || not_ok "audit verify: $(head -1 "$T/audit")"
grep -q "$(base64 -w0 "$T/bin100" | cut -c1-40)" "$T/audit" "$T/kms.log" && not_ok "a value in the audit or log" || ok "no value in the audit or the log"

# 4b. The Admin service's other calls, and who may call it.
check_eq "generate aes256: 32 bytes" "$(admin generate default k1 aes256)" "version 1 size 32"
check_eq "generate random:16" "$(admin generate default k2 random:16)" "version 1 size 16"
admin generate default k3 ec-p256 | grep -Eq '^version 1 size [0-9]{3}$' && admin generate default k4 rsa-3072 | grep -Eq '^version 1 size [0-9]{4}$' \
  && ok "generate ec-p256 and rsa-3072 (PEM private keys)" || not_ok "generate keys"
admin generate default k5 des >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'INVALID_ARGUMENT.*type: "des" is not aes256, random:N, ec-p256 or rsa-3072' "$T/e" && ok "generate: an unknown type is refused" \
  || not_ok "generate des: $(cat "$T/e")"
: >"$T/empty"
admin put default e "$T/empty" >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'INVALID_ARGUMENT.*value: 0 bytes, not 1 byte to 1 MiB' "$T/e" && ok "put: an empty value is refused" || not_ok "empty put: $(cat "$T/e")"
admin list >"$T/list"
grep -qx 'default demo_key v1 bytes 100' "$T/list" && grep -qx 'policy tenant' "$T/list" && ! grep -q "$(base64 -w0 "$T/bin100" | cut -c1-20)" "$T/list" \
  && ok "list: names, versions, types, sizes, policy namespaces; no value" || not_ok "list: $(cat "$T/list")"
check_eq "delete every version of k2" "$(admin delete default k2 0)" "deleted 1"
openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$T/kms.pem" 2>/dev/null
/usr/bin/python3 tests/helpers/grsecret.py client "127.0.0.1:$PORT" demo_key --root "$T/kms.pem" --override "initra RA-TLS" \
  --cert "$T/admin.crt" --key "$T/admin.key" >"$T/o" 2>&1
grep -q 'ERROR UNAUTHENTICATED' "$T/o" && ! grep -q "$(base64 -w0 "$T/bin100" | cut -c1-20)" "$T/o" \
  && ok "GetSecret with the admin certificate is refused (no evidence)" || not_ok "admin GetSecret: $(cat "$T/o")"
admin audit | grep -q '"name":"demo_key".*"decision":"denied","reason":"no verifiable enclave evidence"' \
  && ok "... and audited" || not_ok "admin GetSecret audit: $(admin audit | grep evidence | tail -1)"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/enc.key" --cert-out "$T/enc.pem"
"$PEER" "127.0.0.1:$PORT" "$T/enc.key" "$T/enc.pem" list >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'PERMISSION_DENIED.*admin key [0-9a-f]\{64\} is not listed under admins in the KMS configuration' "$T/e" \
  && ok "an attested enclave is no admin: PERMISSION_DENIED" || not_ok "RA-TLS admin: $(cat "$T/e")"
admin audit | grep -q '"op":"list".*"decision":"denied"' && ok "the refused Admin call is audited" \
  || not_ok "audit of the refused call: $(admin audit | tail -2)"
printf '{"store": {"sqlite": "%s/dev.db"}}' "$T" >"$T/dev.json"
check_fails "no quote provider: the sealed store is refused" 1 'kms: store.sqlite .*/dev.db: the sealed store needs an enclave.s seal key' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --config "$T/dev.json" --insecure-no-attestation

# 5. Restart: nothing lost (the database is on the host directory).
stop_server "the KMS stops on SIGTERM" "$KMS_PID" "$T/kms.log"
start_kms && ok "the KMS restarts on the same store" || not_ok "restart: $(tail -3 "$T/kms.log")"
"$INITRA" run "$T/a1" --config-svn 1 -- /bin/busybox sh -c '/bin/initra init && busybox sha256sum /etc/keys/demo_key' >"$T/o6" 2>&1
[ "$(tail -1 "$T/o6" | cut -c1-64)" = "$(sha256sum <"$T/bin100" | cut -c1-64)" ] && ok "after the restart demo_key is still served byte-exact" \
  || not_ok "after the restart: $(cat "$T/o6"; tail -4 "$T/kms.log")"
check_eq "after the restart the versions are all there" "$(admin list default | grep -c '^default rot v')" 3
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# 6. A store sealed elsewhere is refused at start with the reason: another signer, another platform.
INITRA_SIGN_KEY_DIR=$T/keys2 kms_instance "$T/kms2" "$NOREC" || not_ok "second signer's KMS builds"
"$INITRA" run "$T/kms2" --host-dir "$T/host" -- /bin/initra kms serve --listen 127.0.0.1:0 >"$T/o7" 2>&1
[ $? != 0 ] && grep -qi 'mrsigner' "$T/o7" && ! grep -q serving "$T/o7" && ok "another signer's KMS refuses the store: $(grep initra: "$T/o7" | cut -c1-160)" \
  || not_ok "another signer: $(cat "$T/o7")"
INITRA_SIM_DIR=$T/sim2 "$INITRA" sim init >/dev/null
kms_instance "$T/kms3" "$NOREC"
INITRA_SIM_DIR=$T/sim2 "$INITRA" run "$T/kms3" --host-dir "$T/host" -- /bin/initra kms serve --listen 127.0.0.1:0 >"$T/o8" 2>&1
[ $? != 0 ] && grep -qi 'platform' "$T/o8" && ! grep -q serving "$T/o8" && ok "another platform's KMS refuses the store: $(grep initra: "$T/o8" | cut -c1-160)" \
  || not_ok "another platform: $(cat "$T/o8")"

# 7. A flipped ciphertext byte: that secret is refused with its name in the log, the others are served.
/usr/bin/python3 - "$T/host/kms.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ct, = db.execute("SELECT ct FROM secrets WHERE ns = 'default' AND name = 'demo_key'").fetchone()
ct = bytearray(ct); ct[5] ^= 1
db.execute("UPDATE secrets SET ct = ? WHERE ns = 'default' AND name = 'demo_key'", (bytes(ct),)); db.commit()
PY
start_kms || not_ok "restart after the edit: $(tail -3 "$T/kms.log")"
fetch_refused "a flipped ciphertext byte: DATA_LOSS, nothing written" demo_key 'key "demo_key".*DATA_LOSS'
grep -q 'asked for "demo_key": error: .*default.*demo_key.*version 1' "$T/kms.log" && ok "the KMS log names the damaged secret and version" \
  || not_ok "damaged log: $(grep demo_key "$T/kms.log" | tail -1)"
fetch_ok "the other secrets are still served" tenant/open
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# 8. The audit cannot be written (the host's disk is full): nothing released, UNAVAILABLE; space again: served.
mkdir -p "$T/small"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
  plan 5
  trap 'for p in $PIDS; do kill $p 2>/dev/null; done; umount "$T/small" 2>/dev/null' EXIT
  KMS_RUN_ARGS="--host-dir $T/small" kms_start "$T/kms" "$PORT" "$T/kms8.log" && PIDS="$PIDS $KMS_PID"
  admin policy default "$T/pol-default.json" && admin put default small "$T/open" >/dev/null \
    && ok "a KMS on a 2 MiB tmpfs takes a policy and a secret" || not_ok "small store: $(tail -2 "$T/kms8.log")"
  dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null
  export INIT_DEADLINE_MS=3000
  fetch_refused "disk full: the audit record fails, nothing released (UNAVAILABLE)" small 'UNAVAILABLE'
  unset INIT_DEADLINE_MS
  grep -q 'asked for "small": audit record not written .*answered UNAVAILABLE, nothing released' "$T/kms8.log" \
    && ok "the KMS log says the audit failed and nothing was released" || not_ok "audit failure log: $(tail -3 "$T/kms8.log")"
  rm -f "$T/small/fill"
  fetch_ok "space again: the store is readable and the secret is served" small
  stop_server "the KMS survived the full disk" "$KMS_PID" "$T/kms8.log"
  umount "$T/small"
else
  skip "audit failure on a full disk: this machine cannot mount a tmpfs"
fi

# 8b. A sealed store without "admins": every Admin call is refused.
mkdir -p "$T/host4"
kms_instance "$T/kms4" '{"store": {"sqlite": "/host/kms.db"}}' || not_ok "KMS without admins builds"
KMS_RUN_ARGS="--host-dir $T/host4" kms_start "$T/kms4" "$PORT" "$T/kms4.log" && PIDS="$PIDS $KMS_PID"
"$PEER" "127.0.0.1:$PORT" "$T/enc.key" "$T/enc.pem" list >"$T/o" 2>"$T/e"
[ $? = 1 ] && grep -q 'PERMISSION_DENIED.*no admins are configured' "$T/e" && ok "no admins configured: Admin calls are refused" \
  || not_ok "no admins: $(cat "$T/e")"
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# 8c. The configuration's "clients" policy AND the namespace's: both must admit the enclave.
mkdir -p "$T/host5"
clients_conf "$T/dynamic_config.json" "$SIGNER" 2
kms_instance "$T/kms5" "{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$ADM\"], \"clients\": \"/etc/kms/dynamic_config.json\"}" \
  "$T/dynamic_config.json" || not_ok "KMS with clients and a store builds"
KMS_RUN_ARGS="--host-dir $T/host5" kms_start "$T/kms5" "$PORT" "$T/kms5.log" && PIDS="$PIDS $KMS_PID"
admin policy default "$T/pol-default.json" && admin put default both "$T/open" >/dev/null
MRE=$("$INITRA" print mrenclave "$T/kms5" | field)
fetch_refused "the namespace admits CONFIGSVN 1, the clients policy does not: denied" both 'refused by the KMS for key "both"'
grep -q 'asked for "both": denied: .*config_svn is 1, the entry requires exactly 2' "$T/kms5.log" && ok "the log names the clients policy's field" \
  || not_ok "clients log: $(grep both "$T/kms5.log" | tail -1)"
SVN=2; fetch_ok "both policies admit CONFIGSVN 2: released" both; SVN=1; MRE=
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# 9. Recovery: the store reaches a KMS of another signer (its recovery key configured): it opens locked,
# fetches get UNAVAILABLE until the admin's Recover, then the secrets are served.
INITRA_SIGN_KEY_DIR=$T/keys2 kms_instance "$T/kmsr" "$CONF" "$T/rec.pub" || not_ok "recovery KMS builds"
KMS_RUN_ARGS="--host-dir $T/host" kms_start "$T/kmsr" "$PORT" "$T/kmsr.log" && PIDS="$PIDS $KMS_PID"
grep -q 'store /host/kms.db is LOCKED (.*): fetches get UNAVAILABLE' "$T/kmsr.log" && ok "another signer's KMS with the recovery key opens the store locked" \
  || not_ok "locked: $(tail -3 "$T/kmsr.log")"
MRE=$("$INITRA" print mrenclave "$T/kmsr" | field)
export INIT_DEADLINE_MS=2000
fetch_refused "locked: nothing released" tenant/open 'UNAVAILABLE: store locked: run .initra kms admin recover.'
unset INIT_DEADLINE_MS
admin recover "$T/rec.key" >"$T/o" 2>"$T/e" && grep -q 'recovered (the store was locked)' "$T/o" && ok "Recover with the recovery private key" \
  || not_ok "recover: $(cat "$T/o" "$T/e")"
fetch_ok "after Recover the secrets are served" tenant/open
stop_server "the recovered KMS stops" "$KMS_PID" "$T/kmsr.log"

# 10. Both protocols on one store: a GRPC-RATLS KMS (with the Admin service) and an AECS KMS, two
# processes on one database; AECS services are namespaces.
mkdir -p "$T/host6"
kms_instance "$T/kmsa" '{"protocol": "aecs", "store": {"sqlite": "/host/kms.db"}}' || not_ok "AECS KMS instance builds"
KMS_RUN_ARGS="--host-dir $T/host6" kms_start "$T/kms" "$PORT" "$T/kms10.log" && PIDS="$PIDS $KMS_PID" && G_PID=$KMS_PID
APORT=$(free_port)
KMS_RUN_ARGS="--host-dir $T/host6" kms_start "$T/kmsa" "$APORT" "$T/kmsa.log" && PIDS="$PIDS $KMS_PID" && A_PID=$KMS_PID
grep -q 'sealed store /host/kms.db: services are its namespaces' "$T/kmsa.log" && ok "an AECS KMS and a GRPC-RATLS KMS serve one store" \
  || not_ok "AECS on the store: $(tail -3 "$T/kmsa.log")"
admin policy app-svc "$T/pol-default.json" >/dev/null && admin put app-svc aeskey "$T/bin100" >/dev/null
AMRE=$("$INITRA" print mrenclave "$T/kmsa" | field)
aecs_init_conf "$T/ca.json" "$APORT" "$AMRE" aeskey=app-svc:/etc/keys/aeskey
app_instance "$T/aa" "$T/ca.json" >/dev/null
"$INITRA" run "$T/aa" --config-svn 1 -- /bin/busybox sh -c '/bin/initra init && busybox sha256sum /etc/keys/aeskey' >"$T/o15" 2>&1
[ "$(tail -1 "$T/o15" | cut -c1-64)" = "$(sha256sum <"$T/bin100" | cut -c1-64)" ] \
  && ok "an AECS client fetches a secret put through the GRPC-RATLS KMS's Admin service, byte-exact" || not_ok "AECS fetch: $(cat "$T/o15")"
grep -q 'asked for app-svc/aeskey: released version 1' "$T/kmsa.log" && ok "the AECS KMS logs the version released" \
  || not_ok "AECS log: $(tail -2 "$T/kmsa.log")"
INIT_DEADLINE_MS=2000 aecs_init_conf "$T/ca2.json" "$APORT" "$AMRE" x=nopol:/etc/keys/x
try_init aa2 "$T/ca2.json" --config-svn 1 >"$T/o16"
expect_refusal "AECS: a service (namespace) without a policy: denied, nothing written" "$T/o16" 'PERMISSION_DENIED|refused'
admin audit >"$T/audit2"
grep -q '"protocol":"aecs".*"ns":"app-svc","name":"aeskey".*"decision":"released"' "$T/audit2" \
  && grep -q '"protocol":"aecs".*"ns":"nopol".*"decision":"denied"' "$T/audit2" \
  && ok "the AECS KMS's decisions are in the shared audit log" || not_ok "AECS audit: $(grep aecs "$T/audit2" | head -3)"
stop_server "the AECS KMS stops" "$A_PID" "$T/kmsa.log"
stop_server "the GRPC-RATLS KMS stops" "$G_PID" "$T/kms10.log"
