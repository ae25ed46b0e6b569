#!/bin/sh
# rpc transport interop with Python grpcio (Debian python3-grpcio): our C GrSecret server (mutual TLS,
# peer checked by our callback) against a grpcio client, and our C client against a grpcio server.
. tests/lib.sh
plan 11
PY=/usr/bin/python3
PEER="$(dirname "$INITRA")/../helpers/rpc_peer"
GRS=tests/helpers/grsecret.py
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait' EXIT

mkcert() { # name: self-signed EC P-256 certificate $T/name.crt with CN and DNS SAN = name, key $T/name.key
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=$1" \
    -addext "subjectAltName=DNS:$1" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
wait_port() { # file: wait (up to 10 s) for a server to write its port
  i=0
  while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  cat "$1"
}
mkcert initra-server; mkcert initra-client; mkcert stranger

# --- C server, Python client ---
cserve() { # name [--pin-client PEM]: start the C server, port in $T/name.port; sets $port
  n=$1; shift
  "$PEER" serve --listen 127.0.0.1:0 --cert "$T/initra-server.crt" --key "$T/initra-server.key" \
    --secret c2VjcmV0IQ== --port-file "$T/$n.port" "$@" 2>"$T/$n.err" &
  PIDS="$PIDS $!"
  port=$(wait_port "$T/$n.port")
}
pyget() { # name CLIENT-IDENTITY [options]: the grpcio client, trusting the server's certificate
  n=$1; id=$2; shift 2
  if [ "$id" = none ]; then set -- "$@"; else set -- --cert "$T/$id.crt" --key "$T/$id.key" "$@"; fi
  $PY "$GRS" client "127.0.0.1:$port" "$n" --root "$T/initra-server.crt" --override initra-server "$@"
}
cserve c
check "C server started (port $port)" test -n "$port"
got=$(pyget demo_key initra-client 2>"$T/py.err")
check_eq "grpcio client with a certificate gets the secret from the C server ($(head -c 200 "$T/py.err"))" "$got" "c2VjcmV0IQ=="
check_fails "unknown name: NOT_FOUND reaches the grpcio client" 1 "^ERROR NOT_FOUND no secret named 'other'" \
  pyget other initra-client
check_fails "grpcio client without a certificate is refused" 1 "^ERROR UNAVAILABLE" pyget demo_key none

# A server that pins one client certificate refuses another one.
cserve p --pin-client "$T/initra-client.crt"
got=$(pyget demo_key initra-client 2>"$T/py.err")
check_eq "pinning C server accepts the pinned grpcio client ($(head -c 200 "$T/py.err"))" "$got" "c2VjcmV0IQ=="
check_fails "pinning C server refuses another client certificate" 1 "^ERROR UNAVAILABLE" pyget demo_key stranger

# --- Python server (require_client_auth, our client certificate as its only root), C client ---
$PY "$GRS" server "$T/py.port" cHl0aG9uIHNlY3JldA== --cert "$T/initra-server.crt" --key "$T/initra-server.key" \
  --client-root "$T/initra-client.crt" 2>"$T/pysrv.err" &
PIDS="$PIDS $!"
port=$(wait_port "$T/py.port")
check "grpcio server started (port $port; $(head -c 200 "$T/pysrv.err"))" test -n "$port"
got=$("$PEER" get --target "127.0.0.1:$port" --cert "$T/initra-client.crt" --key "$T/initra-client.key" \
  --pin-server "$T/initra-server.crt" --name demo_key 2>"$T/c.err")
check_eq "C client gets the secret from the grpcio server ($(head -c 300 "$T/c.err"))" "$got" "cHl0aG9uIHNlY3JldA=="
check_fails "grpcio server's NOT_FOUND reaches the C client" 1 "NOT_FOUND: no secret named 'nope'" \
  "$PEER" get --target "127.0.0.1:$port" --cert "$T/initra-client.crt" --key "$T/initra-client.key" \
  --pin-server "$T/initra-server.crt" --name nope
check_fails "grpcio server refuses a C client certificate it does not trust" 1 "UNAVAILABLE" \
  "$PEER" get --target "127.0.0.1:$port" --cert "$T/stranger.crt" --key "$T/stranger.key" \
  --pin-server "$T/initra-server.crt" --name demo_key
check_fails "C client refuses a grpcio server that is not the pinned one" 1 "server certificate refused: not the pinned peer certificate" \
  "$PEER" get --target "127.0.0.1:$port" --cert "$T/initra-client.crt" --key "$T/initra-client.key" \
  --pin-server "$T/stranger.crt" --name demo_key
