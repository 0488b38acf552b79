#!/usr/bin/env bash
# A task cannot reach the host through a symlink in its own directory (default agent
# config: docker.volumes.enabled false), nor have the agent read a host file for it
# (a seccomp profile by path). Every bind source is resolved on disk at
# every create, not only at submit: a first run that swaps local/link for a symlink
# to / and exits gets a refused restart, not the host's root at /host.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 24850 24859 '{"docker":{"allow_devices":["/dev/zero"]}}'

task_dir() { find "$T_DIR/data/tasks/$1" -maxdepth 2 -type d -name local | head -1; }

# --- the first run plants local/link -> / and exits non-zero ---
f=$(spec swap "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "if [ -d /host/etc ] && [ -f /host/etc/os-release ]; then echo escaped > /local/escaped; fi; rm -rf /local/link; ln -s / /local/link; exit 3"]
    | .config.volumes = ["local/link:/host:ro"]
    | .restart = {attempts: 2, delay: "1s", interval: "10m", mode: "fail"}')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
local_dir=$(task_dir "$id")
[ -L "$local_dir/link" ] || fail "the first run did not plant the symlink"
[ ! -e "$local_dir/escaped" ] || fail "a restart mounted the host's root"
task_json "$id" | jq -e '[.events[] | select(.message | test("config.volumes\\[0\\].*outside the task.s allocation directory"))] | length > 0' >/dev/null ||
    fail "no refusal naming config.volumes[0]: $(task_json "$id" | jq -c '[.events[] | .message]')"
ok "a symlink planted by the first run: the restart is refused, naming the field"

# --- swapped in between two restarts, through '..' ---
f=$(spec dots "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "if [ -f /host/os-release ]; then echo escaped > /local/escaped; fi; if [ -f /local/second ]; then rm -rf /local/d; ln -s ../../../../../../../../etc /local/d; fi; touch /local/second; exit 3"]
    | .config.volumes = ["local/d:/host"]
    | .restart = {attempts: 3, delay: "1s", interval: "10m", mode: "fail"}')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
local_dir=$(task_dir "$id")
[ -L "$local_dir/d" ] || fail "the second run did not plant the symlink"
[ ! -e "$local_dir/escaped" ] || fail "a restart mounted the host's /etc"
[ "$(task_json "$id" | jq '[.events[] | select(.type == "Started")] | length')" = 2 ] ||
    fail "expected two runs before the refusal: $(task_json "$id" | jq -c '[.events[] | .type]')"
ok "a symlink through .. swapped in between two restarts: refused"

# --- a symlink that stays inside the task dir is fine ---
f=$(spec inside "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "cat /data/hello 2>/dev/null; mkdir -p /alloc/real; echo hi > /alloc/real/hello; rm -rf /local/data; ln -s ../../alloc/real /local/data; exit 3"]
    | .config.volumes = ["local/data:/data"]
    | .restart = {attempts: 1, delay: "1s", interval: "10m", mode: "fail"}')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
[ "$(task_json "$id" | jq '[.events[] | select(.type == "Started")] | length')" = 2 ] ||
    fail "the restart through an inner symlink was refused: $(task_json "$id" | jq -c '[.events[] | .message]')"
dv logs "$id" | matches -x hi || fail "the second run did not see the file through the inner symlink: $(dv logs "$id")"
ok "a symlink inside the task's own directory is followed"

# --- %00 in an id: refused, never cut short to the id before it ---
code=$(api -o "$T_DIR/del.json" -w '%{http_code}' -X DELETE "http://localhost/v1/tasks/${id}%00../../x?force=1")
[ "$code" = 400 ] || fail "DELETE with %00 in the id answered $code: $(cat "$T_DIR/del.json")"
task_json "$id" >/dev/null || fail "the task is gone after a DELETE with %00 in its id"
code=$(api -o "$T_DIR/get.json" -w '%{http_code}' "http://localhost/v1/tasks/%00")
[ "$code" = 400 ] || fail "GET /v1/tasks/%00 answered $code: $(head -c 200 "$T_DIR/get.json")"
code=$(api -o "$T_DIR/get.json" -w '%{http_code}' "http://localhost/v1/tasks/..%2f..%2fx")
case $code in 400 | 404) ;; *) fail "GET of an id with ../ answered $code" ;; esac
ok "ids with %00 are 400 (../ no route), and nothing is touched"

# --- devices: resolved on disk at submit and at every create; the Engine gets
# the canonical path, which must match docker.allow_devices ---
out=$(dv run -detach "$(spec vda "$DV_TEST_IMAGE_BUSYBOX" '.config.devices = [{host_path: "/dev/vda"}]')" 2>&1) &&
    fail "a device outside allow_devices was accepted: $out"
matches 'config.devices\[0\]: device "/dev/vda" is not allowed' <<<"$out" || fail "refusal: $out"
ln -s /dev/zero "$T_DIR/dev-link"
f=$(spec dev "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "head -c 3 /dev/mydev | od -An -tx1; exit 3"]
    | .config.devices = [{host_path: "'"$T_DIR"'/dev-link", container_path: "/dev/mydev"}]
    | .restart = {attempts: 1, delay: "8s", interval: "10m", mode: "fail"}')
id=$(dv run -detach "$f")
wait_state "$id" restarting 30
[ "$(docker inspect -f '{{(index .HostConfig.Devices 0).PathOnHost}}' "$(task_field "$id" .container_id)")" = /dev/zero ] ||
    fail "the Engine was not given the device's canonical path"
dv logs "$id" | matches -x ' 00 00 00' || fail "the device did not reach the container: $(dv logs "$id")"
ln -sfn /dev/full "$T_DIR/dev-link" # not allowed: swapped in before the restart
wait_state "$id" failed 30
task_json "$id" | jq -e '[.events[] | select(.message | test("config.devices\\[0\\]: device .*dev-link. \\(/dev/full\\) is not allowed"))] | length > 0' >/dev/null ||
    fail "the restart was not refused: $(task_json "$id" | jq -c '[.events[] | .message]')"
ok "devices: /dev/vda refused at submit; a symlink is sent as its target, and swapped to another device before a restart, refused"

# --- load: the agent reads the tarball beneath local/ only ---
# A tarball outside the task's dir (an image the task must not get, or any host
# file) reached through local/image.tar -> outside: refused; nothing is loaded.
img="dvtest-agent-$$-outside:1"
T_CLEANUP_HOOKS+=("docker rmi -f '$img' >/dev/null 2>&1")
docker tag "$DV_TEST_IMAGE_BUSYBOX" "$img"
docker save -o "$T_DIR/outside.tar" "$img"
docker rmi "$img" >/dev/null
f=$(spec loadlink "$img" '.config.load = "image.tar" | .config.command = "true"')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
ln -s "$T_DIR/outside.tar" "$(task_dir "$id")/image.tar"
dv restart "$id" >/dev/null 2>&1 || true
refusals() { task_json "$1" | jq '[.events[] | select(.message | test("resolves outside its directory"))] | length'; }
at_least() { [ "$("$2" "${@:3}")" -ge "$1" ]; } # N FN ARG...
wait_for 30 at_least 1 refusals "$id" ||
    fail "load through a symlink out: $(task_json "$id" | jq -c '[.events[] | .message]')"
docker image inspect "$img" >/dev/null 2>&1 && fail "the image was loaded from a tarball outside the task's dir"
rm "$(task_dir "$id")/image.tar"
ln -s ../../../../../outside.tar "$(task_dir "$id")/image.tar"
[ -f "$(task_dir "$id")/image.tar" ] || fail "the test's .. link does not reach outside.tar"
dv restart "$id" >/dev/null 2>&1 || true
wait_for 30 at_least 2 refusals "$id" ||
    fail "load through ../: $(task_json "$id" | jq -c '[.events[] | .message]')"
docker image inspect "$img" >/dev/null 2>&1 && fail "the image was loaded through .."
ok "load: a tarball reached through a symlink out of local/ (absolute or ..) is refused"

# --- the log directory swapped for a symlink out of the task's dir ---
# alloc/ is the task's own to write. Inside its container the kernel refuses to
# rename alloc/logs (it is a mount point there, EBUSY, even through a volume of
# ../alloc), so the swap is done from the host here, standing in for whatever else
# writes to alloc/ (tasks of a group share it). docklog must keep writing into the
# directory it opened (never create files through the symlink when it rotates),
# and `logs` must not serve what the symlink points at.
victim="$T_DIR/victim"
mkdir -p "$victim"
base="$T_PREFIX-logswap"
echo SECRET-FROM-THE-HOST >"$victim/$base.stdout.0"
f=$(spec logswap "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "while [ ! -e /alloc/go ]; do sleep 0.1; done; yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -n 60000; echo done; sleep 300"]
    | .logs = {max_files: 5, max_file_size: 1}')
id=$(dv run -detach "$f")
wait_state "$id" running 60
cid=$(task_field "$id" .container_id)
alloc="$T_DIR/data/tasks/$id/alloc"
mv "$alloc/logs" "$alloc/old"
ln -s "$victim" "$alloc/logs"
touch "$alloc/go"
wait_for 60 sh -c "docker logs $cid 2>&1 | tail -n 1 | grep -qx done" || fail "the task did not write its lines"
wait_for 60 sh -c "[ -e '$alloc/old/$base.stdout.2' ] || [ -e '$victim/$base.stdout.1' ]" ||
    fail "docklog did not rotate: $(ls "$alloc/old" "$victim")"
[ "$(ls "$victim")" = "$base.stdout.0" ] || fail "docklog wrote through the symlink: $(ls -l "$victim")"
[ "$(cat "$victim/$base.stdout.0")" = SECRET-FROM-THE-HOST ] || fail "the host file was changed"
out=$(dv logs "$id" 2>&1 || true)
! matches SECRET <<<"$out" || fail "logs served a host file through the swapped directory"
ok "a log directory swapped for a symlink: docklog keeps writing inside the task dir, logs serve nothing through it"

# --- seccomp=<path>: the agent reads the profile at each start and sends its
# content, as Nomad does. With volumes disabled (this agent) the file is a host
# path like a bind source: inside the task's allocation directory only. ---
cat >"$T_DIR/deny-mkdir.json" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" }
  ]
}
JSON
count() { ls "$1" 2>/dev/null | wc -l; }
records=$(count "$T_DIR/data/state/tasks")
dirs=$(count "$T_DIR/data/tasks")
f=$(spec seccompout "$DV_TEST_IMAGE_BUSYBOX" '.config.security_opt = ["no-new-privileges", "seccomp='"$T_DIR"'/deny-mkdir.json"]')
out=$(dv run -detach "$f" 2>&1) && fail "a seccomp profile outside the allocation directory was accepted: $out"
matches 'config\.security_opt\[1\]: seccomp profile ".*/deny-mkdir.json" is outside the task.s allocation directory' <<<"$out" ||
    fail "refusal: $out"
[ -z "$(docker ps -aq --filter "label=io.dockvisor.node_id=$T_NODE_ID" --filter "name=$T_PREFIX-seccompout")" ] ||
    fail "a container was created for the refused task"
[ "$(count "$T_DIR/data/state/tasks")" = "$records" ] || fail "the refused task left a record"
[ "$(count "$T_DIR/data/tasks")" = "$dirs" ] || fail "the refused task left a directory"
ok "seccomp=<path> outside the allocation directory: refused at submit naming config.security_opt[1], nothing created"

seccomp_events() { task_json "$1" | jq --arg p "$2" '[.events[] | select(.message | test($p))] | length'; }
f=$(spec seccomp "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh"
    | .config.args = ["-c", "if mkdir /made 2>&1; then echo mkdir-allowed; fi"]
    | .config.security_opt = ["seccomp=local/deny-mkdir.json"]')
id=$(dv run -detach "$f")
wait_state "$id" failed 60
[ "$(seccomp_events "$id" 'config\.security_opt\[0\]: seccomp profile "local/deny-mkdir\.json": No such file')" -ge 1 ] ||
    fail "a missing profile: $(task_json "$id" | jq -c '[.events[] | .message]')"
[ -z "$(docker ps -aq --filter "label=io.dockvisor.task_id=$id")" ] || fail "a container was created without the profile"
ok "seccomp=<path> missing at start: the start fails naming config.security_opt[0] and the path"

local_dir=$(task_dir "$id")
echo 'not JSON' >"$local_dir/deny-mkdir.json"
dv restart "$id" >/dev/null 2>&1 || true
wait_for 30 at_least 1 seccomp_events "$id" 'seccomp profile "local/deny-mkdir.json" is not a JSON object' ||
    fail "a profile that is not JSON: $(task_json "$id" | jq -c '[.events[] | .message]')"
cp "$T_DIR/deny-mkdir.json" "$local_dir/deny-mkdir.json"
dv restart "$id" >/dev/null 2>&1 || true
wait_for 60 sh -c "'$DOCKVISOR_BIN' logs '$id' 2>&1 | grep -q 'Operation not permitted'" ||
    fail "mkdir was not denied: $(dv logs "$id" 2>&1 | tail -n 3); $(task_json "$id" | jq -c '[.events[] | .message]')"
! dv logs "$id" 2>&1 | matches mkdir-allowed || fail "mkdir succeeded under the profile"
cid=$(task_field "$id" .container_id)
docker inspect -f '{{json .HostConfig.SecurityOpt}}' "$cid" |
    jq -e '.[0] | startswith("seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{")' >/dev/null ||
    fail "the Engine was not given the profile: $(docker inspect -f '{{json .HostConfig.SecurityOpt}}' "$cid")"
ok "seccomp=<path> in the task dir: not JSON refused, then the profile read at the restart denies mkdir (EPERM)"

# a symlink out of the allocation directory swapped in before a restart
rm "$local_dir/deny-mkdir.json"
ln -s "$T_DIR/deny-mkdir.json" "$local_dir/deny-mkdir.json"
dv restart "$id" >/dev/null 2>&1 || true
wait_for 30 at_least 1 seccomp_events "$id" 'config\.security_opt\[0\]: host path "local/deny-mkdir\.json" resolves to .* outside the task.s allocation directory' ||
    fail "a profile through a symlink out: $(task_json "$id" | jq -c '[.events[] | .message]')"
ok "seccomp=<path> swapped for a symlink out of the allocation directory: the restart is refused"
finish
