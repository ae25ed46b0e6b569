# Helpers for building and running simulated KMS and application instances; sourced by scripts/demo.sh
# and tests/t_grpc_ratls.sh. Needs INITRA (the binary) and W (a work directory); uses INITRA_SIM_DIR.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The sim platform's trust anchor and collateral, which verifiers inside instances need.
sim_export() {
  "$INITRA" sim root -o "$W/sim-root.der" && "$INITRA" sim collateral -o "$W/collateral.json"
}

# production DIR: Occlum.json metadata.debuggable false. `initra new` writes Occlum's template, which is
# debuggable, and policies refuse debug enclaves (their memory is open to the host) unless they allow them.
production() {
  python3 - "$1/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["debuggable"] = False
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
}

# kms_conf OUT JSON: a KMS configuration (docs/kms.md): the JSON object's keys over the defaults that
# name the sim root and collateral in the image (/etc/kms); "null" removes a default.
kms_conf() {
  python3 - "$1" "$2" <<'PY'
import json, sys
c = {"collateral": "/etc/kms/collateral.json", "trust_roots": ["/etc/kms/sim-root.der"]}
c.update(json.loads(sys.argv[2]))
json.dump({k: v for k, v in c.items() if v is not None}, open(sys.argv[1], "w"), indent=4)
PY
}

# kms_instance DIR CONF FILE...: a KMS instance whose image holds FILEs (and the sim root and collateral)
# in /etc/kms and its configuration at /etc/initra/kms.json (measured): CONF is kms_conf's JSON.
# CONF "bound" builds a KSS instance with "config_binding": "config_id" and no configuration in the
# image: attach one at launch (KMS_RUN_ARGS="--config FILE --config-id $(initra config-id FILE)").
kms_instance() {
  dir=$1 conf=$2; shift 2
  rm -rf "$dir"
  "$INITRA" new "$dir" >/dev/null && production "$dir" || return 1
  mkdir -p "$dir/image/etc/kms" "$dir/image/etc/initra"
  cp "$W/sim-root.der" "$W/collateral.json" "$@" "$dir/image/etc/kms/" || return 1
  if [ "$conf" = bound ]; then
    python3 - "$dir/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["enable_kss"] = True; j["config_binding"] = "config_id"
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
  else
    kms_conf "$dir/image/etc/initra/kms.json" "$conf" || return 1
  fi
  "$INITRA" build "$dir" >"$W/build.log" 2>&1 || { cat "$W/build.log"; return 1; }
}

# kms_start DIR PORT LOG [ARGS...]: runs `initra kms serve --listen 127.0.0.1:PORT ARGS` inside instance
# DIR (its configuration comes from the image, or is attached with $KMS_RUN_ARGS); waits until it
# serves. Sets KMS_PID (the launcher; SIGTERM to it stops the KMS).
kms_start() {
  dir=$1 port=$2 log=$3; shift 3
  : >"$log" # now, not in the background job: wait_for must not find "serving" in a previous run's log
  # shellcheck disable=SC2086
  "$INITRA" run "$dir" ${KMS_RUN_ARGS:-} -- /bin/initra kms serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  KMS_PID=$!
  wait_for "$log" serving || { cat "$log"; return 1; }
}

# wait_for FILE PATTERN: up to 10 s.
wait_for() {
  i=0
  while [ $i -lt 100 ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

# app_instance DIR CONF.json [--init-ra]: a busybox production application instance with enable_kss, whose image
# holds CONF as /etc/init_ra_conf.json and the sim root and collateral in /etc/initra. With --init-ra,
# /bin/init (the init-RA client) runs before the program.
app_instance() {
  dir=$1 conf=$2 mode=${3:-}
  rm -rf "$dir"
  if [ "$mode" = --init-ra ]; then "$INITRA" new "$dir" --init-ra grpc_ratls >/dev/null; else "$INITRA" new "$dir" >/dev/null; fi || return 1
  mkdir -p "$dir/image/bin" "$dir/image/etc/initra"
  cp "$(command -v busybox)" "$dir/image/bin/busybox"
  cp "$W/sim-root.der" "$W/collateral.json" "$dir/image/etc/initra/"
  if [ "$mode" = --init-ra ]; then cp "$conf" "$dir/init_ra_conf.json"; else cp "$conf" "$dir/image/etc/init_ra_conf.json"; fi
  python3 - "$dir/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["enable_kss"] = True
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
  production "$dir"
  "$INITRA" build "$dir" >"$W/build.log" 2>&1 || { cat "$W/build.log"; return 1; }
}

# init_conf OUT PORT KMS_MRENCLAVE KEY=PATH...: an Occlum GRPC-RATLS init_ra_conf.json pinning the KMS's
# MRENCLAVE (a production enclave: verify_enclave_debuggable "on", debuggable false), with initra's
# optional section naming the sim root and collateral; init's deadline is $INIT_DEADLINE_MS (default
# 10 s, generous for loaded test machines). More initra keys: INITRA_EXTRA='{"k": v}'.
init_conf() {
  out=$1 port=$2 mre=$3; shift 3
  python3 - "$out" "$port" "$mre" "$@" <<'PY'
import json, os, sys
out, port, mre, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
conf = {"kms_server": "127.0.0.1:" + port,
        "kms_keys": [{"key": k.split("=", 1)[0], "path": k.split("=", 1)[1]} for k in keys],
        "ra_config": {"verify_mr_enclave": "on", "verify_mr_signer": "off", "verify_isv_prod_id": "off",
                      "verify_isv_svn": "off", "verify_config_svn": "off", "verify_enclave_debuggable": "on",
                      "sgx_mrs": [{"mr_enclave": mre, "mr_signer": "", "isv_prod_id": 0, "isv_svn": 0,
                                   "config_svn": 0, "debuggable": False}]},
        "initra": {"collateral": "/etc/initra/collateral.json", "trust_roots": ["/etc/initra/sim-root.der"],
                   "deadline_ms": int(os.environ.get("INIT_DEADLINE_MS", "10000"))}}
conf["initra"].update(json.loads(os.environ.get("INITRA_EXTRA") or "{}"))
json.dump(conf, open(out, "w"), indent=4)
PY
}

# clients_conf OUT MRSIGNER CONFIG_SVN: Occlum's dynamic_config.json allowing production enclaves of
# MRSIGNER launched with exactly CONFIG_SVN.
clients_conf() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
json.dump({"verify_mr_enclave": "off", "verify_mr_signer": "on", "verify_isv_prod_id": "off",
           "verify_isv_svn": "off", "verify_config_svn": "on", "verify_enclave_debuggable": "on",
           "sgx_mrs": [{"mr_enclave": "", "mr_signer": sys.argv[2], "isv_prod_id": 0, "isv_svn": 0,
                        "config_svn": int(sys.argv[3]), "debuggable": False}]}, open(sys.argv[1], "w"), indent=4)
PY
}

# secrets_conf OUT NAME=FILE...: Occlum's secret_config.json with each FILE's bytes as base64.
secrets_conf() {
  out=$1; shift
  python3 - "$out" "$@" <<'PY'
import base64, json, sys
json.dump({a.split("=", 1)[0]: base64.b64encode(open(a.split("=", 1)[1], "rb").read()).decode()
           for a in sys.argv[2:]}, open(sys.argv[1], "w"), indent=4)
PY
}

field() { awk '{print $NF}'; }

# probe_signer DIR: the MRSIGNER that `initra build` signs with here (from a throw-away instance DIR).
probe_signer() {
  "$INITRA" new "$1" >/dev/null && "$INITRA" build "$1" >/dev/null 2>&1
  "$INITRA" print mrsigner "$1" | field
}

# Init failure cases through an instance whose program runs the client itself, so what was written is visible.
# try_init NAME CONF [run options]: runs init in a fresh instance $T/NAME, prints init's stderr and the files left.
try_init() {
  name=$1 conf=$2; shift 2
  app_instance "$T/$name" "$conf" || return 1
  "$INITRA" run "$T/$name" "$@" -- /bin/busybox sh -c \
    '/bin/initra init 2>/tmp/e; echo "rc=$?"; cat /tmp/e; busybox find /etc/keys /keys -type f 2>/dev/null' 2>&1
}
# expect_refusal DESC OUTPUT PATTERN: try_init's OUTPUT shows exit 1, one line matching PATTERN, nothing written.
expect_refusal() {
  if grep -q '^rc=1$' "$2" && [ "$(grep -c '^initra: ' "$2")" = 1 ] && grep -Eq "$3" "$2" && ! grep -q '^/etc/keys\|^/keys' "$2"; then
    ok "$1: $(grep '^initra: ' "$2" | cut -c1-150)"
  else not_ok "$1 (want /$3/, exit 1, one line, nothing written): $(cat "$2")"; fi
}

# aecs_init_conf OUT PORT SERVER_MRENCLAVE NAME=SERVICE:PATH[:base64]...: an Occlum AECS init_ra_conf.json
# pinning the AECS server's MRENCLAVE (ua_policy_hex_ta_measurement; "" leaves it unpinned, which init
# refuses unless INITRA_EXTRA='{"accept_any_enclave": true}'), with initra's optional section naming the
# sim root and collateral. Extra ra_config fields: AECS_RA_EXTRA='{"k": "v"}'; extra initra keys: INITRA_EXTRA.
aecs_init_conf() {
  out=$1 port=$2 mre=$3; shift 3
  python3 - "$out" "$port" "$mre" "${AECS_RA_EXTRA:-{\}}" "$@" <<'PY'
import json, os, sys
out, port, mre, extra, keys = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5:]
ua = ["ua_ias_url", "ua_ias_spid", "ua_ias_apk_key", "ua_dcap_lib_path", "ua_dcap_pccs_url", "ua_uas_url",
      "ua_uas_app_key", "ua_uas_app_secret"] + ["ua_policy_" + a for a in (
      "str_tee_platform", "hex_platform_hw_version", "hex_platform_sw_version", "hex_secure_flags",
      "hex_platform_measurement", "hex_boot_measurement", "str_tee_identity", "hex_ta_measurement",
      "hex_ta_dyn_measurement", "hex_signer", "hex_prod_id", "str_min_isvsvn", "hex_user_data",
      "bool_debug_disabled", "hex_hash_or_pem_pubkey", "hex_nonce", "hex_spid")]
ra = {k: "" for k in ua}
ra["ua_policy_hex_ta_measurement"] = mre
ra.update(extra)
kk = []
for k in keys:
    name, rest = k.split("=", 1)
    parts = rest.split(":")
    e = {"key": name, "path": parts[1], "service": parts[0]}
    if len(parts) > 2: e["encode"] = parts[2]
    kk.append(e)
conf = {"kms_server": "127.0.0.1:" + port, "kms_keys": kk, "ua_env_pccs_url": "", "ra_config": ra,
        "initra": {"collateral": "/etc/initra/collateral.json", "trust_roots": ["/etc/initra/sim-root.der"],
                   "deadline_ms": int(os.environ.get("INIT_DEADLINE_MS", "10000"))}}
conf["initra"].update(json.loads(os.environ.get("INITRA_EXTRA") or "{}"))
json.dump(conf, open(out, "w"), indent=4)
PY
}

# occlum_instance DIR CONF FLAVOUR [BUILD ARGS...]: Occlum's two-stage layout (`initra new --initfs`): the
# initfs holds init, CONF as init_ra_conf.json and the sim root and collateral in /etc/initra; the image
# holds busybox only. enable_kss, not debuggable; BUILD ARGS e.g. --image-key FILE.
occlum_instance() {
  dir=$1 conf=$2 flavour=$3; shift 3
  rm -rf "$dir"
  "$INITRA" new "$dir" --init-ra "$flavour" --initfs >/dev/null || return 1
  mkdir -p "$dir/image/bin" "$dir/initfs/etc/initra"
  cp "$(command -v busybox)" "$dir/image/bin/busybox"
  cp "$W/sim-root.der" "$W/collateral.json" "$dir/initfs/etc/initra/"
  cp "$conf" "$dir/init_ra_conf.json"
  python3 - "$dir/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["enable_kss"] = True; j["metadata"]["debuggable"] = False
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
  "$INITRA" build "$dir" "$@" >"$W/build.log" 2>&1 || { cat "$W/build.log"; return 1; }
}

# grpc_kms_start (tests): the GRPC-RATLS KMS instance $T/kms, its measured kms.json naming
# $T/secret_config.json and $T/dynamic_config.json, started on a free port. Sets KMS_MRE, PORT, KMS_PID;
# one check ("KMS starts inside a simulated enclave"); exits the test script when it cannot start.
grpc_kms_start() {
  kms_instance "$T/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$T/secret_config.json" "$T/dynamic_config.json" || { not_ok "KMS instance builds"; exit 1; }
  KMS_MRE=$("$INITRA" print mrenclave "$T/kms" | field)
  PORT=$(free_port)
  kms_start "$T/kms" "$PORT" "$T/kms.log" \
    && ok "KMS starts inside a simulated enclave" || { not_ok "KMS starts"; exit 1; }
}
