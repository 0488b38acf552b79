#!/usr/bin/env bash
# Log fidelity across a restart of the Docker daemon, on a private dockerd
# (private_dockerd.sh: the shared one is never stopped):
#  1. --live-restore: 3 tasks print numbered lines; dockerd is stopped for a few
#     seconds and started again. The containers keep running (same StartedAt),
#     the tasks stay running without a restart, and once the payloads are done
#     every task's files hold every line exactly once;
#  2. without live restore: Docker stops the containers when it stops. Every line
#     Docker recorded before the stop (its json-file, read from disk while the
#     daemon is down) is in the task's files exactly once, the agent's restart
#     policy restarts each task once dockerd is back, and the new run's lines
#     follow, complete and exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
T_PREFIX="dvtest-ddrestart-$$"

N=3
RATE=20       # lines per second, alternating stdout (odd) and stderr (even)
LINES_LR=600  # 30 s of output, across the live-restore restart
LINES_NLR=300 # 15 s per run without live restore
DOWN=5        # seconds dockerd stays down

# lines FROM TO STREAM: what the payload prints on STREAM for lines FROM..TO
lines() {
    local first=$1
    if [ "$3" = stdout ] && [ $((first % 2)) -eq 0 ]; then first=$((first + 1)); fi
    if [ "$3" = stderr ] && [ $((first % 2)) -eq 1 ]; then first=$((first + 1)); fi
    [ "$first" -le "$2" ] || return 0
    seq "$first" 2 "$2" | sed "s/\$/ $3/"
}

# check_file ID STREAM EXPECTED_FILE WHAT
check_file() {
    local id=$1 stream=$2 want=$3 what=$4 got="$T_DIR/got-$1-$2"
    if [ "$stream" = stderr ]; then dv logs -stderr "$id" >"$got"; else dv logs "$id" >"$got"; fi
    if cmp -s "$got" "$want"; then
        task_json "$id" | jq -e '.log_gaps == null' >/dev/null ||
            fail "task $id: $what: the agent reports log gaps: $(task_field "$id" .log_gaps)"
        return 0
    fi
    local diag="$T_DIR/data/tasks/$id/docklog.log"
    log "task $id $stream: $(wc -l <"$got") lines in the files, $(wc -l <"$want") expected"
    log "duplicated: $(sort "$got" | uniq -d | head -20 | awk '{print $1}' | tr '\n' ' ')"
    log "lost: $(comm -13 <(sort -u "$got") <(sort -u "$want") | sort -n | head -20 | awk '{print $1}' | tr '\n' ' ')"
    log "first difference: $(diff "$got" "$want" | head -6 | tr '\n' '|')"
    log "docklog.log of $id:"
    tail -n 40 "$diag" >&2 || true
    fail "task $id: $what: $stream lines lost, duplicated or out of order"
}

# the task's files once its helper has drained the exited container
wait_drained() { # ID LAST_STDOUT LAST_STDERR
    wait_for 60 sh -c "'$DOCKVISOR_BIN' logs -stderr $1 | tail -n 1 | grep -qx '$3 stderr'" ||
        fail "task $1: stderr never complete: $(dv logs -stderr -tail 2 "$1" | tr '\n' '|')"
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs $1 | tail -n 1 | grep -qx '$2 stdout'" ||
        fail "task $1: stdout never complete: $(dv logs -tail 2 "$1" | tr '\n' '|')"
}

pdd_setup
pdd_start --live-restore
pdd_load_image "$DV_TEST_IMAGE_PAYLOAD"
pdd_docker info --format '{{.LiveRestoreEnabled}} {{.Driver}}' | grep -qx 'true vfs' ||
    fail "private dockerd: $(pdd_docker info --format '{{.LiveRestoreEnabled}} {{.Driver}}')"
start_agent 24950 24959 "$(jq -n --arg e "$(pdd_sock)" '{docker: {endpoint: $e}}')"

# task_spec NAME LINES → spec file: no network at all, restarts on failure
task_spec() {
    spec "$1" "$DV_TEST_IMAGE_PAYLOAD" \
        ".config.args = [\"lines\", \"$2\", \"$RATE\"] | .config.network_mode = \"none\" |
         .restart = {attempts: 3, interval: \"10m\", delay: \"2s\", mode: \"fail\"}"
}

cid_of() { task_field "$1" .container_id; }
started_at() { pdd_docker inspect -f '{{.State.StartedAt}}' "$1"; }

# --- 1. live restore: the containers and their helpers ride through ---
ids=()
for i in $(seq 1 $N); do ids+=("$(dv run -detach "$(task_spec "lr-$i" "$LINES_LR")")"); done
for id in "${ids[@]}"; do wait_state "$id" running 60; done
for id in "${ids[@]}"; do
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q '^1 stdout'" || fail "no logs for $id"
done
sleep 3
declare -A cid started helper
for id in "${ids[@]}"; do
    cid[$id]=$(cid_of "$id")
    started[$id]=$(started_at "${cid[$id]}")
    helper[$id]=$(task_field "$id" '.docklog.pid // 0')
done
ok "$N tasks logging $RATE lines/s on the private dockerd (live restore)"

pdd_stop
for id in "${ids[@]}"; do
    # the payload still runs under its shim while the daemon is away
    pgrep -f "containerd-shim.*-id ${cid[$id]}" >/dev/null || fail "task $id: no shim without dockerd"
done
sleep "$DOWN"
pdd_start --live-restore
for id in "${ids[@]}"; do
    [ "$(pdd_docker inspect -f '{{.State.Running}}' "${cid[$id]}")" = true ] ||
        fail "task $id: container not running after the restart"
    [ "$(started_at "${cid[$id]}")" = "${started[$id]}" ] ||
        fail "task $id: container restarted (${started[$id]} -> $(started_at "${cid[$id]}"))"
    [ "$(task_field "$id" .state)" = running ] || fail "task $id is $(task_field "$id" .state) after the restart"
done
ok "dockerd restarted with live restore: containers kept running (same StartedAt), tasks running"

# Lines printed while dockerd was down come through once it is back.
for id in "${ids[@]}"; do
    wait_state "$id" exited $((LINES_LR / RATE + 60))
    wait_drained "$id" $((LINES_LR - 1)) "$LINES_LR"
    lines 1 "$LINES_LR" stdout >"$T_DIR/want-out"
    lines 1 "$LINES_LR" stderr >"$T_DIR/want-err"
    check_file "$id" stdout "$T_DIR/want-out" "live restore"
    check_file "$id" stderr "$T_DIR/want-err" "live restore"
    j=$(task_json "$id")
    [ "$(jq -r '.restarts // 0' <<<"$j")" = 0 ] || fail "task $id restarted: $(jq -c .events <<<"$j")"
    [ "$(cid_of "$id")" = "${cid[$id]}" ] || fail "task $id: another container"
    now=$(jq -r '.docklog.pid // 0' <<<"$j")
    if [ "$now" = "${helper[$id]}" ]; then how="same helper"; else how="helper ${helper[$id]} -> $now"; fi
    log "task $id: $how; docklog.log: $(grep -ciE 'reconnect|retry|down|refused' \
        "$T_DIR/data/tasks/$id/docklog.log" 2>/dev/null || true) reconnect notes"
done
ok "live restore: every task's files hold lines 1..$LINES_LR exactly once, no restart"

# --- 2. no live restore: Docker stops the containers; the restart policy applies ---
pdd_stop
pdd_start
[ "$(pdd_docker info --format '{{.LiveRestoreEnabled}}')" = false ] || fail "live restore still on"
ids=()
for i in $(seq 1 $N); do ids+=("$(dv run -detach "$(task_spec "nlr-$i" "$LINES_NLR")")"); done
for id in "${ids[@]}"; do wait_state "$id" running 60; done
for id in "${ids[@]}"; do
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs $id | grep -q '^1 stdout'" || fail "no logs for $id"
done
sleep 4
declare -A cid1 log1
for id in "${ids[@]}"; do cid1[$id]=$(cid_of "$id"); done
pdd_stop
# What each first run wrote, as Docker recorded it: its json-file, final now.
for id in "${ids[@]}"; do
    c=${cid1[$id]}
    f="$PDD_DIR/root/containers/$c/$c-json.log"
    [ -f "$f" ] || fail "task $id: no json-file for $c"
    cp "$f" "$T_DIR/run1-$id.json"
    jq -j 'select(.stream == "stdout") | .log' "$T_DIR/run1-$id.json" >"$T_DIR/run1-$id.out"
    jq -j 'select(.stream == "stderr") | .log' "$T_DIR/run1-$id.json" >"$T_DIR/run1-$id.err"
    last=$(jq -j '.log' "$T_DIR/run1-$id.json" | awk '{print $1}' | sort -n | tail -n 1)
    # Docker's own record is gap-free and the run was cut short
    [ -n "$last" ] && [ "$last" -gt 10 ] && [ "$last" -lt "$LINES_NLR" ] ||
        fail "task $id: first run wrote up to line '$last' before the stop"
    cmp -s "$T_DIR/run1-$id.out" <(lines 1 "$last" stdout) &&
        cmp -s "$T_DIR/run1-$id.err" <(lines 1 "$last" stderr) ||
        fail "task $id: Docker's json-file of the first run is not lines 1..$last"
    log1[$id]=$last
done
sleep "$DOWN"
pdd_start
ok "dockerd stopped without live restore: first runs ended at lines $(for id in "${ids[@]}"; do
    printf '%s ' "${log1[$id]}"
done)"

for id in "${ids[@]}"; do
    wait_for 60 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $id | jq -r '.restarts // 0')\" -ge 1 ]" ||
        fail "task $id not restarted: $(task_json "$id" | jq -c '{state, restarts, events: .events[-6:]}')"
done
for id in "${ids[@]}"; do
    wait_state "$id" exited $((LINES_NLR / RATE + 60))
    j=$(task_json "$id")
    [ "$(jq -r .restarts <<<"$j")" = 1 ] || fail "task $id: $(jq -r .restarts <<<"$j") restarts, not 1"
    [ "$(cid_of "$id")" != "${cid1[$id]}" ] || fail "task $id: still the first container"
    wait_drained "$id" $((LINES_NLR - 1)) "$LINES_NLR"
    { cat "$T_DIR/run1-$id.out"; lines 1 "$LINES_NLR" stdout; } >"$T_DIR/want-out"
    { cat "$T_DIR/run1-$id.err"; lines 1 "$LINES_NLR" stderr; } >"$T_DIR/want-err"
    check_file "$id" stdout "$T_DIR/want-out" "no live restore"
    check_file "$id" stderr "$T_DIR/want-err" "no live restore"
done
ok "no live restore: each task restarted once; first run's lines 1..N (as Docker recorded them) and the second run's 1..$LINES_NLR each exactly once"
finish
