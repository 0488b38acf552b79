#!/usr/bin/env bash
# Benchmark (not a test) of docklog, printing a table:
#   1. RSS and PSS per docklog process with N containers logging (default 50), files and
#      journald both on, as the agent runs them;
#   2. throughput for a container that printed SIZE bytes (default 1 GB) of LINE-byte
#      lines (default 100): docklog (files only) side by side with `docker logs -f` of
#      the same container into a file, in the same run, alternating, twice each.
#      Both read the container's stored log after it exited, so the comparison is of
#      the readers, not of how fast the container can write. CPU seconds per GB: the
#      reader's own (user+sys) and dockerd's during the read (it does most of the work);
#   3. fidelity: lines lost and lines duplicated by docklog with "source":"file", by
#      docklog with "source":"api" and by `docker logs -f`, all three following the
#      same live container in the same run (started while its command still sleeps 1 s,
#      in an order rotated from run to run), for containers with the agent's default
#      json-file cap (max-size=2m, max-file=2):
#        burst:  busybox sh writing B numbered lines (default 30000) to stdout and B to
#                stderr as fast as it can;
#        stream: the payload's `fast` mode, GBYTES (default 1 GB) of LINE-byte numbered
#                lines on stdout.
#      Counted per stream on the numbered lines (sort -u): lost = expected - unique,
#      duplicated = total - unique; medians of RUNS runs (default 3) per scenario.
#      docklog's own "gaps" records (the loss it noticed and reported) are shown beside.
#
# usage: scripts/bench/docklog.sh [-F] [-n CONTAINERS] [-s BYTES] [-l LINE_BYTES] [-r RUNS]
#                                 [-b BURST_LINES] [-g STREAM_BYTES]
#   -F  fidelity only (skip 1 and 2); -b 0 or -g 0 skips that fidelity scenario.
# Needs the test environment (scripts/test-env.sh up) and a built docklog
# ($DOCKLOG_BIN, else build/docklog; copied at start, so a rebuild meanwhile does not
# change what is measured). Creates only dvbench-docklog-<pid>-* containers and removes
# them at the end. DV_BENCH_KEEP=1 keeps the work dir (every fidelity run's output and
# docklog's diagnostics) for a look afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

n=50
size=1000000000
line=100
fidelity_only=false
runs=3
burst_lines=30000
stream_size=1000000000
usage="usage: $0 [-F] [-n CONTAINERS] [-s BYTES] [-l LINE_BYTES] [-r RUNS] [-b BURST_LINES] [-g STREAM_BYTES]"
while getopts "Fn:s:l:r:b:g:" opt; do
    case $opt in
    F) fidelity_only=true ;;
    n) n=$OPTARG ;;
    s) size=$OPTARG ;;
    l) line=$OPTARG ;;
    r) runs=$OPTARG ;;
    b) burst_lines=$OPTARG ;;
    g) stream_size=$OPTARG ;;
    *) die "$usage" ;;
    esac
done
[ "$#" -eq "$((OPTIND - 1))" ] || die "$usage"
for v in "$n" "$size" "$line" "$runs" "$burst_lines" "$stream_size"; do
    [[ $v =~ ^[0-9]+$ ]] || die "$usage (numbers only)"
done
[ "$runs" -ge 1 ] || die "-r: at least 1 run"
docklog_src=${DOCKLOG_BIN:-$DV_ROOT/build/docklog}
image=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
busybox=${DV_TEST_IMAGE_BUSYBOX:-dockvisor-test/busybox:1}
[ -x "$docklog_src" ] || die "no docklog at $docklog_src (build first or set DOCKLOG_BIN)"
docker_answers || die "dockerd does not answer (scripts/test-env.sh up)"
docker run --rm "$image" fast 1 >/dev/null 2>&1 ||
    die "$image lacks the 'fast' mode: run scripts/test-env.sh up to rebuild it"
[ "$burst_lines" -eq 0 ] || docker image inspect "$busybox" >/dev/null 2>&1 ||
    die "no image $busybox: run scripts/test-env.sh up"

prefix=dvbench-docklog-$$
work=$(mktemp -d /tmp/dv-bench-docklog.XXXXXX)
pids=()
cids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ "${#cids[@]}" -eq 0 ] || docker rm -f "${cids[@]}" >/dev/null 2>&1 || true
    if [ -n "${DV_BENCH_KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
docklog=$work/docklog
cp "$docklog_src" "$docklog"

config() { # DIR CID NAME JOURNALD [SOURCE MAX_FILES IMAGE]: SOURCE also turns the gaps file on
    local extra=
    [ -z "${5:-}" ] || extra=",\"source\":\"$5\",\"gaps\":\"$1/docklog.gaps\""
    mkdir -p "$1"
    cat >"$1/docklog.json" <<JSON
{"version":1,"endpoint":"unix://$DV_DOCKER_SOCK",
 "container":{"id":"$2","name":"$3","tty":false,"image":"${7:-$image}"},
 "task":{"id":"00000000-0000-4000-8000-000000000000","name":"bench"},
 "files":{"enabled":true,"dir":"$1/logs","base":"bench","max_files":${6:-10},"max_file_size":100},
 "journald":{"enabled":$4},"checkpoint":"$1/docklog.checkpoint"$extra}
JSON
}

stat_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/smaps_rollup"; }
# The dockerd serving the shared socket (a test may run a private one beside it).
dockerd_pid() {
    local p
    p=$(cat "$DV_TEST_ENV_DIR/dockerd.pid" 2>/dev/null || true)
    if [ -n "$p" ] && [ -e "/proc/$p/stat" ]; then echo "$p"; return; fi
    for p in $(pidof dockerd); do
        grep -q -- "--data-root" <<<"$(tr '\0' ' ' <"/proc/$p/cmdline")" || { echo "$p"; return; }
    done
}
dockerd_ticks() { awk '{ print $14 + $15 }' "/proc/$(dockerd_pid)/stat"; }
hz=$(getconf CLK_TCK)

timings=()
took() { # WHAT START_SECONDS
    timings+=("$(printf '%s: %d s' "$1" $((SECONDS - $2)))")
}

# ---- 1. memory with N containers logging ----
memory() {
    local i cid p t0=$SECONDS
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
    local rss=() pss=()
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
    rm -rf "$work"/mem-*
    took "memory ($n containers)" "$t0"
}

# ---- 2. throughput for a container that printed SIZE bytes ----
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
throughput() {
    local run t0=$SECONDS
    count=$((size / line))
    log "throughput: a container printing $count lines of $line bytes ($size bytes)"
    cid=$(docker run -d --name "$prefix-gb" --label io.dockvisor.test=bench "$image" fast "$count" "$line")
    cids+=("$cid")
    [ "$(docker wait "$cid")" = 0 ] || die "payload failed"
    for run in 1 2; do
        measure docker "$run"
        measure docklog "$run"
    done
    docker rm -f "${cids[@]}" >/dev/null
    cids=()
    took "throughput ($size bytes, 4 reads)" "$t0"
}

# ---- 3. fidelity of live readers ----
cap=(--log-driver json-file --log-opt max-size=2m --log-opt max-file=2)
readers=(file api docker) # the table's order
fid_results=$work/fidelity.txt
: >"$fid_results"

# Numbered lines "<n> TAG ..." with 1 <= n <= EXPECTED in FILES: prints "lost duplicated other",
# other = lines that are not such a line (garbled, merged, foreign).
count_stream() { # DIR EXPECTED TAG FILE...
    local dir=$1 expected=$2 tag=$3 total unique other
    shift 3
    cat -- "$@" </dev/null 2>/dev/null | LC_ALL=C awk -v t="$tag" -v n="$expected" -v o="$dir/other" '
        $2 == t && $1 ~ /^[0-9]+$/ && $1 + 0 >= 1 && $1 + 0 <= n { print $1; next }
        { other++ }
        END { print other + 0 >o }' >"$dir/nums"
    total=$(wc -l <"$dir/nums")
    unique=$(LC_ALL=C sort -u -S 25% "$dir/nums" | wc -l)
    other=$(cat "$dir/other")
    rm -f "$dir/nums" "$dir/other"
    echo "$((expected - unique)) $((total - unique)) $other"
}

# One run of SCENARIO: the container, then the three readers at once, in the order
# rotated by RUN; appends "scenario reader run lost dup other gaps status after_exit_s"
# (status: the reader's exit status, "killed" if it had not ended GRACE s after the
# container did) to $fid_results.
fidelity_run() { # SCENARIO RUN
    local scenario=$1 run=$2 name="$prefix-$1-$2" dir="$work/fid-$1-$2"
    local cid img expected_out expected_err tag_out tag_err max_files grace r i
    local -A pid status ended
    mkdir -p "$dir"
    if [ "$scenario" = burst ]; then
        img=$busybox
        # shellcheck disable=SC2016 # for busybox sh to expand; N is the line count
        local sh_cmd='sleep 1; (i=1; while [ $i -le N ]; do echo "$i out"; i=$((i+1)); done) & (i=1; while [ $i -le N ]; do echo "$i err" >&2; i=$((i+1)); done) & wait; sleep 3'
        cid=$(docker run -d --name "$name" --label io.dockvisor.test=bench "${cap[@]}" "$busybox" \
            sh -c "${sh_cmd//N/$burst_lines}")
        expected_out=$burst_lines expected_err=$burst_lines tag_out=out tag_err=err
        max_files=10 grace=60
    else
        img=$image
        cid=$(docker run -d --name "$name" --label io.dockvisor.test=bench "${cap[@]}" "$image" \
            sleep 1 -- fast "$((stream_size / line))" "$line")
        expected_out=$((stream_size / line)) expected_err=0 tag_out=fast tag_err=err
        max_files=$((stream_size / 100000000 + 3)) grace=$((60 + stream_size / 20000000))
    fi
    cids+=("$cid")
    config "$dir/file" "$cid" "$name" false file "$max_files" "$img"
    config "$dir/api" "$cid" "$name" false api "$max_files" "$img"
    mkdir -p "$dir/docker"
    local order=() t_start=$EPOCHREALTIME
    for i in 0 1 2; do order+=("${readers[$(((run - 1 + i) % 3))]}"); done
    for r in "${order[@]}"; do
        if [ "$r" = docker ]; then
            docker logs -f "$cid" >"$dir/docker/out" 2>"$dir/docker/err" &
        else
            "$docklog" "$dir/$r/docklog.json" </dev/null 2>"$dir/$r/docklog.log" &
        fi
        pid[$r]=$!
        pids+=($!)
    done
    local started_ms=$(((${EPOCHREALTIME/[.,]/} - ${t_start/[.,]/}) / 1000))
    [ "$started_ms" -lt 500 ] ||
        log "warning: $scenario run $run: the readers took $started_ms ms to start (the writer waits 1 s)"
    local code
    code=$(docker wait "$cid")
    [ "$code" = 0 ] || die "$scenario run $run: the container exited with $code"
    local exited=$EPOCHREALTIME deadline=$((SECONDS + grace)) left=3
    while [ "$left" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
        left=0
        for r in "${readers[@]}"; do
            [ -z "${ended[$r]:-}" ] || continue
            if kill -0 "${pid[$r]}" 2>/dev/null; then
                left=$((left + 1))
            else
                ended[$r]=$(((${EPOCHREALTIME/[.,]/} - ${exited/[.,]/}) / 1000))
            fi
        done
        [ "$left" -eq 0 ] || sleep 0.1
    done
    for r in "${readers[@]}"; do
        if [ -z "${ended[$r]:-}" ]; then
            kill "${pid[$r]}" 2>/dev/null || true
            wait "${pid[$r]}" 2>/dev/null || true
            status[$r]=killed ended[$r]=-1
            log "warning: $scenario run $run: $r had not ended ${grace} s after the container: killed"
        else
            status[$r]=0
            wait "${pid[$r]}" || status[$r]=$?
        fi
    done
    pids=()
    docker rm -f "$cid" >/dev/null
    cids=()
    local out err gaps files_out files_err
    for r in "${readers[@]}"; do
        if [ "$r" = docker ]; then
            files_out=("$dir/docker/out") files_err=("$dir/docker/err") gaps=-
        else
            files_out=("$dir/$r"/logs/bench.stdout.*) files_err=("$dir/$r"/logs/bench.stderr.*)
            gaps=0
            [ ! -f "$dir/$r/docklog.gaps" ] || gaps=$(wc -l <"$dir/$r/docklog.gaps")
            [ "${status[$r]}" = 0 ] || log "$scenario run $run: docklog ($r) ended with ${status[$r]}: $(tail -3 "$dir/$r/docklog.log")"
        fi
        read -r -a out < <(count_stream "$dir" "$expected_out" "$tag_out" "${files_out[@]}")
        read -r -a err < <(count_stream "$dir" "$expected_err" "$tag_err" "${files_err[@]}")
        echo "$scenario $r $run $((out[0] + err[0])) $((out[1] + err[1])) $((out[2] + err[2])) $gaps ${status[$r]} ${ended[$r]}" >>"$fid_results"
        [ -n "${DV_BENCH_KEEP:-}" ] || rm -rf "${dir:?}/$r" # the disk footprint: one run's output
    done
    [ -n "${DV_BENCH_KEEP:-}" ] || rm -rf "$dir"
    log "$scenario run $run (readers started: ${order[*]}): $(awk -v s="$scenario" -v n="$run" \
        '$1 == s && $3 == n { printf "%s lost %s dup %s; ", $2, $4, $5 }' "$fid_results")"
}
fidelity() {
    local run t0
    if [ "$burst_lines" -gt 0 ]; then
        t0=$SECONDS
        log "fidelity: burst of $burst_lines lines per stream, $runs runs"
        for run in $(seq 1 "$runs"); do fidelity_run burst "$run"; done
        took "fidelity burst ($burst_lines + $burst_lines lines, $runs runs)" "$t0"
    fi
    if [ "$stream_size" -gt 0 ]; then
        t0=$SECONDS
        log "fidelity: stream of $stream_size bytes in $((stream_size / line)) lines, $runs runs"
        for run in $(seq 1 "$runs"); do fidelity_run stream "$run"; done
        took "fidelity stream ($stream_size bytes, $runs runs)" "$t0"
    fi
}

if ! $fidelity_only; then
    memory
    throughput
fi
fidelity

# ---- tables ----
mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
printf '\n'
if ! $fidelity_only; then
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
    printf '\n'
fi
if [ -s "$fid_results" ]; then
    printf 'fidelity: live readers of one container per run, json-file max-size=2m max-file=2\n'
    [ "$burst_lines" -eq 0 ] ||
        printf '  burst:  busybox sh, %s numbered lines to stdout and %s to stderr at once\n' \
            "$burst_lines" "$burst_lines"
    [ "$stream_size" -eq 0 ] ||
        printf '  stream: payload fast, %s lines of %s bytes (%s bytes) on stdout\n' \
            "$((stream_size / line))" "$line" "$stream_size"
    printf '\n'
    for s in burst stream; do
        for r in "${readers[@]}"; do
            awk -v s="$s" -v r="$r" '$1 == s && $2 == r' "$fid_results"
        done
    done | awk '
        function median(list,   a, n, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        BEGIN {
            name["file"] = "docklog (source file)"; name["api"] = "docklog (source api)"
            name["docker"] = "docker logs -f"
            print "| reader | scenario | lost (median) | duplicated (median) | runs | per run lost/dup | docklog gaps reported (median) | ended after the container (median) | notes |"
            print "|---|---|---:|---:|---:|---|---:|---:|---|"
        }
        {
            k = $1 SUBSEP $2
            if (!(k in runs)) order[++nk] = k
            runs[k]++
            lost[k] = lost[k] " " $4; dup[k] = dup[k] " " $5
            per[k] = per[k] (per[k] == "" ? "" : ", ") $4 "/" $5
            other[k] += $6; gaps[k] = gaps[k] " " $7
            if ($8 == "killed") killed[k]++
            else if ($8 != 0) failed[k] = failed[k] " " $8
            if ($9 >= 0) ended[k] = ended[k] " " $9 / 1000
        }
        END {
            for (i = 1; i <= nk; i++) {
                k = order[i]; split(k, ks, SUBSEP)
                notes = ""
                if (killed[k]) notes = notes sprintf("not ended, killed in %d runs; ", killed[k])
                if (failed[k] != "") notes = notes "exit status" failed[k] "; "
                if (other[k]) notes = notes sprintf("%d garbled/other lines; ", other[k])
                printf "| %s | %s | %s | %s | %d | %s | %s | %s | %s |\n", name[ks[2]], ks[1],
                    median(lost[k]), median(dup[k]), runs[k], per[k],
                    ks[2] == "docker" ? "-" : median(gaps[k]),
                    ended[k] == "" ? "-" : sprintf("%.1f s", median(ended[k])), notes
            }
        }'
    printf '\n'
fi
printf 'time taken:'
printf ' %s;' "${timings[@]}"
printf '\n'
