#!/usr/bin/env bash
# Images: import + unpack of an image archive against `umoci unpack`; pull from a loopback
# docker-registry against `skopeo copy`; container start on
# unpacked overlay layers against a plain directory; disk used by two images sharing a base
# against the sum of each alone. Method in bench/README.md; the body is bench/images.ts.
#   sudo bash bench/images.sh        (after npm ci and make -C native)
# Environment: RUNS (default 3), START_RUNS (default 20), BENCH_TREE (directories under /
# that make the big layer, default "usr/lib/python3 usr/share/doc"), KEEP=1 keeps the work dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/images.sh" >&2; exit 1; }
missing=()
for need in umoci:umoci skopeo:skopeo docker-registry:docker-registry tar:tar du:coreutils; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need##*:}")
done
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }
for b in berth-runtime berth-fsutil; do
  [ -x "$root/native/build/$b" ] || { echo "native/build/$b is missing: run make -C native" >&2; exit 1; }
done
work=$(mktemp -d /tmp/berth-bench-images.XXXXXX)
chmod 711 "$work"
cleanup() {
  for id in $("$root/native/build/berth-runtime" --root "$work/state" list -q 2>/dev/null || true); do
    "$root/native/build/berth-runtime" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$root"
"$node" --import tsx bench/images.ts "$work"
