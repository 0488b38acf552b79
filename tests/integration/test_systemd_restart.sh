#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15): `systemctl start` answers only after
# recovery (READY=1) and `systemctl status` shows the agent's STATUS= line; `systemctl
# restart`, and `stop` + `start`, with 20 tasks logging numbered lines: no container
# restarted, every docklog helper kept (KillMode=process), every line once in the files
# and in the machine's journald.
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

TASKS=20
LINES=400 # 20 x 400 in ~25 s stays under journald's default budget of 10000 per 30 s per unit

sd_install_build 25260 25279
sd systemctl start dockvisor.service || fail "systemctl start failed"
[ "$(sd systemctl is-active dockvisor.service)" = active ] || fail "not active after start"
sd_learn_node
sd systemctl status --no-pager dockvisor.service | matches 'Status: "0 tasks: 0 running' \
    || fail "systemctl status does not show the agent's STATUS= line"
ok "started as Type=notify; systemctl status shows STATUS="

for i in $(seq 1 $TASKS); do
    f=$(spec "t$i" "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
          "i=0; while [ $i -lt '"$LINES"' ]; do i=$((i+1)); echo \"line $i\"; usleep 60000; done; exec sleep 100000"]')
    dv run -detach "$f" >"$T_DIR/id.$i" &
done
wait
ids=()
for i in $(seq 1 $TASKS); do
    id=$(cat "$T_DIR/id.$i")
    [ -n "$id" ] || fail "submit t$i"
    ids+=("$id")
done
for id in "${ids[@]}"; do wait_state "$id" running 60; done
ok "$TASKS tasks running"

# What must survive, one line per task: its state, its container (id, start time, Docker's
# restart count) and its docklog helper (pid, start time). One API call, one inspect.
snapshot() {
    local p id
    for p in $(pgrep -x docklog); do
        id=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | sed -n 's|.*/tasks/\([^/]*\)/.*|\1|p' | head -n 1)
        [ -z "$id" ] || echo "$id $p $(awk '{print $22}' "/proc/$p/stat" 2>/dev/null)"
    done | sort >"$T_DIR/docklogs"
    dv status -json | jq -r '.[] | "\(.id) \(.state) \(.container_id)"' | sort >"$T_DIR/tasks"
    docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}' $(awk '{print $3}' "$T_DIR/tasks") \
        | sort >"$T_DIR/containers"
    join -1 3 -2 1 -o 1.1,1.2,1.3,2.2,2.3 <(sort -k3 "$T_DIR/tasks") "$T_DIR/containers" | sort \
        | join -a 1 -e none -o 1.1,1.2,1.3,1.4,1.5,2.2,2.3 - "$T_DIR/docklogs"
}
before=$(snapshot)
[ "$(wc -l <<<"$before")" = "$TASKS" ] || fail "snapshot has not $TASKS tasks: $before"
grep -q ' none ' <<<"$before" && fail "a task has no docklog helper: $before"
! grep -qv ' running ' <<<"$before" || fail "a task is not running: $before"

# READY=1 only after recovery: when `systemctl restart` returns, every task is already
# recovered (running, its helper adopted), and the journal has recovery's summary line
# before systemd's "Started".
check_recovered() { # WHAT
    local now
    now=$(snapshot)
    [ "$now" = "$before" ] || fail "$1: tasks changed when systemctl returned: $(diff <(echo "$before") <(echo "$now"))"
    local order
    order=$(sd_journal -u dockvisor.service | grep -E "^recovery: $TASKS tasks in|^Started dockvisor.service" | tail -n 2)
    [[ $order == "recovery: $TASKS tasks in"*$'\n'"Started dockvisor.service"* ]] \
        || fail "$1: the journal does not show recovery before READY=1: $order"
    ok "$1: READY=1 after recovery; no container restarted, every docklog kept"
}

# Every line once, in the files and in journald.
log_lines() { # TASK_ID
    cat "$SD_ROOT"/var/lib/dockvisor/tasks/"$1"/alloc/logs/*.stdout.* 2>/dev/null
}
complete() {
    local id
    for id in "${ids[@]}"; do
        [ "$(log_lines "$id" | grep -c '^line ')" -ge "$LINES" ] || return 1
    done
}
complete && fail "every task finished logging before the restart: it would prove nothing"
pid1=$(sd_main_pid)
sd systemctl restart dockvisor.service || fail "systemctl restart failed"
[ "$(sd_main_pid)" != "$pid1" ] || fail "restart did not replace the agent"
check_recovered "systemctl restart"

sleep 1
sd systemctl stop dockvisor.service || fail "systemctl stop failed"
[ "$(sd systemctl is-active dockvisor.service)" != active ] || fail "still active after stop"
for pid in $(awk '{print $6}' <<<"$before"); do
    kill -0 "$pid" 2>/dev/null || fail "docklog $pid died with the agent's stop"
done
ok "systemctl stop: the agent gone, every docklog still running"
sleep 1
sd systemctl start dockvisor.service || fail "systemctl start (after stop) failed"
check_recovered "systemctl stop + start"
sd systemctl status --no-pager dockvisor.service | matches "Status: \"$TASKS tasks: $TASKS running" \
    || fail "STATUS= does not count the recovered tasks"

wait_for 90 complete || fail "not every task's log file reached $LINES lines"
want=$(seq 1 $LINES | sed 's/^/line /')
for i in $(seq 1 $TASKS); do
    id=${ids[$((i - 1))]}
    got=$(log_lines "$id" | grep '^line ' | sort -V)
    [ "$got" = "$want" ] || fail "task t$i's log file is not lines 1..$LINES once each: $(diff <(echo "$want") <(echo "$got") | head -5)"
    got=$(sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-t$i" | sort -V)
    [ "$got" = "$want" ] || fail "task t$i in journald is not lines 1..$LINES once each: $(diff <(echo "$want") <(echo "$got") | head -5)"
done
ok "every line of $TASKS tasks once, in the files and in journald, across restart and stop + start"

ok "test_systemd_restart" # the tasks go with the test's cleanup
