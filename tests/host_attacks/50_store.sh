# Issue 17, the sealed store under the host's hands: the host owns /host/kms.db. It edits a version's rule
# row, swaps two ciphertexts between names, runs a debug build of the KMS on the store: each fails (the
# associated data binds namespace, name, version and rule; DEBUG enters the seal key).
plan 7  # checks in this section
ST=$T/store
mkdir -p "$ST/host"
ST_PEER="$(dirname "$INITRA")/../helpers/kms_admin_peer"
ST_SIGNER=$(probe_signer "$ST/probe")
ST_ADM=$("$ST_PEER" keygen "$ST/admin")
ST_CONF="{\"store\": {\"sqlite\": \"/host/kms.db\"}, \"admins\": [\"$ST_ADM\"]}"
kms_instance "$ST/kms" "$ST_CONF" || not_ok "store: KMS instance builds"
ST_PORT=$(free_port)
st_start() { KMS_RUN_ARGS="--host-dir $ST/host" kms_start "$ST/kms" "$ST_PORT" "$ST/kms.log" && PIDS="$PIDS $KMS_PID"; }
st_admin() { "$ST_PEER" "127.0.0.1:$ST_PORT" "$ST/admin.key" "$ST/admin.crt" "$@"; }
# st_get NAME: a client enclave of ST_SIGNER launched with CONFIGSVN 1 asks for NAME (Python grpcio,
# tests/helpers/grsecret.py): the secret (base64) or "ERROR CODE details".
"$INITRA" sim ratls-cert --mrsigner "$ST_SIGNER" --config-svn 1 --key-out "$ST/c.key" --cert-out "$ST/c.pem"
st_get() {
  openssl s_client -connect "127.0.0.1:$ST_PORT" -showcerts </dev/null 2>/dev/null | openssl x509 >"$ST/kms.pem" 2>/dev/null
  $PY tests/helpers/grsecret.py client "127.0.0.1:$ST_PORT" "$1" --root "$ST/kms.pem" --override "initra RA-TLS" \
    --cert "$ST/c.pem" --key "$ST/c.key" 2>&1
}
st_start && ok "store: KMS on /host/kms.db starts" || not_ok "store: KMS starts: $(tail -3 "$ST/kms.log")"
printf '[{"mr_signer": "%s"}]' "$ST_SIGNER" >"$ST/pol.json"
printf 'svn3-only' >"$ST/gated"; printf 'AAAA' >"$ST/a"; printf 'BBBB' >"$ST/b"
st_admin policy default "$ST/pol.json" && st_admin put default gated "$ST/gated" 3 >/dev/null &&
  st_admin put default a "$ST/a" >/dev/null && st_admin put default b "$ST/b" >/dev/null &&
  [ "$(st_get a)" = "\"$(base64 <"$ST/a")\"" ] && ok "store: secrets put; a CONFIGSVN 1 client reads a" \
  || not_ok "store: setup: $(st_get a)"
kill "$KMS_PID"; wait "$KMS_PID" 2>/dev/null

# The host lowers gated's rule (min_config_svn 3 -> 1) and swaps a's and b's ciphertexts.
$PY - "$ST/host/kms.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE secrets SET min_config_svn = 1 WHERE ns = 'default' AND name = 'gated'")
a = db.execute("SELECT nonce, ct FROM secrets WHERE ns = 'default' AND name = 'a'").fetchone()
b = db.execute("SELECT nonce, ct FROM secrets WHERE ns = 'default' AND name = 'b'").fetchone()
db.execute("UPDATE secrets SET nonce = ?, ct = ? WHERE ns = 'default' AND name = 'a'", b)
db.execute("UPDATE secrets SET nonce = ?, ct = ? WHERE ns = 'default' AND name = 'b'", a)
db.commit()
PY
st_start
out=$(st_get gated)
case $out in *"ERROR DATA_LOSS"*) ok "store: an edited rule row: gated refused (DATA_LOSS), svn3-only not released" ;;
  *) not_ok "store: edited rule: $out" ;; esac
grep -q 'asked for "gated": error: .*gated.*version 1' "$ST/kms.log" && ok "store: the KMS log names the tampered secret" \
  || not_ok "store: log: $(grep gated "$ST/kms.log" | tail -1)"
out=$(st_get a); case $out in *"ERROR DATA_LOSS"*) ok "store: swapped ciphertexts: a refused" ;; *) not_ok "store: swapped a: $out" ;; esac
out=$(st_get b); case $out in *"ERROR DATA_LOSS"*) ok "store: swapped ciphertexts: b refused" ;; *) not_ok "store: swapped b: $out" ;; esac
kill "$KMS_PID"; wait "$KMS_PID" 2>/dev/null

# A debug build of the same KMS (same signer: its memory is open to the host) on the store.
kms_instance "$ST/dbg" "$ST_CONF" && $PY - "$ST/dbg/Occlum.json" <<'PY' && "$INITRA" build "$ST/dbg" >/dev/null 2>&1
import json, sys
j = json.load(open(sys.argv[1])); j["metadata"]["debuggable"] = True
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
"$INITRA" run "$ST/dbg" --host-dir "$ST/host" -- /bin/initra kms serve --listen 127.0.0.1:0 >"$ST/dbg.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q 'initra: kms: store.sqlite /host/kms.db' "$ST/dbg.out" && ! grep -q serving "$ST/dbg.out" \
  && ok "store: a debug build of the KMS cannot open the store: $(grep initra: "$ST/dbg.out" | cut -c1-150)" \
  || not_ok "store: debug KMS (exit $rc): $(cat "$ST/dbg.out")"
