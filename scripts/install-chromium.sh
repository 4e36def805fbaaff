#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's headless-browser test (playwright-core drives it
# at /usr/bin/chromium; playwright's own browser download is not used, so the test works with
# only the Debian mirror reachable). Idempotent: does nothing when chromium already runs.
# Only root may use apt; anyone else gets a clear message and a non-zero exit.
set -euo pipefail

CHROMIUM="${STINGRAY_CHROMIUM:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
  exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
  echo "install-chromium: $CHROMIUM is missing and only root may run apt-get;" \
       "run 'sudo apt-get install -y chromium' or set STINGRAY_CHROMIUM to a chromium binary" >&2
  exit 1
fi

echo "install-chromium: installing Debian chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Other setup steps may hold the dpkg lock (e.g. installing python3-torch): wait for it.
apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2

if ! "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
  echo "install-chromium: $CHROMIUM was installed but does not run" >&2
  exit 1
fi
