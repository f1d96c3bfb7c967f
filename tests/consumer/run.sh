#!/usr/bin/env bash
# Installs the jobrt build in BUILD_DIR to a temporary prefix, builds the consumer
# project against it with find_package(jobrt), and runs it.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$source_dir" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/build" -j2 > "$work/build.log"
out=$("$work/build/consumer" "$work/data")
echo "$out"
test "$out" = "hello consumer"
