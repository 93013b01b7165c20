#!/usr/bin/env bash
# Set up camwatch on a fresh Debian 12 machine: system packages, a virtualenv in .venv, the package.
#   scripts/setup.sh          what `camwatch demo` needs (GStreamer's RTSP server for the simulated fleet)
#   scripts/setup.sh --test   also PostgreSQL (started), promtool, Chromium and poppler-utils (the report's PDF)
#                             and the test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."
test_mode=0
[ "${1:-}" = "--test" ] && test_mode=1

SUDO=""; AS_PG=(runuser -u postgres --)
[ "$(id -u)" -ne 0 ] && SUDO="sudo" && AS_PG=(sudo -u postgres)
pkgs=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-tools gstreamer1.0-plugins-base
      gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)
[ $test_mode = 1 ] && pkgs+=(postgresql systemd prometheus openssl chromium fonts-dejavu-core poppler-utils perl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
if [ $test_mode = 1 ]; then
  .venv/bin/pip install -q -e '.[test,sim,postgres]'
else
  .venv/bin/pip install -q -e '.[sim]'
fi

if [ $test_mode = 1 ]; then
  # a real PostgreSQL for the storage tests, on loopback
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  $SUDO pg_ctlcluster "$ver" main start 2>/dev/null || $SUDO pg_ctlcluster "$ver" main status >/dev/null
  for _ in $(seq 30); do "${AS_PG[@]}" psql -qtAc "select 1" >/dev/null 2>&1 && break; sleep 1; done
  "${AS_PG[@]}" psql -qtAc "select 1 from pg_roles where rolname='camwatch'" | grep -q 1 ||
    "${AS_PG[@]}" psql -qc "create role camwatch login createdb password 'camwatch'"
  "${AS_PG[@]}" psql -qtAc "select 1 from pg_database where datname='camwatch'" | grep -q 1 ||
    "${AS_PG[@]}" psql -qc "create database camwatch owner camwatch"
  echo "postgresql+psycopg://camwatch:camwatch@127.0.0.1:5432/camwatch" > .pg-test-url
fi
echo "camwatch set up in .venv"
