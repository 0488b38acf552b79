# Shared helpers for the agent's end-to-end tests (sourced by test_agent_*.sh).
#
# Each test starts its own agent on a temp data dir and socket, with
# bind_address 127.0.0.1 and a port range of its own, so it can run next to
# other engineers' tests on the shared dockerd. Everything it created is removed
# on exit: the agent is stopped and its containers are found by its node id
# label (never a global cleanup).
set -euo pipefail

DV_SOURCE_DIR=${DV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DOCKVISOR_BIN=${DOCKVISOR_BIN:-$DV_SOURCE_DIR/build/dockvisor}
DV_PAYLOAD_BIN=${DV_PAYLOAD_BIN:-$DV_SOURCE_DIR/build/tests/payload}
DV_NOTIFY_LISTEN_BIN=${DV_NOTIFY_LISTEN_BIN:-$DV_SOURCE_DIR/build/tests/notify_listen}
DV_HANG_LISTEN_BIN=${DV_HANG_LISTEN_BIN:-$DV_SOURCE_DIR/build/tests/hang_listen}
DV_TEST_IMAGE_BUSYBOX=${DV_TEST_IMAGE_BUSYBOX:-dockvisor-test/busybox:1}
DV_TEST_IMAGE_PAYLOAD=${DV_TEST_IMAGE_PAYLOAD:-dockvisor-test/payload:1}
DV_TEST_REGISTRY=${DV_TEST_REGISTRY:-127.0.0.1:5000}
DV_TEST_REGISTRY_USER=${DV_TEST_REGISTRY_USER:-dvtest}
DV_TEST_REGISTRY_PASSWORD=${DV_TEST_REGISTRY_PASSWORD:-dvtest-password}

T_NAME=$(basename "$0" .sh)
# What tests killed before their cleanup left on the shared dockerd, gone first.
"$DV_SOURCE_DIR/tests/integration/sweep_dead_tests.sh"
T_DIR=$(mktemp -d "/tmp/dvtest-agent-$$-XXXXXX")
T_PREFIX="dvtest-agent-$$"
T_AGENT_PID=
T_NODE_ID=
T_FAILED=0
T_BG_PIDS=() # helper processes of the test, killed on exit
T_CLEANUP_HOOKS=() # commands run on exit before the test's dir is removed (e.g. umount)
export DOCKVISOR_ADDR="unix://$T_DIR/agent.sock"

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }
fail() {
    log "FAIL: $*"
    T_FAILED=1
    exit 1
}
ok() { log "ok: $*"; }
dv() { "$DOCKVISOR_BIN" "$@"; }
api() { curl -sS --unix-socket "$T_DIR/agent.sock" "$@"; }
# `cmd | matches PATTERN...`: grep -q over ALL of stdin. A bare `cmd | grep -q` fails
# under pipefail whenever grep exits at its first match while cmd still writes
# (cmd dies of SIGPIPE), which made assertions flaky; reading to the end cannot.
matches() {
    local in
    in=$(cat)
    grep -q "$@" <<<"$in"
}

# The agent dies at once (containers and docklog helpers go on); reaped.
kill9_agent() {
    kill -KILL "$T_AGENT_PID" 2>/dev/null || true
    wait "$T_AGENT_PID" 2>/dev/null || true
    T_AGENT_PID=
}
# A random pause of 0-1 s (from $RANDOM: seed it to replay a run).
rsleep() { sleep "$(printf '0.%03d' $((RANDOM % 1000)))"; }

# Containers of this test's agent(s) only.
our_containers() {
    [ -n "$T_NODE_ID" ] || return 0
    docker ps -aq --filter "label=io.dockvisor.node_id=$T_NODE_ID"
}

t_cleanup() {
    local rc=$?
    local p
    for p in "${T_BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$T_AGENT_PID" ] && kill -0 "$T_AGENT_PID" 2>/dev/null; then
        kill -TERM "$T_AGENT_PID" 2>/dev/null || true
        wait "$T_AGENT_PID" 2>/dev/null || true
    fi
    local ids
    ids=$(our_containers || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    # docklog helpers outlive the agent on purpose; this test's go before its dir does
    local i pids
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(for p in $(pgrep -x 'docklog(-tls)?' || true); do
            if grep -qF "$T_DIR/" "/proc/$p/cmdline" 2>/dev/null; then echo "$p"; fi
        done)
        [ -n "$pids" ] || break
        kill -KILL $pids 2>/dev/null || true
        sleep 0.1
    done
    if [ "$rc" -ne 0 ] || [ "$T_FAILED" -ne 0 ]; then
        log "agent log ($T_DIR/agent.log):"
        tail -n 60 "$T_DIR/agent.log" >&2 || true
        [ -f "$T_DIR"/data/tasks ] || true
    fi
    for p in "${T_CLEANUP_HOOKS[@]}"; do eval "$p" || true; done
    rm -rf "$T_DIR"
    exit "$rc"
}
trap t_cleanup EXIT

# cleanup_even_if_killed CMD: run CMD at exit as T_CLEANUP_HOOKS do, and also if the test
# is killed before its cleanup can run (ctest's timeout): sweep_dead_tests.sh runs a dead
# test's $T_DIR/sweep-hooks. For what outlives the test's own things, such as a
# machine-wide setting; CMD must stand alone (no function of the test's).
cleanup_even_if_killed() {
    T_CLEANUP_HOOKS+=("$1")
    printf '%s\n' "$1" >>"$T_DIR/sweep-hooks"
}

# start_agent PORT_MIN PORT_MAX [extra JSON merged into the config]
start_agent() {
    local min=$1 max=$2 extra=${3:-'{}'}
    jq -n --arg d "$T_DIR/data" --arg s "$T_DIR/agent.sock" --arg r "$min-$max" --argjson x "$extra" \
        '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: $r,
          docker: {gc: {image: false}}} * $x' >"$T_DIR/agent.json"
    "$DOCKVISOR_BIN" agent -config "$T_DIR/agent.json" </dev/null >>"$T_DIR/agent.log" 2>&1 &
    T_AGENT_PID=$!
    local i
    for i in $(seq 1 100); do
        if dv node-status >/dev/null 2>&1; then
            T_NODE_ID=$(dv node-status -json | jq -r .node_id)
            return 0
        fi
        kill -0 "$T_AGENT_PID" 2>/dev/null || fail "the agent exited at startup"
        sleep 0.1
    done
    fail "the agent did not come up"
}

stop_agent() {
    kill -TERM "$T_AGENT_PID"
    local rc=0
    wait "$T_AGENT_PID" || rc=$?
    T_AGENT_PID=
    return "$rc"
}

# spec NAME IMAGE [jq expression over the spec] → path of a spec file
spec() {
    local name=$1 image=$2 expr=${3:-.}
    local f="$T_DIR/spec-$name.json"
    jq -n --arg n "$T_PREFIX-$name" --arg i "$image" \
        "{name: \$n, config: {image: \$i}, kill_timeout: \"5s\", restart: {attempts: 0}} | $expr" >"$f"
    echo "$f"
}

task_json() { dv status -json "$1"; }
task_field() { task_json "$1" | jq -r "$2"; }

# wait_state ID STATE [SECONDS]
wait_state() {
    local id=$1 want=$2 secs=${3:-30} i state=
    for i in $(seq 1 $((secs * 10))); do
        state=$(task_field "$id" .state 2>/dev/null || true)
        [ "$state" = "$want" ] && return 0
        sleep 0.1
    done
    fail "task $id is $state, not $want after ${secs}s"
}

# wait_for SECONDS COMMAND...
wait_for() {
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

has_event() { # ID TYPE PATTERN
    task_json "$1" | jq -e --arg t "$2" --arg p "$3" \
        '[.events[] | select(.type == $t and (.message | test($p)))] | length > 0' >/dev/null
}

# CPU ticks (utime + stime) of PID
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# End of a test: the agent must exit 0 on SIGTERM, and (under the sanitizers)
# have reported no error, leak or undefined behaviour.
finish() {
    stop_agent || fail "the agent exited $? on SIGTERM"
    if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR/agent.log" >&2; then
        fail "sanitizer report in the agent log"
    fi
    ok "agent stopped cleanly"
}
