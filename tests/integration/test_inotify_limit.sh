#!/usr/bin/env bash
# Root's inotify instance limit below what the tasks need (supervisor/runner/
# inotify_limit.h: tasks + 32): the agent warns once in its log, node-status and
# /v1/node say so, the metrics dockvisor_inotify_max_user_instances and
# dockvisor_inotify_limit_low show it (promtool-clean), and every task still delivers
# every log line (a docklog that gets no inotify instance polls). Once the limit is
# back, node-status and the metric follow it.
#
# fs.inotify.max_user_instances is the whole machine's (every root process: dockerd,
# systemd, other tests), so it is lowered to what root uses now plus one, for the few
# seconds the tasks run, and restored on every exit.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

limit_file=/proc/sys/fs/inotify/max_user_instances
[ -w "$limit_file" ] || { log "SKIP: $limit_file is not writable"; exit 77; }
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; scripts/install-deps.sh)"
PROM_PORT=25570
tasks=3
margin=32 # DV_INOTIFY_MARGIN

orig=$(cat "$limit_file")
[[ $orig =~ ^[0-9]+$ ]] || fail "$limit_file reads \"$orig\""
restore() { echo "$orig" >"$limit_file"; }
cleanup_even_if_killed "echo $orig >$limit_file"
# A signal ends the script through its EXIT trap (t_cleanup), which restores the limit.
trap 'exit 143' TERM INT HUP

# Instances root holds now: anon_inode:inotify descriptors of root's processes.
in_use() {
    local p n=0
    for p in /proc/[0-9]*; do
        [ "$(stat -c %u "$p" 2>/dev/null)" = 0 ] || continue
        n=$((n + $(find "$p/fd" -maxdepth 1 -lname 'anon_inode:inotify' 2>/dev/null | wc -l)))
    done
    echo "$n"
}

start_agent 25560 25569 "{\"telemetry\": {\"prometheus_address\": \"127.0.0.1:$PROM_PORT\"}}"
PROM=http://127.0.0.1:$PROM_PORT
dv node-status | grep -q '^Inotify *= fs.inotify.max_user_instances' ||
    fail "node-status does not show the limit: $(dv node-status)"
[ "$(dv node-status -json | jq .inotify.low)" = false ] || fail "low before lowering: $(dv node-status -json | jq .inotify)"

# --- lowered: one instance to spare for the tasks' helpers, the others poll ---
used=$(in_use)
low=$((used + 1))
[ "$low" -lt $((tasks + margin)) ] ||
    { log "SKIP: root already uses $used inotify instances: cannot go below $tasks tasks + $margin"; exit 77; }
echo "$low" >"$limit_file"
log "fs.inotify.max_user_instances lowered from $orig to $low ($used in use)"
ids=()
for i in $(seq 1 $tasks); do
    f=$(spec "lines$i" "$DV_TEST_IMAGE_PAYLOAD" '.config.args = ["lines", "60", "40"]')
    ids+=("$(dv run -detach "$f")")
done
for id in "${ids[@]}"; do wait_state "$id" exited 60; done
for id in "${ids[@]}"; do
    wait_for 30 sh -c "'$DOCKVISOR_BIN' logs -stderr $id | grep -qx '60 stderr'" ||
        fail "task $id: stderr never complete: $(dv logs -stderr "$id" | tail -3)"
    [ "$(dv logs "$id")" = "$(seq 1 2 59 | sed 's/$/ stdout/')" ] || fail "task $id stdout: $(dv logs "$id")"
    [ "$(dv logs -stderr "$id")" = "$(seq 2 2 60 | sed 's/$/ stderr/')" ] || fail "task $id stderr"
done
ok "$tasks tasks delivered every line with $low inotify instances for root ($used in use)"

node=$(dv node-status -json)
jq -e --argjson l "$low" --argjson n $((tasks + margin)) \
    '.inotify.low == true and .inotify.max_user_instances == $l and .inotify.needed == $n' \
    <<<"$node" >/dev/null || fail "/v1/node inotify: $(jq -c .inotify <<<"$node")"
dv node-status | grep -Eq "^Inotify *= LOW: fs.inotify.max_user_instances is $low, tasks need $((tasks + margin))" ||
    fail "node-status: $(dv node-status | grep -i inotify)"
curl -sS --max-time 10 "$PROM/metrics" >"$T_DIR/metrics.txt"
restore
log "fs.inotify.max_user_instances restored to $orig"
grep -qx "dockvisor_inotify_max_user_instances $low" "$T_DIR/metrics.txt" ||
    fail "metric: $(grep inotify "$T_DIR/metrics.txt")"
grep -qx "dockvisor_inotify_limit_low 1" "$T_DIR/metrics.txt" || fail "metric: $(grep inotify "$T_DIR/metrics.txt")"
promtool check metrics <"$T_DIR/metrics.txt" >"$T_DIR/promtool.txt" 2>&1 ||
    fail "promtool check metrics: $(cat "$T_DIR/promtool.txt")"
warnings=$(grep -c 'fs.inotify.max_user_instances is .* below what' "$T_DIR/agent.log" || true)
[ "$warnings" = 1 ] || fail "$warnings warnings in the agent log, want 1: $(grep inotify "$T_DIR/agent.log")"
ok "the low limit is warned once, shown by node-status, /v1/node and the metrics"

# --- restored: what the agent shows follows the limit ---
[ "$(dv node-status -json | jq .inotify.low)" = false ] || fail "still low after the restore"
curl -sS --max-time 10 "$PROM/metrics" | grep -qx "dockvisor_inotify_limit_low 0" || fail "metric still 1"
ok "the restored limit is shown"

for id in "${ids[@]}"; do dv rm "$id" >/dev/null; done
finish
