#!/usr/bin/env bash
# `dockvisor drain`: every task is stopped at once with its own kill_signal and
# kill_timeout, finished tasks are marked desired=stopped too, the command returns
# once all are down with a summary, and after an agent restart everything stays down.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-recovery-$$"

start_agent 24220 24239
P=$DV_TEST_IMAGE_PAYLOAD
ids=()
for i in 1 2 3; do # ignore SIGTERM: each stop lasts its kill_timeout
    ids+=("$(dv run -detach "$(spec "stubborn-$i" "$P" '.config.args = ["ignore-term", "--", "sleep"] |
        .kill_timeout = "3s"')")")
done
polite=$(dv run -detach "$(spec polite "$P" '.config.args = ["signals"] | .kill_signal = "SIGINT"')")
done_=$(dv run -detach "$(spec done "$P" '.config.args = ["exit", "0"]')")
stopped=$(dv run -detach "$(spec stopped "$P" '.config.args = ["sleep"] | .kill_timeout = "1s"')")
for id in "${ids[@]}" "$polite" "$stopped"; do wait_state "$id" running 60; done
wait_state "$done_" exited 60
dv stop "$stopped" >/dev/null || fail "stop"
all=("${ids[@]}" "$polite" "$done_" "$stopped")

dv drain >"$T_DIR/drain.out" || fail "drain failed: $(cat "$T_DIR/drain.out")"
grep -q "drained 6 tasks in .*: 4 stopped, 2 already down, 0 destroyed meanwhile, 0 not stopped" \
    "$T_DIR/drain.out" || fail "summary: $(cat "$T_DIR/drain.out")"
for id in "${all[@]}"; do
    j=$(task_json "$id")
    jq -e '.desired == "stopped" and (.state == "stopped" or .state == "exited")' <<<"$j" >/dev/null ||
        fail "after drain: $(jq -c '{id, state, desired}' <<<"$j")"
done
[ -z "$(docker ps -q --filter "label=io.dockvisor.node_id=$T_NODE_ID")" ] || fail "containers still running"
has_event "$polite" Killing "sending SIGINT" || fail "kill_signal not used"
# In parallel: every stubborn task was told to stop before any of them was down.
last_killing=$(for id in "${ids[@]}"; do task_json "$id" | jq '.events[] | select(.type == "Killing") | .time_ns' | head -1; done | sort -n | tail -1)
first_killed=$(for id in "${ids[@]}"; do task_json "$id" | jq '.events[] | select(.type == "Killed") | .time_ns'; done | sort -n | head -1)
[ "$last_killing" -lt "$first_killed" ] || fail "the stops ran one after the other"
ok "drain: all stopped in parallel with their kill_signal/kill_timeout, desired=stopped, summary"

dv drain -json >"$T_DIR/drain2.json" || fail "second drain"
jq -e '.tasks == 6 and (.already_down | length) == 6' "$T_DIR/drain2.json" >/dev/null ||
    fail "second drain: $(cat "$T_DIR/drain2.json")"
stop_agent || fail "agent exit"
start_agent 24220 24239
for id in "${all[@]}"; do
    jq -e '.desired == "stopped" and .state != "running"' <<<"$(task_json "$id")" >/dev/null ||
        fail "after an agent restart: $(task_json "$id" | jq -c '{id, state, desired}')"
done
dv restart "$done_" >/dev/null || fail "an operator can start a drained task again"
wait_for 30 sh -c "'$DOCKVISOR_BIN' status -json $done_ | jq -e '.desired == \"running\"'" || fail "restart"
ok "after an agent restart every drained task stays down; the operator can start one again"
finish
