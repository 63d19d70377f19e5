#!/usr/bin/env bash
# Container start cost: `run` of /bin/true under berth-runtime, crun and runc, on one bundle,
# with `unshare` of the same namespaces as the floor; then create, start and delete timed
# apart. Prints median and p95 and the ratio to crun and to the floor.
#   sudo bash bench/runtime.sh [RUNS]     (default 100; after make -C native)
# Environment: WARMUP (default 10), SPLIT_RUNS (default 50), KEEP=1 keeps the temp dir,
# BERTH_RUNTIME=FILE times another berth-runtime binary.
#
# Method (bench/README.md):
# - `run`: hyperfine -N (no shell in between), one invocation per row, --export-json; the
#   same container id every time, since `run` deletes its container when the program ends
#   (checked before timing: `state ID` must fail after one run).
# - create/start/delete: a bash loop reading $EPOCHREALTIME (a builtin: no fork of `date`
#   inside the timed span), a fresh id per iteration; between start and delete it waits,
#   untimed, for the state to say "stopped", so delete never needs --force.
# - On hybrid cgroups (a cgroup2 at /sys/fs/cgroup/unified beside v1), crun 1.8.1 refuses
#   to run: each crun call runs in a private mount namespace with a tmpfs over that mount
#   (a plain umount would make crun leave hidden directories on the host). The row
#   "crun's wrapper alone" times that wrapper around /bin/true, to subtract by eye.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-100}
warmup=${WARMUP:-10}
split_runs=${SPLIT_RUNS:-50}
berth=${BERTH_RUNTIME:-$root/native/build/berth-runtime}
node="$root/node_modules/.bin/node"

[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/runtime.sh" >&2; exit 1; }
missing=()
for need in crun:crun runc:runc hyperfine:hyperfine unshare:util-linux; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need##*:}")
done
ldd_says=$(ldd /bin/busybox 2>&1 || true)
[[ -x /bin/busybox && $ldd_says == *"not a dynamic executable"* ]] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/berth-bench-runtime.XXXXXX)
chmod 711 "$work"
bundle="$work/bundle"
rootfs="$bundle/rootfs"
id=bench

# ---- the runtimes, each with its own state root: `<name>_cli ARGS...`

berth_cli() { "$berth" --root "$work/berth-root" "$@"; }
runc_cli() { runc --root "$work/runc-root" "$@"; }
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
crun_prefix=(crun --root "$work/crun-root")
[ "$hybrid" = yes ] && crun_prefix=(unshare -m "$work/hybrid-wrap" "${crun_prefix[@]}")
crun_cli() { "${crun_prefix[@]}" "$@"; }

cleanup() {
  local name c
  for name in berth runc crun; do
    [ -d "$work/$name-root" ] || continue
    for c in $(ls "$work/$name-root" 2>/dev/null); do "${name}_cli" delete --force "$c" >/dev/null 2>&1 || true; done
  done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- one bundle for everyone: static busybox as /bin/true

mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
if [ -x "$berth" ] && "$berth" spec --bundle "$bundle" 2> "$work/spec.err"; then
  base="berth-runtime spec"
else
  # Without a working berth-runtime: runc's default, minus what berth-runtime refuses
  # (capabilities, masked/read-only paths, resources), which the edit below removes.
  base="runc spec (berth-runtime spec failed: $(head -n 1 "$work/spec.err" 2>/dev/null || echo "$berth missing"))"
  rm -f "$bundle/config.json"
  runc spec --bundle "$bundle"
fi
"$node" - "$bundle/config.json" <<'EOF'
const fs = require('node:fs');
const file = process.argv[2];
const c = JSON.parse(fs.readFileSync(file, 'utf8'));
c.ociVersion = '1.0.2'; // crun 1.8.1 knows runtime-spec up to 1.1
c.process.args = ['/bin/true'];
c.process.terminal = false;
delete c.process.consoleSize;
delete c.process.capabilities;
c.root = { path: 'rootfs', readonly: false };
c.linux = c.linux ?? {};
c.linux.namespaces = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type }));
for (const k of ['maskedPaths', 'readonlyPaths', 'resources', 'seccomp', 'devices', 'uidMappings', 'gidMappings']) delete c.linux[k];
delete c.annotations;
fs.writeFileSync(file, JSON.stringify(c, null, 2) + '\n');
EOF

# ---- statistics: median and p95 (nearest rank) of numbers, in ms

stats_ms() { # FILE (JSON: hyperfine export, or an array of ms) -> "median p95"
  "$node" - "$1" <<'EOF'
const fs = require('node:fs');
const data = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ms = (Array.isArray(data) ? data : data.results[0].times.map((s) => s * 1000)).sort((a, b) => a - b);
const rank = (p) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))];
console.log(`${rank(0.5).toFixed(2)} ${rank(0.95).toFixed(2)}`);
EOF
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
first_line() { grep -m 1 -v '^[[:space:]]*$' "$1" 2>/dev/null | cut -c1-160 || true; }

declare -A median p95 failed

# ---- run: hyperfine

# A runtime row: check one run works and leaves nothing behind, then time it.
time_run() { # NAME CLI-FUNCTION (or "" for a plain command) COMMAND...
  local name=$1 cli=$2; shift 2
  echo "timing $name: $*" >&2
  if ! "$@" < /dev/null > "$work/$name.out" 2> "$work/$name.err"; then
    failed[$name]="FAILED ($(first_line "$work/$name.err"))"
    return
  fi
  if [ -n "$cli" ] && "$cli" state "$id" > /dev/null 2>&1; then
    failed[$name]="FAILED (run left container $id behind)"
    "$cli" delete --force "$id" > /dev/null 2>&1 || true
    return
  fi
  local cmd
  printf -v cmd '%q ' "$@"
  if ! hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$work/$name.json" --command-name "$name" "$cmd" \
    > "$work/$name.hyperfine" 2>&1; then
    failed[$name]="FAILED (hyperfine: $(grep -m 1 -i 'error' "$work/$name.hyperfine" | cut -c1-160 || true))"
    [ -n "$cli" ] && "$cli" delete --force "$id" > /dev/null 2>&1 || true
    return
  fi
  read -r "median[$name]" "p95[$name]" < <(stats_ms "$work/$name.json")
}

# The full defaults: berth-runtime spec as it is (Docker's capabilities, seccomp profile,
# masked and read-only paths, device rules, no_new_privs), plus a user namespace and
# memory, CPU and pids limits, the same file for every runtime. berth-runtime maps the
# root with an idmapped mount; crun and runc run it unmapped (/bin/true is world-executable),
# which costs them less.
full="$work/bundle-full"
mkdir -p "$full"
if [ "$base" = "berth-runtime spec" ]; then
  "$berth" spec --bundle "$full"
  "$node" - "$full/config.json" "$rootfs" <<'EOF'
const fs = require('node:fs');
const [file, rootfs] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(file, 'utf8'));
c.ociVersion = '1.0.2';
c.process.args = ['/bin/true'];
c.process.terminal = false;
delete c.process.consoleSize;
c.root = { path: rootfs, readonly: true };
c.linux.namespaces.push({ type: 'user' });
c.linux.uidMappings = [{ containerID: 0, hostID: 900000, size: 65536 }];
c.linux.gidMappings = [{ containerID: 0, hostID: 900000, size: 65536 }];
c.linux.resources.memory = { limit: 256 * 1024 * 1024, swap: 256 * 1024 * 1024 };
c.linux.resources.cpu = { shares: 1024, quota: 100000, period: 100000 };
c.linux.resources.pids = { limit: 1024 };
fs.writeFileSync(file, JSON.stringify(c, null, 2) + '\n');
EOF
fi

ns_flags=(--fork --pid --mount --uts --ipc --net --cgroup)
time_run floor "" unshare "${ns_flags[@]}" "$rootfs/bin/true"
time_run berth-runtime berth_cli "$berth" --root "$work/berth-root" run --bundle "$bundle" "$id"
time_run crun crun_cli "${crun_prefix[@]}" run --bundle "$bundle" "$id"
time_run runc runc_cli runc --root "$work/runc-root" run --bundle "$bundle" "$id"
[ "$hybrid" = yes ] && time_run crun-wrapper "" unshare -m "$work/hybrid-wrap" "$rootfs/bin/true"
if [ -f "$full/config.json" ]; then
  time_run berth-full berth_cli "$berth" --root "$work/berth-root" run --bundle "$full" "$id"
  time_run crun-full crun_cli "${crun_prefix[@]}" run --bundle "$full" "$id"
  time_run runc-full runc_cli runc --root "$work/runc-root" run --bundle "$full" "$id"
else
  failed[berth-full]="FAILED (no berth-runtime spec)"; failed[crun-full]=${failed[berth-full]}; failed[runc-full]=${failed[berth-full]}
fi

# ---- create / start / delete apart: a loop on $EPOCHREALTIME

us() { local t=${1/./}; echo $((10#$t)); } # "1700000000.123456" -> microseconds
wait_stopped() { # CLI ID: up to 5 s
  local i
  for i in $(seq 1 500); do
    [[ $("$1" state "$2" 2> /dev/null) =~ \"status\":\ *\"stopped\" ]] && return 0
    sleep 0.01
  done
  return 1
}

time_split() { # NAME CLI
  local name=$1 cli=$2 i c t0 t1 t2 t3 t4 phase err="$work/$1.split.err"
  echo "timing $name: create, start, delete" >&2
  : > "$work/$name.create.txt"; : > "$work/$name.start.txt"; : > "$work/$name.delete.txt"
  for i in $(seq 1 $((warmup + split_runs))); do
    c="split-$i"
    t0=$EPOCHREALTIME
    "$cli" create --bundle "$bundle" "$c" < /dev/null > /dev/null 2> "$err" || { failed[$name.split]="FAILED (create: $(first_line "$err"))"; break; }
    t1=$EPOCHREALTIME
    "$cli" start "$c" < /dev/null > /dev/null 2> "$err" || { failed[$name.split]="FAILED (start: $(first_line "$err"))"; break; }
    t2=$EPOCHREALTIME
    wait_stopped "$cli" "$c" || { failed[$name.split]="FAILED (not stopped 5 s after start)"; break; }
    t3=$EPOCHREALTIME
    "$cli" delete "$c" < /dev/null > /dev/null 2> "$err" || { failed[$name.split]="FAILED (delete: $(first_line "$err"))"; break; }
    t4=$EPOCHREALTIME
    if [ "$i" -gt "$warmup" ]; then
      echo $(($(us "$t1") - $(us "$t0"))) >> "$work/$name.create.txt"
      echo $(($(us "$t2") - $(us "$t1"))) >> "$work/$name.start.txt"
      echo $(($(us "$t4") - $(us "$t3"))) >> "$work/$name.delete.txt"
    fi
  done
  if [ -n "${failed[$name.split]:-}" ]; then
    "$cli" delete --force "$c" > /dev/null 2>&1 || true
    return
  fi
  for phase in create start delete; do
    awk 'BEGIN { printf "[" } { printf "%s%.3f", (NR > 1 ? "," : ""), $1 / 1000 } END { print "]" }' "$work/$name.$phase.txt" > "$work/$name.$phase.json"
    read -r "median[$name.$phase]" "p95[$name.$phase]" < <(stats_ms "$work/$name.$phase.json")
  done
}

time_split berth-runtime berth_cli
time_split crun crun_cli
time_split runc runc_cli

# ---- the table

echo
berth_version=$("$berth" --version 2> /dev/null | head -n 1 || true)
echo "${berth_version:-berth-runtime (no version: $berth)}; $(crun --version | head -n 1); $(runc --version | head -n 1); hyperfine $(hyperfine --version | cut -d' ' -f2)"
echo "kernel $(uname -r), $(nproc) cores; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg); cgroups hybrid: $hybrid"
echo "bundle: /bin/true (static busybox), config from $base;"
echo "        namespaces pid network ipc uts mount cgroup for every row; $runs runs after $warmup warm-up"
echo "floor: unshare ${ns_flags[*]} /bin/true"
echo
printf '%-34s %10s %10s %10s %10s\n' "run /bin/true" "median ms" "p95 ms" "x crun" "x floor"
row() { # NAME LABEL
  if [ -n "${failed[$1]:-}" ]; then printf '%s: %s\n' "$2" "${failed[$1]}"; return; fi
  printf '%-34s %10s %10s %10s %10s\n' "$2" "${median[$1]}" "${p95[$1]}" "$(ratio "${median[$1]}" "${median[crun]:-}")" "$(ratio "${median[$1]}" "${median[floor]:-}")"
}
row berth-runtime berth-runtime
row crun "crun$([ "$hybrid" = yes ] && echo ' (in its wrapper)')"
row runc runc
row floor "floor (unshare)"
if [ "$hybrid" = yes ]; then
  row crun-wrapper "crun's wrapper alone"
  if [ -n "${median[crun]:-}" ] && [ -n "${median[crun-wrapper]:-}" ]; then
    est=$(awk -v a="${median[crun]}" -v b="${median[crun-wrapper]}" 'BEGIN { printf "%.2f", a - b }')
    printf '%-34s %10s %10s %10s %10s\n' "crun minus its wrapper (estimate)" "$est" "-" "$(ratio "$est" "${median[crun]}")" "$(ratio "$est" "${median[floor]:-}")"
  fi
fi

echo
echo "full defaults (seccomp, capabilities, masked paths, device rules, user namespace, memory/cpu/pids limits):"
printf '%-34s %10s %10s %10s %10s\n' "run /bin/true" "median ms" "p95 ms" "x crun" "x floor"
full_row() { # NAME LABEL
  if [ -n "${failed[$1]:-}" ]; then printf '%s: %s\n' "$2" "${failed[$1]}"; return; fi
  printf '%-34s %10s %10s %10s %10s\n' "$2" "${median[$1]}" "${p95[$1]}" "$(ratio "${median[$1]}" "${median[crun-full]:-}")" "$(ratio "${median[$1]}" "${median[floor]:-}")"
}
full_row berth-full berth-runtime
full_row crun-full "crun$([ "$hybrid" = yes ] && echo ' (in its wrapper)')"
full_row runc-full runc
if [ "$hybrid" = yes ] && [ -n "${median[crun-full]:-}" ] && [ -n "${median[crun-wrapper]:-}" ]; then
  est=$(awk -v a="${median[crun-full]}" -v b="${median[crun-wrapper]}" 'BEGIN { printf "%.2f", a - b }')
  printf '%-34s %10s %10s %10s %10s\n' "crun minus its wrapper (estimate)" "$est" "-" "$(ratio "$est" "${median[crun-full]}")" "$(ratio "$est" "${median[floor]:-}")"
fi

echo
printf '%-14s %20s %20s %20s %8s\n' "apart (ms)" "create med / p95" "start med / p95" "delete med / p95" "x crun"
split_row() { # NAME
  if [ -n "${failed[$1.split]:-}" ]; then printf '%s: %s\n' "$1" "${failed[$1.split]}"; return; fi
  local total crun_total
  total=$(awk -v a="${median[$1.create]}" -v b="${median[$1.start]}" -v c="${median[$1.delete]}" 'BEGIN { print a + b + c }')
  crun_total=$([ -n "${median[crun.create]:-}" ] && awk -v a="${median[crun.create]}" -v b="${median[crun.start]}" -v c="${median[crun.delete]}" 'BEGIN { print a + b + c }' || true)
  printf '%-14s %20s %20s %20s %8s\n' "$1" \
    "${median[$1.create]} / ${p95[$1.create]}" "${median[$1.start]} / ${p95[$1.start]}" "${median[$1.delete]} / ${p95[$1.delete]}" \
    "$(ratio "$total" "$crun_total")"
}
split_row berth-runtime
split_row crun
split_row runc
echo "(x crun: sum of the three medians over crun's; crun's figures include its wrapper when hybrid is yes)"
