#!/usr/bin/env bash
# `npm test`: every check, on a fresh machine of this kind as on a prepared one. Installs what is
# missing (npm packages, clamd, Ceph RGW, Chromium), then lint, type-check, unit + integration tests
# (real PostgreSQL, Redis, clamd, S3) and the browser end-to-end tests. Each test run uses its own
# database and Redis key prefix and removes them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh
step "services (clamd, Ceph RGW, Chromium)"
bash scripts/services.sh start
step "lint (biome)"
npx biome ci .
step "typecheck (server code, admin SPA, e2e)"
npm run -s typecheck
step "unit + integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json
step "end-to-end tests (Playwright, Chromium)"
npm run -s test -w @airlock/e2e

node scripts/test-summary.mjs
