#!/usr/bin/env bash
# A Docker Engine outage is waited out, never a reason to fail a task (issue 12
# item 6), on a private dockerd without live restore (private_dockerd.sh: the
# shared one is never stopped):
#  1. five running tasks with restart attempts = 1: dockerd stops (and stops their
#     containers with it) and comes back; every task runs again, none failed, and
#     their one attempt is still there: a second outage brings them back again;
#  2. a task submitted while dockerd is down is accepted and waits in "pulling"
#     with the reason in its JSON, its status and an event, then starts once
#     dockerd answers; `run` and `stop` end at once saying the task waits;
#  3. a running task removed while dockerd is down: `rm` says why it is not done
#     yet, the task stays destroying, and is gone (container too) once dockerd is
#     back;
#  4. with live restore, a stop while dockerd is down: the container survives the
#     outage and is stopped once dockerd is back, not reported "still running";
#  5. every CLI call answers within a bound: against a stopped daemon (no socket)
#     at once with "Docker Engine unreachable" (503), against a daemon that
#     accepts and never answers (SIGSTOP) within 25 s, not after the CLI's or
#     the Engine client's minutes.
# shellcheck disable=SC2154 # rc is set inside the EXIT trap, secs by timed (printf -v)
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
T_PREFIX="dvtest-outage-$$"
BOUND=25 # seconds any CLI call may take against a dead or wedged Engine

pdd_setup
# A daemon left stopped (SIGSTOP) by a failed check would never take its SIGTERM.
trap 'rc=$?; [ -z "$PDD_PID" ] || kill -CONT "$PDD_PID" 2>/dev/null; (exit $rc); pdd__on_exit' EXIT
pdd_start
pdd_load_image "$DV_TEST_IMAGE_BUSYBOX"
start_agent 25100 25109 "$(jq -n --arg e "$(pdd_sock)" '{docker: {endpoint: $e}}')"

sleeper() {
    spec "$1" "$DV_TEST_IMAGE_BUSYBOX" \
        '.config.command = "sleep" | .config.args = ["100000"] | .config.network_mode = "none" |
         .restart = {attempts: 1, interval: "30m", delay: "1s", mode: "fail"}'
}

# timed VAR CMD...: run CMD (stdout+stderr into $T_DIR/out), its seconds into VAR, rc into RC
timed() {
    local var=$1 s e
    shift
    s=$(date +%s%N)
    RC=0
    timeout 120 "$@" >"$T_DIR/out" 2>&1 || RC=$?
    e=$(date +%s%N)
    printf -v "$var" '%d' $(((e - s) / 1000000000))
}

ids=()
for i in 1 2 3 4 5; do ids+=("$(dv run -detach "$(sleeper "t$i")")"); done
stopme=$(dv run -detach "$(sleeper stopme)")
rmme=$(dv run -detach "$(sleeper rmme)")
rmme_cid=
for id in "${ids[@]}" "$stopme" "$rmme"; do wait_state "$id" running 60; done
rmme_cid=$(task_field "$rmme" .container_id)
ok "5 tasks running (restart attempts 1), one to stop and one to remove during the outage"

# all_running_again OUTAGE: every task runs a new container, restarted once per outage
all_running_again() {
    local n=$1 id
    for id in "${ids[@]}"; do
        wait_for 90 sh -c "'$DOCKVISOR_BIN' status -json $id | jq -e '.state == \"running\" and .restarts == $n' >/dev/null" ||
            fail "task $id after outage $n: $(task_json "$id" | jq -c '{state, restarts, events: [.events[-5:][] | .type + ": " + .message]}')"
        task_json "$id" | jq -e '.restart_tracker.count == 0' >/dev/null ||
            fail "task $id: the outage was counted against its restart policy: $(task_json "$id" | jq -c .restart_tracker)"
        has_event "$id" Restarting "not counted against its restart policy" ||
            fail "task $id: no event says the restart is the outage's: $(task_json "$id" | jq -c '[.events[].message]')"
    done
    [ "$(dv status -json | jq '[.[] | select(.state == "failed")] | length')" = 0 ] ||
        fail "failed tasks: $(dv status -json | jq -c '[.[] | select(.state == "failed") | .id]')"
}

# --- 1 and 2: dockerd stops (no live restore), a task is submitted meanwhile ---
pdd_stop
ok "dockerd stopped: its containers with it"

sid=$(dv run -detach "$(sleeper late)") || fail "a task submitted while dockerd is down is refused"
wait_for 20 has_event "$sid" "Engine Unreachable" "Docker Engine unreachable: .*waiting" ||
    fail "no 'Engine Unreachable' event: $(task_json "$sid" | jq -c '[.events[] | .type + ": " + .message]')"
sleep 3
task_json "$sid" | jq -e '.state == "pulling" and (.waiting | test("Docker Engine unreachable"))' >/dev/null ||
    fail "task submitted while down: $(task_json "$sid" | jq -c '{state, waiting}')"
dv status "$sid" | matches "^Waiting .*Docker Engine unreachable" ||
    fail "dockvisor status does not say why: $(dv status "$sid")"
[ -f "$T_DIR/data/state/tasks/$sid.json" ] || fail "the record of the waiting task is not on disk"
ok "a task submitted while dockerd is down waits: $(task_field "$sid" .waiting | cut -c1-100)..."
# a waiting task can still be removed: the wait ends at once
gone=$(dv run -detach "$(sleeper gone)")
wait_for 20 has_event "$gone" "Engine Unreachable" "waiting" || fail "$gone does not wait"
timed secs "$DOCKVISOR_BIN" rm -force "$gone"
[ "$RC" = 0 ] && [ "$secs" -le 10 ] || fail "rm -force of a waiting task: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
! dv status "$gone" >/dev/null 2>&1 || fail "$gone still there after rm -force"
ok "a waiting task is removed at once"
# a running task removed while down: not done yet, and said so; done once back
timed secs "$DOCKVISOR_BIN" rm -force "$rmme"
[ "$RC" = 1 ] && [ "$secs" -le 10 ] || fail "rm -force while down: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
matches "destroyed once the Docker Engine answers" <"$T_DIR/out" || fail "rm while down: $(cat "$T_DIR/out")"
task_json "$rmme" | jq -e '.state == "destroying" and (.waiting | test("Docker Engine unreachable"))' >/dev/null ||
    fail "task removed while down: $(task_json "$rmme" | jq -c '{state, waiting}')"
ok "rm of a running task while down: $(head -c 160 "$T_DIR/out")"

# --- 5a: every CLI call answers at once against a stopped daemon ---
id=${ids[0]}
for c in "stats $id" "exec $id -- true" "signal $id HUP"; do
    # shellcheck disable=SC2086
    timed secs "$DOCKVISOR_BIN" $c
    [ "$RC" = 1 ] && [ "$secs" -le 5 ] || fail "$c: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
    matches "Docker Engine unreachable" <"$T_DIR/out" || fail "$c: $(cat "$T_DIR/out")"
    said=$(head -c 160 "$T_DIR/out")
done
code=$(api -o /dev/null -w '%{http_code}' "http://localhost/v1/tasks/$id/stats")
[ "$code" = 503 ] || fail "stats against a stopped daemon answered $code, not 503"
# run and stop follow the task: they end with the reason instead of waiting for the Engine
timed secs "$DOCKVISOR_BIN" run "$(sleeper late2)"
[ "$RC" = 1 ] && [ "$secs" -le 10 ] || fail "run: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
matches "waits for the Docker Engine" <"$T_DIR/out" || fail "run: $(cat "$T_DIR/out")"
late2=$(dv status -json | jq -r --arg n "$T_PREFIX-late2" '.[] | select(.name == $n) | .id')
[ -n "$late2" ] || fail "run while down: no task"
timed secs "$DOCKVISOR_BIN" stop "$stopme"
[ "$RC" = 1 ] && [ "$secs" -le 10 ] || fail "stop: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
matches "waits for the Docker Engine" <"$T_DIR/out" || fail "stop: $(cat "$T_DIR/out")"
ok "run and stop end at once: $(tail -n 1 "$T_DIR/out" | head -c 200)"
for c in "status" "status $id" "node-status"; do
    # shellcheck disable=SC2086
    timed secs "$DOCKVISOR_BIN" $c
    [ "$RC" -le 1 ] && [ "$secs" -le 5 ] || fail "$c: rc $RC after ${secs}s: $(cat "$T_DIR/out")"
done
ok "stats, exec, signal answer at once: $said"

sleep 2
pdd_start "${PDD_START_ARGS[@]}"
all_running_again 1
wait_state "$sid" running 60
wait_state "$late2" running 60
wait_state "$stopme" stopped 60
has_event "$sid" "Engine Reachable" "answers again" || fail "no 'Engine Reachable' event for $sid"
task_json "$sid" | jq -e '.waiting == null' >/dev/null || fail "$sid still says waiting"
wait_for 60 sh -c "! '$DOCKVISOR_BIN' status $rmme >/dev/null 2>&1" ||
    fail "the task removed while down is still there: $(task_json "$rmme" | jq -c '{state, waiting}')"
[ -z "$(pdd_docker ps -aq --filter "id=$rmme_cid")" ] || fail "the removed task's container is left"
[ ! -e "$T_DIR/data/state/tasks/$rmme.json" ] || fail "the removed task's record is left"
ok "dockerd back: the 5 tasks run again (not counted), the late tasks started, the stop and the rm completed"

# A second outage: with the first one counted, the single attempt would be gone.
pdd_stop
sleep 3
pdd_start "${PDD_START_ARGS[@]}"
all_running_again 2
ok "a second outage: all 5 run again, none failed"

# --- 4: live restore: a stop given while dockerd is down is carried out once it is back ---
pdd_stop
pdd_start --live-restore
for id in "${ids[@]}"; do wait_state "$id" running 90; done
lr=$(dv run -detach "$(sleeper live)")
wait_state "$lr" running 60
lr_cid=$(task_field "$lr" .container_id)
pdd_stop
timed secs "$DOCKVISOR_BIN" stop "$lr"
[ "$RC" = 1 ] && [ "$secs" -le 10 ] || fail "stop while down (live restore): rc $RC after ${secs}s: $(cat "$T_DIR/out")"
pdd_start --live-restore
wait_state "$lr" stopped 60
[ "$(pdd_docker inspect -f '{{.State.Running}}' "$lr_cid")" = false ] || fail "the container still runs after the stop"
! has_event "$lr" Killing "still running after the stop" || fail "the stop was reported failed"
has_event "$lr" Killing "answers again and the container still runs: stopping it now" ||
    fail "no event for the stop given once back: $(task_json "$lr" | jq -c '[.events[] | .type + ": " + .message]')"
ok "live restore: a stop while dockerd was down is given once it is back, the task stopped"

# --- 5: a daemon that accepts and never answers ---
kill -STOP "$PDD_PID"
id=${ids[1]}
for c in "stats $id" "exec $id -- true" "signal $id HUP" "status $id" "status" "node-status"; do
    # shellcheck disable=SC2086
    timed secs "$DOCKVISOR_BIN" $c
    [ "$secs" -le "$BOUND" ] || fail "$c took ${secs}s against a wedged daemon (rc $RC): $(cat "$T_DIR/out")"
    log "wedged daemon: $c: rc $RC in ${secs}s: $(head -c 160 "$T_DIR/out" | tr '\n' ' ')"
done
kill -CONT "$PDD_PID"
ok "every CLI call answered within ${BOUND}s against a wedged daemon"
for id in "${ids[@]}"; do
    [ "$(task_field "$id" .state)" = running ] || fail "task $id is $(task_field "$id" .state) after the wedge"
done
timed secs "$DOCKVISOR_BIN" stats "${ids[1]}"
[ "$RC" = 0 ] || fail "stats after the wedge: $(cat "$T_DIR/out")"
ok "the daemon answers again: tasks running, stats works"
finish
