#!/usr/bin/env bash
# Task logs through the agent: docklog is launched per container, `logs`
# reads the files (stdout, stderr, -tail), `logs -f` streams while the task
# runs and ends once the helper drained the exited container (every line
# exactly once), and a restarted task's helper waits for the old one.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 23300 23319

# --- a finished task: stdout, stderr, tail ---
f=$(spec lines "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "10"]')
id=$(dv run -detach "$f")
wait_state "$id" exited
wait_for 20 sh -c "'$DOCKVISOR_BIN' logs -stderr $id | grep -qx '10 stderr'" || fail "stderr never complete"
out=$(dv logs "$id")
[ "$out" = "$(printf '%s stdout\n' 1 3 5 7 9)" ] || fail "stdout: $out"
err=$(dv logs -stderr "$id")
[ "$err" = "$(printf '%s stderr\n' 2 4 6 8 10)" ] || fail "stderr: $err"
[ "$(dv logs -tail 2 "$id")" = "$(printf '7 stdout\n9 stdout')" ] || fail "tail: $(dv logs -tail 2 "$id")"
[ -z "$(dv logs -tail 0 "$id")" ] || fail "tail 0"
ok "logs of a finished task: stdout, stderr, tail"
grep -q "reading Docker's log files at" "$T_DIR/data/tasks/$id/docklog.log" ||
    fail "auto did not read json-file from disk: $(cat "$T_DIR/data/tasks/$id/docklog.log")"

# --- docker.log_source: passed to the helpers started after a reload; a bad value refused ---
cp "$T_DIR/agent.json" "$T_DIR/agent.json.orig"
reload_with() { # JQ: the agent config changed by JQ, then SIGHUP
    jq "$1" "$T_DIR/agent.json.orig" >"$T_DIR/agent.json"
    kill -HUP "$T_AGENT_PID"
}
# A task run now gets every line, its docklog was told SOURCE and says DIAG.
expect_source() { # SOURCE DIAG
    local f id
    f=$(spec "via$1" "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "4"]')
    id=$(dv run -detach "$f")
    wait_state "$id" exited
    wait_for 20 sh -c "'$DOCKVISOR_BIN' logs -stderr $id | grep -qx '4 stderr'" || fail "$1: stderr never complete"
    [ "$(jq -r .source "$T_DIR/data/tasks/$id/docklog.json")" = "$1" ] || fail "$1: not in docklog.json"
    grep -q "$2" "$T_DIR/data/tasks/$id/docklog.log" ||
        fail "$1: not honoured: $(cat "$T_DIR/data/tasks/$id/docklog.log")"
}
reload_with '.docker.log_source = "api"'
wait_for 10 grep -q "configuration reloaded" "$T_DIR/agent.log" || fail "no reload"
expect_source api "the config asks for the API"
reload_with '.docker.log_source = "disk"'
wait_for 10 grep -q 'docker.log_source: must be "auto", "file" or "api"' "$T_DIR/agent.log" ||
    fail "a bad docker.log_source not refused by name: $(tail -3 "$T_DIR/agent.log")"
reload_with '.docker.log_source = "file"'
wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$T_DIR/agent.log') = 2 ]" || fail "no second reload"
expect_source file "reading Docker's log files at"
cp "$T_DIR/agent.json.orig" "$T_DIR/agent.json"
kill -HUP "$T_AGENT_PID"
ok "docker.log_source api and file honoured after a reload, a bad value refused naming it"

# --- follow: lines arrive while the task runs; the stream ends when it is drained ---
f=$(spec slow "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "30", "20"]')
id=$(dv run -detach "$f")
timeout 60 "$DOCKVISOR_BIN" logs -f "$id" >"$T_DIR/follow.out" || fail "logs -f did not end by itself"
[ "$(cat "$T_DIR/follow.out")" = "$(seq 1 2 29 | sed 's/$/ stdout/')" ] ||
    fail "follow output: $(cat "$T_DIR/follow.out")"
ok "logs -f: every line once, ended when drained"

# --- what the payload reports about signals is in its logs ---
f=$(spec sig "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["signals"] | .kill_signal = "SIGINT"')
id=$(dv run -detach "$f")
wait_state "$id" running
wait_for 20 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q 'waiting for signals'" || fail "no start line"
dv signal "$id" SIGHUP
wait_for 20 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q 'signal 1 HUP'" || fail "SIGHUP not in the logs"

# --- a restart keeps appending to the same files, after the old helper drained ---
dv restart "$id" >/dev/null || fail "restart"
wait_for 20 sh -c "[ \$('$DOCKVISOR_BIN' logs $id | grep -c 'waiting for signals') = 2 ]" ||
    fail "after restart: $(dv logs "$id")"
[ "$(dv logs "$id" | grep -c 'signal 2 INT')" = 1 ] || fail "the stop's SIGINT: $(dv logs "$id")"
ok "signals reported in the logs; a restart appends after the drained first run"

# --- no log collection: logs.disabled ---
f=$(spec nologs "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "true" | .logs = {disabled: true}')
id=$(dv run -detach "$f")
wait_state "$id" exited
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' "http://localhost/v1/tasks/$id/logs")
[ "$status" = 404 ] || fail "logs of a task without logs: $status"
ok "logs.disabled: no helper, 404 with a reason"
finish
