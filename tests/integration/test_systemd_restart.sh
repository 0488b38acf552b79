#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15): `systemctl start` answers only after
# recovery (READY=1) and `systemctl status` shows the agent's STATUS= line; `systemctl
# restart`, and `stop` + `start`, with 20 tasks logging numbered lines: no container
# restarted, every docklog helper kept (KillMode=process), every line once in the files
# and in the machine's journald.
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

TASKS=20
LINES=300 # 20 x 300 stays under journald's default budget of 10000 per 30 s per unit

sd_install_build 25260 25279
sd systemctl start dockvisor.service || fail "systemctl start failed"
[ "$(sd systemctl is-active dockvisor.service)" = active ] || fail "not active after start"
sd_learn_node
sd systemctl status --no-pager dockvisor.service | matches 'Status: "0 tasks: 0 running' \
    || fail "systemctl status does not show the agent's STATUS= line"
ok "started as Type=notify; systemctl status shows STATUS="

ids=()
for i in $(seq 1 $TASKS); do
    f=$(spec "t$i" "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
          "i=0; while [ $i -lt '"$LINES"' ]; do i=$((i+1)); echo \"line $i\"; usleep 30000; done; exec sleep 100000"]')
    ids+=("$(dv run -detach "$f")") || fail "submit t$i"
done
for id in "${ids[@]}"; do wait_state "$id" running 60; done
ok "$TASKS tasks running"

# What must survive: each task's container (id, start time) and its docklog (pid, start).
docklog_of() { # TASK_ID → host pid of its docklog
    local p
    for p in $(pgrep -x docklog); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | matches "/tasks/$1/"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
identity() { # TASK_ID → "container started-at docklog-pid docklog-starttime"
    local cid dl
    cid=$(task_field "$1" .container_id)
    dl=$(docklog_of "$1") || dl=none
    echo "$cid $(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$cid")" \
        "$dl $(awk '{print $22}' "/proc/$dl/stat" 2>/dev/null)"
}
declare -A before
for id in "${ids[@]}"; do
    before[$id]=$(identity "$id")
    [[ ${before[$id]} != *" none "* ]] || fail "task $id has no docklog helper"
done

# READY=1 only after recovery: when `systemctl restart` returns, every task is already
# recovered (running, its helper adopted), and the journal has recovery's summary line
# before systemd's "Started".
check_recovered() { # WHAT
    local id
    for id in "${ids[@]}"; do
        [ "$(task_field "$id" .state)" = running ] || fail "$1: task $id is not running when systemctl returned"
        [ "$(identity "$id")" = "${before[$id]}" ] \
            || fail "$1: task $id changed: was ${before[$id]}, is $(identity "$id")"
    done
    local order
    order=$(sd_journal -u dockvisor.service | grep -E "^recovery: $TASKS tasks in|^Started dockvisor.service" | tail -n 2)
    [[ $order == "recovery: $TASKS tasks in"*$'\n'"Started dockvisor.service"* ]] \
        || fail "$1: the journal does not show recovery before READY=1: $order"
    ok "$1: READY=1 after recovery; no container restarted, every docklog kept"
}

pid1=$(sd_main_pid)
sd systemctl restart dockvisor.service || fail "systemctl restart failed"
[ "$(sd_main_pid)" != "$pid1" ] || fail "restart did not replace the agent"
check_recovered "systemctl restart"

sleep 1
sd systemctl stop dockvisor.service || fail "systemctl stop failed"
[ "$(sd systemctl is-active dockvisor.service)" != active ] || fail "still active after stop"
for id in "${ids[@]}"; do
    pid=$(awk '{print $3}' <<<"${before[$id]}")
    kill -0 "$pid" 2>/dev/null || fail "docklog of $id died with the agent's stop"
done
ok "systemctl stop: the agent gone, every docklog still running"
sleep 1
sd systemctl start dockvisor.service || fail "systemctl start (after stop) failed"
check_recovered "systemctl stop + start"
sd systemctl status --no-pager dockvisor.service | matches "Status: \"$TASKS tasks: $TASKS running" \
    || fail "STATUS= does not count the recovered tasks"

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

for id in "${ids[@]}"; do dv rm -force "$id" >/dev/null || fail "rm $id"; done
ok "test_systemd_restart"
