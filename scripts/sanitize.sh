#!/usr/bin/env bash
# Builds the core test suites and the reliability suites with sanitizers and runs
# them through CTest: AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/,
# ThreadSanitizer in build-tsan/.
# Usage: scripts/sanitize.sh [asan] [tsan]   (default: asan; CI runs that)
#
# tsan runs scripts/tsan.sh: TSan needs CAF itself instrumented (Debian's
# libcaf_core 0.17.6 is not, and against it TSan reports every message handed
# to an actor as a race), so tsan.sh builds libcaf_core, libcaf_io and
# libcaf_openssl 0.17.6 from Debian's source archive with -fsanitize=thread into
# build-tsan-caf/ (once, then cached) and builds and runs the same suites
# (scripts/sanitizer-suites.sh) against them, with halt_on_error=1 and
# scripts/tsan.supp. The first run takes about 15 minutes on 2 cores (most of
# them for CAF); see scripts/tsan.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
kinds=("$@")
if [ "${#kinds[@]}" -eq 0 ]; then kinds=(asan); fi

source scripts/sanitizer-suites.sh # sanitizer_targets, sanitizer_tests

run() { # kind sanitizers
  local build="build-$1"
  echo "== $1: -DJOBRT_SANITIZE=$2 in $build"
  cmake -S . -B "$build" -DJOBRT_SANITIZE="$2" -DJOBRT_BUILD_EXAMPLES=OFF \
    -DJOBRT_BUILD_BENCH=OFF > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
  cmake --build "$build" -j2 --target "${sanitizer_targets[@]}"
  ctest --test-dir "$build" --output-on-failure --timeout 1200 -R "$sanitizer_tests"
}

for kind in "${kinds[@]}"; do
  case "$kind" in
    asan)
      ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run asan address,undefined ;;
    tsan)
      "$root/scripts/tsan.sh" ;;
    *) echo "unknown kind $kind (asan or tsan)"; exit 2 ;;
  esac
done
