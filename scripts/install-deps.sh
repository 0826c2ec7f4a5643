#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing Starling needs.
# Skips apt entirely when every package is already installed.
set -euo pipefail

build_packages=(
  cmake ninja-build g++ ccache pkg-config openssl
  libcaf-dev libexpat1-dev liblmdb-dev libssl-dev libidn-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
)
test_packages=(
  libboost-test-dev clang libclang-rt-14-dev lmdb-utils
  python3 python3-slixmpp go-sendxmpp sendxmpp
  libstrophe-dev profanity tmux tsung
)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "installing Debian packages: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
