#!/usr/bin/env bash
# Benchmark (not a test) of recovery: time from starting the agent to its READY=1
# (systemd's notion of "started": every task recovered, the API serving) with N
# running tasks, each with its docklog helper (and, for the first tasks, a host port),
# caught on a NOTIFY_SOCKET of our own (scripts/bench/notify_listen.c, compiled here).
# For each task count of -n, RUNS runs each of three ways the agent went away:
#   SIGTERM   a clean stop, nothing changed meanwhile;
#   SIGKILL   kill -9, nothing changed meanwhile;
#   away      kill -9, then while no agent runs: EXITED% of the tasks' containers are
#             killed (docker kill: they exit) and the docklog helpers of another
#             KILLED% are killed (kill -9). The agent must notice both at recovery (the
#             restart policy restarts the containers, helpers are respawned); the table
#             also says when all N were running again.
# Then, with -H, a soak: the last task count is held for HOURS with churn (every CHURN
# seconds one task destroyed and one created), the agent's RSS, open fds and threads
# sampled every INTERVAL seconds, and the trend printed.
# Prints one table: tasks, how, READY=1 after (min / median / max), the growth per task
# from the previous task count (ms/task, medians), the agent's own "recovery: ... in X"
# figure, all running again after (away), the agent's RSS once ready, and the peer:
# `docker ps` listing the same containers (median of 5, wall time of the CLI).
#
# usage: scripts/bench/recovery.sh [-n "10 50 200 500"] [-r RUNS] [-x EXITED_PCT]
#            [-k KILLED_PCT] [-p PORT_RANGE] [-H HOURS] [-C CHURN_S] [-I INTERVAL_S]
#   -n  task counts, ascending (default "10 50 200 500"); -r runs per count and way
#       (default 5); -x/-k percent of tasks disturbed in the "away" runs (default 10 and
#       10; at least one task each when not 0); -p the agent's port_range (default
#       25600-25639): only as many tasks as it has ports get one; -H soak hours (default
#       0: no soak; decimals allowed, e.g. 0.05 = 3 min); -C churn period (default 10 s);
#       -I sampling interval (default 60 s).
# Full size: the defaults, plus -H 1 or more for the RSS trend (about an hour without
# the soak on 2 cores, most of it creating 500 containers). A smoke run:
# -n "5 10" -r 1 -H 0.05 -I 20 (a few minutes).
# Needs the test environment (scripts/test-env.sh up) and a build (build/dockvisor,
# build/docklog, or $DOCKVISOR_BIN). Creates only dvbench-recovery-<pid>-* containers,
# its own data dir and socket under /tmp, and removes all of it at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

sizes="10 50 200 500"
runs=5
exited_pct=10
killed_pct=10
port_range=25600-25639
soak_hours=0
churn_s=10
interval_s=60
usage="usage: $0 [-n \"SIZES\"] [-r RUNS] [-x EXITED_PCT] [-k KILLED_PCT] [-p PORT_RANGE] [-H HOURS] [-C CHURN_S] [-I INTERVAL_S]"
while getopts "n:r:x:k:p:H:C:I:" opt; do
    case $opt in
    n) sizes=$OPTARG ;;
    r) runs=$OPTARG ;;
    x) exited_pct=$OPTARG ;;
    k) killed_pct=$OPTARG ;;
    p) port_range=$OPTARG ;;
    H) soak_hours=$OPTARG ;;
    C) churn_s=$OPTARG ;;
    I) interval_s=$OPTARG ;;
    *) die "$usage" ;;
    esac
done
[ "$#" -eq "$((OPTIND - 1))" ] || die "$usage"
for v in $sizes "$runs" "$exited_pct" "$killed_pct" "$churn_s" "$interval_s"; do
    [[ $v =~ ^[0-9]+$ ]] || die "$usage (whole numbers)"
done
[[ $soak_hours =~ ^[0-9]*\.?[0-9]+$ ]] || die "-H: hours, e.g. 1 or 0.05"
[[ $port_range =~ ^([0-9]+)-([0-9]+)$ ]] || die "-p: LOW-HIGH"
ports_available=$((BASH_REMATCH[2] - BASH_REMATCH[1] + 1))
if [ "$runs" -lt 1 ] || [ "$churn_s" -lt 1 ] || [ "$interval_s" -lt 1 ]; then die "$usage (-r, -C, -I at least 1)"; fi
[ $((exited_pct + killed_pct)) -le 100 ] || die "-x + -k: at most 100%"
prev=0
for n in $sizes; do
    [ "$n" -gt "$prev" ] || die "-n: task counts ascending, above 0"
    prev=$n
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

# helpers of our data dir (they also end by themselves once their container is gone)
our_helpers() {
    local p
    for p in $(pgrep -x docklog || true); do
        ! grep -q "$work/" "/proc/$p/cmdline" 2>/dev/null || echo "$p"
    done
}
cleanup() {
    local ids p
    if [ -n "$agent_pid" ]; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    [ -z "$listener_pid" ] || kill "$listener_pid" 2>/dev/null || true
    if [ -n "$node_id" ]; then
        ids=$(docker ps -aq --filter "label=io.dockvisor.node_id=$node_id")
        # shellcheck disable=SC2086 # one id a word
        [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    fi
    for p in $(our_helpers); do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -o "$work/notify_listen" "$DV_ROOT/scripts/bench/notify_listen.c" ||
    die "cannot build notify_listen (needs a C compiler)"

jq -n --arg d "$work/data" --arg s "$work/agent.sock" --arg p "$port_range" \
    '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: $p,
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
all_running() { [ "$(running_count)" -ge "$1" ]; }
# Running tasks as "id container_id", in submission order.
running_tasks() {
    "$dockvisor" status -json | jq -r '.[] | select(.state == "running") | "\(.id) \(.container_id // .container.id // "")"'
}

median() { sort -n | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
# Go duration (as the agent logs it: 850.2ms, 1.25s, 950µs) → ns
duration_ns() {
    awk '{v = $1; f = 1e9
          if (v ~ /ms$/) f = 1e6; else if (v ~ /(µs|us)$/) f = 1e3; else if (v ~ /ns$/) f = 1
          gsub(/[^0-9.]/, "", v); printf "%.0f\n", v * f}'
}
ms() { awk -v ns="$1" 'BEGIN {printf "%.0f", ns / 1e6}'; }

submitted=0
submit_task() {
    submitted=$((submitted + 1))
    if [ "$submitted" -le "$ports_available" ]; then
        jq -n --arg n "$prefix-$submitted" --arg i "$image" \
            '{name: $n, config: {image: $i, args: ["sleep"], ports: ["p"]}, network: {ports: {p: {}}},
              kill_timeout: "1s", restart: {attempts: 1000, interval: "24h", delay: "1s", mode: "delay"}}'
    else
        jq -n --arg n "$prefix-$submitted" --arg i "$image" \
            '{name: $n, config: {image: $i, args: ["sleep"]},
              kill_timeout: "1s", restart: {attempts: 1000, interval: "24h", delay: "1s", mode: "delay"}}'
    fi >"$work/spec.json"
    "$dockvisor" run -detach "$work/spec.json" >/dev/null
}

# While the agent is away: docker kill EXITED% of the containers, kill -9 the helpers
# of another KILLED% (the tasks spread over the list). Prints "exited killed".
disturb() { # N
    local n=$1 ne nk i=0 id cid p cmd ex=0 kh=0
    local -A helper_cmd # pid -> command line, read once (not once per task: 500 x 500 greps)
    ne=$(((n * exited_pct + 99) / 100))
    nk=$(((n * killed_pct + 99) / 100))
    for p in $(our_helpers); do
        helper_cmd[$p]=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true)
    done
    while read -r id cid; do
        i=$((i + 1))
        if [ "$ex" -lt "$ne" ] && [ $((i % 2)) = 1 ] && [ -n "$cid" ]; then
            docker kill "$cid" >/dev/null && ex=$((ex + 1))
        elif [ "$kh" -lt "$nk" ] && [ $((i % 2)) = 0 ]; then
            for p in "${!helper_cmd[@]}"; do
                cmd=${helper_cmd[$p]}
                if [[ $cmd == *"$id"* ]]; then
                    kill -KILL "$p" 2>/dev/null && kh=$((kh + 1))
                fi
            done
        fi
    done <"$work/tasks.txt"
    echo "$ex $kh"
}

peer_ps() { # → median ms of `docker ps` listing our containers, 5 times
    local i t0
    for i in 1 2 3 4 5; do
        t0=$(now_ns)
        docker ps --filter "label=io.dockvisor.node_id=$node_id" >/dev/null
        echo $(($(now_ns) - t0))
    done | median | { read -r v; ms "$v"; }
}

results=$work/results.txt # n how min med max rec_ns rss_kb again_ms ps_ms disturbed
: >"$results"
start_agent
for n in $sizes; do
    log "submitting tasks up to $n"
    while [ "$submitted" -lt "$n" ]; do submit_task; done
    wait_for 900 all_running "$n" || die "only $(running_count) of $n tasks are running"
    ps_ms=$(peer_ps)
    for how in SIGTERM SIGKILL away; do
        : >"$work/ready.txt"
        : >"$work/recovery.txt"
        : >"$work/again.txt"
        rss='' disturbed=-
        for r in $(seq 1 "$runs"); do
            wait_for 300 all_running "$n" || die "before $how run $r: $(running_count) of $n running"
            running_tasks >"$work/tasks.txt"
            if [ "$how" = away ]; then
                stop_agent SIGKILL
                disturbed=$(disturb "$n" | tr ' ' /)
            else
                stop_agent "$how"
            fi
            lines_before=$(wc -l <"$work/agent.log")
            start_agent notify
            echo $((ready_ns - start_ns)) >>"$work/ready.txt"
            tail -n +"$((lines_before + 1))" "$work/agent.log" |
                sed -n 's/.*recovery: [0-9]* tasks in \([^:]*\):.*/\1/p' | duration_ns >>"$work/recovery.txt"
            rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
            wait_for 300 all_running "$n" || die "after $how: $(running_count) of $n running again"
            echo $(($(now_ns) - start_ns)) >>"$work/again.txt"
            [ "$(running_count)" = "$n" ] || die "after $how: $(running_count) running, expected $n"
        done
        min=$(sort -n "$work/ready.txt" | head -1)
        max=$(sort -n "$work/ready.txt" | tail -1)
        med=$(median <"$work/ready.txt")
        rec=$(median <"$work/recovery.txt")
        again=$(median <"$work/again.txt")
        echo "$n $how $(ms "$min") $(ms "$med") $(ms "$max") $(ms "${rec:-0}") $rss $(ms "$again") $ps_ms $disturbed" >>"$results"
        log "$n tasks, $how: READY=1 in $(ms "$med") ms (median of $runs)"
    done
done

# ---- soak ----
soak=$work/soak.txt # elapsed_s tasks_running rss_kb fds threads
: >"$soak"
if awk -v h="$soak_hours" 'BEGIN { exit !(h > 0) }'; then
    soak_s=$(awk -v h="$soak_hours" 'BEGIN { printf "%.0f", h * 3600 }')
    n=$(wc -l <"$work/tasks.txt")
    log "soak: $n tasks for $soak_s s, one destroyed and one created every $churn_s s, sampled every $interval_s s"
    sample() {
        echo "$(($(now_ns) / 1000000000 - soak_t0)) $(running_count) \
$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status") \
$(find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 | wc -l) \
$(awk '/^Threads:/ {print $2}' "/proc/$agent_pid/status")" >>"$soak"
    }
    soak_t0=$(($(now_ns) / 1000000000))
    # The churn in the background (a destroy waits for the stop), so that sampling keeps
    # its pace; its own count of submitted tasks goes on from ours (names stay unique)
    # and it leaves the number of tasks it created in $work/churned.
    # shellcheck disable=SC2030,SC2031 # the subshell's count is its own, on purpose
    (
        first=$submitted
        while sleep "$churn_s"; do
            oldest=$("$dockvisor" status -json | jq -r '[.[] | select(.state == "running")][0].id')
            "$dockvisor" rm -force "$oldest" >/dev/null || log "soak: rm $oldest failed"
            submit_task
            echo $((submitted - first)) >"$work/churned"
        done
    ) &
    churn_pid=$!
    k=0
    while :; do
        el=$(($(now_ns) / 1000000000 - soak_t0))
        [ "$el" -lt "$soak_s" ] || break
        if [ "$el" -ge $((k * interval_s)) ]; then
            sample
            k=$((k + 1))
        fi
        sleep 1
    done
    kill "$churn_pid" 2>/dev/null || true
    wait "$churn_pid" 2>/dev/null || true
    sample
    churned=$(cat "$work/churned" 2>/dev/null || echo 0)
fi

echo
echo "recovery benchmark: agent start → READY=1, $runs runs each; $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), Docker $(docker version -f '{{.Server.Version}}')"
echo "away: the agent killed, then ${exited_pct}% of the containers killed (exited) and the helpers of another ${killed_pct}% killed before it starts again; the first $ports_available tasks have a port"
echo
awk -v runs="$runs" '
    BEGIN {
        print "| tasks | agent stopped by | exited / helpers killed | READY=1 after, min / median / max (ms) | growth from the previous count (ms/task) | recovery as the agent logs it (ms) | all running again after (ms) | agent RSS once ready | peer: docker ps, same containers (ms) |"
        print "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    }
    {
        growth = "-"
        if (($2 in pn) && $1 > pn[$2]) growth = sprintf("%.2f", ($4 - pmed[$2]) / ($1 - pn[$2]))
        pn[$2] = $1; pmed[$2] = $4
        printf "| %d | %s | %s | %d / %d / %d | %s | %d | %d | %.1f MiB | %d |\n", $1,
            $2 == "away" ? "SIGKILL, changes while away" : $2, $10, $3, $4, $5, growth, $6, $8,
            $7 / 1024, $9
    }' "$results"
if [ -s "$soak" ]; then
    echo
    echo "soak: $(wc -l <"$work/tasks.txt") tasks held for ${soak_hours} h, one destroyed and one created every ${churn_s} s ($churned of each)"
    echo
    echo "| elapsed (min) | tasks running | agent RSS | open fds | threads |"
    echo "|---:|---:|---:|---:|---:|"
    awk '{ printf "| %.1f | %d | %.1f MiB | %d | %d |\n", $1 / 60, $2, $3 / 1024, $4, $5 }' "$soak"
    echo
    awk '
        # least-squares slope of RSS (MiB/h) over the samples FROM..n
        function slope(from,   i, k, sx, sy, mx, my, num, den) {
            for (i = from; i <= n; i++) { sx += x[i]; sy += y[i]; k++ }
            if (k < 2) return "-"
            mx = sx / k; my = sy / k
            for (i = from; i <= n; i++) { num += (x[i] - mx) * (y[i] - my); den += (x[i] - mx) ^ 2 }
            return den > 0 ? sprintf("%+.2f MiB/h", num / den / 1024) : "-"
        }
        # the lowest RSS of the samples FROM..TO: what the agent comes back to between
        # periodic jobs (a GC pass over every container lifts RSS for a sample or two)
        function floor_of(from, to,   i, m) {
            m = y[from]
            for (i = from + 1; i <= to; i++) if (y[i] < m) m = y[i]
            return sprintf("%.1f", m / 1024)
        }
        { n++; x[n] = $1 / 3600; y[n] = $3; if ($3 > max) max = $3; f[n] = $4; t[n] = $5 }
        END {
            printf "trend: RSS %.1f MiB first, %.1f MiB last, %.1f MiB max; slope (least squares) %s over the soak, %s over its second half (less warm-up); fds %d to %d; threads %d to %d\n",
                y[1] / 1024, y[n] / 1024, max / 1024, slope(1), slope(int(n / 2) + 1),
                f[1], f[n], t[1], t[n]
            if (n >= 3)
                printf "RSS floor (lowest sample) in each third of the soak: %s / %s / %s MiB\n",
                    floor_of(1, int(n / 3)), floor_of(int(n / 3) + 1, int(2 * n / 3)),
                    floor_of(int(2 * n / 3) + 1, n)
        }' "$soak"
fi
