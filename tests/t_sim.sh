# initra sim: certificates and CRLs read by the openssl tool, the chain verified by `openssl verify`,
# KSS values dumped back exactly, every bad input a one-line usage error with nothing written, and
# `sim init --tcb-status` reaching the TCB info.
. tests/lib.sh
plan 97  # and 1 with the vectors (or a skip)

check "sim root -o FILE" "$INITRA" sim root -o "$T/root.der"
check "sim collateral -o FILE" "$INITRA" sim collateral -o "$T/coll.json"
check "sim quote -o FILE" "$INITRA" sim quote -o "$T/q.bin"
"$INITRA" sim root -o - >"$T/root-stdout.der"
cmp -s "$T/root.der" "$T/root-stdout.der" && ok "sim root -o - writes the same DER to stdout" || not_ok "sim root -o - differs"
openssl x509 -inform DER -in "$T/root.der" -out "$T/root.pem" 2>"$T/err" && ok "root is DER" || not_ok "root is not DER: $(cat "$T/err")"

# Split the quote's PCK chain and the bundle's chains and CRLs into files.
python3 - "$T" <<'PY'
import json, re, sys
t = sys.argv[1]
q = open(f"{t}/q.bin", "rb").read()
pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", q, re.S)
for name, pem in zip(["leaf", "inter", "qroot"], pems):
    open(f"{t}/{name}.pem", "wb").write(pem)
c = json.load(open(f"{t}/coll.json"))
tcb = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", c["tcb_info_issuer_chain"], re.S)
open(f"{t}/tcbsign.pem", "w").write(tcb[0])
open(f"{t}/root_ca_crl.der", "wb").write(bytes.fromhex(c["root_ca_crl"]))
open(f"{t}/pck_crl.der", "wb").write(bytes.fromhex(c["pck_crl"]))
PY
cmp -s "$T/root.pem" "$T/qroot.pem" && ok "the quote's chain ends at the sim root" || not_ok "the quote's chain root is not the sim root"
for c in leaf inter qroot tcbsign; do
  if openssl x509 -in "$T/$c.pem" -noout -text >"$T/$c.txt" 2>"$T/err"; then ok "openssl x509 -text reads $c"
  else not_ok "openssl x509 -text cannot read $c: $(cat "$T/err")"; fi
  grep -q 'O = initra simulated SGX' "$T/$c.txt" && ok "$c names O = initra simulated SGX" || not_ok "$c subject is not the sim's"
done
grep -q '1\.2\.840\.113741\.1\.13\.1' "$T/leaf.txt" && ok "PCK leaf shows the SGX extension 1.2.840.113741.1.13.1" \
  || not_ok "PCK leaf has no SGX extension"
for c in inter qroot tcbsign; do
  grep -q '1\.2\.840\.113741\.1\.13\.1' "$T/$c.txt" && not_ok "$c carries the SGX extension" || ok "$c has no SGX extension"
done
# quote dump --pck: the extension decoded by initra agrees with the collateral's TCB info (FMSPC, PCE-ID)
# and the quote's own header and report (PCESVN, CPUSVN)
check "quote dump --pck --json of a sim quote" "$INITRA" quote dump --pck --json "$T/q.bin"
cp "$T/out" "$T/pck.json"
"$INITRA" quote dump --json "$T/q.bin" >"$T/qd.json"
res=$(python3 - "$T/pck.json" "$T/coll.json" "$T/qd.json" <<'PY'
import json, sys
p, c, q = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
tcb = json.loads(c["tcb_info"])
want = {"fmspc": tcb["fmspc"].upper(), "pce_id": tcb["pceId"].upper(), "pce_svn": q["pce_svn"], "cpu_svn": q["cpu_svn"],
        "sgx_type": "Standard", "subject": "initra sim SGX PCK Certificate", "issuer": "initra sim SGX PCK Processor CA"}
bad = [f"{k}: got {p.get(k)!r} want {v!r}" for k, v in want.items() if p.get(k) != v]
print("; ".join(bad) if bad else f"OK {len(want)} fields")
PY
)
case "$res" in OK*) ok "quote dump --pck: $res";; *) not_ok "quote dump --pck: $res";; esac
check "quote dump --pck (human)" "$INITRA" quote dump --pck "$T/q.bin"
grep -q "^  fmspc  *$(python3 -c "import json;print(json.load(open('$T/pck.json'))['fmspc'])")$" "$T/out" && grep -q '^  sgx_type  *Standard (0)$' "$T/out" \
  && ok "human --pck output labels fmspc and sgx_type" || not_ok "human --pck output: $(head -c 400 "$T/out")"
grep -q '[^[:print:]]' "$T/out" && not_ok "human --pck output has unprintable bytes" || ok "human --pck output is printable text"
python3 -c "import sys;b=open(sys.argv[1],'rb').read();open(sys.argv[2],'wb').write(b.replace(b'BEGIN CERTIFICATE',b'BEGIN CERTIFICATX'))" "$T/q.bin" "$T/nopem.bin"
check_fails "quote dump --pck: no readable PEM certificate" 1 'nopem.bin: quote: certification data \([0-9]+ bytes\) holds no readable PEM certificate' \
  "$INITRA" quote dump --pck "$T/nopem.bin"
python3 - "$T/q.bin" "$T/noleaf.bin" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
p = b.index(b"-----BEGIN CERTIFICATE-----")          # type (2) and size (4) precede the PEM chain
chain = b[p:p + struct.unpack_from("<I", b, p - 4)[0]]
rest = chain[chain.index(b"-----END CERTIFICATE-----") + 26:]  # the chain without its PCK leaf
out = bytearray(b[:p - 4] + struct.pack("<I", len(rest)) + rest)
struct.pack_into("<I", out, 432, len(out) - 436)     # v3 signature_data_len
open(sys.argv[2], "wb").write(out)
PY
check "the chain without its PCK leaf still parses as a quote" "$INITRA" quote dump "$T/noleaf.bin"
check_fails "quote dump --pck: a chain whose first certificate is a CA has no SGX extension" 1 \
  'noleaf.bin: PCK certificate has no SGX extension \(1\.2\.840\.113741\.1\.13\.1\)' "$INITRA" quote dump --pck "$T/noleaf.bin"
grep -q 'CN = initra sim SGX PCK Certificate' "$T/leaf.txt" && grep -q 'Issuer: CN = initra sim SGX PCK Processor CA' "$T/leaf.txt" \
  && ok "leaf is 'initra sim SGX PCK Certificate' issued by the Processor CA" || not_ok "leaf names"
grep -q 'CA:TRUE' "$T/qroot.txt" && grep -q 'Certificate Sign, CRL Sign' "$T/qroot.txt" && ok "root is a CA with keyCertSign, cRLSign" \
  || not_ok "root lacks CA:TRUE / keyCertSign+cRLSign"
for crl in root_ca_crl pck_crl; do
  check "openssl crl -inform DER reads $crl" openssl crl -inform DER -in "$T/$crl.der" -noout -text
  grep -q 'Next Update' "$T/out" && ok "$crl has a nextUpdate" || not_ok "$crl has no nextUpdate"
done
check "openssl verify: PCK leaf + Processor CA against the sim root" \
  openssl verify -CAfile "$T/root.pem" -untrusted "$T/inter.pem" "$T/leaf.pem"
check "openssl verify with both CRLs" openssl verify -crl_check_all -CRLfile "$T/root_ca_crl.der" -CRLfile "$T/pck_crl.der" \
  -CAfile "$T/root.pem" -untrusted "$T/inter.pem" "$T/leaf.pem"
check "openssl verify: TCB signing certificate against the sim root" openssl verify -CAfile "$T/root.pem" "$T/tcbsign.pem"
if [ -n "$VECTORS" ]; then
  plan 1
  openssl verify -CAfile "$VECTORS/IntelSGXRootCA.der" -untrusted "$T/inter.pem" "$T/leaf.pem" >/dev/null 2>&1 \
    && not_ok "sim chain verifies against Intel's root" || ok "sim chain does not verify against Intel's root"
else skip "the sim chain against Intel's root: no vectors (tests/vectors.sh)"; fi

# KSS values and the identity dump back exactly.
CFG_B64=$(python3 -c 'import os,base64;print(base64.b64encode(os.urandom(64)).decode())')
MRE=$(python3 -c 'import os;print(os.urandom(32).hex())')
MRS=$(python3 -c 'import os;print(os.urandom(32).hex())')
RD=$(python3 -c 'import os;print(os.urandom(40).hex())')
check "sim quote with KSS values" "$INITRA" sim quote --mrenclave "$MRE" --mrsigner "$MRS" --isv-prod-id 0x1234 --isv-svn 7 \
  --config-id "$CFG_B64" --config-svn 65535 --family-id 00112233445566778899aabbccddeeff \
  --ext-prod-id FFEEDDCCBBAA99887766554433221100 --report-data "$RD" -o "$T/kss.bin"
check "quote dump --json of the sim quote" "$INITRA" quote dump --json "$T/kss.bin"
res=$(python3 - "$T/out" "$CFG_B64" "$MRE" "$MRS" "$RD" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
want = {"version": 3, "att_key_type": 2, "tee_type": 0, "qe_vendor_id": b"initra.sim.qe.v1".hex(),
        "config_id": base64.b64decode(sys.argv[2]).hex(), "config_svn": 65535, "mr_enclave": sys.argv[3],
        "mr_signer": sys.argv[4], "isv_prod_id": 0x1234, "isv_svn": 7,
        "isv_family_id": "00112233445566778899aabbccddeeff", "isv_ext_prod_id": "ffeeddccbbaa99887766554433221100",
        "report_data": sys.argv[5] + "00" * 24, "attributes": {"flags": 0x85, "xfrm": 0xe7}, "kss": True,
        "debug": False, "misc_select": 0}
bad = [f"{k}: got {d.get(k)!r} want {v!r}" for k, v in want.items() if d.get(k) != v]
print("; ".join(bad) if bad else f"OK {len(want)} fields")
PY
)
case "$res" in OK*) ok "sim quote dumps back: $res";; *) not_ok "sim quote dump: $res";; esac
cp "$T/kss.bin" "$T/kss.keep"

check "sim quote --debug --kss (no values) to stdout" sh -c "\"$INITRA\" sim quote --debug --kss -o - >\"$T/dbg.bin\""
"$INITRA" quote dump --json "$T/dbg.bin" | python3 -c '
import json,sys; d=json.load(sys.stdin)
sys.exit(0 if d["attributes"]["flags"] == 0x87 and d["debug"] and d["kss"] and d["report_data"] == "00"*64 else 1)' \
  && ok "--debug --kss set DEBUG and KSS; report_data defaults to zeros" || not_ok "--debug --kss flags"
check "sim quote --config-svn 0 (KSS by a zero value)" "$INITRA" sim quote --config-svn 0 -o "$T/k0.bin"
"$INITRA" quote dump --json "$T/k0.bin" | grep -q '"kss": true' && ok "any KSS option sets the KSS attribute" || not_ok "KSS not set by --config-svn 0"

# Bad input: exit 2, one line naming the option and value, nothing written.
bad() { # DESC REGEX ARGS...
  d=$1; pat=$2; shift 2
  rm -f "$T/bad.bin"
  check_fails "$d" 2 "$pat" "$INITRA" sim quote "$@" -o "$T/bad.bin"
  [ ! -e "$T/bad.bin" ] && ok "$d: nothing written" || not_ok "$d: an output file was written"
}
bad "config-id not base64" "--config-id 'abc\*def'.*not in the base64 alphabet" --config-id 'abc*def'
bad "config-id over 64 bytes" "--config-id '[A]+': decodes to 66 bytes" --config-id "$(python3 -c 'import base64;print(base64.b64encode(bytes(66)).decode())')"
bad "config-svn above 65535" "--config-svn '65536'" --config-svn 65536
bad "config-svn not a number" "--config-svn '12a'" --config-svn 12a
bad "isv-svn above 65535" "--isv-svn '70000'" --isv-svn 70000
bad "isv-prod-id negative" "--isv-prod-id '-1'" --isv-prod-id -1
bad "isv-prod-id empty" "--isv-prod-id ''" --isv-prod-id ''
bad "isv-svn with a leading zero (octal under strtoul)" "^initra: sim quote: --isv-svn: '007' has a leading zero: .*octal 7, initra would read decimal 7" --isv-svn 007
bad "config-svn with a leading zero" "sim quote: --config-svn: '0123' has a leading zero: .*octal 83.*write 123" --config-svn 0123
bad "isv-prod-id with a leading zero" "sim quote: --isv-prod-id: '010' has a leading zero" --isv-prod-id 010
bad "mrenclave too short" "--mrenclave 'abcd'.*64 hex digits" --mrenclave abcd
bad "mrsigner non-hex" "--mrsigner 'zz.*64 hex digits" --mrsigner "zz$(python3 -c 'print("0"*62)')"
bad "family-id wrong length" "--family-id '0011'.*32 hex digits" --family-id 0011
bad "ext-prod-id non-hex" "--ext-prod-id 'g0.*32 hex digits" --ext-prod-id "g0$(python3 -c 'print("0"*30)')"
bad "report-data too long" "--report-data '.*128" --report-data "$(python3 -c 'print("0"*130)')"
bad "report-data odd length" "--report-data 'abc'" --report-data abc
bad "unknown option" "unknown argument '--bogus'" --bogus
rm -f "$T/bad.bin"
check_fails "missing value" 2 "option --mrenclave needs a value" "$INITRA" sim quote -o "$T/bad.bin" --mrenclave
[ ! -e "$T/bad.bin" ] && ok "missing value: nothing written" || not_ok "missing value: an output file was written"
check_fails "sim quote without -o" 2 "-o FILE is required" "$INITRA" sim quote
check_fails "sim root without -o" 2 "sim root: -o FILE is required" "$INITRA" sim root
check_fails "unknown sim subcommand" 2 "sim: unknown subcommand 'bogus'" "$INITRA" sim bogus
cmp -s "$T/kss.bin" "$T/kss.keep" && ok "failed runs left earlier output alone" || not_ok "an earlier output changed"

# sim init in a private platform directory (the run's shared platform stays UpToDate).
export INITRA_SIM_DIR="$T/private-sim"
check "sim init --tcb-status OutOfDate --advisories INTEL-SA-00615" "$INITRA" sim init --tcb-status OutOfDate --advisories INTEL-SA-00615
[ "$(stat -c %a "$INITRA_SIM_DIR")" = 700 ] && ok "platform directory is 0700" || not_ok "platform directory mode $(stat -c %a "$INITRA_SIM_DIR")"
[ "$(stat -c %a "$INITRA_SIM_DIR/attest.key")" = 600 ] && ok "attestation key is 0600" || not_ok "attest.key mode"
check "sim collateral after init" "$INITRA" sim collateral -o "$T/ood.json"
python3 - "$T/ood.json" <<'PY' && ok "TCB info: UpToDate level first, then OutOfDate with INTEL-SA-00615" || not_ok "TCB info lacks the chosen status/advisory"
import json, sys
t = json.loads(json.load(open(sys.argv[1]))["tcb_info"])
lv = t["tcbLevels"]
assert [l["tcbStatus"] for l in lv] == ["UpToDate", "OutOfDate"], lv
assert lv[1]["advisoryIDs"] == ["INTEL-SA-00615"]
assert "advisoryIDs" not in lv[0]
PY
"$INITRA" sim root -o "$T/root2.der"
cmp -s "$T/root.der" "$T/root2.der" && not_ok "private platform shares the run's root" || ok "a rebuilt platform has its own root"
check_fails "unknown TCB status" 2 "TCB status 'Bogus' is not one of UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked" \
  "$INITRA" sim init --tcb-status Bogus
check_fails "malformed advisory list" 2 "advisory ID '' in 'A,,B'" "$INITRA" sim init --advisories 'A,,B'
"$INITRA" sim root -o "$T/root3.der"
cmp -s "$T/root2.der" "$T/root3.der" && ok "a rejected sim init leaves the platform alone" || not_ok "a rejected sim init changed the platform"
for s in UpToDate SWHardeningNeeded ConfigurationNeeded ConfigurationAndSWHardeningNeeded OutOfDateConfigurationNeeded Revoked; do
  "$INITRA" sim init --tcb-status $s >/dev/null && "$INITRA" sim collateral -o - |
    python3 -c "import json,sys;t=json.loads(json.load(sys.stdin)['tcb_info']);sys.exit(0 if t['tcbLevels'][-1]['tcbStatus']=='$s' else 1)" \
    && ok "sim init --tcb-status $s" || not_ok "sim init --tcb-status $s"
done
