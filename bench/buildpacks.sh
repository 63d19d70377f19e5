#!/usr/bin/env bash
# Buildpack builds: a Procfile-only app end to end (goal <= 1.5 s), where its time goes, and the
# slug layer's size and write time. Body: bench/buildpacks.ts.
#   sudo bash bench/buildpacks.sh        (after npm ci and make -C native)
# Environment: RUNS (default 5), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/buildpacks.sh" >&2; exit 1; }
. "$root/bench/lib.sh"
bench_require_built
bench_work bbp
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/buildpacks.ts "$work"
