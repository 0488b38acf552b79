#!/usr/bin/env bash
# The agent against the real dockerd: run → running → stop (kill_signal SIGINT;
# SIGUSR1 ignored, so stopped after kill_timeout) with correct exit results; an
# `echo hello` task exits 0 and is reported as exited successfully; exec output
# and exit code; signals reach the container; stats are sane; a served port
# answers on 127.0.0.1 and NOMAD_* are set; SIGTERM leaves containers running;
# the socket is refused to a second agent.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

# sd_notify: READY=1 once listening, STATUS= with task counts.
"$DV_NOTIFY_LISTEN_BIN" "$T_DIR/notify.sock" >"$T_DIR/notify.log" 2>&1 &
T_BG_PIDS+=($!)
wait_for 5 test -S "$T_DIR/notify.sock" || fail "notify listener"
NOTIFY_SOCKET="$T_DIR/notify.sock" start_agent 23100 23149
wait_for 5 grep -q "READY=1" "$T_DIR/notify.log" || fail "no READY=1: $(cat "$T_DIR/notify.log")"
grep -q "STATUS=0 tasks" "$T_DIR/notify.log" || fail "no STATUS=: $(cat "$T_DIR/notify.log")"
ok "sd_notify READY=1 and STATUS="

# --- node ---
node=$(dv node-status -json)
[ "$(jq -r .healthy <<<"$node")" = true ] || fail "node not healthy: $node"
[ "$(jq -r .docker.docker_version <<<"$node")" = "$(docker version -f '{{.Server.Version}}')" ] ||
    fail "docker version differs: $node"
[ "$(jq -r .docker.bridge_ip <<<"$node")" = "$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)" ] ||
    fail "bridge ip: $node"
jq -e '.docker.runtimes | index("runc")' <<<"$node" >/dev/null || fail "runtimes: $node"
jq -e '.policy.allow_privileged == false and .policy.volumes_enabled == false' <<<"$node" >/dev/null ||
    fail "policy: $node"
[ "$(stat -c %a "$T_DIR/agent.sock")" = 660 ] || fail "socket mode $(stat -c %a "$T_DIR/agent.sock")"
ok "node-status"

# A second agent on the same socket must refuse to start.
jq '.data_dir += "-2"' "$T_DIR/agent.json" >"$T_DIR/agent2.json"
if "$DOCKVISOR_BIN" agent -config "$T_DIR/agent2.json" >"$T_DIR/agent2.log" 2>&1; then
    fail "a second agent started on the same socket"
fi
grep -q "another agent is already listening" "$T_DIR/agent2.log" || fail "$(cat "$T_DIR/agent2.log")"
# refused before it created any state (review C10)
[ ! -e "$T_DIR/data-2" ] || fail "the agent refused for the socket created its data dir"
jq '.socket += "-2"' "$T_DIR/agent.json" >"$T_DIR/agent3.json"
if "$DOCKVISOR_BIN" agent -config "$T_DIR/agent3.json" >"$T_DIR/agent3.log" 2>&1; then
    fail "a second agent started on the same data dir"
fi
grep -q "another agent is running on the data dir" "$T_DIR/agent3.log" || fail "$(cat "$T_DIR/agent3.log")"
[ ! -e "$T_DIR/agent.sock-2" ] || fail "the refused agent left a socket"
ok "second agent refused (same socket, same data dir)"

# --- echo hello: exits 0, reported as exited successfully ---
f=$(spec hello "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "echo" | .config.args = ["hello"]')
dv run "$f" >"$T_DIR/run-hello.out" || fail "run hello: $(cat "$T_DIR/run-hello.out")"
id=$(dv status -json | jq -r --arg n "$T_PREFIX-hello" '.[] | select(.name == $n) | .id')
wait_state "$id" exited
[ "$(task_field "$id" .exit.exit_code)" = 0 ] || fail "hello exit code $(task_field "$id" .exit)"
has_event "$id" Terminated "exited successfully" || fail "no 'exited successfully' event"
[ "$(docker logs "$(task_field "$id" .container_id)")" = hello ] || fail "hello output"
wait_for 20 sh -c "[ \"\$('$DOCKVISOR_BIN' logs $id)\" = hello ]" || fail "logs: $(dv logs "$id")"
ok "echo hello exited successfully"

# --- a task stopped with kill_signal SIGINT ---
f=$(spec sigint "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["signals"] | .kill_signal = "SIGINT" | .kill_timeout = "10s"')
id=$(dv run -detach "$f")
wait_state "$id" running
cid=$(task_field "$id" .container_id)
wait_for 10 sh -c "docker logs $cid | grep -q 'waiting for signals'" || fail "payload did not start"

# exec: output and exit code
out=$(dv exec "$id" -- /bin/payload env) || fail "exec env"
grep -qx "NOMAD_TASK_NAME=$T_PREFIX-sigint" <<<"$out" || fail "exec output: $out"
rc=0
dv exec "$id" -- /bin/payload exit 7 || rc=$?
[ "$rc" = 7 ] || fail "exec exit code $rc, want 7"
rc=0
dv exec -timeout 1s "$id" -- /bin/payload sleep 5 2>"$T_DIR/exec.err" || rc=$?
[ "$rc" = 1 ] && grep -qi "time" "$T_DIR/exec.err" || fail "exec timeout: $rc $(cat "$T_DIR/exec.err")"
ok "exec output, exit code and timeout"

# signal reaches the container
dv signal "$id" SIGUSR1 || fail "signal"
wait_for 10 sh -c "docker logs $cid | grep -q 'signal 10 USR1'" || fail "SIGUSR1 not reported by the payload"
has_event "$id" Signaling SIGUSR1 || fail "no Signaling event"
ok "signal reached the container"

# stats
stats=$(dv stats -json "$id") || fail "stats"
jq -e '.memory.usage > 0 and .memory.rss >= 0 and .cpu.percent >= 0 and .cpu.throttled_periods >= 0' \
    <<<"$stats" >/dev/null || fail "stats not sane: $stats"
ok "stats: $(jq -c . <<<"$stats")"

dv stop "$id" >/dev/null || fail "stop"
[ "$(task_field "$id" .state)" = stopped ] || fail "state after stop: $(task_field "$id" .state)"
[ "$(task_field "$id" .exit.exit_code)" = 130 ] || fail "SIGINT exit: $(task_field "$id" .exit)"
[ "$(task_field "$id" .exit.signal)" = 2 ] || fail "SIGINT signal: $(task_field "$id" .exit)"
docker logs "$cid" | matches 'signal 2 INT' || fail "payload did not report SIGINT"
[ "$(task_field "$id" .desired)" = stopped ] || fail "desired state"
ok "stopped with SIGINT: exit 130"

# --- a task that ignores its kill_signal is stopped after kill_timeout ---
f=$(spec stubborn "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["ignore-term", "--", "sleep"] | .kill_signal = "SIGUSR1" | .kill_timeout = "2s"')
id=$(dv run -detach "$f")
wait_state "$id" running
dv stop "$id" >/dev/null || fail "stop stubborn"
[ "$(task_field "$id" .state)" = stopped ] || fail "stubborn state"
[ "$(task_field "$id" .exit.exit_code)" = 137 ] || fail "stubborn exit: $(task_field "$id" .exit)"
has_event "$id" Killing "still running 2s after SIGUSR1" || fail "no kill-timeout event"
ok "SIGUSR1 ignored: stopped after kill_timeout, exit 137"

# The stop flags override the spec: SIGINT with a timeout
f=$(spec override "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["signals"]')
id=$(dv run -detach "$f")
wait_state "$id" running
cid=$(task_field "$id" .container_id)
wait_for 10 sh -c "docker logs $cid | grep -q 'waiting for signals'" || fail "payload did not start"
dv stop -signal SIGUSR1 -timeout 1s "$id" >/dev/null || fail "stop -signal"
[ "$(task_field "$id" .exit.exit_code)" = 143 ] || fail "override exit: $(task_field "$id" .exit)"
docker logs "$cid" | matches 'signal 10 USR1' || fail "payload did not get SIGUSR1"
ok "stop -signal SIGUSR1 -timeout 1s, then the Engine stop"

# --- ports: HTTP on an allocated port, NOMAD_* variables ---
f=$(spec web "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["http", "8080", "hello from the web task\n"] |
    .config.ports = ["http"] | .network = {mode: "bridge", ports: {http: {to: 8080}, admin: {}}}')
id=$(dv run -detach "$f")
wait_state "$id" running
port=$(task_json "$id" | jq -r '.ports[] | select(.label == "http") | .host_port')
[ "$port" -ge 23100 ] && [ "$port" -le 23149 ] || fail "port $port outside the range"
body=$(curl -sf --retry 20 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/") || fail "GET :$port"
[ "$body" = "hello from the web task" ] || fail "body: $body"
envs=$(dv exec "$id" -- /bin/payload env)
admin=$(task_json "$id" | jq -r '.ports[] | select(.label == "admin") | .host_port')
for want in "NOMAD_PORT_http=8080" "NOMAD_HOST_PORT_http=$port" "NOMAD_IP_http=127.0.0.1" \
    "NOMAD_ADDR_http=127.0.0.1:$port" "NOMAD_PORT_admin=$admin" "NOMAD_ALLOC_ID=$id" \
    "NOMAD_ALLOC_DIR=/alloc" "NOMAD_TASK_DIR=/local" "NOMAD_SECRETS_DIR=/secrets"; do
    grep -qx "$want" <<<"$envs" || fail "missing $want in: $envs"
done
[ "$port" != "$admin" ] || fail "two labels got the same port"
ok "port $port answers; NOMAD_* set"

# task directories exist with their modes
root="$T_DIR/data/tasks/$id"
[ "$(stat -c %a "$root/$T_PREFIX-web/secrets")" = 700 ] || fail "secrets mode"
[ -d "$root/alloc/logs" ] && [ -d "$root/$T_PREFIX-web/local" ] || fail "task dirs"

# --- SIGHUP: reloadable settings apply, restart-only ones are kept, a bad file changes nothing ---
grep -q "STATUS=.*running" "$T_DIR/notify.log" || fail "STATUS= without running tasks: $(tail -3 "$T_DIR/notify.log")"
cp "$T_DIR/agent.json" "$T_DIR/agent.json.orig"
jq '.port_range = "23140-23149" | .data_dir += "-moved"' "$T_DIR/agent.json.orig" >"$T_DIR/agent.json"
kill -HUP "$T_AGENT_PID"
wait_for 10 grep -q "configuration reloaded" "$T_DIR/agent.log" || fail "no reload"
grep -q "data_dir changed, which needs an agent restart" "$T_DIR/agent.log" || fail "no restart warning"
f=$(spec reloaded "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .network = {ports: {p: {}}}')
rid=$(dv run -detach "$f")
rport=$(task_json "$rid" | jq -r '.ports[0].host_port')
[ "$rport" -ge 23140 ] && [ "$rport" -le 23149 ] || fail "port $rport not from the reloaded range"
[ -d "$T_DIR/data/tasks/$rid" ] || fail "data_dir changed without a restart"
echo '{"port_range": "nonsense"' >"$T_DIR/agent.json"
kill -HUP "$T_AGENT_PID"
wait_for 10 grep -q "the running configuration is kept" "$T_DIR/agent.log" || fail "bad reload not reported"
dv node-status >/dev/null || fail "the agent did not survive a bad reload"
cp "$T_DIR/agent.json.orig" "$T_DIR/agent.json"
wait_state "$rid" running
dv rm -force "$rid" >/dev/null
ok "SIGHUP reload"

# --- SIGTERM: the agent exits 0, the container keeps running ---
cid=$(task_field "$id" .container_id)
stop_agent || fail "the agent did not exit 0 on SIGTERM"
[ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] || fail "SIGTERM stopped the container"
[ ! -e "$T_DIR/agent.sock" ] || fail "socket left behind"
curl -sf "http://127.0.0.1:$port/" >/dev/null || fail "the task stopped serving"
ok "SIGTERM left the container running"

# --- a fresh agent on the same data dir; destroy rules ---
start_agent 23100 23149
f=$(spec rmme "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"]')
id=$(dv run -detach "$f")
wait_state "$id" running
cid=$(task_field "$id" .container_id)
if dv rm "$id" 2>"$T_DIR/rm.err"; then fail "rm of a running task succeeded"; fi
grep -q "use force" "$T_DIR/rm.err" || fail "rm message: $(cat "$T_DIR/rm.err")"
dv rm -force "${id:0:8}" >/dev/null || fail "rm -force by prefix"
docker inspect "$cid" >/dev/null 2>&1 && fail "the container survived destroy (gc.container)"
[ ! -d "$T_DIR/data/tasks/$id" ] || fail "task dir survived destroy"
[ ! -f "$T_DIR/data/state/tasks/$id.json" ] || fail "record survived destroy"
dv status "$id" 2>/dev/null && fail "destroyed task still listed"
ok "destroy: refused while running, forced by id prefix, container and dirs gone"
finish
