#!/usr/bin/env bash
# Install every build, test and run dependency from Debian's archive. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
    build-essential cmake pkg-config git clang-format
    clang libclang-rt-14-dev # scripts/fuzz.sh: clang-14 and its libFuzzer/ASan runtimes
    libcurl4-openssl-dev libjansson-dev libsystemd-dev libmicrohttpd-dev libcmocka-dev zlib1g-dev
    docker.io docker-registry busybox-static apache2-utils
    systemd curl jq openssl iproute2 procps psmisc util-linux
    python3 # tests/lint/layering.py
    debootstrap systemd-container # scripts/systemd-node.sh: a real systemd as PID 1
    debhelper dpkg-dev lintian # scripts/package.sh, tests/integration/test_package.sh
    prometheus # promtool: tests/integration/test_metrics_prometheus.sh checks the exposition
)

missing=()
for p in "${packages[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
[ "$(id -u)" -eq 0 ] || { echo "install-deps: must run as root" >&2; exit 1; }
apt-get update -q
# --no-install-recommends keeps the install small; the listed set is complete on its own.
apt-get install -y -q --no-install-recommends "${missing[@]}"
