#!/usr/bin/env bash
# Operator scenario under a real systemd (issue 15): install version N of the Debian
# package (scripts/package.sh), run tasks, install version N+1 over it with apt. The
# package's maintainer scripts restart the agent without stopping a task: no container
# restarted, the docklog helpers started by N (their binary now replaced on disk) keep
# running and are re-adopted by N+1, N's records are read by N+1, every line once.
#
# N and N+1 are this tree built under two versions (the binaries report them): what is
# tested is the upgrade path itself, dpkg replacing the files under running processes
# and the maintainer scripts' restart. That N+1 reads what an older release wrote is
# the docklog protocol's and the record's compatibility rule (common/docklog_protocol.h).
source "$(dirname "${BASH_SOURCE[0]}")/systemd_lib.sh"

TASKS=5
LINES=300
N=0.0.0~upgrade1-1
N1=0.0.0~upgrade2-1

for tool in dpkg-buildpackage dh; do
    command -v "$tool" >/dev/null || sd_skip "$tool missing: scripts/install-deps.sh installs the packaging tools"
done
# A test build must not leave the operator-side install behind: the package owns
# /usr/bin/dockvisor and /lib/systemd/system/dockvisor.service in the machine.
rm -f "$SD_ROOT/etc/systemd/system/dockvisor.service" "$SD_ROOT"/usr/local/bin/{dockvisor,docklog,docklog-tls}
purge_package() {
    sd systemctl stop dockvisor.service >/dev/null 2>&1 || true
    sd env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q dockvisor >/dev/null 2>&1 || true
}
T_CLEANUP_HOOKS+=(purge_package)
purge_package # a previous run's, if it was killed

log "building the packages $N and $N1 (scripts/package.sh)"
deb_n=$("$DV_SOURCE_DIR/scripts/package.sh" --version "$N" --out "$T_DIR/debs" | tail -n 1) || fail "package.sh $N"
deb_n1=$("$DV_SOURCE_DIR/scripts/package.sh" --version "$N1" --out "$T_DIR/debs" | tail -n 1) || fail "package.sh $N1"
# Not /tmp: the machine mounts its own tmpfs there.
cp "$deb_n" "$deb_n1" "$SD_ROOT/root/"

# --no-install-recommends: the machine uses the host's dockerd, so docker.io (a
# Recommends) is not wanted; its dependencies are the libraries the rootfs has.
apt_install() { sd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/root/$(basename "$1")"; }
apt_install "$deb_n" >"$T_DIR/apt-n.log" 2>&1 || { cat "$T_DIR/apt-n.log" >&2; fail "apt install $N"; }
[ "$(sd systemctl is-enabled dockvisor.service)" = enabled ] || fail "the package did not enable the unit"
[ "$(sd systemctl is-active dockvisor.service)" = active ] || fail "the package did not start the agent"
ok "apt install $N: the unit is enabled and the agent runs"

# The operator's own settings in the conffile (ports on 127.0.0.1 in this test's range).
jq '.bind_address = "127.0.0.1" | .port_range = "25260-25279" | .docker.gc.image = false' \
    "$SD_ROOT/etc/dockvisor/agent.json" >"$T_DIR/agent.json"
cat "$T_DIR/agent.json" >"$SD_ROOT/etc/dockvisor/agent.json"
sd systemctl restart dockvisor.service || fail "restart with the edited config"
sd_learn_node
[ "$(dv node-status -json | jq -r .agent_version)" = "${N%-*}" ] || fail "the agent is not version ${N%-*}"

ids=()
for i in $(seq 1 $TASKS); do
    f=$(spec "u$i" "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sh" | .config.args = ["-c",
          "i=0; while [ $i -lt '"$LINES"' ]; do i=$((i+1)); echo \"line $i\"; usleep 30000; done; exec sleep 100000"]')
    ids+=("$(dv run -detach "$f")") || fail "submit u$i"
done
for id in "${ids[@]}"; do wait_state "$id" running 60; done

declare -A container docklog
for id in "${ids[@]}"; do
    c=$(task_field "$id" .container_id)
    container[$id]="$c $(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$c")"
    docklog[$id]=$(docklog_of "$id") || fail "task $id has no docklog"
done
old_agent=$(sd_main_pid)

sleep 2 # mid-stream
apt_install "$deb_n1" >"$T_DIR/apt-n1.log" 2>&1 || { cat "$T_DIR/apt-n1.log" >&2; fail "apt install $N1"; }
[ "$(sd_main_pid)" != "$old_agent" ] || fail "the upgrade did not restart the agent"
[ "$(sd systemctl is-active dockvisor.service)" = active ] || fail "the agent is not active after the upgrade"
wait_for 30 dv node-status || fail "the upgraded agent does not answer"
[ "$(dv node-status -json | jq -r .agent_version)" = "${N1%-*}" ] || fail "the agent is not version ${N1%-*} after the upgrade"
jq -e '.port_range == "25260-25279"' "$SD_ROOT/etc/dockvisor/agent.json" >/dev/null \
    || fail "the upgrade replaced the operator's edited conffile"
ok "apt install $N1 over $N: the agent restarted as ${N1%-*}, the edited conffile kept"

for id in "${ids[@]}"; do
    [ "$(task_field "$id" .state)" = running ] || fail "task $id ($N's record) is not running under $N1"
    c=$(task_field "$id" .container_id)
    [ "$c $(docker inspect -f '{{.State.StartedAt}} {{.RestartCount}}' "$c")" = "${container[$id]}" ] \
        || fail "task $id's container was replaced or restarted by the upgrade"
    p=${docklog[$id]}
    kill -0 "$p" 2>/dev/null || fail "task $id's docklog (pid $p) died in the upgrade"
    readlink "/proc/$p/exe" | matches '(deleted)' || fail "docklog $p is not $N's binary, which dpkg replaced"
done
ok "every container untouched; $N's docklog helpers (their binary replaced on disk) kept running"

# Every line once, in the files and journald: N's helpers go on under N+1.
log_lines() { cat "$SD_ROOT"/var/lib/dockvisor/tasks/"$1"/alloc/logs/*.stdout.* 2>/dev/null; }
complete() {
    local id
    for id in "${ids[@]}"; do [ "$(log_lines "$id" | grep -c '^line ')" -ge "$LINES" ] || return 1; done
}
wait_for 90 complete || fail "not every task's log file reached $LINES lines"
want=$(seq 1 $LINES | sed 's/^/line /')
for i in $(seq 1 $TASKS); do
    id=${ids[$((i - 1))]}
    [ "$(log_lines "$id" | grep '^line ' | sort -V)" = "$want" ] || fail "task u$i's log file is not lines 1..$LINES once each"
    [ "$(sd_journal SYSLOG_IDENTIFIER="$T_PREFIX-u$i" | sort -V)" = "$want" ] || fail "task u$i in journald is not lines 1..$LINES once each"
done
ok "every line once across the upgrade, in the files and in journald"

# A restart under N+1 gets a helper from N+1's binary.
id=${ids[0]}
old=${docklog[$id]}
dv restart "$id" >/dev/null || fail "restart $id under $N1"
wait_state "$id" running 60
wait_for 30 bash -c "! kill -0 $old" || fail "$N's docklog of $id did not finish after the restart"
wait_for 30 docklog_of "$id" || fail "no docklog after the restart"
new=$(docklog_of "$id")
readlink "/proc/$new/exe" | matches '(deleted)' && fail "the restarted task's docklog is not $N1's binary"
ok "a task restarted under $N1 gets $N1's docklog"

ok "test_systemd_upgrade" # the tasks go with the test's cleanup
