#!/usr/bin/env bash
# Buildpack builds of a Node.js app (test/fixtures/apps/node: express and ms from the npm
# registry, a build script, a devDependency): cold (fresh CACHE_DIR: Node.js, npm and every
# package downloaded), warm (the same source again: goal >= 5x faster than cold), and after
# one changed source file. Method in bench/README.md; the body is bench/buildpacks-node.ts.
#   sudo bash bench/buildpacks-node.sh        (after npm ci and make -C native)
# Environment: RUNS (default 2; each cold run downloads Node.js, ~57 MB), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/buildpacks-node.sh" >&2; exit 1; }
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }
for b in berth-runtime berth-fsutil; do
  [ -x "$root/native/build/$b" ] || { echo "native/build/$b is missing: run make -C native" >&2; exit 1; }
done
# Short: <run root>/<64-hex id>/attach.sock must fit a unix socket path (107 bytes).
work=$(mktemp -d /tmp/bbn.XXXXXX)
chmod 711 "$work"
cleanup() {
  for id in $("$root/native/build/berth-runtime" --root "$work/r" list -q 2>/dev/null || true); do
    "$root/native/build/berth-runtime" --root "$work/r" delete --force "$id" >/dev/null 2>&1 || true
  done
  "$root/native/build/berth-runtime" --root "$work/r" network rm --force "$(cat "$work/network" 2>/dev/null || echo none)" >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/buildpacks-node.ts "$work"
