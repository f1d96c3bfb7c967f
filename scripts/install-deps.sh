#!/usr/bin/env bash
# Installs everything jobrt needs on Debian bookworm: the toolchain, CAF 0.17.6,
# LMDB, Boost 1.81 (JSON, Test, Beast), Howard Hinnant's date with tzdata (time
# zones of schedules), OpenSSL (the CLI makes the worker nodes' TLS certificates
# in the tests; the headers build libcaf_openssl for ThreadSanitizer), gnuplot
# for benchmark plots, and Chromium with Node.js for the dashboard's browser
# test. Safe to run again.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
packages=(
  g++ cmake make pkg-config
  libcaf-dev liblmdb-dev lmdb-utils
  libboost-json1.81-dev libboost-test1.81-dev libboost1.81-dev
  libhowardhinnant-date-dev tzdata
  openssl libssl-dev
  gnuplot-nox
  chromium nodejs npm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian; npm is then already there too.
if command -v node > /dev/null && command -v npm > /dev/null; then
  missing=("${missing[@]/nodejs}")
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
