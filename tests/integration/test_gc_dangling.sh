#!/usr/bin/env bash
# The dangling-container reaper against the real dockerd
# (gc.dangling_containers): a running (or paused) container with this agent's
# node id label that no record claims is removed once it is older than
# creation_grace (1m, Nomad's minimum) and not before; as in Nomad, whose
# reconciler lists running containers only, such a container that was never
# started or has exited stays; containers of other agents, without labels, or
# of tasks with records are never touched; with gc.container=false the
# containers destroys keep stay, and still stay once gc.container is true
# again (SIGHUP); a second agent in dry_run only reports its dangling
# container; SIGHUP enabled=false stops the scans.
#
# The grace makes this test take a little over a minute: both agents run at
# once, and every container is created at the start.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-gc-$$"
B_DIR="$T_DIR/b"
B_PID=
B_NODE=

gc_cleanup() {
    local rc=$?
    [ -z "$B_PID" ] || kill -TERM "$B_PID" 2>/dev/null || true
    [ -z "$B_PID" ] || wait "$B_PID" 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ -f "$B_DIR/agent.log" ]; then
        log "dry-run agent log:"
        tail -n 20 "$B_DIR/agent.log" >&2 || true
    fi
    local ids
    ids=$(docker ps -aq --filter "name=^$T_PREFIX-" || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    [ -z "$B_NODE" ] || ids=$(docker ps -aq --filter "label=io.dockvisor.node_id=$B_NODE")
    [ -z "$B_NODE" ] || [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    (exit "$rc")
    t_cleanup
}
trap gc_cleanup EXIT

metric() { # NAME [SOCKET]
    curl -sS --unix-socket "${2:-$T_DIR/agent.sock}" http://localhost/v1/metrics |
        awk -v m="$1" '$1 == m {print $2}'
}
exists() { docker inspect "$1" >/dev/null 2>&1; }
created_s() { date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s; }
new_uuid() { cat /proc/sys/kernel/random/uuid; }
reload() {
    local n
    n=$(grep -c "configuration reloaded" "$T_DIR/agent.log" || true)
    jq "$1" "$T_DIR/agent.json" >"$T_DIR/agent.json.new" && mv "$T_DIR/agent.json.new" "$T_DIR/agent.json"
    kill -HUP "$T_AGENT_PID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$T_DIR/agent.log') -gt $n ]" || fail "no reload"
}

start_agent 23520 23529 '{"docker": {"gc": {"image": false, "container": false,
    "dangling_containers": {"period": "1s", "creation_grace": "1m"}}}}'

# The dry-run agent, on its own data dir and socket.
mkdir -p "$B_DIR"
jq -n --arg d "$B_DIR/data" --arg s "$B_DIR/agent.sock" \
    '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: "23530-23539",
      docker: {gc: {image: false, dangling_containers: {dry_run: true, period: "1s", creation_grace: "1m"}}}}' \
    >"$B_DIR/agent.json"
"$DOCKVISOR_BIN" agent -config "$B_DIR/agent.json" </dev/null >>"$B_DIR/agent.log" 2>&1 &
B_PID=$!
wait_for 10 sh -c "DOCKVISOR_ADDR=unix://$B_DIR/agent.sock '$DOCKVISOR_BIN' node-status" || fail "agent B"
B_NODE=$(DOCKVISOR_ADDR="unix://$B_DIR/agent.sock" dv node-status -json | jq -r .node_id)
[ -n "$B_NODE" ] && [ "$B_NODE" != "$T_NODE_ID" ] || fail "node ids: $T_NODE_ID $B_NODE"

# --- what must go, and what must stay ---
mk() { # NAME LABEL... → container id (created, not started)
    local name=$1
    shift
    local args=()
    for l in "$@"; do args+=(--label "$l"); done
    docker create --name "$T_PREFIX-$name" "${args[@]}" "$DV_TEST_IMAGE_PAYLOAD" sleep
}
running=$(mk running "io.dockvisor.node_id=$T_NODE_ID" "io.dockvisor.task_id=$(new_uuid)")
paused=$(mk paused "io.dockvisor.node_id=$T_NODE_ID" "io.dockvisor.task_id=$(new_uuid)")
nolabel_task=$(mk notask "io.dockvisor.node_id=$T_NODE_ID") # ours, but no task id at all
docker start "$running" "$paused" "$nolabel_task" >/dev/null
docker pause "$paused" >/dev/null
# ours and unclaimed too, but not running: never started, and exited
created=$(mk created "io.dockvisor.node_id=$T_NODE_ID" "io.dockvisor.task_id=$(new_uuid)")
exited=$(docker create --name "$T_PREFIX-exited" --label "io.dockvisor.node_id=$T_NODE_ID" \
    --label "io.dockvisor.task_id=$(new_uuid)" "$DV_TEST_IMAGE_PAYLOAD" exit 0)
docker start "$exited" >/dev/null
docker wait "$exited" >/dev/null
foreign=$(mk foreign "io.dockvisor.node_id=$(new_uuid)" "io.dockvisor.task_id=$(new_uuid)")
docker start "$foreign" >/dev/null
unlabeled=$(mk unlabeled)
dry=$(mk dry "io.dockvisor.node_id=$B_NODE" "io.dockvisor.task_id=$(new_uuid)")
docker start "$dry" >/dev/null

# Tasks with records: a running one, a stopped one; and a destroyed one whose
# container gc.container=false keeps (exited, no record).
f=$(spec live "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .kill_timeout = "1s"')
live=$(dv run -detach "$f")
f=$(spec stopped "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .kill_timeout = "1s"')
stopped=$(dv run -detach "$f")
f=$(spec kept "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["exit", "0"]')
kept=$(dv run -detach "$f")
wait_state "$live" running
wait_state "$stopped" running
dv stop "$stopped" >/dev/null
wait_state "$kept" exited
live_c=$(task_field "$live" .container_id)
stopped_c=$(task_field "$stopped" .container_id)
kept_c=$(task_field "$kept" .container_id)
dv rm "$kept" >/dev/null
[ "$(docker inspect -f '{{.State.Status}}' "$kept_c")" = exited ] || fail "gc.container=false did not keep"
ok "containers set up"

# --- nothing is removed before creation_grace; then the dangling ones go ---
victims="running paused nolabel_task"
declare -A born gone
youngest=0
for c in $victims; do
    born[$c]=$(created_s "${!c}")
    [ "${born[$c]}" -gt "$youngest" ] && youngest=${born[$c]}
done
scans0=$(metric dockvisor_dangling_scans_total)
young_scans=0
for i in $(seq 1 120); do
    left=0
    for c in $victims; do
        if exists "${!c}"; then
            left=$((left + 1))
        elif [ -z "${gone[$c]:-}" ]; then
            gone[$c]=1
            age=$(($(date +%s) - born[$c])) # read after the check: the removal came before
            [ "$age" -ge 60 ] || fail "$c container removed at age ${age}s, before creation_grace"
        fi
    done
    [ "$left" -gt 0 ] || break
    if [ "$left" = 3 ] && [ $(($(date +%s) - youngest)) -lt 58 ]; then
        young_scans=$(($(metric dockvisor_dangling_scans_total) - scans0))
    fi
    sleep 1
done
[ "$left" = 0 ] || fail "$left dangling containers still there after 120s"
[ "$young_scans" -ge 10 ] || fail "only $young_scans scans saw the dangling containers young"
for c in $victims; do
    grep -q "dangling container ${!c:0:12} .* removed" "$T_DIR/agent.log" || fail "removal of $c not logged"
done
[ "$(metric dockvisor_dangling_containers_removed_total)" -ge 3 ] || fail "metrics: removed"
ok "dangling containers (running, paused, no task id) removed after creation_grace, not before ($young_scans scans spared them)"

spared="created exited foreign unlabeled live_c stopped_c kept_c dry"
for c in $spared; do
    exists "${!c}" || fail "$c container ${!c:0:12} was removed"
done
for c in $spared; do
    [ "$c" = dry ] || ! grep "dangling container" "$T_DIR/agent.log" | matches -e "${!c:0:12}" ||
        fail "the spared $c container was reported as dangling"
done
[ "$(task_field "$live" .state)" = running ] || fail "the live task is $(task_field "$live" .state)"
ok "never started and exited (unclaimed), foreign, unlabeled, live, stopped (with records) and kept (gc.container=false) containers untouched"

# --- dry run: reported, not removed ---
wait_for 10 grep -q "dangling container ${dry:0:12} .*would be removed" "$B_DIR/agent.log" ||
    fail "dry run did not report ${dry:0:12}"
exists "$dry" || fail "dry run removed the container"
[ "$(metric dockvisor_dangling_containers "$B_DIR/agent.sock")" = 1 ] || fail "dry run metric"
[ "$(metric dockvisor_dangling_containers_removed_total "$B_DIR/agent.sock")" = 0 ] || fail "dry run removed"
ok "dry_run only reports"

# --- SIGHUP gc.container=true: stopped containers are still not the reaper's ---
reload '.docker.gc.container = true'
n=$(metric dockvisor_dangling_scans_total)
scans_past() { [ "$(metric dockvisor_dangling_scans_total)" -ge "$1" ]; }
wait_for 15 scans_past $((n + 3)) || fail "no scans after the reload"
for c in kept_c created exited stopped_c; do
    exists "${!c}" || fail "gc.container=true: the $c container was removed"
done
ok "gc.container=true (SIGHUP): kept, never started and exited containers stay (running ones only are reaped)"

# --- SIGHUP enabled=false: no more scans ---
reload '.docker.gc.dangling_containers.enabled = false'
wait_for 5 grep -q "dangling containers: reaper disabled" "$T_DIR/agent.log" || fail "not disabled"
sleep 1.5 # a scan in flight when the reload came ends
n=$(metric dockvisor_dangling_scans_total)
sleep 3
[ "$(metric dockvisor_dangling_scans_total)" = "$n" ] || fail "scans go on with enabled=false"
ok "enabled=false (SIGHUP) stops the scans"

dv rm -force "$live" >/dev/null
dv rm -force "$stopped" >/dev/null
kill -TERM "$B_PID"
wait "$B_PID" || fail "agent B exited $?"
B_PID=
grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$B_DIR/agent.log" >&2 && fail "sanitizer report (agent B)"
finish
