#!/usr/bin/env bash
# A local PostgreSQL 15 with pgvector for trying and testing the database store (`make postgres`).
#   install  Debian's PostgreSQL 15 server, plus pgvector 0.8.0 built from Debian trixie's source
#            package (bookworm does not package it) with portable flags, once.
#   start    install if needed, then start on 127.0.0.1:$PORT, trust auth, data under a temporary
#            folder; the last line printed is the URL.
#   stop     stop it and delete its data.
# pgvector is built from Debian's own source package rather than a pip-shipped server: it is the same
# PostgreSQL 15 an organisation runs from Debian, and the build takes seconds.
set -euo pipefail
PORT=${CITERAG_PG_PORT:-55432}
DATA=${CITERAG_PG_DATA:-${TMPDIR:-/tmp}/citerag-postgres-$PORT}
PGBIN=/usr/lib/postgresql/15/bin
PGVECTOR_VERSION=0.8.0
URL="postgresql://postgres@127.0.0.1:$PORT/citerag"
SUDO=$([ "$(id -u)" = 0 ] || command -v sudo || true)

installed() {
  [ -x "$PGBIN/postgres" ] && [ -f "$("$PGBIN/pg_config" --sharedir)/extension/vector--$PGVECTOR_VERSION.sql" ]
}

install() {
  installed && return 0
  echo "citerag: installing PostgreSQL 15 and building pgvector $PGVECTOR_VERSION (about half a minute, once)"
  export DEBIAN_FRONTEND=noninteractive
  [ -x "$PGBIN/pg_config" ] && [ -d "$("$PGBIN/pg_config" --includedir-server)" ] || \
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql-15 postgresql-server-dev-15 \
      build-essential dpkg-dev >/dev/null 2>&1; }
  # trixie's source index only, in a lists folder of our own: the system's apt sources stay as they are.
  local work
  work=$(mktemp -d)
  chmod 755 "$work"   # apt downloads as its own _apt user
  mkdir -p "$work/lists/partial"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n' \
    >"$work/trixie-src.list"
  local apt=(apt-get -qq -o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$work/trixie-src.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$work/lists")
  "${apt[@]}" update
  (cd "$work" && "${apt[@]}" source --download-only pgvector >/dev/null &&
    dpkg-source -x pgvector_"$PGVECTOR_VERSION"-*.dsc src >/dev/null 2>&1)
  # OPTFLAGS="" instead of pgvector's default -march=native: the library runs on any x86-64 CPU.
  make -s -C "$work/src" PG_CONFIG="$PGBIN/pg_config" OPTFLAGS="" >/dev/null
  $SUDO make -s -C "$work/src" PG_CONFIG="$PGBIN/pg_config" OPTFLAGS="" install >/dev/null
  rm -rf "$work"
  installed
}

# The server refuses to run as root: as root it runs as the `postgres` user the package created.
as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install
  if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"
      [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
      as_server_user "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    as_server_user "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c max_connections=200" start >/dev/null || {
      tail -n 5 "$DATA/server.log" >&2; exit 1; }
  fi
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'citerag'" | grep -q 1 ||
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres citerag
  echo "$URL"
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    as_server_user "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  rm -rf "$DATA"
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
