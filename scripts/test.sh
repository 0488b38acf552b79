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
# Unit tests need no daemon and share nothing: two at a time. Integration tests share
# the dockerd and the systemd machine, and some measure latency: one at a time.
run_suite() { # BUILD_DIR [ctest -E REGEX for the integration tests]
    ctest --test-dir "$1" --output-on-failure -L unit -j "$jobs"
    ctest --test-dir "$1" --output-on-failure -LE unit ${2:+-E "$2"}
}
# The sanitizer pass leaves out, to keep a full run under 60 minutes:
# - docklog's Engine API mode duplicates (test_docklog_*_api): the plain pass runs them;
#   under the sanitizers docklog runs in its production mode on a local Engine (Docker's
#   files read from disk), and the API mode's parsers are fuzzed under ASan (http,
#   frames) and unit-tested there (test_docklog_http, test_docklog_fake);
# - test_agent_scale and test_api_lockout, which measure wakeups and latency: the
#   sanitizers' slowdown says nothing there. The systemd scenarios and the package skip
#   themselves (exit 77);
# - test_scale_inotify_default (300 tasks, ~8 minutes plain) and test_docklog_fidelity
#   (over 4 minutes under the sanitizers): floods and scale for code the smaller tests
#   run there too (test_inotify_limit: the polling helpers; test_docklog_kill, _stream
#   and _rotation: the file reader, its resume and its sinks);
# - test_docklog_dockerd_restart (about 2.5 minutes in either pass, nearly all of it
#   waiting for its private dockerd to stop and start): docklog's reconnects, drops and
#   Engine errors run under the sanitizers in test_docklog_fake against a fake Engine,
#   and the agent's side of an outage in test_agent_engine_outage;
# - test_gc_images (about a minute, most of it sleeping past image_delay): the image
#   collector's bookkeeping (references, delays, refusals, its table) runs there in
#   test_image_gc_agent, and the dangling-container reaper in test_gc_dangling;
# - test_agent_engine_outage (about 2.5 minutes, most of it its private dockerd stopping
#   and starting): the event stream's reconnect and resync run there in
#   test_engine_events, an Engine that hangs or fails in test_agent_hung_engine and
#   test_docker_client.
asan_exclude='^integration/(test_docklog_[a-z_]+_api|test_docklog_fidelity|test_docklog_dockerd_restart|test_gc_images|test_agent_engine_outage|test_agent_scale|test_api_lockout|test_scale_inotify_default)$'
log "running the test suite (build)"
run_suite build

if [ "${DV_SKIP_SANITIZE:-0}" != 1 ]; then
    build_and_test build-asan -DDV_SANITIZE=ON
    log "running the test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
    run_suite build-asan "$asan_exclude"
fi

# 9 harnesses x 20 s, two at a time on two cores (+ ~1 min to build them): ~2.7 minutes,
# which keeps a full run (two passes of the suite, the systemd scenarios in the plain
# one) under the 60 minutes it may take. `scripts/fuzz.sh 300` is the longer run.
if [ "${DV_SKIP_FUZZ:-0}" != 1 ]; then
    ./scripts/fuzz.sh "${DV_FUZZ_SECONDS:-20}"
fi
