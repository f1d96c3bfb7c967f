#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (in build-fuzz/) and runs each one for a
# bounded time, starting from its committed seed corpus (fuzz/corpus/TARGET).
# The server's fuzzers link the server's library (all but main) and the example
# jobs, so the examples are configured too (only the fuzz targets are built).
# Fails on any crash, sanitizer report or broken round trip; the input that did it
# is left in build-fuzz/artifacts/. Usage: scripts/fuzz.sh [seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
build="${JOBRT_FUZZ_BUILD_DIR:-build-fuzz}"

# clang and libFuzzer (clang's runtime: libclang-rt-14-dev on Debian bookworm).
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJOBRT_BUILD_FUZZ=ON -DJOBRT_BUILD_TESTS=OFF -DJOBRT_BUILD_EXAMPLES=ON \
  -DJOBRT_BUILD_BENCH=OFF > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j2 --target fuzz_params_decode fuzz_record_decode fuzz_registry_create \
  fuzz_server_request fuzz_server_parse

mkdir -p "$build/artifacts"
status=0
for target in params_decode record_decode registry_create server_request server_parse; do
  work="$build/corpus/$target" # grows as the fuzzer finds inputs; the seeds stay untouched
  mkdir -p "$work"
  echo "== fuzz_$target for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
      "$work" "fuzz/corpus/$target" > "$build/fuzz_$target.log" 2>&1; then
    status=1
    echo "fuzz_$target FAILED:"
    tail -60 "$build/fuzz_$target.log"
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|Done [0-9]+ runs" \
    "$build/fuzz_$target.log" || true
done
exit $status
