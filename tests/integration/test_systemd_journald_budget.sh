#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15 item 3): one journald budget per
# container. Each docklog helper runs in a transient service of its own, so
#  - a task flooding its log (100000 lines in a second or two) spends only its
#    own helper's journald budget: a quiet task's every line reaches journald;
#  - logs.journald_rate_limit / _burst set the helper unit's limit: journald keeps about
#    the burst of a fast task and says it suppressed the rest, for that unit alone;
#  - each helper's unit has its own memory and CPU accounting (systemctl status);
#  - `systemctl kill -s KILL dockvisor` (kill-whom=all) kills the agent only: every
#    helper lives on, systemd restarts the agent, which re-adopts the same helpers, and
#    no line is lost.
# With every helper in dockvisor.service's cgroup (the old way) the quiet task loses its
# lines, the burst is not applied, and the kill takes every helper with the agent.
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

QUIET=80 # lines, one every 100 ms, from 2 s after the start: the flood has begun by then
BURST_LINES=1000

sd_install_build 25280 25299
sd systemctl start dockvisor.service || fail "systemctl start failed"
sd_learn_node
units=$(dv node-status -json | jq -r .docklog_units)
[ "$units" = "transient units (systemd)" ] || fail "node-status says docklog_units: $units"
dv node-status | matches -E '^Log helpers +\= transient units \(systemd\)$' \
    || fail "node-status does not say where the log helpers run"
ok "node-status: docklog helpers in transient units"

f=$(spec flood "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
      "yes flood-line-of-some-length | head -n 100000; exec sleep 100000"]')
flood=$(dv run -detach "$f") || fail "submit flood"
f=$(spec quiet "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
      "sleep 2; i=0; while [ $i -lt '"$QUIET"' ]; do i=$((i+1)); echo \"quiet $i\"; usleep 100000; done; exec sleep 100000"]')
quiet=$(dv run -detach "$f") || fail "submit quiet"
f=$(spec burst "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
      "sleep 2; i=0; while [ $i -lt '"$BURST_LINES"' ]; do i=$((i+1)); echo \"burst $i\"; done; sleep 11; echo after; exec sleep 100000"]
      | .logs = {journald_rate_limit: "10s", journald_rate_limit_burst: 50}')
burst=$(dv run -detach "$f") || fail "submit burst"
for id in "$flood" "$quiet" "$burst"; do wait_state "$id" running 60; done

# Each helper in its own unit, in the slice, named after its task.
unit_of() { # TASK_ID → the unit of its docklog helper
    sd systemctl list-units --all --plain --no-legend 'dockvisor-docklog-*' \
        | awk '{print $1}' | grep -- "-${1:0:8}-" | head -n 1
}
declare -A unit pid
for id in "$flood" "$quiet" "$burst"; do
    unit[$id]=$(unit_of "$id")
    [ -n "${unit[$id]}" ] || fail "no transient unit for the docklog of $id: $(sd systemctl list-units --all --plain --no-legend 'dockvisor-docklog-*')"
    pid[$id]=$(docklog_of "$id") || fail "no docklog process for $id"
    grep -q "/dockvisor-docklog.slice/${unit[$id]}\$" "/proc/${pid[$id]}/cgroup" \
        || fail "docklog of $id is not in its unit: $(cat "/proc/${pid[$id]}/cgroup")"
done
[[ ${unit[$quiet]} == "dockvisor-docklog-$T_PREFIX-quiet-"* ]] || fail "unit name ${unit[$quiet]}"
for prop in MemoryAccounting CPUAccounting TasksAccounting; do
    [ "$(sd systemctl show -P "$prop" "${unit[$quiet]}")" = yes ] || fail "$prop is not on for a helper"
done
status=$(sd systemctl status --no-pager "${unit[$quiet]}")
grep -qE '^ +CGroup: .*/dockvisor-docklog.slice/' <<<"$status" || fail "helper not in the slice: $status"
# systemctl shows the numbers where the machine has the controllers: with a cgroup v2
# host, or v1 controllers nspawn delegates. A cgroup v1 host without them (this test's
# CI host) shows none for any unit, systemd-run's as much as ours.
if sd test -e /sys/fs/cgroup/memory/dockvisor.slice -o -e /sys/fs/cgroup/cgroup.controllers; then
    grep -qE '^ +Memory: ' <<<"$status" || fail "no Memory accounting shown for a helper: $status"
    grep -qE '^ +CPU: ' <<<"$status" || fail "no CPU accounting shown for a helper: $status"
else
    log "the machine has no memory controller: systemctl status shows no Memory:/CPU: for any unit"
fi
ok "each docklog in a unit of its own (${unit[$quiet]}), with memory, CPU and task accounting on"

# Kill the agent's whole unit (kill-whom=all) while the quiet task logs: only the agent dies.
sleep 3
pid1=$(sd_main_pid)
# systemd in this nspawn machine on a cgroup v1 host may answer EIO for the cgroup's
# other processes once the main one is killed (also with none left); the helpers'
# cgroups were checked above, and their pids are checked below.
out=$(sd systemctl kill -s KILL dockvisor.service 2>&1) || matches 'Input/output error' <<<"$out" \
    || fail "systemctl kill failed: $out"
for id in "$flood" "$quiet" "$burst"; do
    kill -0 "${pid[$id]}" 2>/dev/null || fail "the docklog of $id died with systemctl kill"
done
restarted() { local p; p=$(sd_main_pid); [ "$p" != 0 ] && [ "$p" != "$pid1" ] \
    && [ "$(sd systemctl is-active dockvisor.service)" = active ]; }
wait_for 30 restarted || fail "systemd did not restart the agent (MainPID $(sd_main_pid))"
recovered() { sd_journal -u dockvisor.service | matches 'recovery: 3 tasks in'; }
wait_for 30 recovered || fail "no recovery after the kill" # journald may lag behind the flood
for id in "$flood" "$quiet" "$burst"; do
    [ "$(task_field "$id" .state)" = running ] || fail "task $id not running after the agent's restart"
    [ "$(docklog_of "$id")" = "${pid[$id]}" ] || fail "task $id has another docklog after the restart"
    [ "$(task_field "$id" .docklog.pid)" != null ] || fail "task $id: helper not adopted: $(task_json "$id" | jq -c .docklog)"
done
ok "systemctl kill -s KILL: the agent alone died and came back; every docklog adopted"

# Every quiet line once in journald, though the flood ran beside it.
quiet_lines() { sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-quiet" | grep -c '^quiet ' || true; }
quiet_done() { [ "$(quiet_lines)" -ge "$QUIET" ]; }
wait_for 60 quiet_done \
    || fail "the quiet task has $(quiet_lines) of $QUIET lines in journald"
want=$(seq 1 $QUIET | sed 's/^/quiet /')
got=$(sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-quiet" | sort -V)
[ "$got" = "$want" ] || fail "quiet lines in journald are not 1..$QUIET once each: $(diff <(echo "$want") <(echo "$got") | head -5)"
# journald's "Suppressed N messages from UNIT" (SD_MESSAGE_JOURNAL_DROPPED), written
# when the unit's next message comes after its interval.
suppressed() { sd_journal MESSAGE_ID=a596d6fe7bfa4994828e72309e95d61e | matches "Suppressed [0-9]* messages from $1"; }
flooded=$(sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-flood" | wc -l)
[ "$flooded" -lt 100000 ] || fail "journald did not rate-limit the flood's unit (${flooded} lines kept)"
ok "the flood ($flooded of 100000 lines kept, suppressed in its own unit) cost the quiet task nothing"

# The burst task's own budget: about 50 lines (journald scales the burst by up to 6 with
# its free space), the rest suppressed for its unit alone (said when its line "after"
# comes, 11 s later: past the task's 10 s interval).
wait_for 30 suppressed "${unit[$burst]}" \
    || fail "journald says nothing of suppressing the burst task's unit ${unit[$burst]}"
kept=$(sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-burst" | grep -c '^burst ' || true)
[ "$kept" -ge 50 ] && [ "$kept" -le 300 ] || fail "journald kept $kept of $BURST_LINES burst lines (want 50..300)"
[ "$(sd systemctl show -P LogRateLimitBurst "${unit[$burst]}")" = 50 ] || fail "LogRateLimitBurst not set"
[ "$(sd systemctl show -P LogRateLimitIntervalUSec "${unit[$burst]}")" = 10s ] || fail "LogRateLimitIntervalUSec not set"
[ "$(sd systemctl show -P LogRateLimitBurst "${unit[$quiet]}")" = 0 ] || fail "the quiet helper has a burst set"
ok "logs.journald_rate_limit 10s, burst 50: journald kept $kept of $BURST_LINES lines of that task"

# The log files have everything, whatever journald kept.
files() { cat "$SD_ROOT"/var/lib/dockvisor/tasks/"$1"/alloc/logs/*.stdout.* 2>/dev/null; }
has_lines() { [ "$(files "$1" | wc -l)" -ge "$2" ]; }
wait_for 60 has_lines "$burst" "$BURST_LINES" || fail "the burst task's files lack lines"
wait_for 30 has_lines "$quiet" "$QUIET" || fail "the quiet task's files lack lines"
# The flood writes faster than Docker keeps its json-file (its max-size and max-file).
# Lines Docker rotates away while a helper follows are a gap it reports ("Logs lost");
# lines rotated away before a helper's first read are not seen as a gap (known, not
# asserted here: about one 2 MB file in 2 of 6 runs; the helper starts after the
# container, a unit start taking longer than a fork). So this only logs the count.
log "flood: $(files "$flood" | wc -l) of 100000 lines in the files; $(task_json "$flood" | jq -r '[.events[] | select(.type == "Logs lost")] | length') gap events"
ok "the files have every line of the quiet and burst tasks"

# A helper that dies is launched again by the agent (a job on a worker: systemd's start
# job is blocking bus I/O), in a new unit, and watched as before.
kill -KILL "${pid[$flood]}"
respawned() { local p; p=$(docklog_of "$flood") && [ "$p" != "${pid[$flood]}" ] \
    && [ "$(task_field "$flood" .docklog.pid)" != null ]; }
wait_for 30 respawned || fail "the flood's helper was not launched again: $(task_json "$flood" | jq -c '[.events[-3:][] | .message]')"
new_unit=$(unit_of "$flood")
# (Its name may be the old one's: the restarted agent counts launches from 1 again, and
# the killed helper's unit is collected; a name still taken is retried with the next.)
[ -n "$new_unit" ] || fail "no unit for the new helper"
grep -q "/dockvisor-docklog.slice/$new_unit\$" "/proc/$(docklog_of "$flood")/cgroup" || fail "the new helper is not in $new_unit"
task_json "$flood" | jq -r '.events[].message' | matches 'docklog helper ended before it was done' \
    || fail "no event for the helper's end: $(task_json "$flood" | jq -c '[.events[-3:][] | .message]')"
ok "a killed helper comes back in a unit of its own ($new_unit)"

for id in "$flood" "$quiet" "$burst"; do dv rm -force "$id" >/dev/null || fail "rm $id"; done
gone() { [ -z "$(sd systemctl list-units --all --plain --no-legend 'dockvisor-docklog-*')" ]; }
wait_for 30 gone || fail "helper units left after rm: $(sd systemctl list-units --all --plain --no-legend 'dockvisor-docklog-*')"
ok "the helpers' units are collected once they end"
ok "test_systemd_journald_budget"
