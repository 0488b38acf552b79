#!/usr/bin/env bash
# Chaos (issue 12): two clients churn 20 tasks through run -> (some) stop -> (some) rm
# while the agent is killed with SIGKILL 10 times at 1-4 s intervals and started again
# each time; the clients retry whatever the dead agent did not answer. Afterwards,
# with the clients done and the agent up:
# - every task the API knows is settled and matches Docker: a running task has one
#   running container carrying its task id and our node id, any other task none running;
# - a removed task is gone everywhere: API (404), container, task dir, record;
# - no container with our node id label belongs to no task;
# - exactly one docklog helper per running task, none for the others;
# - logs: each kept task's stdout and stderr (`dv logs`) hold the payload's numbered
#   lines exactly once and in order: all of them for a task that printed everything
#   (running, exited 0), a prefix for one stopped or failed on the way.
# DV_CHAOS_SEED replays the kill intervals and the clients' pauses.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-chaos-$$"
KILLS=10
TASKS=20
LINES=60 # 0.6 s of output at 100 lines/s
SEED=${DV_CHAOS_SEED:-$$}
RANDOM=$SEED
log "seed $SEED (DV_CHAOS_SEED reproduces it)"

# HTTP status of GET /v1/tasks/ID; 000 while the agent is down.
task_http() { api -o /dev/null -w '%{http_code}' "http://localhost/v1/tasks/$1" 2>/dev/null || true; }
# retry SECONDS COMMAND...: the agent may be down (or restarting) at any call.
retry() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

# A run that the agent may not have answered: the task may still exist (its record is
# written before the answer), so look it up by name before submitting it again.
run_task() { # NAME SPEC -> id
    local name=$1 f=$2 id end=$((SECONDS + 90))
    while [ $SECONDS -lt $end ]; do
        id=$("$DOCKVISOR_BIN" run -detach "$f" 2>/dev/null) && { echo "$id"; return 0; }
        sleep 0.2
        retry 30 "$DOCKVISOR_BIN" node-status || continue
        id=$("$DOCKVISOR_BIN" status -json 2>/dev/null |
            jq -r --arg n "$T_PREFIX-$name" '.[] | select(.name == $n) | .id') || continue
        [ -z "$id" ] || { echo "$id"; return 0; }
    done
    return 1
}
stopped() { task_field "$1" .state | matches -xE 'stopped|exited|failed'; }
stop_task() { # until the task is down; a stop asked of a dead agent is asked again
    local end=$((SECONDS + 90))
    until stopped "$1" 2>/dev/null; do
        [ $SECONDS -lt $end ] || return 1
        "$DOCKVISOR_BIN" stop -detach "$1" >/dev/null 2>&1 || true
        sleep 0.3
    done
}
rm_task() { # until the API answers 404
    local end=$((SECONDS + 90))
    until [ "$(task_http "$1")" = 404 ]; do
        [ $SECONDS -lt $end ] || return 1
        "$DOCKVISOR_BIN" rm -force "$1" >/dev/null 2>&1 || true
        sleep 0.3
    done
}

# Client W handles tasks W, W+2, ...: by i % 5, 0: runs on, 1: exits 0 after its lines,
# 2: stopped and kept, 3: stopped then removed, 4: removed (forced) without a stop.
# Each line "ID KIND" goes to kept.W or removed.W.
client() {
    local w=$1 i id kind args
    RANDOM=$((SEED + w))
    for ((i = w; i <= TASKS; i += 2)); do
        kind=$((i % 5))
        args='["lines", "'$LINES'", "100", "--", "sleep"]'
        [ $kind != 1 ] || args='["lines", "'$LINES'", "100", "--", "exit", "0"]'
        f=$(spec "t$i" "$DV_TEST_IMAGE_PAYLOAD" ".config.args = $args | .kill_timeout = \"1s\"")
        id=$(run_task "t$i" "$f") || { echo "run t$i failed" >&2; return 1; }
        rsleep
        case $kind in
        2 | 3) stop_task "$id" || { echo "stop $id failed" >&2; return 1; } ;;
        esac
        [ $kind = 2 ] || rsleep
        case $kind in
        3 | 4)
            rm_task "$id" || { echo "rm $id failed" >&2; return 1; }
            echo "$id $kind" >>"$T_DIR/removed.$w"
            ;;
        *) echo "$id $kind" >>"$T_DIR/kept.$w" ;;
        esac
    done
    touch "$T_DIR/client-done.$w"
}

t0=$SECONDS
start_agent 25000 25049
client 1 >"$T_DIR/client1.log" 2>&1 &
c1=$!
client 2 >"$T_DIR/client2.log" 2>&1 &
c2=$!
T_BG_PIDS+=("$c1" "$c2")
for k in $(seq 1 $KILLS); do
    sleep "$((1 + RANDOM % 3)).$(printf '%03d' $((RANDOM % 1000)))"
    kill9_agent
    [ $((RANDOM % 2)) = 0 ] || sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
    start_agent 25000 25049
done
wait "$c1" || fail "client 1: $(cat "$T_DIR/client1.log")"
wait "$c2" || fail "client 2: $(cat "$T_DIR/client2.log")"
log "clients done ${SECONDS}s after the start"
[ -e "$T_DIR/client-done.1" ] && [ -e "$T_DIR/client-done.2" ] || fail "a client did not finish"
ok "$KILLS kills during the run/stop/rm churn of $TASKS tasks; the agent came back every time"
grep -o 'recovery: [0-9]* tasks in .*' "$T_DIR/agent.log" | sed 's/^/    /' >&2 || true

kept=$(cat "$T_DIR"/kept.* 2>/dev/null | sort)
removed=$(cat "$T_DIR"/removed.* 2>/dev/null | sort)
[ "$(grep -c . <<<"$kept")" = 12 ] && [ "$(grep -c . <<<"$removed")" = 8 ] ||
    fail "the clients kept $(grep -c . <<<"$kept") and removed $(grep -c . <<<"$removed") tasks, not 12 and 8"

tasks() { dv status -json; }
helpers() { # "PID TASK_ID" of every docklog of this data dir
    local p
    for p in $(pgrep -x docklog); do
        tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null |
            sed -n "s|^$T_DIR/data/tasks/\([^/]*\)/.*|$p \1|p"
    done | sort
}
# Settled: every task terminal or running, and the helpers are exactly one per running task.
settled() {
    local t
    t=$(tasks) || return 1
    jq -e 'all(.[]; .state | IN("running", "exited", "failed", "stopped"))' <<<"$t" >/dev/null &&
        [ "$(helpers | awk '{print $2}' | sort | tr '\n' ' ')" = \
            "$(jq -r '.[] | select(.state == "running") | .id' <<<"$t" | sort | tr '\n' ' ')" ]
}
wait_for 60 settled || fail "not settled: $(tasks | jq -c '[.[] | {id: .id[0:8], state}]') helpers: $(helpers | tr '\n' ' ')"
t=$(tasks)

# Kept tasks are all there, removed ones nowhere.
[ "$(jq -r '.[].id' <<<"$t" | sort)" = "$(awk '{print $1}' <<<"$kept" | sort)" ] ||
    fail "the agent serves other tasks than the clients kept: $(diff <(jq -r '.[].id' <<<"$t" | sort) <(awk '{print $1}' <<<"$kept" | sort))"
while read -r id kind; do
    [ "$(task_http "$id")" = 404 ] || fail "removed task $id: API answers $(task_http "$id")"
    [ -z "$(docker ps -aq --filter "label=io.dockvisor.task_id=$id")" ] || fail "removed task $id: container left"
    [ ! -e "$T_DIR/data/tasks/$id" ] || fail "removed task $id: task dir left"
    [ ! -e "$T_DIR/data/state/tasks/$id.json" ] || fail "removed task $id: record left"
done <<<"$removed"
ok "8 removed tasks: gone from the API, Docker, the task dirs and the records"

# Every container with our node id belongs to a task, and matches it.
for cid in $(docker ps -aq --no-trunc --filter "label=io.dockvisor.node_id=$T_NODE_ID"); do
    tid=$(docker inspect -f '{{index .Config.Labels "io.dockvisor.task_id"}}' "$cid")
    jq -e --arg id "$tid" --arg c "$cid" 'any(.[]; .id == $id and .container_id == $c)' <<<"$t" >/dev/null ||
        fail "container $cid (task $tid) belongs to no task"
done
while read -r id kind; do
    state=$(jq -r --arg id "$id" '.[] | select(.id == $id) | .state' <<<"$t")
    cid=$(jq -r --arg id "$id" '.[] | select(.id == $id) | .container_id // empty' <<<"$t")
    running=$(docker ps -q --no-trunc --filter "label=io.dockvisor.task_id=$id")
    case $state in
    running)
        [ -n "$cid" ] && [ "$running" = "$cid" ] || fail "running task $id: container $cid, running: '$running'"
        labels=$(docker inspect -f '{{index .Config.Labels "io.dockvisor.task_id"}} {{index .Config.Labels "io.dockvisor.node_id"}}' "$cid")
        [ "$labels" = "$id $T_NODE_ID" ] || fail "task $id: container labels '$labels'"
        [ "$(helpers | awk -v id="$id" '$2 == id' | wc -l)" = 1 ] || fail "task $id: not one helper"
        ;;
    *) [ -z "$running" ] || fail "task $id is $state with a running container $running" ;;
    esac
    # What each kind must have become (kill -9 or not).
    case $kind in
    0) want=running ;; 1) want=exited ;; 2) want=stopped ;;
    esac
    [ "$state" = "$want" ] || fail "task $id (kind $kind) is $state, not $want: $(task_json "$id" | jq -c '.events[-4:]')"
done <<<"$kept"
ok "12 kept tasks match their containers (4 running with their labels and one helper each); no stray container"

# Logs: numbered lines exactly once, in order.
want_out=$(seq 1 2 $((LINES - 1)) | sed 's/$/ stdout/')
want_err=$(seq 2 2 "$LINES" | sed 's/$/ stderr/')
check_stream() { # ID KIND NAME WANT [-stderr]
    local id=$1 kind=$2 name=$3 want=$4 have n
    shift 4
    have=$(dv logs "$@" "$id") || fail "task $id: dv logs $* failed"
    n=$(grep -c . <<<"$have" || true)
    [ "$have" = "$(head -n "$n" <<<"$want")" ] ||
        fail "task $id: $name lines lost, repeated or out of order: $(diff <(echo "$want") <(echo "$have") | head -5)"
    # Tasks left to print everything must have all of it (a stopped one may not).
    [ "$kind" = 2 ] || [ "$n" = $((LINES / 2)) ] || fail "task $id: $n of $((LINES / 2)) $name lines"
}
complete() { # ID: both streams complete (docklog may still be writing the last batch)
    [ "$(dv logs -tail 1 "$1")" = "$((LINES - 1)) stdout" ] && [ "$(dv logs -stderr -tail 1 "$1")" = "$LINES stderr" ]
}
while read -r id kind; do
    [ "$kind" = 2 ] || wait_for 30 complete "$id" || true
    check_stream "$id" "$kind" stdout "$want_out"
    check_stream "$id" "$kind" stderr "$want_err" -stderr
done <<<"$kept"
ok "every kept task's stdout and stderr hold its lines exactly once, in order"
log "chaos phase and checks took $((SECONDS - t0))s"
# Under the sanitizers the helpers report into their own logs, not the agent's.
if cat "$T_DIR"/data/tasks/*/docklog.log 2>/dev/null | grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" >&2; then
    fail "sanitizer report in a docklog log"
fi

while read -r id kind; do dv rm -force "$id" >/dev/null || fail "rm $id"; done <<<"$kept"
[ -z "$(our_containers)" ] || fail "containers left after rm: $(our_containers)"
finish
