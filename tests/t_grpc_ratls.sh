# GRPC-RATLS Init-RA end to end on the simulated platform: a KMS instance and application instances
# launched with `initra run`, real sockets, Occlum's three config files. Every bad input of issue 5
# gives one clear line and nothing is written or released.
. tests/lib.sh
plan 74
. scripts/instances.sh
PY=/usr/bin/python3
GRS="$PY tests/helpers/grsecret.py"
sim_platform

# Secrets of awkward lengths (not multiples of 3) and a 100-byte binary key.
printf 'hunter2' >"$T/pw"; printf 'A' >"$T/one"; printf 'AB' >"$T/two"; printf 'ABCD' >"$T/four"
head -c 100 /dev/urandom >"$T/bin100"
secrets_conf "$T/secret_config.json" demo_key="$T/pw" one="$T/one" two="$T/two" four="$T/four" bin100="$T/bin100"
SIGNER=$("$INITRA" print mrsigner --key "$T/keys/"*.pem 2>/dev/null | field)
[ -n "$SIGNER" ] || { "$INITRA" new "$T/probe" >/dev/null; "$INITRA" build "$T/probe" >/dev/null 2>&1; SIGNER=$("$INITRA" print mrsigner "$T/probe" | field); }
clients_conf "$T/dynamic_config.json" "$SIGNER" 1
grpc_kms_start  # $T/kms serving $T/secret_config.json to $T/dynamic_config.json; KMS_MRE, PORT
trap 'kill $KMS_PID 2>/dev/null' EXIT

# 1. The Occlum flow: /bin/init runs first, fetches every key byte-exact, then the application starts.
init_conf "$T/conf.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key one=/etc/keys/sub/one two=/etc/two \
  four=/etc/four bin100=/keys/bin100
app_instance "$T/app" "$T/conf.json" --init-ra || not_ok "app instance builds"
"$INITRA" run "$T/app" --config-svn 1 -- /bin/busybox sh -c \
  'for f in /etc/keys/demo_key /etc/keys/sub/one /etc/two /etc/four /keys/bin100; do
     echo "$(busybox sha256sum "$f" | cut -c1-64) $(busybox stat -c %a "$f") $f"; done;
   busybox stat -c "%a %n" /etc/keys /etc/keys/sub /keys' >"$T/app.out" 2>"$T/app.err"
check_eq "init and the application run (exit 0)" "$?" 0
for pair in pw:/etc/keys/demo_key one:/etc/keys/sub/one two:/etc/two four:/etc/four bin100:/keys/bin100; do
  src=$T/${pair%%:*} dst=${pair#*:}
  want="$(sha256sum "$src" | cut -c1-64) 600 $dst"
  grep -qx "$want" "$T/app.out" && ok "$dst arrives byte-exact ($(wc -c <"$src") bytes), mode 0600" \
    || not_ok "$dst: want '$want' in: $(cat "$T/app.out" "$T/app.err")"
done
grep -qx '700 /etc/keys' "$T/app.out" && grep -qx '700 /etc/keys/sub' "$T/app.out" && grep -qx '700 /keys' "$T/app.out" \
  && ok "parent directories created 0700" || not_ok "parent directories: $(cat "$T/app.out")"
grep -q 'asked for "bin100": released (100 bytes)' "$T/kms.log" && ok "KMS logs who asked and the decision" || not_ok "KMS log: $(tail -3 "$T/kms.log")"
grep -q 'ratls=occlum+tcg asked for "bin100": released' "$T/kms.log" && ok "init presents Occlum+TCG evidence by default" \
  || not_ok "init's default RA-TLS format: $(grep bin100 "$T/kms.log")"
grep -q "$(base64 -w0 "$T/pw")" "$T/kms.log" "$T/app.err" && not_ok "a secret appears in a log" || ok "no secret in the logs"

# 2. The same enclave launched with another CONFIGSVN: refused by the KMS, the application never starts.
"$INITRA" run "$T/app" --config-svn 2 -- /bin/busybox echo APP-STARTED >"$T/out2" 2>"$T/err2"; rc=$?
[ $rc != 0 ] && ! grep -q APP-STARTED "$T/out2" && grep -q 'this enclave was refused by the KMS for key "demo_key"' "$T/err2" \
  && ok "wrong CONFIGSVN: refused, application not started (exit $rc)" || not_ok "wrong CONFIGSVN: rc=$rc $(cat "$T/err2")"
grep -q 'denied: .*config_svn is 2, the entry requires exactly 1' "$T/kms.log" && ok "KMS log names the field and both values" \
  || not_ok "KMS log: $(tail -2 "$T/kms.log")"

# Failure cases through an instance whose program runs the client itself (try_init, expect_refusal).

# 3. Unknown key: nothing written, although the other key exists.
init_conf "$T/c3.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key nope=/etc/keys/nope
try_init u3 "$T/c3.json" --config-svn 1 >"$T/o3"
expect_refusal "unknown key" "$T/o3" 'the KMS has no key named "nope" \(kms_keys\[1\]\.key'

# 4. The KMS's evidence does not satisfy ra_config (another MRENCLAVE pinned).
init_conf "$T/c4.json" "$PORT" "$(printf '%064d' 0)" demo_key=/etc/keys/demo_key
try_init u4 "$T/c4.json" --config-svn 1 >"$T/o4"
expect_refusal "server evidence refused" "$T/o4" "KMS server 127.0.0.1:$PORT refused: its evidence does not satisfy ra_config: .*mr_enclave is $KMS_MRE"

# 5. Server unreachable: retried with backoff until the deadline, then one line.
DEAD=$(free_port)
(export INIT_DEADLINE_MS=3000; init_conf "$T/c5.json" "$DEAD" "$KMS_MRE" demo_key=/etc/keys/demo_key)
try_init u5 "$T/c5.json" --config-svn 1 >"$T/o5"
expect_refusal "server unreachable" "$T/o5" "KMS server 127.0.0.1:$DEAD unreachable for 3000 ms"

# 6. OCCLUM_INIT_RA_KMS_SERVER overrides kms_server (the file names the dead port, the env the live one).
app_instance "$T/u6" "$T/c5.json" && OCCLUM_INIT_RA_KMS_SERVER=127.0.0.1:$PORT "$INITRA" run "$T/u6" --config-svn 1 -- \
  /bin/busybox sh -c '/bin/initra init && busybox cat /etc/keys/demo_key' >"$T/o6" 2>&1
grep -q hunter2 "$T/o6" && ok "OCCLUM_INIT_RA_KMS_SERVER overrides kms_server" || not_ok "env override: $(cat "$T/o6")"

# 7. Malformed init_ra_conf.json fields: one line naming the field, exit 1, nothing written.
bad_conf "missing kms_keys" 'bad.json: kms_keys: \(missing\)' 'del c["kms_keys"]'
bad_conf "kms_keys not a list" 'kms_keys: "x" is not a non-empty list' 'c["kms_keys"] = "x"'
bad_conf "key path relative" 'kms_keys\[0\].path: "etc/k" is not an absolute file path' 'c["kms_keys"][0]["path"] = "etc/k"'
bad_conf "key path a directory" 'kms_keys\[0\].path: ".*" is a directory' 'c["kms_keys"][0]["path"] = T'
bad_conf "unparseable kms_server" 'kms_server: "localhost" is not HOST:PORT' 'c["kms_server"] = "localhost"'
bad_conf "kms_server port out of range" 'kms_server: "h:70000" is not HOST:PORT' 'c["kms_server"] = "h:70000"'
bad_conf "missing ra_config" 'ra_config: \(missing\) is required' 'del c["ra_config"]'
bad_conf "verify_* value not on/off" 'ra_config: verify_mr_signer: "yes" must be "on" or "off"' 'c["ra_config"]["verify_mr_signer"] = "yes"'
bad_conf "missing verify_* key" 'verify_isv_svn: \(missing\) must be "on" or "off"' 'del c["ra_config"]["verify_isv_svn"]'
bad_conf "empty sgx_mrs" 'sgx_mrs: \[\] must be a non-empty list' 'c["ra_config"]["sgx_mrs"] = []'
bad_conf "bad mr_enclave hex" 'sgx_mrs\[0\].mr_enclave: "12zz" is not 64 hex digits' 'c["ra_config"]["sgx_mrs"][0]["mr_enclave"] = "12zz"'
bad_conf "short mr_enclave (Occlum reads it as zeros)" 'mr_enclave: "abcd" is not 64 hex digits' 'c["ra_config"]["sgx_mrs"][0]["mr_enclave"] = "abcd"'
bad_conf "isv_svn of the wrong type" 'sgx_mrs\[0\].isv_svn: "1" is not an integer' 'c["ra_config"]["sgx_mrs"][0]["isv_svn"] = "1"'
bad_conf "missing sgx_mrs field" 'sgx_mrs\[0\].debuggable: \(missing\) is required' 'del c["ra_config"]["sgx_mrs"][0]["debuggable"]'
bad_conf "not JSON" 'bad.json:1:[0-9]+: not valid JSON' 'c = "{\"kms_server\": "'
bad_conf "unknown initra option" 'initra.retries: 3 is not a known key' 'c["initra"]["retries"] = 3'
bad_conf "pccs_ca without pccs_url" 'initra.pccs_ca: ".*" is set without initra.pccs_url' 'c["initra"].pop("pccs_url", None); c["initra"]["pccs_ca"] = "/etc/pccs.pem"'
bad_conf "pccs_ca not a string" 'initra.pccs_ca: 1 is not a non-empty string' 'c["initra"]["pccs_ca"] = 1'
bad_conf "unknown RA-TLS format" 'initra.ratls_format: "gramine" is not "occlum", "tcg" or "occlum\+tcg"' 'c["initra"]["ratls_format"] = "gramine"'
# initra.ratls_format chooses init's certificate.
$PY - "$T/conf.json" "$T/c8.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["initra"]["ratls_format"] = "occlum"; json.dump(c, open(sys.argv[2], "w"))
PY
try_init u8 "$T/c8.json" --config-svn 1 >"$T/o8"
grep -q '^rc=0$' "$T/o8" && grep -q 'ratls=occlum asked for "bin100": released' "$T/kms.log" \
  && ok "initra.ratls_format \"occlum\": init presents Occlum evidence only" || not_ok "ratls_format occlum: $(cat "$T/o8"; grep bin100 "$T/kms.log")"
bad_conf "accept_any_enclave not a boolean" 'initra.accept_any_enclave: "yes" is not true or false' 'c["initra"]["accept_any_enclave"] = "yes"'
bad_conf "ra_config that pins nothing" 'ra_config: pins nothing: .*to the KMS.s MRENCLAVE' 'c["ra_config"]["verify_mr_enclave"] = "off"'
OCCLUM_INIT_RA_KMS_SERVER=nonsense "$INITRA" init --conf "$T/conf.json" >/dev/null 2>"$T/err7"
grep -q 'environment OCCLUM_INIT_RA_KMS_SERVER: "nonsense" is not HOST:PORT' "$T/err7" && ok "bad OCCLUM_INIT_RA_KMS_SERVER refused" || not_ok "env: $(cat "$T/err7")"
"$INITRA" init --conf "$T/conf.json" >/dev/null 2>"$T/err7"
grep -q 'not inside an enclave' "$T/err7" && ok "init outside an enclave: clear error" || not_ok "outside: $(cat "$T/err7")"

# ---- The KMS against other peers: a Python grpcio client (Debian python3-grpcio) with RA-TLS
# certificates made by `initra sim ratls-cert`, and KMS configuration errors. ----
openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$T/kms-cert.pem" 2>/dev/null
grep -q 'BEGIN CERTIFICATE' "$T/kms-cert.pem" && ok "the KMS presents its RA-TLS certificate" || not_ok "no KMS certificate"
q64() { printf '"%s"' "$(base64 -w0 "$1")"; } # FILE: the KMS's reply form (Occlum's): quoted base64
# Its default certificate (Occlum + TCG) read by models of Occlum's and Gramine's verifiers (issue 12).
GP=$(dirname "$INITRA")/../helpers/gramine_peer
QV="$INITRA quote verify --collateral $T/collateral.json --trust-root $T/sim-root.der"
[ "$("$GP" occlum-verify "$T/kms-cert.pem" -o "$T/kq1" 2>&1)" = occlum ] && $QV "$T/kq1" >/dev/null \
  && ok "Occlum's verifier (model) takes the KMS certificate; its quote verifies" || not_ok "Occlum model: $("$GP" occlum-verify "$T/kms-cert.pem" -o "$T/kq1" 2>&1)"
[ "$("$GP" gramine-verify "$T/kms-cert.pem" -o "$T/kq2" 2>&1)" = tcg ] && $QV "$T/kq2" >/dev/null \
  && ok "Gramine's verifier (model) takes the KMS certificate by its TCG extension; its quote verifies" || not_ok "Gramine model: $("$GP" gramine-verify "$T/kms-cert.pem" -o "$T/kq2" 2>&1)"
py_get() { # NAME CERT KEY: prints the secret (base64) or "ERROR CODE details"
  $GRS client "127.0.0.1:$PORT" "$1" --root "$T/kms-cert.pem" --override "initra RA-TLS" ${2:+--cert "$2" --key "$3"} 2>&1
}
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/good.key" --cert-out "$T/good.pem"
[ "$(py_get bin100 "$T/good.pem" "$T/good.key")" = "$(q64 "$T/bin100")" ] \
  && ok "Python grpcio client with a matching RA-TLS identity gets the secret" || not_ok "interop: $(py_get bin100 "$T/good.pem" "$T/good.key")"
case "$(py_get demo_key)" in ERROR\ UNAVAILABLE*) ok "Python client without a certificate is refused";; *) not_ok "no cert: $(py_get demo_key)";; esac
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/plain.key" -out "$T/plain.pem" -days 1 -subj /CN=plain 2>/dev/null
case "$(py_get demo_key "$T/plain.pem" "$T/plain.key")" in ERROR\ UNAVAILABLE*) ok "plain self-signed certificate refused";; *) not_ok "plain: $(py_get demo_key "$T/plain.pem" "$T/plain.key")";; esac
grep -q 'handshake refused: peer certificate carries no attestation evidence' "$T/kms.log" && ok "KMS log: peer without evidence" || not_ok "log: $(tail -2 "$T/kms.log")"
# Evidence bound to another key: a genuine sim quote placed in a certificate for a fresh key.
"$INITRA" sim quote --mrsigner "$SIGNER" --config-svn 1 --report-data 00 -o "$T/loose.quote"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/graft.key" -out "$T/graft.pem" -days 1 \
  -subj /CN=graft -addext "1.2.840.113741.1=DER:$(od -An -v -tx1 "$T/loose.quote" | tr -d ' \n')" 2>/dev/null
case "$(py_get demo_key "$T/graft.pem" "$T/graft.key")" in ERROR\ UNAVAILABLE*) ok "evidence bound to another key refused";; *) not_ok "graft accepted";; esac
grep -q "does not bind this certificate's key" "$T/kms.log" && ok "KMS log: evidence not bound" || not_ok "log: $(tail -2 "$T/kms.log")"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 3 --key-out "$T/other.key" --cert-out "$T/other.pem"
case "$(py_get demo_key "$T/other.pem" "$T/other.key")" in ERROR\ PERMISSION_DENIED*) ok "non-matching identity: PERMISSION_DENIED";; *) not_ok "other: $(py_get demo_key "$T/other.pem" "$T/other.key")";; esac
case "$(py_get ghost "$T/good.pem" "$T/good.key")" in ERROR\ NOT_FOUND*) ok "unknown name: NOT_FOUND";; *) not_ok "ghost";; esac
stop_server "KMS still serving after the checks, stops on SIGTERM" "$KMS_PID" "$T/kms.log"

# ---- KMS outside an enclave (--insecure-no-attestation), to reach its files: policies per secret,
# TCB status, expired collateral, debug enclaves, SIGHUP reload, bad files. ----
host_kms() { # LOG ARGS...: sets HPID, HPORT
  log=$1; shift; HPORT=$(free_port)
  "$INITRA" kms serve --listen "127.0.0.1:$HPORT" --insecure-no-attestation "$@" >"$log" 2>&1 &
  HPID=$!
  wait_for "$log" serving || { not_ok "host KMS: $(cat "$log")"; return 1; }
  openssl s_client -connect "127.0.0.1:$HPORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$T/h.pem" 2>/dev/null
}
hget() { $GRS client "127.0.0.1:$HPORT" "$1" --root "$T/h.pem" --override "initra RA-TLS" --cert "$2" --key "$3" 2>&1; }
SIMARGS="--collateral $T/collateral.json --trust-root $T/sim-root.der"
cat >"$T/policy.json" <<PJ
{"identities": {"app": {"mr_signer": "$SIGNER", "min_config_svn": 1}},
 "secrets": {"demo_key": ["app"]}}
PJ
host_kms "$T/h1.log" --secrets "$T/secret_config.json" --policy "$T/policy.json" $SIMARGS
grep -q 'NO ATTESTATION' "$T/h1.log" && ok "--insecure-no-attestation says so in the log" || not_ok "insecure log"
[ "$(hget demo_key "$T/good.pem" "$T/good.key")" = "$(q64 "$T/pw")" ] && ok "per-secret policy: allowed secret released" || not_ok "per-secret allowed"
a=$(hget bin100 "$T/good.pem" "$T/good.key"); b=$(hget ghost "$T/good.pem" "$T/good.key")
case "$a" in ERROR\ PERMISSION_DENIED*) ok "secret without a rule: PERMISSION_DENIED";; *) not_ok "no rule: $a";; esac
[ "${a%%\"*}" = "${b%%\"*}" ] && ok "a denied caller cannot tell whether a name exists" || not_ok "existence leaks: '$a' vs '$b'"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --debug --key-out "$T/dbg.key" --cert-out "$T/dbg.pem"
case "$(hget demo_key "$T/dbg.pem" "$T/dbg.key")" in ERROR\ PERMISSION_DENIED*) ok "debug enclave refused (policy does not allow debug)";; *) not_ok "debug accepted";; esac
grep -q 'is a debug enclave' "$T/h1.log" && ok "KMS log: debug enclave" || not_ok "log: $(tail -1 "$T/h1.log")"
# SIGHUP: a new secret value is served after reload; a broken file keeps the old configuration.
printf 'rotated!' >"$T/pw2"; secrets_conf "$T/secret_config.json" demo_key="$T/pw2"
kill -HUP $HPID; wait_for "$T/h1.log" reloaded
[ "$(hget demo_key "$T/good.pem" "$T/good.key")" = "$(q64 "$T/pw2")" ] && ok "SIGHUP reloads secret_config.json" || not_ok "reload"
echo '{"demo_key": "not base64!"}' >"$T/secret_config.json"
kill -HUP $HPID; wait_for "$T/h1.log" 'reload refused'
grep -q 'reload refused, keeping the old configuration: .*demo_key: the value is not base64' "$T/h1.log" && ok "a bad file on SIGHUP keeps the old configuration" || not_ok "bad reload: $(tail -1 "$T/h1.log")"
[ "$(hget demo_key "$T/good.pem" "$T/good.key")" = "$(q64 "$T/pw2")" ] && ok "old configuration still served" || not_ok "after bad reload"
grep -q 'not base64!' "$T/h1.log" && not_ok "the bad value was logged" || ok "the bad value is not logged"
kill $HPID; wait $HPID 2>/dev/null
secrets_conf "$T/secret_config.json" demo_key="$T/pw"

# TCB status not accepted: a platform at OutOfDate.
export INITRA_SIM_DIR=$T/sim-ood
"$INITRA" sim init --tcb-status OutOfDate --advisories INTEL-SA-00615 >/dev/null
"$INITRA" sim root -o "$T/ood-root.der"; "$INITRA" sim collateral -o "$T/ood-coll.json"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/ood.key" --cert-out "$T/ood.pem"
host_kms "$T/h2.log" --secrets "$T/secret_config.json" --clients "$T/dynamic_config.json" --collateral "$T/ood-coll.json" --trust-root "$T/ood-root.der"
case "$(hget demo_key "$T/ood.pem" "$T/ood.key")" in ERROR\ PERMISSION_DENIED*) ok "TCB status OutOfDate not accepted";; *) not_ok "OutOfDate accepted";; esac
grep -q 'TCB status OutOfDate is not accepted' "$T/h2.log" && ok "KMS log: TCB status" || not_ok "log: $(tail -1 "$T/h2.log")"
kill $HPID; wait $HPID 2>/dev/null

# Expired collateral: a platform issued 40 days ago, its 30-day collateral taken before any refresh.
export INITRA_SIM_DIR=$T/sim-old
"$INITRA" sim init --issued-days-ago 40 >/dev/null
cp "$T/sim-old/collateral.json" "$T/old-coll.json"; cp "$T/sim-old/root.der" "$T/old-root.der"
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/old.key" --cert-out "$T/old.pem"
host_kms "$T/h3.log" --secrets "$T/secret_config.json" --clients "$T/dynamic_config.json" --collateral "$T/old-coll.json" --trust-root "$T/old-root.der"
case "$(hget demo_key "$T/old.pem" "$T/old.key")" in ERROR\ PERMISSION_DENIED*) ok "expired collateral refused";; *) not_ok "expired collateral accepted: $(hget demo_key "$T/old.pem" "$T/old.key")";; esac
grep -q 'collateral was expired at verification time (never accepted)' "$T/h3.log" && ok "KMS log: expired collateral" || not_ok "log: $(tail -1 "$T/h3.log")"
kill $HPID; wait $HPID 2>/dev/null
export INITRA_SIM_DIR=$T/sim

# KMS configuration errors: one line, exit 1, nothing served.
kms_bad() { # DESC PATTERN ARGS...
  d=$1 pat=$2; shift 2
  timeout 10 "$INITRA" kms serve --listen 127.0.0.1:0 "$@" >"$T/kout" 2>"$T/kerr"; rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <"$T/kerr")" = 1 ] && grep -Eq "$pat" "$T/kerr"; then ok "$d: $(cut -c1-140 "$T/kerr")"
  else not_ok "$d (exit $rc, want /$pat/): $(cat "$T/kerr")"; fi
}
echo '{"demo_key": "aGVsbG8=", "bad": "%%%"}' >"$T/bad_secrets.json"
kms_bad "secret not base64" 'bad_secrets.json: bad: the value is not base64' --insecure-no-attestation --secrets "$T/bad_secrets.json" --clients "$T/dynamic_config.json" $SIMARGS
grep -q '%%%' "$T/kerr" && not_ok "the bad secret value is echoed" || ok "the bad secret value is not echoed"
echo '{"demo_key": 5}' >"$T/bad_secrets2.json"
kms_bad "secret not a string" 'demo_key: the value is not a string' --insecure-no-attestation --secrets "$T/bad_secrets2.json" --clients "$T/dynamic_config.json" $SIMARGS
echo '{"demo_key": "aGVsbG8="' >"$T/bad_secrets3.json"
kms_bad "secret_config.json not JSON" 'bad_secrets3.json:[0-9]+:[0-9]+: not valid JSON' --insecure-no-attestation --secrets "$T/bad_secrets3.json" --clients "$T/dynamic_config.json" $SIMARGS
$PY -c "import json;d=json.load(open('$T/dynamic_config.json'));d['verify_config_svn']='ON';json.dump(d,open('$T/bad_dyn.json','w'))"
kms_bad "dynamic_config.json bad switch" 'bad_dyn.json: verify_config_svn: "ON" must be "on" or "off"' --insecure-no-attestation --secrets "$T/secret_config.json" --clients "$T/bad_dyn.json" $SIMARGS
kms_bad "no policy at all" 'give --clients FILE .* or --policy FILE' --insecure-no-attestation --secrets "$T/secret_config.json" $SIMARGS
kms_bad "no quote provider" 'no quote provider, so clients could not verify this server .* --insecure-no-attestation' --secrets "$T/secret_config.json" --clients "$T/dynamic_config.json" $SIMARGS
