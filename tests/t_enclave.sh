# initra new / build / print / config-id / run: instances holding Debian's static busybox.
. tests/lib.sh
plan 111  # and 1 per flavour compared with the seed (or a skip)
export INITRA_SIGN_KEY_DIR="$T/keys"
REF="${INITRA_REFERENCE:-${VECTORS:+$VECTORS/../../reference}}"  # "": no seed to compare with (tests/vectors.sh)
BB=/bin/busybox

# ---- new ----
check "new creates an instance" "$INITRA" new "$T/a"
[ -f "$T/a/Occlum.json" ] && [ -d "$T/a/image" ] && [ ! -e "$T/a/init_ra_conf.json" ] && ok "Occlum.json and image/" || not_ok "new layout"
check_fails "new refuses an existing instance" 2 'already exists and is not an empty directory' "$INITRA" new "$T/a"
check_fails "new refuses an unknown init-ra flavour" 2 "--init-ra 'grpc' is not a known flavour" "$INITRA" new "$T/x" --init-ra grpc
for fl in grpc_ratls aecs; do
  check "new --init-ra $fl" "$INITRA" new "$T/ra-$fl" --init-ra "$fl"
  if [ -z "$REF" ]; then skip "init_ra_conf.json for $fl against the seed: no reference (tests/vectors.sh)"; continue; fi
  plan 1
  res=$(python3 - "$REF/seed-occlum-init-ra.txt" "$fl" "$T/ra-$fl/init_ra_conf.json" <<'PY'
import sys
seed = open(sys.argv[1]).read()
head = {"aecs": "AECS Init-RA", "grpc_ratls": "GRPC-RATLS Init-RA"}[sys.argv[2]]
rest = seed[seed.index(head):]
start = rest.index("\n{\n") + 1
end = rest.index("\n}\n", start) + 3
want, got = rest[start:end], open(sys.argv[3]).read()
print("same" if want == got else "differs")
PY
)
  check_eq "init_ra_conf.json for $fl is the seed's template byte for byte" "$res" same
done

# ---- build ----
mkinst() { # DIR [metadata python dict update] -- a built-able busybox instance
  d=$1; shift
  "$INITRA" new "$d" >/dev/null && cp "$BB" "$d/image/bin/busybox" && ln -s busybox "$d/image/bin/sh" &&
    ln -s busybox "$d/image/bin/cat" && ln -s busybox "$d/image/bin/ls"
  if [ $# -gt 0 ]; then
    python3 - "$d/Occlum.json" "$1" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); upd = json.loads(sys.argv[2])
for k, v in upd.items():
    (j if k in ("config_binding",) else j["metadata"])[k] = v
json.dump(j, open(p, "w"), indent=4)
PY
  fi
}
KSS='{"enable_kss": true, "product_id": 7, "version_number": 3, "family_id": {"high": "0x12345678aabbccdd", "low": "0x87654321ffeeccbb"}, "ext_prod_id": {"high": "0x2244668811335577", "low": "0x1234567801020304"}}'
mkinst "$T/k" "$KSS"
check "build a KSS instance (dev key generated)" "$INITRA" build "$T/k"
grep -q "generated a development signing key at $T/keys/dev-sign-key.pem" "$T/err" && ok "dev key path printed" || not_ok "dev key path not printed: $(cat "$T/err")"
check_eq "dev key is 0600" "$(stat -c %a "$T/keys/dev-sign-key.pem")" 600
check_eq "enclave.sig is 1808 bytes" "$(stat -c %s "$T/k/build/enclave.sig")" 1808
xml() { sed -n "s|.*<$2>\(.*\)</$2>.*|\1|p" "$1/build/Enclave.xml"; }
check_eq "Enclave.xml ISVFAMILYID_H" "$(xml "$T/k" ISVFAMILYID_H)" "$(python3 -c 'print(0x12345678aabbccdd)')"
check_eq "Enclave.xml ISVFAMILYID_L" "$(xml "$T/k" ISVFAMILYID_L)" "$(python3 -c 'print(0x87654321ffeeccbb)')"
check_eq "Enclave.xml ISVEXTPRODID_H" "$(xml "$T/k" ISVEXTPRODID_H)" "$(python3 -c 'print(0x2244668811335577)')"
check_eq "Enclave.xml ISVEXTPRODID_L" "$(xml "$T/k" ISVEXTPRODID_L)" "$(python3 -c 'print(0x1234567801020304)')"
check_eq "Enclave.xml EnableKSS ProdID ISVSVN DisableDebug" \
  "$(xml "$T/k" EnableKSS) $(xml "$T/k" ProdID) $(xml "$T/k" ISVSVN) $(xml "$T/k" DisableDebug)" "1 7 3 0"
mkinst "$T/nokss" '{"enable_kss": false, "debuggable": false, "family_id": {"high": "0x12345678aabbccdd", "low": "0x1"}, "ext_prod_id": {"high": "0x5", "low": "0x6"}}'
check "build with enable_kss false" "$INITRA" build "$T/nokss"
check_eq "Enclave.xml zeros with enable_kss false" \
  "$(xml "$T/nokss" EnableKSS) $(xml "$T/nokss" ISVFAMILYID_H) $(xml "$T/nokss" ISVFAMILYID_L) $(xml "$T/nokss" ISVEXTPRODID_H) $(xml "$T/nokss" ISVEXTPRODID_L) $(xml "$T/nokss" DisableDebug)" \
  "0 0 0 0 0 1"

# SIGSTRUCT checked independently: openssl verifies the PKCS#1 v1.5 SHA-256 signature over bytes
# 0..127 || 900..1027 with the key's public half; Python recomputes Q1, Q2 and reads the fields.
openssl rsa -in "$T/keys/dev-sign-key.pem" -pubout -out "$T/dev-pub.pem" 2>/dev/null
python3 - "$T/k/build/enclave.sig" "$T" <<'PY'
import sys
b = open(sys.argv[1], "rb").read(); t = sys.argv[2]
open(t + "/signed.bin", "wb").write(b[0:128] + b[900:1028])
open(t + "/sig.be", "wb").write(b[516:900][::-1])
open(t + "/mod.hex", "w").write(b[128:512][::-1].hex().upper())
PY
check "openssl verifies the SIGSTRUCT signature" openssl dgst -sha256 -verify "$T/dev-pub.pem" -signature "$T/sig.be" "$T/signed.bin"
check_eq "SIGSTRUCT modulus is the key's, little-endian" "$(cat "$T/mod.hex")" \
  "$(openssl rsa -in "$T/keys/dev-sign-key.pem" -noout -modulus 2>/dev/null | sed 's/^Modulus=//')"
res=$(python3 - "$T/k/build/enclave.sig" <<'PY'
import sys, struct
b = open(sys.argv[1], "rb").read()
le = lambda o, n: int.from_bytes(b[o:o + n], "little")
N, S, Q1, Q2 = le(128, 384), le(516, 384), le(1040, 384), le(1424, 384)
bad = []
if b[0:16].hex() != "06000000e10000000000010000000000": bad.append("header")
if b[24:40].hex() != "01010000600000006000000001000000": bad.append("header2")
if le(512, 4) != 3: bad.append("exponent")
if Q1 != S * S // N: bad.append("Q1")
if Q2 != (S ** 3 - Q1 * S * N) // N: bad.append("Q2")
flags = le(928, 8)
if not flags & 0x80 or not flags & 0x02: bad.append("attributes %x" % flags)
if b[912:928].hex() != "bbcceeff21436587ddccbbaa78563412": bad.append("isvfamilyid " + b[912:928].hex())
if b[1008:1024].hex() != "04030201785634127755331188664422": bad.append("isvextprodid " + b[1008:1024].hex())
if le(1024, 2) != 7 or le(1026, 2) != 3: bad.append("prodid/svn")
print(", ".join(bad) or "ok")
PY
)
check_eq "SIGSTRUCT header, exponent, Q1, Q2, KSS/DEBUG, family/ext-prod ids (low LE then high LE)" "$res" ok
nokss_flags=$(python3 -c "import sys;b=open(sys.argv[1],'rb').read();print(int.from_bytes(b[928:936],'little'), b[912:928].hex())" "$T/nokss/build/enclave.sig")
check_eq "KSS off: no KSS/DEBUG bit, zero family id" "$nokss_flags" "4 00000000000000000000000000000000"
mrs=$(python3 -c "import sys,hashlib;print(hashlib.sha256(open(sys.argv[1],'rb').read()[128:512]).hexdigest())" "$T/k/build/enclave.sig")
check_eq "print mrsigner DIR = SHA-256 of the LE modulus" "$("$INITRA" print mrsigner "$T/k")" "$mrs"
check_eq "print mrsigner --key (private PEM)" "$("$INITRA" print mrsigner --key "$T/keys/dev-sign-key.pem")" "$mrs"
check_eq "print mrsigner --key (public PEM)" "$("$INITRA" print mrsigner --key "$T/dev-pub.pem")" "$mrs"
check_eq "print mrenclave = ENCLAVEHASH" "$("$INITRA" print mrenclave "$T/k")" \
  "$(python3 -c "import sys;print(open(sys.argv[1],'rb').read()[960:992].hex())" "$T/k/build/enclave.sig")"
m1=$("$INITRA" print mrenclave "$T/k")
check "rebuild" "$INITRA" build "$T/k"
check_eq "rebuilding an unchanged image keeps MRENCLAVE" "$("$INITRA" print mrenclave "$T/k")" "$m1"

# user keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -pkeyopt rsa_keygen_pubexp:3 -out "$T/k2.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out "$T/k2048.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/k65537.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
mkinst "$T/u" "$KSS"
check "build --sign-key (user's RSA-3072 e=3)" "$INITRA" build "$T/u" --sign-key "$T/k2.pem"
check_eq "print mrsigner --key K = the instance's MRSIGNER" "$("$INITRA" print mrsigner --key "$T/k2.pem")" "$("$INITRA" print mrsigner "$T/u")"
check_fails "RSA-2048 key refused" 1 'k2048.pem: is a 2048-bit RSA key with exponent 3; SGX signing needs RSA-3072 with exponent 3' "$INITRA" build "$T/u" --sign-key "$T/k2048.pem"
check_fails "exponent 65537 refused" 1 'k65537.pem: is a 3072-bit RSA key with exponent 65537; SGX signing needs RSA-3072 with exponent 3' "$INITRA" build "$T/u" --sign-key "$T/k65537.pem"
check_fails "EC key refused" 1 'ec.pem: is a EC key; SGX signing needs RSA-3072' "$INITRA" build "$T/u" --sign-key "$T/ec.pem"
check_fails "print mrsigner --key of a non-key" 2 'not a PEM public or private key' "$INITRA" print mrsigner --key "$T/u/Occlum.json"

# config errors
mkinst "$T/bad" '{"family_id": {"high": "0xZZ", "low": "0x0"}}'
check_fails "bad family id: file, JSON path, value" 1 'bad/Occlum.json: metadata.family_id.high: "0xZZ" is not a 64-bit hex number such as 0x1234567812345678' "$INITRA" build "$T/bad"
printf '{\n  "metadata": {\n    "product_id": 0,\n  ]\n}\n' >"$T/bad/Occlum.json"
check_fails "Occlum.json not JSON: line and column" 1 'bad/Occlum.json:4:3: not valid JSON' "$INITRA" build "$T/bad"
check_fails "DIR not an instance (build)" 1 'is not an enclave instance: .*/Occlum.json is missing' "$INITRA" build "$T/keys"
check_fails "DIR not an instance (run)" 1 'is not an enclave instance' "$INITRA" run "$T/keys" /bin/sh
mkinst "$T/nb"
check_fails "run before build" 1 'nb is not built yet: run `initra build' "$INITRA" run "$T/nb" /bin/sh

# config-id
printf '{"kms_server": "localhost:50051"}' >"$T/conf.json"
check_eq "config-id of one file = base64 SHA-512" "$("$INITRA" config-id "$T/conf.json")" "$(openssl dgst -sha512 -binary "$T/conf.json" | base64 -w0)"
check_fails "config-id of a missing file" 2 'nope.json: cannot open' "$INITRA" config-id "$T/nope.json"

# ---- run ----
check "run a busybox shell" "$INITRA" run "$T/k" /bin/sh -c 'echo inside; ls /dev; cat /proc/self/status >/dev/null'
grep -q '^inside$' "$T/out" && grep -q urandom "$T/out" && ok "PROG output, /dev and /proc inside" || not_ok "run output: $(cat "$T/out")"
"$INITRA" run "$T/k" -- /bin/sh -c 'exit 42' >/dev/null 2>&1
check_eq "exit status is PROG's" "$?" 42
"$INITRA" run "$T/k" /bin/sh -c 'echo "$*"' sh --config-id x -h -- --config >"$T/out" 2>"$T/err"
check_eq "PROG's ARGS reach it unread and in order (options of run after PROG are PROG's)" "$?:$(cat "$T/out")" "0:--config-id x -h -- --config"
check "write inside the enclave" "$INITRA" run "$T/k" /bin/sh -c 'echo secret >/tmp/inside && echo x >/bin/added && cat /tmp/inside'
check_eq "the file was readable inside" "$(cat "$T/out")" secret
[ ! -e "$T/k/image/tmp/inside" ] && [ ! -e "$T/k/image/bin/added" ] && ok "files written inside do not reach the host" || not_ok "enclave writes reached the host"
check_eq "image unchanged by the run" "$("$INITRA" print mrenclave "$T/k")" "$m1"
INITRA_RUN_NO_OVERLAY=1 "$INITRA" run "$T/k" /bin/sh -c 'echo copy >/tmp/c2 && echo y >/bin/added2 && cat /tmp/c2 && ls /dev/urandom' >"$T/out" 2>"$T/err"
check_eq "without overlayfs (image copied into tmpfs): runs" "$?:$(cat "$T/out" | tr '\n' ' ')" "0:copy /dev/urandom "
[ ! -e "$T/k/image/tmp/c2" ] && [ ! -e "$T/k/image/bin/added2" ] && ok "without overlayfs: writes do not reach the host" || not_ok "copy mode: enclave writes reached the host"
check "the dynamic initra runs inside (libraries copied by build)" "$INITRA" run "$T/k" /bin/initra config-id /etc/initra/config_binding
check_fails "PROG missing from the image" 1 "PROG '/bin/nope' is not an executable file in .*/k/image" "$INITRA" run "$T/k" /bin/nope
check_fails "PROG missing (searched)" 1 "PROG 'nope' is not an executable file .*looked in /bin" "$INITRA" run "$T/k" nope

# KSS options
CID=$(head -c 64 /dev/urandom | base64 -w0)
check_fails "65-byte config id refused" 2 'decodes to 65 bytes; CONFIGID holds at most 64' "$INITRA" run "$T/k" --config-id "$(head -c 65 /dev/urandom | base64 -w0)" /bin/sh -c 'echo started'
check_fails "bad base64 character refused" 2 "--config-id: character '!' at position 2" "$INITRA" run "$T/k" --config-id 'ab!d' /bin/sh -c 'echo started'
check_fails "config svn 65536 refused" 2 "--config-svn: '65536' is not a number from 0 to 65535" "$INITRA" run "$T/k" --config-svn 65536 /bin/sh -c 'echo started'
check_fails "config svn 12a refused" 2 "--config-svn: '12a' is not a number" "$INITRA" run "$T/k" --config-svn 12a /bin/sh -c 'echo started'
check_fails "config id with KSS off refused" 1 'need KSS.*set metadata.enable_kss to true .* and run `initra build' "$INITRA" run "$T/nokss" --config-id "$CID" /bin/sh -c 'echo started'
check_fails "config svn with KSS off refused" 1 'need KSS' "$INITRA" run "$T/nokss" --config-svn 1 /bin/sh -c 'echo started'
check_eq "nothing started on refusal" "$(cat "$T/out")" ""
check "config id and svn accepted with KSS" "$INITRA" run "$T/k" --config-svn 0x12ab --config-id "$CID" -- /bin/sh -c 'echo started'
# a leading zero: Occlum's launcher (strtoul base 0) reads 0123 as octal 83, so it is refused
check_fails "config svn 0123 refused (octal under Occlum)" 2 \
  "--config-svn: '0123' has a leading zero: Occlum's launcher \(strtoul base 0\) reads it as octal 83, initra would read decimal 123; write 123 for decimal, or 0x53 if you meant octal" \
  "$INITRA" run "$T/k" --config-svn 0123 --config-id "$CID" -- /bin/sh -c 'echo started'
check_eq "nothing started on a leading zero" "$(cat "$T/out")" ""
check_fails "config svn 0089 refused (not even octal)" 2 "--config-svn: '0089' has a leading zero: .*stops at the first 8 or 9, initra would read decimal 89; write 89$" \
  "$INITRA" run "$T/k" --config-svn 0089 -- /bin/sh -c 'echo started'
check_fails "config svn 00 refused" 2 "--config-svn: '00' has a leading zero: .*write 0 for decimal" "$INITRA" run "$T/k" --config-svn 00 -- /bin/sh -c 'echo started'
check "config svn 0 accepted" "$INITRA" run "$T/k" --config-svn 0 -- /bin/sh -c 'echo started'
check_eq "config svn 0: the program started" "$(cat "$T/out")" started

# a changed image, another key, changed metadata
cp -a "$T/k" "$T/k-changed"
echo tampered >"$T/k-changed/image/bin/extra"
check_fails "a changed image does not start" 1 'changed since it was built .*run `initra build .*k-changed` again' "$INITRA" run "$T/k-changed" /bin/sh -c 'echo started'
chmod 0700 "$T/k-changed/image/bin/busybox"; rm "$T/k-changed/image/bin/extra"
check_fails "a mode change does not start" 1 'changed since it was built' "$INITRA" run "$T/k-changed" /bin/sh -c 'echo started'
cp -a "$T/k" "$T/k-other"
mkinst "$T/k-other-signed" "$KSS"
"$INITRA" build "$T/k-other-signed" --sign-key "$T/k2.pem" >/dev/null 2>&1
cp "$T/k-other-signed/build/enclave.sig" "$T/k-other/build/enclave.sig"
check_fails "SIGSTRUCT signed by another key refused" 1 'is signed by a different key' "$INITRA" run "$T/k-other" /bin/sh -c 'echo started'
cp "$T/k/build/enclave.sig" "$T/k-other/build/enclave.sig"
python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[1026]^=1;open(p,'wb').write(b)" "$T/k-other/build/enclave.sig"
check_fails "tampered SIGSTRUCT refused" 1 'enclave.sig: SIGSTRUCT: the RSA signature .* does not verify' "$INITRA" run "$T/k-other" /bin/sh -c 'echo started'
cp -a "$T/k" "$T/k-meta"
sed -i 's/"product_id": 7/"product_id": 8/' "$T/k-meta/Occlum.json"
check_fails "Occlum.json changed after build" 1 'metadata.product_id differs from the signed build/enclave.sig' "$INITRA" run "$T/k-meta" /bin/sh -c 'echo started'

# init: /bin/init runs first, PROG only after it exits 0
mkinst "$T/i" "$KSS"
"$INITRA" new "$T/i-tmp" --init-ra grpc_ratls >/dev/null && cp "$T/i-tmp/init_ra_conf.json" "$T/i/"
printf '#!/bin/sh\necho init-ran >/tmp/init-mark\nexit ${INIT_EXIT:-0}\n' >"$T/i/image/bin/init"; chmod 755 "$T/i/image/bin/init"
check "build an init-ra instance with its own /bin/init" "$INITRA" build "$T/i"
[ -f "$T/i/image/etc/init_ra_conf.json" ] && [ -x "$T/i/image/bin/initra" ] && ok "init_ra_conf.json measured into image/etc/" || not_ok "init_ra_conf.json not in image/etc"
check "init then PROG" "$INITRA" run "$T/i" /bin/cat /tmp/init-mark
check_eq "PROG saw init's work" "$(cat "$T/out")" init-ran
INIT_EXIT=3 "$INITRA" run "$T/i" /bin/sh -c 'echo prog-ran' >"$T/out" 2>"$T/err"
check_eq "init failing: exit status is init's" "$?" 3
check_eq "init failing: PROG not started" "$(cat "$T/out")" ""
grep -q '/bin/init exited with status 3' "$T/err" && ok "init failure reported" || not_ok "init failure message: $(cat "$T/err")"
mkinst "$T/i2"
cp "$T/i/init_ra_conf.json" "$T/i2/"
check "build with init_ra_conf.json links /bin/init to initra" "$INITRA" build "$T/i2"
check_eq "/bin/init -> initra" "$(readlink "$T/i2/image/bin/init")" initra

# config binding: one pre-signed enclave, the configuration attached at launch and pinned by CONFIGID
mkinst "$T/cb" "$KSS"
python3 -c "import json,sys;p=sys.argv[1];j=json.load(open(p));j['config_binding']='config_id';json.dump(j,open(p,'w'))" "$T/cb/Occlum.json"
cp "$T/i/init_ra_conf.json" "$T/cb/"
printf '#!/bin/sh\nexit 0\n' >"$T/cb/image/bin/init"; chmod 755 "$T/cb/image/bin/init"
check "build a config_id-bound instance" "$INITRA" build "$T/cb"
[ ! -e "$T/cb/image/etc/init_ra_conf.json" ] && ok "init_ra_conf.json not measured" || not_ok "init_ra_conf.json copied into the image"
check_eq "binding recorded (measured) in the image" "$(cat "$T/cb/image/etc/initra/config_binding")" config_id
check_fails "config_id binding without --config" 1 'binds init_ra_conf.json by CONFIGID: attach one with --config FILE' "$INITRA" run "$T/cb" /bin/sh -c 'echo started'
check "run with --config and its CONFIGID" "$INITRA" run "$T/cb" --config "$T/conf.json" --config-id "$("$INITRA" config-id "$T/conf.json")" /bin/cat /etc/init_ra_conf.json
check_eq "the attached file is /etc/init_ra_conf.json inside" "$(cat "$T/out")" "$(cat "$T/conf.json")"
printf '{"kms_server": "x",\n  "kms_keys": [ }\n' >"$T/notjson.json"
check_fails "--config not JSON: line and column" 1 'notjson.json:2:[0-9]+: not valid JSON' "$INITRA" run "$T/cb" --config "$T/notjson.json" --config-id "$CID" /bin/sh -c 'echo started'
check_fails "--config on a measured instance refused" 1 '--config needs "config_binding": "config_id"' "$INITRA" run "$T/i" --config "$T/conf.json" /bin/sh -c 'echo started'
cp -a "$T/i" "$T/i-rebound"
python3 -c "import json,sys;p=sys.argv[1];j=json.load(open(p));j['config_binding']='config_id';json.dump(j,open(p,'w'))" "$T/i-rebound/Occlum.json"
check_fails "config_binding changed after build" 1 'config_binding differs from the build: run `initra build' "$INITRA" run "$T/i-rebound" --config "$T/conf.json" --config-id "$CID" /bin/sh -c 'echo started'
mkinst "$T/cbnokss" '{"enable_kss": false}'
python3 -c "import json,sys;p=sys.argv[1];j=json.load(open(p));j['config_binding']='config_id';json.dump(j,open(p,'w'))" "$T/cbnokss/Occlum.json"
check_fails "config_binding config_id needs KSS" 1 'config_binding: "config_id" needs metadata.enable_kss: true' "$INITRA" build "$T/cbnokss"

# ---- quotes from inside: the identity is fixed by the launcher, the enclave picks report_data ----
jget() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
check "quote self --json inside (KSS, config svn 0x12ab, random config id)" \
  "$INITRA" run "$T/k" --config-svn 0x12ab --config-id "$CID" -- /bin/initra quote self --json
cp "$T/out" "$T/q.json"
check_eq "config_svn 4779" "$(jget "$T/q.json" config_svn)" 4779
check_eq "config_id is the given one" "$(jget "$T/q.json" config_id)" "$(printf %s "$CID" | base64 -d | od -An -tx1 -v | tr -d ' \n')"
check_eq "isv_family_id in PROTOCOLS 1.4 byte order (low LE, high LE)" "$(jget "$T/q.json" isv_family_id)" bbcceeff21436587ddccbbaa78563412
check_eq "isv_ext_prod_id in PROTOCOLS 1.4 byte order" "$(jget "$T/q.json" isv_ext_prod_id)" 04030201785634127755331188664422
check_eq "isv_prod_id, isv_svn, kss, debug from SIGSTRUCT" \
  "$(jget "$T/q.json" isv_prod_id) $(jget "$T/q.json" isv_svn) $(jget "$T/q.json" kss) $(jget "$T/q.json" debug)" "7 3 True True"
check_eq "mr_enclave = print mrenclave" "$(jget "$T/q.json" mr_enclave)" "$("$INITRA" print mrenclave "$T/k")"
check_eq "mr_signer = print mrsigner" "$(jget "$T/q.json" mr_signer)" "$("$INITRA" print mrsigner "$T/k")"
check "quote self inside (config svn 0x0053: zeros after 0x are hex)" "$INITRA" run "$T/k" --config-svn 0x0053 -- /bin/initra quote self --json
check_eq "config_svn 0x0053 is 83" "$(jget "$T/out" config_svn)" 83
check "quote self without KSS options" "$INITRA" run "$T/k" -- /bin/initra quote self --json --report-data 00112233
cp "$T/out" "$T/q0.json"
check_eq "no config id/svn given: zeros" "$(jget "$T/q0.json" config_svn) $(jget "$T/q0.json" config_id)" "0 $(printf '%0128d' 0)"
check_eq "report_data chosen by the enclave" "$(jget "$T/q0.json" report_data)" "00112233$(printf '%0120d' 0)"
check "user-key instance quote" "$INITRA" run "$T/u" -- /bin/initra quote self --json
check_eq "print mrsigner --key K equals the quote's mr_signer" "$(jget "$T/out" mr_signer)" "$("$INITRA" print mrsigner --key "$T/k2.pem")"
check "quote self --json in a KSS-off enclave" "$INITRA" run "$T/nokss" -- /bin/initra quote self --json
check_eq "KSS off: kss false, debug false, zero family id" \
  "$(jget "$T/out" kss) $(jget "$T/out" debug) $(jget "$T/out" isv_family_id)" "False False 00000000000000000000000000000000"
"$INITRA" run "$T/k" -- /bin/initra quote self -o - >"$T/raw.quote" 2>"$T/err"
check "raw quote written to stdout from inside parses" "$INITRA" quote dump --json "$T/raw.quote"
check_fails "quote self outside an enclave" 1 'not inside an enclave' env -u INITRA_SIM_FD "$INITRA" quote self
check_fails "quote self: report data too long" 2 'report-data must be an even number of hex digits, at most 128' \
  "$INITRA" run "$T/k" -- /bin/initra quote self --report-data "$(printf '%0130d' 0)"
