#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with the Swift toolchain lacks: the C libraries
# (libmicrohttpd, libpq, jansson, and GnuTLS for HTTPS), PostgreSQL (for the embedded database and
# the tests), PgBouncer (for the transaction pooling test) and the tools the tests use (openssl
# makes their certificates, curl is a real HTTPS client). With `--tests` also Chromium, which the
# dashboard's browser test drives (the server itself does not need it).
set -euo pipefail

packages=(
    libmicrohttpd-dev libgnutls28-dev libpq-dev libjansson-dev pkg-config postgresql pgbouncer
    python3 python3-venv util-linux openssl ca-certificates curl
)
[[ ${1:-} == --tests ]] && packages+=(chromium)
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
# Debian's postgresql package starts a system cluster, and pgbouncer a system pooler on port 6432;
# TaskDispatch runs its own cluster, and its PgBouncer test its own pooler, and needs neither.
command -v swift >/dev/null || { echo "the Swift toolchain is required (swift not on PATH)" >&2; exit 1; }
