#!/usr/bin/env bash
# Benchmark (not a test) of docklog, printing a table:
#   1. RSS and PSS per docklog process with N containers logging (default 50), files and
#      journald both on, as the agent runs them;
#   2. throughput for a container that printed SIZE bytes (default 1 GB) of LINE-byte
#      lines (default 100): docklog (files only) side by side with `docker logs -f` of
#      the same container into a file, in the same run, alternating, twice each.
#      Both read the container's stored log after it exited, so the comparison is of
#      the readers, not of how fast the container can write. CPU seconds per GB: the
#      reader's own (user+sys) and dockerd's during the read (it does most of the work).
#
# usage: scripts/bench/docklog.sh [-n CONTAINERS] [-s BYTES] [-l LINE_BYTES]
# Needs the test environment (scripts/test-env.sh up) and a built docklog
# ($DOCKLOG_BIN, else build/docklog). Creates only dvbench-docklog-<pid>-* containers
# and removes them at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

n=50
size=1000000000
line=100
while getopts "n:s:l:" opt; do
    case $opt in
    n) n=$OPTARG ;;
    s) size=$OPTARG ;;
    l) line=$OPTARG ;;
    *) die "usage: $0 [-n CONTAINERS] [-s BYTES] [-l LINE_BYTES]" ;;
    esac
done
docklog=${DOCKLOG_BIN:-$DV_ROOT/build/docklog}
image=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
[ -x "$docklog" ] || die "no docklog at $docklog (build first or set DOCKLOG_BIN)"
docker_answers || die "dockerd does not answer (scripts/test-env.sh up)"
docker run --rm "$image" fast 1 >/dev/null 2>&1 ||
    die "$image lacks the 'fast' mode: run scripts/test-env.sh up to rebuild it"

prefix=dvbench-docklog-$$
work=$(mktemp -d /tmp/dv-bench-docklog.XXXXXX)
pids=()
cids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ "${#cids[@]}" -eq 0 ] || docker rm -f "${cids[@]}" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

config() { # DIR CID NAME JOURNALD
    mkdir -p "$1"
    cat >"$1/docklog.json" <<JSON
{"version":1,"endpoint":"unix://$DV_DOCKER_SOCK",
 "container":{"id":"$2","name":"$3","tty":false,"image":"$image"},
 "task":{"id":"00000000-0000-4000-8000-000000000000","name":"bench"},
 "files":{"enabled":true,"dir":"$1/logs","base":"bench","max_files":10,"max_file_size":100},
 "journald":{"enabled":$4},"checkpoint":"$1/docklog.checkpoint"}
JSON
}

stat_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }
dockerd_ticks() { awk '{ print $14 + $15 }' "/proc/$(pidof dockerd | awk '{print $1}')/stat"; }
hz=$(getconf CLK_TCK)

# ---- 1. memory with N containers logging ----
log "memory: starting $n containers logging 20 lines/s and $n docklog processes"
for i in $(seq 1 "$n"); do
    cid=$(docker run -d --name "$prefix-mem-$i" --label io.dockvisor.test=bench "$image" \
        lines 100000000 20)
    cids+=("$cid")
    config "$work/mem-$i" "$cid" "$prefix-mem-$i" true
    "$docklog" "$work/mem-$i/docklog.json" </dev/null 2>>"$work/mem-$i/docklog.log" &
    pids+=($!)
done
sleep 20
rss=() pss=()
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || die "a docklog exited early: $(cat "$work"/mem-*/docklog.log | tail -3)"
    rss+=("$(stat_kb "$p" Rss)")
    pss+=("$(stat_kb "$p" Pss)")
done
summary() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1; s += $1 } END {
    printf "%.0f %.0f %.0f %.0f\n", a[1], s / NR, a[NR], s }'; }
read -r rss_min rss_avg rss_max rss_sum < <(summary "${rss[@]}")
read -r pss_min pss_avg pss_max pss_sum < <(summary "${pss[@]}")
lines_written=$(cat "$work"/mem-*/logs/bench.stdout.* | wc -l)
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || die "docklog did not stop cleanly on SIGTERM"; done
pids=()
docker rm -f "${cids[@]}" >/dev/null
cids=()

# ---- 2. throughput for a container that printed SIZE bytes ----
count=$((size / line))
log "throughput: a container printing $count lines of $line bytes ($size bytes)"
cid=$(docker run -d --name "$prefix-gb" --label io.dockvisor.test=bench "$image" fast "$count" "$line")
cids+=("$cid")
[ "$(docker wait "$cid")" = 0 ] || die "payload failed"

TIMEFORMAT='%R %U %S'
results=()
measure() { # WHAT RUN
    local dir="$work/$1-$2" t before after got
    mkdir -p "$dir"
    before=$(dockerd_ticks)
    if [ "$1" = docker ]; then
        { time docker logs -f "$cid" >"$dir/out" 2>"$dir/err"; } 2>"$dir/time"
        got=$(($(stat -c %s "$dir/out") + $(stat -c %s "$dir/err")))
    else
        config "$dir" "$cid" "$prefix-gb" false
        { time "$docklog" "$dir/docklog.json" </dev/null 2>"$dir/docklog.log"; } 2>"$dir/time" ||
            die "docklog failed: $(tail -3 "$dir/docklog.log")"
        got=$(cat "$dir"/logs/bench.stdout.* | wc -c)
    fi
    after=$(dockerd_ticks)
    [ "$got" = "$size" ] || die "$1 run $2 delivered $got bytes, expected $size"
    read -r real user sys <"$dir/time"
    results+=("$1 $2 $real $user $sys $(((after - before)))")
    rm -rf "$dir" # keep the disk footprint to one copy at a time
}
for run in 1 2; do
    measure docker "$run"
    measure docklog "$run"
done

# ---- table ----
mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
printf '\n'
printf 'docklog memory, %d processes following %d logging containers (files + journald)\n' "$n" "$n"
printf '  %-6s %12s %12s %12s\n' "" "min" "avg" "max"
printf '  %-6s %12s %12s %12s\n' "RSS" "$(mib "$rss_min")" "$(mib "$rss_avg")" "$(mib "$rss_max")"
printf '  %-6s %12s %12s %12s   (all %d together: %s PSS)\n' "PSS" "$(mib "$pss_min")" \
    "$(mib "$pss_avg")" "$(mib "$pss_max")" "$n" "$(mib "$pss_sum")"
printf '  (%s lines reached the files during the 20 s)\n\n' "$lines_written"
printf 'throughput, %s bytes in %s lines of %s bytes, read after the container exited\n' \
    "$size" "$count" "$line"
printf '%s\n' "${results[@]}" | awk -v size="$size" -v count="$count" -v hz="$hz" '
    BEGIN {
        printf "  %-20s %8s %8s %11s %16s %17s\n", "reader", "seconds", "MB/s", "lines/s",
            "reader CPU s/GB", "dockerd CPU s/GB"
        gb = size / 1e9
    }
    {
        mbs = size / $3 / 1e6
        name = ($1 == "docker" ? "docker logs -f" : "docklog") " #" $2
        printf "  %-20s %8.2f %8.1f %11.0f %16.2f %17.2f\n", name, $3, mbs, count / $3,
            ($4 + $5) / gb, $6 / hz / gb
        if (mbs > best[$1]) best[$1] = mbs
    }
    END { printf "  docklog / docker logs -f, best of each: %.2fx\n", best["docklog"] / best["docker"] }'
