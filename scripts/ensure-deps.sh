#!/usr/bin/env bash
# Makes `npm test` and `npm run demo` work on a fresh clone: installs dependencies with `npm ci` when
# node_modules is missing or older than package-lock.json. Quiet when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  echo "[alignda] installing dependencies (npm ci) ..." >&2
  npm ci --no-audit --no-fund >&2
fi
