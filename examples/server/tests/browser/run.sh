#!/usr/bin/env bash
# The dashboard browser test: installs playwright-core if needed, starts
# jobrt-server on a free port with a temporary data dir, runs the Node test,
# and stops the server by its pid.
#
#   run.sh SERVER_EXE ARTIFACTS_DIR
#
# Exits 77 (CTest: skipped) when Chromium or npm is not available.
set -euo pipefail

server_exe=${1:?usage: run.sh SERVER_EXE ARTIFACTS_DIR}
artifacts=${2:?usage: run.sh SERVER_EXE ARTIFACTS_DIR}
here=$(cd "$(dirname "$0")" && pwd)

if [[ ! -x /usr/bin/chromium ]]; then
  echo "SKIPPED: /usr/bin/chromium is missing (apt-get install -y chromium)"
  exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed for the browser test"
  exit 77
fi

# Dependencies live next to the artifacts, not in the source tree.
deps=${JOBRT_BROWSER_DEPS:-$artifacts/../browser-test-deps}
mkdir -p "$deps" "$artifacts"
if [[ ! -d $deps/node_modules/playwright-core ]] || ! cmp -s "$here/package-lock.json" "$deps/package-lock.json"; then
  cp "$here/package.json" "$here/package-lock.json" "$deps/"
  if ! (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "SKIPPED: cannot install playwright-core with npm ci (offline?)"
    exit 77
  fi
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$server_exe" --port 0 --data-dir "$tmp/data" --no-fsync >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!

# The first line of stdout names the port.
for _ in $(seq 1 100); do
  if grep -q '^listening on ' "$tmp/server.out" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "jobrt-server exited early:"; cat "$tmp/server.err"; exit 1
  fi
  sleep 0.1
done
url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$tmp/server.out" | head -1)
if [[ -z $url ]]; then
  echo "jobrt-server did not print its address"; cat "$tmp/server.err"; exit 1
fi
echo "server: $url (pid $server_pid)"

mkdir -p "$tmp/profile"
JOBRT_URL=$url SCREENSHOT=$artifacts/dashboard.png USER_DATA_DIR=$tmp/profile \
  NODE_PATH=$deps/node_modules node "$here/dashboard.test.cjs"
