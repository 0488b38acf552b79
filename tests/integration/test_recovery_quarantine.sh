#!/usr/bin/env bash
# A record the agent cannot use is set aside, never a crash: one whose version was
# changed to an unknown one and one that is not JSON at all are moved to
# state/quarantine/ with a clear log line and listed in GET /v1/node, their
# containers are left alone, and the agent serves the other tasks. A leftover
# .tmp of an interrupted write is ignored (and removed).
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-recovery-$$"

start_agent 24200 24219
P=$DV_TEST_IMAGE_PAYLOAD
good=$(dv run -detach "$(spec good "$P" '.config.args = ["sleep"]')")
future=$(dv run -detach "$(spec future "$P" '.config.args = ["sleep"]')")
broken=$(dv run -detach "$(spec broken "$P" '.config.args = ["sleep"]')")
badstate=$(dv run -detach "$(spec badstate "$P" '.config.args = ["sleep"]')")
badspec=$(dv run -detach "$(spec badspec "$P" '.config.args = ["sleep"]')")
for id in "$good" "$future" "$broken" "$badstate" "$badspec"; do wait_state "$id" running 60; done
future_cid=$(task_field "$future" .container_id)
broken_cid=$(task_field "$broken" .container_id)
stop_agent || fail "agent exit on SIGTERM"

tasks=$T_DIR/data/state/tasks
jq '.version = 99' "$tasks/$future.json" >"$T_DIR/f.json" && mv "$T_DIR/f.json" "$tasks/$future.json"
head -c 100 "$tasks/$broken.json" >"$T_DIR/b.json" && mv "$T_DIR/b.json" "$tasks/$broken.json"
# valid JSON of the current version, but not a task this agent can take back
jq '.state = "hibernating"' "$tasks/$badstate.json" >"$T_DIR/s.json" && mv "$T_DIR/s.json" "$tasks/$badstate.json"
# (both the spec as written and as resolved at submit, which is what starts use)
jq '.spec.config.port_mapp = {} | .spec_resolved.config.port_mapp = {}' "$tasks/$badspec.json" >"$T_DIR/p.json" &&
    mv "$T_DIR/p.json" "$tasks/$badspec.json"
echo '{"half": ' >"$tasks/$good.json.tmp"
start_agent 24200 24219

grep -q "task record $future set aside as .*quarantine/$future.json.*: unknown record version 99 (this agent reads 1)" \
    "$T_DIR/agent.log" || fail "no clear message for the unknown version: $(grep -i 'set aside' "$T_DIR/agent.log")"
grep -q "task record $broken set aside as .*quarantine/$broken.json" "$T_DIR/agent.log" ||
    fail "no message for the broken record"
# a parser's "near '...'" would quote the record, credentials included: not logged
grep "task record $broken set aside" "$T_DIR/agent.log" | matches " near " && fail "the record's text was logged"
grep -q "task record $badstate set aside as .*: task record: unknown state \"hibernating\"" "$T_DIR/agent.log" ||
    fail "no message for the unknown state"
grep -q "task record $badspec set aside as .*config.port_mapp: unknown option" "$T_DIR/agent.log" ||
    fail "no message for the spec this agent refuses"
node=$(dv node-status -json)
jq -e --arg f "$future" --arg b "$broken" --arg s "$badstate" --arg p "$badspec" \
    '[.quarantined[].task_id] | sort == ([$f, $b, $s, $p] | sort)' <<<"$node" >/dev/null ||
    fail "/v1/node does not list the records set aside: $(jq -c .quarantined <<<"$node")"
jq -e '.quarantined[] | select(.reason | test("unknown record version 99"))' <<<"$node" >/dev/null ||
    fail "/v1/node: no reason: $(jq -c .quarantined <<<"$node")"
dv node-status | matches "4 task records could not be used" || fail "node-status: $(dv node-status)"
for id in "$future" "$broken" "$badstate" "$badspec"; do
    ls "$T_DIR/data/state/quarantine" | matches "^$id.json" || fail "$id not in state/quarantine"
    [ ! -e "$tasks/$id.json" ] || fail "$id still in state/tasks"
done
[ ! -e "$tasks/$good.json.tmp" ] || fail "the leftover .tmp is still there"
ok "unusable records are set aside with a clear message and listed in /v1/node"

# the others are served; the set-aside tasks are unknown, their containers untouched
[ "$(task_field "$good" .state)" = running ] || fail "good task: $(task_field "$good" .state)"
dv status -json "$future" >/dev/null 2>&1 && fail "a set-aside task is still served"
[ "$(dv status -json | jq length)" = 1 ] || fail "task list: $(dv status -json | jq -c '[.[].id]')"
for c in "$future_cid" "$broken_cid"; do
    [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] || fail "container $c of a set-aside record was touched"
done
[ -d "$T_DIR/data/tasks/$future" ] || fail "the set-aside task's directory was removed"
f=$(spec after "$P" '.config.args = ["sleep"]')
id=$(dv run -detach "$f")
wait_state "$id" running 60
ok "the agent serves the other tasks and new ones; set-aside containers and files untouched"
finish

