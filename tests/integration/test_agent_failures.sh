#!/usr/bin/env bash
# Failure paths against the real dockerd and registry: a container that already
# exists under the task's name (stopped: removed and replaced; running: reused),
# missing image, unreachable registry, registry auth (right and wrong
# password), policy violations and bad specs (400, nothing created), port
# conflicts (409), image load from the task's local dir, and the restart block.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 23150 23189
count_ours() { our_containers | wc -l; }

# --- a dead container holds the task's name: removed, the task starts ---
f=$(spec conflict "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .kill_timeout = "1s"')
id=$(dv run -detach "$f")
wait_state "$id" running
dv stop "$id" >/dev/null
old=$(task_field "$id" .container_id)
name=$(task_field "$id" .container_name)
docker rename "$old" "$name-renamed"
# (one of this task's own: a container without the task's labels is never removed)
squatter=$(docker create --name "$name" --label "io.dockvisor.node_id=$T_NODE_ID" \
    --label "io.dockvisor.task_id=$id" "$DV_TEST_IMAGE_PAYLOAD" sleep)
dv restart "$id" >/dev/null || fail "restart with a dead squatter"
new=$(task_field "$id" .container_id)
[ "$new" != "$squatter" ] && [ "$new" != "$old" ] || fail "the dead squatter was reused"
docker inspect "$squatter" >/dev/null 2>&1 && fail "the dead squatter is still there"
has_event "$id" Driver "removing the dead container" || fail "no removal event"
ok "dead container under the same name removed, task running"

# --- a running container holds the task's name: reused, no conflict loop ---
dv stop "$id" >/dev/null
old=$(task_field "$id" .container_id)
docker rename "$old" "$name-renamed2"
squatter=$(docker run -d --name "$name" --label "io.dockvisor.node_id=$T_NODE_ID" \
    --label "io.dockvisor.task_id=$id" "$DV_TEST_IMAGE_PAYLOAD" sleep)
dv restart "$id" >/dev/null || fail "restart with a running squatter"
[ "$(task_field "$id" .container_id)" = "$squatter" ] || fail "the running container was not reused"
has_event "$id" Driver "reusing the running container" || fail "no reuse event"
dv stop "$id" >/dev/null || fail "stop the reused container"
[ "$(docker inspect -f '{{.State.Running}}' "$squatter")" = false ] || fail "reused container still runs"
ok "running container under the same name reused"

# --- missing image, unreachable registry: failed task, clear event, no container ---
before=$(count_ours)
f=$(spec noimage "$DV_TEST_REGISTRY/dockvisor-test/does-not-exist:1")
id=$(dv run -detach "$f")
wait_state "$id" failed
has_event "$id" "Driver Failure" "does-not-exist" || fail "no pull failure event: $(task_json "$id" | jq -c .events)"
has_event "$id" "Not Restarting" "." || fail "no Not Restarting event"
[ "$(task_field "$id" .container_id)" = null ] || fail "a container was recorded"
rc=0
dv run "$(spec noimage2 "$DV_TEST_REGISTRY/dockvisor-test/does-not-exist:2")" >"$T_DIR/run.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run of a missing image exited $rc"
grep -Eq "^dockvisor run: task [0-9a-f-]+ failed$" "$T_DIR/run.out" || fail "run output: $(cat "$T_DIR/run.out")"
ok "missing image: failed with a clear event"

f=$(spec badregistry "127.0.0.1:23199/dockvisor-test/busybox:1")
id=$(dv run -detach "$f")
wait_state "$id" failed 60
has_event "$id" "Driver Failure" "127.0.0.1:23199" || fail "no registry failure event"
[ "$(count_ours)" = "$before" ] || fail "a failed pull left a container"
ok "unreachable registry: failed, no container"

# --- registry auth from the task's auth block ---
f="$T_DIR/spec-authok.json"
# (with Nomad's optional https:// prefix, which must be stripped)
jq -n --arg n "$T_PREFIX-authok" --arg i "https://$DV_TEST_REGISTRY/dockvisor-test/busybox:1" \
    --arg u "$DV_TEST_REGISTRY_USER" --arg p "$DV_TEST_REGISTRY_PASSWORD" \
    '{name: $n, config: {image: $i, force_pull: true, command: "echo", args: ["pulled"],
      auth: {username: $u, password: $p}}, restart: {attempts: 0}}' >"$f"
id=$(dv run -detach "$f")
wait_state "$id" exited 60
[ "$(task_field "$id" .exit.exit_code)" = 0 ] || fail "authenticated pull task"
has_event "$id" Driver "with registry credentials" || fail "no credentials event"
[ "$(task_field "$id" .image)" = "$DV_TEST_REGISTRY/dockvisor-test/busybox:1" ] ||
    fail "https:// not stripped: $(task_field "$id" .image)"
task_json "$id" | matches "$DV_TEST_REGISTRY_PASSWORD" && fail "the password is shown by status"
grep -q "$DV_TEST_REGISTRY_PASSWORD" "$T_DIR/agent.log" && fail "the password is in the agent log"
jq '.config.auth.password = "wrong" | .name += "-bad"' "$f" >"$T_DIR/spec-authbad.json"
id=$(dv run -detach "$T_DIR/spec-authbad.json")
wait_state "$id" failed 60
has_event "$id" "Driver Failure" "." || fail "no failure for a wrong password"
ok "registry auth: pull with credentials, refusal with a wrong password, password never shown"

# --- policy violations and bad specs: 400, nothing created ---
before=$(count_ours)
ntasks=$(dv status -json | jq length)
check_400() { # FILE PATTERN
    local status
    status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$1" \
        http://localhost/v1/tasks)
    [ "$status" = 400 ] || fail "status $status for $(cat "$1"): $(cat "$T_DIR/resp.json")"
    jq -e --arg p "$2" '.error | test($p)' "$T_DIR/resp.json" >/dev/null ||
        fail "error for $(cat "$1"): $(cat "$T_DIR/resp.json")"
}
check_400 "$(spec priv "$DV_TEST_IMAGE_BUSYBOX" '.config.privileged = true')" "privileged"
check_400 "$(spec caps "$DV_TEST_IMAGE_BUSYBOX" '.config.cap_add = ["SYS_ADMIN"]')" "sys_admin|SYS_ADMIN"
check_400 "$(spec vol "$DV_TEST_IMAGE_BUSYBOX" '.config.volumes = ["/etc:/host-etc"]')" "volumes"
check_400 "$(spec typo "$DV_TEST_IMAGE_BUSYBOX" '.config.port_mapp = {}')" "port_mapp"
jq -e '.field == "config.port_mapp"' "$T_DIR/resp.json" >/dev/null || fail "field: $(cat "$T_DIR/resp.json")"
rc=0
dv run "$(spec priv2 "$DV_TEST_IMAGE_BUSYBOX" '.config.privileged = true')" 2>"$T_DIR/err" || rc=$?
[ "$rc" = 1 ] && grep -q privileged "$T_DIR/err" || fail "run of a privileged spec: $rc $(cat "$T_DIR/err")"
[ "$(count_ours)" = "$before" ] || fail "a refused spec created a container"
[ "$(dv status -json | jq length)" = "$ntasks" ] || fail "a refused spec created a task"
ok "policy violations and bad specs: 400 naming the field, nothing created"

# --- ports: a static port held by a task or bound on the host is refused ---
f=$(spec static1 "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["sleep"] | .network = {ports: {http: {static: 23195}}}')
id=$(dv run -detach "$f")
wait_state "$id" running
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST \
    --data-binary @"$(spec static2 "$DV_TEST_IMAGE_PAYLOAD" '.network = {ports: {http: {static: 23195}}}')" \
    http://localhost/v1/tasks)
[ "$status" = 409 ] || fail "static port held by a task: $status $(cat "$T_DIR/resp.json")"
# (the static payload serves on 0.0.0.0:23196, which 127.0.0.1:23196 conflicts with)
"$DV_PAYLOAD_BIN" http 23196 >"$T_DIR/bound" 2>&1 &
holder=$!
T_BG_PIDS+=($holder)
wait_for 20 grep -q "listening on 23196" "$T_DIR/bound" || fail "could not bind 23196 for the test: $(cat "$T_DIR/bound")"
status=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST \
    --data-binary @"$(spec static3 "$DV_TEST_IMAGE_PAYLOAD" '.network = {ports: {http: {static: 23196}}}')" \
    http://localhost/v1/tasks)
kill $holder
[ "$status" = 409 ] || fail "static port bound on the host: $status $(cat "$T_DIR/resp.json")"
jq -e '.error | test("already in use")' "$T_DIR/resp.json" >/dev/null || fail "$(cat "$T_DIR/resp.json")"
dv rm -force "$id" >/dev/null
ok "static port conflicts: 409"

# --- load: the image comes from a tar in the task's local dir ---
img="dvtest-agent-$$-loaded:1"
f=$(spec load "$img" '.config.load = "image.tar" | .config.command = "echo" | .config.args = ["loaded"]')
id=$(dv run -detach "$f")
wait_state "$id" failed
docker tag "$DV_TEST_IMAGE_BUSYBOX" "$img"
docker save -o "$T_DIR/data/tasks/$id/$T_PREFIX-load/local/image.tar" "$img"
docker rmi "$img" >/dev/null
dv restart "$id" >/dev/null || true
wait_state "$id" exited
has_event "$id" Driver "Loading image from image.tar" || fail "no load event"
[ "$(docker logs "$(task_field "$id" .container_id)")" = loaded ] || fail "loaded image did not run"
dv rm "$id" >/dev/null
docker rmi "$img" >/dev/null || fail "remove the loaded image"
ok "image loaded from the local dir"

# --- OOM: the exit result and the events say so ---
f=$(spec oom "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["memhog", "256"] | .resources = {cpu: 100, memory: 16}')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
# Docker may report the OOM kill (its "oom" event) only after the exit: the agent
# mends the recorded exit then, so give it a moment.
wait_for 10 test "$(task_field "$id" .exit.oom_killed)" = true ||
    fail "not OOM killed: $(task_field "$id" .exit)"
{ has_event "$id" Terminated "OOM killed .*ran out of memory" ||
    has_event "$id" "OOM Killed" "ran out of memory"; } ||
    fail "no OOM event: $(task_json "$id" | jq -c .events)"
ok "OOM kill reported: $(task_json "$id" | jq -c .exit)"

# --- restart block: attempts, delay, then failed ---
f=$(spec crash "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["exit", "3"] |
    .restart = {attempts: 1, interval: "5m", delay: "1s", mode: "fail"}')
id=$(dv run -detach "$f")
wait_state "$id" failed 30
[ "$(task_field "$id" .restarts)" = 1 ] || fail "restarts: $(task_field "$id" .restarts)"
has_event "$id" Restarting "exit code 3" || fail "no Restarting event"
has_event "$id" "Not Restarting" "exceeded allowed attempts" || fail "no Not Restarting event"
ok "restart block: one restart, then failed"
finish
