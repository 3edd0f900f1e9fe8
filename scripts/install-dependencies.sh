#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with the Swift toolchain lacks: the three C libraries,
# PostgreSQL (for the embedded database and the tests) and the tools the test script uses.
set -euo pipefail

packages=(libmicrohttpd-dev libpq-dev libjansson-dev pkg-config postgresql python3 python3-venv util-linux)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's postgresql package starts a system cluster; TaskDispatch runs its own and needs none.
command -v swift >/dev/null || { echo "the Swift toolchain is required (swift not on PATH)" >&2; exit 1; }
