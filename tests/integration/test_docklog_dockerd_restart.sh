#!/usr/bin/env bash
# Log fidelity across restarts of the Docker daemon, on a private dockerd
# (private_dockerd.sh: the shared one is never stopped). Tasks print numbered
# lines, alternating stdout and stderr, while dockerd goes away and comes back:
#  1. with --live-restore: the containers keep running (same StartedAt), the tasks
#     stay running without a restart, and once the payloads are done every task's
#     files hold every line exactly once (lines printed while dockerd was down
#     included: they wait in the container's pipe);
#  2. without live restore: Docker stops the containers when it stops. Every line
#     Docker recorded of the first run (its json-file, read from disk while the
#     daemon is down) is in the task's files exactly once, the agent's restart
#     policy restarts the task once dockerd is back, and the second run's lines
#     follow, complete and exactly once.
# Both, first with the agent (and so docklog) on dockerd's unix socket, where
# docklog may read Docker's json-file from disk, then on a loopback tcp://
# endpoint, where it follows the logs through the Engine API and must reconnect.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
T_PREFIX="dvtest-ddrestart-$$"

N=3
RATE=20       # lines per second
LINES_LR=300  # 15 s of output, with dockerd down for DOWN seconds in the middle
LINES_NLR=400 # per run; the first is cut short by the daemon's stop
DOWN=3        # seconds dockerd stays down

# lines FROM TO STREAM: what the payload prints on STREAM (odd lines on stdout)
lines() {
    local first=$1
    if [ "$3" = stdout ] && [ $((first % 2)) -eq 0 ]; then first=$((first + 1)); fi
    if [ "$3" = stderr ] && [ $((first % 2)) -eq 1 ]; then first=$((first + 1)); fi
    [ "$first" -le "$2" ] || return 0
    seq "$first" 2 "$2" | sed "s/\$/ $3/"
}

# check_file ID STREAM EXPECTED_FILE WHAT: the task's files are exactly EXPECTED_FILE
check_file() {
    local id=$1 stream=$2 want=$3 what=$4 got="$T_DIR/got-$1-$2"
    if [ "$stream" = stderr ]; then dv logs -stderr "$id" >"$got"; else dv logs "$id" >"$got"; fi
    if cmp -s "$got" "$want"; then
        task_json "$id" | jq -e '.log_gaps == null' >/dev/null ||
            fail "task $id: $what: the agent reports log gaps: $(task_field "$id" .log_gaps)"
        return 0
    fi
    log "task $id $stream: $(wc -l <"$got") lines in the files, $(wc -l <"$want") expected"
    log "duplicated: $(sort "$got" | uniq -d | head -20 | awk '{print $1}' | tr '\n' ' ')"
    log "lost: $(comm -13 <(sort -u "$got") <(sort -u "$want") | sort -n | head -20 | awk '{print $1}' | tr '\n' ' ')"
    log "first difference: $(diff "$got" "$want" | head -6 | tr '\n' '|')"
    log "docklog.log of $id:"
    tail -n 40 "$T_DIR/data/tasks/$id/docklog.log" >&2 || true
    fail "task $id: $what: $stream lines lost, duplicated or out of order"
}

# wait_drained ID LAST_STDOUT LAST_STDERR: the helper delivered the last lines
wait_drained() {
    wait_for 60 sh -c "'$DOCKVISOR_BIN' logs -stderr $1 | tail -n 1 | grep -qx '$3 stderr'" ||
        fail "task $1: stderr never complete: $(dv logs -stderr -tail 2 "$1" | tr '\n' '|')"
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs $1 | tail -n 1 | grep -qx '$2 stdout'" ||
        fail "task $1: stdout never complete: $(dv logs -tail 2 "$1" | tr '\n' '|')"
}

# wait_line ID N: the task's files have reached line N
wait_line() {
    wait_for 30 sh -c "n=\$('$DOCKVISOR_BIN' logs -tail 1 $1 | cut -d' ' -f1); [ \"\${n:-0}\" -ge $2 ]" ||
        fail "task $1: line $2 never in the files: $(dv logs -tail 1 "$1")"
}

# task_spec NAME LINES → spec file: no network at all, restarts on failure
task_spec() {
    spec "$1" "$DV_TEST_IMAGE_PAYLOAD" \
        ".config.args = [\"lines\", \"$2\", \"$RATE\"] | .config.network_mode = \"none\" |
         .restart = {attempts: 3, interval: \"10m\", delay: \"2s\", mode: \"fail\"}"
}

cid_of() { task_field "$1" .container_id; }
started_at() { pdd_docker inspect -f '{{.State.StartedAt}}' "$1"; }
how_read() { # ID → how docklog read the logs, from its diagnostics
    if grep -q "reading Docker's log files" "$T_DIR/data/tasks/$1/docklog.log" 2>/dev/null; then
        echo "json-file"
    else
        echo "API"
    fi
}

# (re)start the private dockerd with FLAGS unless it runs with them already
dockerd_with() {
    if [ -n "$PDD_PID" ] && [ "${PDD_START_ARGS[*]}" = "$*" ]; then return 0; fi
    pdd_stop
    pdd_start "$@"
}

# --- 1. live restore: the containers and their helpers ride through ---
phase_live_restore() { # VARIANT DOCKERD_FLAGS...
    local v=$1 id i
    shift
    dockerd_with --live-restore "$@"
    [ "$(pdd_docker info --format '{{.LiveRestoreEnabled}}')" = true ] || fail "live restore is off"
    local ids=()
    for i in $(seq 1 $N); do ids+=("$(dv run -detach "$(task_spec "lr-$v-$i" "$LINES_LR")")"); done
    for id in "${ids[@]}"; do wait_state "$id" running 60; done
    for id in "${ids[@]}"; do wait_line "$id" 40; done
    local -A cid started helper
    for id in "${ids[@]}"; do
        cid[$id]=$(cid_of "$id")
        started[$id]=$(started_at "${cid[$id]}")
        helper[$id]=$(task_field "$id" '.docklog.pid // 0')
    done
    ok "$v: $N tasks logging $RATE lines/s, dockerd with live restore"

    pdd_stop
    for id in "${ids[@]}"; do
        # the payload keeps running under its shim while the daemon is away
        pgrep -f "containerd-shim.*-id ${cid[$id]}" >/dev/null || fail "task $id: no shim without dockerd"
    done
    sleep "$DOWN"
    pdd_start "${PDD_START_ARGS[@]}"
    for id in "${ids[@]}"; do
        [ "$(pdd_docker inspect -f '{{.State.Running}}' "${cid[$id]}")" = true ] ||
            fail "task $id: container not running after the restart"
        [ "$(started_at "${cid[$id]}")" = "${started[$id]}" ] ||
            fail "task $id: container restarted (${started[$id]} -> $(started_at "${cid[$id]}"))"
        [ "$(task_field "$id" .state)" = running ] || fail "task $id is $(task_field "$id" .state) after the restart"
    done
    ok "$v: dockerd restarted with live restore: containers kept running (same StartedAt), tasks running"
    local notes=
    for id in "${ids[@]}"; do
        local now
        now=$(task_field "$id" '.docklog.pid // 0')
        if [ "$now" = "${helper[$id]}" ]; then notes+=" same helper ($(how_read "$id"));"; else
            notes+=" helper ${helper[$id]} -> $now ($(how_read "$id"));"
        fi
    done
    log "$v: docklog across the restart:$notes"

    local c f n_docker
    for id in "${ids[@]}"; do
        wait_state "$id" exited $((LINES_LR / RATE + 60))
        wait_drained "$id" $((LINES_LR - 1)) "$LINES_LR"
        # What the task's files must hold is what Docker recorded: its json-file, final
        # now. A line dockerd's log copier had read from the container's pipe but not yet
        # written when it stopped is gone with it (seen once in CI: one line at the stop),
        # which no reader can get back; anything more is not that.
        c=${cid[$id]}
        f="$PDD_DIR/root/containers/$c/$c-json.log"
        [ -f "$f" ] || fail "task $id: no json-file for $c"
        jq -j 'select(.stream == "stdout") | .log' "$f" >"$T_DIR/want-out"
        jq -j 'select(.stream == "stderr") | .log' "$f" >"$T_DIR/want-err"
        local s stream missing=
        for s in out err; do
            if [ "$s" = out ]; then stream=stdout; else stream=stderr; fi
            cmp -s "$T_DIR/want-$s" <(sort -n -u "$T_DIR/want-$s") ||
                fail "task $id: Docker's json-file ($stream) is out of order or has a line twice"
            [ -z "$(comm -13 <(lines 1 "$LINES_LR" "$stream" | sort) <(sort "$T_DIR/want-$s"))" ] ||
                fail "task $id: Docker's json-file ($stream) has lines the payload never printed"
            missing+=$(comm -23 <(lines 1 "$LINES_LR" "$stream" | sort) <(sort "$T_DIR/want-$s") |
                awk '{printf " %s", $1}')
        done
        n_docker=$(cat "$T_DIR/want-out" "$T_DIR/want-err" | wc -l)
        [ "$n_docker" -ge $((LINES_LR - 2)) ] ||
            fail "task $id: Docker's json-file holds $n_docker of $LINES_LR lines (missing:$missing)"
        [ -z "$missing" ] || log "task $id: Docker itself recorded $n_docker of $LINES_LR lines (lost at its stop:$missing)"
        check_file "$id" stdout "$T_DIR/want-out" "$v, live restore"
        check_file "$id" stderr "$T_DIR/want-err" "$v, live restore"
        [ "$(task_field "$id" .restarts)" = 0 ] || fail "task $id restarted: $(task_json "$id" | jq -c .events)"
        [ "$(cid_of "$id")" = "${cid[$id]}" ] || fail "task $id: another container"
    done
    ok "$v, live restore: every task's files hold every line Docker recorded (1..$LINES_LR) exactly once, no restart"
}

# --- 2. no live restore: Docker stops the containers; the restart policy applies ---
phase_no_live_restore() { # VARIANT DOCKERD_FLAGS...
    local v=$1 id i c f last
    shift
    dockerd_with "$@"
    [ "$(pdd_docker info --format '{{.LiveRestoreEnabled}}')" = false ] || fail "live restore is on"
    local ids=()
    for i in $(seq 1 $N); do ids+=("$(dv run -detach "$(task_spec "nlr-$v-$i" "$LINES_NLR")")"); done
    for id in "${ids[@]}"; do wait_state "$id" running 60; done
    for id in "${ids[@]}"; do wait_line "$id" 40; done
    local -A cid1 last1
    for id in "${ids[@]}"; do cid1[$id]=$(cid_of "$id"); done
    # Docker stops the containers (the payload, as pid 1, ignores SIGTERM: killed
    # after 10s, logging all along), then itself.
    pdd_stop
    for id in "${ids[@]}"; do
        # What the first run wrote, as Docker recorded it: its json-file, final now.
        c=${cid1[$id]}
        f="$PDD_DIR/root/containers/$c/$c-json.log"
        [ -f "$f" ] || fail "task $id: no json-file for $c"
        jq -j 'select(.stream == "stdout") | .log' "$f" >"$T_DIR/run1-$id.out"
        jq -j 'select(.stream == "stderr") | .log' "$f" >"$T_DIR/run1-$id.err"
        last=$(jq -j '.log' "$f" | awk '{print $1}' | sort -n | tail -n 1)
        # the run was cut short, and Docker's own record of it is gap-free
        [ -n "$last" ] && [ "$last" -gt 40 ] && [ "$last" -lt "$LINES_NLR" ] ||
            fail "task $id: the first run wrote up to line '$last' before the stop"
        cmp -s "$T_DIR/run1-$id.out" <(lines 1 "$last" stdout) &&
            cmp -s "$T_DIR/run1-$id.err" <(lines 1 "$last" stderr) ||
            fail "task $id: Docker's json-file of the first run is not lines 1..$last"
        last1[$id]=$last
    done
    sleep "$DOWN"
    pdd_start "${PDD_START_ARGS[@]}"
    ok "$v: dockerd stopped without live restore: first runs ended at lines$(for id in "${ids[@]}"; do
        printf ' %s' "${last1[$id]}"
    done)"

    for id in "${ids[@]}"; do
        wait_for 90 sh -c "[ \"\$('$DOCKVISOR_BIN' status -json $id | jq -r .restarts)\" -ge 1 ]" ||
            fail "task $id not restarted: $(task_json "$id" | jq -c '{state, restarts, events: .events[-6:]}')"
    done
    for id in "${ids[@]}"; do
        wait_state "$id" exited $((LINES_NLR / RATE + 60))
        [ "$(task_field "$id" .restarts)" = 1 ] || fail "task $id: $(task_field "$id" .restarts) restarts, not 1"
        [ "$(cid_of "$id")" != "${cid1[$id]}" ] || fail "task $id: still the first container"
        wait_drained "$id" $((LINES_NLR - 1)) "$LINES_NLR"
        { cat "$T_DIR/run1-$id.out"; lines 1 "$LINES_NLR" stdout; } >"$T_DIR/want-out"
        { cat "$T_DIR/run1-$id.err"; lines 1 "$LINES_NLR" stderr; } >"$T_DIR/want-err"
        check_file "$id" stdout "$T_DIR/want-out" "$v, no live restore"
        check_file "$id" stderr "$T_DIR/want-err" "$v, no live restore"
    done
    ok "$v, no live restore: each task restarted once; the first run's lines (as Docker recorded them), then the second run's 1..$LINES_NLR, each exactly once"
}

# A free loopback port for the private dockerd's tcp listener.
free_port() {
    local p
    for p in $(seq 24940 24949); do
        [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || { echo "$p" && return 0; }
    done
    return 1
}

pdd_setup
pdd_start --live-restore
pdd_load_image "$DV_TEST_IMAGE_PAYLOAD"
[ "$(pdd_docker info --format '{{.Driver}}')" = vfs ] || fail "private dockerd storage driver"

# unix socket: docklog may read Docker's json-file from disk
start_agent 24950 24959 "$(jq -n --arg e "$(pdd_sock)" '{docker: {endpoint: $e}}')"
phase_live_restore unix
phase_no_live_restore unix
stop_agent || fail "the agent exited $? on SIGTERM"

# loopback tcp: docklog follows the logs through the Engine API
port=$(free_port) || fail "no free port in 24940-24949"
tcp=(--host "tcp://127.0.0.1:$port")
dockerd_with --live-restore "${tcp[@]}"
start_agent 24950 24959 "$(jq -n --arg e "tcp://127.0.0.1:$port" '{docker: {endpoint: $e}}')"
phase_live_restore tcp "${tcp[@]}"
phase_no_live_restore tcp "${tcp[@]}"
finish
