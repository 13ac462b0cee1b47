#!/usr/bin/env bash
# setup.sh - install what nullsweep's build, tests and lab need (Debian/Ubuntu).
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

# qemu-user-static runs the decoder tests built for 32-bit ARM (test.sh).
PKGS=(samba samba-ad-dc smbclient samba-common-bin winbind python3-samba libnss-wrapper
  python3-impacket ldap-utils nmap hyperfine iproute2 util-linux tshark
  chromium qemu-user-static)

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do
  grep -qx "$p installed" <<<"$installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  # The lab runs its own Samba servers on loopback; a distro smbd started by
  # the package on 0.0.0.0:445 would shadow them. policy-rc.d (exit 101 =
  # "action forbidden") keeps apt from starting any service, just for now.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[ -z "$own_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go >= 1.26 (go.mod says so; we do not install it).
if ! command -v go >/dev/null; then
  echo "setup: Go not found; install Go 1.26 or newer and put it on PATH" >&2
  exit 1
fi
v=$(go env GOVERSION)          # e.g. go1.26.8
v=${v#go}
major=${v%%.*} rest=${v#*.}
minor=${rest%%[!0-9]*}
if [ "$major" -lt 1 ] || { [ "$major" = 1 ] && [ "${minor:-0}" -lt 26 ]; }; then
  echo "setup: Go $v is too old; need 1.26 or newer" >&2
  exit 1
fi

go mod download
