#!/bin/sh
# make bench: benchmark lines, each "NAME ARGS VALUE". Sections run in turn; add new sections below.
set -eu
B=${INITRA_BUILD:-build}
cd "$(dirname "$0")/.."
# Every section runs even if one fails (its error is printed); the exit status says whether all ran.
rc=0
sh scripts/bench_dcap.sh || { echo "bench: the DCAP section failed (see above)" >&2; rc=1; }
sh scripts/bench_grpc.sh || { echo "bench: the GRPC-RATLS section failed (see above)" >&2; rc=1; }
sh scripts/bench_aecs.sh || { echo "bench: the AECS section failed (see above)" >&2; rc=1; }
sh scripts/bench_store.sh || { echo "bench: the store section failed (see above)" >&2; rc=1; }
sh scripts/bench_replicas.sh || { echo "bench: the replicas section failed (see above)" >&2; rc=1; }
sh scripts/bench_kms_store.sh || { echo "bench: the KMS store section failed (see above)" >&2; rc=1; }
exit $rc
