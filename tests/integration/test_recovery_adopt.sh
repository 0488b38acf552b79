#!/usr/bin/env bash
# Recovery of running tasks after `kill -9` of the agent (issue 7, "Done when"):
#  1. 20 tasks print numbered lines; the agent is killed and started again: all 20
#     are re-adopted with the same container ids and StartedAt, the same docklog
#     processes (pid and start time) and the same ports;
#  2. killed again, and the docklog helpers of 5 tasks are killed while it is down:
#     they are relaunched from their checkpoints, the other 15 are re-adopted;
#  3. once the payloads are done, every task's files hold every line exactly once;
#  4. a stopped task whose helper finishes unseen by the agent: the next agent's
#     record stops naming it (recovery leaves the task itself as it is).
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-recovery-$$"

N=20
LINES=1200 # at 20 lines/s: a minute of output, across both agent kills
RATE=20

# id cid started_at docklog_pid docklog_starttime ports — one line per task
snapshot() {
    local id cid
    for id in "${ids[@]}"; do
        local j
        j=$(task_json "$id")
        cid=$(jq -r .container_id <<<"$j")
        printf '%s %s %s %s %s %s\n' "$id" "$cid" \
            "$(docker inspect -f '{{.State.StartedAt}}' "$cid")" \
            "$(jq -r '.docklog.pid // 0' <<<"$j")" "$(jq -r '.docklog.starttime // 0' <<<"$j")" \
            "$(jq -c '[.ports[] | [.label, .host_port]]' <<<"$j")"
    done
}

# The helper of a snapshot line is that very process: alive, same start time.
same_process() { # PID STARTTIME
    [ "$1" -gt 0 ] && [ -r "/proc/$1/stat" ] &&
        [ "$(sed 's/^.*) //' "/proc/$1/stat" | awk '{print $20}')" = "$2" ]
}

start_agent 24000 24099
ids=()
for i in $(seq 1 $N); do
    f=$(spec "adopt-$i" "$DV_TEST_IMAGE_PAYLOAD" \
        ".config.args = [\"lines\", \"$LINES\", \"$RATE\", \"--\", \"sleep\"] |
         .config.ports = [\"http\"] | .network = {ports: {http: {to: 8080}}}")
    ids+=("$(dv run -detach "$f")")
done
for id in "${ids[@]}"; do wait_state "$id" running 120; done
# Every helper has delivered something before the first kill.
for id in "${ids[@]}"; do
    wait_for 60 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q '^1 stdout'" || fail "no logs for $id"
done
ok "$N tasks running and logging"

# --- 1. kill -9, start again: everything re-adopted as it was ---
# The restarted agent reports to a NOTIFY_SOCKET of ours, with a watchdog asked for:
# READY=1 only once recovery is done, STATUS= with the counts, WATCHDOG=1 from the loop.
"$DV_NOTIFY_LISTEN_BIN" "$T_DIR/notify.sock" >"$T_DIR/notify.log" 2>&1 &
T_BG_PIDS+=($!)
wait_for 5 test -S "$T_DIR/notify.sock" || fail "notify listener"
before=$(snapshot)
kill9_agent
sleep 1
NOTIFY_SOCKET="$T_DIR/notify.sock" WATCHDOG_USEC=1000000 start_agent 24000 24099
for id in "${ids[@]}"; do wait_state "$id" running 30; done
after=$(snapshot)
[ "$before" = "$after" ] || fail "not re-adopted as it was:
$(diff <(echo "$before") <(echo "$after"))"
while read -r id cid started pid st ports; do
    [ "$pid" -gt 0 ] || fail "task $id has no docklog helper"
    same_process "$pid" "$st" || fail "docklog $pid of $id is not the recorded process"
    [ "$ports" != "[]" ] || fail "task $id has no port"
done <<<"$after"
docker ps -q --filter "label=io.dockvisor.node_id=$T_NODE_ID" --filter status=running | wc -l |
    grep -qx "$N" || fail "not $N containers running"
grep -q "recovery: $N tasks in .*: $N running re-adopted" "$T_DIR/agent.log" ||
    fail "no recovery summary: $(grep recovery: "$T_DIR/agent.log" | tail -3)"
ok "kill -9: all $N re-adopted (container ids, StartedAt, docklog pid+start time, ports)"
wait_for 10 sh -c "[ \$(grep -c ' WATCHDOG=1$' '$T_DIR/notify.log') -ge 3 ]" ||
    fail "no WATCHDOG=1 from the loop: $(cut -d' ' -f2- "$T_DIR/notify.log" | sort | uniq -c)"
notes=$(cut -d' ' -f2- "$T_DIR/notify.log" | grep -v '^WATCHDOG=1$')
grep -q "^STATUS=recovering $N tasks" <<<"$notes" || fail "no recovery STATUS=: $notes"
# READY=1 comes after recovery: after the STATUS= with every task counted as running
order=$(grep -nE "^STATUS=recovering $N tasks|^STATUS=$N tasks: $N running|^READY=1" <<<"$notes" | cut -d: -f2 |
    sed -E 's/^(STATUS=recovering|STATUS=[0-9]+ tasks|READY=1).*/\1/' | uniq | tr '\n' ' ')
[ "$order" = "STATUS=recovering STATUS=$N tasks READY=1 " ] || fail "notifications out of order: $notes"
ok "READY=1 after recovery, STATUS= with the task counts, WATCHDOG=1 from the loop"

# --- 2. helpers of 5 tasks killed while the agent is down ---
before=$(snapshot)
kill9_agent
victims=$(head -n 5 <<<"$before")
while read -r id cid started pid st ports; do kill -KILL "$pid"; done <<<"$victims"
sleep 1
start_agent 24000 24099
for id in "${ids[@]}"; do wait_state "$id" running 30; done
after=$(snapshot)
while read -r id cid started pid st ports; do
    old=$(grep "^$id " <<<"$before")
    read -r _ ocid ostarted opid ost oports <<<"$old"
    [ "$cid $started $ports" = "$ocid $ostarted $oports" ] || fail "task $id changed: $old -> $cid $started $ports"
    if grep -q "^$id " <<<"$victims"; then
        [ "$pid" != "$opid" ] && [ "$pid" -gt 0 ] || fail "task $id: helper not relaunched ($opid -> $pid)"
        same_process "$pid" "$st" || fail "task $id: relaunched helper $pid is not running"
        has_event "$id" Driver "ended while the agent was down: relaunching" || fail "no relaunch event for $id"
    else
        [ "$pid $st" = "$opid $ost" ] || fail "task $id: helper changed ($opid -> $pid)"
    fi
done <<<"$after"
ok "helpers killed while the agent was down are relaunched; the others re-adopted"

# --- 3. every line exactly once in the files ---
want_out=$(seq 1 2 $((LINES - 1)) | sed 's/$/ stdout/')
want_err=$(seq 2 2 "$LINES" | sed 's/$/ stderr/')
for id in "${ids[@]}"; do
    wait_for 120 sh -c "'$DOCKVISOR_BIN' logs -stderr $id | tail -n 1 | grep -qx '$LINES stderr'" ||
        fail "task $id: stderr never complete: $(dv logs -stderr -tail 2 "$id")"
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs $id | tail -n 1 | grep -qx '$((LINES - 1)) stdout'" ||
        fail "task $id: stdout never complete"
    [ "$(dv logs "$id")" = "$want_out" ] ||
        fail "task $id: stdout lost or duplicated lines: $(diff <(dv logs "$id") <(echo "$want_out") | head -5)"
    [ "$(dv logs -stderr "$id")" = "$want_err" ] ||
        fail "task $id: stderr lost or duplicated lines: $(diff <(dv logs -stderr "$id") <(echo "$want_err") | head -5)"
done
ok "every task's files hold lines 1..$LINES exactly once across both kills"

# --- 4. a stopped task's helper finishes while the agent cannot see it ---
# The helper is frozen so that it outlives the stop; then the agent is frozen, the
# helper let go: it drains the ended container and exits, unseen. The next agent
# finds a stopped task (nothing to do) naming a helper that is done.
id=${ids[0]}
record="$T_DIR/data/state/tasks/$id.json"
pid=$(jq -r '.docklog.pid // 0' "$record")
[ "$pid" -gt 0 ] || fail "task $id: no helper recorded"
kill -STOP "$pid"
dv stop "$id" >/dev/null || fail "stop $id"
[ "$(jq -r '.state + " " + (.docklog.pid // 0 | tostring)' "$record")" = "stopped $pid" ] ||
    fail "task $id: expected stopped with helper $pid on disk: $(jq -c '{state, docklog}' "$record")"
kill -STOP "$T_AGENT_PID"
kill -CONT "$pid"
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for 30 gone "$pid" || fail "helper $pid did not finish"
kill9_agent
start_agent 24000 24099
[ "$(jq -r '.state' "$record")" = stopped ] || fail "task $id: recovery changed its state"
[ "$(jq -r '.docklog.pid // 0' "$record")" = 0 ] ||
    fail "task $id: the record still names the finished helper: $(jq -c .docklog "$record")"
ok "a helper that finished while the agent was down is no longer named by a stopped task's record"
finish
