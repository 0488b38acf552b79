#!/usr/bin/env bash
# The test environment itself: payload image, registry auth, journald round trip.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

# The payload prints numbered lines, odd on stdout, even on stderr.
out=$(docker run --rm "$DV_TEST_IMAGE_PAYLOAD" lines 10 2>/dev/null)
[ "$(echo "$out" | wc -l)" -eq 5 ] || fail "expected 5 stdout lines, got: $out"
all=$(docker run --rm "$DV_TEST_IMAGE_PAYLOAD" lines 10 2>&1 | wc -l)
[ "$all" -eq 10 ] || fail "expected 10 lines in all, got $all"
code=0; docker run --rm "$DV_TEST_IMAGE_PAYLOAD" exit 7 || code=$?
[ "$code" -eq 7 ] || fail "payload exit 7 returned $code"
[ "$(docker run --rm "$DV_TEST_IMAGE_BUSYBOX" echo hello)" = hello ] || fail "busybox echo"

# Pulling from the local registry needs the test credentials.
image="$DV_TEST_REGISTRY/dockvisor-test/busybox:1"
docker rmi "$image" >/dev/null 2>&1 || true
cfg=$(mktemp -d); trap 'rm -rf "$cfg"' EXIT
if docker --config "$cfg" pull -q "$image" >/dev/null 2>&1; then fail "anonymous pull succeeded"; fi
echo "$DV_TEST_REGISTRY_PASSWORD" | docker --config "$cfg" login -u "$DV_TEST_REGISTRY_USER" --password-stdin "$DV_TEST_REGISTRY" >/dev/null 2>&1
docker --config "$cfg" pull -q "$image" >/dev/null || fail "authenticated pull failed"

# journald answers and can be read back.
tag="dv-env-$$-$RANDOM"
echo "journal check $tag" | systemd-cat -t "$tag"
for _ in $(seq 50); do
    grep -q "journal check $tag" <<<"$(journalctl -t "$tag" -o cat --no-pager 2>/dev/null)" && { echo "test_env: ok"; exit 0; }
    sleep 0.1
done
fail "journald did not return the line"
