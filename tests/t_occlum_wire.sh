# GRPC-RATLS wire compatibility with unmodified Occlum (issue 11), against peers written from Occlum's
# code (tests/helpers/occlum_peer.py, tests/helpers/occlum_cert.c), not from initra's:
#  - Occlum's client decoding run on initra's KMS's actual replies, per length: exact when L % 3 == 0,
#    else followed by one or two NUL bytes, never writing past its buffer;
#  - initra's init against Occlum's server (quoted replies, CANCELLED for unknown names): byte-exact;
#  - Occlum-shaped certificates (RSA-2048, X.509 v1 with the extension, sha1WithRSA, notBefore = the
#    moment they were made) on both sides, with clock skew up to 5 minutes and no SHA-1 dependence.
. tests/lib.sh
plan 46
. scripts/instances.sh
PY=/usr/bin/python3
PEER="$PY tests/helpers/occlum_peer.py"
OCERT="$(dirname "$INITRA")/../helpers/occlum_cert"
sim_platform
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait' EXIT

# Secrets: lengths 1-12 and 100, all bytes 0x00 (z*) or 0xff (f*).
LENS="1 2 3 4 5 6 7 8 9 10 11 12 100"
NAMES=""; SPECS=""
for L in $LENS; do
  head -c "$L" /dev/zero >"$T/z$L"
  head -c "$L" /dev/zero | tr '\000' '\377' >"$T/f$L"
  NAMES="$NAMES z$L f$L"; SPECS="$SPECS z$L=$T/z$L f$L=$T/f$L"
done
# shellcheck disable=SC2086
secrets_conf "$T/secret_config.json" $SPECS
"$INITRA" new "$T/probe" >/dev/null; "$INITRA" build "$T/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$T/probe" | field)
clients_conf "$T/dynamic_config.json" "$SIGNER" 1
grpc_kms_start  # $T/kms serving $T/secret_config.json to $T/dynamic_config.json; KMS_MRE, PORT
PIDS="$PIDS $KMS_PID"
openssl s_client -connect "127.0.0.1:$PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$T/kms-cert.pem" 2>/dev/null

# ---- 1. Occlum's client decoding on the KMS's actual replies. ----
"$INITRA" sim ratls-cert --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/c.key" --cert-out "$T/c.pem"
# shellcheck disable=SC2086
$PEER client "127.0.0.1:$PORT" $NAMES --root "$T/kms-cert.pem" --override "initra RA-TLS" --cert "$T/c.pem" \
  --key "$T/c.key" >"$T/model.out" 2>"$T/model.err"
check_eq "every reply fetched from the KMS ($(head -c 200 "$T/model.err"))" "$(grep -c GRPC_RATLS_SUCCESS "$T/model.out")" 26
$PY - "$T" "$LENS" "$T/model.out" >"$T/verdicts" <<'PY'
import base64, json, sys
T, lens, out = sys.argv[1], sys.argv[2].split(), sys.argv[3]
got = {j["name"]: j for j in map(json.loads, open(out))}
for L in map(int, lens):
    for p in "zf":
        name = "%s%d" % (p, L)
        data = open("%s/%s" % (T, name), "rb").read()
        j = got.get(name, {})
        want_reply = '"' + base64.b64encode(data).decode() + '"'
        want_kept = (data + b"\0" * ((3 - L % 3) % 3)).hex()
        ok = (j.get("reply") == want_reply and j.get("kept") == want_kept and j.get("overflow") == 0
              and j.get("uninitialized") == 0)
        print("%s %s L=%d: reply %s, Occlum keeps %d bytes (want %d: %s), overflow %s" % (
            "ok" if ok else "bad", name, L, "quoted" if j.get("reply") == want_reply else repr(j.get("reply")),
            len(j.get("kept", "")) // 2, len(want_kept) // 2,
            "exact" if L % 3 == 0 else "the bytes + %d NUL" % ((3 - L % 3) % 3), j.get("overflow")))
PY
while read -r verdict rest; do
  [ "$verdict" = ok ] && ok "Occlum client on the KMS reply $rest" || not_ok "Occlum client on the KMS reply $rest"
done <"$T/verdicts"
check_eq "a verdict for each of the 26 secrets" "$(wc -l <"$T/verdicts")" 26
# The model is faithful to the defect the quoted form avoids: on plain base64 it keeps L-1 bytes and
# writes past its buffer (1 byte: 2 past a 1-byte buffer; 2 bytes: 1 past a 2-byte buffer).
check_eq "model on plain base64 of 1 byte: empty, 2 bytes past the buffer" \
  "$($PEER model "$(base64 -w0 "$T/f1")")" '{"status": "GRPC_RATLS_SUCCESS", "kept": "", "buffer": 1, "written": 3, "overflow": 2, "uninitialized": 0}'
check_eq "model on plain base64 of 2 bytes: 1 byte kept, 1 past the buffer" \
  "$($PEER model "$(base64 -w0 "$T/f2")")" '{"status": "GRPC_RATLS_SUCCESS", "kept": "ff", "buffer": 2, "written": 3, "overflow": 1, "uninitialized": 0}'

# ---- 2. Occlum-shaped client certificates at the KMS. ----
ocert() { # NAME [occlum_cert options]: $T/NAME.pem and $T/NAME.key for the KMS's allowed identity
  n=$1; shift
  "$OCERT" --mrsigner "$SIGNER" --config-svn 1 --key-out "$T/$n.key" --cert-out "$T/$n.pem" "$@"
}
kget() { $PY tests/helpers/grsecret.py client "127.0.0.1:$PORT" "$1" --root "$T/kms-cert.pem" --override "initra RA-TLS" \
  --cert "$T/$2.pem" --key "$T/$2.key" 2>&1; }
ocert occ60 --not-before-offset 60
openssl x509 -in "$T/occ60.pem" -noout -text >"$T/occ60.txt"
grep -q 'Version: 1 (0x0)' "$T/occ60.txt" && grep -q 'Signature Algorithm: sha1WithRSAEncryption' "$T/occ60.txt" \
  && grep -q 'Public-Key: (2048 bit)' "$T/occ60.txt" && grep -q '1.2.840.113741.1:' "$T/occ60.txt" \
  && ok "the Occlum-shaped certificate: X.509 v1 with the extension, RSA-2048, sha1WithRSA" || not_ok "cert shape: $(head -20 "$T/occ60.txt")"
check_eq "KMS: Occlum-shaped client certificate with notBefore = now+60s accepted" "$(kget z3 occ60)" '"AAAA"'
ocert occ600 --not-before-offset 600
case "$(kget z3 occ600)" in ERROR\ UNAVAILABLE*) ok "KMS: notBefore = now+10min refused";; *) not_ok "KMS: +10min: $(kget z3 occ600)";; esac
grep -q 'handshake refused: peer certificate is outside its validity period (its notBefore is more than 300 s ahead' "$T/kms.log" \
  && ok "KMS log names the notBefore skew" || not_ok "KMS log: $(tail -2 "$T/kms.log")"
ocert occbad --corrupt-signature
check_eq "KMS: an Occlum-format SHA-1 certificate's self-signature is not checked (the quote binds the key)" \
  "$(kget z3 occbad)" '"AAAA"'
ocert s256bad --digest sha256 --corrupt-signature
case "$(kget z3 s256bad)" in ERROR\ UNAVAILABLE*) ok "KMS: a SHA-256 self-signature that does not verify is refused";; *) not_ok "sha256 bad sig accepted";; esac
grep -q 'handshake refused: peer certificate: its self-signature does not verify' "$T/kms.log" \
  && ok "KMS log: self-signature" || not_ok "KMS log: $(tail -2 "$T/kms.log")"

# ---- 3. initra's init against Occlum's server, and against initra's KMS: byte-exact. ----
OMRE=$(printf '5a%.0s' $(seq 32))
occlum_server() { # NAME CERT-NAME [SECRET_CONFIG]: Occlum's server with that certificate; sets OPORT
  $PY tests/helpers/occlum_peer.py server "$T/$1.port" "${3:-$T/secret_config.json}" --cert "$T/$2.pem" --key "$T/$2.key" \
    2>"$T/$1.err" &
  PIDS="$PIDS $!"
  i=0; while [ ! -s "$T/$1.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  OPORT=$(cat "$T/$1.port")
}
"$OCERT" --mrenclave "$OMRE" --not-before-offset 60 --key-out "$T/srv.key" --cert-out "$T/srv.pem"
occlum_server occ srv
check "Occlum's server model started ($(head -c 200 "$T/occ.err"))" test -n "$OPORT"
KEYSPEC=""; for n in $NAMES; do KEYSPEC="$KEYSPEC $n=/keys/$n"; done
fetch_all() { # INSTANCE PORT MRENCLAVE: init fetches every secret, the program lists sha256 and size of each
  # shellcheck disable=SC2086
  init_conf "$T/$1.json" "$2" "$3" $KEYSPEC
  app_instance "$T/$1" "$T/$1.json" --init-ra || return 1
  "$INITRA" run "$T/$1" --config-svn 1 -- /bin/busybox sh -c \
    'for f in /keys/*; do echo "$(busybox basename "$f") $(busybox sha256sum "$f" | cut -c1-64)"; done' \
    >"$T/$1.out" 2>"$T/$1.err"
}
exact() { # INSTANCE PORT MRENCLAVE DESC
  fetch_all "$1" "$2" "$3" || { not_ok "$4: init failed: $(head -c 400 "$T/$1.err")"; return; }
  bad=""
  for n in $NAMES; do grep -qx "$n $(sha256sum "$T/$n" | cut -c1-64)" "$T/$1.out" || bad="$bad $n"; done
  [ -z "$bad" ] && ok "initra init from $4: all 26 secrets (1-12 and 100 bytes of 0x00 and 0xff) byte-exact" \
    || not_ok "initra init from $4: wrong:$bad ($(head -c 300 "$T/$1.out" "$T/$1.err"))"
}
exact a1 "$OPORT" "$OMRE" "Occlum's server (quoted replies; its certificate notBefore = now+60s)"
exact a2 "$PORT" "$KMS_MRE" "initra's KMS"

init_conf "$T/u1.json" "$OPORT" "$OMRE" z3=/keys/z3 ghost=/keys/ghost
try_init u1 "$T/u1.json" >"$T/u1.out"
expect_refusal "Occlum's server CANCELLED for an unknown name" "$T/u1.out" \
  'the KMS cancelled the call for key "ghost" \(Occlum.s server does so for a name it does not have: check kms_keys\[1\]\.key'
"$OCERT" --mrenclave "$OMRE" --not-before-offset 600 --key-out "$T/srv600.key" --cert-out "$T/srv600.pem"
occlum_server occ600 srv600
init_conf "$T/u2.json" "$OPORT" "$OMRE" z3=/keys/z3
try_init u2 "$T/u2.json" >"$T/u2.out"
expect_refusal "Occlum's server with notBefore = now+10min refused" "$T/u2.out" \
  'refused: its evidence does not satisfy ra_config: peer certificate is outside its validity period \(its notBefore is more than 300 s ahead'
# Replies that are not (quoted) canonical padded base64: one line, nothing written (not even z3, which arrived).
echo '{"z3": "AAAA", "bad": "not base64!", "unpadded": "QQ", "loose": "QR=="}' >"$T/bad_config.json"
occlum_server occbad srv "$T/bad_config.json"
for case in 'bad:character . . at position 3 is not in the base64 alphabet' \
    "unpadded:2 base64 characters without the '=' padding" 'loose:not canonical base64'; do
  nm=${case%%:*}
  init_conf "$T/b-$nm.json" "$OPORT" "$OMRE" z3=/keys/z3 "$nm=/keys/$nm"
  try_init "b-$nm" "$T/b-$nm.json" >"$T/b-$nm.out"
  expect_refusal "reply for \"$nm\" refused" "$T/b-$nm.out" \
    "init: key \"$nm\": the KMS reply's secret is not \(quoted\) padded base64: ${case#*:}"
done
