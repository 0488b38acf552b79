#!/usr/bin/env bash
# An acknowledged task is never lost, and a full data dir is said, not hidden: the
# agent's data dir is a small tmpfs the test fills (as a task writing to /alloc
# could). A submission then gets 507 and nothing is started (no container, no task
# dir, no record); the running task goes on; node-status and the metrics show the
# free space; after an agent restart only the acknowledged task is there.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

mkdir -p "$T_DIR/data"
mount -t tmpfs -o size=16m,mode=0700 dvtest-full "$T_DIR/data" || fail "mount a tmpfs"
T_CLEANUP_HOOKS+=("umount -l '$T_DIR/data'")
start_agent 24870 24879

f=$(spec keeps "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "sleep" | .config.args = ["300"] | .logs = {disabled: true}')
kept=$(dv run -detach "$f")
wait_state "$kept" running
started=$(docker inspect -f '{{.State.StartedAt}}' "$(task_field "$kept" .container_id)")

dd if=/dev/zero of="$T_DIR/data/fill" bs=64k 2>/dev/null || true # until ENOSPC
f=$(spec refused "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "true"')
code=$(api -o "$T_DIR/resp.json" -w '%{http_code}' -X POST --data-binary @"$f" http://localhost/v1/tasks)
[ "$code" = 507 ] || fail "submission on a full data dir answered $code: $(cat "$T_DIR/resp.json")"
jq -e '.error | test("cannot record the task")' "$T_DIR/resp.json" >/dev/null ||
    fail "unclear refusal: $(cat "$T_DIR/resp.json")"
[ -z "$(docker ps -aq --filter "name=$T_PREFIX-refused")" ] || fail "a container was created"
[ "$(dv status -json | jq length)" = 1 ] || fail "tasks: $(dv status -json | jq -c '[.[].name]')"
[ "$(ls "$T_DIR/data/tasks" | wc -l)" = 1 ] || fail "task dirs: $(ls "$T_DIR/data/tasks")"
[ "$(ls "$T_DIR/data/state/tasks" | grep -c '\.json$')" = 1 ] || fail "records: $(ls "$T_DIR/data/state/tasks")"
free=$(dv node-status -json | jq .data_dir_free_bytes)
[ "$free" -lt 65536 ] || fail "node-status says $free bytes free"
api http://localhost/v1/metrics | matches '^dockvisor_data_dir_free_bytes [0-9]' || fail "no free-space metric"
ok "a full data dir: 507, nothing started, the free space in node-status and metrics"

rm -f "$T_DIR/data/fill"
stop_agent || fail "agent stop"
start_agent 24870 24879
[ "$(dv status -json | jq -r '.[].id')" = "$kept" ] || fail "after restart: $(dv status -json | jq -c '[.[].id]')"
wait_state "$kept" running
[ "$(docker inspect -f '{{.State.StartedAt}}' "$(task_field "$kept" .container_id)")" = "$started" ] ||
    fail "the running task was restarted"
f=$(spec later "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "true"')
id=$(dv run -detach "$f")
wait_state "$id" exited
ok "with room again: the acknowledged task kept running, new tasks are accepted"
finish
