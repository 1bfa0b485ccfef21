#!/bin/sh
# Roles of the one image: api, worker, migrate, or cli <args>.
set -e
case "$1" in
  api) exec node dist/apps/api/main.js ;;
  # WORKER_NODE_FLAGS (libs/config/src/process-flags.ts): a bounded heap, unless NODE_OPTIONS says otherwise.
  worker) NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=160}" exec node dist/apps/worker/main.js ;;
  migrate) exec node dist/apps/cli/main.js migration run ;;
  cli) shift; exec node dist/apps/cli/main.js "$@" ;;
  *) exec "$@" ;;
esac
