#!/usr/bin/env bash
# Metrics Prometheus can scrape: an agent with telemetry.prometheus_address serves
# GET /metrics on 127.0.0.1 over TCP, in an exposition promtool accepts, with the
# per-task and docklog series of a task that logged; nothing else is reachable
# there (POST, DELETE, /v1/tasks); an address that is bad or in use stops the start
# with an error naming the field.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

PROM_PORT=25259
PROM="http://127.0.0.1:$PROM_PORT"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; scripts/install-deps.sh)"

# --- bad addresses are refused at start, naming the field ---
bad_start() { # JSON-string ADDRESS, what the log must say
    local cfg="$T_DIR/bad.json" rc=0
    jq -n --arg d "$T_DIR/bad-data" --arg s "$T_DIR/bad.sock" --arg a "$1" \
        '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", telemetry: {prometheus_address: $a}}' >"$cfg"
    out=$(timeout 30 "$DOCKVISOR_BIN" agent -config "$cfg" </dev/null 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || fail "an agent with prometheus_address \"$1\" started"
    echo "$out" | matches "telemetry.prometheus_address" || fail "the error does not name the field: $out"
    echo "$out" | matches "$2" || fail "the error does not say \"$2\": $out"
}
bad_start "127.0.0.1" "is not IPv4:PORT"
bad_start "localhost:9700" "is not IPv4:PORT"
bad_start "127.0.0.1:70000" "is not IPv4:PORT"
jq -n '{telemetry: {prometheus_adress: "127.0.0.1:1"}}' >"$T_DIR/typo.json"
out=$("$DOCKVISOR_BIN" agent -config "$T_DIR/typo.json" </dev/null 2>&1) && fail "a typo under telemetry was accepted"
echo "$out" | matches "telemetry.prometheus_adress" || fail "the typo is not named: $out"
ok "bad telemetry.prometheus_address and unknown telemetry keys refused, naming the field"

start_agent 25250 25258 "{\"telemetry\": {\"prometheus_address\": \"127.0.0.1:$PROM_PORT\"}}"

# A second agent cannot take the same port: it refuses to start, saying which field.
bad_start "127.0.0.1:$PROM_PORT" "Address already in use"
ok "an address in use stops the start, naming the field"

# --- a task that logs N lines ---
N=25
f=$(spec logs "$DV_TEST_IMAGE_PAYLOAD" ".config.args = [\"stdout-lines\", \"$N\", \"--\", \"sleep\", \"300\"]")
id=$(dv run -detach "$f")
wait_state "$id" running
wait_for 30 sh -c "[ \"\$('$DOCKVISOR_BIN' logs $id | wc -l)\" -ge $N ]" || fail "the task's $N lines were not collected"

scrape() { curl -sS --max-time 10 "$PROM/metrics"; }
series() { # NAME: the value of NAME{task_id="$id",...}
    scrape | awk -v p="$1{task_id=\"$id\"" 'index($0, p) == 1 {print $NF}'
}
# The sampler runs every 15 s; the first round 2 s after the start.
entries_ok() { v=$(series dockvisor_docklog_entries_total); [ -n "$v" ] && [ "$v" -ge "$N" ]; }
wait_for 40 entries_ok || fail "dockvisor_docklog_entries_total is \"$(series dockvisor_docklog_entries_total)\", want >= $N"
has_memory() { scrape | grep '^dockvisor_task_memory_bytes{task_id="'"$id"'"' >/dev/null; }
wait_for 40 has_memory ||
    fail "no memory sample for the task"

scrape >"$T_DIR/metrics.txt"
promtool check metrics <"$T_DIR/metrics.txt" >"$T_DIR/promtool.txt" 2>&1 ||
    fail "promtool check metrics: $(cat "$T_DIR/promtool.txt")"
ok "the exposition passes promtool check metrics"

grep -q "^dockvisor_task_state{task_id=\"$id\",task_name=\"$T_PREFIX-logs\",state=\"running\"} 1$" "$T_DIR/metrics.txt" ||
    fail "no running dockvisor_task_state for the task: $(grep "$id" "$T_DIR/metrics.txt" | head)"
[ "$(series dockvisor_task_restarts_total)" = 0 ] || fail "restarts: $(series dockvisor_task_restarts_total)"
mem=$(series dockvisor_task_memory_bytes)
[ "$mem" -gt 0 ] || fail "memory: $mem"
cpu=$(series dockvisor_task_cpu_seconds_total)
awk -v c="$cpu" 'BEGIN {exit !(c >= 0)}' || fail "cpu: $cpu"
age=$(series dockvisor_task_stats_age_seconds)
awk -v a="$age" 'BEGIN {exit !(a >= 0 && a < 60)}' || fail "sample age: $age"
bytes=$(series dockvisor_docklog_bytes_total)
[ "$bytes" -ge "$N" ] || fail "docklog bytes: $bytes"
[ "$(series dockvisor_docklog_respawns_total)" = 0 ] || fail "respawns: $(series dockvisor_docklog_respawns_total)"
lag=$(series dockvisor_docklog_lag_seconds)
awk -v l="$lag" 'BEGIN {exit !(l > -5 && l < 60)}' || fail "lag: $lag"
for fam in dockvisor_engine_request_duration_seconds dockvisor_engine_errors_total \
    dockvisor_image_pull_duration_seconds dockvisor_log_gaps_total; do
    [ "$(grep -c "^# TYPE $fam " "$T_DIR/metrics.txt")" = 1 ] || fail "family $fam not declared once"
done
grep -q '^dockvisor_engine_request_duration_seconds_count{client="main"} [1-9]' "$T_DIR/metrics.txt" ||
    fail "no Engine call measured"
ok "per-task, docklog and Engine series with sane values ($N lines: entries $(series dockvisor_docklog_entries_total), $bytes bytes, memory $mem)"

# The same text on the socket's /v1/metrics and the listener's /v1/metrics.
# (Whole answers first: grep -q ending the pipe early would fail curl under pipefail.)
sock=$(api http://localhost/v1/metrics)
grep -q "^dockvisor_docklog_entries_total{task_id=\"$id\"" <<<"$sock" ||
    fail "the socket's /v1/metrics lacks the docklog series"
tcp=$(curl -sS "$PROM/v1/metrics")
grep -q '^# TYPE dockvisor_tasks gauge' <<<"$tcp" || fail "/v1/metrics on the listener"

# --- read-only: nothing but GET /metrics ---
code() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
[ "$(code "$PROM/v1/tasks")" = 404 ] || fail "GET /v1/tasks on the listener: $(code "$PROM/v1/tasks")"
[ "$(code -X POST -d "@$f" "$PROM/v1/tasks")" = 404 ] || fail "POST /v1/tasks on the listener"
[ "$(code -X DELETE "$PROM/v1/tasks/$id")" = 404 ] || fail "DELETE /v1/tasks/ID on the listener"
[ "$(code -X POST "$PROM/metrics")" = 405 ] || fail "POST /metrics: $(code -X POST "$PROM/metrics")"
[ "$(code -X DELETE "$PROM/metrics")" = 405 ] || fail "DELETE /metrics"
[ "$(code "$PROM/v1/node")" = 404 ] || fail "GET /v1/node on the listener"
[ "$(task_field "$id" .state)" = running ] || fail "the task changed"
ok "the listener refuses every other path (404) and method (405)"

# --- a docklog killed and respawned: counted, and its counts carried over ---
pid=$(jq -r .docklog.pid "$T_DIR/data/state/tasks/$id.json")
[ "$pid" -gt 0 ] || fail "no docklog pid in the record"
kill -KILL "$pid"
respawned() { [ "$(series dockvisor_docklog_respawns_total)" = 1 ]; }
wait_for 60 respawned || fail "respawns: \"$(series dockvisor_docklog_respawns_total)\", want 1"
entries_ok || fail "entries after the respawn: $(series dockvisor_docklog_entries_total), want >= $N"
ok "a killed docklog counts one respawn; its delivered entries are carried over"

# --- a reload with another address keeps the listener where it was ---
jq ".telemetry.prometheus_address = \"127.0.0.1:25258\"" "$T_DIR/agent.json" >"$T_DIR/agent2.json"
mv "$T_DIR/agent2.json" "$T_DIR/agent.json"
kill -HUP "$T_AGENT_PID"
wait_for 10 grep -q "telemetry.prometheus_address changed, which needs an agent restart" "$T_DIR/agent.log" ||
    fail "the reload did not say the address needs a restart"
[ "$(code "$PROM/metrics")" = 200 ] || fail "the listener went away on reload"
ok "SIGHUP: a new address needs a restart, the listener stays"

dv rm -force "$id" >/dev/null
finish
