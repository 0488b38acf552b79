#!/usr/bin/env bash
# The main job: install, build, bring up dockerd (and the local test images), start the
# agent with an example config under a temp data dir, submit an example task (the payload
# image serving HTTP on an allocated port on 127.0.0.1), show its status and logs.
# The agent keeps running afterwards; the script prints how to stop it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
dockvisor=$PWD/build/dockvisor
"$dockvisor" version

if ! grep -qw agent <<<"$("$dockvisor" help 2>&1)"; then
    log "this build has no agent yet (dockvisor help lists no 'agent' command): stopping after the build"
    exit 0
fi

# dockerd, journald and the example image (built locally, FROM scratch).
DV_TEST_ENV_SYSTEMD=0 ./scripts/test-env.sh up

data_dir=${DV_QUICKSTART_DIR:-$(mktemp -d /tmp/dockvisor-quickstart.XXXXXX)}
socket=$data_dir/dockvisor.sock
cat >"$data_dir/agent.json" <<JSON
{
  "data_dir": "$data_dir/data",
  "socket": "$socket",
  "bind_address": "127.0.0.1",
  "port_range": "21000-21999",
  "docker": { "gc": { "image": false } }
}
JSON
export DOCKVISOR_ADDR="unix://$socket"
log "starting the agent (data dir $data_dir, log $data_dir/agent.log)"
setsid "$dockvisor" agent -config "$data_dir/agent.json" </dev/null >"$data_dir/agent.log" 2>&1 &
echo $! >"$data_dir/agent.pid"
wait_for 30 "$dockvisor" node-status || { cat "$data_dir/agent.log" >&2; die "agent did not come up"; }
"$dockvisor" node-status

log "submitting examples/quickstart-task.json"
"$dockvisor" run examples/quickstart-task.json
id=$("$dockvisor" status -json | jq -r '[.[] | select(.name == "hello-web")] | last | .id')
"$dockvisor" status
"$dockvisor" status "$id"

port=$("$dockvisor" status -json "$id" | jq -r '.ports[] | select(.label == "http") | .host_port')
log "GET http://127.0.0.1:$port/"
curl -sf --retry 10 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/"
sleep 1
log "last lines of the task's logs:"
"$dockvisor" logs -tail 5 "$id"

cat <<EOT

The agent is running (pid $(cat "$data_dir/agent.pid")). Try:
  export DOCKVISOR_ADDR=unix://$socket
  $dockvisor status
  $dockvisor logs -f $id
  $dockvisor stop $id && $dockvisor rm $id
  kill $(cat "$data_dir/agent.pid")   # stops the agent; tasks keep running
EOT
