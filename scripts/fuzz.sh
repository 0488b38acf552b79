#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz, clang, ASan + UBSan) in build-fuzz and run
# each for SECONDS (default 60) on a copy of its seed corpus in a temp dir: the source
# tree is never written. Exits non-zero if any harness finds a crash, a leak, undefined
# behaviour or a timeout, and prints the reproducer's path (kept in DV_FUZZ_ARTIFACTS,
# default /tmp/dockvisor-fuzz-artifacts) and how to replay it.
#
# The JSON harnesses get a dictionary (tests/fuzz/<target>.dict) of the key and value
# strings their parser knows, without which the fuzzer rarely guesses a valid key.
#
# usage: scripts/fuzz.sh [SECONDS]       (DV_FUZZ_ONLY="spec http" runs only those)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

secs=${1:-60}
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [SECONDS]"
artifacts=${DV_FUZZ_ARTIFACTS:-/tmp/dockvisor-fuzz-artifacts}

log "configure + build the fuzz harnesses in build-fuzz (clang, ASan + UBSan)"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DDV_FUZZ=ON -DDV_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz

work=$(mktemp -d /tmp/dockvisor-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
targets=$(echo ${DV_FUZZ_ONLY:-$(ls tests/fuzz/corpus)})
for t in $targets; do
    [ -x "build-fuzz/tests/fuzz/fuzz_$t" ] || die "no harness build-fuzz/tests/fuzz/fuzz_$t for tests/fuzz/corpus/$t"
done

# fuzz_one TARGET: run it for $secs; its exit status says whether it found anything.
fuzz_one() {
    local t=$1 bin=build-fuzz/tests/fuzz/fuzz_$t dict=() rc=0
    cp -r "tests/fuzz/corpus/$t" "$work/$t"
    mkdir -p "$artifacts/$t"
    # One process, no forking: libFuzzer stops at the first crash and writes it to
    # -artifact_prefix. Leaks are failures too (ASan's leak check at each input's end).
    [ ! -f "tests/fuzz/$t.dict" ] || dict=(-dict="tests/fuzz/$t.dict")
    TMPDIR=$work ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t/" "${dict[@]}" "$work/$t" \
        >"$work/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$work/$t.rc"
}

# One harness per core at a time: each is a single process, so on N cores N of them
# run side by side and every harness still gets its full $secs of one core.
parallel=$(nproc)
log "fuzzing ${secs}s each, $parallel at a time: $targets"
running=0
for t in $targets; do
    if [ "$running" -ge "$parallel" ]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
done
wait

failed=()
for t in $targets; do
    bin=build-fuzz/tests/fuzz/fuzz_$t
    { grep -E '^#[0-9]+.*cov: ' "$work/$t.log" | tail -n 1 | tr -s ' \t' ' ' | cut -d' ' -f1-8
      grep -E '^Done [0-9]+ runs' "$work/$t.log"; } | sed "s/^/    fuzz_$t: /" >&2 || true
    if [ "$(cat "$work/$t.rc" 2>/dev/null || echo missing)" != 0 ]; then
        tail -n 60 "$work/$t.log" >&2
        for a in $(grep -o "Test unit written to [^ ]*" "$work/$t.log" | awk '{print $5}'); do
            log "REPRODUCER: $a   (replay: $bin $a)"
        done
        failed+=("$t")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    die "fuzzing found problems in: ${failed[*]} (reproducers under $artifacts)"
fi
log "fuzzing: no crash, leak or undefined behaviour in ${secs}s each ($targets)"
