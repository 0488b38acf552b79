#!/usr/bin/env bash
# Who can use what under the data dir (DESIGN.md, on-disk layout; task_dirs.h):
# the data dir becomes 0700 whatever mode it had, a symlink or another user's
# directory is refused, nothing below is world-writable, and a task's alloc/,
# local/ and secrets/ are 0700 and its effective user's: the spec's `user`
# (numeric, or a name looked up in the image's own /etc/passwd and /etc/group)
# or else the image's USER. A name the image does not know fails the task before
# anything runs.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

# An image with accounts: /etc/group is a symlink, as some distributions ship it.
img="$T_PREFIX-users:1"
img_user="$T_PREFIX-users:image-user"
mkdir -p "$T_DIR/img/etc" "$T_DIR/img/usr/lib"
printf 'root:x:0:0:root:/:/bin/sh\nbroken:x:notanumber:1::/:/bin/sh\napp:x:4321:4322:app:/:/bin/sh\napp:x:999:999:duplicate:/:/bin/sh\n' >"$T_DIR/img/etc/passwd"
printf 'root:x:0:\nappgrp:x:4400:app\n' >"$T_DIR/img/usr/lib/group"
ln -s ../usr/lib/group "$T_DIR/img/etc/group"
printf 'FROM %s\nCOPY etc /etc\nCOPY usr /usr\n' "$DV_TEST_IMAGE_BUSYBOX" >"$T_DIR/img/Dockerfile"
docker build -q -t "$img" "$T_DIR/img" >/dev/null 2>"$T_DIR/build.log" || fail "build: $(cat "$T_DIR/build.log")"
printf 'FROM %s\nUSER app\n' "$img" >"$T_DIR/img/Dockerfile"
docker build -q -t "$img_user" "$T_DIR/img" >/dev/null 2>"$T_DIR/build.log" || fail "build: $(cat "$T_DIR/build.log")"
T_CLEANUP_HOOKS+=("docker rmi '$img_user' '$img' >/dev/null 2>&1")

# --- a data dir (and state/) left 0755 by an operator: made 0700 ---
mkdir -p "$T_DIR/data/state/tasks"
chmod 0755 "$T_DIR/data" "$T_DIR/data/state" "$T_DIR/data/state/tasks"
start_agent 25150 25159
for d in data data/state data/state/tasks data/tasks; do
    [ "$(stat -c %a "$T_DIR/$d")" = 700 ] || fail "$d is $(stat -c %a "$T_DIR/$d") after start, not 700"
done
ok "a pre-existing 0755 data dir, state/ and state/tasks/ are 0700 after start"

writes='echo s > /secrets/s && echo a > /alloc/a && echo l > /local/l && echo ok-$(id -u):$(id -g) && sleep 300'
task_dirs() { # ID → alloc local secrets logs (host paths)
    local root="$T_DIR/data/tasks/$1"
    local name
    name=$(task_field "$1" .name)
    echo "$root/alloc" "$root/$name/local" "$root/$name/secrets" "$root/alloc/logs"
}
logged() { dv logs "$1" | matches -x "$2"; }
# check_owner ID UID GID: the task wrote into each of its dirs, which are its own, 0700
check_owner() {
    local id=$1 uid=$2 gid=$3 alloc local secrets logs d
    read -r alloc local secrets logs <<<"$(task_dirs "$id")"
    wait_for 20 logged "$id" "ok-$uid:$gid" ||
        fail "task $id did not write its dirs as $uid:$gid: $(dv logs "$id" 2>&1; dv logs -stderr "$id" 2>&1)"
    for d in "$alloc" "$local" "$secrets"; do
        [ "$(stat -c '%a %u:%g' "$d")" = "700 $uid:$gid" ] ||
            fail "$d is $(stat -c '%a %u:%g' "$d"), not 700 $uid:$gid"
    done
    [ -f "$secrets/s" ] && [ -f "$alloc/a" ] && [ -f "$local/l" ] || fail "the task's files are missing"
    [ "$(stat -c '%a %u:%g' "$logs")" = "750 0:$gid" ] ||
        fail "$logs is $(stat -c '%a %u:%g' "$logs"), not 750 0:$gid"
}

# --- numeric user ---
id=$(dv run -detach "$(spec num "$img" '.user = "2345:2346" | .config.command = "sh" | .config.args = ["-c", "'"$writes"'"]')")
wait_state "$id" running 60
check_owner "$id" 2345 2346
ok "user 2345:2346: alloc/, local/, secrets/ are 0700 2345:2346 and writable by the task; logs/ 750 root:2346"

# --- a name the image's /etc/passwd knows (the first of duplicates wins) ---
id=$(dv run -detach "$(spec named "$img" '.user = "app" | .config.command = "sh" | .config.args = ["-c", "'"$writes"'"]')")
wait_state "$id" running 60
check_owner "$id" 4321 4322
ok "user app: resolved in the image to 4321:4322"

# --- name:group, the group through the image's /etc/group symlink ---
id=$(dv run -detach "$(spec group "$img" '.user = "app:appgrp" | .config.command = "sh" | .config.args = ["-c", "'"$writes"'"]')")
wait_state "$id" running 60
check_owner "$id" 4321 4400
ok "user app:appgrp: 4321:4400, /etc/group read through its symlink"

# --- no user in the spec: the image's USER ---
id=$(dv run -detach "$(spec imguser "$img_user" '.config.command = "sh" | .config.args = ["-c", "'"$writes"'"]')")
wait_state "$id" running 60
check_owner "$id" 4321 4322
ok "no spec user: the image's USER app owns the dirs"

# refused NAME IMAGE USER PATTERN: the task fails before anything runs, an event
# matching PATTERN names the field, and no container of it is left
refused() {
    local id
    id=$(dv run -detach "$(spec "$1" "$2" '.user = "'"$3"'" | .config.command = "sh" | .config.args = ["-c", "sleep 300"]')")
    wait_state "$id" failed 60
    task_json "$id" | jq -e --arg p "$4" '[.events[] | select(.message | test($p))] | length > 0' >/dev/null ||
        fail "no clear refusal: $(task_json "$id" | jq -c '[.events[] | .message]')"
    [ -z "$(docker ps -aq --filter "label=io.dockvisor.task_id=$id")" ] || fail "a container of the refused task is left"
}

# --- a name the image does not know: the task fails before anything runs ---
refused missing "$img" nosuch 'user: no user "nosuch" in the image.s /etc/passwd'
ok "user nosuch: the task failed naming the field, no container left"

# --- the busybox image has no /etc/passwd at all ---
refused nopasswd "$DV_TEST_IMAGE_BUSYBOX" app 'user: .app. is a name, and the image has no /etc/passwd'
ok "a name in an image without /etc/passwd: refused, naming the field"

# --- nothing under the data dir is world-writable ---
bad=$(find "$T_DIR/data" -perm -o+w ! -type l)
[ -z "$bad" ] || fail "world-writable under the data dir: $bad"
ok "nothing under the data dir is world-writable"
finish

# --- a data dir that is a symlink, or another user's: refused at start ---
refused() { # DATA_DIR PATTERN
    jq -n --arg d "$1" --arg s "$T_DIR/other.sock" '{data_dir: $d, socket: $s}' >"$T_DIR/other.json"
    local rc=0
    timeout 20 "$DOCKVISOR_BIN" agent -config "$T_DIR/other.json" </dev/null >"$T_DIR/other.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the agent started on $1 (rc $rc): $(cat "$T_DIR/other.log")"
    matches "$2" <"$T_DIR/other.log" || fail "no clear error for $1: $(cat "$T_DIR/other.log")"
}
mkdir -m 0700 "$T_DIR/real"
ln -s "$T_DIR/real" "$T_DIR/link"
refused "$T_DIR/link" "data dir: .*link is a symlink"
mkdir -m 0755 "$T_DIR/theirs"
chown 65534:65534 "$T_DIR/theirs"
refused "$T_DIR/theirs" "data dir: .*theirs is owned by uid 65534"
[ "$(stat -c %a "$T_DIR/theirs")" = 755 ] || fail "another user's data dir was changed"
ok "a symlinked data dir and one owned by another user are refused with a clear error"
