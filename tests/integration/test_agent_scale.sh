#!/usr/bin/env bash
# 20 tasks submitted at once all reach running, each with its own ports; an
# idle agent uses no CPU (no busy loop, no polling timer); 20 forced destroys at
# once leave nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

start_agent 23200 23299
N=20

for i in $(seq 1 $N); do
    spec "t$i" "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["http", "8080"] | .config.ports = ["http"] |
        .network = {ports: {http: {to: 8080}}} | .kill_timeout = "1s"' >/dev/null
done
pids=()
for i in $(seq 1 $N); do
    dv run -detach "$T_DIR/spec-t$i.json" >"$T_DIR/id-t$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent submit failed"; done
ids=$(cat "$T_DIR"/id-t*)
[ "$(wc -l <<<"$ids")" = $N ] || fail "not $N ids"
for id in $ids; do wait_state "$id" running 120; done
ok "$N concurrent tasks running"

ports=$(dv status -json | jq -r '.[].ports[].host_port' | sort -u)
[ "$(wc -l <<<"$ports")" = $N ] || fail "ports are not distinct: $ports"
for p in $ports; do
    curl -sf --retry 20 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$p/" >/dev/null ||
        fail "port $p does not answer"
done
ok "$N distinct ports answer"

# Idle: nothing happens for a few seconds; the agent must not burn CPU. A tick
# is 10 ms: 2 ticks in 5 s is well below any polling loop, above scheduler noise.
sleep 1
before=$(cpu_ticks "$T_AGENT_PID")
wakeups_before=$(api http://localhost/v1/metrics | awk '/^dockvisor_loop_wakeups_total/ {print $2}')
sleep 5
after=$(cpu_ticks "$T_AGENT_PID")
wakeups_after=$(api http://localhost/v1/metrics | awk '/^dockvisor_loop_wakeups_total/ {print $2}')
used=$((after - before))
woke=$((wakeups_after - wakeups_before))
log "idle: $used CPU ticks and $woke loop wakeups (one is the metrics request) in 5s"
[ "$used" -le 2 ] || fail "the idle agent used $used CPU ticks in 5s"
[ "$woke" -le 3 ] || fail "the idle loop woke $woke times in 5s"
ok "idle agent: $used ticks, $woke wakeups in 5s"

pids=()
for id in $ids; do
    dv rm -force "$id" >/dev/null &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent destroy failed"; done
[ "$(dv status -json | jq length)" = 0 ] || fail "tasks left: $(dv status)"
[ -z "$(our_containers)" ] || fail "containers left: $(our_containers)"
[ -z "$(ls "$T_DIR/data/tasks")" ] || fail "task dirs left"
held=$(api http://localhost/v1/metrics | awk '/^dockvisor_ports_held/ {print $2}')
[ "$held" = 0 ] || fail "$held ports still held after every task was destroyed"
ok "$N concurrent forced destroys"
finish
