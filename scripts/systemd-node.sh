#!/usr/bin/env bash
# A real systemd as PID 1 for the operator-scenario tests: a Debian 12 rootfs made with
# debootstrap from Debian's archive, booted with `systemd-nspawn -b`.
#
# Why nspawn and not a container of the shared dockerd: nspawn is made to boot an
# unmodified systemd (cgroups, /run, the notify and D-Bus plumbing set up the way systemd
# expects, also on this hybrid cgroup v1/v2 host); it shares the host's network namespace,
# so ports tasks publish on 127.0.0.1 are the same ports inside and out; and the machine's
# life does not depend on the dockerd under test, which the agent inside drives through
# the host's socket (bound in at /var/run/docker.sock). Its journald is its own, so the
# per-unit journald budgets are tested against a real one.
#
# The rootfs is built once per machine and cached ($DV_TEST_ENV_DIR/systemd/rootfs, ~75 s);
# every boot starts from a fresh copy of it (machine/), so no test sees another run's
# leftovers. Idempotent: `up` reuses a machine that answers.
#
# usage: scripts/systemd-node.sh up|down|status|exec CMD...|root
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$DV_TEST_ENV_DIR/systemd
name=dockvisor-sd
# What the agent and docklog need at run time (the agent links these; docklog is static),
# what a package install needs (apt, already in minbase), and tools the tests use inside.
include=systemd,systemd-sysv,dbus,libcurl4,libjansson4,libmicrohttpd12,libsystemd0,ca-certificates,procps,jq,curl,iproute2
stamp="bookworm minbase $include v1"

leader() { # PID 1 of the machine, as the host sees it
    local nspawn
    nspawn=$(cat "$dir/nspawn.pid" 2>/dev/null) || return 1
    pid_alive "$nspawn" || return 1
    pgrep -o -P "$nspawn"
}

in_machine() { local pid; pid=$(leader) || return 1; nsenter -t "$pid" -a "$@"; }

machine_answers() {
    local state
    state=$(in_machine systemctl is-system-running 2>/dev/null) || true
    [ "$state" = running ] || [ "$state" = degraded ]
}

rootfs_build() {
    if [ -f "$dir/rootfs.done" ] && [ "$(cat "$dir/rootfs.done")" = "$stamp" ]; then
        return
    fi
    command -v debootstrap >/dev/null || die "debootstrap not installed (run scripts/install-deps.sh)"
    log "systemd: building the Debian 12 rootfs with debootstrap (once per machine; log: $dir/debootstrap.log)"
    rm -rf "$dir/rootfs" "$dir/rootfs.tmp" "$dir/rootfs.done"
    mkdir -p "$dir"
    debootstrap --variant=minbase --include="$include" bookworm "$dir/rootfs.tmp" \
        http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 \
        || { tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
    echo "$name" >"$dir/rootfs.tmp/etc/hostname"
    # Timers and gettys a test machine does not need: they only take CPU from the tests.
    systemctl --root="$dir/rootfs.tmp" mask apt-daily.timer apt-daily-upgrade.timer \
        dpkg-db-backup.timer e2scrub_all.timer systemd-tmpfiles-clean.timer \
        console-getty.service >/dev/null 2>&1
    mv "$dir/rootfs.tmp" "$dir/rootfs"
    echo "$stamp" >"$dir/rootfs.done"
}

up() {
    if machine_answers; then
        log "systemd: machine $name answering (PID 1 is host pid $(leader))"
        return
    fi
    command -v systemd-nspawn >/dev/null || die "systemd-nspawn not installed (package systemd-container)"
    docker_answers || die "dockerd must be up first (scripts/test-env.sh up)"
    down_quietly
    rootfs_build
    log "systemd: booting $name (log: $dir/nspawn.log)"
    rm -rf "$dir/machine"
    cp -a "$dir/rootfs" "$dir/machine"
    # Docker's own log files, read-only where Docker keeps them, as on a real node: docklog
    # reads a local Engine's json-file directly.
    local containers
    containers="$(docker info -f '{{.DockerRootDir}}')/containers"
    # --register=no --keep-unit: the host's PID 1 is not systemd, so there is no machined
    # and no host bus to ask for a scope; nspawn then sets up the cgroups itself.
    spawn_detached "$dir/nspawn.log" systemd-nspawn --quiet -D "$dir/machine" -M "$name" -b \
        --register=no --keep-unit --bind="$DV_DOCKER_SOCK" --bind-ro="$containers" \
        >"$dir/nspawn.pid"
    wait_for 60 machine_answers || { tail -n 30 "$dir/nspawn.log" >&2; die "$name did not boot within 60s"; }
    log "systemd: up ($name, PID 1 is host pid $(leader))"
}

down_quietly() {
    local nspawn
    nspawn=$(cat "$dir/nspawn.pid" 2>/dev/null) || return 0
    if pid_alive "$nspawn"; then
        # SIGTERM asks the machine's systemd for an orderly poweroff.
        kill "$nspawn" 2>/dev/null || true
        wait_for 30 bash -c "! kill -0 $nspawn" || kill -9 "$nspawn" 2>/dev/null || true
    fi
    rm -f "$dir/nspawn.pid"
}

case "${1:-}" in
up) up ;;
down)
    log "systemd: stopping $name"
    down_quietly
    ;;
status) if machine_answers; then echo "systemd ($name): up"; else echo "systemd ($name): down"; fi ;;
exec)
    shift
    in_machine "$@"
    ;;
root) echo "$dir/machine" ;;
*)
    echo "usage: $0 up|down|status|exec CMD...|root" >&2
    exit 2
    ;;
esac
