#!/bin/sh
# scripts/deps.sh STAMP TARGET...: installs the Debian packages the make targets need, and only those.
# TARGET: build (make, make demo, make install), test, fuzz, bench; each also needs what build needs.
# Checks with pkg-config, command -v, Debian's python3 and file globs; installs only what is missing,
# in one apt-get run, after `apt-get update` when the package lists are empty or a day old. Prints one
# line saying what it installs and why; apt's own output goes to $(dirname STAMP)/apt.log (shown only
# if apt fails). Not root: prints the exact command to run and fails. Touches STAMP when all is there.
set -eu
stamp=$1; shift
[ $# -gt 0 ] || set -- build

# What each target needs: one "KIND:NAME debian-package  # why" per line. KIND: pc (a pkg-config
# module), cmd (a command on PATH), py (a module Debian's /usr/bin/python3 imports, not a venv's),
# glob (a file pattern that must match). To add a dependency, add a line; a new target, a new list.
gccv=$(gcc -dumpversion 2>/dev/null | cut -d. -f1)   # libstdc++'s -dev package follows gcc's version
deps_build="
glob:/usr/lib/gcc/*/$gccv/libstdc++.so libstdc++-$gccv-dev  # the static gRPC in the binary is C++
pc:openssl libssl-dev                  # TLS, X.509, ASN.1, hashes
pc:jansson libjansson-dev              # JSON
pc:libcurl libcurl4-openssl-dev        # PCCS fetches (libcurl is loaded when first used)
pc:libcbor libcbor-dev                 # CBOR (TCG DICE evidence)
pc:grpc libgrpc-dev                    # gRPC core (GRPC-RATLS, AECS)
pc:libprotobuf-c libprotobuf-c-dev     # protobuf messages
pc:yaml-0.1 libyaml-dev                # YAML (AECS secret specs)
pc:sqlite3 libsqlite3-dev              # the KMS store
cmd:pkg-config pkg-config              # the build finds the libraries above
cmd:protoc-c protobuf-c-compiler       # proto/*.proto to C
cmd:openssl openssl                    # the demo checks the sim chain with OpenSSL itself
cmd:python3 python3                    # the demo and tests write configs
cmd:busybox busybox-static             # the demo and test enclaves' userland (/bin/busybox)
"
deps_test='
py:grpc python3-grpcio                 # the gRPC interop peer (t_rpc_interop, t_grpc_ratls)
py:google.protobuf python3-protobuf    # its messages
py:cryptography python3-cryptography   # the AECS wire-compatibility peer (t_aecs)
'
deps_fuzz='
cmd:clang clang                        # libFuzzer targets
glob:/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-dev  # libFuzzer runtime
'
deps_bench='
cmd:pgrep procps                       # the bench finds the KMS process
cmd:node nodejs                        # @phala/dcap-qvl, the verifier the bench compares with
cmd:npm npm                            # installs it
'
why_build="build and demo"
why_test="the tests' Python peers"
why_fuzz="libFuzzer (clang)"
why_bench="the bench's comparison (node)"

has() { # KIND:NAME
  name=${1#*:}
  case "$1" in
    pc:*) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$name" 2>/dev/null;;
    cmd:*) command -v "$name" >/dev/null 2>&1;;
    py:*) /usr/bin/python3 -c "import $name" >/dev/null 2>&1;;
    glob:*) for f in $name; do [ -e "$f" ] && return 0; done; return 1;;
    *) echo "initra: scripts/deps.sh: unknown check '$1'" >&2; exit 2;;
  esac
}

missing="" why=""
for target in build "$@"; do
  eval "list=\${deps_$target-x}"
  [ "$list" != x ] || { echo "initra: scripts/deps.sh: unknown target '$target' (build, test, fuzz, bench)" >&2; exit 2; }
  found=""
  while read -r check pkg _; do
    [ -n "$check" ] || continue
    has "$check" && continue
    case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg";; esac
    found=1
  done <<EOF
$list
EOF
  if [ -n "$found" ]; then
    eval "w=\$why_$target"
    case "$why" in *"$w"*) ;; *) why="${why:+$why, }$w";; esac
  fi
done
if [ -z "$missing" ]; then
  touch "$stamp"
  exit 0
fi
missing=${missing# }
n=$(echo "$missing" | wc -w)
cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
  echo "initra: $n Debian packages missing for $why: $missing" >&2
  echo "initra: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
log="$(dirname "$stamp")/apt.log"
echo "initra: installing $n Debian packages for $why (apt-get, log in $log): $missing"
export DEBIAN_FRONTEND=noninteractive
fail() { echo "initra: $1 failed; the end of $log:" >&2; tail -15 "$log" >&2; exit 1; }
: >"$log"
# Fresh images (Docker, CI) ship without package lists: update first when they are absent or stale.
lists=/var/lib/apt/lists
updated=""
if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update >>"$log" 2>&1 || fail "apt-get update"
  updated=1
fi
if ! apt-get install -y --no-install-recommends $missing >>"$log" 2>&1; then
  [ -z "$updated" ] || fail "$cmd"
  apt-get update >>"$log" 2>&1 || fail "apt-get update"  # lists younger than a day can still be stale
  apt-get install -y --no-install-recommends $missing >>"$log" 2>&1 || fail "$cmd"
fi
touch "$stamp"
exit 0
