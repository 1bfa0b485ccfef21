#!/bin/sh
# Roles of the one image: api, worker, migrate, or cli <args>.
set -e
case "$1" in
  api) exec node dist/apps/api/main.js ;;
  worker) exec node dist/apps/worker/main.js ;;
  migrate) exec node dist/apps/cli/main.js migration run ;;
  cli) shift; exec node dist/apps/cli/main.js "$@" ;;
  *) exec "$@" ;;
esac
