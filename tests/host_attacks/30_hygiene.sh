# Client hygiene (issue 9 part C): attacks 3, 4 and 5, and core dumps. The host sets the environment and
# every file outside the measured image; none of that may print a secret, swap the configuration bound by
# CONFIGID, choose the quote provider or the PCCS inside an enclave, or substitute libcurl.
plan 14  # checks in this section
HY=$T/hygiene
mkdir -p "$HY"
printf 'hygiene-secret-%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$HY/secret"
HY_B64=$(base64 -w0 <"$HY/secret")
secrets_conf "$HY/secret_config.json" hy_key="$HY/secret"
"$INITRA" new "$HY/probe" >/dev/null && "$INITRA" build "$HY/probe" >/dev/null 2>&1
HY_SIGNER=$("$INITRA" print mrsigner "$HY/probe" | field)
clients_conf "$HY/dynamic_config.json" "$HY_SIGNER" 0
kms_instance "$HY/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$HY/secret_config.json" "$HY/dynamic_config.json" || not_ok "hygiene: KMS instance"
HY_MRE=$("$INITRA" print mrenclave "$HY/kms" | field)
HY_PORT=$(free_port)
# 3. gRPC tracing from the environment: the KMS runs with it too.
export GRPC_VERBOSITY=debug GRPC_TRACE=secure_endpoint,tcp,http,api
kms_start "$HY/kms" "$HY_PORT" "$HY/kms.log" || not_ok "hygiene: KMS starts: $(head -c 300 "$HY/kms.log")"
unset GRPC_VERBOSITY GRPC_TRACE
PIDS="$PIDS $KMS_PID"
hy_asked() { grep -c 'asked for' "$HY/kms.log"; }
# hy_secret_absent DESC FILE: neither the secret nor its base64 (nor their hex) appears in FILE.
hy_secret_absent() {
  hex=$(od -An -tx1 <"$HY/secret" | tr -d ' \n' | cut -c1-40)
  if grep -qF -e "$(cat "$HY/secret")" -e "$HY_B64" "$2" || tr -d ' \n' <"$2" | grep -qiF "$hex"; then
    not_ok "$1: the secret appears in $(basename "$2")"
  else ok "$1"; fi
}

init_conf "$HY/conf.json" "$HY_PORT" "$HY_MRE" hy_key=/etc/keys/hy_key
app_instance "$HY/app" "$HY/conf.json" --init-ra || not_ok "hygiene: app instance builds"
GRPC_VERBOSITY=debug GRPC_TRACE=secure_endpoint,tcp,http,api "$INITRA" run "$HY/app" -- /bin/busybox cat /etc/keys/hy_key \
  >"$HY/o3" 2>"$HY/e3"
check_eq "GRPC_VERBOSITY=debug GRPC_TRACE=secure_endpoint: init still fetches the key" "$(cat "$HY/o3")" "$(cat "$HY/secret")"
hy_secret_absent "GRPC_TRACE=secure_endpoint: the secret never reaches init's stderr" "$HY/e3"
hy_secret_absent "GRPC_TRACE=secure_endpoint: the secret never reaches the KMS's stderr" "$HY/kms.log"
[ "$(grep -cv '^init: ' "$HY/e3")" = 0 ] && ok "init's stderr holds only its own lines (gRPC's logger is off)" \
  || not_ok "gRPC lines in init's stderr: $(grep -v '^init: ' "$HY/e3" | head -3)"

# 4. The CONFIGID check hashes the bytes it parsed. A FIFO serves an evil configuration (another key path)
# to the first read and the bound one to a second: init must refuse the FIFO, before asking the KMS.
cp "$HY/conf.json" "$HY/bound.json"
app_instance "$HY/bapp" "$HY/bound.json" --init-ra || not_ok "hygiene: bound app builds"
/usr/bin/python3 - "$HY/bapp/Occlum.json" "$HY/bound.json" "$HY/evil.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["config_binding"] = "config_id"
json.dump(j, open(sys.argv[1], "w"), indent=4)
c = json.load(open(sys.argv[2])); c["kms_keys"][0]["path"] = "/etc/keys/evil_key"
json.dump(c, open(sys.argv[3], "w"))
PY
"$INITRA" build "$HY/bapp" >/dev/null 2>&1 || not_ok "hygiene: rebuild with config_binding"
HY_CID=$("$INITRA" config-id "$HY/bound.json")
n0=$(hy_asked)
"$INITRA" run "$HY/bapp" --config "$HY/bound.json" --config-id "$HY_CID" -- /bin/busybox sh -c '
  printf %s "$1" >/etc/evil.json; busybox mkfifo /etc/conf.fifo
  (busybox cat /etc/evil.json >/etc/conf.fifo; busybox sleep 1; busybox cat /etc/init_ra_conf.json >/etc/conf.fifo) &
  /bin/init --conf /etc/conf.fifo 2>/etc/init.err && echo APP-STARTED
  echo "init: $(busybox cat /etc/init.err)"; busybox ls /etc/keys' sh "$(cat "$HY/evil.json")" >"$HY/o4" 2>"$HY/e4"
grep -q '^hy_key$' "$HY/o4" || not_ok "FIFO swap: the bound configuration's own init did not run: $(cat "$HY/o4" "$HY/e4")"
if ! grep -q APP-STARTED "$HY/o4" && ! grep -q evil_key "$HY/o4" && [ "$(grep -c '^init: initra: ' "$HY/o4")" = 1 ] &&
   grep -q '^init: initra: /etc/conf.fifo: is a FIFO, not a regular file' "$HY/o4"; then
  ok "FIFO config swap under config_id: refused ($(grep '^init: ' "$HY/o4" | cut -c1-110)), nothing written, application not started"
else not_ok "FIFO config swap: $(cat "$HY/o4")"; fi
check_eq "FIFO config swap: the KMS was asked only by the bound configuration's init" "$(hy_asked)" "$((n0 + 1))"

# 5a. A (fake) hardware provider in the enclave, /dev/attestation of Gramine: the environment
# ($INITRA_SIM_FD, set here by the launcher, standing for a host-made socket) cannot choose another.
app_instance "$HY/happ" "$HY/conf.json" --init-ra || not_ok "hygiene: hardware app builds"
mkdir -p "$HY/happ/image/dev/attestation"
printf dcap >"$HY/happ/image/dev/attestation/attestation_type"
: >"$HY/happ/image/dev/attestation/user_report_data"
: >"$HY/happ/image/dev/attestation/quote"
"$INITRA" build "$HY/happ" >/dev/null 2>&1 || not_ok "hygiene: rebuild with /dev/attestation"
n0=$(hy_asked)
"$INITRA" run "$HY/happ" -- /bin/busybox echo APP-STARTED >"$HY/o5" 2>"$HY/e5"; rc=$?
if [ $rc != 0 ] && ! grep -q APP-STARTED "$HY/o5" &&
   grep -q "^initra: init: \$INITRA_SIM_FD is set .*hardware quote provider (Gramine /dev/attestation).*cannot choose another one" "$HY/e5"; then
  ok "INITRA_SIM_FD beside a hardware provider: refused ($(head -1 "$HY/e5" | cut -c1-120)), application not started"
else not_ok "provider chosen by the environment: rc=$rc $(cat "$HY/o5" "$HY/e5")"; fi
check_eq "provider refusal: the KMS was not asked" "$(hy_asked)" "$n0"

# 5b. PCCS_URL inside an enclave: ignored (one notice line); a configuration without a collateral source
# is refused before any connection instead of fetching from the host's PCCS.
DEAD=$(free_port)
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); del c["initra"]["collateral"]; json.dump(c, open(sys.argv[2], "w"))' \
  "$HY/conf.json" "$HY/nocoll.json"
app_instance "$HY/papp" "$HY/nocoll.json" --init-ra || not_ok "hygiene: PCCS app builds"
n0=$(hy_asked)
PCCS_URL=http://127.0.0.1:$DEAD "$INITRA" run "$HY/papp" -- /bin/busybox echo APP-STARTED >"$HY/o5b" 2>"$HY/e5b"; rc=$?
if [ $rc != 0 ] && ! grep -q APP-STARTED "$HY/o5b" && grep -q '^init: notice: \$PCCS_URL is ignored inside an enclave' "$HY/e5b" &&
   grep -q '^initra: init: /etc/init_ra_conf.json names no collateral source .*"pccs_url"' "$HY/e5b" &&
   [ "$(hy_asked)" = "$n0" ]; then
  ok "PCCS_URL inside an enclave: ignored with a notice; no collateral source in the config: refused, KMS not asked"
else not_ok "PCCS_URL inside an enclave: rc=$rc $(cat "$HY/o5b" "$HY/e5b")"; fi
PCCS_URL=http://127.0.0.1:$DEAD "$INITRA" run "$HY/app" -- /bin/busybox cat /etc/keys/hy_key >"$HY/o5c" 2>"$HY/e5c"
[ "$(cat "$HY/o5c")" = "$(cat "$HY/secret")" ] && grep -q '^init: notice: \$PCCS_URL is ignored' "$HY/e5c" \
  && ok "PCCS_URL inside an enclave with initra.collateral: ignored (notice), the key is fetched" \
  || not_ok "PCCS_URL with collateral: $(cat "$HY/e5c")"
kill "$KMS_PID" 2>/dev/null; wait "$KMS_PID" 2>/dev/null

# 5c. libcurl by absolute path: a libcurl.so.4 first on $LD_LIBRARY_PATH that aborts when loaded is not
# loaded by a PCCS fetch.
mkdir -p "$HY/fakelib"
printf '#include <stdio.h>\n#include <stdlib.h>\n__attribute__((constructor)) static void hijack(void) { fputs("FAKE LIBCURL LOADED\\n", stderr); abort(); }\n' >"$HY/fakecurl.c"
${CC:-cc} -shared -fPIC -o "$HY/fakelib/libcurl.so.4" "$HY/fakecurl.c" || not_ok "hygiene: fake libcurl builds"
"$INITRA" sim quote -o "$HY/q.bin" >/dev/null || not_ok "hygiene: sim quote"
check_fails "LD_LIBRARY_PATH with a fake libcurl.so.4: the real one is loaded (the PCCS fetch fails cleanly)" 1 \
  "^initra: PCCS http://127.0.0.1:$DEAD: GET .* failed" \
  env LD_LIBRARY_PATH="$HY/fakelib" "$INITRA" quote verify "$HY/q.bin" --pccs "http://127.0.0.1:$DEAD" \
  --trust-root "$W/sim-root.der" --cache-dir "$HY/cache"

# Core dumps off: PR_SET_DUMPABLE 0 in init and the KMS, seen from outside: the files of /proc/PID (not the
# directory) of a non-dumpable process belong to root, not to the process's user. Run as an unprivileged
# user (nobody when root).
HYD=$(mktemp -d /tmp/initra-hygiene.XXXXXX)
chmod 755 "$HYD"
# hy_as CMD... &: only in the background (it execs, so $! is the command's own PID).
if [ "$(id -u)" = 0 ]; then HY_UID=65534; hy_as() { exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
else HY_UID=$(id -u); hy_as() { exec "$@"; }; fi
hy_owner() { stat -c %u "/proc/$1/environ" 2>/dev/null; }
hy_as sleep 30 & HY_CTL=$!
i=0; while [ $i -lt 100 ] && [ "$(cat /proc/$HY_CTL/comm 2>/dev/null)" != sleep ]; do sleep 0.1; i=$((i + 1)); done
check_eq "control: an ordinary process of uid $HY_UID owns its /proc entry" "$(hy_owner $HY_CTL)" "$HY_UID"
kill $HY_CTL 2>/dev/null
cp "$W/sim-root.der" "$W/collateral.json" "$HY/secret_config.json" "$HY/dynamic_config.json" "$HYD/"
chmod 644 "$HYD"/*
DPORT=$(free_port)
hy_as "$INITRA" kms serve --listen "127.0.0.1:$DPORT" --secrets "$HYD/secret_config.json" \
  --clients "$HYD/dynamic_config.json" --collateral "$HYD/collateral.json" --trust-root "$HYD/sim-root.der" \
  --insecure-no-attestation >"$HYD/kms.log" 2>&1 &
HY_KMS=$!
PIDS="$PIDS $HY_KMS"
wait_for "$HYD/kms.log" serving || not_ok "hygiene: unprivileged KMS starts: $(cat "$HYD/kms.log")"
check_eq "the KMS process is not dumpable (/proc/$HY_KMS/environ owned by root)" "$(hy_owner $HY_KMS)" 0
kill $HY_KMS 2>/dev/null
# init, held inside its quote request: a fake Gramine tree whose quote is a FIFO nobody writes.
mkdir -m 755 "$HYD/gramine"   # modes set explicitly: the unprivileged init must reach them whatever the umask
printf dcap >"$HYD/gramine/attestation_type"
: >"$HYD/gramine/user_report_data"
chmod 644 "$HYD/gramine/attestation_type"
chmod 666 "$HYD/gramine/user_report_data"
mkfifo -m 666 "$HYD/gramine/quote"
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["initra"]={"collateral": sys.argv[3]+"/collateral.json", "trust_roots": [sys.argv[3]+"/sim-root.der"]}; c["kms_keys"][0]["path"]=sys.argv[3]+"/out/k"; json.dump(c, open(sys.argv[2], "w"))' \
  "$HY/conf.json" "$HYD/conf.json" "$HYD"
chmod 644 "$HYD/conf.json"
# (no `env` in between: run unprivileged, it could not reach a binary under a 0700 /root, as on a fresh
# Debian root; setpriv execs initra directly, as for the KMS above)
(export INITRA_GRAMINE_DIR="$HYD/gramine"; hy_as "$INITRA" init --conf "$HYD/conf.json" >"$HYD/init.log" 2>&1) &
HY_INIT=$!
PIDS="$PIDS $HY_INIT"
i=0; while [ $i -lt 100 ] && ! [ -s "$HYD/gramine/user_report_data" ]; do sleep 0.1; i=$((i + 1)); done
got=$(hy_owner $HY_INIT)
[ "$got" = 0 ] && ok "init is not dumpable (/proc/$HY_INIT/environ owned by root while it waits for its quote)" ||
  not_ok "init is not dumpable: /proc/$HY_INIT/environ owner '$got', want 0; init said: $(head -c 300 "$HYD/init.log")"
kill $HY_INIT 2>/dev/null; wait $HY_INIT 2>/dev/null
rm -rf "$HYD"
