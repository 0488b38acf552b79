#!/usr/bin/env bash
# `cmake --install` puts both binaries, the unit and the example config in place, and the
# unit passes `systemd-analyze verify` (with ExecStart pointing at the installed binary).
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
prefix=$(mktemp -d /tmp/dv-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$DV_BUILD_DIR" --prefix "$prefix" >/dev/null
for f in bin/dockvisor lib/systemd/system/dockvisor.service share/doc/dockvisor/examples/agent.json; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done
if [ -x "$DV_BUILD_DIR/docklog" ]; then
    [ -x "$prefix/bin/docklog" ] || fail "docklog built but not installed"
fi
jq -e '.docker and .data_dir and .socket' "$prefix/share/doc/dockvisor/examples/agent.json" >/dev/null \
    || fail "example agent config is not valid JSON with data_dir, socket and docker"

unit=$prefix/lib/systemd/system/dockvisor.service
for directive in Type=notify KillMode=process Restart=on-failure WatchdogSec= StateDirectory=dockvisor RuntimeDirectory=dockvisor; do
    grep -q "^$directive" "$unit" || fail "unit lacks $directive"
done
bin=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$unit")
mkdir -p "$prefix/verify"
sed "s|$bin|$prefix/bin/dockvisor|" "$unit" >"$prefix/verify/dockvisor.service"
out=$(systemd-analyze verify "$prefix/verify/dockvisor.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
echo "test_install_systemd: ok"
