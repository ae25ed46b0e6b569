# KSS used: one pre-signed instance, configurations attached at launch and bound by CONFIGID. The init
# client fetches keys with the configuration whose hash is its CONFIGID, and refuses a swapped one.
. tests/lib.sh
plan 5
. scripts/instances.sh
sim_platform
printf 'site-a secret' >"$T/pw"
secrets_conf "$T/secret_config.json" demo_key="$T/pw"
"$INITRA" new "$T/probe" >/dev/null; "$INITRA" build "$T/probe" >/dev/null 2>&1
SIGNER=$("$INITRA" print mrsigner "$T/probe" | field)
clients_conf "$T/dynamic_config.json" "$SIGNER" 1
kms_instance "$T/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$T/secret_config.json" "$T/dynamic_config.json" || { not_ok "KMS instance"; exit 1; }
PORT=$(free_port)
kms_start "$T/kms" "$PORT" "$T/kms.log" || { not_ok "KMS starts"; exit 1; }
trap 'kill $KMS_PID 2>/dev/null' EXIT
init_conf "$T/site-a.json" "$PORT" "$("$INITRA" print mrenclave "$T/kms" | field)" demo_key=/etc/keys/demo_key
# The instance: init_ra_conf.json is not measured, only the binding mode is.
app_instance "$T/app" "$T/site-a.json" --init-ra || not_ok "app builds"
python3 - "$T/app/Occlum.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["config_binding"] = "config_id"
json.dump(j, open(sys.argv[1], "w"), indent=4)
PY
"$INITRA" build "$T/app" >/dev/null 2>&1 || not_ok "rebuild with config_binding"
grep -qx config_id "$T/app/image/etc/initra/config_binding" && [ ! -e "$T/app/image/etc/init_ra_conf.json" ] \
  && ok "config_id binding: init_ra_conf.json left out of the image" || not_ok "binding not recorded"
CID=$("$INITRA" config-id "$T/site-a.json")
"$INITRA" run "$T/app" --config "$T/site-a.json" --config-id "$CID" --config-svn 1 -- /bin/busybox cat /etc/keys/demo_key >"$T/o1" 2>"$T/e1"
[ "$(cat "$T/o1")" = "site-a secret" ] && ok "attached configuration whose hash is CONFIGID: keys fetched" || not_ok "bound run: $(cat "$T/e1")"
# A swapped configuration (another KMS address) with the original CONFIGID: refused before any fetch.
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); c['kms_server']='127.0.0.1:1'; json.dump(c,open(sys.argv[2],'w'))" "$T/site-a.json" "$T/evil.json"
"$INITRA" run "$T/app" --config "$T/evil.json" --config-id "$CID" --config-svn 1 -- /bin/busybox echo STARTED >"$T/o2" 2>"$T/e2"; rc=$?
[ $rc != 0 ] && ! grep -q STARTED "$T/o2" && grep -q '^initra: .*evil\|^initra: .*init_ra_conf.json' "$T/e2" && grep -qi 'config' "$T/e2" \
  && ok "swapped configuration refused by /bin/init: $(head -1 "$T/e2" | cut -c1-150)" || not_ok "swapped config: rc=$rc $(cat "$T/e2")"
n=$(grep -c 'asked for' "$T/kms.log")
[ "$n" = 1 ] && ok "the KMS was asked once (the swapped configuration never reached it)" || not_ok "KMS requests: $n"
"$INITRA" run "$T/app" -- /bin/busybox true 2>"$T/e3"; rc=$?
[ $rc != 0 ] && grep -q 'attach one with --config FILE' "$T/e3" && ok "config_id instance without --config refused" || not_ok "no --config: $(cat "$T/e3")"
