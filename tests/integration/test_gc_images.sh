#!/usr/bin/env bash
# Image GC against the real dockerd (gc.image, gc.image_delay, gc.container):
# an image is removed image_delay after the last task using it is destroyed,
# not before; one used by two tasks survives the destroy of one; a new task
# within the delay cancels the removal; a loaded image is treated like any
# other; an image that a name no task used also tags keeps all its names (the
# log says why), as Nomad's removal by id without force does; gc.container=false
# keeps the container, whose image then stays (conflict); a pending removal
# survives a kill -9 of the agent; gc.image=false removes nothing.
#
# Every image here is made by this test (docker commit of the payload image with
# a label of its own, so each has its own id, or docker tag for the multi-tagged
# cases) under the name dvtest-gc-<pid>-*; the shared test images are never used
# by a gc.image agent.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-gc-$$"
STATE="$T_DIR/data/state/images.json"

gc_cleanup() {
    local rc=$?
    if [ -n "$T_AGENT_PID" ]; then kill -TERM "$T_AGENT_PID" 2>/dev/null || true; fi
    local ids
    ids=$(our_containers || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    docker rm -f "$T_PREFIX-base" >/dev/null 2>&1 || true
    docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$T_PREFIX-" | xargs -r docker rmi >/dev/null 2>&1 || true
    (exit "$rc")
    t_cleanup
}
trap gc_cleanup EXIT

PAYLOAD_ID=$(docker image inspect -f '{{.Id}}' "$DV_TEST_IMAGE_PAYLOAD")
docker create --name "$T_PREFIX-base" "$DV_TEST_IMAGE_PAYLOAD" >/dev/null

# make_image X → dvtest-gc-<pid>-X:1, an image of its own (own id) with the payload
make_image() {
    local img="$T_PREFIX-$1:1"
    docker commit --change "LABEL io.dockvisor.test=$T_PREFIX-$1" "$T_PREFIX-base" "$img" >/dev/null
    echo "$img"
}
img_id() { docker image inspect -f '{{.Id}}' "$1"; }
img_exists() { docker image inspect "$1" >/dev/null 2>&1; }
# entry ID JQ → a field of the image's entry in state/images.json ("null" without one)
entry() { jq -c --arg id "$1" ".images[\$id] | if . == null then null else $2 end" "$STATE"; }
metric() { api http://localhost/v1/metrics | awk -v m="$1" '$1 == m {print $2}'; }
now_ns() { date +%s%N; }

# run_task NAME IMAGE [ARGS JSON] → id, running (or done, for a short task)
run_task() {
    local f
    f=$(spec "$1" "$2" ".config.args = ${3:-[\"sleep\"]} | .kill_timeout = \"1s\"")
    dv run -detach "$f"
}

# reload JQ: rewrite the agent config with JQ and SIGHUP the agent
reload() {
    local n
    n=$(grep -c "configuration reloaded" "$T_DIR/agent.log" || true)
    jq "$1" "$T_DIR/agent.json" >"$T_DIR/agent.json.new" && mv "$T_DIR/agent.json.new" "$T_DIR/agent.json"
    kill -HUP "$T_AGENT_PID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$T_DIR/agent.log') -gt $n ]" || fail "no reload"
}

# removed_in_time IMAGE_ID: after a destroy, the image must not be gone before its
# persisted due time (checked whenever we look), and must be gone soon after it.
wait_removed() {
    local id=$1 at i
    at=$(entry "$id" .remove_at_ns)
    [ "$at" != null ] && [ "$at" -gt 0 ] || fail "no pending removal for $id: $(cat "$STATE")"
    for i in $(seq 1 200); do
        if ! img_exists "$id"; then
            [ "$(now_ns)" -ge "$at" ] || fail "image $id removed before its due time"
            [ "$(entry "$id" .)" = null ] || fail "entry left after the removal: $(cat "$STATE")"
            return 0
        fi
        sleep 0.1
    done
    fail "image $id still there 20s after destroy: $(cat "$STATE")"
}

start_agent 23500 23519 '{"docker": {"gc": {"image": true, "image_delay": "3s", "dangling_containers": {"enabled": false}}}}'

# --- two users: the image survives the first destroy, goes after the last ---
img=$(make_image a)
iid=$(img_id "$img")
a1=$(run_task a1 "$img")
a2=$(run_task a2 "$img")
wait_state "$a1" running
wait_state "$a2" running
[ "$(task_field "$a1" .image_id)" = "$iid" ] || fail "task image id $(task_field "$a1" .image_id), want $iid"
[ "$(entry "$iid" '.tasks | sort')" = "$(jq -cn --arg a "$a1" --arg b "$a2" '[$a, $b] | sort')" ] ||
    fail "references: $(cat "$STATE")"
cid=$(task_field "$a1" .container_id)
dv rm -force "$a1" >/dev/null
docker inspect "$cid" >/dev/null 2>&1 && fail "gc.container=true kept the container"
[ "$(entry "$iid" .tasks)" = "[\"$a2\"]" ] && [ "$(entry "$iid" .remove_at_ns)" = 0 ] ||
    fail "after one destroy: $(cat "$STATE")"
sleep 4 # longer than image_delay
img_exists "$img" || fail "image removed while a task still uses it"
dv rm -force "$a2" >/dev/null
wait_removed "$iid"
img_exists "$img" && fail "tag $img survived"
grep -q "removed image $img" "$T_DIR/agent.log" || fail "no removal logged"
[ "$(metric dockvisor_images_removed_total)" = 1 ] || fail "metrics: $(metric dockvisor_images_removed_total)"
ok "an image used by two tasks survives one destroy and is removed image_delay after the last"

# --- a new task within image_delay cancels the removal ---
img=$(make_image b)
iid=$(img_id "$img")
b1=$(run_task b1 "$img")
wait_state "$b1" running
dv rm -force "$b1" >/dev/null
at=$(entry "$iid" .remove_at_ns)
b2=$(run_task b2 "$img")
wait_state "$b2" running
[ "$(entry "$iid" .tasks)" = "[\"$b2\"]" ] && [ "$(entry "$iid" .remove_at_ns)" = 0 ] ||
    fail "a new user did not cancel the removal: $(cat "$STATE")"
while [ "$(now_ns)" -lt $((at + 1000000000)) ]; do sleep 0.2; done
img_exists "$img" || fail "the removal was not cancelled"
grep -q "removing image $img" "$T_DIR/agent.log" && fail "a removal of $img was attempted"
dv rm -force "$b2" >/dev/null
wait_removed "$iid"
ok "a new task within image_delay cancels the removal"

# --- an image a name no task used also tags is kept, with every name ---
# Nomad removes by image id without force, and Docker refuses an image that two
# repositories name; the GC also keeps one that a second tag in the task's own
# repository names (Docker would untag that with the id). Three cases at once:
# the user tagged the task's image in another repository, or in the same one, or
# the task used a name of ours on the shared payload image.
img_m=$(make_image multi)
iid_m=$(img_id "$img_m")
user_m="$T_PREFIX-user/multi:2"
docker tag "$img_m" "$user_m"
img_s=$(make_image same)
iid_s=$(img_id "$img_s")
user_s="$T_PREFIX-same:mine"
docker tag "$img_s" "$user_s"
img_p="$T_PREFIX-shared:1"
docker tag "$DV_TEST_IMAGE_PAYLOAD" "$img_p"
m1=$(run_task m1 "$img_m")
m2=$(run_task m2 "$img_s")
m3=$(run_task m3 "$img_p")
for t in "$m1" "$m2" "$m3"; do wait_state "$t" running; done
for t in "$m1" "$m2" "$m3"; do dv rm -force "$t" >/dev/null; done
for c in "$img_m $iid_m $user_m" "$img_s $iid_s $user_s" "$img_p $PAYLOAD_ID $DV_TEST_IMAGE_PAYLOAD"; do
    set -- $c
    wait_for 20 grep -q "image gc: image $1 (${2:0:19}) left in place: also tagged as .*$3" "$T_DIR/agent.log" ||
        fail "no keep of $1 logged: $(grep 'image gc' "$T_DIR/agent.log" | tail -3)"
    [ "$(entry "$2" .)" = null ] || fail "entry of $1 left: $(cat "$STATE")"
done
sleep 3 # longer than image_delay: a kept image is not tried again
for c in "$img_m $iid_m $user_m" "$img_s $iid_s $user_s" "$img_p $PAYLOAD_ID $DV_TEST_IMAGE_PAYLOAD"; do
    set -- $c
    img_exists "$1" || fail "the task's name $1 was removed"
    img_exists "$3" || fail "the user's name $3 was removed"
    [ "$(img_id "$1")" = "$2" ] && [ "$(img_id "$3")" = "$2" ] || fail "$1 or $3 names another image now"
    [ "$(grep -c "removing image $1 " "$T_DIR/agent.log")" = 1 ] || fail "removal of $1 tried again"
done
[ "$(metric dockvisor_images_kept_total)" = 3 ] || fail "metrics: kept $(metric dockvisor_images_kept_total)"
ok "an image another name also tags keeps every name, and the log says why"

# --- an image loaded from a tar in the local dir is collected like a pulled one ---
img=$(make_image loaded)
iid=$(img_id "$img")
docker save -o "$T_DIR/loaded.tar" "$img"
docker rmi "$img" >/dev/null
img_exists "$iid" && fail "setup: the image to load still exists"
f=$(spec loaded "$img" '.config.load = "image.tar" | .config.args = ["exit", "0"]')
d1=$(dv run -detach "$f")
wait_state "$d1" failed # no tar yet
cp "$T_DIR/loaded.tar" "$T_DIR/data/tasks/$d1/$T_PREFIX-loaded/local/image.tar"
dv restart "$d1" >/dev/null || true
wait_state "$d1" exited
has_event "$d1" Driver "Loading image from image.tar" || fail "not loaded"
[ "$(entry "$iid" .tasks)" = "[\"$d1\"]" ] || fail "loaded image not referenced: $(cat "$STATE")"
dv rm "$d1" >/dev/null
wait_removed "$iid"
ok "a loaded image is referenced and removed like a pulled one"

# --- gc.container=false (SIGHUP): the container is kept, so its image stays ---
reload '.docker.gc.container = false'
img=$(make_image kept)
iid=$(img_id "$img")
e1=$(run_task kept "$img")
wait_state "$e1" running
cid=$(task_field "$e1" .container_id)
dv rm -force "$e1" >/dev/null
[ "$(docker inspect -f '{{.State.Status}}' "$cid")" = exited ] || fail "gc.container=false: container not kept"
grep -q "its container ${cid:0:12} is kept (gc.container is false)" "$T_DIR/agent.log" ||
    fail "no kept event"
wait_for 20 grep -q "image gc: image $img (${iid:0:19}) left in place: .*${cid:0:12}" "$T_DIR/agent.log" ||
    fail "no conflict logged: $(grep 'image gc' "$T_DIR/agent.log" | tail -3)"
img_exists "$img" || fail "an image used by a kept container was removed"
[ "$(entry "$iid" .)" = null ] || fail "entry not dropped after the conflict: $(cat "$STATE")"
docker rm -f "$cid" >/dev/null
reload '.docker.gc.container = true'
ok "gc.container=false keeps the container; its image stays (conflict) and leaves the table"

# --- a pending removal survives kill -9 of the agent ---
reload '.docker.gc.image_delay = "6s"'
img=$(make_image restart)
iid=$(img_id "$img")
f1=$(run_task restart "$img")
wait_state "$f1" running
dv rm -force "$f1" >/dev/null
kill -9 "$T_AGENT_PID"
wait "$T_AGENT_PID" 2>/dev/null || true
T_AGENT_PID=
at=$(entry "$iid" .remove_at_ns)
[ "$(entry "$iid" .tasks)" = "[]" ] && [ "$at" -gt 0 ] || fail "no pending removal persisted: $(cat "$STATE")"
[ "$(now_ns)" -lt "$at" ] || fail "setup: the agent was killed after the due time"
img_exists "$img" || fail "removed before the due time"
lines=$(wc -l <"$T_DIR/agent.log")
start_agent 23500 23519 '{"docker": {"gc": {"image": true, "image_delay": "3m", "dangling_containers": {"enabled": false}}}}'
tail -n +"$((lines + 1))" "$T_DIR/agent.log" | matches "1 image removals pending from before the restart" ||
    fail "the restarted agent did not load the pending removal"
wait_removed "$iid"
tail -n +"$((lines + 1))" "$T_DIR/agent.log" | matches "removed image $img" || fail "not removed by the new agent"
ok "a pending removal survives kill -9 of the agent and happens at its time"

# --- gc.image=false: nothing is removed, pending removals are cancelled ---
reload '.docker.gc.image_delay = "2s"'
img=$(make_image off)
iid=$(img_id "$img")
g1=$(run_task off "$img")
wait_state "$g1" running
dv rm -force "$g1" >/dev/null
[ "$(entry "$iid" '.tasks | length')" = 0 ] || fail "not released: $(cat "$STATE")"
reload '.docker.gc.image = false'
grep -q "gc.image is off: 1 pending image removals cancelled" "$T_DIR/agent.log" || fail "not cancelled"
[ "$(entry "$iid" .)" = null ] || fail "entry kept: $(cat "$STATE")"
g2=$(run_task off2 "$img")
wait_state "$g2" running
[ "$(entry "$iid" .tasks)" = "[\"$g2\"]" ] || fail "not referenced with gc.image off: $(cat "$STATE")"
dv rm -force "$g2" >/dev/null
[ "$(entry "$iid" .)" = null ] || fail "an unused image stays in the table with gc.image off: $(cat "$STATE")"
sleep 3 # longer than image_delay
img_exists "$img" || fail "gc.image=false removed an image"
ok "gc.image=false removes nothing"

finish
