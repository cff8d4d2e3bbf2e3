#!/usr/bin/env bash
# Installs the PowerShell syntax checker used by drivers/hyperv's tests
# (TestScriptsSyntax): tree-sitter-powershell's wasm grammar under the
# web-tree-sitter runtime, pinned by package-lock.json. Needs node + npm
# (Debian: nodejs npm) and the npm registry. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null; then
  echo "psparse/setup.sh: npm not found; the PowerShell syntax test will skip" >&2
  exit 0
fi
if [[ -f node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm && -f node_modules/web-tree-sitter/tree-sitter.cjs ]]; then
  exit 0
fi
# --ignore-scripts: the grammar's install script would build a native
# node binding we do not use (we load its .wasm).
npm ci --ignore-scripts --no-audit --no-fund >&2
