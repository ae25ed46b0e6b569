#!/bin/sh
# make demo: the end-to-end flow on the simulated SGX platform, each step printed.
set -eu
B=${INITRA_BUILD:-build}
INITRA="$(pwd)/$B/bin/initra"
D="$(pwd)/$B/demo"
rm -rf "$D"
mkdir -p "$D"
export INITRA_SIM_DIR="$D/sim"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A simulated SGX platform: sim root CA, PCK chain, QE key and signed collateral (in $INITRA_SIM_DIR)"
run "$INITRA" sim init --tcb-status UpToDate
ls -l "$INITRA_SIM_DIR"

step "2. A quote for an enclave identity with all four KSS fields set"
CONFIG_ID=$(printf 'demo configuration v1' | openssl dgst -sha512 -binary | base64 -w0)
run "$INITRA" sim quote --mrenclave "$(printf 'demo-app' | openssl dgst -sha256 -r | cut -c1-64)" \
    --mrsigner "$(printf 'demo-signer' | openssl dgst -sha256 -r | cut -c1-64)" --isv-prod-id 1 --isv-svn 2 \
    --family-id 00112233445566778899aabbccddeeff --ext-prod-id 0102030405060708090a0b0c0d0e0f10 \
    --config-id "$CONFIG_ID" --config-svn 0x12ab --report-data 48656c6c6f -o "$D/app.quote"
echo "wrote $D/app.quote ($(wc -c <"$D/app.quote") bytes, DCAP v3 format)"

step "3. Every field of the quote, as a verifier sees it"
run "$INITRA" quote dump "$D/app.quote"

step "4. The PCK certificate chain in the quote verifies against the sim root with OpenSSL itself"
run "$INITRA" sim root -o "$D/sim-root.der"
openssl x509 -inform DER -in "$D/sim-root.der" -out "$D/sim-root.pem"
python3 - "$D/app.quote" "$D" <<'PY'
import sys
q = open(sys.argv[1], 'rb').read()
pems = q[q.find(b'-----BEGIN CERTIFICATE-----'):].split(b'-----END CERTIFICATE-----')
open(sys.argv[2] + '/pck-leaf.pem', 'wb').write(pems[0] + b'-----END CERTIFICATE-----\n')
open(sys.argv[2] + '/pck-ca.pem', 'wb').write(pems[1].lstrip() + b'-----END CERTIFICATE-----\n')
PY
run openssl verify -CAfile "$D/sim-root.pem" -untrusted "$D/pck-ca.pem" "$D/pck-leaf.pem"
openssl x509 -in "$D/pck-leaf.pem" -noout -text | grep -A1 '1.2.840.113741.1.13.1' | head -2

if "$INITRA" quote verify --help >/dev/null 2>&1; then
  step "5. Full DCAP verification of the quote with the sim root named as trust anchor"
  run "$INITRA" sim collateral -o "$D/collateral.json"
  run "$INITRA" quote verify "$D/app.quote" --collateral "$D/collateral.json" --trust-root "$D/sim-root.der"
fi

step "Done. Files are in $D"
