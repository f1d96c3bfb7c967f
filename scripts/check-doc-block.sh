#!/bin/sh
# check-doc-block.sh DOC N FILE
#
# Fails unless the N-th fenced code block of the Markdown file DOC (counting
# every block whose fence starts a line, from 1) is FILE, byte for byte once the
# two fence lines are stripped. CTest runs it for every code block the README
# quotes from a file, so that a block cannot drift from the file that is built
# and run.
set -eu
doc=$1
n=$2
file=$3

fences=$(grep -c '^```' "$doc" || true)
if [ "$fences" -lt $((2 * n)) ]; then
  echo "$doc has $fences fence lines: no complete code block number $n" >&2
  exit 1
fi

block=$(mktemp)
trap 'rm -f "$block"' EXIT
awk -v n="$n" '/^```/ { fence++; next } fence == 2 * n - 1 { print }' "$doc" > "$block"

if cmp -s "$file" "$block"; then
  echo "code block $n of $doc is $file"
  exit 0
fi
echo "code block $n of $doc differs from $file (- file, + block):" >&2
diff -u "$file" "$block" >&2 || true
echo "copy the file into the block (or the block into the file)" >&2
exit 1
