#!/bin/sh
# make bench: benchmark lines, each "NAME ARGS VALUE". Sections run in turn; add new sections below.
set -eu
B=${INITRA_BUILD:-build}
cd "$(dirname "$0")/.."
sh scripts/bench_dcap.sh
