#!/usr/bin/env bash
# Installs what postern needs and builds it. Idempotent: a warm machine passes through in
# about a second. Debian packages only when a tool is missing and we are root; npm packages
# from the lock file; then tsc.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package that provides it
declare -A need=(
  [nft]=nftables
  [ip]=iproute2
  [kinit]=krb5-user
  [krb5kdc]=krb5-kdc
  [kadmin.local]=krb5-admin-server
  [dig]=dnsutils
  [nsupdate]=dnsutils
  [tcpdump]=tcpdump
  [iperf3]=iperf3
  [ethtool]=ethtool
  [ping]=iputils-ping
  [samba-tool]=samba
  [winbindd]=samba-ad-dc
  [swanctl]=strongswan-swanctl
  [openssl]=openssl
  [smbclient]=smbclient
  [ldbsearch]=ldb-tools
  [faketime]=faketime
  [chromium]=chromium
  [promtool]=prometheus
)
# packages that install no program on the PATH: a file or directory that proves they are there
declare -A need_path=(
  [/usr/share/samba/setup/ad-schema]=samba-ad-provision
  [/usr/lib/ipsec/charon]=strongswan-charon
  [/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so]=libcharon-extra-plugins
  [/usr/lib/ipsec/plugins/libstrongswan-openssl.so]=libstrongswan-standard-plugins
  [/usr/share/doc/python3-impacket/examples/getST.py]=python3-impacket
)
missing=()
for tool in "${!need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${need[$tool]}")
done
for path in "${!need_path[@]}"; do
  [ -e "$path" ] || missing+=("${need_path[$path]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: warning: missing Debian packages (${missing[*]}); run as root to install them" >&2
  fi
fi

stamp=node_modules/.postern-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

echo "setup: building (tsc)"
npx tsc -p tsconfig.json
