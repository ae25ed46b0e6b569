# Every command and subcommand answers -h and --help with its usage on stdout and exit 0, and writes
# nothing to stderr.
. tests/lib.sh
plan 58

for c in "" quote "quote dump" "quote self" "quote verify" sim "sim init" "sim quote" "sim collateral" "sim root" "sim ratls-cert" \
  new build run print kms "kms serve" "kms aecs-admin" "kms admin" "kms admin keygen" init config-id; do
  for h in -h --help; do
    # shellcheck disable=SC2086
    "$INITRA" $c $h >"$T/out" 2>"$T/err"; rc=$?
    if [ $rc = 0 ] && [ ! -s "$T/err" ] && grep -q "usage" "$T/out"; then ok "initra $c $h: usage, exit 0"
    else not_ok "initra $c $h: exit $rc, stderr: $(head -c 200 "$T/err"), stdout: $(head -c 100 "$T/out")"; fi
  done
done

# Option tables (getopt_long): long options must be spelled out, a missing value is one usage line.
check_fails "kms serve: an abbreviated option is refused" 2 "^initra: kms serve: unknown argument '--secret'; see .initra kms --help.$" \
  "$INITRA" kms serve --secret x --listen 127.0.0.1:0
check_fails "sim quote: an abbreviated option is refused" 2 "sim quote: unknown argument '--mrencl'" "$INITRA" sim quote --mrencl 00 -o -
check_fails "kms serve: --listen without a value" 2 "^initra: option --listen needs a value$" "$INITRA" kms serve --listen
check_fails "kms serve: a positional argument is refused" 2 "kms serve: unknown argument 'extra'" "$INITRA" kms serve extra
check_fails "new: an abbreviated option is refused" 2 "^initra: new: unknown argument '--init'; see .initra new --help.$" \
  "$INITRA" new "$T/n1" --init aecs
[ ! -e "$T/n1" ] && ok "new: nothing created after a usage error" || not_ok "new: $T/n1 created despite the usage error"
check_fails "build: --sign-key without a value" 2 "^initra: option --sign-key needs a value$" "$INITRA" build "$T/n1" --sign-key
check_fails "run: an unknown option before PROG" 2 "^initra: run: unknown argument '--config-i'; see .initra run --help.$" \
  "$INITRA" run "$T/n1" --config-i x /bin/true
check_fails "print: --key with mrenclave" 2 "print: --key PEM goes with mrsigner only" "$INITRA" print mrenclave --key "$T/k.pem"
check_fails "sim init: an unknown option" 2 "^initra: sim init: unknown argument '--tcb'; see .initra sim --help.$" "$INITRA" sim init --tcb Revoked
check_fails "init: --conf without a value" 2 "^initra: option --conf needs a value$" "$INITRA" init --conf
printf '{}' >"$T/c.json"
check_eq "config-id: FILE after -- (a name starting with - would be one)" "$("$INITRA" config-id -- "$T/c.json")" "$("$INITRA" config-id "$T/c.json")"
check_fails "kms aecs-admin: an abbreviated option is refused" 2 "^initra: kms aecs-admin: unknown argument '--stor'; see .initra kms aecs-admin --help.$" \
  "$INITRA" kms aecs-admin --stor "$T/store.json" register-service s1
[ ! -e "$T/store.json" ] && ok "kms aecs-admin: no store written after a usage error" || not_ok "kms aecs-admin: $T/store.json written despite the usage error"
