#!/usr/bin/env bash
# Crash safety: a client loops over run / stop / rm while the agent is killed with
# SIGKILL at 20 random moments (and started again each time). After the final start,
# once every task has settled: `docker ps -a` (this agent's node label) holds exactly
# the containers the records name, no docklog helper runs that no record names, no
# task directory exists without a record, and every task can still be destroyed.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
T_PREFIX="dvtest-recovery-$$"
KILLS=${DV_RECOVERY_KILLS:-20}
SEED=${DV_RECOVERY_SEED:-$$}
RANDOM=$SEED
log "seed $SEED (DV_RECOVERY_SEED reproduces the kill moments)"


# The client: run, then stop and/or rm at random, forever; an agent that is down
# just makes a call fail.
client() {
    local i=0 id
    RANDOM=$((SEED + 1))
    while [ ! -e "$T_DIR/stop-client" ]; do
        i=$((i + 1))
        f=$(spec "c$i" "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "40", "40", "--", "sleep"] |
            .kill_timeout = "1s" | .network = {ports: {p: {}}}')
        id=$("$DOCKVISOR_BIN" run -detach "$f" 2>/dev/null) || { sleep 0.2; continue; }
        rsleep
        case $((RANDOM % 3)) in
        0) "$DOCKVISOR_BIN" stop "$id" >/dev/null 2>&1 || true ;;
        1) "$DOCKVISOR_BIN" stop -detach "$id" >/dev/null 2>&1 || true ;;
        *) ;;
        esac
        rsleep
        [ $((RANDOM % 4)) = 0 ] || "$DOCKVISOR_BIN" rm -force "$id" >/dev/null 2>&1 || true
    done
}

start_agent 24150 24199
client >"$T_DIR/client.log" 2>&1 &
T_BG_PIDS+=($!)
client_pid=$!
for k in $(seq 1 "$KILLS"); do
    sleep "$((RANDOM % 2)).$(printf '%03d' $((RANDOM % 1000)))"
    kill9_agent
    [ $((RANDOM % 2)) = 0 ] || rsleep
    start_agent 24150 24199
done
touch "$T_DIR/stop-client"
wait "$client_pid" || true
ok "$KILLS kills during run/stop/rm; the agent came back every time"
# What the recoveries had to deal with (for the record; each line is one start).
grep -o 'recovery: [0-9]* tasks in .*' "$T_DIR/agent.log" | sed 's/^/    /' >&2 || true

records() { cat "$T_DIR"/data/state/tasks/*.json 2>/dev/null | jq -s '.'; }
helpers() { # pids of docklog helpers of this data dir
    local p
    for p in $(pgrep -x docklog); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | matches "$T_DIR/data/tasks/" && echo "$p"
    done | sort -n
}
settled() {
    local r
    r=$(records)
    jq -e 'all(.[]; .state | IN("running", "exited", "failed", "stopped"))' <<<"$r" >/dev/null &&
        [ "$(helpers | tr '\n' ' ')" = "$(jq -r '.[] | .docklog.pid // empty' <<<"$r" | sort -n | tr '\n' ' ')" ]
}
wait_for 120 settled || fail "not settled: $(records | jq -c '[.[] | {id: .id[0:8], state, docklog: .docklog.pid}]') helpers: $(helpers | tr '\n' ' ')"
r=$(records)
ntasks=$(jq length <<<"$r")

want=$(jq -r '.[] | .container_id // empty' <<<"$r" | sort)
have=$(docker ps -aq --no-trunc --filter "label=io.dockvisor.node_id=$T_NODE_ID" | sort)
[ "$want" = "$have" ] || fail "containers differ from the records (< records, > docker):
$(diff <(echo "$want") <(echo "$have"))"
dirs=$(ls "$T_DIR/data/tasks" | sort)
ids=$(jq -r '.[].id' <<<"$r" | sort)
[ "$dirs" = "$ids" ] || fail "task dirs differ from the records: $(diff <(echo "$ids") <(echo "$dirs"))"
[ "$(dv status -json | jq -r '.[].id' | sort)" = "$ids" ] || fail "the agent serves other tasks than the records"
ok "$ntasks records: docker ps -a holds exactly their containers ($(echo "$have" | grep -c . || true)), no stray helper or task dir"

for id in $ids; do dv rm -force "$id" >/dev/null || fail "rm $id"; done
[ -z "$(our_containers)" ] || fail "containers left after rm: $(our_containers)"
[ -z "$(ls "$T_DIR/data/tasks")" ] || fail "task dirs left after rm"
[ -z "$(ls "$T_DIR/data/state/tasks")" ] || fail "records left after rm"
wait_for 30 sh -c "[ -z \"\$(pgrep -x docklog | xargs -r -I{} grep -l '$T_DIR/data/tasks/' /proc/{}/cmdline 2>/dev/null)\" ]" ||
    fail "helpers left after rm"
ok "every task destroyed cleanly afterwards"
finish
