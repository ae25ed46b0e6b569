# Issue 9 part D, the smaller findings: secret names and log lines, AECS denials, advisory limit, TCB
# signing role, min_tcb_evaluation_data_number, key writing, PCCS failure cache.
plan 22  # checks in this section
S=$T/small
mkdir -p "$S"

# ---- Secret names are printable ASCII; KMS log lines escape what they echo. ----
printf 'hunter2' >"$S/pw"
secrets_conf "$S/secret_config.json" demo_key="$S/pw"
SM_SIGNER=$("$INITRA" print mrsigner --key "$T/keys/"*.pem 2>/dev/null | field)
[ -n "$SM_SIGNER" ] || { "$INITRA" new "$S/probe" >/dev/null; "$INITRA" build "$S/probe" >/dev/null 2>&1;
  SM_SIGNER=$("$INITRA" print mrsigner "$S/probe" | field); }
clients_conf "$S/dynamic_config.json" "$SM_SIGNER" 1
kms_instance "$S/kms" '{"secrets": "/etc/kms/secret_config.json", "clients": "/etc/kms/dynamic_config.json"}' "$S/secret_config.json" "$S/dynamic_config.json" || not_ok "small: KMS instance builds"
SM_PORT=$(free_port)
kms_start "$S/kms" "$SM_PORT" "$S/kms.log" || not_ok "small: KMS starts"
PIDS="$PIDS $KMS_PID"
"$INITRA" sim ratls-cert --mrsigner "$SM_SIGNER" --config-svn 1 --key-out "$S/good.key" --cert-out "$S/good.pem"
# kms_get PORT NAME: a Python grpcio client (with the RA-TLS identity good.pem) asks the KMS on PORT for NAME;
# prints the secret (base64) or "ERROR CODE details".
kms_get() {
  [ -s "$S/kms-$1.pem" ] || openssl s_client -connect "127.0.0.1:$1" -showcerts </dev/null 2>/dev/null |
    openssl x509 >"$S/kms-$1.pem" 2>/dev/null
  $PY tests/helpers/grsecret.py client "127.0.0.1:$1" "$2" --root "$S/kms-$1.pem" --override "initra RA-TLS" \
    --cert "$S/good.pem" --key "$S/good.key" 2>&1
}
sm_get() { kms_get "$SM_PORT" "$1"; }
before=$(wc -l <"$S/kms.log")
forged="$(printf 'x\n2030-01-01T00:00:00Z kms: 10.0.0.1 asked for "demo_key": released (7 bytes)')"
out=$(sm_get "$forged")
after=$(wc -l <"$S/kms.log")
case "$out" in "ERROR INVALID_ARGUMENT"*"non-printable character (byte 0x0a at position 1)"*)
  ok "a requested name with a newline: INVALID_ARGUMENT naming the byte";; *) not_ok "newline name: $out";; esac
check_eq "one KMS log line for the request with a newline in the name" "$((after - before))" 1
grep -q '^2030-01-01' "$S/kms.log" && not_ok "a forged KMS log line: $(tail -2 "$S/kms.log")" \
  || ok "no forged line in the KMS log; it shows the name escaped: $(tail -1 "$S/kms.log" | cut -c1-120)"
tail -1 "$S/kms.log" >"$S/last"; grep -qF 'x\x0a2030-01-01' "$S/last" && ok "the log line escapes the newline as \\x0a" \
  || not_ok "escaped name: $(tail -1 "$S/kms.log")"
[ "$(sm_get demo_key)" = "\"$(base64 -w0 "$S/pw")\"" ] && ok "a printable name is still released" || not_ok "demo_key: $(sm_get demo_key)"
# The KMS secrets file: a name with a control character is refused at start, the name shown escaped.
printf '{"bad\\u0007name": "aGk="}' >"$S/ctl_secrets.json"
check_fails "secret_config.json: a name with a control character" 1 \
  'ctl_secrets.json: secret name "bad\\x07name" has a non-printable character \(byte 0x07 at position 3\)' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --insecure-no-attestation --clients "$S/dynamic_config.json" --secrets "$S/ctl_secrets.json"
# A bad secret value never echoes a character of the secret, nor does a JSON syntax error.
printf '{"k": "c2VjcmV0!ZZZ"}' >"$S/b64_secrets.json"
check_fails "secret_config.json: bad base64 value named without its characters" 1 \
  'b64_secrets.json: k: the value is not base64 \(standard alphabet' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --insecure-no-attestation --clients "$S/dynamic_config.json" --secrets "$S/b64_secrets.json"
grep -q '!' "$T/err" && not_ok "the error echoes a character of the secret: $(cat "$T/err")" || ok "no character of the bad value in the error"
printf '{"k": "TOPSECRETVALUE\001"}' >"$S/ctl_value.json"
check_fails "secret_config.json: a control character in a value" 1 'ctl_value.json:1:[0-9]+: not valid JSON' \
  "$INITRA" kms serve --listen 127.0.0.1:0 --insecure-no-attestation --clients "$S/dynamic_config.json" --secrets "$S/ctl_value.json"
grep -q 'TOPSECRET' "$T/err" && not_ok "the JSON error echoes the secret: $(cat "$T/err")" || ok "the JSON error carries no part of the value"
# init: a key name with a control character in init_ra_conf.json.
init_conf "$S/conf.json" "$SM_PORT" "$(printf '00%.0s' $(seq 32))" "$(printf 'a\tb')=/etc/k"
"$INITRA" init --conf "$S/conf.json" >/dev/null 2>"$S/init.err"; rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$S/init.err")" = 1 ] && grep -q 'kms_keys\[0\].key "a\\x09b" has a non-printable character' "$S/init.err" \
  && ok "init: a key name with a tab refused" || not_ok "init tab name: rc=$rc $(cat "$S/init.err")"

# ---- Collateral: only the TCB signing role signs TCB info and QE identity; more advisories than the
# result holds fail closed. The host holds the sim PCK key here, as a platform owner would. ----
SD=$INITRA_SIM_DIR
"$INITRA" sim quote -o "$S/q.bin" && "$INITRA" sim collateral -o "$S/c.json"
AT=$(($(date +%s) + 1))
RESIGN="$PY tests/helpers/collateral_resign.py"
$RESIGN "$S/c.json" "$S/c_pck.json" --key "$SD/pck.key" --chain "$SD/pck.pem" "$SD/pck_ca.pem" "$SD/root.pem"
check_fails "TCB info and QE identity signed by the PCK certificate (same root): refused" 1 \
  "TCB info is signed by 'initra sim SGX PCK Certificate', which is not the TCB signing role" \
  "$INITRA" quote verify "$S/q.bin" --collateral "$S/c_pck.json" --trust-root "$W/sim-root.der" --at "$AT"
$RESIGN "$S/c.json" "$S/c_ca.json" --key "$SD/pck_ca.key" --chain "$SD/pck_ca.pem" "$SD/root.pem"
check_fails "collateral signed by the PCK CA: refused" 1 "TCB info is signed by 'initra sim SGX PCK Processor CA', which is not the TCB signing role" \
  "$INITRA" quote verify "$S/q.bin" --collateral "$S/c_ca.json" --trust-root "$W/sim-root.der" --at "$AT"
$RESIGN "$S/c.json" "$S/c_64.json" --key "$SD/tcb_signing.key" --tcb-advisories 34 --qe-advisories 30
check "64 distinct advisories (the limit), signed by the TCB signer: verifies" \
  "$INITRA" quote verify "$S/q.bin" --collateral "$S/c_64.json" --trust-root "$W/sim-root.der" --at "$AT" --json
check_eq "all 64 advisories reported" "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["advisories"]))' "$T/out")" 64
$RESIGN "$S/c.json" "$S/c_65.json" --key "$SD/tcb_signing.key" --tcb-advisories 35 --qe-advisories 30
check_fails "65 distinct advisories: refused, not truncated" 1 "name more than 64 distinct advisory IDs" \
  "$INITRA" quote verify "$S/q.bin" --collateral "$S/c_65.json" --trust-root "$W/sim-root.der" --at "$AT"

# ---- min_tcb_evaluation_data_number: a KMS policy that requires collateral of evaluation 2 refuses a
# client verified with the sim's evaluation-1 collateral (as a host replaying old collateral would serve). ----
$PY - "$S/policy_eval.json" "$SM_SIGNER" <<'PY'
import json, sys
json.dump({"identities": {"new": {"mr_signer": sys.argv[2], "min_tcb_evaluation_data_number": 2},
                          "old": {"mr_signer": sys.argv[2], "min_tcb_evaluation_data_number": 1}},
           "secrets": {"demo_key": ["new"], "old_key": ["old"]}}, open(sys.argv[1], "w"), indent=2)
PY
secrets_conf "$S/secrets2.json" demo_key="$S/pw" old_key="$S/pw"
kms_instance "$S/kms2" '{"secrets": "/etc/kms/secrets2.json", "policy": "/etc/kms/policy_eval.json"}' "$S/secrets2.json" "$S/policy_eval.json" || not_ok "small: second KMS instance builds"
SM_PORT2=$(free_port)
kms_start "$S/kms2" "$SM_PORT2" "$S/kms2.log" || not_ok "small: second KMS starts"
PIDS="$PIDS $KMS_PID"
sm_get2() { kms_get "$SM_PORT2" "$1"; }
case "$(sm_get2 demo_key)" in "ERROR PERMISSION_DENIED"*) ok "min_tcb_evaluation_data_number 2, collateral of 1: refused";;
  *) not_ok "min eval 2: $(sm_get2 demo_key)";; esac
grep -q 'denied: .*tcbEvaluationDataNumber is 1, below the entry.s min_tcb_evaluation_data_number 2' "$S/kms2.log" \
  && ok "the KMS log names min_tcb_evaluation_data_number" || not_ok "KMS log: $(tail -2 "$S/kms2.log")"
[ "$(sm_get2 old_key)" = "\"$(base64 -w0 "$S/pw")\"" ] && ok "min_tcb_evaluation_data_number 1: released" || not_ok "min eval 1: $(sm_get2 old_key)"

# ---- PCCS failures are cached briefly: a flood of clients does not hammer a PCCS that is down. A KMS
# that verifies clients with collateral from a PCCS answering 503 (and counting requests). ----
cat >"$S/dead_pccs.py" <<'PY'
import http.server, os, sys
log, portfile = sys.argv[1], sys.argv[2]
class Dead(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with open(log, "a") as f: f.write(self.path + "\n")
        self.send_error(503)
srv = http.server.HTTPServer(("127.0.0.1", 0), Dead)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$S/pccs_requests"
$PY "$S/dead_pccs.py" "$S/pccs_requests" "$S/pccs_port" &
PIDS="$PIDS $!"
i=0; while [ ! -s "$S/pccs_port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
SM_PORT3=$(free_port)
kms_instance "$S/kms3" "{\"secrets\": \"/etc/kms/secret_config.json\", \"clients\": \"/etc/kms/dynamic_config.json\",
  \"collateral\": null, \"pccs_url\": \"http://127.0.0.1:$(cat "$S/pccs_port")\"}" "$S/secret_config.json" "$S/dynamic_config.json" \
  || not_ok "small: KMS instance with a PCCS builds"
kms_start "$S/kms3" "$SM_PORT3" "$S/kms3.log" || not_ok "small: KMS with a PCCS starts: $(cat "$S/kms3.log")"
PIDS="$PIDS $KMS_PID"
sm_get3() { kms_get "$SM_PORT3" demo_key; }
case "$(sm_get3)" in ERROR*) ok "PCCS down: the client is refused";; *) not_ok "PCCS down: released?";; esac
first=$(wc -l <"$S/pccs_requests")
for i in 1 2 3 4 5; do sm_get3 >/dev/null; done
after=$(wc -l <"$S/pccs_requests")
[ "$first" -gt 0 ] && [ "$after" = "$first" ] && ok "5 more clients within 15 s: no more PCCS requests ($first in all)" \
  || not_ok "PCCS requests: $first after one client, $after after six"
grep -q 'handshake refused: .*failure cached [0-9]* s ago; the PCCS is asked again 15 s after a failure' "$S/kms3.log" \
  && ok "the refusal says the PCCS failure is cached" || not_ok "KMS log: $(tail -2 "$S/kms3.log")"
