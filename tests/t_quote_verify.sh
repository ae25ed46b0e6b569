# initra quote verify: every vector's verdict against the manifest, then tamper tests on copies
# (signatures, report bytes, collateral edits, CRLs, validity windows, untrusted roots) and usage errors.
. tests/lib.sh
[ -n "$VECTORS" ] || { skip "all of t_quote_verify: no vectors (tests/vectors.sh)"; exit 0; }  # as tests/run.sh said
plan 63
M="$VECTORS/manifest.json"
at_of() { python3 -c "import json,sys;print([r for r in json.load(open(sys.argv[1])) if r['name']==sys.argv[2]][0]['at'])" "$M" "$1"; }

# --- every vector gives exactly the manifest's verified / status / advisories at its time ---
for name in $(python3 -c "import json;print(' '.join(r['name'] for r in json.load(open('$M')) if not r['expect'].get('parse_only')))"); do
  dir="$VECTORS/$name"
  "$INITRA" quote verify "$dir/quote.bin" --collateral "$dir/collateral.json" --at "$(at_of "$name")" --json >"$T/$name.json" 2>"$T/$name.err"
  rc=$?
  res=$(python3 - "$M" "$name" "$T/$name.json" "$rc" <<'PY'
import json, sys
row = [r for r in json.load(open(sys.argv[1])) if r["name"] == sys.argv[2]][0]
want, rc = row["expect"], int(sys.argv[4])
got = json.load(open(sys.argv[3]))
bad = []
if got["verified"] != want["verified"]: bad.append(f"verified {got['verified']} want {want['verified']}")
if got["status"] != want["status"]: bad.append(f"status {got['status']} want {want['status']}")
if got["advisories"] != sorted(set(want.get("advisories", []))): bad.append(f"advisories {got['advisories']} want {want.get('advisories')}")
if rc != (0 if want["verified"] else 1): bad.append(f"exit {rc}")
if got["root"] != "intel": bad.append(f"root {got['root']}")
if not isinstance(got["report"], dict) or "mr_enclave" not in got["report"] and "mr_td" not in got["report"]: bad.append("report missing")
if not got["collateral_expires"] or got["collateral_expires"] < row["at"]: bad.append(f"collateral_expires {got['collateral_expires']}")
if want["verified"] and got["error"] is not None: bad.append(f"error {got['error']}")
print("; ".join(bad) if bad else f"OK {got['status']} {got['advisories']}")
PY
)
  case "$res" in OK*) ok "verify $name: $res";; *) not_ok "verify $name: $res ($(head -c 300 "$T/$name.err"))";; esac
done

# --- tampering with sgx-phala-2025 ---
V=sgx-phala-2025
Q="$VECTORS/$V/quote.bin"
C="$VECTORS/$V/collateral.json"
AT=$(at_of $V)
verify() { "$INITRA" quote verify "$@"; }
check "unmodified $V verifies" verify "$Q" --collateral "$C" --at "$AT"

flipf() { # flipf FILE OFFSET OUT: copy of FILE with one byte inverted
  python3 -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());o=int(sys.argv[2]);b[o]^=0xff;open(sys.argv[3],'wb').write(b)" "$1" "$2" "$3"
}
flip() { flipf "$Q" "$1" "$2"; }
# v3 layout: body 48..432, quote signature 436, attestation key 500, QE report 564, QE report signature 948,
# QE auth data size 1012, QE auth data 1014..
flip 440 "$T/qsig.bin"
check_fails "flipped quote signature byte" 1 'quote signature does not verify with the attestation key' verify "$T/qsig.bin" --collateral "$C" --at "$AT"
flip 960 "$T/qesig.bin"
check_fails "flipped QE report signature byte" 1 'QE report signature does not verify with the PCK certificate key' verify "$T/qesig.bin" --collateral "$C" --at "$AT"
flip 120 "$T/body.bin"
check_fails "flipped report body byte (MRENCLAVE)" 1 'quote signature does not verify' verify "$T/body.bin" --collateral "$C" --at "$AT"
flip 10 "$T/hdr.bin"
check_fails "flipped header byte (pce_svn)" 1 'quote signature does not verify' verify "$T/hdr.bin" --collateral "$C" --at "$AT"
flip 600 "$T/qerep.bin"
check_fails "flipped QE report byte" 1 'QE report signature does not verify' verify "$T/qerep.bin" --collateral "$C" --at "$AT"
flip 510 "$T/akey.bin"
check_fails "flipped attestation key byte" 1 'QE report data is not SHA-256\(attestation key \|\| QE auth data\)' verify "$T/akey.bin" --collateral "$C" --at "$AT"
flip 1014 "$T/auth.bin"
check_fails "flipped QE auth data byte" 1 'QE report data is not SHA-256\(attestation key \|\| QE auth data\)' verify "$T/auth.bin" --collateral "$C" --at "$AT"
python3 -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());b[12]^=1;open(sys.argv[2],'wb').write(b)" "$Q" "$T/vendor.bin"
check_fails "QE vendor id not Intel's" 1 'QE vendor id [0-9a-f]+ is not Intel' verify "$T/vendor.bin" --collateral "$C" --at "$AT"

edit() { # edit OUT PYTHON-STATEMENT: copy of the collateral bundle `c` edited by the statement
  out=$1; shift
  python3 - "$C" "$out" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
def flip_hex(h, i): b = bytearray(bytes.fromhex(h)); b[i] ^= 0x01; return b.hex()
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}
edit "$T/c1.json" 'c["tcb_info_signature"] = flip_hex(c["tcb_info_signature"], 5)'
check_fails "flipped TCB info signature byte" 1 'TCB info signature does not verify with the Intel SGX TCB Signing key' verify "$Q" --collateral "$T/c1.json" --at "$AT"
edit "$T/c2.json" 'c["qe_identity_signature"] = flip_hex(c["qe_identity_signature"], 40)'
check_fails "flipped QE identity signature byte" 1 'QE identity signature does not verify with the Intel SGX TCB Signing key' verify "$Q" --collateral "$T/c2.json" --at "$AT"
edit "$T/c3.json" 'c["tcb_info"] = c["tcb_info"].replace("\"ConfigurationAndSWHardeningNeeded\"", "\"UpToDate\"", 1)'
check_fails "edited TCB info status" 1 'TCB info signature does not verify' verify "$Q" --collateral "$T/c3.json" --at "$AT"
edit "$T/c4.json" 'c["qe_identity"] = c["qe_identity"].replace("\"isvsvn\":8", "\"isvsvn\":7", 1)'
check_fails "edited QE identity" 1 'QE identity signature does not verify' verify "$Q" --collateral "$T/c4.json" --at "$AT"
# the last bytes of a CRL are its signature's s value
edit "$T/c5.json" 'c["pck_crl"] = flip_hex(c["pck_crl"], len(bytes.fromhex(c["pck_crl"])) - 2)'
check_fails "flipped PCK CRL signature byte" 1 '^initra: .*PCK CRL signature does not verify with the Intel SGX PCK Processor CA key$' verify "$Q" --collateral "$T/c5.json" --at "$AT"
edit "$T/c6.json" 'c["root_ca_crl"] = flip_hex(c["root_ca_crl"], len(bytes.fromhex(c["root_ca_crl"])) - 2)'
check_fails "flipped root CA CRL signature byte" 1 'root CA CRL signature does not verify with the Intel SGX Root CA key' verify "$Q" --collateral "$T/c6.json" --at "$AT"
P="$VECTORS/tdx-phala-v4/collateral.json"
edit "$T/c7.json" "o = json.load(open('$P')); c['pck_crl'] = o['pck_crl']; c['pck_crl_issuer_chain'] = o['pck_crl_issuer_chain']"
check_fails "PCK CRL of the other CA (Platform)" 1 "PCK CRL is issued by 'Intel SGX PCK Platform CA' but the PCK certificate by 'Intel SGX PCK Processor CA'" verify "$Q" --collateral "$T/c7.json" --at "$AT"
edit "$T/c8.json" "o = json.load(open('$P')); c['pck_crl'] = o['pck_crl']"
check_fails "Platform CA CRL with the Processor CA issuer chain" 1 "PCK CRL issuer 'Intel SGX PCK Platform CA' is not 'Intel SGX PCK Processor CA'" verify "$Q" --collateral "$T/c8.json" --at "$AT"
A="$VECTORS/sgx-automata-v3/collateral.json"
edit "$T/c9.json" "o = json.load(open('$A')); [c.__setitem__(k, o[k]) for k in ('tcb_info', 'tcb_info_signature')]"
check_fails "TCB info of another FMSPC" 1 'TCB info is for FMSPC 00606A000000 but the PCK certificate.s FMSPC is 00A067110000' verify "$Q" --collateral "$T/c9.json" --at "$AT" --allow-expired-collateral
T2="$VECTORS/tdx-phala-v4/collateral.json"
edit "$T/c10.json" "o = json.load(open('$T2')); [c.__setitem__(k, o[k]) for k in ('qe_identity', 'qe_identity_signature')]"
check_fails "TD QE identity for an SGX quote" 1 'QE identity is for TD_QE but a SGX quote needs QE' verify "$Q" --collateral "$T/c10.json" --at "$AT"
edit "$T/c11.json" 'c["tcb_info_issuer_chain"] = c["tcb_info_issuer_chain"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"'
check "TCB signing certificate without the root in its chain still anchors at the built-in root" verify "$Q" --collateral "$T/c11.json" --at "$AT"

# --- TDX (quote v4): the same checks over the TD report and the type-6 QE report data ---
TQ="$VECTORS/tdx-phala-v4/quote.bin"
TC="$VECTORS/tdx-phala-v4/collateral.json"
TAT=$(at_of tdx-phala-v4)
tflip() { flipf "$TQ" "$1" "$2"; }
# v4 TDX: TD report 48..632, signature 636, attestation key 700, type 6 at 764, QE report 770, its signature 1154
tflip 100 "$T/td.bin"
check_fails "TDX: flipped TD report byte" 1 'quote signature does not verify' verify "$T/td.bin" --collateral "$TC" --at "$TAT"
tflip 640 "$T/tdsig.bin"
check_fails "TDX: flipped quote signature byte" 1 'quote signature does not verify' verify "$T/tdsig.bin" --collateral "$TC" --at "$TAT"
tflip 800 "$T/tdqe.bin"
check_fails "TDX: flipped QE report byte" 1 'QE report signature does not verify' verify "$T/tdqe.bin" --collateral "$TC" --at "$TAT"
tflip 710 "$T/tdak.bin"
check_fails "TDX: flipped attestation key byte" 1 'QE report data is not SHA-256' verify "$T/tdak.bin" --collateral "$TC" --at "$TAT"
check_fails "TDX quote with SGX collateral" 1 '(TCB info is for FMSPC|PCK CRL is issued by)' verify "$TQ" --collateral "$C" --at "$TAT" --allow-expired-collateral

# --- every validity window: one second before and after it ---
python3 - "$Q" "$C" "$T" >"$T/windows" <<'PY'
import json, subprocess, sys, re
from datetime import datetime, timezone
q, c, t = open(sys.argv[1], "rb").read(), json.load(open(sys.argv[2])), sys.argv[3]
def date(s): return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
def osl(args, data):
    out = subprocess.run(["openssl"] + args, input=data, capture_output=True, check=True).stdout.decode()
    return [int(datetime.strptime(v.strip(), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc).timestamp())
            for v in re.findall(r"=(.*)", out)]
items = []
for key, name in (("tcb_info", "TCB info"), ("qe_identity", "QE identity")):
    d = json.loads(c[key]); items.append((name, date(d["issueDate"]), date(d["nextUpdate"])))
for key, name in (("root_ca_crl", "root CA CRL"), ("pck_crl", "PCK CRL")):
    a, b = osl(["crl", "-inform", "der", "-noout", "-lastupdate", "-nextupdate"], bytes.fromhex(c[key])); items.append((name, a, b))
pems = re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", q, re.S)
for pem in pems[:2] + [c["tcb_info_issuer_chain"].encode().split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"]:
    subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"], input=pem, capture_output=True).stdout.decode()
    cn = re.search(r"commonName\s*=\s*(.*)", subj).group(1).strip()
    a, b = osl(["x509", "-noout", "-startdate", "-enddate"], pem); items.append((f"certificate '{cn}'", a, b))
for name, a, b in items:
    for when, side in ((a - 1, "before"), (b + 1, "after")):
        bad = [n for n, x, y in items if not (x <= when <= y)]
        print(f"{when}\t{name} {side}\t{'|'.join(re.escape(n) for n in bad)}")
PY
while IFS="	" read -r when desc names; do
  check_fails "time $desc its window fails" 1 "($names)[^;]* is (not yet valid|expired) at" verify "$Q" --collateral "$C" --at "$when"
done <"$T/windows"
[ "$(wc -l <"$T/windows")" -ge 14 ] && ok "validity windows tested: $(wc -l <"$T/windows")" || not_ok "too few windows: $(cat "$T/windows")"
late=$(python3 -c "import json;print(max(json.load(open('$T/$V.json'))['collateral_expires'], $AT) + 86400)")
check "--allow-expired-collateral accepts collateral past nextUpdate" verify "$Q" --collateral "$C" --at "$late" --allow-expired-collateral --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['expired_collateral_allowed'] else 1)" "$T/out" \
  && ok "result says expired collateral was allowed" || not_ok "expired_collateral_allowed not set: $(head -c 300 "$T/out")"
"$INITRA" quote verify "$Q" --collateral "$C" --at "$AT" --json >"$T/fresh.json"
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if not o['expired_collateral_allowed'] else 1)" "$T/fresh.json" \
  && ok "fresh collateral: expired_collateral_allowed is false" || not_ok "expired_collateral_allowed set on fresh collateral"

# --- a chain ending at an untrusted root, and the same root named by the caller ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil.key" -out "$T/evil.pem" -days 30 \
  -subj "/CN=Evil Root" -addext basicConstraints=critical,CA:TRUE >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf.key" -out "$T/leaf.csr" -subj "/CN=Evil PCK" >/dev/null 2>&1
openssl x509 -req -in "$T/leaf.csr" -CA "$T/evil.pem" -CAkey "$T/evil.key" -CAcreateserial -days 30 -out "$T/leaf.pem" >/dev/null 2>&1
openssl x509 -in "$T/evil.pem" -outform der -out "$T/evil.der"
python3 - "$Q" "$T/leaf.pem" "$T/evil.pem" "$T/evil.bin" <<'PY'
import struct, sys
q = bytearray(open(sys.argv[1], "rb").read())
chain = open(sys.argv[2], "rb").read() + open(sys.argv[3], "rb").read()
auth = struct.unpack_from("<H", q, 1012)[0]
cert_at = 1014 + auth
out = q[:cert_at] + struct.pack("<HI", 5, len(chain)) + chain
struct.pack_into("<I", out, 432, len(out) - 436)
open(sys.argv[4], "wb").write(out)
PY
check_fails "chain ending at an untrusted root" 1 "PCK certificate chain ends at 'Evil Root', which is not a trusted root" verify "$T/evil.bin" --collateral "$C" --at "$AT"
NOW=$(date +%s)
check_fails "the same root named by the caller anchors the chain, then the collateral's Intel root does not match" 1 \
  "(collateral is signed under 'Intel SGX Root CA' but the PCK certificate chain ends at 'Evil Root'|PCK certificate has no SGX extension)" \
  verify "$T/evil.bin" --collateral "$C" --at "$NOW" --trust-root "$T/evil.der"

# --- usage and unreadable input ---
check_fails "missing quote file" 2 'cannot open' verify "$T/none.bin" --collateral "$C"
check_fails "missing collateral file" 2 'cannot open' verify "$Q" --collateral "$T/none.json"
check_fails "bad --at" 2 "--at 'yesterday' is not a unix time" verify "$Q" --collateral "$C" --at yesterday
check_fails "unknown option" 2 "^initra: quote verify: unknown argument '--frobnicate'; see .initra quote verify --help.$" verify "$Q" --frobnicate
check_fails "--collateral and --pccs together" 2 'exclude each other' verify "$Q" --collateral "$C" --pccs http://127.0.0.1:9
check_fails "unreadable trust root" 2 'trust-root' verify "$Q" --collateral "$C" --trust-root "$T/none.der"
echo '{"tcb_info": 5}' >"$T/badcoll.json"
check_fails "malformed collateral bundle" 1 'collateral: field "pck_crl_issuer_chain" is missing' verify "$Q" --collateral "$T/badcoll.json" --at "$AT"
check_fails "no collateral source configured" 2 'no PCCS configured' env -u PCCS_URL INITRA_QCNL_CONF="$T/none.conf" "$INITRA" quote verify "$Q" --at "$AT"
