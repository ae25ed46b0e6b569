# initra's init as Occlum's /bin/init (issue 13), on the simulated platform's two stages: init boots in
# the initfs, fetches image_key with the other keys, MountRootFS (the sim descriptor's mount exchange)
# switches to the application's image, then the keys are written there. Both flavours, both image types.
. tests/lib.sh
plan 38
. scripts/instances.sh
sim_platform
"$INITRA" new "$T/probe" >/dev/null && "$INITRA" build "$T/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$T/probe" | field)
clients_conf "$T/dynamic_config.json" "$SIGNER" 0
KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -s ' \n' '-' | sed 's/^-//; s/-$//')
printf '%s\n' "$KEY" >"$T/image_key"                      # what `occlum gen-image-key` writes
printf '%s\n' "$(echo "$KEY" | tr '0-9a-f' '1-9a-f0')" >"$T/other_key"
printf 'app secret' >"$T/app_secret"
PIDS=
trap 'kill $PIDS 2>/dev/null' EXIT

# grpc_kms NAME IMAGE_KEY_FILE: a GRPC-RATLS KMS serving image_key (that file's bytes) and app_secret.
grpc_kms() {
  secrets_conf "$T/$1.secrets.json" image_key="$2" app_secret="$T/app_secret"
  cp "$T/$1.secrets.json" "$T/secret_config.json"
  kms_instance "$T/$1" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$T/secret_config.json" "$T/dynamic_config.json" || return 1
  MRE=$("$INITRA" print mrenclave "$T/$1" | field)
  PORT=$(free_port)
  kms_start "$T/$1" "$PORT" "$T/$1.log" || return 1
  PIDS="$PIDS $KMS_PID"
}
APP='busybox cat /etc/keys/app_secret; echo; busybox ls /bin; busybox test ! -e /etc/init_ra_conf.json || echo INITFS-VISIBLE'

# 1. GRPC-RATLS, encrypted image: init fetches image_key and app_secret, mounts, writes; the application
# (in its own root: busybox only, no initfs files) reads the key.
grpc_kms kms "$T/image_key" || { not_ok "GRPC KMS starts"; exit 1; }
init_conf "$T/g.json" "$PORT" "$MRE" app_secret=/etc/keys/app_secret
occlum_instance "$T/genc" "$T/g.json" grpc_ratls --image-key "$T/image_key" && ok "encrypted instance builds (initra build --image-key)" \
  || not_ok "encrypted instance builds"
check_eq "image_config.json in initfs/etc and build/ says encrypted" \
  "$(cat "$T/genc/initfs/etc/image_config.json" "$T/genc/build/image_config.json" | sort -u)" '{"image_type": "encrypted"}'
grep -rqF "$KEY" "$T/genc" && not_ok "the image key is stored in the instance" || ok "the image key is not stored in the instance (only build/image_key_check)"
INITRA_INIT_TRACE=1 "$INITRA" run "$T/genc" -- /bin/busybox sh -c "$APP" >"$T/g1.out" 2>"$T/g1.err"
check_eq "GRPC-RATLS encrypted: init and the application run (exit 0)" "$?" 0
grep -qx 'app secret' "$T/g1.out" && ok "the application reads its key from its own rootfs" || not_ok "app output: $(cat "$T/g1.out" "$T/g1.err")"
grep -q INITFS-VISIBLE "$T/g1.out" && not_ok "the initfs is visible to the application" || ok "the application's root is the image, not the initfs"
grep -q 'initra' "$T/g1.out" && not_ok "initra is in the application's /bin" || ok "the application's /bin holds only its own files"
order=$(grep -o 'fetched every key\|mounted the encrypted rootfs (MountRootFS)\|files written' "$T/g1.err" | tr '\n' '|')
check_eq "INITRA_INIT_TRACE shows fetch, mount, write in that order" "$order" "fetched every key|mounted the encrypted rootfs (MountRootFS)|files written|"
grep -q 'asked for "image_key": released' "$T/kms.log" && ok "the KMS released image_key through the same verified connection" \
  || not_ok "KMS log: $(tail -3 "$T/kms.log")"

# --host-dir in the two-stage boot: /host appears in the application's root (after MountRootFS).
mkdir "$T/hostdir"
"$INITRA" run "$T/genc" --host-dir "$T/hostdir" -- /bin/busybox sh -c 'echo two-stage >/host/y; busybox cat /etc/keys/app_secret' >"$T/gh.out" 2>"$T/gh.err"
check_eq "--host-dir, two stages: the application runs (exit 0)" "$?" 0
[ "$(cat "$T/hostdir/y" 2>/dev/null)" = two-stage ] && grep -qx 'app secret' "$T/gh.out" \
  && ok "--host-dir, two stages: the application's /host/y lands in HOSTPATH" || not_ok "two-stage /host: $(cat "$T/gh.err")"

# The copy list of docs/occlum.md: init ran (above) in a root holding only initra, the shared libraries
# it needs (and libcurl, which it dlopens), and its configuration files.
extra=$(cd "$T/genc/initfs" && find . ! -type d | sed 's|^\.||' | grep -Ev '^/bin/init$|^/bin/initra$|^(/usr)?/lib(64)?/([a-z0-9_-]+/)?[^/]+\.so(\.[0-9.]+)?$|^/etc/(init_ra_conf|image_config)\.json$|^/etc/initra/(config_binding|sim-root\.der|collateral\.json)$')
check_eq "the initfs holds only init, its shared libraries and its files" "$extra" ""
check_eq "initfs/bin/init is initra" "$(readlink "$T/genc/initfs/bin/init")" initra
(cd "$T/genc/initfs" && find . -name 'libcurl.so.4' | grep -q .) && ok "libcurl (dlopened for PCCS) is in the initfs" || not_ok "libcurl missing from the initfs"

# 2. Wrong image_key: the KMS's key is not the image's; the mount fails, the application never starts,
# nothing is written.
occlum_instance "$T/gwrong" "$T/g.json" grpc_ratls --image-key "$T/other_key" || not_ok "second encrypted instance builds"
"$INITRA" run "$T/gwrong" -- /bin/busybox echo APP-STARTED >"$T/g2.out" 2>"$T/g2.err"; rc=$?
[ $rc != 0 ] && ! grep -q APP-STARTED "$T/g2.out" && grep -q '^initra: init: MountRootFS refused (EACCES): image_key does not open the encrypted image' "$T/g2.err" \
  && [ "$(grep -c '^initra: init' "$T/g2.err")" = 1 ] && ok "wrong image_key: one line, mount refused, application not started (exit $rc)" \
  || not_ok "wrong image_key: rc=$rc $(cat "$T/g2.out" "$T/g2.err")"

# 3. Integrity-only: no image_key is asked for, the mount carries no key.
occlum_instance "$T/gint" "$T/g.json" grpc_ratls || not_ok "integrity-only instance builds"
check_eq "image_config.json says integrity-only" "$(cat "$T/gint/initfs/etc/image_config.json")" '{"image_type": "integrity-only"}'
n0=$(grep -c '"image_key"' "$T/kms.log")
INITRA_INIT_TRACE=1 "$INITRA" run "$T/gint" -- /bin/busybox sh -c "$APP" >"$T/g3.out" 2>"$T/g3.err"
check_eq "GRPC-RATLS integrity-only: exit 0" "$?" 0
grep -qx 'app secret' "$T/g3.out" && ok "integrity-only: the application reads its key" || not_ok "integrity-only: $(cat "$T/g3.out" "$T/g3.err")"
grep -q 'mounted the integrity-only rootfs' "$T/g3.err" && [ "$(grep -c '"image_key"' "$T/kms.log")" = "$n0" ] \
  && ok "integrity-only: mounted without a key, image_key never requested" || not_ok "integrity-only: $(cat "$T/g3.err")"

# 4. A second MountRootFS (the application asks again, as any process may) is refused with EPERM.
occlum_instance "$T/g2nd" "$T/g.json" grpc_ratls --image-key "$T/image_key" || not_ok "instance with initra in the image"
cp "$INITRA" "$T/g2nd/image/bin/initra" && cp "$T/image_key" "$T/g2nd/image/key"
"$INITRA" build "$T/g2nd" --image-key "$T/image_key" >"$T/build.log" 2>&1 || not_ok "rebuild: $(cat "$T/build.log")"
"$INITRA" run "$T/g2nd" -- /bin/busybox sh -c '/bin/initra sim mount-rootfs --key-file /key; echo "rc=$?"' >"$T/g4.out" 2>&1
grep -q '^initra: MountRootFS refused (EPERM): the root file system is already mounted' "$T/g4.out" && grep -qx 'rc=1' "$T/g4.out" \
  && ok "a second MountRootFS is refused (EPERM), even with the right key" || not_ok "second mount: $(cat "$T/g4.out")"

# 5. Malformed image_key values at the KMS: one clear line each, the secret's bytes never shown, the
# application never starts.
bad_key() {
  name=$1 pat=$2
  grpc_kms "kms_$name" "$T/bk_$name" || { not_ok "$name: KMS starts"; return; }
  init_conf "$T/bk_$name.json" "$PORT" "$MRE" app_secret=/etc/keys/app_secret
  occlum_instance "$T/app_$name" "$T/bk_$name.json" grpc_ratls --image-key "$T/image_key" || { not_ok "$name: instance"; return; }
  "$INITRA" run "$T/app_$name" -- /bin/busybox echo APP-STARTED >"$T/bk_$name.out" 2>"$T/bk_$name.err"; rc=$?
  if [ $rc != 0 ] && ! grep -q APP-STARTED "$T/bk_$name.out" && [ "$(grep -c '^initra: init' "$T/bk_$name.err")" = 1 ] \
     && grep -Eq "$pat" "$T/bk_$name.err" && ! grep -qF "$(head -c 20 "$T/bk_$name")" "$T/bk_$name.err"; then
    ok "malformed image_key ($name): $(grep '^initra: init' "$T/bk_$name.err" | cut -c1-110)"
  else not_ok "malformed image_key ($name): rc=$rc $(cat "$T/bk_$name.err")"; fi
}
printf '00-11\n' >"$T/bk_two"
printf '%s-ab\n' "$KEY" >"$T/bk_17"
printf '%s\r\n' "$(echo "$KEY" | sed 's/^../zz/')" >"$T/bk_nonhex"
bad_key two "init: image_key from the KMS: 2 '-'-separated parts, not 16"
bad_key 17 "init: image_key from the KMS: 17 '-'-separated parts, not 16"
bad_key nonhex "init: image_key from the KMS: part 1 is not two hex digits"

# 6. AECS flavour: image_key from service1 (hard-coded by Occlum's init_aecs), encrypted and integrity-only.
S=$T/store.json
adm() { "$INITRA" kms aecs-admin --store "$S" "$@" >/dev/null; }
adm register-service service1 && adm register-service app-svc
cat >"$T/spec.yaml" <<YAML
kind: SecretPolicy
secrets:
- spec: {name: image_key, type: SECRET_TYPE_IMPORT_DATA, service: service1, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
  data: "$KEY"
- spec: {name: imp, type: SECRET_TYPE_IMPORT_DATA, service: app-svc, policy: {enclaveMatchAnyRules: [{mrsigner: "$SIGNER"}]}}
  data: "app secret"
YAML
adm create-secret --file "$T/spec.yaml" || not_ok "AECS store created"
kms_instance "$T/akms" '{"protocol": "aecs", "store": "/etc/kms/store.json"}' "$S" || { not_ok "AECS KMS instance builds"; exit 1; }
AMRE=$("$INITRA" print mrenclave "$T/akms" | field)
APORT=$(free_port)
kms_start "$T/akms" "$APORT" "$T/akms.log" || { not_ok "AECS KMS starts"; exit 1; }
PIDS="$PIDS $KMS_PID"
aecs_init_conf "$T/a.json" "$APORT" "$AMRE" imp=app-svc:/etc/keys/app_secret
occlum_instance "$T/aenc" "$T/a.json" aecs --image-key "$T/image_key" || not_ok "AECS encrypted instance builds"
INITRA_INIT_TRACE=1 "$INITRA" run "$T/aenc" -- /bin/busybox sh -c "$APP" >"$T/a1.out" 2>"$T/a1.err"
check_eq "AECS encrypted: init and the application run (exit 0)" "$?" 0
grep -qx 'app secret' "$T/a1.out" && ! grep -q INITFS-VISIBLE "$T/a1.out" && ok "AECS encrypted: the application reads its key from its own rootfs" \
  || not_ok "AECS encrypted: $(cat "$T/a1.out" "$T/a1.err")"
order=$(grep -o 'fetched every key\|mounted the encrypted rootfs (MountRootFS)\|files written' "$T/a1.err" | tr '\n' '|')
check_eq "AECS: INITRA_INIT_TRACE shows fetch, mount, write" "$order" "fetched every key|mounted the encrypted rootfs (MountRootFS)|files written|"
grep -q 'service1/image_key' "$T/akms.log" && ok "AECS: image_key asked for in service1" || not_ok "AECS KMS log: $(tail -3 "$T/akms.log")"
occlum_instance "$T/awrong" "$T/a.json" aecs --image-key "$T/other_key" || not_ok "AECS wrong-key instance builds"
"$INITRA" run "$T/awrong" -- /bin/busybox echo APP-STARTED >"$T/a2.out" 2>"$T/a2.err"; rc=$?
[ $rc != 0 ] && ! grep -q APP-STARTED "$T/a2.out" && grep -q '^initra: init: MountRootFS refused (EACCES)' "$T/a2.err" \
  && ok "AECS wrong image_key: mount refused, application not started" || not_ok "AECS wrong key: rc=$rc $(cat "$T/a2.err")"
occlum_instance "$T/aint" "$T/a.json" aecs || not_ok "AECS integrity-only instance builds"
"$INITRA" run "$T/aint" -- /bin/busybox sh -c "$APP" >"$T/a3.out" 2>"$T/a3.err"
check_eq "AECS integrity-only: exit 0" "$?" 0
grep -qx 'app secret' "$T/a3.out" && ok "AECS integrity-only: the application reads its key" || not_ok "AECS integrity-only: $(cat "$T/a3.out" "$T/a3.err")"

# 7. The launcher: an instance whose init exits 0 without mounting never starts the application; a
# changed key check or image config is a changed MRENCLAVE.
occlum_instance "$T/nomount" "$T/g.json" grpc_ratls || not_ok "instance builds"
rm "$T/nomount/initfs/bin/init" && printf '#!/bin/busybox sh\nexit 0\n' >"$T/nomount/initfs/bin/init" && chmod +x "$T/nomount/initfs/bin/init"
cp "$(command -v busybox)" "$T/nomount/initfs/bin/busybox"
"$INITRA" build "$T/nomount" >"$T/build.log" 2>&1 || not_ok "rebuild: $(cat "$T/build.log")"
check_fails "init exiting 0 without MountRootFS: the application is not started" 1 \
  "run: /bin/init exited 0 without mounting the application's rootfs \(MountRootFS\); /bin/busybox was not started" \
  "$INITRA" run "$T/nomount" -- /bin/busybox echo APP-STARTED
echo 00 >>"$T/genc/build/image_key_check"
check_fails "a tampered build/image_key_check is refused before launch" 1 "image_key_check: not 64 hex digits" \
  "$INITRA" run "$T/genc" -- /bin/busybox true
check_fails "--image-key in the wrong form: one line, nothing built" 1 "build: --image-key .*: 2 '-'-separated parts, not 16" \
  "$INITRA" build "$T/gint" --image-key "$T/bk_two"
check_fails "--image-key without an initfs stage" 1 "build: --image-key needs Occlum's initfs stage" \
  "$INITRA" build "$T/probe" --image-key "$T/image_key"

# 8. Inside Occlum (its device found) without image_config.json: refused before any key is fetched.
: >"$T/fake_sgx"
mkdir -p "$T/noimg" && cp "$T/g.json" "$T/noimg/init_ra_conf.json"
check_fails "Occlum's device but no image_config.json: one line, nothing fetched" 1 \
  "init: this is Occlum \(its /dev/sgx quotes\), but .*/noimg/image_config.json is missing" \
  env -u INITRA_SIM_FD INITRA_OCCLUM_DEV="$T/fake_sgx" INITRA_GRAMINE_DIR="$T/none" "$INITRA" init --conf "$T/noimg/init_ra_conf.json"

# 9. config_binding "config_id" with two stages: the configuration attached at launch lands in the
# initfs, bound by CONFIGID; a wrong CONFIGID stops init before the mount.
occlum_instance "$T/gcid" "$T/g.json" grpc_ratls || not_ok "config_id instance builds"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["config_binding"]="config_id"; json.dump(j, open(sys.argv[1],"w"))' "$T/gcid/Occlum.json"
"$INITRA" build "$T/gcid" >"$T/build.log" 2>&1 || not_ok "config_id rebuild: $(cat "$T/build.log")"
[ ! -e "$T/gcid/initfs/etc/init_ra_conf.json" ] && ok "config_id: init_ra_conf.json is not in the measured initfs" || not_ok "config_id: conf still in initfs"
"$INITRA" run "$T/gcid" --config "$T/g.json" --config-id "$("$INITRA" config-id "$T/g.json")" -- /bin/busybox cat /etc/keys/app_secret >"$T/g9.out" 2>"$T/g9.err"
check_eq "config_id: the attached configuration drives init, the application reads its key" "$?:$(cat "$T/g9.out")" "0:app secret"
"$INITRA" run "$T/gcid" --config "$T/g.json" --config-id AAAA -- /bin/busybox echo APP-STARTED >"$T/g9b.out" 2>"$T/g9b.err"; rc=$?
[ $rc != 0 ] && ! grep -q APP-STARTED "$T/g9b.out" && grep -q "is not this enclave's CONFIGID" "$T/g9b.err" \
  && ok "config_id: a wrong CONFIGID stops init, the application never starts" || not_ok "config_id wrong: rc=$rc $(cat "$T/g9b.err")"
