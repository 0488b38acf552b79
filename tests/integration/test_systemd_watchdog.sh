#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15): a frozen agent (SIGSTOP) stops
# sending WATCHDOG=1; systemd declares the watchdog timeout, kills it and starts a new
# one (Restart=on-failure); the tasks are untouched and the new agent re-adopts them.
# WatchdogSec is lowered to 6 s by a drop-in so the test does not wait the unit's 30 s;
# the agent pings at half the interval systemd gives it (sd_watchdog_enabled).
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

sd_install_build 25260 25279
mkdir -p "$SD_ROOT/etc/systemd/system/dockvisor.service.d"
printf '[Service]\nWatchdogSec=6s\n' >"$SD_ROOT/etc/systemd/system/dockvisor.service.d/watchdog.conf"
sd systemctl daemon-reload
sd systemctl start dockvisor.service || fail "systemctl start failed"
sd_learn_node

ids=()
for i in 1 2 3; do
    f=$(spec "w$i" "$DV_TEST_IMAGE_BUSYBOX" \
        '.config.command = "sh" | .config.args = ["-c", "i=0; while true; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done"]')
    ids+=("$(dv run -detach "$f")") || fail "submit w$i"
done
for id in "${ids[@]}"; do wait_state "$id" running 60; done
declare -A started
for id in "${ids[@]}"; do
    started[$id]=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$(task_field "$id" .container_id)")
done
docklogs_before=$(sd pgrep -x docklog | sort | tr '\n' ' ')
[ -n "$docklogs_before" ] || fail "no docklog helpers in the machine"

# A healthy agent outlives several watchdog intervals: it really pings.
sleep 13
[ "$(sd systemctl show -P NRestarts dockvisor.service)" = 0 ] || fail "the watchdog fired on a healthy agent"
ok "a healthy agent keeps the 6 s watchdog fed"

old=$(sd_main_pid)
host_pid=$(sd_host_pid "$old") || fail "cannot find the agent's host pid"
kill -STOP "$host_pid"
ok "agent (pid $old in the machine) frozen with SIGSTOP"
restarted() {
    local p
    p=$(sd_main_pid)
    [ "$p" != 0 ] && [ "$p" != "$old" ] && [ "$(sd systemctl is-active dockvisor.service)" = active ]
}
wait_for 60 restarted || fail "systemd did not replace the frozen agent within 60 s"
sd_journal -u dockvisor.service | matches -i "watchdog timeout" || fail "the journal does not say the watchdog fired"
[ "$(sd systemctl show -P NRestarts dockvisor.service)" -ge 1 ] || fail "NRestarts did not count the restart"
kill -0 "$host_pid" 2>/dev/null && fail "the frozen agent is still alive"
ok "systemd killed the frozen agent after WatchdogSec and started a new one"

for id in "${ids[@]}"; do
    [ "$(task_field "$id" .state)" = running ] || fail "task $id is not running after the watchdog restart"
    now=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$(task_field "$id" .container_id)")
    [ "$now" = "${started[$id]}" ] || fail "task $id's container was replaced or restarted: ${started[$id]} -> $now"
done
[ "$(sd pgrep -x docklog | sort | tr '\n' ' ')" = "$docklogs_before" ] || fail "docklog helpers changed across the watchdog restart"
# The new agent follows the helpers: a line written now reaches the task's log file.
id=${ids[0]}
before=$(cat "$SD_ROOT/var/lib/dockvisor/tasks/$id/alloc/logs/"*.stdout.* | wc -l)
grows() { [ "$(cat "$SD_ROOT/var/lib/dockvisor/tasks/$id/alloc/logs/"*.stdout.* | wc -l)" -gt "$before" ]; }
wait_for 10 grows || fail "task $id's log stopped growing after the watchdog restart"
ok "tasks untouched, helpers kept and re-adopted by the new agent"

ok "test_systemd_watchdog" # the tasks go with the test's cleanup
