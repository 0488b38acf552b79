#!/usr/bin/env bash
# Limits that keep the agent responsive (review B3, R3): max_kill_timeout caps a
# spec's kill_timeout and a stop's timeout, max_exec_timeout refuses a longer
# exec, exec output is capped, and a full exec lane answers 429 while starts and
# stops go on.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 23300 23319 '{"max_kill_timeout": "2s", "max_exec_timeout": "1m"}'

# --- kill_timeout and a stop's timeout are capped by max_kill_timeout ---
f=$(spec stubborn "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["ignore-term", "--", "sleep"] | .kill_timeout = "10m"')
id=$(dv run -detach "$f")
wait_state "$id" running
dv stop "$id" >/dev/null || fail "stop of a task that ignores SIGTERM"
has_event "$id" Killing "timeout 2s" || fail "kill_timeout not capped: $(task_json "$id" | jq -c .events)"
[ "$(task_field "$id" .exit.exit_code)" = 137 ] || fail "not killed: $(task_field "$id" .exit)"
dv restart "$id" >/dev/null || fail "restart"
wait_state "$id" running
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST -d '{"timeout": "5m"}' \
    "http://localhost/v1/tasks/$id/stop")
[ "$status" = 200 ] || [ "$status" = 202 ] || fail "stop -timeout 5m: $status $(cat "$T_DIR/resp.json")"
wait_state "$id" stopped 30
[ "$(task_json "$id" | jq '[.events[] | select(.type == "Killing" and (.message | test("timeout 2s")))] | length')" = 2 ] ||
    fail "a stop's timeout not capped: $(task_json "$id" | jq -c .events)"
dv rm "$id" >/dev/null
ok "max_kill_timeout caps kill_timeout and a stop's timeout"

# --- exec: a timeout above max_exec_timeout is refused ---
f=$(spec shell "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sleep" | .config.args = ["3600"] | .kill_timeout = "1s"')
id=$(dv run -detach "$f")
wait_state "$id" running
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST -d '{"cmd": ["true"], "timeout": "2m"}' \
    "http://localhost/v1/tasks/$id/exec")
[ "$status" = 400 ] || fail "exec timeout 2m: $status $(cat "$T_DIR/resp.json")"
jq -e '.error | test("max_exec_timeout")' "$T_DIR/resp.json" >/dev/null || fail "$(cat "$T_DIR/resp.json")"
ok "exec above max_exec_timeout: 400"

# --- exec output: capped per stream (DV_EXEC_OUTPUT_MAX, 4 MiB) with a marker (review R3) ---
jq -n '{cmd: ["sh", "-c", "yes | head -c 6000000; echo small >&2; exit 4"]}' >"$T_DIR/exec.json"
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$T_DIR/exec.json" \
    "http://localhost/v1/tasks/$id/exec")
[ "$status" = 200 ] || fail "big exec: $status $(head -c 300 "$T_DIR/resp.json")"
jq -e '.exit_code == 4 and .stdout_truncated == true and .stderr_truncated == false and
       .stderr == "small\n" and (.stdout | endswith("[dockvisor: output truncated after 4 MiB; the rest was dropped]\n")) and
       (.stdout | length) < 4194304 + 100' "$T_DIR/resp.json" >/dev/null ||
    fail "big exec answer: $(jq -c '{exit_code, stdout_truncated, stderr_truncated, stderr, n: (.stdout | length), tail: .stdout[-80:]}' "$T_DIR/resp.json")"
ok "exec output capped at 4 MiB with a truncation marker, exit code kept"

# --- a full exec lane refuses; lifecycle work does not wait behind it ---
lane_busy() { api http://localhost/v1/metrics | awk -v l="dockvisor_lane_busy{lane=\"$1\"}" '$1 == l {print $2}'; }
execs=()
for i in $(seq 1 8); do
    dv exec -timeout 50s "$id" -- sleep 30 >/dev/null 2>&1 &
    execs+=($!)
done
T_BG_PIDS+=("${execs[@]}")
exec_lane_full() { [ "$(lane_busy exec)" = 8 ]; }
wait_for 20 exec_lane_full || fail "8 execs not running: exec lane busy $(lane_busy exec)"
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST -d '{"cmd": ["true"]}' \
    "http://localhost/v1/tasks/$id/exec")
[ "$status" = 429 ] || fail "exec on a full lane: $status $(cat "$T_DIR/resp.json")"
f=$(spec other "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .kill_timeout = "1s"')
other=$(dv run -detach "$f")
wait_state "$other" running 20
dv stop "$other" >/dev/null || fail "stop while the exec lane is full"
[ "$(lane_busy exec)" = 8 ] || fail "the execs ended early: $(lane_busy exec)"
ok "full exec lane: 429; a start and a stop went through meanwhile"
for p in "${execs[@]}"; do wait "$p" || fail "an exec in the full lane failed"; done
dv rm -force "$id" >/dev/null
dv rm "$other" >/dev/null
finish
