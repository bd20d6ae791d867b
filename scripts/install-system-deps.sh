#!/usr/bin/env bash
# Installs what Booking Pulse needs from the system, idempotently:
# PostgreSQL 15 server, hll and tdigest extensions, TimescaleDB (Apache
# edition) built from Debian trixie's source package, since bookworm has none,
# and for the tests Chromium with its driver and MariaDB (a real legacy MySQL);
# libmariadb-dev, which the legacy import's driver (mysqlclient) builds against.
# Packages come from the machine's own apt sources, so local mirrors and
# proxies keep working; no mirror is named here.
# Run as root (or with sudo available). Prints one line per step.
set -euo pipefail

PG_MAJOR=15
PG_LIB=/usr/lib/postgresql/$PG_MAJOR
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

need=()
for pkg in postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-hll \
           postgresql-$PG_MAJOR-tdigest cmake build-essential dpkg-dev libssl-dev libkrb5-dev \
           chromium chromium-driver mariadb-server libmariadb-dev pkg-config; do
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

# The Debian archive this machine installs from: the configured source of its
# own release's main component, whatever mirror or proxy that is.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null \
         | awk -v release="$codename" '$2 == release && $3 == "main" { print $1; exit }')
if [ -z "$mirror" ]; then
  echo "setup: no apt source for Debian $codename main found; Booking Pulse will run on plain PostgreSQL"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb-src ${mirror%/} trixie main" > "$work/sources.list"
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
