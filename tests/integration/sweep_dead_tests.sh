#!/usr/bin/env bash
# Remove what integration tests left behind when they were killed before their
# cleanup could run (ctest ends a test at its timeout with SIGKILL, which runs no
# EXIT trap), so that one timeout does not spill into every test after it: the
# failed run of 2026-12-07 left 189 containers and 22 docklog helpers to the rest
# of its pass. Run as each test starts, by agent_lib.sh for the shell tests and by
# dv_test_sweep_dead_tests (test_support.c) for the C ones; safe to run by hand.
#
# A test is known by the pid in its names: containers dvtest-<word>-<pid>-...
# (agent_lib.sh's T_PREFIX, docklog_itest.h, test_docker_client.c) and agent_lib.sh's dirs
# /tmp/dvtest-agent-<pid>-*. Only those whose pid no longer runs are touched, never
# a live test's (another engineer's on the shared dockerd, or another ctest run).
# A test puts back what else it changed through cleanup_even_if_killed (agent_lib.sh),
# which leaves the command in its dir for this sweep too. Its images are known by the
# same names, its private dockerd by the owner file private_dockerd.sh leaves.
set -uo pipefail

# Gone, or a zombie its parent has not reaped yet (kill -0 succeeds on those).
dead() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null)
    [ -z "$state" ] || [ "${state:0:1}" = Z ]
}

swept=0
# First the processes working in a dead test's dir (its agent, its docklog helpers),
# so no agent starts again a container removed below; then its mounts and the dir.
for dir in /tmp/dvtest-agent-*-*; do
    [ -d "$dir" ] || continue
    pid=${dir#/tmp/dvtest-agent-}
    pid=${pid%%-*}
    if ! [[ $pid =~ ^[0-9]+$ ]] || ! dead "$pid"; then continue; fi
    procs=$(pgrep -f -- "$dir/") # (mktemp's names hold no regex characters)
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$procs" ] || kill -KILL $procs 2>/dev/null
    # What it would have undone at exit beyond its own things (agent_lib.sh,
    # cleanup_even_if_killed), e.g. a machine-wide setting.
    [ ! -f "$dir/sweep-hooks" ] || bash "$dir/sweep-hooks"
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf "$dir"
    swept=$((swept + 1))
done

ids=$(docker ps -a --filter name=dvtest- --format '{{.ID}} {{.Names}}' 2>/dev/null |
    while read -r id name; do
        [[ $name =~ ^dvtest-[a-z]+-([0-9]+)- ]] || continue
        dead "${BASH_REMATCH[1]}" && echo "$id"
    done)
if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null 2>&1
    swept=$((swept + $(wc -w <<<"$ids")))
fi

# The images it made (docker tag, commit or build as dvtest-<word>-<pid>[-...]:TAG), after
# its containers, which may use them. By name and never forced: an image that another
# name still holds only loses the dead test's tag.
refs=$(docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
    while read -r ref; do
        [[ $ref != *:\<none\> ]] || continue
        [[ $ref =~ ^dvtest-[a-z]+-([0-9]+)[-:] ]] || continue
        dead "${BASH_REMATCH[1]}" && echo "$ref"
    done)
if [ -n "$refs" ]; then
    # Counted as Docker untags them: one it refuses (an image a container not named
    # as a test's uses) is not reported as removed at every test's start.
    # shellcheck disable=SC2086 # one reference per word
    untagged=$(docker rmi $refs 2>/dev/null | grep -c '^Untagged: ')
    swept=$((swept + untagged))
fi
[ "$swept" = 0 ] || echo "[sweep_dead_tests] removed $swept leftovers of killed tests" >&2

# Its private dockerd (private_dockerd.sh): the daemon, its containerd and shims, mounts,
# cgroups, bridge and dir, which would otherwise live on until the next test that starts
# one of its own (pdd_setup sweeps them too). That sweep says what it removes.
source "$(dirname "${BASH_SOURCE[0]}")/private_dockerd.sh"
pdd__sweep_stale
exit 0
