# shellcheck shell=bash
# A private dockerd for tests that stop or restart the Docker daemon (sourced).
#
# The shared dockerd on /var/run/docker.sock is never touched: a test that needs
# a daemon going away gets one of its own, isolated in everything Docker shares
# on a host:
#   - socket, data root (vfs storage), exec root (short: socket path limits),
#     pidfile and an empty config file, all under PDD_DIR=/tmp/dvdd.XXXXXX;
#   - its own containerd, managed by that dockerd (stopped with it; the shims
#     stay, which is what live restore needs), in containerd namespaces of its own;
#   - its own bridge, created here with a /24 out of 10.254.0.0/16 that no route
#     covers. Never `--bridge none`: a dockerd started with it deletes the host's
#     docker0 and cuts off every other container;
#   - no iptables, masquerading or ip_forward changes; cgroups under /dvtest-PID.
# pdd_cleanup removes everything again: containers, the daemon and what it
# started (processes whose command line names PDD_DIR), mounts under PDD_DIR,
# cgroups, the bridge, the directory. PDD_DIR/owner names the test process, so a
# later run sweeps what a killed run (kill -9, ctest timeout) left behind.
#
# Usage:
#   source private_dockerd.sh
#   pdd_setup                  # dir, bridge; installs the EXIT trap (chains t_cleanup)
#   pdd_start [--live-restore] # start and wait for the API; loads nothing
#   pdd_load_image IMAGE...    # from the shared daemon (docker save | load)
#   pdd_docker ARGS...         # the docker CLI on the private daemon
#   pdd_stop                   # SIGTERM, wait for the daemon (and its containerd) to exit
#   pdd_cleanup                # also run by the trap

PDD_DIR=
PDD_BRIDGE=
PDD_SUBNET=
PDD_PID=
PDD_NS="dvtest-$$"
PDD_CGROUP="/dvtest-$$"
PDD_START_ARGS=()

pdd_log() { printf '[%s] %s\n' "${T_NAME:-private_dockerd}" "$*" >&2; }
pdd_fail() {
    if declare -F fail >/dev/null; then fail "$@"; fi
    pdd_log "FAIL: $*"
    exit 1
}

pdd_sock() { echo "unix://$PDD_DIR/docker.sock"; }
pdd_docker() { docker -H "unix://$PDD_DIR/docker.sock" "$@"; }
pdd_answers() { pdd_docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Start time (field 22 of /proc/PID/stat) of PID, empty when it is gone.
pdd__starttime() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

# Processes whose command line contains DIR/ (dockerd, containerd, shims, runc).
pdd__procs_in() { pgrep -f -- "${1//./\\.}/" || true; }

# Those of them named NAME.
pdd__procs_named() { # DIR NAME
    local p
    for p in $(pdd__procs_in "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" != "$2" ] || echo "$p"
    done
}

# Mount points at or under DIR, deepest (last mounted) first.
pdd__mounts_in() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | tac
}

# Remove what a private dockerd rooted at DIR (with bridge BRIDGE and cgroup
# parent CGROUP) left: its processes, mounts, cgroups, the bridge and DIR itself.
# Safe to call on a half-built setup and more than once.
pdd__teardown() {
    local dir=$1 bridge=$2 cgroup=$3 p i m shims
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    case $dir in /tmp/dvdd.*) ;; *) pdd_log "refusing to tear down $dir" && return 1 ;; esac
    # dockerd first (SIGTERM: it stops its containerd), then whatever remains
    for p in $(pdd__procs_named "$dir" dockerd); do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 1 300); do
        [ -n "$(pdd__procs_named "$dir" dockerd)" ] || break
        sleep 0.1
    done
    for i in 1 2 3 4 5 6 7 8 9 10; do
        shims=$(pdd__procs_in "$dir")
        [ -n "$shims" ] || break
        for p in $shims; do
            # a shim's children are the containers' init processes: killed with it,
            # they would be reparented and keep running
            kill -KILL $(pgrep -P "$p" 2>/dev/null) 2>/dev/null || true
            kill -KILL "$p" 2>/dev/null || true
        done
        sleep 0.2
    done
    [ -z "$(pdd__procs_in "$dir")" ] || pdd_log "processes under $dir survive: $(pdd__procs_in "$dir")"
    for i in 1 2 3; do
        for m in $(pdd__mounts_in "$dir"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
        [ -n "$(pdd__mounts_in "$dir")" ] || break
        sleep 0.2
    done
    [ -z "$(pdd__mounts_in "$dir")" ] || pdd_log "mounts under $dir survive: $(pdd__mounts_in "$dir" | tr '\n' ' ')"
    if [ -n "$cgroup" ]; then
        for m in /sys/fs/cgroup/*"$cgroup"; do
            [ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        done
    fi
    case $bridge in dvtest*) ip link del "$bridge" 2>/dev/null || true ;; esac
    [ -n "$(pdd__mounts_in "$dir")" ] || rm -rf "$dir"
}

# What runs killed before their trap left (the owner process is gone).
pdd__sweep_stale() {
    local d pid st bridge cgroup live='' stale=()
    for d in /tmp/dvdd.*; do
        [ -f "$d/owner" ] || continue
        read -r pid st bridge cgroup <"$d/owner" || continue
        if [ -n "$pid" ] && [ "$(pdd__starttime "$pid")" = "$st" ]; then
            live+="$pid "$'\n'
        else
            stale+=("$d")
        fi
    done
    for d in "${stale[@]}"; do
        read -r pid st bridge cgroup <"$d/owner" || continue
        pdd_log "removing what an earlier run left in $d (bridge $bridge)"
        # a dead run's names (bridge dvtest<pid>) are a live run's since when it has
        # the same pid: pdd_setup made them its own
        if grep -q "^$pid \$" <<<"$live"; then bridge='' cgroup=''; fi
        pdd__teardown "$d" "$bridge" "$cgroup" || true
    done
}

# A /24 in 10.254.0.0/16 that no route or address on this host covers.
pdd__pick_subnet() {
    local i x
    for i in $(seq 1 50); do
        x=$((RANDOM % 200 + 20))
        if [ -z "$(ip -4 route show match "10.254.$x.0/24" | grep -v '^default')" ] &&
            [[ "$(ip -4 addr show)" != *" 10.254.$x."* ]]; then
            echo "10.254.$x"
            return 0
        fi
    done
    return 1
}

pdd_setup() {
    pdd__sweep_stale
    PDD_DIR=$(mktemp -d /tmp/dvdd.XXXXXX)
    PDD_BRIDGE="dvtest$$" # at most 13 characters (IFNAMSIZ is 16)
    echo "$$ $(pdd__starttime $$) $PDD_BRIDGE $PDD_CGROUP" >"$PDD_DIR/owner"
    trap pdd__on_exit EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # a bridge of this name is a leftover of a dead process with our pid: ours now
    ip link del "$PDD_BRIDGE" 2>/dev/null || true
    PDD_SUBNET=$(pdd__pick_subnet) || pdd_fail "no free /24 in 10.254.0.0/16"
    ip link add "$PDD_BRIDGE" type bridge || pdd_fail "create bridge $PDD_BRIDGE"
    ip addr add "$PDD_SUBNET.1/24" dev "$PDD_BRIDGE" || pdd_fail "address the bridge"
    ip link set "$PDD_BRIDGE" up || pdd_fail "bring up the bridge"
    mkdir -p "$PDD_DIR/root" "$PDD_DIR/e"
    echo '{}' >"$PDD_DIR/daemon.json"
    pdd_log "private dockerd in $PDD_DIR, bridge $PDD_BRIDGE ($PDD_SUBNET.1/24)"
}

# pdd_start [dockerd flags, e.g. --live-restore]
pdd_start() {
    [ -z "$PDD_PID" ] || pdd_fail "private dockerd already running ($PDD_PID)"
    # without its own bridge, dockerd would take over docker0: never
    [ -n "$PDD_DIR" ] && [ -n "$PDD_BRIDGE" ] && ip link show "$PDD_BRIDGE" >/dev/null 2>&1 ||
        pdd_fail "pdd_start before pdd_setup"
    PDD_START_ARGS=("$@")
    echo "--- start $(date +%T.%N) $* ---" >>"$PDD_DIR/dockerd.log"
    dockerd \
        --host "unix://$PDD_DIR/docker.sock" \
        --data-root "$PDD_DIR/root" \
        --exec-root "$PDD_DIR/e" \
        --pidfile "$PDD_DIR/docker.pid" \
        --config-file "$PDD_DIR/daemon.json" \
        --containerd-namespace "$PDD_NS" \
        --containerd-plugins-namespace "$PDD_NS-plugins" \
        --storage-driver vfs \
        --bridge "$PDD_BRIDGE" \
        --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
        --userland-proxy=false \
        --cgroup-parent "$PDD_CGROUP" \
        "$@" </dev/null >>"$PDD_DIR/dockerd.log" 2>&1 &
    PDD_PID=$!
    local i
    for i in $(seq 1 600); do
        pdd_answers && return 0
        if ! kill -0 "$PDD_PID" 2>/dev/null; then
            tail -n 20 "$PDD_DIR/dockerd.log" >&2
            PDD_PID=
            pdd_fail "the private dockerd exited at startup"
        fi
        sleep 0.1
    done
    tail -n 20 "$PDD_DIR/dockerd.log" >&2
    pdd_fail "the private dockerd did not answer within 60s"
}

# SIGTERM the daemon and wait (up to 60s) until it and its containerd are gone.
pdd_stop() {
    [ -n "$PDD_PID" ] || return 0
    kill -TERM "$PDD_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 600); do
        kill -0 "$PDD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$PDD_PID" 2>/dev/null; then
        pdd_fail "the private dockerd ($PDD_PID) did not exit within 60s of SIGTERM"
    fi
    wait "$PDD_PID" 2>/dev/null || true
    PDD_PID=
    # its containerd is stopped by dockerd itself; shims may stay (live restore)
    for i in $(seq 1 150); do
        [ -n "$(pdd__procs_named "$PDD_DIR" containerd)" ] || return 0
        sleep 0.1
    done
    pdd_fail "the private dockerd's containerd did not exit"
}

pdd_restart() {
    pdd_stop
    pdd_start "${PDD_START_ARGS[@]}"
}

# pdd_load_image IMAGE...: copy images from the shared daemon
pdd_load_image() {
    local img
    for img in "$@"; do
        docker save "$img" | pdd_docker load -q >/dev/null || pdd_fail "load $img into the private dockerd"
    done
}

pdd_cleanup() {
    [ -n "$PDD_DIR" ] || return 0
    local ids
    if [ -n "$PDD_PID" ] && pdd_answers; then
        ids=$(pdd_docker ps -aq 2>/dev/null || true)
        [ -z "$ids" ] || pdd_docker rm -f $ids >/dev/null 2>&1 || true
    fi
    pdd__teardown "$PDD_DIR" "$PDD_BRIDGE" "$PDD_CGROUP" || true
    [ ! -d "$PDD_DIR" ] || pdd_log "could not remove $PDD_DIR"
    PDD_DIR=
    PDD_PID=
}

# EXIT trap: the agent (agent_lib.sh) goes first, so it does not see the daemon
# vanish; then the daemon; then agent_lib's own cleanup with the exit status.
pdd__on_exit() {
    local rc=$?
    set +e
    if [ -n "${T_AGENT_PID:-}" ] && kill -0 "$T_AGENT_PID" 2>/dev/null; then
        kill -TERM "$T_AGENT_PID" 2>/dev/null
        wait "$T_AGENT_PID" 2>/dev/null
        T_AGENT_PID=
    fi
    if [ "$rc" -ne 0 ] && [ -n "$PDD_DIR" ] && [ -f "$PDD_DIR/dockerd.log" ]; then
        pdd_log "private dockerd log ($PDD_DIR/dockerd.log), last lines:"
        grep -vE 'level=(debug|info)' "$PDD_DIR/dockerd.log" | tail -n 30 >&2
    fi
    pdd_cleanup
    if declare -F t_cleanup >/dev/null; then
        (exit "$rc")
        t_cleanup
    fi
    exit "$rc"
}
