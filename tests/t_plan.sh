# tests/run.sh holds every shell test to its plan (tests/lib.sh plan/skip): run on a tree of small
# scripts, it fails one that runs fewer checks than planned, one that runs more, and one that declares
# no plan, and passes one that matches and one that declares a skip and runs nothing.
. tests/lib.sh
plan 6
R=$T/tree
mkdir -p "$R/tests" "$R/build/tests"
cp tests/run.sh tests/lib.sh tests/vectors.sh "$R/tests/"
printf '. tests/lib.sh\nplan 2\nok "one"\n' >"$R/tests/t_fake_short.sh"
printf '. tests/lib.sh\nplan 1\nok "one"\nok "two"\n' >"$R/tests/t_fake_long.sh"
printf '. tests/lib.sh\nok "one"\n' >"$R/tests/t_fake_none.sh"
printf '. tests/lib.sh\nplan 1\nplan 1\nok "one"\nok "two"\n' >"$R/tests/t_fake_good.sh"
printf '. tests/lib.sh\nskip "all of it: nothing to run here"\nexit 0\n' >"$R/tests/t_fake_skip.sh"
TESTS=t_fake sh "$R/tests/run.sh" >"$T/run.out" 2>&1; rc=$?
check_eq "run.sh exits 1" "$rc" 1
grep -qx 'not ok - \[t_fake_short.sh\] ran 1 checks, its plan declares 2' "$T/run.out" && ok "fewer checks than planned: failed" \
  || not_ok "short: $(cat "$T/run.out")"
grep -qx 'not ok - \[t_fake_long.sh\] ran 2 checks, its plan declares 1' "$T/run.out" && ok "more checks than planned: failed" \
  || not_ok "long: $(cat "$T/run.out")"
grep -qx 'not ok - \[t_fake_none.sh\] declares no plan (tests/lib.sh: plan N)' "$T/run.out" && ok "no plan: failed" \
  || not_ok "none: $(cat "$T/run.out")"
grep -q 'not ok - \[t_fake_\(good\|skip\)' "$T/run.out" && not_ok "a matching plan or a skip failed: $(cat "$T/run.out")" \
  || ok "plans that add up, and a declared skip, pass"
check_eq "the count: 6 checks passed (the scripts' own), 3 failed" "$(tail -1 "$T/run.out")" "6 passed, 3 failed"
