# Shell test helpers, sourced by tests/t_*.sh. Each check prints "ok - ..." or "not ok - ...".
# Environment from tests/run.sh: INITRA (the binary), VECTORS, T (a fresh temp dir for this script).
set -u
ok() { echo "ok - $*"; }
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
