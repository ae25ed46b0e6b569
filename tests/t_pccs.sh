# Collateral from a PCCS: a real HTTP server on 127.0.0.1 (python http.server) serves a vector's collateral
# under the PCCS API v4 paths with URL-encoded issuer-chain headers and counts requests. Shows the fetch,
# disk-cache hits before nextUpdate, the refetch after it, the default URL from the qcnl config, and a clear
# error when the PCCS is down and the cache is stale.
. tests/lib.sh
[ -n "$VECTORS" ] || { skip "all of t_pccs: no vectors (tests/vectors.sh)"; exit 0; }  # as tests/run.sh said
plan 18
V=sgx-phala-2025
Q="$VECTORS/$V/quote.bin"
C="$VECTORS/$V/collateral.json"
AT=$(python3 -c "import json,sys;print([r for r in json.load(open(sys.argv[1])) if r['name']==sys.argv[2]][0]['at'])" "$VECTORS/manifest.json" $V)
cat >"$T/pccs.py" <<'PY'
import http.server, json, sys, urllib.parse
coll, log, portfile = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
class PCCS(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, body, headers):
        self.send_response(200)
        for k, v in headers.items(): self.send_header(k, urllib.parse.quote(v, safe=""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        with open(log, "a") as f: f.write(self.path + "\n")
        u = urllib.parse.urlparse(self.path)
        qs = urllib.parse.parse_qs(u.query)
        if u.path == "/sgx/certification/v4/tcb" and qs.get("fmspc") == ["00A067110000"]:
            body = '{"tcbInfo":%s,"signature":"%s"}' % (coll["tcb_info"], coll["tcb_info_signature"])
            self.send(body.encode(), {"TCB-Info-Issuer-Chain": coll["tcb_info_issuer_chain"]})
        elif u.path == "/sgx/certification/v4/qe/identity":
            body = '{"enclaveIdentity":%s,"signature":"%s"}' % (coll["qe_identity"], coll["qe_identity_signature"])
            self.send(body.encode(), {"SGX-Enclave-Identity-Issuer-Chain": coll["qe_identity_issuer_chain"]})
        elif u.path == "/sgx/certification/v4/pckcrl" and qs.get("ca") == ["processor"] and qs.get("encoding") == ["der"]:
            self.send(bytes.fromhex(coll["pck_crl"]), {"SGX-PCK-CRL-Issuer-Chain": coll["pck_crl_issuer_chain"]})
        elif u.path == "/sgx/certification/v4/rootcacrl":
            self.send(coll["root_ca_crl"].encode(), {})  # PCCS answers with hex text
        else:
            self.send_error(404)
srv = http.server.HTTPServer(("127.0.0.1", 0), PCCS)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
LOGF="$T/requests"
: >"$LOGF"
python3 "$T/pccs.py" "$C" "$LOGF" "$T/port" &
SRV=$!
trap 'kill $SRV 2>/dev/null' EXIT
i=0; while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
URL="http://127.0.0.1:$(cat "$T/port")"
CACHE="$T/cache"
reqs() { wc -l <"$LOGF" | tr -d ' '; }
EXP=$(python3 -c "
import json
from datetime import datetime, timezone
c = json.load(open('$C'))
d = lambda s: int(datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc).timestamp())
print(min(d(json.loads(c[k])['nextUpdate']) for k in ('tcb_info', 'qe_identity')))")

check "fetch from the PCCS verifies" "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$AT" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['status']=='ConfigurationAndSWHardeningNeeded' and o['root']=='intel' else 1)" "$T/out" \
  && ok "PCCS collateral gives the vector's status" || not_ok "PCCS result: $(head -c 300 "$T/out")"
check_eq "first verification fetched 4 items (tcb, qe/identity, pckcrl, rootcacrl)" "$(reqs)" 4
grep -q '^/sgx/certification/v4/tcb?fmspc=00A067110000$' "$LOGF" && grep -q '^/sgx/certification/v4/pckcrl?ca=processor&encoding=der$' "$LOGF" \
  && ok "PCCS paths are API v4 with fmspc and ca" || not_ok "paths: $(cat "$LOGF")"
ls "$CACHE"/sgx-00A067110000-processor.json >/dev/null 2>&1 && ok "disk cache entry keyed by TEE, FMSPC and CA" || not_ok "no cache file in $CACHE: $(ls "$CACHE" 2>&1)"
check "second verification before nextUpdate" "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$AT"
check "later verification, still before nextUpdate" "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$((EXP - 10))"
check_eq "cache hits: no request before nextUpdate" "$(reqs)" 4
check "after nextUpdate (expired allowed): verifies" "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$((EXP + 10))" --allow-expired-collateral
check_eq "after nextUpdate the collateral was refetched" "$(reqs)" 8
check_fails "after nextUpdate, collateral still expired: refused by default" 1 'is expired at' \
  "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$((EXP + 10))"
printf '// comment\n{\n  /* the PCCS */\n  "pccs_url": "%s/sgx/certification/v4/", // trailing\n  "use_secure_cert": false\n}\n' "$URL" >"$T/qcnl.conf"
: >"$LOGF"
check "default PCCS URL from the qcnl config (comments tolerated)" env -u PCCS_URL INITRA_QCNL_CONF="$T/qcnl.conf" \
  "$INITRA" quote verify "$Q" --cache-dir "$T/cache2" --at "$AT"
check_eq "qcnl-configured PCCS was asked" "$(reqs)" 4
: >"$LOGF"
check "default PCCS URL from \$PCCS_URL" env PCCS_URL="$URL" "$INITRA" quote verify "$Q" --cache-dir "$T/cache3" --at "$AT"
check_eq "\$PCCS_URL PCCS was asked" "$(reqs)" 4

kill $SRV; wait $SRV 2>/dev/null
check "PCCS down, cache fresh: verifies from the disk cache" "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$AT"
check_fails "PCCS down and the cache stale: clear error" 1 \
  "PCCS http://127.0.0.1:[0-9]+: GET /sgx/certification/v4/tcb\?fmspc=00A067110000 failed: .*; the cached collateral for SGX FMSPC 00A067110000 \(processor CA\) expired at" \
  "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$CACHE" --at "$((EXP + 10))"
check_fails "PCCS down, no cache: clear error" 1 "PCCS http://127.0.0.1:[0-9]+: GET .* failed: .*no cached collateral for SGX FMSPC 00A067110000" \
  "$INITRA" quote verify "$Q" --pccs "$URL" --cache-dir "$T/empty" --at "$AT"
