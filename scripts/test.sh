#!/usr/bin/env bash
# Everything CI does: install dependencies, check formatting, build, bring up the real
# test environment (dockerd, journald, registry, test images), run every test with ctest,
# then build again with AddressSanitizer + UndefinedBehaviorSanitizer and run the suite again,
# then run every fuzz harness (scripts/fuzz.sh) for DV_FUZZ_SECONDS each.
# Exits non-zero on any failure.
#
# usage: scripts/test.sh           (DV_SKIP_SANITIZE=1 skips the second pass,
#                                   DV_SKIP_FUZZ=1 the fuzzing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

./scripts/install-deps.sh
./scripts/format.sh --check

jobs=$(nproc)
build_and_test() { # BUILD_DIR CMAKE_ARGS...
    local dir=$1; shift
    log "configure + build in $dir $*"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

build_and_test build
./scripts/test-env.sh up
log "running the test suite (build)"
ctest --test-dir build --output-on-failure

if [ "${DV_SKIP_SANITIZE:-0}" != 1 ]; then
    build_and_test build-asan -DDV_SANITIZE=ON
    log "running the test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
    ctest --test-dir build-asan --output-on-failure
fi

# 8 harnesses x 45 s, two at a time on two cores (+ ~3 min to build them): ~6 minutes,
# which keeps a full run (two passes of the suite) under the 60 minutes it may take.
if [ "${DV_SKIP_FUZZ:-0}" != 1 ]; then
    ./scripts/fuzz.sh "${DV_FUZZ_SECONDS:-45}"
fi
