# Host-proof trust (issue 9): each attack the untrusted host can mount, reproduced with real processes on
# the sim platform and a second "attacker" sim platform, and shown to fail: exit code, the one-line
# message, nothing written or released. Sections live in tests/host_attacks/NN_*.sh, sourced in order;
# each is self-contained (its own instances under $T/<section>).
. tests/lib.sh
. scripts/instances.sh
PY=/usr/bin/python3
sim_platform
# The attacker's own platform: a root and collateral the genuine KMS must never accept.
ATTACKER_SIM=$T/attacker-sim
INITRA_SIM_DIR=$ATTACKER_SIM "$INITRA" sim init >/dev/null || { not_ok "attacker sim platform"; exit 1; }
INITRA_SIM_DIR=$ATTACKER_SIM "$INITRA" sim root -o "$T/attacker-root.der" &&
  INITRA_SIM_DIR=$ATTACKER_SIM "$INITRA" sim collateral -o "$T/attacker-collateral.json" ||
  { not_ok "attacker sim platform exports"; exit 1; }
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT
for section in tests/host_attacks/[0-9][0-9]_*.sh; do
  [ -f "$section" ] || continue
  . "$section"
done
