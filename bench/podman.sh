#!/usr/bin/env bash
# berth-runtime as podman's OCI runtime: `podman --runtime R run --rm --network none busybox
# true` with R = berth-runtime, crun and runc, in one run. Prints median and p95 and the
# ratios to crun and runc.
#   sudo bash bench/podman.sh [RUNS]     (default 20; after make -C native)
# Environment: WARMUP (default 3), KEEP=1 keeps the temp dir, BERTH_RUNTIME=FILE times
# another berth-runtime binary.
#
# Method (bench/README.md):
# - A private podman: storage, run root, temp dir, network config and containers.conf
#   (cgroupfs, events in a file, rlimits under the hard limits) under one temp dir; the
#   image is a tarball of the static busybox, `podman import`ed. `--network none`, so the
#   rows time podman, conmon and the runtime, not netavark.
# - Rows timed round robin (every row once per round, WARMUP rounds first), reading
#   $EPOCHREALTIME around each command, so that a change of load on a shared machine falls on
#   every row alike.
# - On hybrid cgroups (a cgroup2 at /sys/fs/cgroup/unified beside v1), crun 1.8.1 refuses to
#   run: the whole podman command then runs in a private mount namespace with a tmpfs over
#   that mount (unshare -m), as bench/runtime.sh does for crun alone. berth-runtime and runc
#   are timed both ways: plain, and in the same wrapper, so that the ratio to crun compares
#   like with like; the wrapper alone is a row of its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
warmup=${WARMUP:-3}
berth=${BERTH_RUNTIME:-$root/native/build/berth-runtime}
node="$root/node_modules/.bin/node"

[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/podman.sh" >&2; exit 1; }
missing=()
for need in podman:podman conmon:conmon crun:crun runc:runc unshare:util-linux; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need##*:}")
done
ldd_says=$(ldd /bin/busybox 2>&1 || true)
[[ -x /bin/busybox && $ldd_says == *"not a dynamic executable"* ]] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[ -x "$berth" ] || { echo "$berth is missing: run make -C native" >&2; exit 1; }
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/berth-bench-podman.XXXXXX)
chmod 711 "$work"
# A copy of the binary: a rebuild meanwhile cannot change what is timed.
cp "$berth" "$work/berth-runtime"
berth=$work/berth-runtime

hard() { local h; h=$(ulimit "-H$1"); [ "$h" = unlimited ] && echo "$2" || echo $((h < $2 ? h : $2)); }
nofile=$(hard n 1024)
nproc=$(hard u 4096)
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
[network]
network_config_dir = "$work/networks"
EOF
export CONTAINERS_CONF="$work/containers.conf"
podman_args=(--root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmp")

hybrid=no
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || true)" = cgroup2fs ] &&
  [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)" = tmpfs ]; then
  hybrid=yes
fi
cat > "$work/hybrid-wrap" <<'EOF'
#!/bin/sh
# Hide the hybrid cgroup2 mount in this (private) mount namespace, then run the command.
mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"
EOF
chmod 755 "$work/hybrid-wrap"

cleanup() {
  local r point
  for r in "$berth" "$(command -v runc)" "$(command -v crun)"; do podman "${podman_args[@]}" --runtime "$r" rm --all --force --time 0 >/dev/null 2>&1 || true; done
  for point in $(awk -v d="$work" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$point" 2>/dev/null || true
  done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- the image: the static busybox as /bin/true (and sh), imported from a tarball

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sh"
echo 'root:x:0:0:root:/:/bin/sh' > "$work/rootfs/etc/passwd"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
image=localhost/berth-bench-busybox:latest
podman "${podman_args[@]}" import "$work/busybox.tar" "$image" > /dev/null 2> "$work/import.err" ||
  { echo "podman import failed: $(head -n 3 "$work/import.err")" >&2; exit 1; }

# ---- statistics: median and p95 (nearest rank) of a file of microseconds, in ms

stats_ms() { # FILE -> "median p95"
  "$node" - "$1" <<'EOF'
const fs = require('node:fs');
const ms = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((us) => Number(us) / 1000).sort((a, b) => a - b);
const rank = (p) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))];
console.log(`${rank(0.5).toFixed(1)} ${rank(0.95).toFixed(1)}`);
EOF
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
first_line() { grep -m 1 -v '^[[:space:]]*$' "$1" 2>/dev/null | cut -c1-160 || true; }
us() { local t=${1/./}; echo $((10#$t)); } # "1700000000.123456" -> microseconds

declare -A median p95 failed cmds
names=()

add_row() { # NAME COMMAND...: a row, if one run exits 0 and prints nothing
  local name=$1 cmd; shift
  echo "checking $name" >&2
  if ! "$@" < /dev/null > "$work/$name.out" 2> "$work/$name.err" || [ -s "$work/$name.out" ]; then
    failed[$name]="FAILED ($(first_line "$work/$name.err"))"
    return
  fi
  printf -v cmd '%q ' "$@"
  cmds[$name]=$cmd
  names+=("$name")
  : > "$work/$name.us"
}

run_args=(run --rm --network none "$image" true)
runc=$(command -v runc)
crun=$(command -v crun)
wrap=(unshare -m "$work/hybrid-wrap")

add_row berth-runtime podman "${podman_args[@]}" --runtime "$berth" "${run_args[@]}"
add_row runc podman "${podman_args[@]}" --runtime "$runc" "${run_args[@]}"
if [ "$hybrid" = yes ]; then
  add_row crun "${wrap[@]}" podman "${podman_args[@]}" --runtime "$crun" "${run_args[@]}"
  add_row berth-runtime-wrapped "${wrap[@]}" podman "${podman_args[@]}" --runtime "$berth" "${run_args[@]}"
  add_row runc-wrapped "${wrap[@]}" podman "${podman_args[@]}" --runtime "$runc" "${run_args[@]}"
  add_row wrapper "${wrap[@]}" /bin/true
else
  add_row crun podman "${podman_args[@]}" --runtime "$crun" "${run_args[@]}"
fi

# Round robin: every row once per round, so that a change of load on this shared machine
# falls on all rows alike.
for i in $(seq 1 $((warmup + runs))); do
  echo "round $i of $((warmup + runs))" >&2
  for name in "${names[@]}"; do
    [ -n "${failed[$name]:-}" ] && continue
    t0=$EPOCHREALTIME
    if ! eval "${cmds[$name]}" < /dev/null > /dev/null 2> "$work/$name.err"; then
      failed[$name]="FAILED in round $i ($(first_line "$work/$name.err"))"
      continue
    fi
    t1=$EPOCHREALTIME
    if [ "$i" -gt "$warmup" ]; then echo $(($(us "$t1") - $(us "$t0"))) >> "$work/$name.us"; fi
  done
done
for name in "${names[@]}"; do
  if [ -z "${failed[$name]:-}" ]; then read -r "median[$name]" "p95[$name]" < <(stats_ms "$work/$name.us"); fi
done

# ---- the table

echo
echo "$(podman --version); $(conmon --version | head -n 1); $("$berth" --version | head -n 1); $(crun --version | head -n 1); $(runc --version | head -n 1)"
echo "kernel $(uname -r), $(nproc) cores; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg); cgroups hybrid: $hybrid"
echo "podman ${run_args[*]} (busybox image, podman's default seccomp profile and capabilities); $runs rounds after $warmup warm-up"
[ "$hybrid" = yes ] && echo "wrapped: unshare -m + a tmpfs over /sys/fs/cgroup/unified around podman (crun 1.8.1 needs it here)"
echo
printf '%-34s %10s %10s %10s %10s\n' "podman run --rm ... true" "median ms" "p95 ms" "x crun" "x runc"
row() { # NAME LABEL CRUN-ROW RUNC-ROW
  if [ -n "${failed[$1]:-}" ]; then
    printf '%-34s %s\n' "$2" "${failed[$1]}"
  else
    printf '%-34s %10s %10s %10s %10s\n' "$2" "${median[$1]}" "${p95[$1]}" "$(ratio "${median[$1]}" "${median[$3]:-}")" "$(ratio "${median[$1]}" "${median[$4]:-}")"
  fi
}
if [ "$hybrid" = yes ]; then
  row berth-runtime "berth-runtime" none runc
  row runc "runc" none runc
  row berth-runtime-wrapped "berth-runtime (wrapped)" crun runc-wrapped
  row crun "crun (wrapped)" crun runc-wrapped
  row runc-wrapped "runc (wrapped)" crun runc-wrapped
  row wrapper "the wrapper alone (/bin/true)" none none
else
  row berth-runtime "berth-runtime" crun runc
  row crun "crun" crun runc
  row runc "runc" crun runc
fi
