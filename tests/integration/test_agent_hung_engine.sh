#!/usr/bin/env bash
# An Engine that accepts connections and never answers (wedged, or starting behind
# socket activation): the agent still comes up and answers, node-status says that
# Docker does not answer instead of hanging (review R2), the events health is not
# "connected" (B9), and SIGTERM ends the agent promptly, not after the 5-minute
# default deadline (B2). (Recovery at start-up waits for Docker with bounded calls
# first, so the agent's socket appears only after about a minute.)
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

"$DV_HANG_LISTEN_BIN" "$T_DIR/hang.sock" >"$T_DIR/hang.log" 2>&1 &
T_BG_PIDS+=($!)
wait_for 5 test -S "$T_DIR/hang.sock" || fail "hang listener"

jq -n --arg d "$T_DIR/data" --arg s "$T_DIR/agent.sock" --arg e "unix://$T_DIR/hang.sock" \
    '{data_dir: $d, socket: $s, bind_address: "127.0.0.1", port_range: "23340-23349",
      docker: {endpoint: $e, gc: {image: false}}}' >"$T_DIR/agent.json"
"$DOCKVISOR_BIN" agent -config "$T_DIR/agent.json" </dev/null >>"$T_DIR/agent.log" 2>&1 &
T_AGENT_PID=$!
wait_for 90 test -S "$T_DIR/agent.sock" || fail "the agent did not come up"

# node-status answers, exit 1 for an unhealthy node (timeout(1) is our own bound)
rc=0
timeout 30 "$DOCKVISOR_BIN" node-status -json >"$T_DIR/node.json" 2>"$T_DIR/node.err" || rc=$?
[ "$rc" -le 1 ] || fail "node-status exited $rc: $(cat "$T_DIR/node.err")"
jq -e '.healthy == false and (.docker.error | test("did not answer"))' "$T_DIR/node.json" >/dev/null ||
    fail "node-status: $(cat "$T_DIR/node.json")"
ok "node-status answers: $(jq -c .docker "$T_DIR/node.json")"

connected=$(api http://localhost/v1/metrics | awk '$1 == "dockvisor_engine_events_connected" {print $2}')
[ "$connected" = 0 ] || fail "engine events connected = '$connected' against a daemon that never answers"
ok "engine events not reported as connected"

kill -TERM "$T_AGENT_PID"
for i in $(seq 1 200); do
    kill -0 "$T_AGENT_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$T_AGENT_PID" 2>/dev/null && fail "the agent is still running 20s after SIGTERM"
rc=0
wait "$T_AGENT_PID" || rc=$?
T_AGENT_PID=
# 0, or 1 when it had to leave Engine calls behind (the _exit path)
[ "$rc" -le 1 ] || fail "the agent exited $rc"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T_DIR/agent.log" >&2; then
    fail "sanitizer report in the agent log"
fi
ok "SIGTERM ends the agent promptly (exit $rc)"
