# A PCCS as Intel installs it: tests/helpers/pccs_intel.py answers like Intel's PCCS (v4 and v3 routes,
# URL-encoded issuer chains, rootcacrl as hex text, 404 "No cache data" vs Express's "Cannot GET") over
# HTTPS with a self-signed certificate made here, serving the vectors' collateral. Covers TLS to the PCCS
# (self-signed: --pccs-ca, $CURL_CA_BUNDLE, $SSL_CERT_FILE, use_secure_cert false with one warning, never
# off silently), both QCNL formats as Intel ships them, collateral_service, the expired cache while the
# PCCS is down, the v4->v3 fallback rules, TDX without v3, and --json errors.
. tests/lib.sh
[ -n "$VECTORS" ] || { skip "all of t_pccs_intel: no vectors (tests/vectors.sh)"; exit 0; }  # as tests/run.sh said
plan 51
if [ ! -f "$VECTORS/sgx-phala-2025/collateral.json" ] || [ ! -f "$VECTORS/tdx-phala-v4/collateral.json" ]; then
  not_ok "t_pccs_intel: $VECTORS lacks sgx-phala-2025 or tdx-phala-v4"
  exit 1
fi
H="$(pwd)/tests/helpers/pccs_intel.py"
V=sgx-phala-2025
Q="$VECTORS/$V/quote.bin"
C="$VECTORS/$V/collateral.json"
TQ="$VECTORS/tdx-phala-v4/quote.bin"
TC="$VECTORS/tdx-phala-v4/collateral.json"
at_of() { python3 -c "import json,sys;print([r for r in json.load(open(sys.argv[1])) if r['name']==sys.argv[2]][0]['at'])" "$VECTORS/manifest.json" "$1"; }
AT=$(at_of $V)
TAT=$(at_of tdx-phala-v4)
EXP=$(python3 -c "
import json
from datetime import datetime, timezone
c = json.load(open('$C'))
d = lambda s: int(datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc).timestamp())
print(min(d(json.loads(c[k])['nextUpdate']) for k in ('tcb_info', 'qe_identity')))")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/pccs.key" -out "$T/pccs.crt" \
  -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null \
  || not_ok "openssl makes the PCCS's self-signed certificate"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT
# start NAME ARGS...: a stand-in PCCS; sets $URL_NAME, its request log $T/NAME.log
start() {
  sn=$1; shift
  : >"$T/$sn.log"
  rm -f "$T/$sn.port"
  python3 "$H" "$T/$sn.port" "$T/$sn.log" "$T/pccs.crt" "$T/pccs.key" "$@" &
  PIDS="$PIDS $!"
  eval "PID_$sn=$!"
  i=0; while [ ! -s "$T/$sn.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  eval "URL_$sn=https://127.0.0.1:$(cat "$T/$sn.port")"
}
reqs() { wc -l <"$T/$1.log" | tr -d ' '; }
start main "$C"
start tdx "$TC"
start old "$C" --no-v4
start partial "$C" --no-v4-route qe/identity
CA="$T/pccs.crt"
cache() { mktemp -d "$T/cache.XXXXXX"; } # a fresh, empty cache directory

# 1. TLS to a PCCS with a self-signed certificate
check_fails "self-signed PCCS certificate, no CA given: refused, naming the remedy" 1 \
  "PCCS https://127.0.0.1:[0-9]+: GET /sgx/certification/v4/tcb\?fmspc=00A067110000 failed: .*certificate.*--pccs-ca FILE" \
  env -u CURL_CA_BUNDLE -u SSL_CERT_FILE "$INITRA" quote verify "$Q" --pccs "$URL_main" --cache-dir "$(cache)" --at "$AT"
check "--pccs-ca FILE: verified through the self-signed PCCS" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['status']=='ConfigurationAndSWHardeningNeeded' else 1)" "$T/out" \
  && ok "PCCS collateral gives the vector's verdict" || not_ok "verdict: $(head -c 300 "$T/out")"
check "\$CURL_CA_BUNDLE names the PCCS's CA (as curl)" env -u SSL_CERT_FILE CURL_CA_BUNDLE="$CA" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --cache-dir "$(cache)" --at "$AT"
check "\$SSL_CERT_FILE names the PCCS's CA (as curl)" env -u CURL_CA_BUNDLE SSL_CERT_FILE="$CA" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --cache-dir "$(cache)" --at "$AT"
check_fails "--pccs-ca that is not a file: usage error" 2 "PCCS CA file '$T/nope.pem' is not a readable regular file" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$T/nope.pem" --cache-dir "$(cache)" --at "$AT"
check_fails "--pccs-ca with --collateral: usage error" 2 "--pccs-ca is for a PCCS" \
  "$INITRA" quote verify "$Q" --collateral "$C" --pccs-ca "$CA" --at "$AT"
# Intel's current sgx_default_qcnl.conf shape (JSON with // comments), pointing at the stand-in
qcnl_json() { # FILE PCCS_URL USE_SECURE_CERT [COLLATERAL_SERVICE]
  {
    echo '{'
    echo '  // *** ATTENTION : This file is in JSON format so the keys are case sensitive. Don'"'"'t change them.'
    echo '  '
    echo '  //PCCS server address'
    echo "  \"pccs_url\": \"$2/sgx/certification/v4/\""
    echo ''
    echo '  // To accept insecure HTTPS certificate, set this option to false'
    echo "  ,\"use_secure_cert\": $3"
    echo ''
    echo '  // You can use the Intel PCS or another PCCS to get quote verification collateral.'
    if [ -n "${4:-}" ]; then echo "  ,\"collateral_service\": \"$4/sgx/certification/v4/\""
    else echo '  //,"collateral_service": "https://api.trustedservices.intel.com/sgx/certification/v4/"'; fi
    echo '  //,"pccs_api_version": "3.1"'
    echo '  ,"retry_times": 6'
    echo '  ,"retry_delay": 10'
    echo '  ,"pck_cache_expire_hours": 168'
    echo '  ,"verify_collateral_cache_expire_hours": 168'
    echo '  ,"local_cache_only": false'
    echo '}'
  } >"$1"
}
qcnl_json "$T/insecure.conf" "$URL_main" false
check "QCNL JSON use_secure_cert false: verified without a CA" env -u PCCS_URL -u CURL_CA_BUNDLE -u SSL_CERT_FILE \
  INITRA_QCNL_CONF="$T/insecure.conf" "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
check_eq "use_secure_cert false: exactly one warning line" "$(grep -c 'TLS peer verification is off (use_secure_cert false)' "$T/err")/$(wc -l <"$T/err")" "1/1"
qcnl_json "$T/secure.conf" "$URL_main" true
check_fails "QCNL JSON use_secure_cert true, no CA: refused (verification never off silently)" 1 "certificate" \
  env -u PCCS_URL -u CURL_CA_BUNDLE -u SSL_CERT_FILE INITRA_QCNL_CONF="$T/secure.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
check "QCNL_CONF_PATH (Intel's variable) names the QCNL file" env -u PCCS_URL -u INITRA_QCNL_CONF CURL_CA_BUNDLE="$CA" \
  QCNL_CONF_PATH="$T/secure.conf" "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"

# 2. The older KEY=value format, in the shape of Intel's DCAP 1.12 sgx_default_qcnl.conf
cat >"$T/legacy.conf" <<EOF
# PCCS server address
PCCS_URL=$URL_main/sgx/certification/v4/

# To accept insecure HTTPS certificate, set this option to FALSE
USE_SECURE_CERT=FALSE

# You can use Intel PCS to get quote verification collateral 
#COLLATERAL_SERVICE=https://api.trustedservices.intel.com/sgx/certification/v3/

# If you use PCCS service to get quote verification collateral, you can specify which API version is to be used
# The legacy 3.0 API will return CRLs in HEX encoded DER format, while the new 3.1 API will return raw DER format
#PCCS_API_VERSION=3.1

# Maximum retry times for QCNL. If RETRY is not defined or set to 0, no retry will be performed.
#RETRY_TIMES=6
EOF
: >"$T/main.log"
check "old QCNL format PCCS_URL=https://host:port/... (the // is not a comment)" env -u PCCS_URL \
  INITRA_QCNL_CONF="$T/legacy.conf" "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
check_eq "old format: the PCCS it names was asked (4 requests)" "$(reqs main)" 4
sed "s|^PCCS_URL=.*|PCCS_URL = $URL_old/sgx/certification/v3/|; s|^USE_SECURE_CERT=FALSE|USE_SECURE_CERT = false|" \
  "$T/legacy.conf" >"$T/legacy3.conf"
: >"$T/old.log"
check "old format with spaces, a v3 URL (DCAP 1.12 default) and USE_SECURE_CERT = false" env -u PCCS_URL \
  INITRA_QCNL_CONF="$T/legacy3.conf" "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
check_eq "a v3 URL asks only v3 routes" "$(grep -c '^/sgx/certification/v3/' "$T/old.log")/$(reqs old)" "4/4"
sed 's|^USE_SECURE_CERT=FALSE|#USE_SECURE_CERT=FALSE|' "$T/legacy.conf" >"$T/legacy-secure.conf"
check_fails "old format, USE_SECURE_CERT commented out: TLS verified, self-signed refused" 1 "certificate" \
  env -u PCCS_URL -u CURL_CA_BUNDLE -u SSL_CERT_FILE INITRA_QCNL_CONF="$T/legacy-secure.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
printf '{\n  "pccs_url": "%s/sgx/certification/v4/",\n' "$URL_main" >"$T/broken.conf"
check_fails "QCNL text starting with { that is not JSON: one-line error (as Intel's QCNL, no KEY=value guess)" 2 \
  "broken.conf: not valid JSON \(line [0-9]+" env -u PCCS_URL INITRA_QCNL_CONF="$T/broken.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
printf '# no URL here\nUSE_SECURE_CERT=FALSE\n' >"$T/nourl.conf"
check_fails "old format without PCCS_URL: one-line error naming the key" 2 "nourl.conf: no PCCS_URL=https://... set" \
  env -u PCCS_URL INITRA_QCNL_CONF="$T/nourl.conf" "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"

# 3. collateral_service: verification collateral from it, pccs_url (here a port nobody listens on) unused
DEAD="https://127.0.0.1:9"
qcnl_json "$T/cs.conf" "$DEAD" false "$URL_main"
: >"$T/main.log"
check "QCNL collateral_service: collateral fetched from it" env -u PCCS_URL INITRA_QCNL_CONF="$T/cs.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"
check_eq "collateral_service was asked for all 4 items" "$(reqs main)" 4
printf 'PCCS_URL=%s/sgx/certification/v4/\nUSE_SECURE_CERT=FALSE\nCOLLATERAL_SERVICE=%s/sgx/certification/v4/\n' \
  "$DEAD" "$URL_main" >"$T/cs-legacy.conf"
check "old format COLLATERAL_SERVICE: collateral fetched from it" env -u PCCS_URL INITRA_QCNL_CONF="$T/cs-legacy.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$(cache)" --at "$AT"

# 5. v4 -> v3 fallback only where the v4 route does not exist; never mixed; every URL named
: >"$T/old.log"
check "PCCS without v4 routes (Cannot GET): falls back to v3 and verifies" \
  "$INITRA" quote verify "$Q" --pccs "$URL_old" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT"
check_eq "fallback: one v4 request, then the 4 items under v3" \
  "$(grep -c '/v4/' "$T/old.log")+$(grep -c '^/sgx/certification/v3/' "$T/old.log")" "1+4"
: >"$T/partial.log"
check "v4 qe/identity route missing: the whole bundle is fetched again under v3" \
  "$INITRA" quote verify "$Q" --pccs "$URL_partial" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT"
check_eq "never mixed: v3 tcb, qe/identity, pckcrl and rootcacrl all asked" \
  "$(grep -cE '^/sgx/certification/v3/(tcb|qe/identity|pckcrl|rootcacrl)' "$T/partial.log")" 4
: >"$T/tdx.log"
check_fails "unknown FMSPC (404 No cache data): no v3 fallback, the answer quoted" 1 \
  "GET /sgx/certification/v4/tcb\?fmspc=00A067110000 answered HTTP 404 \(No cache data for this platform.\)" \
  "$INITRA" quote verify "$Q" --pccs "$URL_tdx" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT"
check_eq "No cache data: only the v4 request was made" "$(reqs tdx)" 1
start oldtdx "$TC" --no-v4
check_fails "v4 route missing, v3 lacks the FMSPC: every URL tried is named" 1 \
  "the route does not exist; then under API v3: GET /sgx/certification/v3/tcb\?fmspc=00A067110000 answered HTTP 404 \(No cache data.*URLs tried under https://127.0.0.1:[0-9]+: /sgx/certification/v4/tcb\?fmspc=00A067110000 /sgx/certification/v3/tcb\?fmspc=00A067110000\)" \
  "$INITRA" quote verify "$Q" --pccs "$URL_oldtdx" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT"
: >"$T/tdx.log"
check "TDX quote through the PCCS's /tdx/certification/v4 routes" \
  "$INITRA" quote verify "$TQ" --pccs "$URL_tdx" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$TAT" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['status']=='UpToDate' and o['tee']=='TDX' else 1)" "$T/out" \
  && ok "TDX verdict through the PCCS equals the vector's" || not_ok "TDX verdict: $(head -c 300 "$T/out")"
grep -q '^/tdx/certification/v4/tcb?fmspc=B0C06F000000$' "$T/tdx.log" && grep -q '^/sgx/certification/v4/pckcrl?ca=' "$T/tdx.log" \
  && ok "TDX: TCB info from /tdx, CRLs from /sgx routes" || not_ok "TDX paths: $(cat "$T/tdx.log")"
: >"$T/oldtdx.log"
check_fails "TDX, v4 routes missing: says TDX has no v3 routes instead of trying" 1 \
  "GET /tdx/certification/v4/tcb\?fmspc=B0C06F000000 answered HTTP 404: the route does not exist; TDX has no API v3 routes in Intel's PCCS, so v3 is not tried" \
  "$INITRA" quote verify "$TQ" --pccs "$URL_oldtdx" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$TAT"
check_eq "TDX: no v3 request made" "$(grep -c '/v3/' "$T/oldtdx.log")" 0
: >"$T/tdx.log"
check_fails "TDX with a v3 PCCS URL: refused without a request" 1 "TDX collateral has no API v3 routes in Intel's PCCS" \
  "$INITRA" quote verify "$TQ" --pccs "$URL_tdx/sgx/certification/v3/" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$TAT"
check_eq "TDX v3 URL: the PCCS was not asked" "$(reqs tdx)" 0

# 4. The disk cache with the PCCS stopped
CACHE="$T/cache-down"
check "fill the cache" "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$CACHE" --at "$AT"
kill "$PID_main"; wait "$PID_main" 2>/dev/null
check "PCCS stopped, cache fresh: verified from the cache" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$CACHE" --at "$AT"
check "PCCS stopped, cache expired, --allow-expired-collateral: verified from the expired entry, flagged" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$CACHE" --at "$((EXP + 10))" \
  --allow-expired-collateral --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['expired_collateral_allowed'] else 1)" "$T/out" \
  && ok "expired cache entry is flagged as for a bundle (expired_collateral_allowed)" || not_ok "flag: $(head -c 300 "$T/out")"
grep -q "using the cached collateral for SGX FMSPC 00A067110000 (processor CA), expired at" "$T/err" \
  && ok "a warning names the expired cache entry used" || not_ok "warning: $(cat "$T/err")"
check "the same collateral as a bundle at that time: verified and flagged alike" \
  "$INITRA" quote verify "$Q" --collateral "$C" --at "$((EXP + 10))" --allow-expired-collateral --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['expired_collateral_allowed'] else 1)" "$T/out" \
  && ok "bundle path flags it the same way" || not_ok "bundle: $(head -c 300 "$T/out")"
check_fails "PCCS stopped, cache expired, no flag: refused" 1 "expired at .*so there is none valid to use" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$CACHE" --at "$((EXP + 10))"

# 6. --json on a collateral fetch error; timeouts in --help
check_fails "--json, PCCS down and no cache: exit 1, one stderr line" 1 "no cached collateral" \
  "$INITRA" quote verify "$Q" --pccs "$URL_main" --pccs-ca "$CA" --cache-dir "$(cache)" --at "$AT" --json
python3 -c "
import json,sys
o=json.load(open(sys.argv[1]))
sys.exit(0 if o['verified'] is False and 'no cached collateral' in o['error'] else 1)" "$T/out" \
  && ok "--json prints {\"verified\": false, \"error\": ...} on a fetch error" || not_ok "json: $(head -c 300 "$T/out")"
check_fails "--json, PCCS CA file missing: usage error" 2 "PCCS CA file" \
  "$INITRA" quote verify "$Q" --pccs "$URL_tdx" --pccs-ca "$T/nope.pem" --cache-dir "$(cache)" --at "$AT" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] is False and 'PCCS CA file' in o['error'] else 1)" \
  "$T/out" && ok "--json prints the refusal as JSON for a PCCS set-up error too" || not_ok "json: $(head -c 300 "$T/out")"
"$INITRA" quote verify --help >"$T/help" 2>&1
grep -q "5 s to connect, 30 s for the whole transfer" "$T/help" && ok "--help documents the 5 s / 30 s timeouts" \
  || not_ok "help: $(cat "$T/help")"

# 7. Inside an enclave: init verifies the KMS with collateral from a self-signed PCCS named only by
#    init_ra_conf.json's initra section (pccs_url + pccs_ca); without pccs_ca the PCCS is refused.
. scripts/instances.sh
W=$T
export INITRA_SIM_DIR=$T/sim INITRA_SIGN_KEY_DIR=$T/keys
"$INITRA" sim init >/dev/null && sim_export || { not_ok "sim platform"; exit 1; }
start sim "$T/collateral.json"
printf 'k3y' >"$T/pw"
secrets_conf "$T/secret_config.json" demo_key="$T/pw"
clients_conf "$T/dynamic_config.json" "$(probe_signer "$T/probe")" 0
kms_instance "$T/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$T/secret_config.json" "$T/dynamic_config.json" || { not_ok "KMS instance builds"; exit 1; }
KMS_MRE=$("$INITRA" print mrenclave "$T/kms" | field)
PORT=$(free_port)
kms_start "$T/kms" "$PORT" "$T/kms.log" \
  || { not_ok "KMS starts"; exit 1; }
PIDS="$PIDS $KMS_PID"
# pccs_app NAME EXTRA_JSON: an application instance whose init takes collateral from the sim PCCS
pccs_app() {
  INITRA_EXTRA="$2" init_conf "$T/$1.json" "$PORT" "$KMS_MRE" demo_key=/etc/keys/demo_key
  python3 -c "import json,sys;c=json.load(open(sys.argv[1]));del c['initra']['collateral'];json.dump(c,open(sys.argv[1],'w'))" "$T/$1.json"
  app_instance "$T/$1" "$T/$1.json" --init-ra >/dev/null || return 1
  cp "$T/pccs.crt" "$T/$1/image/etc/initra/pccs.crt" && "$INITRA" build "$T/$1" >"$T/build.log" 2>&1
}
: >"$T/sim.log"
pccs_app app "{\"pccs_url\": \"$URL_sim\", \"pccs_ca\": \"/etc/initra/pccs.crt\"}" || not_ok "app instance builds"
"$INITRA" run "$T/app" -- /bin/busybox sh -c 'busybox sha256sum /etc/keys/demo_key | cut -c1-64' >"$T/app.out" 2>"$T/app.err"
check_eq "init verifies the KMS with collateral from the self-signed PCCS (initra.pccs_ca)" \
  "$(cat "$T/app.out")" "$(sha256sum "$T/pw" | cut -c1-64)"
grep -q '^/sgx/certification/v4/tcb?fmspc=' "$T/sim.log" && ok "init asked the PCCS named in init_ra_conf.json" \
  || not_ok "PCCS requests: $(cat "$T/sim.log"); init: $(cat "$T/app.err")"
pccs_app noca "{\"pccs_url\": \"$URL_sim\"}" || not_ok "app instance builds"
"$INITRA" run "$T/noca" -- /bin/busybox sh -c 'busybox ls /etc/keys 2>&1' >"$T/noca.out" 2>"$T/noca.err"
grep -q "certificate" "$T/noca.err" && ! grep -q demo_key "$T/noca.out" \
  && ok "without pccs_ca the self-signed PCCS is refused and no key is written: $(grep -m1 'certificate' "$T/noca.err" | cut -c1-160)" \
  || not_ok "no pccs_ca: $(cat "$T/noca.out" "$T/noca.err")"
