# Shared helpers for the operator-scenario tests (test_systemd_*.sh): the agent runs as
# dockvisor.service under a real systemd as PID 1 (scripts/systemd-node.sh: a Debian 12
# machine booted with systemd-nspawn), driving the host's dockerd through its socket.
# The test itself runs on the host: it talks to the agent's socket through the machine's
# root (/proc/<its PID 1>/root/run/dockvisor/dockvisor.sock) and runs systemctl and
# journalctl inside the machine with `sd`.
#
# Source it after setting nothing; it sources agent_lib.sh (log, fail, ok, wait_for,
# task_field, our_containers, cleanup of this test's containers).
#
# Exit code 77 is a skip (SKIP_RETURN_CODE in tests/CMakeLists.txt): only when no
# machine can be had, or under the sanitizers (the machine has no sanitizer runtime, and
# the scenarios test systemd's handling of the agent, which the plain pass covers).
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

SD_NODE="$DV_SOURCE_DIR/scripts/systemd-node.sh"
DV_BUILD_BIN_DIR=$(dirname "$DOCKVISOR_BIN")

sd_skip() {
    log "SKIP: $*"
    T_FAILED=0
    exit 77
}

if ldd "$DOCKVISOR_BIN" 2>/dev/null | grep -q libasan; then
    sd_skip "a sanitizer build: the systemd scenarios run in the plain pass"
fi
if ! "$SD_NODE" status | grep -q ': up'; then
    "$SD_NODE" up >&2 || sd_skip "no systemd machine could be booted (see scripts/systemd-node.sh up)"
fi

sd() { "$SD_NODE" exec "$@"; }
SD_ROOT=$("$SD_NODE" root)
DV_TEST_ENV_DIR=${DV_TEST_ENV_DIR:-/tmp/dockvisor-test-env}
sd_leader() { pgrep -o -P "$(cat "$DV_TEST_ENV_DIR/systemd/nspawn.pid" 2>/dev/null || echo 0)"; }
export DOCKVISOR_ADDR="unix:///proc/$(sd_leader)/root/run/dockvisor/dockvisor.sock"

# The agent's main pid as systemd knows it (0 when not running).
sd_main_pid() { sd systemctl show -P MainPID dockvisor.service; }
# Host-visible pid of a pid inside the machine: same pid namespace? No: nspawn gives the
# machine its own, so pids inside are translated through /proc/<pid>/status NSpid.
sd_host_pid() { # PID_INSIDE
    local p
    for p in $(pgrep -x "${2:-dockvisor}"); do
        if awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null | grep -qx "$1"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Host pid of the docklog helper of TASK_ID (its config path names the task's dir).
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

# sd_install_build PORT_MIN PORT_MAX [extra agent JSON]: this build's binaries under
# /usr/local/bin, its unit (ExecStart pointed there), an agent config, daemon-reload.
# The agent is not started.
sd_install_build() {
    local min=$1 max=$2 extra=${3:-'{}'}
    install -m 0755 "$DOCKVISOR_BIN" "$SD_ROOT/usr/local/bin/dockvisor"
    local b
    for b in docklog docklog-tls; do
        [ -x "$DV_BUILD_BIN_DIR/$b" ] && install -m 0755 "$DV_BUILD_BIN_DIR/$b" "$SD_ROOT/usr/local/bin/$b"
    done
    sed 's|^ExecStart=[^ ]*dockvisor |ExecStart=/usr/local/bin/dockvisor |' \
        "$DV_BUILD_BIN_DIR/systemd/dockvisor.service" >"$SD_ROOT/etc/systemd/system/dockvisor.service"
    sd_write_config "$min" "$max" "$extra"
    sd systemctl daemon-reload
}

sd_write_config() { # PORT_MIN PORT_MAX [extra agent JSON]
    mkdir -p "$SD_ROOT/etc/dockvisor"
    jq -n --arg r "$1-$2" --argjson x "${3:-'{}'}" \
        '{data_dir: "/var/lib/dockvisor", socket: "/run/dockvisor/dockvisor.sock",
          bind_address: "127.0.0.1", port_range: $r, docker: {gc: {image: false}}} * $x' \
        >"$SD_ROOT/etc/dockvisor/agent.json"
}

# After a start: learn the agent's node id (our_containers uses it for cleanup).
sd_learn_node() {
    wait_for 30 dv node-status || fail "the agent does not answer on $DOCKVISOR_ADDR"
    T_NODE_ID=$(dv node-status -json | jq -r .node_id)
}

# The journal of the unit inside the machine, message text only.
sd_journal() { sd journalctl --no-pager -q -o cat "$@"; }

# Everything this test left in the machine goes: the agent, its helpers, its state.
sd_cleanup() {
    if [ -z "$T_NODE_ID" ] && dv node-status >/dev/null 2>&1; then
        T_NODE_ID=$(dv node-status -json | jq -r .node_id)
    fi
    sd systemctl stop dockvisor.service >/dev/null 2>&1 || true
    local ids
    ids=$(our_containers || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    sd pkill -KILL -x 'docklog(-tls)?' >/dev/null 2>&1 || true
    sd systemctl reset-failed >/dev/null 2>&1 || true
    rm -rf "$SD_ROOT/var/lib/dockvisor" "$SD_ROOT/etc/dockvisor" "$SD_ROOT/etc/systemd/system/dockvisor.service.d" \
        "$SD_ROOT/etc/systemd/system/dockvisor.service" "$SD_ROOT"/usr/local/bin/{dockvisor,docklog,docklog-tls}
    sd systemctl daemon-reload >/dev/null 2>&1 || true
}
T_CLEANUP_HOOKS+=(sd_cleanup)

# A failing test shows the unit's journal (the agent log is there, not in $T_DIR).
sd_show_journal_on_failure() {
    [ "$T_FAILED" -ne 0 ] || return 0
    log "journal of dockvisor.service:"
    sd_journal -u dockvisor.service -n 60 >&2 || true
}
T_CLEANUP_HOOKS=(sd_show_journal_on_failure "${T_CLEANUP_HOOKS[@]}")
sd_cleanup # a previous run's leftovers, if it was killed
