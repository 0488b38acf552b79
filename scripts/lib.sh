# Shared helpers for dockvisor scripts. Source it; do not run it.
DV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DV_TEST_ENV_DIR="${DV_TEST_ENV_DIR:-/tmp/dockvisor-test-env}"
DV_REGISTRY_ADDR="127.0.0.1:5000"
DV_REGISTRY_USER="dvtest"
DV_REGISTRY_PASSWORD="dvtest-password"
DV_DOCKER_SOCK="/var/run/docker.sock"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Wait until COMMAND succeeds, up to SECONDS; returns 1 on timeout.
wait_for() {
    local seconds=$1; shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

docker_answers() { curl -sf --max-time 2 --unix-socket "$DV_DOCKER_SOCK" http://d/_ping | grep -q OK; }

# Run a command detached in its own session, stdin closed, output to LOGFILE; prints the pid.
spawn_detached() {
    local logfile=$1; shift
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    echo $!
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
