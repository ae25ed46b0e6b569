# Shell test helpers, sourced by tests/t_*.sh. Each check prints "ok - ..." or "not ok - ...", and each
# script declares how many checks it runs (plan).
# Environment from tests/run.sh: INITRA (the binary), VECTORS, T (a fresh temp dir for this script).
set -u
ok() { echo "ok - $*"; }
# plan N: this script (or this section of it) runs N checks. A script's plans add up; tests/run.sh fails
# a script that runs a different number of checks, or declares none. A section that cannot run here (no
# real-quote vectors) declares `skip WHAT` instead of its plan.
plan() { echo "# plan $1"; }
skip() { echo "# skip $*"; }
not_ok() { echo "not ok - $*"; }
# check DESC CMD...: CMD must exit 0.
check() {
  d=$1; shift
  if "$@" >"$T/out" 2>"$T/err"; then ok "$d"; else not_ok "$d (exit $?; stderr: $(head -c 400 "$T/err"))"; fi
}
# check_fails DESC CODE PATTERN CMD...: CMD exits CODE, stderr is one line matching PATTERN (grep -E).
check_fails() {
  d=$1; code=$2; pat=$3; shift 3
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  lines=$(wc -l <"$T/err")
  if [ "$rc" = "$code" ] && [ "$lines" = 1 ] && grep -Eq -- "$pat" "$T/err"; then ok "$d"
  else not_ok "$d (exit $rc, want $code; $lines stderr lines: $(head -c 400 "$T/err"); want /$pat/)"; fi
}
# check_eq DESC GOT WANT
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}
# stop_server DESC PID LOG: the server PID is still alive at the end of the checks (it did not crash
# or exit under them) and stops on SIGTERM.
stop_server() {
  if kill "$2" 2>/dev/null; then
    wait "$2" 2>/dev/null
    if kill -0 "$2" 2>/dev/null; then not_ok "$1 (still running after SIGTERM)"; else ok "$1"; fi
  else not_ok "$1 (it had already exited: $(tail -3 "$3" 2>/dev/null))"; fi
}
# sim_platform: this script's own simulated platform (INITRA_SIM_DIR=$T/sim, signing keys in $T/keys),
# its root and collateral exported to W=$T for instances (scripts/instances.sh, sourced first); the
# script stops when the platform cannot be made.
sim_platform() {
  W=$T
  export INITRA_SIM_DIR=$T/sim INITRA_SIGN_KEY_DIR=$T/keys
  "$INITRA" sim init >/dev/null && sim_export || { not_ok "sim platform"; exit 1; }
}
# bad_conf DESC PATTERN PYTHON-EDIT: $T/conf.json (an init_ra_conf.json) edited by the Python statement
# PYTHON-EDIT (the JSON is `c`, a string replaces the whole text; key paths are redirected under $T/out)
# must make `initra init` exit 1 with one stderr line matching PATTERN and write nothing.
bad_conf() {
  d=$1 pat=$2 edit=$3
  /usr/bin/python3 - "$T/conf.json" "$T/bad.json" "$T" "$edit" <<'PYX'
import json, sys
c = json.load(open(sys.argv[1])); T = sys.argv[3]
for k in c["kms_keys"]: k["path"] = T + "/out" + k["path"]
exec(sys.argv[4])
open(sys.argv[2], "w").write(c if isinstance(c, str) else json.dumps(c))
PYX
  rm -rf "$T/out"
  "$INITRA" init --conf "$T/bad.json" >"$T/bad.out" 2>"$T/bad.err"; rc=$?
  if [ $rc = 1 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -Eq "$pat" "$T/bad.err" && [ ! -e "$T/out" ]; then
    ok "$d: $(cut -c1-140 "$T/bad.err")"
  else not_ok "$d (exit $rc, want /$pat/): $(cat "$T/bad.err")"; fi
}
