#!/bin/sh
# Installs the Debian packages the test suite needs, only when they are missing.
# The list grows as suites need real parts (chromium for browser tests, coturn, redis-server, nginx).
set -eu
# "command:debian-package" pairs.
required="chromium:chromium turnserver:coturn redis-server:redis-server redis-cli:redis-tools nginx:nginx ip:iproute2 iptables:iptables openssl:openssl systemd-analyze:systemd strace:strace logrotate:logrotate nft:nftables pgrep:procps"
need=""
for pair in $required; do
  bin=${pair%%:*}; pkg=${pair#*:}
  # A Chromium given by CHROMIUM_PATH (as the tests accept) needs no package.
  [ "$bin" = chromium ] && [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ] && continue
  command -v "$bin" >/dev/null 2>&1 || need="$need $pkg"
done
[ -z "$need" ] && exit 0
echo "p2p-call: the tests need these Debian packages:$need"
if [ "$(id -u)" != 0 ]; then
  echo "p2p-call: run as root, or install them yourself: sudo apt-get install -y$need" >&2
  exit 1
fi
echo "p2p-call: installing them with apt-get (one time)..."
# A mirror that hiccups once should not fail the run: apt retries each download itself.
apt-get -o Acquire::Retries=5 update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 install -y -qq $need
