#!/bin/sh
# scripts/pg.sh start DIR | stop DIR: a throwaway PostgreSQL cluster for tests, `make demo` and
# `make bench` (docs/kms.md, "PostgreSQL").
#   start DIR: initdb in DIR (when it holds no cluster yet; DIR is made and given to the `postgres`
#              user when run as root), listening on 127.0.0.1 at a random free port (kept in DIR, so a
#              restart serves the same address) and on a Unix socket in DIR; creates database "initra".
#              The LAST line of its output is the libpq CONNINFO. Already running: prints it again.
#   stop DIR:  fast shutdown (sessions are cut); nothing running there: does nothing.
# Trust authentication, 127.0.0.1 only: a cluster for one machine's tests, never for real data.
# The binaries are Debian's /usr/lib/postgresql/*/bin (`make test` installs postgresql when missing).
set -eu
die() { echo "initra: pg.sh: $*" >&2; exit 1; }
[ $# = 2 ] || die "usage: scripts/pg.sh start DIR | stop DIR"
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)  # the newest version
bin=${bin%/initdb}
[ -n "$bin" ] || die "no PostgreSQL under /usr/lib/postgresql/*/bin; install it: apt-get install postgresql"

# Root runs the server as `postgres` (PostgreSQL refuses to run as root); others run it as themselves.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as (Debian's postgresql package makes it)"
  as() { runuser -u postgres -- "$@"; }
else
  as() { "$@"; }
fi

running() { [ -f "$dir/postmaster.pid" ] && as "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; }

case "$cmd" in
stop)
  [ -d "$dir" ] || exit 0
  if running; then as "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || die "pg_ctl stop -D $dir failed"; fi
  exit 0;;
start) ;;
*) die "unknown command '$cmd' (start DIR, stop DIR)";;
esac

case "$dir" in /*) ;; *) dir=$(pwd)/$dir;; esac
conninfo() { echo "host=127.0.0.1 port=$(cat "$dir/initra-port") dbname=initra user=$(as id -un) connect_timeout=10"; }
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir")" ] || die "$dir is neither empty nor a PostgreSQL cluster; name a new or empty directory"
  [ "$(id -u)" != 0 ] || chown postgres: "$dir"
  chmod 0700 "$dir"
  as test -w "$dir" ||
    die "the postgres user cannot reach $dir (a parent directory is not searchable by others); use a directory under /tmp"
  as "$bin/initdb" -D "$dir" -U "$(as id -un)" --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 ||
    { tail -5 "$dir.initdb.log" >&2; die "initdb -D $dir failed (its output above)"; }
  rm -f "$dir.initdb.log"
  # a free port: the kernel picks one for a socket that is closed again (retried below if taken meanwhile)
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "$port" | as tee "$dir/initra-port" >/dev/null
  as sh -c "cat >>'$dir/postgresql.conf'" <<EOF
# scripts/pg.sh: a throwaway cluster on 127.0.0.1 and a socket here
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
EOF
fi
if ! running; then
  for try in 1 2 3; do
    port=$(cat "$dir/initra-port")
    if as "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then break; fi
    if [ "$try" = 3 ] || ! tail -5 "$dir/server.log" | grep -q "could not bind\|Address already in use"; then
      tail -3 "$dir/server.log" >&2; die "pg_ctl start -D $dir failed (the end of $dir/server.log above)"
    fi
    # the port was taken since it was picked: pick another (only a fresh cluster's port can move)
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' |
      as tee "$dir/initra-port" >/dev/null
  done
fi
port=$(cat "$dir/initra-port")
if ! as "$bin/psql" -h "$dir" -p "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'initra'" | grep -q 1; then
  as "$bin/createdb" -h "$dir" -p "$port" initra || die "createdb initra on $dir failed"
fi
echo "PostgreSQL $(cat "$dir/PG_VERSION") in $dir: 127.0.0.1:$port and $dir/.s.PGSQL.$port"
conninfo
