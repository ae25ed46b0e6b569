# Shared by the bench sections: their work directory, the median of numbers on stdin, and timed
# launches of an instance. Needs B (the build directory) and RUNS.

# bench_dir NAME: INITRA, a fresh work directory W=$B/bench/NAME with its own sim platform, instances.sh.
bench_dir() {
  INITRA="$(pwd)/$B/bin/initra"
  W="$(pwd)/$B/bench/$1"
  rm -rf "$W"; mkdir -p "$W"
  export INITRA_SIM_DIR="$W/sim" INITRA_SIGN_KEY_DIR="$W/keys"
  . scripts/instances.sh
}

median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f\n", m}'; }

# timed NAME FIELD INSTANCE PROG: RUNS launches with INITRA_RUN_TIMING; prints "NAME <median of FIELD>"
# and keeps the values in $W/NAME.values.
timed() {
  : >"$W/$1.values"
  for i in $(seq "$RUNS"); do
    if ! INITRA_RUN_TIMING=1 "$INITRA" run "$3" -- "$4" true >"$W/$1.out" 2>&1; then
      echo "bench: $1: the run failed:" >&2; cat "$W/$1.out" >&2; exit 1
    fi
    sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$W/$1.out" >>"$W/$1.values"
  done
  echo "$1 $(median <"$W/$1.values")"
}
