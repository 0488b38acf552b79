#!/usr/bin/env bash
# Benchmark (not a test) of recovery: time from starting the agent to its READY=1
# (systemd's notion of "started": every task recovered, the API serving) with N
# running tasks, each with its docklog helper and a host port, after a clean stop
# (SIGTERM) and after kill -9. READY=1 is caught on a NOTIFY_SOCKET of our own
# (scripts/bench/notify_listen.c, compiled here). Prints a table:
#   tasks, how the agent went, READY=1 after (min / median / max of the runs), the
#   agent's own "recovery: ... in X" figure (median), and its RSS once ready.
#
# usage: scripts/bench/recovery.sh [-n "50 200"] [-r RUNS]
# Needs the test environment (scripts/test-env.sh up) and a build (build/dockvisor,
# build/docklog, or $DOCKVISOR_BIN). Creates only dvbench-recovery-<pid>-* containers,
# its own data dir and socket under /tmp, and removes all of it at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

sizes="50 200"
runs=5
while getopts "n:r:" opt; do
    case $opt in
    n) sizes=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) die "usage: $0 [-n \"SIZES\"] [-r RUNS]" ;;
    esac
done
dockvisor=${DOCKVISOR_BIN:-$DV_ROOT/build/dockvisor}
image=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
[ -x "$dockvisor" ] || die "no dockvisor at $dockvisor (build first or set DOCKVISOR_BIN)"
docker_answers || die "dockerd does not answer (scripts/test-env.sh up)"
command -v jq >/dev/null || die "needs jq"

prefix=dvbench-recovery-$$
work=$(mktemp -d /tmp/dv-bench-recovery.XXXXXX)
agent_pid=
listener_pid=
node_id=
export DOCKVISOR_ADDR="unix://$work/agent.sock"

cleanup() {
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null || true
    if [ -n "$node_id" ]; then
        ids=$(docker ps -aq --filter "label=io.dockvisor.node_id=$node_id")
        [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    fi
    # helpers of our data dir (they also end by themselves once their container is gone)
    for p in $(pgrep -x docklog || true); do
        grep -q "$work/" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/notify_listen" "$DV_ROOT/scripts/bench/notify_listen.c" ||
    die "cannot build notify_listen (needs a C compiler)"

jq -n --arg d "$work/data" --arg s "$work/agent.sock" \
    '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: "25000-25999",
      docker: {gc: {image: false}}}' >"$work/agent.json"

now_ns() { date +%s%N; }

# start_agent [notify]: returns once the API answers; with "notify", also records
# the READY=1 time in $ready_ns
start_agent() {
    local notify=${1:-}
    if [ -n "$notify" ]; then
        : >"$work/notify.log"
        "$work/notify_listen" "$work/notify.sock" >"$work/notify.log" 2>&1 &
        listener_pid=$!
        wait_for 5 test -S "$work/notify.sock" || die "notify listener"
        start_ns=$(now_ns)
        NOTIFY_SOCKET="$work/notify.sock" "$dockvisor" agent -config "$work/agent.json" \
            </dev/null >>"$work/agent.log" 2>&1 &
        agent_pid=$!
        wait_for 600 grep -q " READY=1$" "$work/notify.log" || die "no READY=1 (see $work/agent.log)"
        ready_ns=$(awk '/ READY=1$/ {print $1; exit}' "$work/notify.log")
        kill "$listener_pid" 2>/dev/null || true
        wait "$listener_pid" 2>/dev/null || true
        listener_pid=
    else
        "$dockvisor" agent -config "$work/agent.json" </dev/null >>"$work/agent.log" 2>&1 &
        agent_pid=$!
    fi
    wait_for 60 "$dockvisor" node-status || die "the agent does not answer (see $work/agent.log)"
    node_id=$("$dockvisor" node-status -json | jq -r .node_id)
}

stop_agent() { # SIGTERM | SIGKILL
    kill "-$1" "$agent_pid"
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=
}

running_count() { "$dockvisor" status -json | jq '[.[] | select(.state == "running")] | length'; }

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# Go duration (as the agent logs it: 850.2ms, 1.25s, 950µs) → ns
duration_ns() {
    awk '{v = $1; f = 1e9
          if (v ~ /ms$/) f = 1e6; else if (v ~ /(µs|us)$/) f = 1e3; else if (v ~ /ns$/) f = 1
          gsub(/[^0-9.]/, "", v); printf "%.0f\n", v * f}'
}
ms() { awk -v ns="$1" 'BEGIN {printf "%.0f", ns / 1e6}'; }

results=()
start_agent
have=0
for n in $sizes; do
    log "submitting tasks up to $n"
    while [ "$have" -lt "$n" ]; do
        have=$((have + 1))
        jq -n --arg n "$prefix-$have" --arg i "$image" \
            '{name: $n, config: {image: $i, args: ["sleep"], ports: ["p"]}, network: {ports: {p: {}}},
              kill_timeout: "1s", restart: {attempts: 0}}' >"$work/spec.json"
        "$dockvisor" run -detach "$work/spec.json" >/dev/null
    done
    wait_for 900 sh -c "[ \$(DOCKVISOR_ADDR=$DOCKVISOR_ADDR '$dockvisor' status -json |
        jq '[.[] | select(.state == \"running\")] | length') -ge $n ]" ||
        die "only $(running_count) of $n tasks are running"
    for how in SIGTERM SIGKILL; do
        : >"$work/ready.txt"
        : >"$work/recovery.txt"
        rss=
        for r in $(seq 1 "$runs"); do
            stop_agent "$how"
            lines_before=$(wc -l <"$work/agent.log")
            start_agent notify
            echo $((ready_ns - start_ns)) >>"$work/ready.txt"
            tail -n +"$((lines_before + 1))" "$work/agent.log" |
                sed -n 's/.*recovery: [0-9]* tasks in \([^:]*\):.*/\1/p' | duration_ns >>"$work/recovery.txt"
            [ "$(running_count)" = "$n" ] || die "after $how: $(running_count) of $n running"
            rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
        done
        min=$(sort -n "$work/ready.txt" | head -1)
        max=$(sort -n "$work/ready.txt" | tail -1)
        med=$(median <"$work/ready.txt")
        rec=$(median <"$work/recovery.txt")
        results+=("$(printf '%5s  %-8s  %6s / %6s / %6s ms  %9s ms  %6s MiB' "$n" "$how" \
            "$(ms "$min")" "$(ms "$med")" "$(ms "$max")" "$(ms "$rec")" "$((rss / 1024))")")
        log "$n tasks after $how: READY=1 in $(ms "$med") ms (median of $runs)"
    done
done

echo
echo "recovery benchmark: agent start → READY=1, $runs runs each ($(nproc) cores, Docker $(docker version -f '{{.Server.Version}}'))"
printf '%5s  %-8s  %-28s  %12s  %s\n' tasks "agent" "READY=1 after (min/med/max)" "of which recovery" "RSS"
for line in "${results[@]}"; do echo "$line"; done
