# Seal keys (EGETKEY on the sim platform: the launcher derives them from the platform's seal secret)
# asked for from inside real `initra run` enclaves by tests/helpers/seal_key (prints the key's SHA-256,
# never the key), and `initra run --host-dir`.
. tests/lib.sh
plan 28
. scripts/instances.sh
sim_platform
SK="$(dirname "$INITRA")/../helpers/seal_key"
BB=$(command -v busybox)

# inst DIR EDIT [FILE]: an instance holding seal_key and busybox, Occlum.json metadata edited by the
# Python statements EDIT on `m` (version_number 3, production unless EDIT says otherwise); FILE, when
# given, is copied into the image too (another MRENCLAVE).
inst() {
  rm -rf "$1"
  "$INITRA" new "$1" >/dev/null && mkdir -p "$1/image/bin" && cp "$SK" "$BB" "$1/image/bin/" || return 1
  [ -z "${3:-}" ] || cp "$3" "$1/image/" || return 1
  python3 - "$1/Occlum.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); m = j["metadata"]
m["version_number"] = 3; m["debuggable"] = False
exec(sys.argv[2])
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
  "$INITRA" build "$1" ${SIGN:-} >"$T/build.log" 2>&1 || { cat "$T/build.log"; return 1; }
}
# key DIR [RUN-OPTIONS --] [seal_key options]: the hash seal_key prints ("" on failure).
key() {
  d=$1; shift
  "$INITRA" run "$d" "$@" 2>"$T/key.err" | head -1
}

printf 'another file\n' >"$T/other"
inst "$T/a" 'pass' && inst "$T/b" 'pass' "$T/other" && inst "$T/prod2" 'm["product_id"] = 2' &&
  inst "$T/dbg" 'm["debuggable"] = True' &&
  inst "$T/kss" 'm["enable_kss"] = True' || { not_ok "instances"; exit 1; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -pkeyopt rsa_keygen_pubexp:3 -out "$T/other.pem" 2>/dev/null
SIGN="--sign-key $T/other.pem" inst "$T/c" 'pass' || { not_ok "instance signed by another key"; exit 1; }

[ "$(stat -c %a "$INITRA_SIM_DIR/seal_secret")" = 600 ] && [ "$(stat -c %s "$INITRA_SIM_DIR/seal_secret")" = 32 ] \
  && ok "the platform's seal secret: 32 bytes, mode 0600" || not_ok "seal_secret: $(ls -l "$INITRA_SIM_DIR")"

A=$(key "$T/a" -- /bin/seal_key)
A2=$(key "$T/a" -- /bin/seal_key)
[ ${#A} = 64 ] && [ "$A" = "$A2" ] && ok "same identity twice: the same key" || not_ok "same identity: '$A' '$A2' $(cat "$T/key.err")"
AE=$(key "$T/a" -- /bin/seal_key --policy 1)
[ ${#AE} = 64 ] && [ "$AE" = "$(key "$T/a" -- /bin/seal_key --policy 1)" ] && [ "$AE" != "$A" ] \
  && ok "MRENCLAVE policy: stable, and not the MRSIGNER key" || not_ok "MRENCLAVE policy: '$AE'"
[ "$("$INITRA" print mrenclave "$T/a")" != "$("$INITRA" print mrenclave "$T/b")" ] && ok "a and b differ in MRENCLAVE" || not_ok "same MRENCLAVE"
check_eq "MRSIGNER policy: another MRENCLAVE of the same signer gets the same key" "$(key "$T/b" -- /bin/seal_key)" "$A"
BE=$(key "$T/b" -- /bin/seal_key --policy 1)
[ ${#BE} = 64 ] && [ "$BE" != "$AE" ] && ok "MRENCLAVE policy: another MRENCLAVE gets another key" || not_ok "MRENCLAVE b: '$BE'"
C=$(key "$T/c" -- /bin/seal_key)
[ ${#C} = 64 ] && [ "$C" != "$A" ] && ok "MRSIGNER policy: another signer gets another key" || not_ok "other signer: '$C'"
P=$(key "$T/prod2" -- /bin/seal_key)
[ ${#P} = 64 ] && [ "$P" != "$A" ] && ok "ISVPRODID 2 instead of 0: another key" || not_ok "prod id: '$P'"
check_eq "MRSIGNER|NOISVPRODID: ISVPRODID no longer enters the key" "$(key "$T/prod2" -- /bin/seal_key --policy 6)" \
  "$(key "$T/a" -- /bin/seal_key --policy 6)"
D=$(key "$T/dbg" -- /bin/seal_key)
[ ${#D} = 64 ] && [ "$D" != "$A" ] && ok "debug build of the same image: another key" || not_ok "debug: '$D'"
check_eq "debug and production builds share MRENCLAVE (only ATTRIBUTES.DEBUG differs)" \
  "$("$INITRA" print mrenclave "$T/dbg")" "$("$INITRA" print mrenclave "$T/a")"

# SVNs: a lower isv_svn is derivable (and another key); above the enclave's own is refused.
L=$(key "$T/a" -- /bin/seal_key --isv-svn 2)
[ ${#L} = 64 ] && [ "$L" != "$A" ] && ok "isv_svn 2 below the enclave's 3: accepted, another key" || not_ok "lower isv_svn: '$L' $(cat "$T/key.err")"
check_eq "isv_svn 3 given explicitly is the default (the enclave's own)" "$(key "$T/a" -- /bin/seal_key --isv-svn 3)" "$A"
check_fails "isv_svn above the enclave's refused, naming the field and both values" 1 \
  '^seal_key: .*isv_svn 4 is above the enclave.s ISVSVN 3' "$INITRA" run "$T/a" -- /bin/seal_key --isv-svn 4
check_fails "unknown key_policy bits refused" 1 'key_policy 0x0042 has unknown bits 0x0040' \
  "$INITRA" run "$T/a" -- /bin/seal_key --policy 0x42
check_fails "a policy without MRENCLAVE or MRSIGNER refused" 1 'key_policy 0x0004 names neither MRENCLAVE' \
  "$INITRA" run "$T/a" -- /bin/seal_key --policy 4
check_fails "cpu_svn above the platform's refused" 1 'cpu_svn ffffffffffffffffffffffffffffffff is above the platform.s CPUSVN' \
  "$INITRA" run "$T/a" -- /bin/seal_key --cpu-svn ffffffffffffffffffffffffffffffff

# KSS: CONFIGID enters with the CONFIGID bit; CONFIGSVN limits like ISVSVN.
ID1=$(printf 'config one' | base64) ID2=$(printf 'config two' | base64)
K1=$(key "$T/kss" --config-id "$ID1" -- /bin/seal_key --policy 10)
K2=$(key "$T/kss" --config-id "$ID2" -- /bin/seal_key --policy 10)
[ ${#K1} = 64 ] && [ ${#K2} = 64 ] && [ "$K1" != "$K2" ] && ok "CONFIGID bit: two config ids, two keys" || not_ok "CONFIGID: '$K1' '$K2' $(cat "$T/key.err")"
check_eq "without the CONFIGID bit the config id does not enter" "$(key "$T/kss" --config-id "$ID1" -- /bin/seal_key)" \
  "$(key "$T/kss" --config-id "$ID2" -- /bin/seal_key)"
S2=$(key "$T/kss" --config-svn 2 -- /bin/seal_key)
S1=$(key "$T/kss" --config-svn 2 -- /bin/seal_key --config-svn 1)
[ ${#S1} = 64 ] && [ "$S1" != "$S2" ] && [ "$S1" = "$(key "$T/kss" --config-svn 1 -- /bin/seal_key)" ] \
  && ok "CONFIGSVN 2 derives CONFIGSVN 1's key (a newer configuration reads older seals)" || not_ok "config_svn: '$S1' '$S2'"
check_fails "config_svn above the enclave's refused, naming the field" 1 \
  '^seal_key: .*config_svn 3 is above the enclave.s CONFIGSVN 2' "$INITRA" run "$T/kss" --config-svn 2 -- /bin/seal_key --config-svn 3

# Another sim platform: another seal secret, another key for the same enclave.
O=$(INITRA_SIM_DIR="$T/sim2" key "$T/a" -- /bin/seal_key)
[ ${#O} = 64 ] && [ "$O" != "$A" ] && ok "another sim platform (INITRA_SIM_DIR): another key" || not_ok "other platform: '$O'"

# A platform made before seal keys existed (no seal_secret): the first open makes one.
cp -r "$INITRA_SIM_DIR" "$T/sim3" && rm "$T/sim3/seal_secret"
N=$(INITRA_SIM_DIR="$T/sim3" key "$T/a" -- /bin/seal_key)
[ ${#N} = 64 ] && [ "$N" != "$A" ] && [ "$(stat -c %a "$T/sim3/seal_secret")" = 600 ] \
  && ok "a platform without seal_secret gets a new one (0600) on first open" || not_ok "missing seal_secret: '$N' $(cat "$T/key.err")"

# --host-dir: HOSTPATH read-write at /host, nothing else of the host.
mkdir "$T/host"
MARK=/tmp/initra-seal-marker.$$
: >"$MARK"
"$INITRA" run "$T/a" --host-dir "$T/host" -- /bin/busybox sh -c 'printf "bytes\001\n" >/host/x' 2>"$T/e"
printf 'bytes\001\n' >"$T/want"
cmp -s "$T/host/x" "$T/want" && ok "--host-dir: a file written at /host/x appears in HOSTPATH with its bytes" || not_ok "host write: $(cat "$T/e")"
"$INITRA" run "$T/a" --host-dir "$T/host" -- /bin/busybox sh -c "test -e $MARK || test -e $T/other || echo unseen; ls /host" >"$T/o" 2>&1
[ "$(cat "$T/o")" = "unseen
x" ] && ok "--host-dir: the host's /tmp and other directories are not visible, /host holds HOSTPATH only" || not_ok "host view: $(cat "$T/o")"
rm -f "$MARK"
check_fails "--host-dir naming a file refused" 1 '^initra: run: --host-dir .*/host/x is not a directory' \
  "$INITRA" run "$T/a" --host-dir "$T/host/x" -- /bin/busybox echo STARTED
! grep -q STARTED "$T/out" && ok "nothing started" || not_ok "a program ran"
check_fails "--host-dir naming nothing refused" 1 '^initra: run: --host-dir .*/nowhere: No such file or directory' \
  "$INITRA" run "$T/a" --host-dir "$T/nowhere" -- /bin/busybox echo STARTED
