#!/usr/bin/env bash
# The README's test command: system packages (as root), install + build, then the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
npm ci --no-audit --no-fund
npm test
