#!/usr/bin/env bash
# Installs Debian's nats-server (2.9.10 on bookworm) for the cluster-mode tests, which start their
# own servers on random ports (it does not run as a service in containers). Idempotent: does
# nothing when nats-server is already on PATH (or STINGRAY_NATS_SERVER names one). A non-root user
# without it gets a warning here and a clear failure from the cluster tests, not a silent skip.
set -euo pipefail

NATS="${STINGRAY_NATS_SERVER:-nats-server}"
if command -v "$NATS" >/dev/null 2>&1 && "$NATS" --version >/dev/null 2>&1; then
  exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
  echo "install-nats: nats-server is missing and only root may run apt-get;" \
       "run 'sudo apt-get install -y nats-server' (or set STINGRAY_NATS_SERVER); the cluster tests will fail until then" >&2
  exit 0
fi

echo "install-nats: installing Debian nats-server with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends nats-server >&2
# The package enables a systemd unit; containers have no systemd, and tests start their own servers.

if ! nats-server --version >/dev/null 2>&1; then
  echo "install-nats: nats-server was installed but does not run" >&2
  exit 1
fi
