#!/bin/sh
# Installs the Debian packages initra needs, once, and says what it does.
# Checks with pkg-config (libraries) and command -v (tools); installs only what is missing.
# Not root: prints the exact command to run and fails.
set -eu
stamp="${1:-}"
missing=""
need_pc() { # pkg-config-name debian-package
  if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$1" 2>/dev/null; then
    missing="$missing $2"
  fi
}
need_cmd() { # command debian-package
  command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need_py() { # python-module debian-package (Debian's /usr/bin/python3, not a pyenv or venv one)
  /usr/bin/python3 -c "import $1" >/dev/null 2>&1 || missing="$missing $2"
}
need_cmd pkg-config pkg-config
need_pc openssl libssl-dev
need_pc jansson libjansson-dev
need_pc libcurl libcurl4-openssl-dev
need_pc libcbor libcbor-dev
need_pc grpc libgrpc-dev
need_pc libprotobuf-c libprotobuf-c-dev
need_pc yaml-0.1 libyaml-dev
need_cmd protoc-c protobuf-c-compiler
need_cmd openssl openssl
need_cmd python3 python3
# the interop tests' gRPC peer (tests/t_rpc_interop.sh)
need_py grpc python3-grpcio
need_py google.protobuf python3-protobuf
# the AECS wire-compatibility peer (tests/t_aecs.sh)
need_py cryptography python3-cryptography
need_cmd clang clang
need_cmd busybox busybox-static  # the test enclaves' userland (/bin/busybox)
need_cmd pgrep procps            # make bench finds the KMS process
# libFuzzer's runtime (make fuzz); any installed LLVM version will do
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || missing="$missing libclang-rt-dev"
if [ -z "$missing" ]; then
  [ -n "$stamp" ] && touch "$stamp"
  exit 0
fi
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
  echo "initra: missing Debian packages:$missing" >&2
  echo "initra: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "initra: installing missing Debian packages: $cmd"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends $missing; then
  echo "initra: apt-get update (package lists may be stale)"
  apt-get update
  apt-get install -y --no-install-recommends $missing
fi
[ -n "$stamp" ] && touch "$stamp"
exit 0
