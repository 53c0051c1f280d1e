#!/usr/bin/env bash
# The one command that runs moat's whole test suite on a fresh Debian/Ubuntu machine:
# installs the system packages the tests drive for real (as root), installs and builds
# the project, then runs `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(nftables iptables ipset openssh-server openssh-client sshpass tmux
          systemd-journal-remote systemd mandoc groff-base man-db iproute2 python3 coreutils)
if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "note: not root; namespace, firewall and sshd tests need root" >&2
fi

npm ci --no-audit --no-fund
npm test
