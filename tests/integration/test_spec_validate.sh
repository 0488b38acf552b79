#!/usr/bin/env bash
# `dockvisor validate` end to end: translate a spec exercising a wide set of
# options, create the container from the printed body on the real dockerd,
# check `docker inspect` and the running container show every option applied,
# then remove what this test created. Also the command's exit codes.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

BIN=${DOCKVISOR_BIN:?DOCKVISOR_BIN must point at the dockvisor binary}
IMAGE=${DV_TEST_IMAGE_BUSYBOX:-dockvisor-test/busybox:1}
SOCK=/var/run/docker.sock
API=http://d/v1.41
TAG="dvtest-spec-$$"
CNAME="$TAG-web"
NET="$TAG-net"
PREVIEW_ID=00000000-0000-0000-0000-000000000000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dvtest-spec.XXXXXX")
cleanup() {
    docker rm -f "$CNAME" "$CNAME-logs" >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- exit codes and one-line errors (no daemon involved) ----
code=0; "$BIN" validate >/dev/null 2>&1 || code=$?
[ "$code" -eq 2 ] || fail "validate without a spec exited $code, want 2"
code=0; "$BIN" validate -bogus x.json >/dev/null 2>&1 || code=$?
[ "$code" -eq 2 ] || fail "validate with an unknown option exited $code, want 2"

expect_error() { # SPEC_JSON FIELD [AGENT_CONFIG_FILE]
    local spec=$1 field=$2 code=0
    printf '%s' "$spec" >"$tmp/bad.json"
    if [ -n "${3:-}" ]; then
        "$BIN" validate -config "$3" "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err" || code=$?
    else
        "$BIN" validate "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err" || code=$?
    fi
    [ "$code" -eq 1 ] || fail "spec $spec: exit $code, want 1"
    [ ! -s "$tmp/out" ] || fail "spec $spec: printed a body despite the error"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "spec $spec: error is not one line: $(cat "$tmp/err")"
    grep -q "^dockvisor validate: $field: " "$tmp/err" || fail "spec $spec: error does not name $field: $(cat "$tmp/err")"
}
expect_error '{"name":"x","config":{"image":"busybox:1","ulimit":{"nofile":"abc"}}}' 'config\.ulimit\.nofile'
expect_error '{"name":"x","config":{"image":""}}' 'config\.image'
expect_error '{"name":"x","config":{"image":"busybox:1","privileged":true}}' 'config\.privileged'
expect_error '{"name":"x","config":{"image":"busybox:1","volumes":["../../../etc:/e"]}}' 'config\.volumes\[0\]'
echo '{"docker":{"allow_caps":["chown"]}}' >"$tmp/strict.json"
expect_error '{"name":"x","config":{"image":"busybox:1","cap_add":["kill"]}}' 'config\.cap_add' "$tmp/strict.json"
# out of confinement without the agent's leave (docker.allow_host_network,
# allow_unconfined, allow_devices all default to the safe side)
expect_error '{"name":"x","config":{"image":"busybox:1","network_mode":"host"}}' 'config\.network_mode'
expect_error '{"name":"x","config":{"image":"busybox:1"},"network":{"mode":"host"}}' 'network\.mode'
expect_error '{"name":"x","config":{"image":"busybox:1","network_mode":"container:abc"}}' 'config\.network_mode'
expect_error '{"name":"x","config":{"image":"busybox:1","security_opt":["seccomp=unconfined"]}}' 'config\.security_opt\[0\]'
expect_error '{"name":"x","config":{"image":"busybox:1","security_opt":["apparmor:unconfined"]}}' 'config\.security_opt\[0\]'
expect_error '{"name":"x","config":{"image":"busybox:1","security_opt":["label=disable"]}}' 'config\.security_opt\[0\]'
expect_error '{"name":"x","config":{"image":"busybox:1","security_opt":["systempaths=unconfined"]}}' 'config\.security_opt\[0\]'
for dev in /dev/vda /dev/mem /dev/../etc/shadow; do
    expect_error "{\"name\":\"x\",\"config\":{\"image\":\"busybox:1\",\"devices\":[{\"host_path\":\"$dev\",\"cgroup_permissions\":\"rwm\"}]}}" 'config\.devices\[0\]'
done
echo '{"docker":{"gc":{"imag":true}}}' >"$tmp/typo.json"
expect_error '{"name":"x","config":{"image":"busybox:1"}}' "$tmp/typo.json: docker\\.gc\\.imag" "$tmp/typo.json"
printf '{"name":' >"$tmp/trunc.json"
code=0; "$BIN" validate "$tmp/trunc.json" >/dev/null 2>"$tmp/err" || code=$?
[ "$code" -eq 1 ] && grep -q "trunc.json:1:" "$tmp/err" || fail "truncated JSON: exit $code: $(cat "$tmp/err")"
# the spec can come on stdin
echo '{"name":"x","config":{"image":"busybox:1"}}' | "$BIN" validate - | jq -e '.Image == "busybox:1"' >/dev/null ||
    fail "validate - (stdin)"

# ---- a network with a subnet of its own (for ipv4_address and aliases) ----
subnet=""
for _ in $(seq 20); do
    candidate="10.$((RANDOM % 200 + 20)).$((RANDOM % 250)).0/24"
    if docker network create --subnet "$candidate" --label "dvtest=$TAG" "$NET" >/dev/null 2>&1; then
        subnet=$candidate
        break
    fi
done
[ -n "$subnet" ] || fail "could not create a test network"
ip="${subnet%.0/24}.42"

# ---- two free host ports for the placeholder allocation ----
port_free() { [ -z "$(ss -Htan "sport = :$1")" ] && [ -z "$(ss -Huan "sport = :$1")" ]; }
base=""
for _ in $(seq 50); do
    candidate=$((42000 + RANDOM % 6000))
    if port_free "$candidate" && port_free $((candidate + 1)); then base=$candidate; break; fi
done
[ -n "$base" ] || fail "no free ports"

data="$tmp/data"
cat >"$tmp/agent.json" <<EOF
{
  "data_dir": "$data",
  "bind_address": "127.0.0.1",
  "port_range": "$base-$((base + 9))",
  "docker": {
    "allow_caps": ["audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
                   "net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
                   "sys_time"],
    "pids_limit": 500,
    "allow_devices": ["/dev/zero"],
    "extra_labels": ["task_name"]
  }
}
EOF
cat >"$tmp/spec.json" <<EOF
{
  "name": "web",
  "config": {
    "image": "$IMAGE",
    "command": "/bin/sh",
    "args": ["-c", "exec httpd -f -p \${NOMAD_PORT_http} -h /local"],
    "ports": ["http", "raw"],
    "hostname": "\${NOMAD_TASK_NAME}-dvspec",
    "work_dir": "/local",
    "labels": {"dvtest": "$TAG", "io.dockvisor.task_name": "forged"},
    "ulimit": {"nofile": "2048:4096", "nproc": "4242", "core": "-1"},
    "dns_servers": ["10.0.0.53"],
    "dns_search_domains": ["dvtest.example"],
    "dns_options": ["ndots:3"],
    "extra_hosts": ["dbhost:10.1.2.3"],
    "init": true,
    "readonly_rootfs": true,
    "sysctl": {"net.core.somaxconn": "1024"},
    "security_opt": ["no-new-privileges"],
    "shm_size": 33554432,
    "healthchecks": {"disable": true},
    "cap_add": ["SYS_TIME"],
    "cap_drop": ["mknod"],
    "cpu_hard_limit": true,
    "cpu_cfs_period": 50000,
    "memory_hard_limit": 96,
    "pids_limit": 128,
    "oom_score_adj": 100,
    "group_add": ["1234"],
    "devices": [{"host_path": "/dev/zero", "container_path": "/dev/myzero", "cgroup_permissions": "rw"}],
    "volumes": ["data:/data", "../alloc/shared:/shared:ro"],
    "mount": [{"type": "tmpfs", "target": "/scratch", "tmpfs_options": {"size": 1048576}}],
    "mounts": [{"type": "bind", "target": "/bound", "source": "local", "readonly": true}],
    "network_mode": "$NET",
    "network_aliases": ["\${NOMAD_TASK_NAME}-alias"],
    "ipv4_address": "$ip",
    "mac_address": "02:42:ac:1f:00:42",
    "logging": {"type": "json-file", "config": {"max-size": "1m", "max-file": "3", "tag": "\${NOMAD_TASK_NAME}"}},
    "runtime": "runc"
  },
  "env": {"GREETING": "hello", "HTTP_ADDR": "\${NOMAD_ADDR_http}"},
  "user": "0:0",
  "resources": {"cpu": 200, "memory": 64},
  "network": {"ports": {"http": {"to": 8080}, "raw": {}}},
  "kill_signal": "SIGTERM"
}
EOF

"$BIN" validate -config "$tmp/agent.json" "$tmp/spec.json" >"$tmp/body.json" 2>"$tmp/err" ||
    fail "validate: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "validate wrote to stderr: $(cat "$tmp/err")"
body() { jq -cSe "$1" "$tmp/body.json"; }

# The task directories the binds name (the agent creates these; here we do).
root="$data/tasks/$PREVIEW_ID"
mkdir -p "$root/alloc/logs" "$root/alloc/shared" "$root/web/local" "$root/web/secrets" "$root/web/data"
echo "dvspec-ok" >"$root/web/local/index.html"
echo "shared-file" >"$root/alloc/shared/f"

# ---- create from the body ----
status=$(curl -s -o "$tmp/create.json" -w '%{http_code}' --unix-socket "$SOCK" \
    -H 'Content-Type: application/json' --data-binary @"$tmp/body.json" \
    -X POST "$API/containers/create?name=$CNAME")
[ "$status" = 201 ] || fail "create answered $status: $(cat "$tmp/create.json")"
id=$(jq -r .Id "$tmp/create.json")

docker inspect "$id" >"$tmp/inspect.json"
insp() { jq -cSe ".[0]$1" "$tmp/inspect.json"; }
same() { # JQ path in the body, JQ path in inspect
    local want got
    want=$(body "$1") || fail "body has no $1"
    got=$(insp "$2") || fail "inspect has no $2 (body: $want)"
    [ "$want" = "$got" ] || fail "$2: inspect $got, body $want"
}
for k in Memory MemoryReservation MemorySwap CpuShares CpuPeriod CpuQuota PidsLimit Binds Mounts \
    PortBindings Dns DnsSearch DnsOptions ExtraHosts Sysctls SecurityOpt ShmSize Ulimits CapAdd \
    CapDrop Devices GroupAdd OomScoreAdj Init ReadonlyRootfs Runtime LogConfig NetworkMode; do
    same ".HostConfig.$k" ".HostConfig.$k"
done
for k in Cmd Hostname WorkingDir User Labels Healthcheck MacAddress Image; do
    same ".$k" ".Config.$k"
done
[ "$(insp '.Config.ExposedPorts | keys')" = "$(body '.ExposedPorts | keys')" ] || fail "ExposedPorts"

# and the values are Nomad's semantics, not just round-tripped
[ "$(insp .HostConfig.Memory)" = $((96 * 1024 * 1024)) ] || fail "hard memory limit"
[ "$(insp .HostConfig.MemoryReservation)" = $((64 * 1024 * 1024)) ] || fail "soft memory limit"
[ "$(insp .HostConfig.MemorySwap)" = $((96 * 1024 * 1024)) ] || fail "swap"
[ "$(insp .HostConfig.CpuShares)" = 200 ] || fail "cpu shares"
[ "$(insp .HostConfig.PidsLimit)" = 128 ] || fail "pids limit"
[ "$(insp '.HostConfig.PortBindings["8080/tcp"][0]')" = "{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$base\"}" ] ||
    fail "tcp binding: $(insp .HostConfig.PortBindings)"
[ "$(insp '.HostConfig.PortBindings["8080/udp"][0].HostPort')" = "\"$base\"" ] || fail "udp binding"
raw=$((base + 1))
[ "$(insp ".HostConfig.PortBindings[\"$raw/tcp\"][0].HostPort")" = "\"$raw\"" ] || fail "port without to"
[ "$(insp '.Config.Labels["io.dockvisor.task_name"]')" = '"web"' ] || fail "our label was overridden"
[ "$(insp '.Config.Labels["io.dockvisor.task_id"]')" = "\"$PREVIEW_ID\"" ] || fail "task id label"
[ "$(insp '.Config.Labels.dvtest')" = "\"$TAG\"" ] || fail "user label"
[ "$(insp '.Config.Labels["com.hashicorp.nomad.task_name"]')" = '"web"' ] || fail "extra label"
[ "$(insp '.Config.Labels["com.hashicorp.nomad.alloc_id"]')" = "\"$PREVIEW_ID\"" ] || fail "Nomad's mandatory alloc_id label"
[ "$(insp .HostConfig.LogConfig.Config.tag)" = '"web"' ] || fail "interpolated logging tag: $(insp .HostConfig.LogConfig)"
[ "$(insp '.HostConfig.Ulimits[] | select(.Name == "core") | [.Soft, .Hard]')" = '[-1,-1]' ] ||
    fail "core -1: $(insp .HostConfig.Ulimits)"
[ "$(insp .Config.Healthcheck.Test)" = '["NONE"]' ] || fail "healthcheck"
[ "$(insp '.HostConfig.CapDrop | sort')" = '["MKNOD","NET_RAW"]' ] || fail "cap drop: $(insp .HostConfig.CapDrop)"
[ "$(insp .NetworkSettings.Networks[\""$NET"\"].IPAMConfig.IPv4Address)" = "\"$ip\"" ] || fail "ipv4 address"
insp ".NetworkSettings.Networks[\"$NET\"].Aliases | index(\"web-alias\")" >/dev/null || fail "alias"
insp '.Config.Env | index("HTTP_ADDR=127.0.0.1:'"$base"'")' >/dev/null || fail "interpolated env"

# ---- start it and look from inside ----
docker start "$id" >/dev/null
for _ in $(seq 100); do
    answer=$(curl -s --max-time 1 "http://127.0.0.1:$base/index.html" || true)
    [ "$answer" = "dvspec-ok" ] && break
    sleep 0.1
done
[ "$answer" = "dvspec-ok" ] || fail "published port $base did not answer: $(docker logs "$id" 2>&1 | tail -5)"

inside() { docker exec "$id" /bin/sh -c "$1"; }
checks=0
check() { # description, command, expected output
    local got
    checks=$((checks + 1))
    got=$(inside "$2" 2>&1) || true
    [ "$got" = "$3" ] || fail "$1: got '$got', want '$3'"
}
# The limits of the container's own process tree (pid 1), not of a docker exec: an
# exec'd process's soft limits follow the daemon's own, not the container's.
limit() { echo "awk '/^$1/ {print \$$2}' /proc/1/limits"; }
check "soft nofile" "$(limit 'Max open files' 4)" 2048
check "hard nofile" "$(limit 'Max open files' 5)" 4096
check "nproc" "$(limit 'Max processes' 3)" 4242
check "hostname" 'hostname' web-dvspec
check "core unlimited (-1)" "$(limit 'Max core file size' 5)" unlimited
check "work dir" 'pwd' /local
check "init" 'cat /proc/1/comm' docker-init
check "sysctl" 'cat /proc/sys/net/core/somaxconn' 1024
check "oom_score_adj" 'cat /proc/1/oom_score_adj' 100
check "mac address" 'cat /sys/class/net/eth0/address' 02:42:ac:1f:00:42
check "ipv4 address" "ip -4 -o addr show eth0 | grep -o '$ip/'" "$ip/"
check "extra host" "grep -c 'dbhost' /etc/hosts" 1
check "dns search" "grep -c 'dvtest.example' /etc/resolv.conf" 1
check "dns options" "grep -c 'ndots:3' /etc/resolv.conf" 1
check "group_add" "id -G | tr ' ' '\n' | grep -x 1234" 1234
check "device" 'test -c /dev/myzero && echo char' char
check "env" 'echo $GREETING $NOMAD_PORT_http $NOMAD_HOST_PORT_http $NOMAD_TASK_NAME $NOMAD_ALLOC_DIR' \
    "hello 8080 $base web /alloc"
check "read-only rootfs" 'touch /rootfile 2>/dev/null && echo writable || echo ro' ro
check "tmpfs mount" "grep ' /scratch ' /proc/mounts | cut -d' ' -f3" tmpfs
check "tmpfs writable" 'touch /scratch/x && echo ok' ok
check "alloc writable" 'touch /alloc/x && echo ok' ok
check "logs read-only" 'touch /alloc/logs/x 2>/dev/null && echo writable || echo ro' ro
check "volume inside the task dir" 'echo hi > /data/x && echo ok' ok
check "shared volume" 'cat /shared/f' shared-file
check "read-only volume" 'touch /shared/y 2>/dev/null && echo writable || echo ro' ro
check "bind mount" 'cat /bound/index.html' dvspec-ok
check "read-only bind" 'touch /bound/y 2>/dev/null && echo writable || echo ro' ro
check "secrets" "test -d /secrets && echo dir" dir
[ "$(cat "$root/web/data/x")" = hi ] || fail "the data volume is not the task dir's data/"
# capabilities of PID 1: SYS_TIME (25) added, NET_RAW (13) and MKNOD (27) dropped
capeff=$(inside "grep CapEff /proc/1/status" | awk '{print $2}')
caps=$((16#$capeff))
[ $(((caps >> 25) & 1)) = 1 ] || fail "SYS_TIME not effective ($capeff)"
[ $(((caps >> 13) & 1)) = 0 ] || fail "NET_RAW still effective ($capeff)"
[ $(((caps >> 27) & 1)) = 0 ] || fail "MKNOD still effective ($capeff)"
[ $(((caps >> 0) & 1)) = 1 ] || fail "CHOWN missing ($capeff)"
# cgroup v1 limits as the kernel sees them
cg=/sys/fs/cgroup
if inside "test -f $cg/memory/memory.limit_in_bytes" 2>/dev/null; then
    check "memory limit" "cat $cg/memory/memory.limit_in_bytes" $((96 * 1024 * 1024))
    check "memory reservation" "cat $cg/memory/memory.soft_limit_in_bytes" $((64 * 1024 * 1024))
    check "pids limit" "cat $cg/pids/pids.max" 128
    check "cfs period" "cat $cg/cpu,cpuacct/cpu.cfs_period_us 2>/dev/null || cat $cg/cpu/cpu.cfs_period_us" 50000
    check "cfs quota" "cat $cg/cpu,cpuacct/cpu.cfs_quota_us 2>/dev/null || cat $cg/cpu/cpu.cfs_quota_us" \
        "$(body .HostConfig.CpuQuota)"
fi

docker rm -f "$id" >/dev/null

# ---- a task logging block without a type: dockerd's own default driver takes
# its options (Nomad leaves the type empty), not the agent's default driver ----
cat >"$tmp/log.json" <<EOF
{"name": "logs", "config": {"image": "$IMAGE", "labels": {"dvtest": "$TAG"},
 "logging": {"config": {"max-size": "3m"}}}}
EOF
echo '{"docker": {"logging": {"type": "local"}}}' >"$tmp/agent-local.json"
"$BIN" validate -config "$tmp/agent-local.json" "$tmp/log.json" >"$tmp/log-body.json" 2>"$tmp/err" ||
    fail "validate (logging): $(cat "$tmp/err")"
jq -e '.HostConfig.LogConfig | has("Type") | not' "$tmp/log-body.json" >/dev/null ||
    fail "a logging block without type still names one: $(jq -c .HostConfig.LogConfig "$tmp/log-body.json")"
status=$(curl -s -o "$tmp/create.json" -w '%{http_code}' --unix-socket "$SOCK" \
    -H 'Content-Type: application/json' --data-binary @"$tmp/log-body.json" \
    -X POST "$API/containers/create?name=$CNAME-logs")
[ "$status" = 201 ] || fail "create (logging) answered $status: $(cat "$tmp/create.json")"
logid=$(jq -r .Id "$tmp/create.json")
got=$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}' "$logid")
docker rm -f "$logid" >/dev/null
[ "$got" = "$(docker info -f '{{.LoggingDriver}}') 3m" ] || fail "logging without type: $got"

echo "test_spec_validate: ok ($checks checks inside the container)"
