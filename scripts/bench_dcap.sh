#!/bin/sh
# DCAP verification speed, one core, collateral cached: initra (C) against @phala/dcap-qvl (JavaScript,
# installed with npm under $B/bench-js), same quote (sgx-phala-2025), collateral and time, same run.
# Prints: verify_per_s initra N / verify_per_s dcap_qvl_js N / verify_ratio R
set -eu
B=${INITRA_BUILD:-build}
. tests/vectors.sh   # VECTORS, or "" and the skip line (the bench needs a real quote)
if [ -z "$VECTORS" ]; then
  echo "bench: skipped: the DCAP comparison needs a real quote: no vectors at ../shared/vectors/dcap; set INITRA_VECTORS=DIR (see README)"
  exit 0
fi
SECS=${BENCH_SECONDS:-3}
V=sgx-phala-2025
Q="$VECTORS/$V/quote.bin"
C="$VECTORS/$V/collateral.json"
AT=$(python3 -c "import json,sys;print([r for r in json.load(open(sys.argv[1])) if r['name']==sys.argv[2]][0]['at'])" "$VECTORS/manifest.json" $V)
PIN=""
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"

# initra: a small C program against the library
mkdir -p "$B/bench"
PKG=$(sed -n "s/^PKGS *:= *//p" Makefile)
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Iinclude $(pkg-config --cflags $PKG) -o "$B/bench/verify_bench" bench/verify_bench.c \
  "$B/lib/libinitra.a" $(pkg-config --libs $PKG) -lpthread

# dcap-qvl: node and npm from Debian when missing, the package from the npm registry
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bench: installing nodejs and npm (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm >&2
fi
JS="$B/bench-js"
if [ ! -d "$JS/node_modules/@phala/dcap-qvl" ]; then
  mkdir -p "$JS"
  [ -f "$JS/package.json" ] || echo '{"name":"initra-bench","private":true}' >"$JS/package.json"
  if ! (cd "$JS" && npm install --no-audit --no-fund --loglevel=error @phala/dcap-qvl >&2); then
    echo "bench: npm could not install @phala/dcap-qvl from the npm registry (error above); the comparison needs it" >&2
    exit 1
  fi
fi

ours=$($PIN "$B/bench/verify_bench" "$Q" "$C" "$AT" "$SECS")
theirs=$($PIN node bench/dcap_qvl_bench.js "$JS" "$Q" "$C" "$AT" "$SECS")
echo "$ours"
echo "$theirs"
a=${ours##* }
b=${theirs##* }
python3 -c "print('verify_ratio %.1f' % ($a / $b))"
