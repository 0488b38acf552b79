#!/usr/bin/env bash
# Issue 12 item 3: a record whose container_id names a container that is not its
# task's (no io.dockvisor labels: somebody else's) must make the agent touch
# nothing. Before the fix a restarted agent removed the task's real container as
# "not named by its record", called the task lost, and a later `rm` stopped and
# removed the foreign container.
#
# Now: the record is set aside (state/quarantine/, reason in the log, in
# GET /v1/node and node-status), the foreign container keeps running, the task's
# real container keeps running (left to the operator like any set-aside task's),
# and stop/rm/signal on the id touch neither.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-foreign-$$"

running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

start_agent 24950 24969
P=$DV_TEST_IMAGE_PAYLOAD
id=$(dv run -detach "$(spec victim "$P" '.config.args = ["sleep"]')")
other=$(dv run -detach "$(spec other "$P" '.config.args = ["sleep"]')")
wait_state "$id" running 60
wait_state "$other" running 60
real=$(task_field "$id" .container_id)
stop_agent || fail "agent exit on SIGTERM"
running "$real" || fail "SIGTERM of the agent stopped the task's container"

# Somebody else's container: no labels of ours. Removed at exit, whatever happens.
foreign=$(docker run -d --name "$T_PREFIX-foreign" "$DV_TEST_IMAGE_BUSYBOX" sleep 300)
T_CLEANUP_HOOKS+=("docker rm -f '$foreign' >/dev/null 2>&1")
tasks=$T_DIR/data/state/tasks
jq --arg c "$foreign" '.container_id = $c' "$tasks/$id.json" >"$T_DIR/r.json"
mv "$T_DIR/r.json" "$tasks/$id.json"

# Recovery removes containers of this node that no record claims, with no
# creation grace: a set-aside task's real container must not be one of them.
start_agent 24950 24969

sleep 2 # whatever recovery started (a restart, a destroy) has run by now
running "$foreign" || fail "the foreign container was stopped"
running "$real" || fail "the task's real container was stopped or removed because of the bad record"
grep -E "(removed|remove) container ${real:0:12}|dangling container ${real:0:12}" "$T_DIR/agent.log" &&
    fail "the agent went for the task's real container"
[ "$(task_field "$other" .state)" = running ] || fail "the other task: $(task_field "$other" .state)"
[ "$(task_field "$other" .container_id)" != "$foreign" ] || fail "the other task took the foreign container"
ok "neither the foreign container nor the task's real one was touched; the other task runs"

grep -q "task record $id set aside as .*quarantine/$id.json.*: container ${foreign:0:12} is not this agent's (no io.dockvisor labels)" \
    "$T_DIR/agent.log" || fail "no clear log line: $(grep -i "$id" "$T_DIR/agent.log" | tail -5)"
ls "$T_DIR/data/state/quarantine" | matches "^$id.json" || fail "the record is not in state/quarantine"
[ ! -e "$tasks/$id.json" ] || fail "the record is still in state/tasks"
node=$(dv node-status -json)
jq -e --arg i "$id" '.quarantined[] | select(.task_id == $i and (.reason | test("is not this agent.s")))' \
    <<<"$node" >/dev/null || fail "/v1/node: $(jq -c .quarantined <<<"$node")"
dv node-status | matches "$id: container ${foreign:0:12} is not this agent's" ||
    fail "node-status: $(dv node-status)"
ok "the record naming a foreign container is set aside with the reason"

# The set-aside task is no longer served: stop and rm refuse, and touch nothing.
dv stop -detach "$id" >/dev/null 2>&1 && fail "stop of a set-aside task succeeded"
dv rm -force "$id" >/dev/null 2>&1 && fail "rm of a set-aside task succeeded"
dv signal "$id" SIGKILL >/dev/null 2>&1 && fail "signal of a set-aside task succeeded"
sleep 1
running "$foreign" || fail "stop/rm/signal on the id reached the foreign container"
running "$real" || fail "stop/rm/signal on the id reached the task's real container"
[ "$(docker inspect -f '{{index .Config.Labels "io.dockvisor.task_id"}}' "$foreign")" = "" ] ||
    fail "the foreign container was changed"
ok "stop, rm and signal on the set-aside id touch no container"

# The other task is destroyed as usual (its own labels check out).
other_cid=$(task_field "$other" .container_id)
dv rm -force "$other" >/dev/null || fail "rm of the other task"
docker inspect "$other_cid" >/dev/null 2>&1 && fail "the other task's container was kept"
finish
