#!/usr/bin/env bash
# Task artifacts (issue 14): files fetched into the task's local/ before the
# start, checked against options.checksum, retried on 5xx; `load` of a
# tarball fetched as an artifact works in one `run`; a host file source is
# refused at submit while docker.volumes.enabled is false. Everything is
# served from 127.0.0.1 by a python3 server of the test's own.
source "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"

SRV="$T_DIR/srv"
mkdir -p "$SRV"
# A file server that answers /flaky/NAME with 500 twice, then with the file.
cat >"$T_DIR/server.py" <<'EOF'
import functools, http.server, os, sys
fails = {}
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/flaky/"):
            n = fails.get(self.path, 0)
            fails[self.path] = n + 1
            if n < 2:
                self.send_error(500, "try again")
                return
            self.path = self.path[len("/flaky"):]
        super().do_GET()
    def log_message(self, *a):
        pass
handler = functools.partial(H, directory=sys.argv[1])
for port in range(25500, 25520):
    try:
        srv = http.server.HTTPServer(("127.0.0.1", port), handler)
    except OSError:
        continue
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    srv.serve_forever()
sys.exit("no free port in 25500-25519")
EOF
python3 "$T_DIR/server.py" "$SRV" "$T_DIR/port" >"$T_DIR/server.log" 2>&1 &
T_BG_PIDS+=($!)
wait_for 10 test -s "$T_DIR/port" || fail "the file server did not start: $(cat "$T_DIR/server.log")"
BASE="http://127.0.0.1:$(cat "$T_DIR/port")"

start_agent 25520 25529

local_dir() { find "$T_DIR/data/tasks/$1" -maxdepth 2 -type d -name local | head -1; }
events() { task_json "$1" | jq -c '[.events[] | {type, message}]'; }

echo "hello from an artifact" >"$SRV/hello.txt"
sum=$(sha256sum "$SRV/hello.txt" | cut -d' ' -f1)

# --- (1) an http artifact with the right checksum is in local/ at start ---
f=$(spec hello "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "cat" | .config.args = ["/local/hello.txt"]
    | .artifact = [{source: "'"$BASE"'/hello.txt", options: {checksum: "sha256:'"$sum"'"}}]')
id=$(dv run -detach "$f")
wait_state "$id" exited 30
dv logs "$id" | matches -x "hello from an artifact" || fail "the container did not see the file: $(dv logs "$id"); $(events "$id")"
has_event "$id" "Downloading Artifacts" "hello.txt \\(1 of 1\\)" || fail "no download event: $(events "$id")"
[ -z "$(find "$(local_dir "$id")" -name '.dvartifact-*')" ] || fail "a temp file was left in local/"
ok "an http artifact with its sha256 lands in local/ before the start"

# --- (2) a wrong checksum fails the start, nothing is left in local/ ---
bad=$(printf '0%.0s' $(seq 64))
f=$(spec badsum "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "true"
    | .artifact = [{source: "'"$BASE"'/hello.txt", options: {checksum: "sha256:'"$bad"'"}}]')
id=$(dv run -detach "$f")
wait_state "$id" failed 30
has_event "$id" "Failed Artifact Download" "artifact\\[0\\].*checksum mismatch" ||
    fail "no event naming artifact[0] and the checksum: $(events "$id")"
[ -z "$(ls -A "$(local_dir "$id")")" ] || fail "files left in local/: $(ls -A "$(local_dir "$id")")"
[ -z "$(task_field "$id" '.container_id // empty')" ] || fail "a container was created"
ok "a checksum mismatch fails the start naming artifact[0]; local/ stays empty"

# --- (3) load of a tarball fetched as an artifact, in one run ---
img="dvtest-art-$$:1"
docker tag "$DV_TEST_IMAGE_BUSYBOX" "$img"
T_CLEANUP_HOOKS+=("docker rmi -f $img >/dev/null 2>&1")
docker save "$img" -o "$SRV/img.tar"
docker rmi "$img" >/dev/null
f=$(spec load "$img" '.config.load = "img.tar" | .config.command = "echo" | .config.args = ["loaded"]
    | .artifact = [{source: "'"$BASE"'/img.tar", options: {archive: "false"}}]')
dv run "$f" >"$T_DIR/run-load.out" 2>&1 || fail "run with load: $(cat "$T_DIR/run-load.out")"
id=$(dv status -json | jq -r --arg n "$T_PREFIX-load" '.[] | select(.name == $n) | .id')
wait_state "$id" exited 60
dv logs "$id" | matches -x loaded || fail "the loaded image did not run: $(dv logs "$id"); $(events "$id")"
docker image inspect "$img" >/dev/null 2>&1 || fail "the image was not loaded"
ok "config.load of a tarball fetched as an artifact works in one run"

# --- (4) a host file source is refused at submit with volumes disabled ---
f=$(spec hostfile "$DV_TEST_IMAGE_BUSYBOX" '.artifact = [{source: "file:///etc/hostname"}]')
code=$(api -o "$T_DIR/post.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$f" http://localhost/v1/tasks)
[ "$code" = 400 ] || fail "a file:// artifact was answered $code: $(cat "$T_DIR/post.json")"
jq -e '.field == "artifact[0].source"' "$T_DIR/post.json" >/dev/null ||
    fail "the refusal does not name artifact[0].source: $(cat "$T_DIR/post.json")"
[ "$(dv status -json | jq --arg n "$(jq -r .name "$f")" '[.[] | select(.name == $n)] | length')" = 0 ] ||
    fail "a task was created"
ok "a file:// artifact is refused at submit naming artifact[0].source"

# --- (5) a 404 fails the start with an event, without retries ---
f=$(spec missing "$DV_TEST_IMAGE_BUSYBOX" '.artifact = [{source: "'"$BASE"'/nope.bin"}]')
id=$(dv run -detach "$f")
wait_state "$id" failed 30
has_event "$id" "Failed Artifact Download" "artifact\\[0\\].*HTTP 404" || fail "no 404 event: $(events "$id")"
! has_event "$id" "Downloading Artifacts" "trying again" || fail "a 404 was retried: $(events "$id")"
ok "a 404 fails the start with an event naming artifact[0]"

# --- (6) 500 twice, then the file: the retries fetch it ---
f=$(spec flaky "$DV_TEST_IMAGE_BUSYBOX" '.config.command = "cat" | .config.args = ["/local/hello.txt"]
    | .artifact = [{source: "'"$BASE"'/flaky/hello.txt"}]')
id=$(dv run -detach "$f")
wait_state "$id" exited 30
dv logs "$id" | matches -x "hello from an artifact" || fail "the retried download did not arrive: $(events "$id")"
[ "$(task_json "$id" | jq '[.events[] | select(.message | test("HTTP 500; trying again"))] | length')" = 2 ] ||
    fail "expected two retries: $(events "$id")"
ok "two 500s then 200: fetched on the third attempt"

finish
