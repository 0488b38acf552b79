#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15): `systemctl stop` while a drain waits
# for its tasks finishes the drain first (the drain's client gets its summary, every
# container is down when systemctl returns); a second stop signal stops the agent at
# once, says why the drain is left, and the next agent finishes stopping the tasks.
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

sd_install_build 25260 25279
sd systemctl start dockvisor.service || fail "systemctl start failed"
sd_learn_node

# The shell as PID 1 of its container ignores SIGTERM: each stop takes kill_timeout.
submit_slow_stoppers() { # PREFIX → ids, one per line
    local i f
    for i in 1 2 3; do
        f=$(spec "$1$i" "$DV_TEST_IMAGE_BUSYBOX" \
            '.config.command = "sh" | .config.args = ["-c", "while true; do sleep 1; done"] | .kill_timeout = "5s"')
        dv run -detach "$f" || fail "submit $1$i"
    done
}
mapfile -t ids < <(submit_slow_stoppers d)
for id in "${ids[@]}"; do wait_state "$id" running 60; done
containers=()
for id in "${ids[@]}"; do containers+=("$(task_field "$id" .container_id)"); done
running() { docker inspect -f '{{.State.Running}}' "$1"; }

dv drain >"$T_DIR/drain.out" 2>&1 &
drain_pid=$!
sleep 1
t0=$SECONDS
sd systemctl stop dockvisor.service || fail "systemctl stop failed"
took=$((SECONDS - t0))
for c in "${containers[@]}"; do
    [ "$(running "$c")" = false ] || fail "container ${c:0:12} still runs when systemctl stop returned"
done
wait "$drain_pid" || fail "the drain failed: $(cat "$T_DIR/drain.out")"
matches "3 stopped" <"$T_DIR/drain.out" || fail "the drain's summary: $(cat "$T_DIR/drain.out")"
sd_journal -u dockvisor.service | matches "a drain is in progress: stopping once its tasks are down" \
    || fail "the journal does not say the stop waited for the drain"
[ "$took" -ge 3 ] || fail "systemctl stop returned after ${took}s: it cannot have waited for 5s stops"
ok "systemctl stop during a drain: the drain finished first (${took}s), its client got the summary"

# A second signal: stop now, and say so; the next agent finishes the stops.
sd systemctl start dockvisor.service || fail "systemctl start failed"
mapfile -t ids < <(submit_slow_stoppers e)
for id in "${ids[@]}"; do wait_state "$id" running 60; done
containers=()
for id in "${ids[@]}"; do containers+=("$(task_field "$id" .container_id)"); done
dv drain >"$T_DIR/drain2.out" 2>&1 &
drain_pid=$!
sleep 1
sd systemctl kill --kill-whom=main -s TERM dockvisor.service
sleep 0.5
sd systemctl kill --kill-whom=main -s TERM dockvisor.service
gone() { [ "$(sd systemctl is-active dockvisor.service)" != active ]; }
wait_for 10 gone || fail "a second SIGTERM did not stop the agent at once"
sd_journal -u dockvisor.service | matches "the drain is left unfinished" \
    || fail "the agent did not say why it left the drain"
wait "$drain_pid" && fail "the drain's client was answered as if it had finished"
sd systemctl start dockvisor.service || fail "systemctl start failed"
for id in "${ids[@]}"; do wait_state "$id" stopped 30; done
for c in "${containers[@]}"; do
    [ "$(running "$c")" = false ] || fail "container ${c:0:12} still runs after the next agent recovered"
done
ok "a second SIGTERM stops at once, says why, and the next agent finishes the drain's stops"

ok "test_systemd_stop_drain" # the tasks go with the test's cleanup
