#!/usr/bin/env bash
# check-layers.sh [SOURCE_DIR]
#
# The layers depend one way: the public types (runtime/jobrt/, with their
# sources in runtime/) at the bottom, storage/ on them, actors/ on both, the
# facade (facade/) on top. Reads every `#include "..."` line and fails (exit 1)
# on an include that goes up, printing file:line, the include and the rule.
# Relative spellings ("../actors/x.hpp") and <...> includes count the same.
set -u

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || { echo "check-layers: no directory $root" >&2; exit 2; }

fail=0

# report FILE:LINE:TEXT RULE
report() {
  local where=${1%%:*}
  local rest=${1#*:}
  local line=${rest%%:*}
  local text=${rest#*:}
  echo "$where:$line: ${text#"${text%%[![:space:]]*}"}  -- $2"
  fail=1
}

# check DIR EXTENDED_REGEX RULE: every quoted include under DIR matching the regex
check() {
  local dir=$1 pattern=$2 rule=$3
  [ -d "$dir" ] || return 0
  local hit
  while IFS= read -r hit; do
    [ -n "$hit" ] && report "$hit" "$rule"
  done < <(find "$dir" -type f \( -name '*.hpp' -o -name '*.h' -o -name '*.cpp' -o -name '*.ipp' \) \
             -print0 | sort -z \
           | xargs -0 -r grep -nHE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<](\.\.?/)*($pattern)" \
           || true)
}

up='storage/|actors/|facade/'
# runtime/ covers the public headers in runtime/jobrt/ and the .cpp files beside them.
check runtime "$up" \
  "runtime/ (public types) includes nothing from storage/, actors/ or facade/"
check storage 'actors/|facade/|jobrt/runtime\.hpp[">]|jobrt/jobrt\.hpp[">]' \
  "storage/ includes only public types (not actors/, facade/, jobrt/runtime.hpp, jobrt/jobrt.hpp)"
check actors 'facade/|jobrt/runtime\.hpp[">]|jobrt/jobrt\.hpp[">]' \
  "actors/ includes public types and storage/ (not facade/, jobrt/runtime.hpp, jobrt/jobrt.hpp)"

if [ "$fail" -ne 0 ]; then
  echo "check-layers: includes that go up a layer (see above)"
  exit 1
fi
echo "check-layers: the layers depend one way"
exit 0
