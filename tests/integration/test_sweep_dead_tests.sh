#!/usr/bin/env bash
# sweep_dead_tests.sh, which every agent test runs first: what a test killed before
# its cleanup (ctest's timeout) left is removed, namely its agent and helpers (any
# process working in its dir), its mounts, its dir and its containers on the shared
# dockerd, its images, its private dockerd, and what it registered with
# cleanup_even_if_killed is run; a live test's are left alone. Before it, one
# timed-out test left 189 containers and 22 docklog helpers to every test after it.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

# A test that has died: a pid that ran and is gone.
sh -c 'exit 0' &
gone=$!
wait "$gone"
kill -0 "$gone" 2>/dev/null && fail "pid $gone still runs"

dead_dir=$(mktemp -d "/tmp/dvtest-agent-$gone-XXXXXX")
T_CLEANUP_HOOKS+=("umount -l '$dead_dir/data' 2>/dev/null; rm -rf '$dead_dir'")
mkdir "$dead_dir/data"
mount -t tmpfs -o size=1m dvtest-sweep "$dead_dir/data"
# What it would have put back at exit (cleanup_even_if_killed), here a marker of ours.
echo "echo put-back >'$T_DIR/put-back'" >"$dead_dir/sweep-hooks"
# Its "agent": a process working in its dir, as a helper's command line names it.
cp /bin/sleep "$dead_dir/data/agent"
"$dead_dir/data/agent" 300 &
dead_proc=$!
T_BG_PIDS+=("$dead_proc")
B=$DV_TEST_IMAGE_BUSYBOX
dead_c=(
    "$(docker create --name "dvtest-agent-$gone-task1" "$B" sleep 300)"
    "$(docker run -d --name "dvtest-docklog-$gone-x-1" "$B" sleep 300)"
)
T_CLEANUP_HOOKS+=("docker rm -f ${dead_c[*]} >/dev/null 2>&1") # if the sweep fails
# Ours, alive: kept.
live_c=$(docker run -d --name "$T_PREFIX-live" "$B" sleep 300)
T_CLEANUP_HOOKS+=("docker rm -f '$live_c' >/dev/null 2>&1")
# Not a test's name: never touched, whatever the number in it.
other_c=$(docker create --name "dvtestx-$gone-other" "$B" sleep 300)
# (no sweep knows such a name: removed even if this test is killed)
cleanup_even_if_killed "docker rm -f '$other_c' >/dev/null 2>&1"

# Its images (tags of the busybox image, which keeps its own): one named as agent_lib.sh
# names them, one as test_artifacts.sh does (the pid, then the tag).
dead_img=("dvtest-agent-$gone-loaded:1" "dvtest-art-$gone:1")
for i in "${dead_img[@]}"; do docker tag "$B" "$i" || fail "tag $i"; done
T_CLEANUP_HOOKS+=("docker rmi ${dead_img[*]} >/dev/null 2>&1")
live_img="$T_PREFIX-live:1"
other_img="dvtestx-$gone:1"
for i in "$live_img" "$other_img"; do docker tag "$B" "$i" || fail "tag $i"; done
T_CLEANUP_HOOKS+=("docker rmi '$live_img' >/dev/null 2>&1")
cleanup_even_if_killed "docker rmi '$other_img' >/dev/null 2>&1"
# Its private dockerd, as private_dockerd.sh leaves one: a dir naming its owner, a
# "dockerd" working in it, a mount and a bridge.
pdd_dir=$(mktemp -d /tmp/dvdd.XXXXXX)
T_CLEANUP_HOOKS+=("umount -l '$pdd_dir/root' 2>/dev/null; rm -rf '$pdd_dir'")
pdd_bridge="dvtest$gone"
echo "$gone 1 $pdd_bridge /dvtest-$gone" >"$pdd_dir/owner"
mkdir "$pdd_dir/root"
mount -t tmpfs -o size=1m dvtest-sweep "$pdd_dir/root"
ip link add "$pdd_bridge" type bridge || fail "create bridge $pdd_bridge"
T_CLEANUP_HOOKS+=("ip link del '$pdd_bridge' 2>/dev/null")
cp /bin/sleep "$pdd_dir/dockerd"
"$pdd_dir/dockerd" 300 &
pdd_proc=$!
T_BG_PIDS+=("$pdd_proc")
# A dead run whose pid is ours now: its dir goes, but its names (bridge dvtest<pid>)
# are the live run's since, as private_dockerd.sh's pdd_setup makes them its own.
live_pdd=$(mktemp -d /tmp/dvdd.XXXXXX)
stale_pdd=$(mktemp -d /tmp/dvdd.XXXXXX)
T_CLEANUP_HOOKS+=("rm -rf '$live_pdd' '$stale_pdd'")
echo "$$ $(sed 's/^.*) //' "/proc/$$/stat" | awk '{print $20}') dvtest$$ /dvtest-$$" >"$live_pdd/owner"
echo "$$ 1 dvtest$$ /dvtest-$$" >"$stale_pdd/owner"
ip link add "dvtest$$" type bridge || fail "create bridge dvtest$$"
T_CLEANUP_HOOKS+=("ip link del 'dvtest$$' 2>/dev/null")

"$DV_SOURCE_DIR/tests/integration/sweep_dead_tests.sh" 2>"$T_DIR/sweep.err" ||
    fail "the sweep failed"
matches "removed 5 leftovers" <"$T_DIR/sweep.err" || fail "sweep said: $(cat "$T_DIR/sweep.err")"
for c in "${dead_c[@]}"; do
    docker inspect "$c" >/dev/null 2>&1 && fail "a dead test's container $c is left"
done
ok "the dead test's containers are gone"
wait "$dead_proc" 2>/dev/null || true # killed by the sweep
kill -0 "$dead_proc" 2>/dev/null && fail "the process in the dead test's dir still runs"
awk -v d="$dead_dir/" 'index($2, d) == 1' /proc/self/mounts | matches . &&
    fail "the dead test's mount is left"
[ ! -e "$dead_dir" ] || fail "the dead test's dir is left"
[ "$(cat "$T_DIR/put-back" 2>/dev/null)" = put-back ] || fail "its sweep hooks did not run"
ok "its process, mount and dir are gone, and what it would have put back is"
for i in "${dead_img[@]}"; do
    docker image inspect "$i" >/dev/null 2>&1 && fail "a dead test's image $i is left"
done
docker image inspect "$B" >/dev/null 2>&1 || fail "the image its tags named was removed"
ok "its images are gone, the image they tagged is kept"
wait "$pdd_proc" 2>/dev/null || true # killed by the sweep
kill -0 "$pdd_proc" 2>/dev/null && fail "the dead test's dockerd still runs"
T_BG_PIDS=() # both reaped: their pids may be another process's by the cleanup
[ ! -e "$pdd_dir" ] || fail "the dead test's private dockerd dir is left"
ip link show "$pdd_bridge" >/dev/null 2>&1 && fail "the dead test's bridge is left"
ok "its private dockerd, mount, bridge and dir are gone"
[ ! -e "$stale_pdd" ] || fail "a dead run's private dockerd dir is left"
ip link show "dvtest$$" >/dev/null 2>&1 || fail "a live run's bridge went with a dead run of its pid"
[ -d "$live_pdd" ] || fail "a live run's private dockerd dir was removed"
ok "a dead run of a live test's pid: its dir is gone, the live run's bridge kept"
docker inspect "$live_c" >/dev/null 2>&1 || fail "a live test's container was removed"
[ -d "$T_DIR" ] || fail "the live test's dir was removed"
docker inspect "$other_c" >/dev/null 2>&1 || fail "a container not named as a test's was removed"
docker image inspect "$live_img" >/dev/null 2>&1 || fail "a live test's image was removed"
docker image inspect "$other_img" >/dev/null 2>&1 || fail "an image not named as a test's was removed"
ok "a live test's containers, images and dir, and other names, are kept"

# Nothing left: quiet, and still nothing of a live test touched.
"$DV_SOURCE_DIR/tests/integration/sweep_dead_tests.sh" 2>"$T_DIR/sweep.err" ||
    fail "the second sweep failed"
[ ! -s "$T_DIR/sweep.err" ] || fail "second sweep said: $(cat "$T_DIR/sweep.err")"
docker inspect "$live_c" >/dev/null 2>&1 || fail "the second sweep removed a live container"
ok "a second sweep finds nothing"
