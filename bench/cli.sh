#!/usr/bin/env bash
# The CLI's start-up and one container run through it: `berth --version` against a bare
# `node -e 0` of the same Node (with and without Node's compile cache), `berth status`
# against a running daemon, and `berth container:run --rm busybox true` against Debian's
# podman running the same busybox root, without a network and with its bridge.
#   sudo bash bench/cli.sh     (after npm ci, npm run build; as root)
# Environment: RUNS (default 30) for the start-up rows, RUN_RUNS (default 20) for the
# container rows, ROUNDS (default 3), WARMUP (default 5), KEEP=1 keeps the temp directory.
#
# Method (bench/README.md, "cli.sh"): hyperfine -N (no shell in between) with
# --export-json, every row once per round, the times pooled over the rounds; mean and median wall-clock ms, and user+sys CPU ms (what the process
# itself costs, steadier than wall-clock on a shared machine). The daemon is started on
# random loopback ports in a temp BERTH_HOME with its own runtime root and network (as
# test/helpers/start-daemon.ts does) and stopped by its PID at the end. Podman runs with
# its own --root/--runroot under the temp directory, `--rootfs` on a directory holding the
# static busybox (no image, no pull), rlimits within this machine's hard limits, cgroupfs,
# and runc instead of crun on a hybrid-cgroup machine (crun 1.8 refuses hybrid mode).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
run_runs=${RUN_RUNS:-20}
warmup=${WARMUP:-5}
node="$root/node_modules/.bin/node"
cli="$root/dist/cli/main.js"
runtime="$root/native/build/berth-runtime"

[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/cli.sh" >&2; exit 1; }
missing=()
for need in hyperfine:hyperfine podman:podman jq:jq runc:runc redis-server:redis-server nginx:nginx; do
  command -v "${need%%:*}" >/dev/null || missing+=("${need##*:}")
done
ldd_says=$(ldd /bin/busybox 2>&1 || true)
[[ -x /bin/busybox && $ldd_says == *"not a dynamic executable"* ]] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing prerequisites; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[ -x "$node" ] && [ -f "$cli" ] && [ -x "$runtime" ] || { echo "build first: npm ci && npm run build (in $root)" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/bcli.XXXXXX)
chmod 711 "$work"
daemon_pid=
export BERTH_HOME="$work/home" BERTH_CONFIG="$work/berth.conf" BERTH_API_HOST=127.0.0.1 BERTH_API_PORT=0
export BERTH_CLI_CONFIG="$work/home/cli.json" BERTH_RUNTIME_ROOT="$work/run" BERTH_NETWORK_NAT=false
export BERTH_NETWORK="bc$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
export BERTH_HTTP_PORT=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The CLI's compile cache goes here, so every run starts from the same (warmed-up) cache.
export XDG_CACHE_HOME="$work/cache"
: > "$BERTH_CONFIG"
unset BERTH_API_URL BERTH_TOKEN

podman_cli() { podman --root "$work/podman-root" --runroot "$work/podman-run" "$@"; }

cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    for _ in $(seq 1 150); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$daemon_pid" 2>/dev/null && kill -KILL "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
  fi
  # Containers outlive the daemon by design: delete what is left, then the network.
  if [ -d "$BERTH_RUNTIME_ROOT" ]; then
    for c in $(ls "$BERTH_RUNTIME_ROOT" 2>/dev/null); do "$runtime" --root "$BERTH_RUNTIME_ROOT" delete --force "$c" >/dev/null 2>&1 || true; done
    "$runtime" --root "$BERTH_RUNTIME_ROOT" network rm --force "$BERTH_NETWORK" >/dev/null 2>&1 || true
  fi
  podman_cli rm --all --force >/dev/null 2>&1 || true
  { findmnt -rn -o TARGET | grep "^$work/" || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- the daemon, and the busybox image

"$node" "$cli" daemon > "$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 300); do [ -f "$BERTH_CLI_CONFIG" ] && break; kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
[ -f "$BERTH_CLI_CONFIG" ] || { echo "the daemon did not start:" >&2; cat "$work/daemon.log" >&2; exit 1; }
"$node" "$cli" image:base busybox > /dev/null
"$node" "$cli" container:run --rm busybox true || { echo "berth container:run failed" >&2; exit 1; }

# ---- podman's root: the same static busybox

rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
ln -s busybox "$rootfs/bin/sh"
podman_runtime=crun
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || true)" = cgroup2fs ] &&
  [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)" = tmpfs ]; then
  podman_runtime=runc
fi
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "$podman_runtime"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_config_dir = "$work/podman-networks"
EOF
export CONTAINERS_CONF="$work/containers.conf"
podman_cli run --rm --network none --rootfs "$rootfs" true || { echo "podman run failed (see above)" >&2; exit 1; }

# ---- timing: ROUNDS rounds, each timing every row in turn, so a change of load during the
# run falls on every row alike; the rows' times are pooled over the rounds.

rounds=${ROUNDS:-3}
names=() counts=() commands=()
add() { names+=("$1"); counts+=("$2"); commands+=("$3"); }
add node "$runs" "$node -e 0"
add version "$runs" "$node $cli --version"
add version-nocache "$runs" "env NODE_DISABLE_COMPILE_CACHE=1 $node $cli --version"
add help "$runs" "$node $cli --help"
add status "$runs" "$node $cli status"
add status-nocache "$runs" "env NODE_DISABLE_COMPILE_CACHE=1 $node $cli status"
add run "$run_runs" "$node $cli container:run --rm busybox true"
add run-nocache "$run_runs" "env NODE_DISABLE_COMPILE_CACHE=1 $node $cli container:run --rm busybox true"
add podman-none "$run_runs" "podman --root $work/podman-root --runroot $work/podman-run run --rm --network none --rootfs $rootfs true"
add podman-bridge "$run_runs" "podman --root $work/podman-root --runroot $work/podman-run run --rm --rootfs $rootfs true"
for r in $(seq 1 "$rounds"); do
  for i in "${!names[@]}"; do
    n=$(( (counts[i] + rounds - 1) / rounds ))
    hyperfine -N --style none --warmup "$([ "$r" = 1 ] && echo "$warmup" || echo 1)" --runs "$n" \
      --export-json "$work/${names[i]}.$r.json" "${commands[i]}" > /dev/null
  done
done
# Each row: {mean, median, min} of the pooled wall-clock times, and the mean user+sys per run.
for name in "${names[@]}"; do
  jq -s '[.[].results[0]] | { times: ([.[].times[]] | sort), cpu: ((map((.user + .system) * (.times | length)) | add) / (map(.times | length) | add)) }
    | { mean: ((.times | add) / (.times | length)), median: .times[(.times | length) / 2 | floor], min: .times[0], cpu: .cpu }' \
    "$work/$name".*.json > "$work/$name.json"
done

# ---- the table

ms() { jq -r ".$2 * 1000" "$work/$1.json"; }
cpu() { jq -r '.cpu * 1000' "$work/$1.json"; }
row() { printf '%-50s %8.1f %8.1f %8.1f %8.1f   %s\n' "$1" "$(ms "$2" mean)" "$(ms "$2" median)" "$(ms "$2" min)" "$(cpu "$2")" "$3"; }
# ratio A B: A's mean over B's, then the same for min and CPU.
ratio() {
  awk -v a="$(ms "$1" mean)" -v b="$(ms "$2" mean)" -v c="$(ms "$1" min)" -v d="$(ms "$2" min)" -v e="$(cpu "$1")" -v f="$(cpu "$2")" \
    'BEGIN { printf "x%.2f (min x%.2f, CPU x%.2f)", a / b, c / d, e / f }'
}

echo "Berth CLI: $("$node" "$cli" --version); podman $(podman --version | awk '{print $3}') with $podman_runtime"
echo "load at start: $load_before; at end: $(cut -d' ' -f1-3 /proc/loadavg); $runs runs ($run_runs for containers) in $rounds rounds, $warmup warm-up"
echo
printf '%-50s %8s %8s %8s %8s   %s\n' "command" "mean ms" "median" "min" "CPU ms" "ratio"
row "node -e 0" node ""
row "berth --version" version "$(ratio version node) node -e 0 (goal <= 1.5)"
row "berth --version, no compile cache" version-nocache "$(ratio version-nocache version) with it"
row "berth --help" help "$(ratio help node) node -e 0"
row "berth status (daemon up)" status "$(ratio status node) node -e 0"
row "berth status, no compile cache" status-nocache "$(ratio status-nocache status) with it"
row "berth container:run --rm busybox true" run ""
row "berth container:run, no compile cache" run-nocache "$(ratio run-nocache run) with it"
row "podman run --rm --network none --rootfs DIR true" podman-none "berth run $(ratio run podman-none)"
row "podman run --rm --rootfs DIR true (its bridge)" podman-bridge "berth run $(ratio run podman-bridge) (goal < 1)"
