#!/bin/sh
# Runs every test: unit tests (normal and ASan+UBSan builds), fuzz-corpus replays (ASan+UBSan),
# and the shell tests tests/t_*.sh against the real binary. Prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
B=${INITRA_BUILD:-build}
ROOT=$(pwd)
export INITRA="$ROOT/$B/bin/initra"
# The real-quote vectors: VECTORS is their directory, or "" when absent (tests/vectors.sh; the tests
# that need them skip, and one line says so: here, unless `make test` printed it before building).
. tests/vectors.sh
[ -z "$VECTORS_SKIP" ] || [ -n "${INITRA_VECTORS_SAID:-}" ] || echo "$VECTORS_SKIP"
export VECTORS INITRA_VECTORS="$VECTORS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
WORK=$(mktemp -d /tmp/initra-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export INITRA_SIM_DIR="$WORK/sim"   # one simulated platform shared by the run
LOG="$WORK/log"
: >"$LOG"
# TESTS=pattern runs only the tests whose name contains pattern (for working on one area).
run() { # name cmd...
  name=$1; shift
  case "$name" in *"${TESTS:-}"*) ;; *) return 0;; esac
  out="$WORK/out.$$"
  "$@" >"$out" 2>&1; rc=$?
  cat "$out" >>"$LOG"
  grep -E '^(not )?ok - ' "$out" | sed "s|^|[$name] |"
  if [ $rc != 0 ] && ! grep -q '^not ok - ' "$out"; then
    echo "not ok - [$name] exited $rc with no failed check; output:"; tail -20 "$out"
    echo "not ok - [$name] crashed" >>"$LOG.extra"
  fi
  case "$name" in *.sh) plan_check "$name" "$out";; esac
  if grep -q '^not ok - ' "$out"; then echo "--- output of [$name] ---"; tail -30 "$out"; fi
}
# plan_check NAME OUT: a shell test runs exactly the checks its plan lines declare (tests/lib.sh plan;
# a section that cannot run here declares `skip` instead), so a check that silently did not run, or a
# loop that found nothing, is a failure rather than a smaller pass count.
plan_check() {
  planned=$(sed -n 's/^# plan \([0-9][0-9]*\)$/\1/p' "$2" | awk '{s += $1} END {print s + 0}')
  ran=$(grep -Ec '^(not )?ok - ' "$2")
  if ! grep -Eq '^# (plan [0-9]+|skip .+)$' "$2"; then msg="declares no plan (tests/lib.sh: plan N)"
  elif [ "$ran" != "$planned" ]; then msg="ran $ran checks, its plan declares $planned"
  else return 0; fi
  echo "not ok - [$1] $msg" | tee -a "$2"
  echo "not ok - [$1] $msg" >>"$LOG.extra"
}
for t in "$B"/tests/test_*; do [ -x "$t" ] && run "unit $(basename "$t")" "$t"; done
for t in "$B"/asan/tests/test_*; do [ -x "$t" ] && run "asan $(basename "$t")" "$t"; done
for r in "$B"/asan/fuzz-replay/*; do
  [ -x "$r" ] || continue
  name=$(basename "$r")
  run "fuzz-replay $name" "$r" "fuzz/corpus/$name" ${VECTORS:+"$VECTORS"}
done
for t in tests/t_*.sh; do
  [ -f "$t" ] || continue
  T="$WORK/$(basename "$t" .sh)"; mkdir -p "$T"; export T
  run "$(basename "$t")" sh "$t"
done
pass=$(grep -c '^ok - ' "$LOG" || true)
fail=$(grep -c '^not ok - ' "$LOG" || true)
crash=$(cat "$LOG.extra" 2>/dev/null | wc -l)
fail=$((fail + crash))
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
