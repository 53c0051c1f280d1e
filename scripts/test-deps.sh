#!/usr/bin/env bash
# Installs the system packages the tests drive for real (as root; otherwise only reports).
set -euo pipefail
packages=(nftables iptables ipset openssh-server openssh-client sshpass tmux
          systemd-journal-remote systemd mandoc groff-base man-db iproute2 python3 coreutils)
if [ "$(id -u)" != 0 ]; then
  echo "note: not root; namespace, firewall and sshd tests need root" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
