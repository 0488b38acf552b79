fds_back() { [ "$(fds)" -le $((fds_before + 2)) ]; }
wait_for 10 fds_back || fail#!/usr/bin/env bash
# Restart churn (review B1): tasks that print on both streams and fail at once,
# restarted without delay, so docklog helpers are forked and reaped many times a
# second while others exit. A helper's pidfd closed before it was unwatched was a
# use-after-free in the event loop, seen under ASan after ~20-30 container
# starts. Bounded to ~45 s of churn; under the sanitizers `finish` fails on any
# report. Also: no descriptor is leaked by the helpers' comings and goings.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

CHURN_SECONDS=${DV_CHURN_SECONDS:-45}
N=12
start_agent 23600 23609

fds() { ls "/proc/$T_AGENT_PID/fd" | wc -l; }
restarts_total() { api http://localhost/v1/metrics | awk '/^dockvisor_task_restarts_total/ {s += $NF} END {print s + 0}'; }

fds_before=$(fds)
ids=()
for i in $(seq 1 $N); do
    f=$(spec "churn$i" "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" |
        .config.args = ["-c", "echo a; echo b >&2; exit 1"] |
        .restart = {attempts: 100000, interval: "100h", delay: "0s", mode: "fail"}')
    ids+=("$(dv run -detach "$f")")
done
log "churning $N tasks for ${CHURN_SECONDS}s"
end=$((SECONDS + CHURN_SECONDS))
while [ $SECONDS -lt $end ]; do
    kill -0 "$T_AGENT_PID" 2>/dev/null || fail "the agent died during the churn"
    sleep 1
done
total=$(restarts_total)
log "$total restarts in ${CHURN_SECONDS}s"
[ "$total" -ge 40 ] || fail "only $total restarts: the churn did not happen"
for id in "${ids[@]}"; do
    state=$(task_field "$id" .state)
    case $state in running | pulling | starting | restarting | pending) ;;
    *) fail "task $id is $state during the churn: $(task_json "$id" | jq -c '.events[-3:]')" ;;
    esac
done
ok "$total container starts with their docklog helpers, agent alive"

for id in "${ids[@]}"; do dv rm -force "$id" >/dev/null || fail "rm -force $id"; done
[ "$(dv status -json | jq length)" = 0 ] || fail "tasks left: $(dv status)"
[ -z "$(our_containers)" ] || fail "containers left"
# Helpers are reaped and their pidfds closed: the agent holds what it held before.
fds_back() { [ "$(fds)" -le $((fds_before + 2)) ]; }
wait_for 10 fds_back || fail "agent fds: $fds_before before, $(fds) after"
ok "nothing left behind; fds $fds_before -> $(fds)"
finish
