# Every command and subcommand answers -h and --help with its usage on stdout and exit 0, and writes
# nothing to stderr.
. tests/lib.sh
plan 44

for c in "" quote "quote dump" "quote self" "quote verify" sim "sim init" "sim quote" "sim collateral" "sim root" "sim ratls-cert" \
  new build run print kms "kms serve" "kms aecs-admin" init config-id; do
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
