#!/usr/bin/env bash
# Installs the project's npm dependencies and generates the Prisma client, only when needed, so that
# `npm start` and `npm test` work on a fresh clone and cost nothing on a prepared one.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1 PRISMA_HIDE_UPDATE_MESSAGE=1

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi

generated=packages/db/src/generated/prisma/client.ts
if [ ! -f "$generated" ] || [ packages/db/prisma/schema.prisma -nt "$generated" ]; then
  echo "setup: generating the Prisma client" >&2
  npm run -s db:generate
fi
