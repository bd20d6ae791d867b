#!/usr/bin/env bash
# Installs what Booking Pulse needs from the system, idempotently:
# PostgreSQL 15 server, hll and tdigest extensions, and TimescaleDB (Apache
# edition) built from Debian trixie's source package, since bookworm has none.
# Run as root (or with sudo available). Prints one line per step.
set -euo pipefail

PG_MAJOR=15
PG_LIB=/usr/lib/postgresql/$PG_MAJOR
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

need=()
for pkg in postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-hll \
           postgresql-$PG_MAJOR-tdigest cmake build-essential dpkg-dev libssl-dev libkrb5-dev; do
  have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f "$PG_LIB/lib/timescaledb.so" ] || ls "$PG_LIB"/lib/timescaledb-*.so >/dev/null 2>&1; then
  echo "setup: timescaledb already installed"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb-src http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_private=(-o "APT::Sandbox::User=root" -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-"
             -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0")
echo "setup: fetching timescaledb source (trixie)"
if ! $SUDO apt-get "${apt_private[@]}" update -qq \
   || ! (cd "$work" && apt-get "${apt_private[@]}" source --download-only timescaledb >/dev/null); then
  echo "setup: could not fetch timescaledb source; Booking Pulse will run on plain PostgreSQL"
  exit 0
fi
(cd "$work" && dpkg-source -x --no-check timescaledb_*.dsc src >/dev/null)
echo "setup: building timescaledb (Apache edition)"
(
  cd "$work/src"
  PATH="$PG_LIB/bin:$PATH" ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
     -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_LIB/bin/pg_config" >"$work/build.log" 2>&1
  cd build && make -j"$(nproc)" >>"$work/build.log" 2>&1 && $SUDO make install >>"$work/build.log" 2>&1
) || { echo "setup: timescaledb build failed; Booking Pulse will run on plain PostgreSQL"; tail -20 "$work/build.log"; exit 0; }
echo "setup: timescaledb installed"
