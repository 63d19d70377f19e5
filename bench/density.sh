#!/usr/bin/env bash
# Density: N detached `sleep` containers under berth-runtime, then the same under crun.
# Prints the memory each container costs (MemAvailable before minus after, divided by N:
# kernel memory included, and for Berth its monitor process), the time to start them all
# and the time to delete them all.
#   sudo bash bench/density.sh [N]        (default N=1000; needs make -C native, crun, busybox-static)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
berth="$root/native/build/berth-runtime"
[ -x "$berth" ] || { echo "build first: make -C native" >&2; exit 1; }
for need in crun:crun busybox:busybox-static; do
  command -v "${need%%:*}" >/dev/null || { echo "missing ${need%%:*}: apt-get install -y ${need##*:}" >&2; exit 1; }
done

work=$(mktemp -d /tmp/berth-density.XXXXXX)
cleanup() {
  for r in "$work/berth-root" "$work/crun-root"; do
    [ -d "$r" ] || continue
    for id in $(ls "$r" 2>/dev/null); do
      if [ "$r" = "$work/berth-root" ]; then "$berth" --root "$r" delete --force "$id" >/dev/null 2>&1 || true
      else crun_cmd delete --force "$id" >/dev/null 2>&1 || true; fi
    done
  done
  rm -rf "$work"
}
crun_cmd() { unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup/unified && exec crun --root "$0" "$@"' "$work/crun-root" "$@"; }
trap cleanup EXIT

mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" "$work/bundle/rootfs/sys"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/sleep"
(cd "$work/bundle" && "$berth" spec)
sed -i 's/"readonly": true/"readonly": false/; s/"sh"$/"\/bin\/sleep", "3600"/; s/"ociVersion": "1.2.0"/"ociVersion": "1.0.2"/' "$work/bundle/config.json"
grep -q '"/bin/sleep"' "$work/bundle/config.json" || { echo "could not set args in config.json" >&2; exit 1; }

avail() { awk '/^MemAvailable/ {print $2}' /proc/meminfo; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

measure() { # name start-cmd delete-cmd
  local name=$1 before after t0 t1 t2 i
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  before=$(avail); t0=$(ms)
  for i in $(seq 1 "$n"); do $2 "d$i" >/dev/null; done
  t1=$(ms); sleep 2; after=$(avail)
  for i in $(seq 1 "$n"); do $3 "d$i" >/dev/null; done
  t2=$(ms)
  printf '%-14s %6d %14d %12d %12d\n' "$name" "$n" $(( (before - after) / n )) $((t1 - t0)) $((t2 - t1))
}
berth_start() { "$berth" --root "$work/berth-root" run -d --bundle "$work/bundle" "$1"; }
berth_delete() { "$berth" --root "$work/berth-root" delete --force "$1"; }
crun_start() { crun_cmd run -d --bundle "$work/bundle" "$1" </dev/null; }
crun_delete() { crun_cmd delete --force "$1"; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
printf '%-14s %6s %14s %12s %12s\n' runtime N "KiB/container" "start ms" "delete ms"
measure berth-runtime berth_start berth_delete
measure crun crun_start crun_delete
echo "(berth-runtime's figure includes its per-container monitor; crun has none: podman adds conmon)"
