# RA-TLS interop with Gramine (issue 12). Certificates shaped as Gramine v1.3, v1.7 and v1.8+ make them
# (tests/helpers/gramine_peer.c, from Gramine's ra_tls_attest.c; quotes from `initra sim quote`) are
# presented by a Python grpcio client to a KMS: accepted, grafted evidence refused. initra's combined
# Occlum+TCG certificate is read by models of Gramine's and Occlum's verifiers and its quote verified.
. tests/lib.sh
plan 25
. scripts/instances.sh
W=$T
export INITRA_SIM_DIR=$T/sim
PY=/usr/bin/python3
GRS="$PY tests/helpers/grsecret.py"
GP=$(dirname "$INITRA")/../helpers/gramine_peer
"$INITRA" sim init >/dev/null && sim_export || { not_ok "sim platform"; exit 1; }
SIGNER=$(printf '5a%.0s' $(seq 32))
OTHER=$(printf '77%.0s' $(seq 32))
ID="--mrsigner $SIGNER --config-svn 1"

# gramine_cert NAME [cert options]: a P-384 key and a Gramine-shaped certificate; legacy quote binds the
# key; with --tcg a TCG quote too (v1.8+); --rsa: an RSA-3072 key (v1.0-v1.3).
gramine_cert() {
  n=$1; shift
  keyopt=; tcg=; opts=
  for a in "$@"; do case "$a" in --rsa) keyopt=--rsa3072;; --tcg) tcg=1;; *) opts="$opts $a";; esac; done
  "$GP" key "$T/$n.key" $keyopt || return 1
  "$INITRA" sim quote $ID --report-data "$("$GP" report-data "$T/$n.key" legacy)" -o "$T/$n.legacy.q" || return 1
  if [ -n "$tcg" ]; then
    "$INITRA" sim quote $ID --report-data "$("$GP" report-data "$T/$n.key" tcg)" -o "$T/$n.tcg.q" || return 1
    "$GP" cert "$T/$n.key" --legacy-quote "$T/$n.legacy.q" --tcg-quote "$T/$n.tcg.q" $opts -o "$T/$n.pem"
  else
    "$GP" cert "$T/$n.key" --legacy-quote "$T/$n.legacy.q" $opts -o "$T/$n.pem"
  fi
}
gramine_cert v18 --tcg && gramine_cert v17 && gramine_cert v13 --rsa && gramine_cert v17i --intended-oid \
  && gramine_cert v18old --tcg --not-before 20150101000000 --not-after 20200101000000 \
  && gramine_cert other --tcg || { not_ok "Gramine-shaped certificates"; exit 1; }
openssl x509 -in "$T/v18.pem" -noout -text >"$T/v18.txt"
grep -q '0.6.9.42.840.113741.1337.6:' "$T/v18.txt" && grep -q '2.23.133.5.4.9:' "$T/v18.txt" \
  && grep -q 'Not After : Dec 31 23:59:59 2030 GMT' "$T/v18.txt" && grep -q 'NIST CURVE: P-384' "$T/v18.txt" \
  && ok "v1.8-shaped certificate: legacy OID as on the wire, TCG OID, P-384, 2001..2030" || not_ok "v1.8 shape: $(cat "$T/v18.txt" | head -30)"
openssl x509 -in "$T/v18.pem" -outform DER | od -An -v -tx1 | tr -d ' \n' | grep -q '060b06092a864886f84d8a39060482' \
  && ok "legacy extension: DER 06 0B 06 09 2A 86 48 86 F8 4D 8A 39 06, then the octet string" || not_ok "legacy DER"

# Grafts, each re-signed by its own key so that only the evidence is wrong.
# v1.8 whose TCG quote binds another key (its legacy quote is right): TCG decides, no fallback.
"$GP" cert "$T/v18.key" --legacy-quote "$T/v18.legacy.q" --tcg-quote "$T/other.tcg.q" -o "$T/g-tcg.pem"
# v1.8 whose legacy quote binds another key (its TCG quote is right): the two must agree.
"$GP" cert "$T/v18.key" --legacy-quote "$T/other.legacy.q" --tcg-quote "$T/v18.tcg.q" -o "$T/g-leg.pem"
# v1.7 with another key's quote.
"$GP" cert "$T/v17.key" --legacy-quote "$T/other.legacy.q" -o "$T/g-v17.pem"
# v1.8 whose legacy quote binds the key but comes from another enclave (another MRSIGNER).
"$INITRA" sim quote --mrsigner "$OTHER" --config-svn 1 --report-data "$("$GP" report-data "$T/v18.key" legacy)" -o "$T/x.q"
"$GP" cert "$T/v18.key" --legacy-quote "$T/x.q" --tcg-quote "$T/v18.tcg.q" -o "$T/g-encl.pem"
# Two legacy extensions (both encodings).
$PY - "$T" <<'PY'
import subprocess, sys
T = sys.argv[1]
q = open(T + "/v17.legacy.q", "rb").read().hex()
subprocess.run(["openssl", "req", "-x509", "-key", T + "/v17.key", "-out", T + "/g-two.pem", "-days", "1", "-subj", "/CN=RATLS",
                "-addext", "0.6.9.42.840.113741.1337.6=DER:" + q, "-addext", "1.2.840.113741.1337.6=DER:" + q], check=True)
PY

# A KMS (host, no attestation of its own) with a policy pinning the MRSIGNER.
printf 'gramine-ok' >"$T/pw"
secrets_conf "$T/secret_config.json" demo_key="$T/pw"
cat >"$T/policy.json" <<PJ
{"identities": {"app": {"mr_signer": "$SIGNER", "min_config_svn": 1}}, "secrets": {"demo_key": ["app"]}}
PJ
HPORT=$(free_port)
"$INITRA" kms serve --listen "127.0.0.1:$HPORT" --insecure-no-attestation --secrets "$T/secret_config.json" \
  --policy "$T/policy.json" --collateral "$T/collateral.json" --trust-root "$T/sim-root.der" >"$T/kms.log" 2>&1 &
HPID=$!
trap 'kill $HPID 2>/dev/null' EXIT
wait_for "$T/kms.log" serving || { not_ok "host KMS: $(cat "$T/kms.log")"; exit 1; }
openssl s_client -connect "127.0.0.1:$HPORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$T/h.pem" 2>/dev/null
get() { $GRS client "127.0.0.1:$HPORT" demo_key --root "$T/h.pem" --override "initra RA-TLS" --cert "$T/$1.pem" --key "$T/$2.key" 2>&1; }
want="\"$(base64 -w0 "$T/pw")\"" # the KMS replies in Occlum's form: quoted base64 (issue 11)
for c in v18=gramine+tcg:"Gramine v1.8+ (legacy + TCG)" v17=gramine:"Gramine v1.4-v1.7 (legacy, P-384)" \
         v13=gramine:"Gramine v1.0-v1.3 (legacy, RSA-3072)" v17i=gramine:"legacy extension under the intended OID 1.2.840.113741.1337.6" \
         v18old=gramine+tcg:"Gramine certificate past its notAfter (Gramine does not check dates)"; do
  n=${c%%=*} f=${c#*=}; f=${f%%:*}
  [ "$(get "$n" "$n")" = "$want" ] && tail -1 "$T/kms.log" | grep -q "ratls=$f asked for \"demo_key\": released" \
    && ok "accepted: ${c#*:}" || not_ok "${c#*:}: $(get "$n" "$n"); $(tail -1 "$T/kms.log")"
done
refused() { # DESC CERT KEY LOGPATTERN
  out=$(get "$2" "$3")
  case "$out" in ERROR\ UNAVAILABLE*|ERROR\ UNAUTHENTICATED*) ;; *) not_ok "$1: not refused: $out"; return;; esac
  if tail -1 "$T/kms.log" | grep -q -- "$4"; then ok "refused: $1: $(tail -1 "$T/kms.log" | sed 's/.*refused[:,] //' | cut -c1-150)"
  else not_ok "$1: log: $(tail -1 "$T/kms.log")"; fi
}
refused "v1.8 with a TCG quote bound to another key" g-tcg v18 "TCG DICE.*does not bind this certificate's key"
refused "v1.8 with a legacy quote bound to another key" g-leg v18 "Gramine legacy.*does not bind this certificate's key"
refused "v1.7 with a quote bound to another key" g-v17 v17 "Gramine legacy.*does not bind this certificate's key"
refused "v1.8 whose two quotes come from different enclaves" g-encl v18 "two quotes are not from the same SGX enclave"
refused "two legacy extensions (both encodings)" g-two v17 "more than one RA-TLS evidence extension of one kind"
grep -q "gramine-ok\|$want" "$T/kms.log" && not_ok "the secret appears in the log" || ok "the secret is not logged"

# initra's own certificates: occlum+tcg (the KMS and init default) read by models of both verifiers.
"$INITRA" sim ratls-cert $ID --format occlum+tcg --key-out "$T/ours.key" --cert-out "$T/ours.pem" \
  && ok "sim ratls-cert --format occlum+tcg" || not_ok "occlum+tcg certificate"
QV="$INITRA quote verify --collateral $T/collateral.json --trust-root $T/sim-root.der"
check_eq "Gramine's verifier (model) reads our combined certificate by its TCG extension" \
  "$("$GP" gramine-verify "$T/ours.pem" -o "$T/ours-g.q" 2>&1)" tcg
check "the quote Gramine's verifier extracts verifies" $QV "$T/ours-g.q"
check_eq "Occlum's verifier (model) reads our combined certificate by its own extension" \
  "$("$GP" occlum-verify "$T/ours.pem" -o "$T/ours-o.q" 2>&1)" occlum
check "the quote Occlum's verifier extracts verifies" $QV "$T/ours-o.q"
[ "$(get ours ours)" = "$want" ] && ok "initra's KMS accepts the combined certificate" || not_ok "ours: $(tail -1 "$T/kms.log")"
# The models are not trivially accepting: Occlum's ignores Gramine's certificates, Gramine's ours in Occlum format.
"$GP" occlum-verify "$T/v18.pem" -o "$T/n.q" 2>"$T/err" && not_ok "Occlum model took a Gramine certificate" \
  || ok "Occlum's verifier (model) finds nothing in a Gramine certificate: $(cut -c1-100 "$T/err")"
"$INITRA" sim ratls-cert $ID --format occlum --key-out "$T/occ.key" --cert-out "$T/occ.pem"
"$GP" gramine-verify "$T/occ.pem" -o "$T/n.q" 2>"$T/err" && not_ok "Gramine model took an Occlum-only certificate" \
  || ok "Gramine's verifier (model) finds nothing in an Occlum-only certificate: $(cut -c1-100 "$T/err")"
"$GP" gramine-verify "$T/g-tcg.pem" -o "$T/n.q" 2>"$T/err" && not_ok "Gramine model fell back to legacy" \
  || ok "Gramine's verifier (model): a failing TCG extension is final: $(cut -c1-100 "$T/err")"
check_eq "Gramine's verifier (model) reads a v1.7 certificate by its legacy extension" \
  "$("$GP" gramine-verify "$T/v17.pem" -o "$T/n.q" 2>&1)" legacy
check_fails "sim ratls-cert --format gramine: one line" 2 "want occlum, tcg or occlum\+tcg" \
  "$INITRA" sim ratls-cert --format gramine --key-out "$T/z.key" --cert-out "$T/z.pem"
[ ! -e "$T/z.key" ] && [ ! -e "$T/z.pem" ] && ok "nothing written for a bad --format" || not_ok "files written"
kill $HPID; wait $HPID 2>/dev/null
