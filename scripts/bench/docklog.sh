#!/usr/bin/env bash
# Benchmark (not a test) of docklog, printing a table per section:
#   1. RSS and PSS per docklog process with N containers logging (default 50), files and
#      journald both on, as the agent runs them;
#   2. throughput of LIVE containers, each printing SIZE bytes (default 1 GB) of LINE-byte
#      numbered lines (default 100) as fast as it can, followed while it writes by one
#      reader per container: docklog "source":"file", docklog "source":"api",
#      `docker logs -f` into a file, no reader at all (what dockerd spends writing
#      json-file by itself) and, with -P, podman's conmon (k8s-file). Twice: (a) without a
#      cap (json-file, max-size unset; SIZE bytes) and (b) under Docker's default cap as
#      the agent sets it (max-size=2m, max-file=2; CAP_SIZE bytes, default 200 MB; conmon
#      not: its k8s-file cap truncates by design). RUNS runs (default 3), the readers'
#      order rotated from run to run; medians. Per reader: time to the last byte (the
#      last write to its output minus the writer's start), lines lost and duplicated
#      (counted as in 3), the reader's own CPU s/GB, dockerd's CPU s/GB during the run,
#      the reader's peak RSS/PSS. docklog writes files only here (no journald);
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
#   4. the journald path: J numbered lines (default 300000) at full speed into journald,
#      by docklog (json-file under the agent's cap, journald only) and by Docker's own
#      journald driver, in alternated order, RUNS runs each: time to the last entry,
#      entries lost and duplicated, fields per entry, and journald's, dockerd's and
#      docklog's CPU per 100,000 entries.
#
#   Last, one table `| what | docklog | peer, same run | docklog / peer | target |` with
#   the figures the targets of issue 16 are read off (CPU per GB with dockerd's, time to
#   the last byte, lines lost under the cap, PSS/RSS; conmon's beside with -P).
#
# usage: scripts/bench/docklog.sh [-F] [-o SECTIONS] [-P] [-n CONTAINERS] [-s BYTES]
#            [-c CAP_BYTES] [-l LINE_BYTES] [-r RUNS] [-b BURST_LINES] [-g STREAM_BYTES]
#            [-j JOURNALD_LINES]
#   -o  sections to run, comma-separated: memory,throughput,fidelity,journald (default
#       all four); -F is -o fidelity. -s 0 or -c 0 skips that throughput case; -b 0 or
#       -g 0 that fidelity scenario; -j 0 the journald section.
#   -P  also podman's conmon as a peer: installs podman and conmon from Debian with
#       apt-get when missing (apt-get update first) and loads the payload image into
#       podman from Docker (docker save | podman load; nothing is pulled).
# Full size (the defaults, what the issue's targets are stated for): -n 50 -s 1000000000
# -c 200000000 -r 3 -b 30000 -g 1000000000 -j 300000 (add -P for the peer): one to two hours on
# 2 idle cores, most of it in the 1 GB streams, and about 2 GB of disk at a time. A
# smoke run: -n 5 -s 20000000 -c 20000000 -r 2 -b 2000 -g 20000000 -j 20000 (about 10 minutes);
# its CPU figures are dominated by start-up costs and whatever else the machine runs.
# Needs the test environment (scripts/test-env.sh up) and a built docklog
# ($DOCKLOG_BIN, else build/docklog; copied at start, so a rebuild meanwhile does not
# change what is measured). Creates only dvbench-docklog-<pid>-* containers (Docker's,
# and podman's with -P) and removes them at the end. DV_BENCH_KEEP=1 keeps the work dir (every fidelity run's output and
# docklog's diagnostics) for a look afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

n=50
size=1000000000
line=100
sections=memory,throughput,fidelity,journald
peer=false
cap_size=200000000
runs=3
burst_lines=30000
stream_size=1000000000
journald_lines=300000
usage="usage: $0 [-F] [-o SECTIONS] [-P] [-n CONTAINERS] [-s BYTES] [-c CAP_BYTES] [-l LINE_BYTES] [-r RUNS] [-b BURST_LINES] [-g STREAM_BYTES] [-j JOURNALD_LINES]"
while getopts "Fo:Pn:s:c:l:r:b:g:j:" opt; do
    case $opt in
    F) sections=fidelity ;;
    o) sections=$OPTARG ;;
    P) peer=true ;;
    c) cap_size=$OPTARG ;;
    n) n=$OPTARG ;;
    s) size=$OPTARG ;;
    l) line=$OPTARG ;;
    r) runs=$OPTARG ;;
    b) burst_lines=$OPTARG ;;
    g) stream_size=$OPTARG ;;
    j) journald_lines=$OPTARG ;;
    *) die "$usage" ;;
    esac
done
[ "$#" -eq "$((OPTIND - 1))" ] || die "$usage"
for v in "$n" "$size" "$cap_size" "$line" "$runs" "$burst_lines" "$stream_size" "$journald_lines"; do
    [[ $v =~ ^[0-9]+$ ]] || die "$usage (numbers only)"
done
[ "$runs" -ge 1 ] || die "-r: at least 1 run"
want() { [[ ,$sections, == *",$1,"* ]]; }
for v in ${sections//,/ }; do
    case $v in memory | throughput | fidelity | journald) ;; *) die "-o: unknown section $v" ;; esac
done
want throughput || peer=false
docklog_src=${DOCKLOG_BIN:-$DV_ROOT/build/docklog}
image=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
busybox=${DV_TEST_IMAGE_BUSYBOX:-dockvisor-test/busybox:1}
[ -x "$docklog_src" ] || die "no docklog at $docklog_src (build first or set DOCKLOG_BIN)"
docker_answers || die "dockerd does not answer (scripts/test-env.sh up)"
docker run --rm "$image" fast 1 >/dev/null 2>&1 ||
    die "$image lacks the 'fast' mode: run scripts/test-env.sh up to rebuild it"
[ "$burst_lines" -eq 0 ] || docker image inspect "$busybox" >/dev/null 2>&1 ||
    die "no image $busybox: run scripts/test-env.sh up"
command -v /usr/bin/time >/dev/null || die "needs /usr/bin/time (apt-get install time)"
podman_image=
if $peer; then
    if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
        log "-P: installing podman and conmon from Debian"
        apt-get update -q >/dev/null || die "-P: apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman conmon \
            >/dev/null || die "-P: apt-get install podman conmon failed"
    fi
    # The same image, from Docker's store (never pulled): podman names it localhost/... or
    # docker.io/...; take whichever it has.
    find_podman_image() {
        podman images --format '{{.Repository}}:{{.Tag}}' | grep -m1 -E "(^|/)${image//./\\.}\$" || true
    }
    podman_image=$(find_podman_image)
    if [ -z "$podman_image" ]; then
        docker save "$image" | podman load -q >/dev/null || die "-P: docker save | podman load failed"
        podman_image=$(find_podman_image)
    fi
    [ -n "$podman_image" ] || die "-P: podman does not list $image after loading it"
    # podman asks runc for nofile/nproc limits above what a sandboxed host may grant (and
    # runc then fails with "error setting rlimits"): ask for small ones, the writer needs none.
    podman_opts=(--network none --ulimit nproc=1024:1024 --ulimit nofile=1024:1024)
    podman run --rm "${podman_opts[@]}" "$podman_image" fast 1 >/dev/null 2>&1 ||
        die "-P: podman cannot run $podman_image"
fi

prefix=dvbench-docklog-$$
work=$(mktemp -d /tmp/dv-bench-docklog.XXXXXX)
pids=()
cids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ "${#cids[@]}" -eq 0 ] || docker rm -f "${cids[@]}" >/dev/null 2>&1 || true
    if $peer; then
        podman ps -aq --filter "name=^$prefix-" | xargs -r podman rm -f >/dev/null 2>&1 || true
    fi
    if [ -n "${DV_BENCH_KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
docklog=$work/docklog
cp "$docklog_src" "$docklog"

# JOURNALD: true, false, or "only" (journald on, files off: the journald section).
config() { # DIR CID NAME JOURNALD [SOURCE MAX_FILES IMAGE]: SOURCE also turns the gaps file on
    local extra='' files=true journald=$4
    [ -z "${5:-}" ] || extra=",\"source\":\"$5\",\"gaps\":\"$1/docklog.gaps\""
    [ "$journald" != only ] || files=false journald=true
    mkdir -p "$1"
    cat >"$1/docklog.json" <<JSON
{"version":1,"endpoint":"unix://$DV_DOCKER_SOCK",
 "container":{"id":"$2","name":"$3","tty":false,"image":"${7:-$image}"},
 "task":{"id":"00000000-0000-4000-8000-000000000000","name":"bench"},
 "files":{"enabled":$files,"dir":"$1/logs","base":"bench","max_files":${6:-10},"max_file_size":100},
 "journald":{"enabled":$journald},"checkpoint":"$1/docklog.checkpoint"$extra}
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
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # PID → utime + stime
dockerd_ticks() { proc_ticks "$(dockerd_pid)"; }
hz=$(getconf CLK_TCK)
# The user + system CPU that /usr/bin/time -f '%e %U %S' -o FILE recorded, in ticks.
time_ticks() { # FILE
    local t
    read -r -a t < <(tail -1 "$1")
    awk -v u="${t[1]}" -v s="${t[2]}" -v hz="$hz" 'BEGIN { printf "%.0f", (u + s) * hz }'
}

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
    read -r rss_min rss_avg rss_max _ < <(summary "${rss[@]}")
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

# ---- 2. throughput of live readers ----
# One container per (cap, reader, run): the payload sleeps 1 s (the reader is started
# meanwhile), prints its numbered lines as fast as it can, sleeps 1 s and exits; one
# reader follows it live. Readers: docklog "source":"file", docklog "source":"api",
# `docker logs -f` into a file, "none" (no reader: what dockerd spends writing json-file
# by itself) and, with -P, podman's conmon writing k8s-file (no cap only). The order of
# the readers is rotated from run to run. Per run: time to the last byte (the last
# write to the reader's output, from its mtime, minus the writer's start: the
# container's StartedAt + 1 s), lines lost and duplicated (count_stream), the reader's
# CPU (user+sys, from /usr/bin/time; conmon's sampled from /proc), its peak RSS/PSS
# (sampled every 0.2 s) and dockerd's CPU from before `docker run` to after the reader
# ended. Appends "cap reader run ttlb_s writer_s bytes lost dup other reader_ticks
# dockerd_ticks rss_kb pss_kb status gaps" to $tp_results (CPU in clock ticks; gaps:
# the records docklog wrote to its gaps file, i.e. the loss it noticed and reported).
tp_results=$work/throughput.txt
: >"$tp_results"
cap_args() { # nocap | cap
    if [ "$1" = cap ]; then
        echo "--log-driver json-file --log-opt max-size=2m --log-opt max-file=2"
    else
        echo "--log-driver json-file"
    fi
}
# Peak Rss/Pss (kB) and the last utime+stime (ticks) of PID until it is gone, into OUT
# as "rss pss ticks"; pure bash so that sampling costs next to nothing.
sample_proc() { # PID OUT
    local pid=$1 out=$2 k v rest r p peak_rss=0 peak_pss=0 ticks=0 f
    while [ -e "/proc/$pid" ]; do
        r=0 p=0
        while read -r k v rest; do
            case $k in Rss:) r=$v ;; Pss:) p=$v ;; esac
        done 2>/dev/null <"/proc/$pid/smaps_rollup" || true
        if read -r -a f 2>/dev/null <"/proc/$pid/stat"; then
            [ "${f[2]}" = Z ] || ticks=$((f[13] + f[14]))
        fi
        [ "$r" -le "$peak_rss" ] || peak_rss=$r
        [ "$p" -le "$peak_pss" ] || peak_pss=$p
        echo "$peak_rss $peak_pss $ticks" >"$out.tmp" && mv -f "$out.tmp" "$out"
        sleep 0.2
    done
}
ns_of() { # Docker's RFC 3339 time, or ns since the epoch already (podman's) → ns
    if [[ $1 =~ ^[0-9]+$ ]]; then echo "$1"; else date -d "$1" +%s%N; fi
}
tp_run() { # CAP READER RUN SIZE
    local capname=$1 r=$2 run=$3 bytes=$4 name="$prefix-tp-$1-$2-$3" dir="$work/tp-$1-$2-$3"
    local count=$((bytes / line)) cid tpid rpid before after started finished last f
    local out_files=() mem=(0 0 0) status=0 ticks
    mkdir -p "$dir"
    local -a writer=(sleep 1 -- fast "$count" "$line" -- sleep 1)
    before=$(dockerd_ticks)
    if [ "$r" = conmon ]; then
        podman run -d --name "$name" "${podman_opts[@]}" --log-driver k8s-file \
            --log-opt "path=$dir/ctr.log" "$podman_image" "${writer[@]}" >"$dir/cid"
        cid=$(cat "$dir/cid")
        rpid=$(podman inspect -f '{{.State.ConmonPid}}' "$cid")
        sample_proc "$rpid" "$dir/mem" &
        tpid=$!
        wait "$tpid" # until conmon is gone
        [ "$(podman wait "$cid" 2>/dev/null || podman inspect -f '{{.State.ExitCode}}' "$cid")" = 0 ] ||
            die "$name: the podman container failed"
        started=$(podman inspect -f '{{.State.StartedAt.UnixNano}}' "$cid")
        finished=$(podman inspect -f '{{.State.FinishedAt.UnixNano}}' "$cid")
        podman rm -f "$cid" >/dev/null
        # k8s-file: "<time> <stream> <P|F> <text>"; P pieces join the next F line
        LC_ALL=C awk '{ i = index($0, " " $3 " "); buf = buf substr($0, i + 3)
            if ($3 == "F") { print buf; buf = "" } }' "$dir/ctr.log" >"$dir/out"
        last=$(stat -c %.9Y "$dir/ctr.log" | tr -d .)
        read -r -a mem <"$dir/mem"
        ticks=${mem[2]}
        out_files=("$dir/out")
    else
        # shellcheck disable=SC2046 # the cap's options, split on purpose
        cid=$(docker run -d --name "$name" --label io.dockvisor.test=bench $(cap_args "$capname") \
            "$image" "${writer[@]}")
        cids+=("$cid")
        case $r in
        file | api)
            config "$dir" "$cid" "$name" false "$r" $((bytes / 100000000 + 3))
            /usr/bin/time -f '%e %U %S' -o "$dir/time" "$docklog" "$dir/docklog.json" \
                </dev/null 2>"$dir/docklog.log" &
            ;;
        docker)
            /usr/bin/time -f '%e %U %S' -o "$dir/time" docker logs -f "$cid" \
                </dev/null >"$dir/out" 2>"$dir/err" &
            ;;
        none) ;;
        esac
        if [ "$r" != none ]; then
            tpid=$!
            pids+=("$tpid")
            rpid=
            for _ in $(seq 50); do
                rpid=$(pgrep -P "$tpid" | head -1 || true)
                [ -z "$rpid" ] || break
                sleep 0.02
            done
            local spid='' wpid
            if [ -n "$rpid" ]; then
                sample_proc "$rpid" "$dir/mem" &
                spid=$!
            fi
            # A reader that has not ended GRACE s after the container is killed (and
            # the run counted as failed), so that a hang cannot stall the benchmark.
            (
                docker wait "$cid" >/dev/null 2>&1 || true
                sleep $((60 + bytes / 20000000))
                [ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true
            ) &
            wpid=$!
            wait "$tpid" || status=$?
            pids=()
            kill "$wpid" 2>/dev/null || true
            wait "$wpid" 2>/dev/null || true
            [ -z "$spid" ] || wait "$spid"
            [ ! -s "$dir/mem" ] || read -r -a mem <"$dir/mem"
            ticks=$(time_ticks "$dir/time")
        fi
        [ "$(docker wait "$cid")" = 0 ] || die "$name: the container failed"
        started=$(docker inspect -f '{{.State.StartedAt}}' "$cid")
        finished=$(docker inspect -f '{{.State.FinishedAt}}' "$cid")
        case $r in
        file | api)
            out_files=("$dir"/logs/bench.stdout.*)
            [ "$status" = 0 ] || log "$name: docklog ended with $status: $(tail -3 "$dir/docklog.log")"
            ;;
        docker) out_files=("$dir/out") ;;
        none)
            out_files=()
            ticks=0
            ;;
        esac
        last=0
        for f in "${out_files[@]}"; do
            f=$(stat -c %.9Y "$f" | tr -d .)
            [ "$f" -le "$last" ] || last=$f
        done
        docker rm -f "$cid" >/dev/null
        cids=()
    fi
    after=$(dockerd_ticks)
    local writer_start writer_s ttlb got lost=- dup=- other=-
    writer_start=$(($(ns_of "$started") + 1000000000))
    writer_s=$(awk -v a="$writer_start" -v b="$(ns_of "$finished")" 'BEGIN { printf "%.2f", (b - a) / 1e9 - 1 }')
    if [ "$r" = none ]; then
        ttlb=- got=-
    else
        ttlb=$(awk -v a="$writer_start" -v b="$last" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
        got=$(cat "${out_files[@]}" | wc -c)
        read -r lost dup other < <(count_stream "$dir" "$count" fast "${out_files[@]}")
    fi
    local gaps=-
    [ "$r" != file ] && [ "$r" != api ] || gaps=$( (cat "$dir/docklog.gaps" 2>/dev/null || true) | wc -l)
    echo "$capname $r $run $ttlb $writer_s $got $lost $dup $other $ticks $((after - before)) ${mem[0]} ${mem[1]} $status $gaps" >>"$tp_results"
    log "throughput $capname run $run $r: last byte after ${ttlb} s (writer ${writer_s} s), lost $lost, dup $dup"
    [ -n "${DV_BENCH_KEEP:-}" ] || rm -rf "$dir" # the disk footprint: one copy at a time
}
throughput() {
    local capname bytes run i t0=$SECONDS tp_readers=(file api docker none)
    ! $peer || tp_readers+=(conmon)
    for capname in nocap cap; do
        bytes=$size
        [ "$capname" = nocap ] || bytes=$cap_size
        [ "$bytes" -gt 0 ] || continue
        log "throughput ($capname): $((bytes / line)) lines of $line bytes per container, $runs runs"
        for run in $(seq 1 "$runs"); do
            local k=${#tp_readers[@]} order=()
            for i in $(seq 0 $((k - 1))); do order+=("${tp_readers[$(((run - 1 + i) % k))]}"); done
            for r in "${order[@]}"; do
                [ "$r" != conmon ] || [ "$capname" = nocap ] || continue
                tp_run "$capname" "$r" "$run" "$bytes"
            done
        done
    done
    took "throughput ($size bytes without a cap, $cap_size under the cap, $runs runs)" "$t0"
}

# ---- 3. fidelity of live readers ----
cap=(--log-driver json-file --log-opt max-size=2m --log-opt max-file=2)
readers=(file api docker) # the table's order
fid_results=$work/fidelity.txt
: >"$fid_results"

# Numbered lines "<n> TAG ..." with 1 <= n <= EXPECTED in FILES: prints "lost duplicated other",
# other = lines that are not such a line (garbled, merged, foreign). TAG is an ERE for
# the whole second word ("fast", "stdoutx*|stderrx*").
count_stream() { # DIR EXPECTED TAG FILE...
    local dir=$1 expected=$2 tag=$3 total unique other
    shift 3
    cat -- "$@" </dev/null 2>/dev/null | LC_ALL=C awk -v t="$tag" -v n="$expected" -v o="$dir/other" '
        $2 ~ ("^(" t ")$") && $1 ~ /^[0-9]+$/ && $1 + 0 >= 1 && $1 + 0 <= n { print $1; next }
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

# ---- 4. the journald path ----
# One container per (scenario, path, run), into journald by one of two paths, in an
# order alternated from run to run. Scenarios (each after a sleep 1, as above):
#   flood: J numbered lines of LINE bytes as fast as it can (faster than journald
#          takes them: docklog's entries arrive late and carry SYSLOG_TIMESTAMP);
#   paced: J/5 numbered lines at 5000 a second, stdout and stderr in turn (as fast
#          as journald takes them: live entries).
# Paths:
#   docklog: json-file under the agent's default cap (max-size=2m, max-file=2), docklog
#            "source":"file" with journald on and files off, as the agent runs it for a
#            task that logs to journald only;
#   docker:  Docker's own journald driver (--log-driver journald), dockerd sending each
#            line itself.
# Per run, once the path is done (docklog exited after the container; Docker's driver:
# the container exited) and the last line is in the journal (or 30 s passed): time to
# the last entry (journald's receive time of the newest entry with the container's
# CONTAINER_NAME, minus the writer's start; and minus the writer's last line), entries
# lost and duplicated (journalctl -o cat for that name, counted as in 3), the fields the
# sender gives an entry (the export format's fields less journald's own "_" ones), and
# the CPU of journald, of dockerd and of docklog per 100,000 entries. Appends "scenario
# path run ttl_s lost dup other fields journald_ticks dockerd_ticks docklog_ticks lines
# tail_s" to $jd_results. journald's rate limit applies per systemd unit: in the test
# environment (no systemd as PID 1) neither path has one, so both deliver everything
# they send.
jd_results=$work/journald.txt
: >"$jd_results"
# The journald serving /run/systemd/journal/socket: the test environment's, else the
# one in this mount namespace (the systemd test node runs one of its own).
journald_pid() {
    local p
    p=$(cat "$DV_TEST_ENV_DIR/journald.pid" 2>/dev/null || true)
    if [ -n "$p" ] && [ -e "/proc/$p/stat" ]; then echo "$p"; return; fi
    for p in $(pidof systemd-journald); do
        [ "$(readlink "/proc/$p/root")" != / ] || { echo "$p"; return; }
    done
}
journald_ticks() { proc_ticks "$(journald_pid)"; }
journal_last() { # NAME → the newest entry for that CONTAINER_NAME, journal export format
    journalctl -q -o export -n 1 "CONTAINER_NAME=$1" 2>/dev/null || true
}
journald_run() { # SCENARIO PATH RUN
    local scenario=$1 path=$2 run=$3 name="$prefix-jd-$1-$2-$3" dir="$work/jd-$1-$2-$3"
    local cid jd0 dd0 jd1 dd1 dpid rc=0 ticks=0 last started finished deadline
    local lines=$journald_lines tag=fast
    mkdir -p "$dir"
    local -a writer=(sleep 1 -- fast "$lines" "$line" -- sleep 1)
    if [ "$scenario" = paced ]; then
        lines=$((journald_lines / 5)) tag='stdoutx*|stderrx*' # the padding joins the tag
        writer=(sleep 1 -- lines "$lines" 5000 "$line" -- sleep 1)
    fi
    jd0=$(journald_ticks) dd0=$(dockerd_ticks)
    if [ "$path" = docklog ]; then
        cid=$(docker run -d --name "$name" --label io.dockvisor.test=bench "${cap[@]}" "$image" "${writer[@]}")
        cids+=("$cid")
        config "$dir" "$cid" "$name" only file
        /usr/bin/time -f '%e %U %S' -o "$dir/time" "$docklog" "$dir/docklog.json" \
            </dev/null 2>"$dir/docklog.log" &
        dpid=$!
        pids+=("$dpid")
        wait "$dpid" || rc=$?
        pids=()
        [ "$rc" = 0 ] || log "$name: docklog ended with $rc: $(tail -3 "$dir/docklog.log")"
        ticks=$(time_ticks "$dir/time")
    else
        cid=$(docker run -d --name "$name" --label io.dockvisor.test=bench --log-driver journald \
            "$image" "${writer[@]}")
        cids+=("$cid")
    fi
    [ "$(docker wait "$cid")" = 0 ] || die "$name: the container failed"
    started=$(docker inspect -f '{{.State.StartedAt}}' "$cid")
    finished=$(docker inspect -f '{{.State.FinishedAt}}' "$cid")
    deadline=$((SECONDS + 30))
    # (into a file first: grep -q ending the pipe early would fail it under pipefail)
    until journal_last "$name" >"$dir/last" && grep -q "^MESSAGE=$lines " "$dir/last" ||
        [ "$SECONDS" -ge "$deadline" ]; do
        sleep 0.2
    done
    jd1=$(journald_ticks) dd1=$(dockerd_ticks)
    last=$(awk -F= '$1 == "__REALTIME_TIMESTAMP" { print $2 }' "$dir/last")
    local fields ttl tail lost dup other
    fields=$(grep -c '^[A-Z]' "$dir/last" || true)
    ttl=$(awk -v a="$(($(ns_of "$started") + 1000000000))" -v b="${last:-0}" \
        'BEGIN { if (b == 0) print "-"; else printf "%.2f", (b * 1000 - a) / 1e9 }')
    # After the writer's last line (it sleeps 1 s before it exits): the delivery's own
    # delay, apart from how fast the writer went.
    tail=$(awk -v a="$(($(ns_of "$finished") - 1000000000))" -v b="${last:-0}" \
        'BEGIN { if (b == 0) print "-"; else printf "%.3f", (b * 1000 - a) / 1e9 }')
    journalctl -q -o cat "CONTAINER_NAME=$name" >"$dir/out" 2>/dev/null || true
    read -r lost dup other < <(count_stream "$dir" "$lines" "$tag" "$dir/out")
    docker rm -f "$cid" >/dev/null
    cids=()
    echo "$scenario $path $run $ttl $lost $dup $other $fields $((jd1 - jd0)) $((dd1 - dd0)) $ticks $lines $tail" >>"$jd_results"
    log "journald $scenario run $run $path: last entry after $ttl s ($tail s after the last line), lost $lost, dup $dup, $fields fields per entry"
    [ -n "${DV_BENCH_KEEP:-}" ] || rm -rf "$dir"
}
journald() {
    local run scenario t0=$SECONDS
    [ "$journald_lines" -gt 0 ] || return 0
    [ -n "$(journald_pid)" ] || die "journald: no systemd-journald serving this machine's socket"
    log "journald: flood of $journald_lines lines, $((journald_lines / 5)) paced at 5000/s, $line bytes each, $runs runs"
    for scenario in flood paced; do
        for run in $(seq 1 "$runs"); do
            if [ $((run % 2)) = 1 ]; then
                journald_run "$scenario" docklog "$run"
                journald_run "$scenario" docker "$run"
            else
                journald_run "$scenario" docker "$run"
                journald_run "$scenario" docklog "$run"
            fi
        done
    done
    took "journald ($journald_lines + $((journald_lines / 5)) lines, $runs runs)" "$t0"
}

want memory && memory
want throughput && throughput
want fidelity && fidelity
want journald && journald

# ---- tables ----
# An awk function for the tables: the median of a space-separated LIST of numbers, "-"
# when it is empty or "-" (a reader with no such figure).
awk_median='
        function median(list,   a, n, i, j, t) {
            n = split(list, a, " ")
            if (n == 0 || a[1] == "-") return "-"
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }'
mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
machine="$(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
! $peer || machine="$machine, podman $(podman version -f '{{.Client.Version}}' 2>/dev/null), conmon $(conmon --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
printf '\ndocklog benchmark on %s\n\n' "$machine"
if want memory; then
    printf 'docklog memory, %d processes following %d logging containers (files + journald)\n' "$n" "$n"
    printf '  %-6s %12s %12s %12s\n' "" "min" "avg" "max"
    printf '  %-6s %12s %12s %12s\n' "RSS" "$(mib "$rss_min")" "$(mib "$rss_avg")" "$(mib "$rss_max")"
    printf '  %-6s %12s %12s %12s   (all %d together: %s PSS)\n' "PSS" "$(mib "$pss_min")" \
        "$(mib "$pss_avg")" "$(mib "$pss_max")" "$n" "$(mib "$pss_sum")"
    printf '  (%s lines reached the files during the 20 s)\n\n' "$lines_written"
fi
# Medians per (cap, reader): "cap reader runs ttlb_s writer_s lost dup other reader_s/GB
# dockerd_s/GB rss_kb pss_kb failed_runs gaps"
tp_medians=$work/throughput-medians.txt
: >"$tp_medians"
if [ -s "$tp_results" ]; then
    awk -v hz="$hz" -v size="$size" -v cap_size="$cap_size" "$awk_median"'
        {
            k = $1 " " $2
            if (!(k in runs)) order[++nk] = k
            runs[k]++
            gb = ($1 == "cap" ? cap_size : size) / 1e9
            for (f = 4; f <= 13; f++) if (f != 6) col[k, f] = col[k, f] " " $f
            rcpu[k] = rcpu[k] " " $10 / hz / gb; dcpu[k] = dcpu[k] " " $11 / hz / gb
            if ($14 != 0) failed[k]++
            gaps[k] = gaps[k] " " $15
        }
        END {
            for (i = 1; i <= nk; i++) {
                k = order[i]
                print k, runs[k], median(col[k, 4]), median(col[k, 5]), median(col[k, 7]),
                    median(col[k, 8]), median(col[k, 9]), median(rcpu[k]), median(dcpu[k]),
                    median(col[k, 12]), median(col[k, 13]), failed[k] + 0, median(gaps[k])
            }
        }' "$tp_results" >"$tp_medians"
    printf 'throughput, live: one container per reader and run, writing as fast as it can; medians of %d runs\n' "$runs"
    [ "$size" -eq 0 ] || printf '  no cap (max-size unset): %s lines of %s bytes (%s bytes)\n' \
        "$((size / line))" "$line" "$size"
    [ "$cap_size" -eq 0 ] || printf '  under the cap (max-size=2m max-file=2): %s lines of %s bytes (%s bytes)\n' \
        "$((cap_size / line))" "$line" "$cap_size"
    printf '  docklog writes files only; dockerd is shared with whatever else runs on the machine\n\n'
    awk -v size="$size" -v cap_size="$cap_size" '
        BEGIN {
            name["file"] = "docklog (source file)"; name["api"] = "docklog (source api)"
            name["docker"] = "docker logs -f"; name["none"] = "no reader (dockerd alone)"
            name["conmon"] = "conmon (podman, k8s-file)"
            print "| log cap | reader | runs | last byte after (s) | writer took (s) | MB/s to the last byte | lost | duplicated | reader CPU s/GB | dockerd CPU s/GB | reader + dockerd s/GB | reader peak RSS | reader peak PSS | notes |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        }
        function mb(kb) { return kb == "-" || kb == 0 ? "-" : sprintf("%.2f MiB", kb / 1024) }
        {
            bytes = $1 == "cap" ? cap_size : size
            notes = ""
            if ($13) notes = notes $13 " runs ended with an error; "
            if ($8 != "-" && $8 > 0) notes = notes $8 " garbled/other lines (median); "
            if ($14 != "-") notes = notes "docklog reported " $14 " gaps (median); "
            dockerd = sprintf("%.2f", $10); sum = $9 + $10
            if ($2 == "conmon") {
                # dockerd is not on podman'"'"'s path: what it spent is the background load
                dockerd = "(" dockerd ")"; sum = $9
                notes = notes "dockerd in brackets: not on podman'"'"'s path, the background load; "
            }
            sub(/; $/, "", notes)
            printf "| %s | %s | %d | %s | %s | %s | %s | %s | %.2f | %s | %.2f | %s | %s | %s |\n",
                $1 == "cap" ? "2m x 2" : "unset", name[$2], $3, $4, $5,
                $4 == "-" || $4 <= 0 ? "-" : sprintf("%.1f", bytes / $4 / 1e6), $6, $7,
                $9, dockerd, sum, mb($11), mb($12), notes
        }' "$tp_medians"
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
    done | awk "$awk_median"'
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
# Medians per scenario and path: "scenario path runs lines ttl_s lost dup other fields
# journald_s dockerd_s docklog_s tail_s" (CPU in s per 100,000 entries)
jd_medians=$work/journald-medians.txt
: >"$jd_medians"
if [ -s "$jd_results" ]; then
    awk -v hz="$hz" "$awk_median"'
        {
            k = $1 " " $2
            if (!(k in runs)) order[++nk] = k
            runs[k]++; lines[k] = $12
            for (f = 4; f <= 8; f++) col[k, f] = col[k, f] " " $f
            for (f = 9; f <= 11; f++) col[k, f] = col[k, f] " " $f / hz / ($12 / 100000)
            col[k, 13] = col[k, 13] " " $13
        }
        END {
            for (i = 1; i <= nk; i++) {
                k = order[i]
                printf "%s %d %d", k, runs[k], lines[k]
                for (f = 4; f <= 11; f++) printf " %s", median(col[k, f])
                printf " %s\n", median(col[k, 13])
            }
        }' "$jd_results" >"$jd_medians"
    printf 'journald path: one container per scenario, path and run; medians of %d runs\n' "$runs"
    printf '  flood: %s lines of %s bytes as fast as it can; paced: %s lines at 5000/s\n' \
        "$journald_lines" "$line" "$((journald_lines / 5))"
    printf '  docklog: json-file max-size=2m max-file=2, "source":"file", journald only; docker: --log-driver journald\n\n'
    awk '
        BEGIN {
            name["docklog"] = "docklog (json-file, cap 2m x 2)"; name["docker"] = "Docker'"'"'s journald driver"
            print "| scenario | path | runs | last entry after (s) | after the last line (s) | entries/s to the last | lost | duplicated | fields per entry | journald CPU s/100k entries | dockerd CPU s/100k | docklog CPU s/100k | all three s/100k |"
            print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        }
        {
            printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s | %.2f |\n", $1, name[$2], $3, $5, $13,
                $5 == "-" || $5 <= 0 ? "-" : sprintf("%.0f", $4 / $5), $6, $7, $9, $10, $11,
                $2 == "docker" ? "-" : sprintf("%.2f", $12), $10 + $11 + $12
        }' "$jd_medians"
    printf '\n'
fi
# ---- the one table the issue's targets are read off ----
med() { # CAP READER FIELD (of $tp_medians) → the value, or -
    awk -v c="$1" -v r="$2" -v f="$3" '$1 == c && $2 == r { v = $f } END { print v == "" ? "-" : v }' "$tp_medians"
}
cpu_sum() { # CAP READER → reader + dockerd CPU s/GB
    awk -v a="$(med "$1" "$2" 9)" -v b="$(med "$1" "$2" 10)" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f\n", a + b }'
}
cpu_added() { # READER → reader + dockerd CPU s/GB less dockerd's own writing (no reader), no cap
    awk -v s="$(cpu_sum nocap "$1")" -v w="$(med nocap none 10)" 'BEGIN { if (s == "-" || w == "-") print "-"; else printf "%.2f\n", s - w }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
if [ -s "$tp_medians" ] || [ -s "$jd_medians" ] || want memory; then
    printf 'summary, %s\n\n' "$machine"
    row what docklog "peer, same run" "docklog / peer" target
    row --- ---: ---: ---: ---
    if [ -s "$tp_medians" ]; then
        gbs=$(awk -v s="$size" 'BEGIN { printf "%g GB", s / 1e9 }')
        cgbs=$(awk -v s="$cap_size" 'BEGIN { printf "%g GB", s / 1e9 }')
        for src in file api; do
            [ "$size" -eq 0 ] || row "CPU s/GB, reader + dockerd, no cap, $gbs (docklog source $src)" \
                "$(cpu_sum nocap "$src")" "$(cpu_sum nocap docker) (docker logs -f)" \
                "$(ratio "$(cpu_sum nocap "$src")" "$(cpu_sum nocap docker)")" "<= 0.20"
        done
        [ "$cap_size" -eq 0 ] || row "CPU s/GB, reader + dockerd, cap 2m x 2, $cgbs (docklog source file)" \
            "$(cpu_sum cap file)" "$(cpu_sum cap docker) (docker logs -f)" \
            "$(ratio "$(cpu_sum cap file)" "$(cpu_sum cap docker)")" "<= 0.20"
        [ "$size" -eq 0 ] || row "dockerd CPU s/GB writing json-file with no reader, no cap (in both sums above)" \
            "$(med nocap none 10)" "$(med nocap none 10)" - -
        # What reading costs: the sums above less dockerd's own writing, which no reader
        # can take away (it alone can be more than 0.2 of the peer's sum).
        for src in file api; do
            [ "$size" -eq 0 ] || row "CPU s/GB the reader adds (reader + dockerd, less dockerd writing alone), no cap, $gbs (docklog source $src)" \
                "$(cpu_added "$src")" "$(cpu_added docker) (docker logs -f)" \
                "$(ratio "$(cpu_added "$src")" "$(cpu_added docker)")" "<= 0.20"
        done
        for src in file api; do
            [ "$size" -eq 0 ] || row "time to the last byte (s), no cap, $gbs (docklog source $src)" \
                "$(med nocap "$src" 4)" "$(med nocap docker 4) (docker logs -f)" \
                "$(ratio "$(med nocap "$src" 4)" "$(med nocap docker 4)")" "<= 0.50"
        done
        for src in file api; do
            [ "$cap_size" -eq 0 ] || row "lines lost / duplicated, cap 2m x 2, $cgbs at full speed (docklog source $src)" \
                "$(med cap "$src" 6) / $(med cap "$src" 7)" \
                "$(med cap docker 6) / $(med cap docker 7) (docker logs -f)" - "0 / 0 (delivered whole)"
        done
        [ "$size" -eq 0 ] || row "lines lost / duplicated, no cap, $gbs (docklog source file)" \
            "$(med nocap file 6) / $(med nocap file 7)" \
            "$(med nocap docker 6) / $(med nocap docker 7) (docker logs -f)" - "0 / 0"
    fi
    if [ -s "$jd_medians" ]; then
        jmed() { # SCENARIO PATH FIELD (of $jd_medians), numbers to 2 decimals
            awk -v s="$1" -v p="$2" -v f="$3" '$1 == s && $2 == p { v = $f }
                END { print v == "" ? "-" : v ~ /\./ ? sprintf("%.2f", v) : v }' "$jd_medians"
        }
        jsum() { awk -v s="$1" -v p="$2" '$1 == s && $2 == p { printf "%.2f\n", $10 + $11 + $12 }' "$jd_medians"; }
        drv="(Docker's journald driver)"
        for sc in flood paced; do
            what="journald, $sc, $(jmed "$sc" docklog 4) lines"
            row "$what: time to the last entry (s)" "$(jmed "$sc" docklog 5)" "$(jmed "$sc" docker 5) $drv" \
                "$(ratio "$(jmed "$sc" docklog 5)" "$(jmed "$sc" docker 5)")" "<= 1.00"
            row "$what: last entry after the writer's last line (s)" "$(jmed "$sc" docklog 13)" \
                "$(jmed "$sc" docker 13) $drv" - -
            row "$what: journald's own CPU s per 100,000 entries" "$(jmed "$sc" docklog 10)" \
                "$(jmed "$sc" docker 10) $drv" "$(ratio "$(jmed "$sc" docklog 10)" "$(jmed "$sc" docker 10)")" "<= 1.00"
            row "$what: fields the sender gives the last entry" "$(jmed "$sc" docklog 9)" "$(jmed "$sc" docker 9) $drv" - -
            row "$what: lines lost / duplicated in the journal" "$(jmed "$sc" docklog 6) / $(jmed "$sc" docklog 7)" \
                "$(jmed "$sc" docker 6) / $(jmed "$sc" docker 7) $drv" - "0 / 0"
            row "$what: CPU s per 100,000 entries, journald + dockerd + docklog" "$(jsum "$sc" docklog)" \
                "$(jsum "$sc" docker) $drv" "$(ratio "$(jsum "$sc" docklog)" "$(jsum "$sc" docker)")" -
        done
    fi
    if want memory; then
        row "PSS per docklog, $n following $n logging containers (avg / max)" \
            "$(mib "$pss_avg") / $(mib "$pss_max")" - - "<= 0.2 MiB"
        row "RSS per docklog, same (avg / max)" "$(mib "$rss_avg") / $(mib "$rss_max")" - - "<= 1 MiB"
    fi
    if [ -s "$tp_medians" ] && [ "$size" -gt 0 ]; then
        kb_mib() { if [ "$1" = - ] || [ "$1" = 0 ]; then echo -; else mib "$1"; fi; }
        peer_rss=- peer_pss=-
        if $peer; then
            peer_rss="$(kb_mib "$(med nocap conmon 11)") (conmon)"
            peer_pss="$(kb_mib "$(med nocap conmon 12)") (conmon)"
        fi
        row "peak PSS while streaming $gbs, no cap (docklog source file)" \
            "$(kb_mib "$(med nocap file 12)")" "$peer_pss" \
            "$(ratio "$(med nocap file 12)" "$(med nocap conmon 12)")" -
        row "peak RSS while streaming $gbs, no cap (docklog source file)" \
            "$(kb_mib "$(med nocap file 11)")" "$peer_rss" \
            "$(ratio "$(med nocap file 11)" "$(med nocap conmon 11)")" -
        if $peer; then
            row "CPU s/GB of the whole log path, no cap: docklog + dockerd vs conmon (podman has no dockerd)" \
                "$(cpu_sum nocap file)" "$(med nocap conmon 9) (conmon)" \
                "$(ratio "$(cpu_sum nocap file)" "$(med nocap conmon 9)")" -
            row "CPU s/GB of the helper alone, no cap: docklog vs conmon" \
                "$(med nocap file 9)" "$(med nocap conmon 9) (conmon)" \
                "$(ratio "$(med nocap file 9)" "$(med nocap conmon 9)")" -
            row "time to the last byte (s), no cap, $gbs: docklog vs conmon" \
                "$(med nocap file 4)" "$(med nocap conmon 4) (conmon)" \
                "$(ratio "$(med nocap file 4)" "$(med nocap conmon 4)")" -
        fi
    fi
    printf '\n'
fi
printf 'time taken:'
printf ' %s;' "${timings[@]}"
printf '\n'
