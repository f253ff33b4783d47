#!/usr/bin/env bash
# check_includes.sh — the part of the layering rule the include trees cannot see: a quoted include
# is first looked up beside the including file, so `#include "../eval/tasks.h"` would reach across
# the layers through the source tree. Every project include names its layer from the top instead.
cd "$(dirname "$0")/.." || exit 2
if grep -rnE '^\s*#\s*include\s+"\.\./' base io kernels model prompt eval train app cli; then
  echo "check_includes: relative includes above (write \"<layer>/<file>.h\")" >&2
  exit 1
fi
echo "check_includes: no relative includes"
