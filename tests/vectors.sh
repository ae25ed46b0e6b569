# Where the real-quote vectors are (Intel-signed DCAP quotes with collateral, from public projects'
# test data; this repository does not ship them): $INITRA_VECTORS, else ../shared/vectors/dcap beside
# the clone. One place for the rule and the skip line, used two ways:
#   sh tests/vectors.sh      prints the one skip line when they are absent (the Makefile runs it when it
#                            reads `make test`, so the line comes before the build); exit 2 when
#                            INITRA_VECTORS is set but holds no vectors (a typo must not pass as a skip)
#   . tests/vectors.sh       (tests/run.sh) sets VECTORS to the directory, or "" when absent, and
#                            VECTORS_SKIP to the skip line
VECTORS_SKIP=""
if [ -n "${INITRA_VECTORS:-}" ]; then
  VECTORS=$INITRA_VECTORS
  if [ ! -f "$VECTORS/manifest.json" ]; then
    echo "tests: INITRA_VECTORS=$VECTORS has no manifest.json: point it at a directory of real-quote vectors (NAME/quote.bin, NAME/collateral.json, manifest.json; see README), or unset it to skip those checks" >&2
    exit 2
  fi
else
  VECTORS="$(cd "$(dirname "$0")/.." 2>/dev/null && pwd)/../shared/vectors/dcap"
  [ -f "$VECTORS/manifest.json" ] || VECTORS=""
fi
if [ -z "$VECTORS" ]; then
  VECTORS_SKIP="tests: skipped: the real-quote checks (t_quote_dump, t_quote_verify, t_pccs, t_pccs_intel; parts of t_sim, t_quote_verify_sim, t_enclave and unit test_dcap, test_sgx, test_pckext, test_attest): no vectors at ../shared/vectors/dcap; set INITRA_VECTORS=DIR to a directory of real DCAP quotes with collateral to run them (see README)"
fi
case "$0" in
  *vectors.sh) [ -z "$VECTORS_SKIP" ] || echo "$VECTORS_SKIP";;
esac
