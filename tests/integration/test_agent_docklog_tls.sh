#!/usr/bin/env bash
# The docklog helper is the TLS build whenever the agent's Engine client speaks
# TLS, whatever the TLS came from (review B4): DOCKER_HOST + DOCKER_TLS_VERIFY +
# DOCKER_CERT_PATH, an https:// endpoint, a tls block; and the plain one for a
# plain tcp:// endpoint. No TLS dockerd here: each agent points at a closed port,
# and the helper it picks is read from the warning for a missing binary
# (DOCKVISOR_DOCKLOG[_TLS] point at paths that do not exist).
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

mkdir -p "$T_DIR/certs"
for f in cert key ca; do echo dummy >"$T_DIR/certs/$f.pem"; done
port=23339 # nothing listens here

# run_agent NAME CONFIG_EXTRA [VAR=VALUE...]: start an agent, wait for the docklog
# warning in its log, stop it; prints the warning.
run_agent() {
    local name=$1 extra=$2
    shift 2
    local dir="$T_DIR/$name"
    mkdir -p "$dir"
    jq -n --arg d "$dir/data" --arg s "$dir/agent.sock" --argjson x "$extra" \
        '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: "23330-23339"} * $x' \
        >"$dir/agent.json"
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH "$@" \
        DOCKVISOR_DOCKLOG="$T_DIR/missing/docklog" DOCKVISOR_DOCKLOG_TLS="$T_DIR/missing/docklog-tls" \
        "$DOCKVISOR_BIN" agent -config "$dir/agent.json" </dev/null >"$dir/agent.log" 2>&1 &
    local pid=$!
    T_BG_PIDS+=($pid)
    wait_for 20 grep -q "docklog helper not found" "$dir/agent.log" ||
        fail "$name: no docklog warning: $(cat "$dir/agent.log")"
    kill -TERM "$pid"
    wait "$pid" || true
    grep "docklog helper not found" "$dir/agent.log"
}

out=$(run_agent env '{}' DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 \
    DOCKER_CERT_PATH="$T_DIR/certs")
grep -q "missing/docklog-tls" <<<"$out" || fail "DOCKER_TLS_VERIFY: $out"
ok "DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: docklog-tls"

out=$(run_agent https "{\"docker\": {\"endpoint\": \"https://127.0.0.1:$port\"}}")
grep -q "missing/docklog-tls" <<<"$out" || fail "https://: $out"
ok "https:// endpoint: docklog-tls"

out=$(run_agent block "{\"docker\": {\"endpoint\": \"tcp://127.0.0.1:$port\",
    \"tls\": {\"cert\": \"$T_DIR/certs/cert.pem\", \"key\": \"$T_DIR/certs/key.pem\",
              \"ca\": \"$T_DIR/certs/ca.pem\"}}}")
grep -q "missing/docklog-tls" <<<"$out" || fail "tls block: $out"
ok "tls block: docklog-tls"

out=$(run_agent plain "{\"docker\": {\"endpoint\": \"tcp://127.0.0.1:$port\"}}")
grep -q "missing/docklog " <<<"$out" || fail "plain tcp://: $out"
ok "plain tcp:// endpoint: docklog"
