#!/usr/bin/env bash
# Buildpack builds: a Procfile-only app end to end (goal <= 1.5 s), where its time goes, and the
# slug layer's size and write time. Body: bench/buildpacks.ts.
#   sudo bash bench/buildpacks.sh        (after npm ci and make -C native)
# Environment: RUNS (default 5), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/buildpacks.sh" >&2; exit 1; }
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }
for b in berth-runtime berth-fsutil; do
  [ -x "$root/native/build/$b" ] || { echo "native/build/$b is missing: run make -C native" >&2; exit 1; }
done
# Short: <run root>/<64-hex id>/attach.sock must fit a unix socket path (107 bytes).
work=$(mktemp -d /tmp/bbp.XXXXXX)
chmod 711 "$work"
cleanup() {
  for id in $("$root/native/build/berth-runtime" --root "$work/r" list -q 2>/dev/null || true); do
    "$root/native/build/berth-runtime" --root "$work/r" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$root"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg) "$node" --import tsx bench/buildpacks.ts "$work"
