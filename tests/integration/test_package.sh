#!/usr/bin/env bash
# scripts/package.sh builds dockvisor_<version>_<arch>.deb without touching the source tree;
# lintian finds no error in it; it holds the binaries (reporting the package's version), the
# unit, /etc/dockvisor/agent.json as its only conffile, the tmpfiles entry and the sysctl.d
# drop-in (applied by the postinst); it depends on
# the libraries it links. Its maintainer scripts, run as dpkg runs them with systemctl and
# the deb-systemd-* helpers stubbed: enable and start on install, restart after an upgrade
# and never stop for one, stop on remove, do nothing when systemd is not PID 1, and on purge
# keep /var/lib/dockvisor while it holds tasks. Then real dpkg installs, upgrades (keeping an
# edited conffile) and purges it in a scratch root.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
# The package is built from the tree, not from this build: the sanitizer pass would only
# build and check it again (exit 77: skipped, tests/CMakeLists.txt).
if [ -n "${DOCKVISOR_BIN:-}" ] && ldd "$DOCKVISOR_BIN" 2>/dev/null | grep -q libasan; then
    echo "SKIP: a sanitizer build; the package is tested in the plain pass" >&2
    exit 77
fi
src=${DV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
for tool in dpkg-buildpackage dh lintian dpkg-deb jq; do
    command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
done
tmp=$(mktemp -d /tmp/dv-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- the build ---
# The tree's own files (ignored ones such as build dirs may change under a parallel ctest),
# and what an in-tree dpkg-buildpackage would leave.
tree_state() {
    git -C "$src" status --porcelain --untracked-files=all 2>/dev/null || true
    (cd "$src" && ls -d obj-* debian/.debhelper debian/files debian/dockvisor debian/*.substvars 2>/dev/null) || true
}
before=$(tree_state)
"$src/scripts/package.sh" --version 0.1.0+pkgtest --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr" \
    || { cat "$tmp/stderr" >&2; fail "scripts/package.sh failed"; }
[ "$(tree_state)" = "$before" ] || fail "scripts/package.sh changed the source tree: $(tree_state)"
deb=$(tail -n 1 "$tmp/stdout")
arch=$(dpkg --print-architecture)
[ "$deb" = "$tmp/out/dockvisor_0.1.0+pkgtest-1_${arch}.deb" ] || fail "last stdout line is '$deb'"
[ -f "$deb" ] || fail "$deb does not exist"

# --- lintian: no error; warnings are shown ---
lintian "$deb" >"$tmp/lintian" 2>&1 || true
grep -v '^running with root privileges' "$tmp/lintian" >&2 || true
if grep -q '^E:' "$tmp/lintian"; then fail "lintian errors (above)"; fi

# --- control fields ---
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = dockvisor ] || fail "Package: $(field Package)"
[ "$(field Version)" = 0.1.0+pkgtest-1 ] || fail "Version: $(field Version)"
depends=$(field Depends)
for lib in libc6 libcurl4 libjansson4 libmicrohttpd12 libssl3 libsystemd0; do
    grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -q 'docker.io' <<<"$(field Recommends)" || fail "Recommends lacks docker.io: $(field Recommends)"

# --- files ---
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
for f in /usr/bin/dockvisor /usr/bin/docklog /usr/bin/docklog-tls /lib/systemd/system/dockvisor.service \
    /etc/dockvisor/agent.json /usr/lib/tmpfiles.d/dockvisor.conf /usr/lib/sysctl.d/60-dockvisor.conf \
    /usr/share/doc/dockvisor/copyright \
    /usr/share/doc/dockvisor/changelog.Debian.gz /usr/share/doc/dockvisor/README.md \
    /usr/share/man/man1/dockvisor.1.gz; do
    grep -qx "$f" "$tmp/files" || fail "not in the package: $f"
done
root=$tmp/root
dpkg-deb -x "$deb" "$root"
[ "$("$root/usr/bin/dockvisor" version)" = "dockvisor 0.1.0+pkgtest" ] \
    || fail "dockvisor version says '$("$root/usr/bin/dockvisor" version)'"
unit=$root/lib/systemd/system/dockvisor.service
grep -qx 'ExecStart=/usr/bin/dockvisor agent -config /etc/dockvisor/agent.json' "$unit" \
    || fail "unit's ExecStart: $(grep ^ExecStart "$unit")"
grep -qx 'KillMode=process' "$unit" || fail "unit lacks KillMode=process"
config=$root/etc/dockvisor/agent.json
jq -e '.data_dir == "/var/lib/dockvisor" and .socket == "/run/dockvisor/dockvisor.sock"
       and .docker.endpoint == "unix:///var/run/docker.sock"' "$config" >/dev/null \
    || fail "agent.json is not the config for a local Docker Engine: $(cat "$config")"
"$root/usr/bin/dockvisor" validate -config "$config" "$src/examples/quickstart-task.json" >/dev/null \
    || fail "dockvisor refuses the packaged agent.json"
grep -Eq '^d /var/lib/dockvisor 0700 root root' "$root/usr/lib/tmpfiles.d/dockvisor.conf" \
    || fail "tmpfiles entry: $(cat "$root/usr/lib/tmpfiles.d/dockvisor.conf")"
grep -Eqx 'fs\.inotify\.max_user_instances = 8192' "$root/usr/lib/sysctl.d/60-dockvisor.conf" \
    || fail "sysctl drop-in: $(cat "$root/usr/lib/sysctl.d/60-dockvisor.conf")"

# --- conffiles ---
ctrl=$tmp/control
dpkg-deb -e "$deb" "$ctrl"
[ "$(cat "$ctrl/conffiles")" = /etc/dockvisor/agent.json ] || fail "conffiles: $(cat "$ctrl/conffiles")"

# --- maintainer scripts ---
# Each helper the scripts call is a stub that records its arguments. The scripts act only
# when /run/systemd/system exists (systemd is PID 1); a copy of each points that test at a
# directory of ours, which exists ("systemd") or not ("nosystemd").
stubs=$tmp/stubs calls=$tmp/calls
mkdir -p "$stubs" "$tmp/run-systemd"
for cmd in deb-systemd-invoke deb-systemd-helper systemctl systemd-tmpfiles sysctl; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$cmd" "$calls" >"$stubs/$cmd"
    chmod +x "$stubs/$cmd"
done
for s in preinst postinst prerm postrm; do
    [ -f "$ctrl/$s" ] || continue
    sed "s|/run/systemd/system|$tmp/run-systemd|g" "$ctrl/$s" >"$tmp/$s.systemd"
    sed "s|/run/systemd/system|$tmp/no-such-dir|g" "$ctrl/$s" >"$tmp/$s.nosystemd"
done
# run SCRIPT MODE ARGS...: the calls it made, one per line.
run() {
    local script=$1 mode=$2; shift 2
    : >"$calls"
    [ -f "$tmp/$script.$mode" ] || return 0
    PATH="$stubs:$PATH" sh -e "$tmp/$script.$mode" "$@" >/dev/null 2>"$tmp/script.err" \
        || { cat "$tmp/script.err" >&2; fail "$script $* exited non-zero"; }
    cat "$calls"
}
expect() { grep -qx "$2" <<<"$1" || fail "$3: expected '$2' among: $(tr '\n' ';' <<<"$1")"; }
refuse() { ! grep -Eq "$2" <<<"$1" || fail "$3: unexpected '$2' among: $(tr '\n' ';' <<<"$1")"; }

# Fresh install: preinst install, postinst configure (no old version).
out=$(run preinst systemd install)
refuse "$out" 'stop' "preinst install"
out=$(run postinst systemd configure)
expect "$out" "deb-systemd-helper enable dockvisor.service" "postinst configure (install)"
expect "$out" "deb-systemd-invoke start dockvisor.service" "postinst configure (install)"
expect "$out" "systemd-tmpfiles --create dockvisor.conf" "postinst configure (install)"
expect "$out" "sysctl -q -p /usr/lib/sysctl.d/60-dockvisor.conf" "postinst configure (install)"

# Upgrade N -> N+1: old prerm upgrade, new preinst upgrade, new postinst configure N.
# Nothing may stop the agent; the postinst restarts it once the new files are in place.
out=$(run prerm systemd upgrade 0.2.0-1)
refuse "$out" 'stop' "prerm upgrade"
out=$(run preinst systemd upgrade 0.1.0-1)
refuse "$out" 'stop' "preinst upgrade"
out=$(run postinst systemd configure 0.1.0-1)
refuse "$out" 'stop' "postinst configure (upgrade)"
grep -Eqx "deb-systemd-invoke (try-)?restart dockvisor.service" <<<"$out" \
    || fail "postinst configure (upgrade) does not restart the agent: $(tr '\n' ';' <<<"$out")"
grep -qx "systemctl --system daemon-reload" <<<"$out" || fail "postinst upgrade: no daemon-reload"

# systemd not PID 1 (a container, a chroot): nothing is started, nothing fails.
out=$(run postinst nosystemd configure)
refuse "$out" '^(deb-systemd-invoke|systemctl) ' "postinst without systemd"
out=$(run postinst nosystemd configure 0.1.0-1)
refuse "$out" '^(deb-systemd-invoke|systemctl) ' "postinst upgrade without systemd"

# Remove stops the agent (its containers keep running: KillMode=process).
out=$(run prerm systemd remove)
expect "$out" "deb-systemd-invoke stop dockvisor.service" "prerm remove"

# Purge: the data dir goes when it holds no task, stays when it does. DPKG_ROOT puts the
# script's /var/lib/dockvisor under a root of ours.
purge_root=$tmp/purge
mkdir -p "$purge_root/var/lib/dockvisor/state/tasks" "$purge_root/var/lib/dockvisor/tasks"
echo '{}' >"$purge_root/var/lib/dockvisor/state/agent.json"
out=$(DPKG_ROOT=$purge_root run postrm systemd purge)
expect "$out" "deb-systemd-helper purge dockvisor.service" "postrm purge"
[ ! -e "$purge_root/var/lib/dockvisor" ] || fail "purge kept a data dir without tasks"
mkdir -p "$purge_root/var/lib/dockvisor/state/tasks"
echo '{}' >"$purge_root/var/lib/dockvisor/state/tasks/t1.json"
DPKG_ROOT=$purge_root run postrm systemd purge >/dev/null
[ -f "$purge_root/var/lib/dockvisor/state/tasks/t1.json" ] || fail "purge deleted a data dir holding a task"
grep -q 'keeping' "$tmp/script.err" || fail "purge kept the data dir without saying so"
out=$(run postrm systemd remove)
refuse "$out" 'stop|purge' "postrm remove"

# --- real dpkg in a scratch root: install, upgrade N -> N+1, purge ---
# dpkg --root with chrootless scripts (DPKG_ROOT set): deb-systemd-helper and
# systemd-tmpfiles act inside the root; systemctl and deb-systemd-invoke stay stubbed, so the
# host's systemd is never touched. N+1 is the same package with a higher version.
next=$tmp/next
dpkg-deb -R "$deb" "$next"
sed -i 's/^Version: .*/Version: 0.1.0+pkgtest2-1/' "$next/DEBIAN/control"
dpkg-deb -b "$next" "$tmp/next.deb" >/dev/null
droot=$tmp/dpkgroot
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates" "$droot/etc/systemd/system"
: >"$droot/var/lib/dpkg/status"
stubs2=$tmp/stubs2
mkdir -p "$stubs2"
cp "$stubs/systemctl" "$stubs/deb-systemd-invoke" "$stubs2/"
rdpkg() {
    PATH="$stubs2:$PATH" dpkg --root="$droot" --force-script-chrootless --force-depends "$@" \
        >"$tmp/dpkg.out" 2>&1 || { cat "$tmp/dpkg.out" >&2; fail "dpkg $*"; }
}
: >"$calls"
rdpkg -i "$deb"
wants=$droot/etc/systemd/system/multi-user.target.wants/dockvisor.service
[ -L "$wants" ] || fail "install did not enable the unit"
[ "$(stat -c %a "$droot/var/lib/dockvisor")" = 700 ] || fail "install did not make /var/lib/dockvisor 0700"
jq '.port_range = "21000-21999"' "$droot/etc/dockvisor/agent.json" >"$tmp/edited.json"
cp "$tmp/edited.json" "$droot/etc/dockvisor/agent.json"
: >"$calls"
rdpkg -i "$tmp/next.deb"
[ "$(dpkg-query --admindir="$droot/var/lib/dpkg" -W -f='${Version}' dockvisor)" = 0.1.0+pkgtest2-1 ] \
    || fail "upgrade did not install N+1"
refuse "$(cat "$calls")" 'stop' "dpkg upgrade"
cmp -s "$tmp/edited.json" "$droot/etc/dockvisor/agent.json" || fail "upgrade lost the edited conffile"
[ -L "$wants" ] || fail "upgrade disabled the unit"
mkdir -p "$droot/var/lib/dockvisor/state/tasks"
echo '{}' >"$droot/var/lib/dockvisor/state/tasks/t1.json"
rdpkg --purge dockvisor
[ ! -e "$droot/etc/dockvisor" ] || fail "purge left /etc/dockvisor"
[ ! -e "$wants" ] || fail "purge left the unit enabled"
[ -f "$droot/var/lib/dockvisor/state/tasks/t1.json" ] || fail "purge deleted task state"

echo "test_package: ok"
