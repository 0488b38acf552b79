#!/usr/bin/env bash
# Bring up (or down) the real components the tests need, on this machine:
#   dockerd, systemd-journald, a local registry with htpasswd auth on 127.0.0.1:5000,
#   the locally built test images (FROM scratch; nothing is pulled from the internet),
#   and a machine with a real systemd as PID 1 (scripts/systemd-node.sh) for the
#   operator-scenario tests.
# Idempotent: `up` reuses whatever already answers. State and logs: $DV_TEST_ENV_DIR.
#
# usage: scripts/test-env.sh up|down|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$DV_TEST_ENV_DIR"
cd "$DV_TEST_ENV_DIR"

dockerd_up() {
    if docker_answers; then
        log "dockerd: answering on $DV_DOCKER_SOCK"
        return
    fi
    command -v dockerd >/dev/null || die "dockerd not installed (run scripts/install-deps.sh)"
    log "dockerd: starting (log: $DV_TEST_ENV_DIR/dockerd.log)"
    spawn_detached "$DV_TEST_ENV_DIR/dockerd.log" dockerd --host "unix://$DV_DOCKER_SOCK" >dockerd.pid
    wait_for 90 docker_answers || { tail -n 30 dockerd.log >&2; die "dockerd did not answer /_ping within 90s"; }
    log "dockerd: up"
}

journald_answers() { [ -S /run/systemd/journal/socket ] && systemd-cat -t dockvisor-test-env true; }

journald_up() {
    if journald_answers; then
        log "journald: socket present"
        return
    fi
    log "journald: starting /lib/systemd/systemd-journald"
    spawn_detached "$DV_TEST_ENV_DIR/journald.log" /lib/systemd/systemd-journald >journald.pid
    wait_for 20 journald_answers || die "journald did not create /run/systemd/journal/socket"
    log "journald: up"
}

registry_answers() {
    curl -sf --max-time 2 -u "$DV_REGISTRY_USER:$DV_REGISTRY_PASSWORD" "http://$DV_REGISTRY_ADDR/v2/" >/dev/null
}

registry_up() {
    if registry_answers; then
        log "registry: answering on $DV_REGISTRY_ADDR"
        return
    fi
    mkdir -p registry/storage
    htpasswd -Bbn "$DV_REGISTRY_USER" "$DV_REGISTRY_PASSWORD" >registry/htpasswd
    cat >registry/config.yml <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DV_TEST_ENV_DIR/registry/storage
  delete:
    enabled: true
http:
  addr: $DV_REGISTRY_ADDR
auth:
  htpasswd:
    realm: dockvisor-test
    path: $DV_TEST_ENV_DIR/registry/htpasswd
YAML
    log "registry: starting on $DV_REGISTRY_ADDR"
    spawn_detached "$DV_TEST_ENV_DIR/registry.log" docker-registry serve registry/config.yml >registry.pid
    wait_for 30 registry_answers || { tail -n 20 registry.log >&2; die "registry did not answer"; }
    # Without credentials the registry must refuse: the auth tests depend on it.
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$DV_REGISTRY_ADDR/v2/")
    [ "$code" = 401 ] || die "registry answers $code without credentials, expected 401"
    log "registry: up"
}

build_image() { # TAG CONTEXT
    # The legacy builder warns about its deprecation on every build; keep that out of test output.
    docker build -q -t "$1" "$2" >"$DV_TEST_ENV_DIR/build.log" 2>&1 || { cat "$DV_TEST_ENV_DIR/build.log" >&2; return 1; }
    docker tag "$1" "$DV_REGISTRY_ADDR/$1"
}

images_up() {
    rm -rf images && mkdir -p images/busybox/bin images/payload/bin
    # busybox: Debian's static busybox as /bin/*, every applet a symlink.
    cp /bin/busybox images/busybox/bin/busybox
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "images/busybox/bin/$applet"
    done
    printf 'FROM scratch\nCOPY bin /bin\nENV PATH=/bin\nCMD ["/bin/sh"]\n' >images/busybox/Dockerfile
    # payload: our own static test program.
    gcc -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o images/payload/bin/payload \
        "$DV_ROOT/tests/payload/payload.c"
    printf 'FROM scratch\nCOPY bin /bin\nENTRYPOINT ["/bin/payload"]\nCMD ["sleep"]\n' >images/payload/Dockerfile
    # pause: the infra container of task groups (docker.infra_image in tests), our
    # payload's "pause" step, as Kubernetes' pause: exits on SIGTERM, reaps.
    mkdir -p images/pause/bin && cp images/payload/bin/payload images/pause/bin/payload
    printf 'FROM scratch\nCOPY bin /bin\nENTRYPOINT ["/bin/payload", "pause"]\n' >images/pause/Dockerfile
    build_image dockvisor-test/busybox:1 images/busybox
    build_image dockvisor-test/payload:1 images/payload
    build_image dockvisor-test/pause:1 images/pause
    # Push with a throwaway client config so no credentials stay behind in ~/.docker.
    local cfg
    cfg=$(mktemp -d)
    echo "$DV_REGISTRY_PASSWORD" | docker --config "$cfg" login -u "$DV_REGISTRY_USER" --password-stdin "$DV_REGISTRY_ADDR" >/dev/null 2>&1
    for image in dockvisor-test/busybox:1 dockvisor-test/payload:1 dockvisor-test/pause:1; do
        docker --config "$cfg" push -q "$DV_REGISTRY_ADDR/$image" >/dev/null
    done
    rm -rf "$cfg"
    log "images: dockvisor-test/busybox:1 dockvisor-test/payload:1 dockvisor-test/pause:1 (also in $DV_REGISTRY_ADDR)"
}

systemd_up() {
    # Not fatal: only the operator-scenario tests need it, and they skip, saying why,
    # when it cannot be had (e.g. no systemd-nspawn); everything else still runs.
    "$DV_ROOT/scripts/systemd-node.sh" up || log "WARNING: no systemd machine; the test_systemd_* tests will skip"
}

stop_pidfile() { # NAME
    local pidfile="$DV_TEST_ENV_DIR/$1.pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if pid_alive "$pid"; then
        log "$1: stopping pid $pid"
        kill "$pid" 2>/dev/null || true
        wait_for 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

status() {
    local s
    s() { if "$2"; then echo "$1: up"; else echo "$1: down"; fi; }
    s dockerd docker_answers
    s journald journald_answers
    s registry registry_answers
    if docker_answers; then
        for image in dockvisor-test/busybox:1 dockvisor-test/payload:1 dockvisor-test/pause:1; do
            if docker image inspect "$image" >/dev/null 2>&1; then echo "image $image: present"; else echo "image $image: missing"; fi
        done
    fi
}

case "${1:-}" in
up)
    dockerd_up
    journald_up
    registry_up
    images_up
    # DV_TEST_ENV_SYSTEMD=0 (the quickstart) leaves the test-only systemd machine out.
    [ "${DV_TEST_ENV_SYSTEMD:-1}" = 0 ] || systemd_up
    ;;
down)
    # Only what this script started is stopped; a dockerd run by systemd is left alone.
    "$DV_ROOT/scripts/systemd-node.sh" down
    stop_pidfile registry
    stop_pidfile journald
    stop_pidfile dockerd
    ;;
status)
    status
    "$DV_ROOT/scripts/systemd-node.sh" status
    ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
