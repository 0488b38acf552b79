#!/usr/bin/env bash
# Build the Debian package dockvisor_<version>_<arch>.deb with dpkg-buildpackage (debian/,
# debhelper compat 13, dh with the cmake buildsystem). The source tree is never written to:
# the build runs in a copy of it under a work dir, which is kept so the next build of the same
# tree only recompiles what changed. The last line on stdout is the .deb's absolute path;
# everything else goes to stderr.
#
# usage: scripts/package.sh [--version V] [--out DIR] [--lintian] [--fresh] [--work DIR]
#   --version V  Debian version UPSTREAM[-REVISION] ("-1" is added when there is no
#                revision); default: the CMake project version, when HEAD is not tagged
#                v<that version> followed by +git<commits>.g<commit>[.dirty], then -1
#   --out DIR    where the .deb is put (default: out/ at the top of the tree, ignored by git)
#   --lintian    run lintian on the .deb; fail on an error (warnings are printed)
#   --fresh      build in a throwaway work dir (a full build), removed afterwards
#   --work DIR   the work dir to build in and keep (default: one per source tree under
#                /var/tmp/dockvisor-package-$UID, or $DV_PACKAGE_WORK); builds that share
#                one take turns (flock)
# DV_JOBS sets the parallel build jobs (default: nproc).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '/^# usage:/,/^# DV_JOBS/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

version="" out="$DV_ROOT/out" run_lintian=0 fresh=0 work=""
while [ $# -gt 0 ]; do
    case $1 in
    --version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || usage; work=$2; shift 2 ;;
    --lintian) run_lintian=1; shift ;;
    --fresh) fresh=1; shift ;;
    -h | --help) usage ;;
    *) log "unknown argument: $1"; usage ;;
    esac
done

for tool in dpkg-buildpackage dh dpkg-parsechangelog flock; do
    command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
[ "$run_lintian" = 0 ] || command -v lintian >/dev/null || die "lintian not found: run scripts/install-deps.sh"

in_git() { git -C "$DV_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; }

default_version() {
    local pv upstream
    pv=$(sed -n 's/^project(dockvisor VERSION \([0-9][0-9.]*\).*/\1/p' "$DV_ROOT/CMakeLists.txt")
    [ -n "$pv" ] || die "no project(dockvisor VERSION ...) in CMakeLists.txt"
    upstream=$pv
    if in_git && ! git -C "$DV_ROOT" describe --tags --exact-match --match "v$pv" HEAD >/dev/null 2>&1; then
        upstream+="+git$(git -C "$DV_ROOT" rev-list --count HEAD).g$(git -C "$DV_ROOT" rev-parse --short=8 HEAD)"
        [ -z "$(git -C "$DV_ROOT" status --porcelain --untracked-files=no)" ] || upstream+=".dirty"
    fi
    echo "$upstream-1"
}

if [ -z "$version" ]; then
    version=$(default_version)
elif [[ $version != *-* ]]; then
    version+="-1"
fi
dpkg --validate-version "$version" 2>/dev/null || die "not a Debian version: $version"
arch=$(dpkg --print-architecture)
deb_name="dockvisor_${version#*:}_${arch}.deb"

if [ "$fresh" = 1 ]; then
    work=$(mktemp -d /tmp/dockvisor-package.XXXXXX)
    trap 'rm -rf "$work"' EXIT
elif [ -z "$work" ]; then
    key=$(printf '%s' "$DV_ROOT" | sha256sum | cut -c1-12)
    work="${DV_PACKAGE_WORK:-/var/tmp/dockvisor-package-$(id -u)}/$key"
fi
mkdir -p "$work" "$out"
work=$(cd "$work" && pwd) out=$(cd "$out" && pwd)
exec 9>"$work/.lock"
flock 9

# The files of the source: what git tracks plus untracked files it does not ignore, so
# uncommitted edits are packaged (and the version says .dirty); without git, all but builds.
list_sources() {
    if in_git; then
        git -C "$DV_ROOT" ls-files -z --cached --others --exclude-standard
    else
        (cd "$DV_ROOT" && find . \( -name .git -o -name 'build*' -o -path ./out \) -prune -o \
            \( -type f -o -type l \) -printf '%P\0')
    fi
}

# Copy the source into DST by content: a file is rewritten (and so gets a new mtime) only
# when its bytes or its executable bit differ, so make rebuilds exactly what changed
# whatever the source's mtimes are; files the source no longer has are deleted, except the
# build dir (obj-*).
same_x() { if [ -x "$1" ]; then [ -x "$2" ]; else [ ! -x "$2" ]; fi; }
sync_tree() {
    local dst=$1 f s d
    declare -A keep=()
    while IFS= read -r -d '' f; do
        s="$DV_ROOT/$f" d="$dst/$f"
        [ -e "$s" ] || [ -L "$s" ] || continue # deleted in the work tree, not yet in git
        keep[$f]=1
        if [ -L "$s" ] || [ -L "$d" ]; then
            [ -L "$s" ] && [ -L "$d" ] && [ "$(readlink "$s")" = "$(readlink "$d")" ] && continue
        elif [ -f "$d" ] && same_x "$s" "$d" && cmp -s "$s" "$d"; then
            continue
        fi
        mkdir -p "$(dirname "$d")"
        rm -rf "$d"
        cp -P --preserve=mode "$s" "$d"
    done < <(list_sources)
    while IFS= read -r -d '' f; do
        [ -n "${keep[$f]:-}" ] || rm -f "$dst/$f"
    done < <(cd "$dst" && find . -path './obj-*' -prune -o \( -type f -o -type l \) -printf '%P\0')
}

# debian/changelog's top entry must be the version being built: kept when it is, a new
# entry on top when the version is newer, else (an older version, for an upgrade test's
# "before") the generated entry alone, so the changelog never goes backwards.
write_changelog() {
    local src=$1 top maint from entry
    top=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
    [ "$version" != "$top" ] || return 0
    maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
    from="a source tree without git"
    in_git && from=$(git -C "$DV_ROOT" describe --always --tags --dirty)
    entry=$(printf 'dockvisor (%s) unstable; urgency=medium\n\n  * Built by scripts/package.sh from %s.\n\n -- %s  %s\n' \
        "$version" "$from" "$maint" "$(date -R)")
    if dpkg --compare-versions "$version" gt "$top"; then
        printf '%s\n\n%s\n' "$entry" "$(cat "$src/debian/changelog")" >"$src/debian/changelog.new"
    else
        printf '%s\n' "$entry" >"$src/debian/changelog.new"
    fi
    mv "$src/debian/changelog.new" "$src/debian/changelog"
}

src="$work/src"
mkdir -p "$src"
log "version $version: syncing the source into $src"
sync_tree "$src"
write_changelog "$src"
rm -f "$work"/*.deb "$work"/*.ddeb "$work"/*.changes "$work"/*.buildinfo

jobs=${DV_JOBS:-$(nproc)}
log "dpkg-buildpackage (-j$jobs, log in $work/build.log)"
# -nc keeps obj-*/ from the last build; noddebs: no -dbgsym package next to the .deb.
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=$jobs" \
    dpkg-buildpackage -b -nc --no-sign) >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    die "dpkg-buildpackage failed (full log: $work/build.log)"
fi
[ -f "$work/$deb_name" ] || die "dpkg-buildpackage made no $deb_name (log: $work/build.log)"
cp "$work/$deb_name" "$out/$deb_name.tmp"
mv "$out/$deb_name.tmp" "$out/$deb_name"

if [ "$run_lintian" = 1 ]; then
    log "lintian $out/$deb_name"
    lintian --fail-on error --display-info "$out/$deb_name" >&2 || die "lintian reports errors"
fi
echo "$out/$deb_name"
