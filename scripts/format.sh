#!/usr/bin/env bash
# Format the C sources with clang-format (.clang-format at the top).
# usage: scripts/format.sh [--check]   (--check: change nothing, fail if a file would change)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find common supervisor docklog tests -name '*.[ch]')
[ "${#files[@]}" -gt 0 ] || exit 0
if [ "${1:-}" = "--check" ]; then
    clang-format --dry-run --Werror "${files[@]}"
    echo "format: ${#files[@]} files clean"
else
    clang-format -i "${files[@]}"
fi
