#!/usr/bin/env bash
# The operator CLI against a real agent: what an operator sees and the exit codes.
# - R6: `logs -f` follows a task across its restarts and ends when it will not run again;
# - B6: `status ID` names the signal of an exit; B7/B8: `events -task` shows the
#   history of a stopped task and ends when the task is destroyed;
# - C7: the global `-address` before the command, and DOCKVISOR_ADDR;
# - R1: a missing socket is named, with a hint;
# - exit codes: 0 ok, 1 error, 2 usage; `exec` returns the command's code.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 24700 24709

# expect CODE COMMAND...: run it, its exit code must be CODE (stdout+stderr in $T_DIR/out)
expect() {
    local want=$1 rc=0
    shift
    "$@" >"$T_DIR/out" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat "$T_DIR/out")"
}

# --- R6: logs -f across restarts: three runs, each line once, then it ends ---
f=$(spec crash "$DV_TEST_IMAGE_PAYLOAD" \
    '.config.args = ["stdout-lines", "3", "--", "exit", "3"]
     | .restart = {attempts: 2, interval: "10m", delay: "2s", mode: "fail"}')
id=$(dv run -detach "$f")
timeout 90 "$DOCKVISOR_BIN" logs -f "$id" >"$T_DIR/follow.out" || fail "logs -f did not end by itself ($?)"
[ "$(task_field "$id" .state)" = failed ] || fail "state: $(task_field "$id" .state)"
want=$(for run in 1 2 3; do seq 1 3 | sed 's/$/ stdout/'; done)
[ "$(cut -d' ' -f1-2 "$T_DIR/follow.out")" = "$want" ] ||
    fail "logs -f across restarts: $(cat "$T_DIR/follow.out")"
[ "$(dv logs "$id" | cut -d' ' -f1-2)" = "$want" ] || fail "logs: $(dv logs "$id")"
ok "logs -f follows all three runs of a restarting task, each line once, and ends"

# --- B6: the signal of an exit by name ---
f=$(spec killed "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["ignore-term", "--", "sleep"] | .kill_timeout = "1s"')
id=$(dv run -detach "$f")
wait_state "$id" running
dv stop "$id" >/dev/null || fail "stop"
dv status "$id" >"$T_DIR/status.out"
grep -q 'exit code 137 (signal 9 SIGKILL)' "$T_DIR/status.out" ||
    fail "status of a killed task: $(grep -i exit "$T_DIR/status.out")"
ok "status names the signal: $(grep -o 'exit code.*SIGKILL)' "$T_DIR/status.out")"

# --- B7: events -task shows a stopped task's history; B8: it ends when the task is destroyed ---
timeout 20 "$DOCKVISOR_BIN" events -task "$id" >"$T_DIR/events.out" 2>&1 &
ev=$!
T_BG_PIDS+=("$ev")
wait_for 10 grep -q 'Started' "$T_DIR/events.out" || fail "no history: $(cat "$T_DIR/events.out")"
grep -qi 'kill' "$T_DIR/events.out" || fail "history without the stop: $(cat "$T_DIR/events.out")"
dv rm "$id" >/dev/null || fail "rm"
rc=0
wait "$ev" || rc=$?
[ "$rc" = 0 ] || fail "events -task after rm exited $rc (124: still running): $(cat "$T_DIR/events.out")"
ok "events -task: history first, ends when the task is destroyed"

# --- exec: the command's exit code and output; -json keeps the answer ---
f=$(spec execd "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sleep" | .config.args = ["300"]')
id=$(dv run -detach "$f")
wait_state "$id" running
expect 7 dv exec "$id" -- sh -c 'echo out; echo err >&2; exit 7'
grep -qx out "$T_DIR/out" && grep -qx err "$T_DIR/out" || fail "exec output: $(cat "$T_DIR/out")"
[ "$(dv exec -json "$id" -- sh -c 'echo hi; exit 3' | jq -c '[.exit_code, .stdout]')" = '[3,"hi\n"]' ] ||
    fail "exec -json: $(dv exec -json "$id" -- sh -c 'echo hi; exit 3')"
expect 1 dv exec -timeout 1s "$id" -- sleep 5
grep -qx 'dockvisor exec: the command timed out after 1s; it may still run in the container' "$T_DIR/out" ||
    fail "exec timeout, for people (C8): $(cat "$T_DIR/out")"
ok "exec: the command's exit code and output; a timeout in one sentence"

# --- run follows a pull: progress on a terminal (one line, overwritten), none without one ---
pull_spec() {
    jq -n --arg n "$T_PREFIX-$1" --arg i "$DV_TEST_REGISTRY/dockvisor-test/busybox:1" \
        --arg u "$DV_TEST_REGISTRY_USER" --arg p "$DV_TEST_REGISTRY_PASSWORD" \
        '{name: $n, config: {image: $i, force_pull: true, command: "echo", args: ["pulled"],
          auth: {username: $u, password: $p}}, restart: {attempts: 0}}' >"$T_DIR/spec-$1.json"
    echo "$T_DIR/spec-$1.json"
}
f=$(pull_spec pulltty)
script -qefc "'$DOCKVISOR_BIN' run '$f'" /dev/null >"$T_DIR/tty.out" 2>&1 ||
    fail "run on a terminal: $(cat -A "$T_DIR/tty.out")"
# "\rpulling <image>: <status>\e[K": the line rewrites itself (script turns \n into \r\n)
grep -q $'\rpulling [^ ]*busybox:1: .*\e\\[K' "$T_DIR/tty.out" || fail "no pull progress on a terminal: $(cat -A "$T_DIR/tty.out")"
f=$(pull_spec pullpipe)
dv run "$f" >"$T_DIR/pipe.out" 2>&1 || fail "run into a pipe: $(cat "$T_DIR/pipe.out")"
! grep -q -e $'\r' -e 'pulling ' "$T_DIR/pipe.out" || fail "progress without a terminal: $(cat -A "$T_DIR/pipe.out")"
grep -q 'submitted' "$T_DIR/pipe.out" || fail "run into a pipe: $(cat "$T_DIR/pipe.out")"
ok "run shows pull progress on a terminal only"

# --- C7: global -address before the command; DOCKVISOR_ADDR; a command's own wins ---
sock="$T_DIR/agent.sock"
(unset DOCKVISOR_ADDR && "$DOCKVISOR_BIN" -address "$sock" status -json) >"$T_DIR/list.json" ||
    fail "dockvisor -address X status"
jq -e --arg id "$id" 'map(.id) | index($id) != null' "$T_DIR/list.json" >/dev/null ||
    fail "status via global -address: $(cat "$T_DIR/list.json")"
(unset DOCKVISOR_ADDR && "$DOCKVISOR_BIN" -address="unix://$sock" node-status >/dev/null) ||
    fail "dockvisor -address=unix://X node-status"
expect 0 dv -address /nonexistent.sock status -address "$sock" "$id"
expect 2 dv -bogus status
ok "global -address (both forms), DOCKVISOR_ADDR, a command's -address wins"

# --- where the docklog helpers run: this host's PID 1 is not systemd, so they are
# forked in the agent's cgroup, and node-status says so ---
[ "$(dv node-status -json | jq -r .docklog_units)" = "agent's cgroup: systemd is not PID 1" ] ||
    fail "docklog_units: $(dv node-status -json | jq -c .docklog_units)"
dv node-status | matches -E "^Log helpers += agent's cgroup: systemd is not PID 1\$" ||
    fail "node-status does not say where the log helpers run: $(dv node-status)"
ok "node-status: docklog helpers in the agent's cgroup without systemd"

# --- R1: no socket at the address: named, with a hint, exit 1 ---
expect 1 dv status -address "$T_DIR/none.sock"
grep -q "$T_DIR/none.sock" "$T_DIR/out" && grep -q 'agent. running?' "$T_DIR/out" ||
    fail "missing socket: $(cat "$T_DIR/out")"
ok "missing socket: $(cat "$T_DIR/out")"

# --- usage errors exit 2 (with the usage), -h exits 0; errors from the agent exit 1 ---
expect 2 dv status a b
grep -q 'usage: dockvisor status' "$T_DIR/out" || fail "no usage: $(cat "$T_DIR/out")"
expect 2 dv stop -nosuchflag "$id"
expect 2 dv logs -tail x "$id"
expect 2 dv exec "$id"
expect 0 dv rm -h
expect 1 dv status nosuchtask
expect 1 dv rm "$id" # running, not forced
grep -q "dockvisor rm: " "$T_DIR/out" || fail "rm of a running task: $(cat "$T_DIR/out")"
expect 0 dv rm -force "$id"
printf '{"name": "%s-dup", "name": "%s-dup2", "config": {"image": "%s"}}' \
    "$T_PREFIX" "$T_PREFIX" "$DV_TEST_IMAGE_BUSYBOX" >"$T_DIR/dup.json"
expect 1 dv run "$T_DIR/dup.json" # B11: as validate refuses it
grep -q 'duplicate' "$T_DIR/out" || fail "run of a spec with a duplicate key: $(cat "$T_DIR/out")"
ok "exit codes: usage 2, agent errors 1; run refuses duplicate keys"
# A NUL character in a string: refused by run, validate and the API, naming the field;
# nothing is created.
printf '{"name": "%s-nul", "config": {"image": "%s", "args": ["a", "b\\u0000c"]}}' \
    "$T_PREFIX" "$DV_TEST_IMAGE_BUSYBOX" >"$T_DIR/nul.json"
before=$(dv status -json | jq length)
expect 1 dv run "$T_DIR/nul.json"
grep -q 'config.args\[1\]: holds a NUL character' "$T_DIR/out" || fail "run, NUL: $(cat "$T_DIR/out")"
expect 1 dv validate "$T_DIR/nul.json"
grep -q 'config.args\[1\]: holds a NUL character' "$T_DIR/out" || fail "validate, NUL: $(cat "$T_DIR/out")"
answer=$(api -s -w '\n%{http_code}' -X POST --data-binary "@$T_DIR/nul.json" http://localhost/v1/tasks)
if [ "$(tail -1 <<<"$answer")" != 400 ] || ! grep -q 'config.args\[1\]: holds a NUL' <<<"$answer"; then
    fail "API, NUL: $answer"
fi
[ "$(dv status -json | jq length)" = "$before" ] || fail "a task was created from a spec with a NUL"
ok "a NUL in a spec is refused naming config.args[1], by run, validate and the API"

# --- B10: no docklog collects logs: `logs -f` of a finished task ends (or is refused) ---
stop_agent || fail "agent stop"
start_agent 24700 24709 '{"docker": {"disable_log_collection": true}}'
f=$(spec nocollect "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "echo" | .config.args = ["hello"]')
id=$(dv run -detach "$f")
wait_state "$id" exited
rc=0
timeout 30 "$DOCKVISOR_BIN" logs -f "$id" >"$T_DIR/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "logs -f without log collection exited $rc (124: hung): $(cat "$T_DIR/out")"
ok "logs -f without log collection ends ($rc): $(cat "$T_DIR/out")"
finish
