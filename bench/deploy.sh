#!/usr/bin/env bash
# Push-to-live through the real daemon: a Procfile-only app and a small Dockerfile app pushed
# with git over HTTP, each stage's time, failed requests during a redeploy under load, and
# memory with many apps deployed. Method in bench/README.md; the body is bench/deploy.ts.
#   sudo bash bench/deploy.sh        (after npm ci, npm run build:ts and make -C native)
# Environment: RUNS (redeploys per app, default 5), APPS (apps for the memory figures,
# default 20), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/deploy.sh" >&2; exit 1; }
missing=()
for need in git:git redis-server:redis-server nginx:nginx; do
  command -v "${need%%:*}" >/dev/null || [ -x "/usr/sbin/${need%%:*}" ] || missing+=("${need##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
. "$root/bench/lib.sh"
bench_require_built
[ -f "$root/dist/cli/main.js" ] || { echo "dist/ is missing: run npm run build:ts in $root" >&2; exit 1; }
bench_work bdp
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/deploy.ts "$work"
