#!/usr/bin/env bash
# Fails if a source file of the library (runtime/, actors/, storage/, facade/) is
# over 600 lines: a file that large holds more than one concern (see
# docs/architecture.md for where each one lives).
# Usage: scripts/check-file-sizes.sh [repository root]
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
limit=600
status=0
while IFS= read -r file; do
  lines=$(wc -l < "$file")
  if (( lines > limit )); then
    echo "${file#"$root"/}: $lines lines, over $limit: split it by concern"
    status=1
  fi
done < <(find "$root/runtime" "$root/actors" "$root/storage" "$root/facade" \
              -type f \( -name '*.cpp' -o -name '*.hpp' \) | sort)
if (( status == 0 )); then
  echo "check-file-sizes: no library source file is over $limit lines"
fi
exit "$status"
