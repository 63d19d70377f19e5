#!/usr/bin/env bash
# Dockerfile builds: Berth's builder against buildah bud on the same Dockerfiles and base
# (cold build, no-change rebuild, rebuild after one changed file, the cost of one RUN step).
# Method in bench/README.md; the body is bench/build.ts.
#   sudo bash bench/build.sh        (after npm ci and make -C native)
# Environment: RUNS (default 3), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/build.sh" >&2; exit 1; }
missing=()
for need in buildah:buildah runc:runc; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need##*:}")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
. "$root/bench/lib.sh"
bench_require_built
bench_work bbb
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/build.ts "$work"
