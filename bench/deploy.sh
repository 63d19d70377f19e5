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
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }
[ -f "$root/dist/cli/main.js" ] || { echo "dist/ is missing: run npm run build:ts in $root" >&2; exit 1; }
for b in berth-runtime berth-fsutil; do
  [ -x "$root/native/build/$b" ] || { echo "native/build/$b is missing: run make -C native" >&2; exit 1; }
done
# Short: <run root>/<64-hex id>/attach.sock must fit a unix socket path (107 bytes).
work=$(mktemp -d /tmp/bdp.XXXXXX)
chmod 711 "$work"
cleanup() {
  for id in $("$root/native/build/berth-runtime" --root "$work/r" list -q 2>/dev/null || true); do
    "$root/native/build/berth-runtime" --root "$work/r" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/deploy.ts "$work"
