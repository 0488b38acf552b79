#!/usr/bin/env bash
# Nomad's interpolation on the real dockerd: ${NOMAD_*}, ${node.*}, ${meta.*},
# ${attr.*} and ${env["X"]} in the fields Nomad interpolates (image, volumes,
# mount targets, extra_hosts, dns, sysctl, labels, env, work_dir, args), the
# node's identity from the agent config (the node_name label), "$${" kept as a
# literal, the same values after an agent restart (the spec is resolved again on
# recovery, the container is adopted, not recreated), and an unknown variable
# refused at submit naming the field, leaving nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

node="dvnode-$$"
repo=${DV_TEST_IMAGE_BUSYBOX%%/*}     # "dockvisor-test"
rest=${DV_TEST_IMAGE_BUSYBOX#*/}      # "busybox:1"
start_agent 25200 25209 "$(jq -n --arg n "$node" --arg r "$repo" '{
    node: {name: $n, datacenter: "dc-test", region: "r-test", node_class: "c1",
           meta: {repo: $r, rack: "r7"}},
    docker: {extra_labels: ["node_name", "job_name", "task_group_name"]}}')"

f=$(spec interp "\${meta.repo}/$rest" '.config.command = "sh"
    | .config.args = ["-c", "echo LIT=\u0027$${HOME}\u0027; echo WD=$(pwd); env; cat /etc/hosts; sleep 3600"]
    | .config.volumes = ["local:/in/${meta.rack}"]
    | .config.mount = [{type: "tmpfs", target: "/t/${NOMAD_ALLOC_INDEX}-${NOMAD_SHORT_ALLOC_ID}"}]
    | .config.extra_hosts = ["${node.unique.name}:127.0.0.9"]
    | .config.dns_search_domains = ["${NOMAD_DC}.example"]
    | .config.sysctl = {"net.ipv4.ip_unprivileged_port_start": "${NOMAD_PORT_web}"}
    | .config.labels = {dc: "${node.datacenter}", port: "${NOMAD_HOST_PORT_web}",
                        class: "${node.class}", id: "${node.unique.id}"}
    | .config.work_dir = "${NOMAD_TASK_DIR}"
    | .config.ports = ["web"]
    | .network = {ports: {web: {to: 1000}}}
    | .meta = {owner: "ops"}
    | .env = {KERNEL: "${attr.kernel.name}-${NOMAD_REGION}", TASK: "${env[\"NOMAD_TASK_NAME\"]}"}')
id=$(dv run -detach "$f")
wait_state "$id" running 60
cid=$(task_field "$id" .container_id)
short=${id:0:8}
port=$(task_field "$id" '.ports[] | select(.label == "web") | .host_port')
ins=$(docker inspect "$cid")
q() { jq -r ".[0].$1" <<<"$ins"; }

[ "$(q Config.Labels.dc)" = dc-test ] || fail "label dc: $(q Config.Labels.dc)"
[ "$(q Config.Labels.port)" = "$port" ] || fail "label port: $(q Config.Labels.port), want $port"
[ "$(q Config.Labels.class)" = c1 ] || fail "label class: $(q Config.Labels.class)"
[ "$(q Config.Labels.id)" = "$T_NODE_ID" ] || fail "label id: $(q Config.Labels.id)"
[ "$(q 'Config.Labels["com.hashicorp.nomad.node_name"]')" = "$node" ] ||
    fail "node_name label: $(q 'Config.Labels["com.hashicorp.nomad.node_name"]')"
[ "$(q 'Config.Labels["com.hashicorp.nomad.job_name"]')" = "$T_PREFIX-interp" ] || fail "job_name label"
[ "$(q 'Config.Labels["com.hashicorp.nomad.task_group_name"]')" = "$T_PREFIX-interp" ] ||
    fail "task_group_name label"
q HostConfig.Binds | jq -e --arg s "/local:/in/r7" 'any(.[]; endswith($s))' >/dev/null ||
    fail "volume not interpolated: $(q HostConfig.Binds)"
[ "$(q 'HostConfig.Mounts[0].Target')" = "/t/0-$short" ] || fail "mount target: $(q 'HostConfig.Mounts[0].Target')"
[ "$(q 'HostConfig.ExtraHosts[0]')" = "$node:127.0.0.9" ] || fail "extra_hosts: $(q HostConfig.ExtraHosts)"
[ "$(q 'HostConfig.DnsSearch[0]')" = dc-test.example ] || fail "dns_search_domains: $(q HostConfig.DnsSearch)"
[ "$(q 'HostConfig.Sysctls["net.ipv4.ip_unprivileged_port_start"]')" = 1000 ] || fail "sysctl: $(q HostConfig.Sysctls)"
[ "$(q Config.WorkingDir)" = /local ] || fail "work_dir: $(q Config.WorkingDir)"
img=$(q Config.Image)
[ "$(docker image inspect -f '{{.Id}}' "$DV_TEST_IMAGE_BUSYBOX")" = "$(docker image inspect -f '{{.Id}}' "$img")" ] ||
    fail "image ${meta.repo}/$rest did not resolve to $DV_TEST_IMAGE_BUSYBOX: $img"
ok "image, volumes, mount, extra_hosts, dns, sysctl, labels, work_dir interpolated; node_name label"

logs_have() { docker logs "$cid" 2>&1 | matches "$1"; }
wait_for 20 logs_have "NOMAD_ALLOC_NAME=" || fail "no env in the logs: $(docker logs "$cid" 2>&1 | head -5)"
logs=$(docker logs "$cid" 2>&1)
for want in "LIT=\${HOME}" "WD=/local" "KERNEL=linux-r-test" "TASK=$T_PREFIX-interp" \
    "NOMAD_DC=dc-test" "NOMAD_REGION=r-test" "NOMAD_META_owner=ops" "NOMAD_ALLOC_INDEX=0" \
    "NOMAD_SHORT_ALLOC_ID=$short" "NOMAD_GROUP_NAME=$T_PREFIX-interp" \
    "NOMAD_ALLOC_NAME=$T_PREFIX-interp.$T_PREFIX-interp[0]" "NOMAD_JOB_NAME=$T_PREFIX-interp"; do
    grep -qxF -- "$want" <<<"$logs" || fail "container output lacks $want"
done
grep -qE "^127\.0\.0\.9[[:space:]]+$node\$" <<<"$logs" || fail "/etc/hosts lacks $node"
ok "env, \${env[...]}, \${attr.*}, the \$\${ escape as the container sees them"

# --- the spec as resolved at submit is the task's for its life ---
[ "$(task_field "$id" '.spec_resolved.config.volumes[0]')" = "local:/in/r7" ] ||
    fail "status lacks the resolved spec: $(task_json "$id" | jq -c .spec_resolved)"
[ "$(task_field "$id" '.spec.config.volumes[0]')" = 'local:/in/${meta.rack}' ] || fail "status lost the spec as written"
# an agent restart with the meta the spec used gone: adopted, not refused or restarted
stop_agent
start_agent 25200 25209 "$(jq -n --arg n "$node" '{node: {name: $n, datacenter: "dc-other"},
    docker: {extra_labels: ["node_name", "job_name", "task_group_name"]}}')"
wait_state "$id" running 30
[ "$(task_field "$id" .container_id)" = "$cid" ] || fail "the container was replaced on recovery"
[ "$(docker inspect -f '{{.RestartCount}} {{.State.StartedAt}}' "$cid")" = \
  "$(jq -r '"\(.[0].RestartCount) \(.[0].State.StartedAt)"' <<<"$ins")" ] || fail "the container was restarted"
[ "$(task_field "$id" '.spec_resolved.config.dns_search_domains[0]')" = dc-test.example ] ||
    fail "the resolved spec changed with the node's config"
ok "after an agent restart without the meta it used: adopted, not restarted, same resolved spec"

# --- an unknown variable: 400 naming the field, nothing created ---
before_tasks=$(ls "$T_DIR/data/tasks" | wc -l)
before_containers=$(our_containers | wc -l)
check_refused() { # JQ_EXPR FIELD
    local bad code
    bad=$(spec bad "$DV_TEST_IMAGE_BUSYBOX" "$1")
    code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$bad" http://localhost/v1/tasks)
    [ "$code" = 400 ] || fail "unknown variable in $2: HTTP $code $(cat "$T_DIR/resp.json")"
    [ "$(jq -r .field "$T_DIR/resp.json")" = "$2" ] || fail "error names $(jq -r .field "$T_DIR/resp.json"), want $2"
    jq -r .error "$T_DIR/resp.json" | grep -q "unknown variable" || fail "error: $(cat "$T_DIR/resp.json")"
}
check_refused '.config.volumes = ["local:/x/${meta.nope}"]' 'config.volumes[0]'
check_refused '.config.args = ["${NOMAD_ALOC_ID}"]' 'config.args[0]'
check_refused '.env = {A: "${attr.no.such}"}' 'env.A'
check_refused '.config.image = "${node.nope}/x"' 'config.image'
[ "$(ls "$T_DIR/data/tasks" | wc -l)" = "$before_tasks" ] || fail "a refused spec left a task directory"
[ "$(our_containers | wc -l)" = "$before_containers" ] || fail "a refused spec left a container"
[ "$(dv status -json | jq length)" = 1 ] || fail "a refused spec left a task"
ok "unknown variables: 400 naming the field; no task, directory or container"

dv rm -force "$id" >/dev/null
finish
