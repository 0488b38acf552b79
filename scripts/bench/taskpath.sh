#!/usr/bin/env bash
# Benchmark (not a test) of the task path (issue 16, item 4): dockvisor's CLI and agent
# against plain Docker, both measured in the same run, on the same image and command
# (the payload's `pause`: PID 1 with a SIGTERM handler, so it exits at once on SIGTERM
# and neither side's stop waits out a grace period; both sides get the same one anyway,
# kill_timeout 1s and `docker stop -t 1`). Docker's side gets the log options the agent
# sets (json-file, max-size=2m, max-file=2); not the rest of what the agent adds (binds
# of the task dirs, memory and CPU limits, labels, env), which is part of its cost.
#   1. start: `dockvisor run SPEC`, which submits the task and returns once it is
#      running (it follows the task's event stream), vs `docker run -d`, which returns
#      once the container is started; each then checked once (`dockvisor status -json
#      ID` says running; the Engine says State.Running, asked with curl on the Engine
#      socket, the call `docker inspect` makes, so that the check does not charge the
#      docker CLI's start-up to Docker); median of RUNS. The starts of 4 are timed too,
#      with `run -detach` and `status -json` asked every 10 ms until running (a second
#      row, no target): on 2 cores those ~200 processes a second compete with dockerd's
#      start, which alone made that way 1.4-1.5x `docker run -d` in earlier runs;
#   2. CONC submissions at once (all in the background) until all are running, vs CONC
#      `docker run -d` at once; median of CONC_RUNS;
#   3. `dockvisor stop ID` + `dockvisor rm ID` vs `docker stop -t 1` + `docker rm`, on
#      the task / container just started in 1 (so each is fresh and running, and nothing
#      else runs); median of RUNS;
#   4. `dockvisor rm -force ID` vs `docker rm -f` on a running task / container; median
#      of RUNS;
#   5. the agent's CPU (utime + stime of /proc/PID/stat, all its threads) per start and
#      per stop + rm, summed over the runs of 1 and 3 (0 other tasks) and divided by
#      RUNS. Each window runs from the command's start to 0.3 s after it is done (work
#      the agent does once the CLI has its answer counts too), and includes the status
#      requests of the polling in 1.
# Odd runs do dockvisor first, even runs Docker first. Prints one table:
# `| what | dockvisor | docker, same run | ratio | target |` (ratio = dockvisor / docker;
# targets: <= 1.1 for 1-3, <= 1.2 for 4).
#
# usage: scripts/bench/taskpath.sh [-r RUNS] [-c CONC] [-R CONC_RUNS]
#   -r  runs of 1, 3 and 4 (default 20); -c concurrent submissions in 2 (default 100);
#   -R  runs of 2 (default 1).
# Full size: the defaults (a few minutes on 2 idle cores). A smoke run: -r 3 -c 10.
# Needs the test environment (scripts/test-env.sh up: dockerd and the payload image
# dockvisor-test/payload:1, or $DV_TEST_IMAGE_PAYLOAD) and a build (build/dockvisor and
# build/docklog, or $DOCKVISOR_BIN). Starts its own agent (data dir, socket and config
# under /tmp, bind_address 127.0.0.1, no ports), creates only dvbench-taskpath-<pid>-*
# tasks and containers, and removes all of it at the end, also when interrupted.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

runs=20
conc=100
conc_runs=1
usage="usage: $0 [-r RUNS] [-c CONC] [-R CONC_RUNS]"
while getopts "r:c:R:" opt; do
    case $opt in
    r) runs=$OPTARG ;;
    c) conc=$OPTARG ;;
    R) conc_runs=$OPTARG ;;
    *) die "$usage" ;;
    esac
done
[ "$#" -eq "$((OPTIND - 1))" ] || die "$usage"
for v in "$runs" "$conc" "$conc_runs"; do
    if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then die "$usage (whole numbers, at least 1)"; fi
done
dockvisor=${DOCKVISOR_BIN:-$DV_ROOT/build/dockvisor}
image=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
[ -x "$dockvisor" ] || die "no dockvisor at $dockvisor (build first or set DOCKVISOR_BIN)"
docker_answers || die "dockerd does not answer (scripts/test-env.sh up)"
command -v jq >/dev/null || die "needs jq"
docker image inspect "$image" >/dev/null 2>&1 || die "no image $image: run scripts/test-env.sh up"

prefix=dvbench-taskpath-$$
work=$(mktemp -d /tmp/dv-bench-taskpath.XXXXXX)
agent_pid=
node_id=
bg_pids=() # concurrent submissions in flight
hz=$(getconf CLK_TCK)
export DOCKVISOR_ADDR="unix://$work/agent.sock"
# the log options the agent gives its containers (see `dockvisor validate`)
docker_opts=(--log-driver json-file --log-opt max-size=2m --log-opt max-file=2)

# helpers of our data dir (they also end by themselves once their container is gone)
our_helpers() {
    local p
    for p in $(pgrep -x 'docklog(-tls)?' || true); do
        ! grep -qF "$work/" "/proc/$p/cmdline" 2>/dev/null || echo "$p"
    done
}
# our Docker-side containers, and the agent's (by its node id)
our_containers() {
    docker ps -aq --filter "name=^$prefix-"
    [ -z "$node_id" ] || docker ps -aq --filter "label=io.dockvisor.node_id=$node_id"
}
cleanup() {
    local ids p i
    trap - INT TERM
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    # twice: a `docker run` cut short may still have its container created meanwhile
    for i in 1 2; do
        ids=$(our_containers 2>/dev/null | sort -u || true)
        # shellcheck disable=SC2086 # one id a word
        [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
        [ "$i" = 2 ] || sleep 1
    done
    for i in 1 2 3 4 5; do
        p=$(our_helpers)
        [ -n "$p" ] || break
        # shellcheck disable=SC2086 # one pid a word
        kill -KILL $p 2>/dev/null || true
        sleep 0.1
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

jq -n --arg d "$work/data" --arg s "$work/agent.sock" \
    '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: "25650-25659",
      docker: {gc: {image: false}}}' >"$work/agent.json"

now_us() { echo "${EPOCHREALTIME/./}"; }
# timed FILE COMMAND...: run COMMAND, append how long it took (us) to FILE; its status
timed() {
    local file=$1 t0 rc=0
    shift
    t0=$(now_us)
    "$@" || rc=$?
    echo $(($(now_us) - t0)) >>"$file"
    return "$rc"
}
agent_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
median() { sort -n | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us / 1000}'; }

"$dockvisor" agent -config "$work/agent.json" </dev/null >>"$work/agent.log" 2>&1 &
agent_pid=$!
wait_for 60 "$dockvisor" node-status || die "the agent does not answer (see $work/agent.log)"
node_id=$("$dockvisor" node-status -json | jq -r .node_id)

n=0 # tasks and containers started one at a time, for their names
spec() { # NAME → path of its spec file
    jq -n --arg n "$prefix-$1" --arg i "$image" \
        '{name: $n, config: {image: $i, args: ["pause"]}, kill_timeout: "1s", restart: {attempts: 0}}' \
        >"$work/spec-$1.json"
    echo "$work/spec-$1.json"
}
dv_state() { "$dockvisor" status -json "$1" | jq -r .state; }
dk_running() { # NAME → true | false
    curl -sf --max-time 10 --unix-socket "$DV_DOCKER_SOCK" "http://d/containers/$1/json" |
        jq -r .State.Running
}
# dv_start SPEC_FILE → prints the task's id once it is running: `dockvisor run` returns
# then (it prints "task ID submitted", then the task's events)
dv_start() {
    local id
    id=$(timeout 60 "$dockvisor" run "$1" 2>/dev/null | awk '/^task .* submitted$/ {print $2}') ||
        die "dockvisor run failed"
    [ -n "$id" ] || die "dockvisor run printed no task id"
    [ "$(dv_state "$id")" = running ] || die "task $id is $(dv_state "$id") after \`dockvisor run\` returned"
    echo "$id"
}
# dv_start_detached SPEC_FILE → the same through `run -detach`, then `status -json`
# every 10 ms until running (a 60 s limit)
dv_start_detached() {
    local id deadline=$((SECONDS + 60))
    id=$("$dockvisor" run -detach "$1") || die "dockvisor run -detach failed"
    until [ "$(dv_state "$id")" = running ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "task $id is $(dv_state "$id") after 60 s"
        sleep 0.01
    done
    echo "$id"
}
dk_start() { # N → the name of container dN once it is running
    local name=$prefix-d$1 deadline=$((SECONDS + 60))
    docker run -d --name "$name" "${docker_opts[@]}" "$image" pause >/dev/null || die "docker run failed"
    until [ "$(dk_running "$name")" = true ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "container $name not running after 60 s"
        sleep 0.01
    done
    echo "$name"
}
dv_destroy() { "$dockvisor" stop "$1" >/dev/null && "$dockvisor" rm "$1" >/dev/null; }
dk_destroy() { docker stop -t 1 "$1" >/dev/null && docker rm "$1" >/dev/null; }
# an order for run R: dockvisor first on odd runs, Docker first on even ones
order() { if [ $(($1 % 2)) = 1 ]; then echo "dv dk"; else echo "dk dv"; fi; }

# agent's CPU at rest, for the notes (ticks over 3 s)
t=$(agent_ticks)
sleep 3
idle_ms=$(awk -v t="$(($(agent_ticks) - t))" -v hz="$hz" 'BEGIN {printf "%.0f", t * 1000 / hz / 3}')

# ---- 1 and 3 (and 5): start, then stop + rm of what was started ----
: >"$work/start.dv" && : >"$work/start.dk" && : >"$work/destroy.dv" && : >"$work/destroy.dk"
cpu_start=0
cpu_destroy=0
log "start, stop + rm: $runs runs"
for r in $(seq 1 "$runs"); do
    for side in $(order "$r"); do
        if [ "$side" = dv ]; then
            n=$((n + 1)) && f=$(spec "v$n") # the spec is written before the clock starts
            c0=$(agent_ticks)
            t0=$(now_us)
            id=$(dv_start "$f")
            echo $(($(now_us) - t0)) >>"$work/start.dv"
            sleep 0.3
            c1=$(agent_ticks)
            cpu_start=$((cpu_start + c1 - c0))
            timed "$work/destroy.dv" dv_destroy "$id" || die "dockvisor stop/rm $id failed"
            sleep 0.3
            cpu_destroy=$((cpu_destroy + $(agent_ticks) - c1))
        else
            t0=$(now_us)
            n=$((n + 1)) && name=$(dk_start "$n")
            echo $(($(now_us) - t0)) >>"$work/start.dk"
            sleep 0.3
            timed "$work/destroy.dk" dk_destroy "$name" || die "docker stop/rm $name failed"
            sleep 0.3
        fi
    done
done
left=$("$dockvisor" status -json | jq length)
[ "$left" = 0 ] || die "$left tasks left after stop + rm"

# ---- 2: CONC at once ----
dv_running_count() { "$dockvisor" status -json | jq '[.[] | select(.state == "running")] | length'; }
dk_running_count() { # running containers named PREFIX-cR-*
    curl -sfG --max-time 10 --unix-socket "$DV_DOCKER_SOCK" http://d/containers/json \
        --data-urlencode "filters={\"name\":[\"^$prefix-c$1-\"]}" | jq length
}
wait_all() { # SECONDS COUNT_FN ARG N
    local deadline=$((SECONDS + $1))
    until [ "$($2 "$3")" -ge "$4" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
: >"$work/conc.dv" && : >"$work/conc.dk"
for r in $(seq 1 "$conc_runs"); do
    for i in $(seq 1 "$conc"); do spec "c$r-$i" >/dev/null; done
    for side in $(order "$r"); do
        log "$conc at once ($side), run $r of $conc_runs"
        bg_pids=()
        if [ "$side" = dv ]; then
            t0=$(now_us)
            for i in $(seq 1 "$conc"); do
                "$dockvisor" run -detach "$work/spec-c$r-$i.json" >"$work/id-c$r-$i" 2>>"$work/conc.err" &
                bg_pids+=($!)
            done
            for p in "${bg_pids[@]}"; do wait "$p" || die "a dockvisor run -detach failed: $(cat "$work/conc.err")"; done
            bg_pids=()
            wait_all 600 dv_running_count "" "$conc" || die "only $(dv_running_count) of $conc tasks running"
            echo $(($(now_us) - t0)) >>"$work/conc.dv"
            cat "$work"/id-c"$r"-* | xargs -P 4 -n 1 "$dockvisor" rm -force >/dev/null ||
                die "dockvisor rm -force failed"
        else
            t0=$(now_us)
            for i in $(seq 1 "$conc"); do
                docker run -d --name "$prefix-c$r-$i" "${docker_opts[@]}" "$image" pause \
                    >/dev/null 2>>"$work/conc.err" &
                bg_pids+=($!)
            done
            for p in "${bg_pids[@]}"; do wait "$p" || die "a docker run -d failed: $(cat "$work/conc.err")"; done
            bg_pids=()
            wait_all 600 dk_running_count "$r" "$conc" || die "only $(dk_running_count "$r") of $conc containers running"
            echo $(($(now_us) - t0)) >>"$work/conc.dk"
            docker ps -aq --filter "name=^$prefix-c$r-" | xargs docker rm -f >/dev/null ||
                die "docker rm -f failed"
        fi
        sleep 1
    done
done

# ---- 4: rm -force of a running task ----
: >"$work/force.dv" && : >"$work/force.dk" && : >"$work/detached.dv" && : >"$work/detached.dk"
log "rm -force: $runs runs"
for r in $(seq 1 "$runs"); do
    for side in $(order "$r"); do
        if [ "$side" = dv ]; then
            n=$((n + 1)) && f=$(spec "v$n")
            t0=$(now_us)
            id=$(dv_start_detached "$f")
            echo $(($(now_us) - t0)) >>"$work/detached.dv"
            sleep 0.3
            timed "$work/force.dv" "$dockvisor" rm -force "$id" >/dev/null ||
                die "dockvisor rm -force $id failed"
        else
            t0=$(now_us)
            n=$((n + 1)) && name=$(dk_start "$n")
            echo $(($(now_us) - t0)) >>"$work/detached.dk"
            sleep 0.3
            timed "$work/force.dk" docker rm -f "$name" >/dev/null || die "docker rm -f $name failed"
        fi
        sleep 0.3
    done
done
left=$("$dockvisor" status -json | jq length)
[ "$left" = 0 ] || die "$left tasks left after rm -force"
[ -z "$(our_containers)" ] || die "containers left: $(our_containers | tr '\n' ' ')"

row() { # WHAT FILE_STEM TARGET
    local a b
    a=$(median <"$work/$2.dv")
    b=$(median <"$work/$2.dk")
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(ms "$a")" "$(ms "$b")" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')" "$3"
}
per_op() { awk -v t="$1" -v hz="$hz" -v n="$runs" 'BEGIN {printf "%.1f", t * 1000 / hz / n}'; }

echo
echo "task path benchmark: $runs runs (1, 3, 4), $conc at once x $conc_runs (2), medians; $(nproc) CPUs," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)," \
    "Docker $(docker version -f '{{.Server.Version}}'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
echo "image $image, command \`pause\` (exits on SIGTERM); kill_timeout 1s / docker stop -t 1; json-file max-size=2m max-file=2 on both sides;" \
    "agent CPU at rest: $idle_ms ms/s (in the CPU rows' 0.3 s windows too)"
echo
echo "| what | dockvisor | docker, same run | ratio | target |"
echo "| --- | ---: | ---: | ---: | --- |"
row "start until running (ms): \`run\` vs \`docker run -d\`, each + one state check" start "<= 1.1"
row "start until running (ms): \`run -detach\` + \`status\` every 10 ms vs \`docker run -d\` + State.Running" detached "-"
row "$conc at once until all running (ms)" conc "<= 1.1"
row "stop + rm (ms): \`stop\` + \`rm\` vs \`docker stop -t 1\` + \`docker rm\`" destroy "<= 1.1"
row "rm of a running task (ms): \`rm -force\` vs \`docker rm -f\`" force "<= 1.2"
printf '| agent CPU per start (ms), 0 other tasks | %s | - | - | - |\n' "$(per_op "$cpu_start")"
printf '| agent CPU per stop + rm (ms), 0 other tasks | %s | - | - | - |\n' "$(per_op "$cpu_destroy")"
