#!/usr/bin/env bash
# `npm start`: everything a fresh machine needs to run Airlock on the embedded defaults — install,
# database + migrations, the first admin (its key printed once), the admin SPA build, then the API
# (which serves the SPA on the same port) and the worker, until Ctrl-C.
#   npm start            production-like build of the SPA, served by the API at http://localhost:3000
#   npm run dev          the same with the API/worker in watch mode and Vite's dev server for the SPA
set -euo pipefail
cd "$(dirname "$0")/.."
dev=false
[ "${1:-}" = "--dev" ] && dev=true

bash scripts/setup.sh
npm run -s db:migrate
npm run -s airlock -- bootstrap

pids=()
watcher=""
cleanup() {
  trap - INT TERM EXIT
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT
# npm 11 ends on SIGTERM without passing it on (its `sh -c` dies and this script is re-parented), so a
# service manager or `timeout` stopping `npm start` would leave the API and worker running: when the
# process that started us is gone, stop as if we had been told to. (`ps -p`, not `kill -0`: a parent of
# another user answers EPERM to kill.)
parent=$PPID
(while ps -p "$parent" >/dev/null 2>&1; do sleep 1; done; kill -TERM $$ 2>/dev/null) &
watcher=$!

# API and worker run from the repository root, so relative paths (DATA_DIR, ADMIN_DIST_DIR) name the
# same folders for both.
tsx=node_modules/.bin/tsx
# Storage and cleanup are file-system bound; libuv's default of 4 threads halved cleanup throughput.
export UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-16}"
if $dev; then
  CORS_ORIGINS="${CORS_ORIGINS:-http://localhost:5173}" "$tsx" watch apps/api/src/main.ts & pids+=($!)
  "$tsx" watch apps/worker/src/main.ts & pids+=($!)
  npm run -s dev -w @airlock/admin & pids+=($!)
else
  npm run -s build -w @airlock/admin
  "$tsx" apps/api/src/main.ts & pids+=($!)
  "$tsx" apps/worker/src/main.ts & pids+=($!)
fi
# Stop everything as soon as one process exits, so a crash is never half-hidden.
wait -n
