#!/usr/bin/env bash
# A Nomad job in the JSON form Nomad's API uses (what `nomad job run -output`
# prints: HCL blocks as one-element arrays, durations in nanoseconds) run by
# `dockvisor run` on the real dockerd: count 2 gives two allocations with
# distinct NOMAD_ALLOC_INDEX in env and labels, the job and group in Nomad's
# labels, the datacenter glob and a constraint decided against this node; an
# unsatisfiable constraint and a non-docker driver are refused naming Nomad's
# field, and nothing is created.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

PAUSE_IMAGE=${DV_TEST_IMAGE_PAUSE:-dockvisor-test/pause:1}
start_agent 25230 25239 '{"node": {"datacenter": "dc-test", "meta": {"rack": "r1"}},
    "docker": {"infra_image": "'"$PAUSE_IMAGE"'", "extra_labels": ["job_name", "task_group_name"]}}'

job="$T_DIR/job.json"
jq -n --arg id "$T_PREFIX-shop" --arg p "$DV_TEST_IMAGE_PAYLOAD" --arg b "$DV_TEST_IMAGE_BUSYBOX" '{Job: {
  ID: $id, Name: $id, Type: "service", Datacenters: ["dc-*"], Region: "global", Namespace: "default",
  Meta: {owner: "ops"},
  Constraints: [{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="},
                {LTarget: "${meta.rack}", RTarget: "r1", Operand: "=="}],
  TaskGroups: [{
    Name: "api", Count: 2,
    Networks: [{Mode: "bridge", DynamicPorts: [{Label: "http", To: 8080}]}],
    RestartPolicy: {Attempts: 2, Interval: 1800000000000, Delay: 1000000000, Mode: "fail"},
    Services: null, Volumes: {},
    Tasks: [
      {Name: "srv", Driver: "docker", KillTimeout: 2000000000,
       Config: {image: $p, args: ["http", "${NOMAD_PORT_http}", "hi\n"]},
       Resources: {CPU: 100, MemoryMB: 64}},
      {Name: "env", Driver: "docker", KillTimeout: 1000000000,
       Config: {image: $b, command: "sh",
                args: ["-c", "echo IDX=${NOMAD_ALLOC_INDEX} JOB=${NOMAD_JOB_NAME} GROUP=${NOMAD_GROUP_NAME} OWNER=${NOMAD_META_owner}; sleep 3600"],
                labels: [{idx: "${NOMAD_ALLOC_INDEX}"}],
                logging: [{type: "json-file", config: [{"max-size": "1m"}]}]},
       Resources: {CPU: 50, MemoryMB: 32}}
    ]}]}}' >"$job"

dv run -detach -json "$job" >"$T_DIR/resp.json" || fail "dockvisor run of a Nomad job: $(cat "$T_DIR/resp.json")"
[ "$(jq '.allocations | length' "$T_DIR/resp.json")" = 2 ] || fail "not 2 allocations: $(cat "$T_DIR/resp.json")"
ids=($(jq -r '.allocations[].tasks[].id' "$T_DIR/resp.json"))
for id in "${ids[@]}"; do wait_state "$id" running 60; done
seen=
for a in $(jq -r '.allocations[].id' "$T_DIR/resp.json"); do
    index=$(api "http://localhost/v1/allocs/$a" | jq -r .index)
    env_task=$(api "http://localhost/v1/allocs/$a" | jq -r '.tasks[] | select(.name == "env") | .id')
    c=$(task_field "$env_task" .container_id)
    logs_have() { docker logs "$c" 2>&1 | matches "$1"; }
    wait_for 20 logs_have "IDX=$index JOB=$T_PREFIX-shop GROUP=api OWNER=ops" ||
        fail "allocation $index env: $(docker logs "$c" 2>&1 | head -2)"
    [ "$(docker inspect -f '{{index .Config.Labels "idx"}}' "$c")" = "$index" ] || fail "label idx of allocation $index"
    [ "$(docker inspect -f '{{index .Config.Labels "com.hashicorp.nomad.job_name"}}' "$c")" = "$T_PREFIX-shop" ] || fail "job_name label"
    [ "$(docker inspect -f '{{index .Config.Labels "com.hashicorp.nomad.task_group_name"}}' "$c")" = api ] || fail "task_group_name label"
    [ "$(docker inspect -f '{{.HostConfig.LogConfig.Config}}' "$c")" = "map[max-size:1m]" ] || fail "logging block not unwrapped"
    seen="$seen$index"
done
[ "$seen" = 01 ] || [ "$seen" = 10 ] || fail "allocation indexes: $seen"
ok "a Nomad job with count 2: two allocations, indexes 0 and 1 in env and labels, Nomad's labels"

before=$(dv status -json | jq length)
refused() { # JQ FIELD-PREFIX
    jq "$1" "$job" >"$T_DIR/bad.json"
    local code=0
    dv run -detach "$T_DIR/bad.json" >"$T_DIR/out" 2>&1 || code=$?
    [ "$code" != 0 ] || fail "accepted: $1"
    code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$T_DIR/bad.json" http://localhost/v1/tasks)
    [ "$code" = 400 ] || fail "$1: HTTP $code"
    jq -r .field "$T_DIR/resp.json" | matches "^$2" || fail "$1: field $(jq -r .field "$T_DIR/resp.json"), want $2"
}
refused '.Job.Constraints[0].RTarget = "windows"' 'Job\.Constraints\[0\]'
refused '.Job.Datacenters = ["eu-*"]' 'Job\.Datacenters'
refused '.Job.TaskGroups[0].Tasks[1].Driver = "exec"' 'Job\.TaskGroups\[0\]\.Tasks\[1\]\.Driver'
refused '.Job.TaskGroups[0].Tasks[0].Config.image = "${meta.nope}"' 'Job\.TaskGroups\[0\]\.tasks\[0\]\.config\.image'
[ "$(dv status -json | jq length)" = "$before" ] || fail "a refused job left tasks"
ok "unsatisfiable constraint, wrong datacenter, non-docker driver, unknown variable: refused naming the field"

for a in $(api http://localhost/v1/allocs | jq -r '.[].id'); do dv alloc-rm "$a" >/dev/null; done
none_left() { [ "$(api http://localhost/v1/allocs | jq length)" = 0 ]; }
wait_for 60 none_left || fail "allocations not destroyed"
finish
