# initra quote verify on the simulated platform: the sim root must be named by the caller, the result
# says which root anchored the chain, and the sim's TCB status and advisories come through.
. tests/lib.sh
plan 13  # and 1 with the vectors (or a skip)
export INITRA_SIM_DIR="$T/sim"   # a private platform: this test rebuilds it
sim() { "$INITRA" sim "$@"; }
check "sim quote" sim quote --mrenclave "$(printf '11%.0s' $(seq 32))" -o "$T/q.bin"
check "sim collateral" sim collateral -o "$T/c.json"
check "sim root" sim root -o "$T/root.der"
NOW=$(($(date +%s) + 1))
check "a sim quote verifies with the sim root" "$INITRA" quote verify "$T/q.bin" --collateral "$T/c.json" --trust-root "$T/root.der" --at "$NOW" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['status']=='UpToDate' and o['advisories']==[] and o['root']=='sim' else 1)" "$T/out" \
  && ok "sim quote: UpToDate, no advisories, root sim" || not_ok "sim result: $(head -c 400 "$T/out")"
check_fails "a sim quote without --trust-root fails" 1 "PCK certificate chain ends at 'initra sim SGX Root CA', which is not a trusted root" \
  "$INITRA" quote verify "$T/q.bin" --collateral "$T/c.json" --at "$NOW"
if [ -n "$VECTORS" ]; then
  plan 1
  check_fails "sim collateral with an Intel quote: roots differ" 1 "(collateral is signed under 'initra sim SGX Root CA' but the PCK certificate chain ends at 'Intel SGX Root CA'|PCK CRL is issued by)" \
    "$INITRA" quote verify "$VECTORS/sgx-phala-2025/quote.bin" --collateral "$T/c.json" --trust-root "$T/root.der" --at 1751624924
else skip "sim collateral with an Intel quote: no vectors (tests/vectors.sh)"; fi
python3 -c "import sys;b=bytearray(open(sys.argv[1],'rb').read());b[120]^=1;open(sys.argv[2],'wb').write(b)" "$T/q.bin" "$T/qt.bin"
check_fails "tampered sim quote" 1 'quote signature does not verify with the attestation key' \
  "$INITRA" quote verify "$T/qt.bin" --collateral "$T/c.json" --trust-root "$T/root.der" --at "$NOW"
check "sim init OutOfDate with an advisory" sim init --tcb-status OutOfDate --advisories INTEL-SA-00615
sim quote -o "$T/q2.bin" && sim collateral -o "$T/c2.json" && sim root -o "$T/root2.der"
NOW=$(($(date +%s) + 1))
check "after sim init --tcb-status OutOfDate the quote still verifies" "$INITRA" quote verify "$T/q2.bin" --collateral "$T/c2.json" --trust-root "$T/root2.der" --at "$NOW" --json
python3 -c "import json,sys;o=json.load(open(sys.argv[1]));sys.exit(0 if o['verified'] and o['status']=='OutOfDate' and o['advisories']==['INTEL-SA-00615'] and o['root']=='sim' else 1)" "$T/out" \
  && ok "sim quote: OutOfDate with INTEL-SA-00615" || not_ok "sim result: $(head -c 400 "$T/out")"
check_fails "the old sim root does not anchor the rebuilt platform" 1 "not a trusted root" \
  "$INITRA" quote verify "$T/q2.bin" --collateral "$T/c2.json" --trust-root "$T/root.der" --at "$NOW"
check "sim init Revoked" sim init --tcb-status Revoked
sim quote -o "$T/q3.bin" && sim collateral -o "$T/c3.json" && sim root -o "$T/root3.der"
NOW=$(($(date +%s) + 1))
check_fails "a Revoked platform fails verification" 1 'TCB status Revoked' \
  "$INITRA" quote verify "$T/q3.bin" --collateral "$T/c3.json" --trust-root "$T/root3.der" --at "$NOW"
