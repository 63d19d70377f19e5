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
. "$root/bench/lib.sh"
bench_require_built
bench_work bbn
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/buildpacks-node.ts "$work"
