#!/usr/bin/env bash
# What happened while the agent was down (kill -9) is handled on its next start:
#  - a task that exited meanwhile gets its exit recorded and is restarted per policy;
#  - a task the operator stopped stays stopped (across two agent restarts);
#  - a restart that was scheduled keeps its persisted due time and still happens;
#  - a container removed meanwhile is reported lost and recreated per policy;
#  - after a node reboot (boot id changed, container gone) a running task is started
#    again even though its restart policy allows no restart;
#  - a stop interrupted by the kill (kill_signal ignored, waiting for kill_timeout)
#    is finished.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-recovery-$$"

kill9_agent() {
    kill -KILL "$T_AGENT_PID"
    wait "$T_AGENT_PID" 2>/dev/null || true
    T_AGENT_PID=
}
cid_of() { task_field "$1" .container_id; }
record() { echo "$T_DIR/data/state/tasks/$1.json"; }

start_agent 24100 24149
P=$DV_TEST_IMAGE_PAYLOAD
policy='.restart = {attempts: 2, interval: "30m", delay: "1s", mode: "fail"}'

exits=$(dv run -detach "$(spec exits "$P" ".config.args = [\"sleep\", \"6\", \"--\", \"exit\", \"3\"] | $policy")")
stopped=$(dv run -detach "$(spec stopped "$P" '.config.args = ["sleep"] | .kill_timeout = "1s"')")
delayed=$(dv run -detach "$(spec delayed "$P" '.config.args = ["exit", "1"] |
    .restart = {attempts: 2, interval: "30m", delay: "15s", mode: "fail"}')")
lost=$(dv run -detach "$(spec lost "$P" ".config.args = [\"sleep\"] | $policy")")
reboot=$(dv run -detach "$(spec reboot "$P" '.config.args = ["sleep"]')") # attempts 0
stopping=$(dv run -detach "$(spec stopping "$P" '.config.args = ["ignore-term", "--", "sleep"] |
    .kill_signal = "SIGTERM" | .kill_timeout = "10s"')")
for id in "$exits" "$stopped" "$lost" "$reboot" "$stopping"; do wait_state "$id" running 60; done
wait_state "$delayed" restarting 60
dv stop "$stopped" >/dev/null || fail "stop"
wait_for 20 sh -c "docker logs $(cid_of "$stopping") | grep -q 'ignoring SIGTERM'" || true
dv stop -detach "$stopping" >/dev/null || fail "stop -detach"
wait_state "$stopping" stopping 10
due=$(jq .restart_due_ns "$(record "$delayed")")
[ "$due" -gt 0 ] || fail "no restart due time in the record of $delayed"
declare -A cid
for id in "$exits" "$stopped" "$delayed" "$lost" "$reboot" "$stopping"; do cid[$id]=$(cid_of "$id"); done

# --- the agent dies; meanwhile: an exit, a removal, a "reboot" ---
[ "$(task_field "$stopping" .state)" = stopping ] || fail "the stop is over before the kill"
kill9_agent
[ "$(docker wait "${cid[$exits]}")" = 3 ] || fail "exits did not exit 3"
docker rm -f "${cid[$lost]}" >/dev/null
docker kill "${cid[$reboot]}" >/dev/null
jq '.boot_id = "00000000-0000-4000-8000-000000000000"' "$(record "$reboot")" >"$T_DIR/r.json"
mv "$T_DIR/r.json" "$(record "$reboot")"
start_agent 24100 24149

# a restart that was due keeps its due time (the record is not rewritten with a new one)
[ "$(jq .restart_due_ns "$(record "$delayed")")" = "$due" ] || fail "restart due time changed"
[ "$(task_field "$delayed" .state)" = restarting ] || fail "delayed: $(task_field "$delayed" .state)"
grep -q "recovery: task ${delayed:0:8} restarts in" "$T_DIR/agent.log" || fail "restart not re-armed"

# stopped stays stopped
[ "$(task_field "$stopped" .state)" = stopped ] && [ "$(task_field "$stopped" .desired)" = stopped ] ||
    fail "stopped task: $(task_json "$stopped" | jq -c '{state, desired}')"
[ "$(docker inspect -f '{{.State.Running}}' "${cid[$stopped]}")" = false ] || fail "stopped task runs"
ok "a stopped task stays stopped"

# exited meanwhile: exit recorded, restarted per policy (a new container)
wait_for 60 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $exits | jq -r .container_id)\" != ${cid[$exits]} ]" ||
    fail "exits was not restarted"
wait_state "$exits" running 60
has_event "$exits" Terminated "exit code 3" || fail "the exit while down was not recorded"
has_event "$exits" Restarting "attempt 1 of 2" || fail "no policy restart: $(task_json "$exits" | jq -c .events)"
[ "$(task_field "$exits" .restarts)" = 1 ] || fail "restarts: $(task_field "$exits" .restarts)"
ok "a task that exited while the agent was down is restarted per policy"

# lost: reported, recreated per policy
wait_for 60 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $lost | jq -r .state)\" = running ] &&
    [ \"\$('$DOCKVISOR_BIN' status -json $lost | jq -r .container_id)\" != ${cid[$lost]} ]" ||
    fail "lost was not recreated: $(task_json "$lost" | jq -c '{state, events}')"
has_event "$lost" "Container Lost" "removed while the agent was down" || fail "no lost event"
[ "$(task_field "$lost" .restarts)" = 1 ] || fail "lost restarts: $(task_field "$lost" .restarts)"
ok "a container removed while the agent was down is reported lost and recreated"

# node reboot: started again although attempts = 0, and not counted
wait_for 60 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $reboot | jq -r .state)\" = running ] &&
    [ \"\$('$DOCKVISOR_BIN' status -json $reboot | jq -r .container_id)\" != ${cid[$reboot]} ]" ||
    fail "not restarted after the reboot: $(task_json "$reboot" | jq -c '{state, events}')"
has_event "$reboot" Restarting "node rebooted" || fail "no reboot event"
[ "$(task_field "$reboot" .restarts)" = 0 ] || fail "a reboot counted as a restart"
ok "after a node reboot a running task is started again, not counted against its policy"

# the interrupted stop is finished (SIGTERM ignored, then the kill_timeout)
wait_state "$stopping" stopped 60
[ "$(task_field "$stopping" .desired)" = stopped ] || fail "stopping: desired"
[ "$(docker inspect -f '{{.State.Running}}' "${cid[$stopping]}")" = false ] || fail "still runs"
ok "a stop interrupted by the agent's death is finished"

# the scheduled restart happens
wait_for 60 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $delayed | jq -r .container_id)\" != ${cid[$delayed]} ]" ||
    fail "the scheduled restart did not happen: $(task_json "$delayed" | jq -c '{state, events}')"
[ "$(task_field "$delayed" .restarts)" -ge 1 ] || fail "delayed restarts"
ok "a restart scheduled before the agent died still happens"

# --- once more: the stopped tasks stay stopped, the running ones are re-adopted ---
kept_cid=$(cid_of "$reboot")
kill9_agent
start_agent 24100 24149
for id in "$stopped" "$stopping"; do
    [ "$(task_field "$id" .state)" = stopped ] || fail "$id: $(task_field "$id" .state) after a second restart"
done
[ "$(cid_of "$reboot")" = "$kept_cid" ] && [ "$(task_field "$reboot" .state)" = running ] ||
    fail "reboot task not re-adopted"
ok "second restart: stopped tasks stay stopped, running ones are kept"
finish
