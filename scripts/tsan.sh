#!/usr/bin/env bash
# ThreadSanitizer run of the core test suites and the reliability suites, against
# a CAF built from source with -fsanitize=thread.
# Usage: scripts/tsan.sh            (scripts/sanitize.sh tsan calls this)
#
# Why CAF is built here: Debian's libcaf_core 0.17.6 is not instrumented, so TSan
# cannot see the atomics of CAF's mailboxes and scheduler queues and reports every
# message handed to an actor as a race. This script
#   1. downloads CAF's upstream source (actor-framework_0.17.6.orig.tar.gz) from
#      Debian's source archive with apt-get into build-tsan-caf/ and checks its
#      sha256 (the one in Debian's actor-framework_0.17.6-2.1.dsc),
#   2. builds libcaf_core, libcaf_io and libcaf_openssl (worker nodes) with
#      -fsanitize=thread -g -O1 -std=c++17 and
#      installs it with its headers into build-tsan-caf/prefix/ (cached: skipped
#      when prefix/.stamp matches the tarball and the flags),
#   3. configures build-tsan/ against that prefix (headers and library; the
#      Debian headers in /usr/include/caf and the Debian libraries are not used,
#      checked below with ldd and the compiler's dependency files), builds the
#      suites listed in scripts/sanitizer-suites.sh and runs them through CTest.
# TSan reports go to build-tsan/tsan-logs/ (one file per reporting process, so
# that reports from the child processes of the crash and fault suites are seen
# too); the script prints them and fails if there is any, or if a suite fails.
# Suppressions: scripts/tsan.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

caf_version=0.17.6
tarball="actor-framework_${caf_version}.orig.tar.gz"
# From Checksums-Sha256 of actor-framework_0.17.6-2.1.dsc (Debian bookworm).
tarball_sha256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c
cache="$root/build-tsan-caf"          # git-ignored (/build* in .gitignore)
prefix="$cache/prefix"
build="build-tsan"

# -std=c++17: CAF 0.17's CMake defaults to -std=c++11 when CMAKE_CXX_FLAGS has
# no -std=; jobrt compiles CAF's headers as C++17 and some of them differ by
# standard (caf/detail/type_traits.hpp), so the library is built as C++17 too.
# CMAKE_BUILD_TYPE=None keeps CAF from appending its RelWithDebInfo -O2 flags.
# -include limits: upstream libcaf_io's receive_buffer.hpp uses std::numeric_limits
# without including <limits> (Debian patches it; g++ 12 no longer pulls it in).
caf_cxxflags="-std=c++17 -fsanitize=thread -g -O1 -fno-omit-frame-pointer -include limits"
caf_cmake_args=(
  -DCMAKE_BUILD_TYPE=None
  "-DCMAKE_CXX_FLAGS=$caf_cxxflags"
  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
  "-DCMAKE_INSTALL_PREFIX=$prefix"
  -DCMAKE_INSTALL_LIBDIR=lib
  # The three libraries jobrt links: core, io and openssl (worker nodes).
  -DCAF_NO_OPENCL=ON -DCAF_NO_PYTHON=ON
  -DCAF_NO_TOOLS=ON -DCAF_NO_EXAMPLES=ON -DCAF_NO_UNIT_TESTS=ON -DCAF_NO_SUMMARY=ON
  # The same configuration as Debian's libcaf-dev (its caf/detail/build_config.hpp).
  -DCAF_LOG_LEVEL=QUIET
)
stamp_text="$tarball_sha256 ${caf_cmake_args[*]}"

fetch_caf() {
  local dl="$cache/download"
  mkdir -p "$dl/lists/partial"
  if [ ! -f "$dl/$tarball" ]; then
    echo "== fetching $tarball from Debian's source archive"
    printf 'deb-src http://deb.debian.org/debian bookworm main\n' > "$dl/sources.list"
    local apt=(apt-get -q -o "Dir::Etc::SourceList=$dl/sources.list"
               -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$dl/lists")
    "${apt[@]}" update > "$dl/apt.log" 2>&1 || { cat "$dl/apt.log"; exit 1; }
    # The Debian patch tarball (.debian.tar.xz) is not needed and may 404, which
    # makes apt-get fail after it fetched the .orig tarball: judge by the file.
    (cd "$dl" && "${apt[@]}" source --download-only libcaf-dev) \
      >> "$dl/apt.log" 2>&1 || true
    [ -f "$dl/$tarball" ] || { cat "$dl/apt.log"; echo "download of $tarball failed"; exit 1; }
  fi
  echo "$tarball_sha256  $dl/$tarball" | sha256sum -c --quiet - \
    || { echo "sha256 mismatch: $dl/$tarball"; rm -f "$dl/$tarball"; exit 1; }
}

build_caf() {
  fetch_caf
  echo "== building libcaf_core $caf_version with: $caf_cxxflags"
  rm -rf "$cache/src" "$cache/build" "$prefix"
  mkdir -p "$cache/src"
  tar -xzf "$cache/download/$tarball" -C "$cache/src" --strip-components=1
  cmake -S "$cache/src" -B "$cache/build" "${caf_cmake_args[@]}" \
    > "$cache/configure.log" 2>&1 || { cat "$cache/configure.log"; exit 1; }
  # CAF 0.17 uses std::iterator, deprecated in C++17: g++ 12 warns about it in
  # every file, so the build output goes to a log that is shown only on failure.
  cmake --build "$cache/build" -j2 --target libcaf_core_shared libcaf_io_shared \
    libcaf_openssl_shared > "$cache/build.log" 2>&1 \
    || { tail -n 100 "$cache/build.log"; echo "CAF build failed, see $cache/build.log"; exit 1; }
  cmake --install "$cache/build" > "$cache/install.log"
  printf '%s\n' "$stamp_text" > "$prefix/.stamp"
}

start=$SECONDS
if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$stamp_text" ]; then
  echo "== using the cached TSan build of CAF in $prefix"
else
  build_caf
  echo "== CAF built in $((SECONDS - start)) s"
fi
caf_lib="$prefix/lib/libcaf_core.so"
[ -f "$caf_lib" ] && [ -f "$prefix/lib/libcaf_io.so" ] && [ -f "$prefix/lib/libcaf_openssl.so" ] \
  && [ -f "$prefix/include/caf/all.hpp" ] || { echo "no CAF in $prefix"; exit 1; }

source scripts/sanitizer-suites.sh # sanitizer_targets, sanitizer_tests

# The cache variables are given explicitly (not only CMAKE_PREFIX_PATH) so that an
# existing build-tsan/ that found Debian's CAF before is switched over.
echo "== configuring $build against $prefix"
start=$SECONDS
cmake -S . -B "$build" -DJOBRT_SANITIZE=thread -DJOBRT_BUILD_EXAMPLES=OFF \
  -DJOBRT_BUILD_BENCH=OFF "-DCMAKE_PREFIX_PATH=$prefix" \
  "-DCAF_INCLUDE_DIR=$prefix/include" "-DCAF_CORE_LIBRARY=$caf_lib" \
  "-DCAF_IO_LIBRARY=$prefix/lib/libcaf_io.so" "-DCAF_OPENSSL_LIBRARY=$prefix/lib/libcaf_openssl.so" \
  > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j2 --target "${sanitizer_targets[@]}"

# The instrumented CAF must be what the binaries load and what they were compiled
# against (Debian's libcaf_core has the same soname, so this relies on RPATH).
for t in runtime_tests reliability/crash_loop_child; do
  for lib in libcaf_core libcaf_io libcaf_openssl; do
    got="$(ldd "$build/tests/$t" | awk -v l="$lib" '$1 ~ "^" l {print $3}')"
    if [ "$(readlink -f "$got")" != "$(readlink -f "$prefix/lib/$lib.so")" ]; then
      echo "$build/tests/$t loads $lib from '$got', not $prefix/lib/$lib.so"; exit 1
    fi
  done
done
if find "$build" -name '*.o.d' -print0 | xargs -0 -r grep -l '/usr/include/caf/' | head -n 3 | grep .; then
  echo "the files above were compiled against Debian's CAF headers"; exit 1
fi
echo "== built in $((SECONDS - start)) s; binaries load $(readlink -f "$caf_lib")"

logs="$root/$build/tsan-logs"
rm -rf "$logs" && mkdir -p "$logs"
start=$SECONDS
status=0
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 log_path=$logs/tsan suppressions=$root/scripts/tsan.supp" \
  ctest --test-dir "$build" --output-on-failure --timeout 1200 -R "$sanitizer_tests" || status=$?
echo "== tests ran in $((SECONDS - start)) s"
reports=("$logs"/tsan.*)
if [ -e "${reports[0]}" ]; then
  for f in "${reports[@]}"; do echo "---- $f"; cat "$f"; done
  echo "== ThreadSanitizer: ${#reports[@]} process(es) reported, see above and $logs"
  exit 1
fi
[ "$status" -eq 0 ] || { echo "== test failures (no TSan reports)"; exit "$status"; }
echo "== ThreadSanitizer: no reports"
