#!/usr/bin/env bash
# Task groups on the real dockerd: a two-task group with bridge networking and
# count 2 (two allocations, each an infra container from our pause image that
# owns the network and publishes the group's port, and two tasks that talk over
# localhost); distinct NOMAD_ALLOC_INDEX and alloc ids; the infra first; an agent
# restart re-adopts all of it, nothing restarted; a killed infra container is
# restarted and its tasks follow it into the new network; destroying an
# allocation takes its tasks, then its infra container, then its directory; a
# bad group is refused naming the field, nothing created.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

PAUSE_IMAGE=${DV_TEST_IMAGE_PAUSE:-dockvisor-test/pause:1}
cfg='{"docker": {"infra_image": "'"$PAUSE_IMAGE"'"}}'
start_agent 25210 25219 "$cfg"

g="$T_DIR/group.json"
jq -n --arg n "$T_PREFIX-web" --arg p "$DV_TEST_IMAGE_PAYLOAD" --arg b "$DV_TEST_IMAGE_BUSYBOX" '{
  name: $n, job: "shop", count: 2,
  network: {mode: "bridge", ports: {http: {to: 8080}}},
  meta: {tier: "front"},
  tasks: [
    {name: "server", config: {image: $p, args: ["http", "${NOMAD_PORT_http}", "hello from the server\n"]},
     kill_timeout: "5s"},
    {name: "client", config: {image: $b, command: "sh", args: ["-c",
       "echo INDEX=${NOMAD_ALLOC_INDEX} ALLOC=${NOMAD_ALLOC_ID} GROUP=${NOMAD_GROUP_NAME} JOB=${NOMAD_JOB_NAME} TIER=${NOMAD_META_tier}; while true; do r=$(wget -qO- http://127.0.0.1:${NOMAD_PORT_http}/ 2>&1) && echo \"GOT $r\"; sleep 1; done"]},
     kill_timeout: "1s"}
  ]}' >"$g"

dv run -detach -json "$g" >"$T_DIR/resp.json" || fail "dockvisor run of a group: $(cat "$T_DIR/resp.json")"
[ "$(jq '.allocations | length' "$T_DIR/resp.json")" = 2 ] || fail "not 2 allocations: $(cat "$T_DIR/resp.json")"
[ "$(jq -r '[.allocations[].index] | sort | join(",")' "$T_DIR/resp.json")" = "0,1" ] || fail "indexes"
[ "$(jq -r '[.allocations[].id] | unique | length' "$T_DIR/resp.json")" = 2 ] || fail "alloc ids not distinct"
allocs=($(jq -r '.allocations[].id' "$T_DIR/resp.json"))
ids=($(jq -r '.allocations[].tasks[].id' "$T_DIR/resp.json"))
[ "${#ids[@]}" = 6 ] || fail "not 3 tasks per allocation: $(cat "$T_DIR/resp.json")"
for id in "${ids[@]}"; do wait_state "$id" running 60; done
ok "a group of count 2: 2 allocations, each an infra task and 2 tasks, all running"

task_of() { # ALLOC NAME-SUFFIX → task id
    api "http://localhost/v1/allocs/$1" | jq -r --arg s "$2" '.tasks[] | select(.name | endswith($s)) | .id'
}
for i in 0 1; do
    a=${allocs[$i]}
    index=$(api "http://localhost/v1/allocs/$a" | jq -r .index)
    infra=$(task_of "$a" -infra)
    server=$(task_of "$a" server)
    client=$(task_of "$a" client)
    icid=$(task_field "$infra" .container_id)
    scid=$(task_field "$server" .container_id)
    ccid=$(task_field "$client" .container_id)
    for c in "$scid" "$ccid"; do
        [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$c")" = "container:$icid" ] ||
            fail "task container $c is not in the infra container's network: $(docker inspect -f '{{.HostConfig.NetworkMode}}' "$c")"
        [ "$(docker inspect -f '{{index .Config.Labels "com.hashicorp.nomad.alloc_id"}}' "$c")" = "$a" ] || fail "alloc_id label of $c"
    done
    # infra first: the tasks' containers started after it
    [[ "$(docker inspect -f '{{.State.StartedAt}}' "$icid")" < "$(docker inspect -f '{{.State.StartedAt}}' "$scid")" ]] ||
        fail "the server started before the infra container"
    # the group's port, published by the infra container, answers from the server
    port=$(task_field "$infra" '.ports[] | select(.label == "http") | .host_port')
    wait_for 20 curl -sf "http://127.0.0.1:$port/" || fail "group port $port does not answer"
    [ "$(curl -s "http://127.0.0.1:$port/")" = "hello from the server" ] || fail "port $port: $(curl -s "http://127.0.0.1:$port/")"
    # the client reaches the server on localhost, and sees its allocation
    logs_have() { docker logs "$ccid" 2>&1 | matches "$1"; }
    wait_for 30 logs_have "GOT hello from the server" || fail "client of alloc $i never reached the server: $(docker logs "$ccid" 2>&1 | tail -3)"
    logs_have "INDEX=$index ALLOC=$a GROUP=$T_PREFIX-web JOB=shop TIER=front" ||
        fail "client env: $(docker logs "$ccid" 2>&1 | head -1)"
    [ -d "$T_DIR/data/allocs/$a/alloc" ] || fail "no shared alloc dir for $a"
done
ok "tasks share the infra container's network (localhost), the group port is published, env per allocation"

# --- an agent restart re-adopts infra and tasks, nothing restarted ---
declare -A started
for id in "${ids[@]}"; do started[$id]="$(task_field "$id" .container_id) $(docker inspect -f '{{.State.StartedAt}}' "$(task_field "$id" .container_id)")"; done
stray=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$T_DIR/data/allocs/$stray/alloc/logs" # as a crash between dir and record leaves it
stop_agent
start_agent 25210 25219 "$cfg"
[ ! -e "$T_DIR/data/allocs/$stray" ] || fail "recovery left an allocation dir no task claims"
for a in "${allocs[@]}"; do [ -d "$T_DIR/data/allocs/$a/alloc" ] || fail "recovery removed allocation dir $a"; done
for id in "${ids[@]}"; do
    wait_state "$id" running 30
    c=$(task_field "$id" .container_id)
    [ "$c $(docker inspect -f '{{.State.StartedAt}}' "$c")" = "${started[$id]}" ] || fail "task $id was restarted or replaced by recovery"
done
ok "agent restart: infra and tasks re-adopted, nothing restarted; a stray allocation dir removed"

# --- the infra container dies: it is restarted, its tasks follow it ---
a=${allocs[0]}
infra=$(task_of "$a" -infra)
client=$(task_of "$a" client)
old_icid=$(task_field "$infra" .container_id)
old_ccid=$(task_field "$client" .container_id)
docker kill "$old_icid" >/dev/null
moved() { local c; c=$(task_field "$client" .container_id); [ "$c" != "$old_ccid" ] && [ "$(task_field "$client" .state)" = running ]; }
wait_for 60 moved || fail "the client did not follow the restarted infra container: $(task_json "$client" | jq -c '[.state, .events[-3:][].message]')"
[ "$(task_field "$infra" .container_id)" != "$old_icid" ] || fail "the infra container was not replaced"
ccid=$(task_field "$client" .container_id)
logs_have() { docker logs "$ccid" 2>&1 | matches "$1"; }
wait_for 30 logs_have "GOT hello from the server" || fail "after the infra restart the client cannot reach the server"
has_event "$client" "Restart Signaled" "infra container was replaced" || fail "no event says why the client restarted"
ok "a killed infra container is restarted and its tasks follow it into the new network"

# --- destroying the infra task alone is refused; the allocation goes as a whole ---
code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X DELETE "http://localhost/v1/tasks/$infra?force=1")
[ "$code" = 409 ] || fail "destroying an infra task in use: HTTP $code"
a1_ids=($(api "http://localhost/v1/allocs/$a" | jq -r '.tasks[].id'))
a1_containers=$(for id in "${a1_ids[@]}"; do task_field "$id" .container_id; done)
code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X DELETE "http://localhost/v1/allocs/$a")
[ "$code" = 202 ] || fail "alloc destroy: HTTP $code $(cat "$T_DIR/resp.json")"
gone() { [ "$(api -o /dev/null -w '%{http_code}' "http://localhost/v1/allocs/$a")" = 404 ]; }
wait_for 60 gone || fail "allocation $a still there: $(api "http://localhost/v1/allocs/$a")"
for c in $a1_containers; do
    ! docker inspect "$c" >/dev/null 2>&1 || fail "container $c of the destroyed allocation is still there"
done
[ ! -e "$T_DIR/data/allocs/$a" ] || fail "the destroyed allocation's directory is still there"
[ "$(api http://localhost/v1/allocs | jq length)" = 1 ] || fail "the other allocation went too"
ok "DELETE /v1/allocs: tasks, infra container and directory gone; the other allocation untouched"

# --- a bad group: refused naming the field, nothing created ---
before=$(dv status -json | jq length)
jq '.tasks[0].config.ports = ["http"]' "$g" >"$T_DIR/bad.json"
code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$T_DIR/bad.json" http://localhost/v1/tasks)
[ "$code" = 400 ] && [ "$(jq -r .field "$T_DIR/resp.json")" = "tasks[0].config.ports" ] ||
    fail "a task's own ports in a bridge group: HTTP $code $(cat "$T_DIR/resp.json")"
jq '.tasks[1].config.volumes = ["/etc:/x"]' "$g" >"$T_DIR/bad.json"
code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$T_DIR/bad.json" http://localhost/v1/tasks)
[ "$code" = 400 ] && [ "$(jq -r .field "$T_DIR/resp.json")" = "tasks[1].config.volumes[0]" ] ||
    fail "a policy refusal in the second task: HTTP $code $(cat "$T_DIR/resp.json")"
[ "$(dv status -json | jq length)" = "$before" ] || fail "a refused group left tasks behind"
[ "$(ls "$T_DIR/data/allocs" | wc -l)" = 1 ] || fail "a refused group left an allocation directory"
ok "bad groups refused naming the field; nothing created"

# --- a group without bridge networking: no infra task, each task in the group's mode ---
jq -n --arg n "$T_PREFIX-solo" --arg b "$DV_TEST_IMAGE_BUSYBOX" '{name: $n, network: {mode: "none"},
    tasks: [{name: "one", config: {image: $b, command: "sleep", args: ["3600"]}, kill_timeout: "1s"}]}' >"$T_DIR/none.json"
dv run -detach -json "$T_DIR/none.json" >"$T_DIR/resp.json" || fail "group in mode none: $(cat "$T_DIR/resp.json")"
[ "$(jq '.allocations[0].tasks | length' "$T_DIR/resp.json")" = 1 ] || fail "mode none got an infra task: $(cat "$T_DIR/resp.json")"
solo_alloc=$(jq -r '.allocations[0].id' "$T_DIR/resp.json")
solo=$(jq -r '.allocations[0].tasks[0].id' "$T_DIR/resp.json")
wait_state "$solo" running 60
[ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$(task_field "$solo" .container_id)")" = none ] || fail "mode none not applied"
dv alloc-rm "$solo_alloc" >/dev/null
gone_solo() { [ "$(api -o /dev/null -w '%{http_code}' "http://localhost/v1/allocs/$solo_alloc")" = 404 ]; }
wait_for 60 gone_solo || fail "the mode-none allocation was not destroyed"
ok "a group in network mode none: no infra task, the mode applied to its task"

# --- the CLI's view: status's ALLOC column, allocs, alloc-rm ---
a=${allocs[1]}
index=$(api "http://localhost/v1/allocs/$a" | jq -r .index)
dv status | matches -E "server +shop\.$T_PREFIX-web\[$index\] +running" || fail "status lacks the ALLOC column: $(dv status)"
dv allocs | matches -E "^$a +shop\.$T_PREFIX-web\[$index\] +[0-9a-f]{8} +$T_PREFIX-web-infra +running +infra" ||
    fail "allocs: $(dv allocs)"
dv status "$(task_of "$a" client)" | matches "^Allocation *= $a (shop.$T_PREFIX-web\[$index\])" || fail "status ID lacks the allocation"
dv alloc-rm "$a" | matches "allocation $a: destroying" || fail "alloc-rm"
wait_for 60 gone || fail "second allocation not destroyed"
code=0; dv alloc-rm "../tasks" >/dev/null 2>&1 || code=$?
[ "$code" = 2 ] || fail "alloc-rm of a bad id exited $code"
ok "status, allocs and alloc-rm show and destroy allocations"
finish
