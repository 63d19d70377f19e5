#!/usr/bin/env bash
# What a container network costs at start: `run -d` (create + start) of `sleep` under
# berth-runtime without a network namespace, with an empty one (lo only), with the full
# bridge network (veth, address, route, nft elements), and with an empty one followed by
# the same network set up the naive way, by spawning `ip` and `nft` commands. Then the
# empty netns and the full network again with 10 and with 500 containers already running
# on the bridge.
# Prints median and p95 and the ratios.
#   sudo bash bench/network.sh [RUNS]     (default 50; after make -C native)
# Environment: WARMUP (default 5), SCALE (default "10 500"), KEEP=1 keeps the temp dir.
#
# Method (bench/README.md): a bash loop reading $EPOCHREALTIME around each timed `run -d`
# (a builtin: no `date` inside the span), a fresh id each time; the container is deleted
# (untimed) before the next. The naive row times `run -d` of the empty-netns container plus
# the commands, one after the other, as a script would run them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-50}
warmup=${WARMUP:-5}
scale=${SCALE:-10 500}
berth=${BERTH_RUNTIME:-$root/native/build/berth-runtime}

[ "$(id -u)" = 0 ] || { echo "run as root: sudo bash bench/network.sh" >&2; exit 1; }
for need in ip:iproute2 nft:nftables nsenter:util-linux; do
  command -v "${need%%:*}" >/dev/null || { echo "missing ${need%%:*}: apt-get install -y ${need##*:}" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "missing /bin/busybox: apt-get install -y busybox-static" >&2; exit 1; }
[ -x "$berth" ] || { echo "$berth is missing: make -C native" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/berth-bench-network.XXXXXX)
chmod 711 "$work"
state="$work/state"
# Time a copy: a rebuild of native/ in the middle of a run would otherwise break it.
cp "$berth" "$work/berth-runtime"
berth="$work/berth-runtime"
net="bb$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
naive_net="bn${net#bb}"
b() { "$berth" --root "$state" "$@"; }

cleanup() {
  local c failed=0
  for c in $(ls "$state" 2>/dev/null); do b delete --force "$c" >/dev/null 2>&1 || failed=1; done
  if [ "$failed" = 1 ]; then
    # Never drop the state of containers that still run: it is how to remove them.
    echo "some containers could not be deleted: kept $work; remove them with: $berth --root $state delete --force ID," >&2
    echo "then: $berth --root $state network rm --force $net; ip link del $naive_net; nft delete table bridge naive_$naive_net" >&2
    return
  fi
  b network rm --force "$net" >/dev/null 2>&1 || true
  ip link del "$naive_net" >/dev/null 2>&1 || true
  nft delete table bridge "naive_$naive_net" >/dev/null 2>&1 || true
  [ -z "${state_mounted:-}" ] || umount "$state"
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The state root on tmpfs, as /run/berth is on a Debian server (/run is a tmpfs there; on
# some VMs it is not, and each lease and file written at create then costs a journal update).
mkdir -p "$state"
if [ "$(stat -f -c %T "$state")" != tmpfs ]; then mount -t tmpfs -o mode=0711 berth-bench "$state"; state_mounted=1; fi

# ---- bundles: busybox sleep, with the namespaces each row needs
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/sleep"
: > "$work/rootfs/etc/hosts"; : > "$work/rootfs/etc/resolv.conf"; : > "$work/rootfs/etc/hostname"
make_bundle() { # DIR JQ-LIKE-PYTHON-EDIT
  mkdir -p "$1"
  b spec --bundle "$1" >/dev/null
  python3 - "$1/config.json" "$work/rootfs" "$2" <<'EOF'
import json, sys
path, rootfs, mode = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(path))
c["process"]["args"] = ["/bin/sleep", "600"]
c["process"]["terminal"] = False
c["root"] = {"path": rootfs, "readonly": False}
if mode == "nonet":
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
elif mode.startswith("net:"):
    c.setdefault("annotations", {})["berth.network"] = mode[4:]
    c["annotations"]["berth.network.group"] = "bench"
json.dump(c, open(path, "w"))
EOF
}
make_bundle "$work/nonet" nonet
make_bundle "$work/empty" empty
b network create "$net" >/dev/null
make_bundle "$work/full" "net:$net"
subnet=$(b network inspect "$net" | python3 -c 'import json,sys; print(json.load(sys.stdin)["subnet"])')

# ---- the naive network: its own bridge and table (a /24 beside ours), set up by commands
naive_sub=$(python3 -c "import ipaddress; n=ipaddress.ip_network('$subnet'); print(str(list(n.subnets(new_prefix=24))[255].network_address).rsplit('.',1)[0])")
ip link add "$naive_net" type bridge
ip link set "$naive_net" up
nft -f - <<EOF
table bridge naive_$naive_net {
  set ports { type ifname; }
  map grp { type ipv4_addr : mark; }
  set allow { type ipv4_addr . mark; }
}
EOF
naive_n=0
naive_attach() { # PID: what berth-runtime does, with one command per step
  local pid=$1 host="nv${naive_n}x$$" addr
  naive_n=$((naive_n + 1))
  addr="$naive_sub.$(( (naive_n % 250) + 2 ))"
  ip link add "$host" type veth peer name eth0 netns "$pid"
  ip link set "$host" master "$naive_net" up
  nsenter -t "$pid" -n ip link set eth0 up
  nsenter -t "$pid" -n ip addr add "$addr/16" dev eth0
  nsenter -t "$pid" -n ip route add default via "$naive_sub.1"
  nft "add element bridge naive_$naive_net ports { \"$host\" }; add element bridge naive_$naive_net grp { $addr : 1 }; add element bridge naive_$naive_net allow { $addr . 1 }"
  naive_hosts+=("$host:$addr")
}
naive_detach() {
  local h
  for h in "${naive_hosts[@]}"; do
    ip link del "${h%%:*}" 2>/dev/null || true
    nft "delete element bridge naive_$naive_net ports { \"${h%%:*}\" }; delete element bridge naive_$naive_net grp { ${h##*:} }; delete element bridge naive_$naive_net allow { ${h##*:} . 1 }" 2>/dev/null || true
  done
  naive_hosts=()
}
naive_hosts=()

# ---- statistics: median and p95 (nearest rank) of the numbers (ms) in a file
stats() { sort -n "$1" | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; p=v[int(NR*0.95+0.999)]; printf "%.2f %.2f\n", m, p}'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f\n", (b-a)*1000}'; }

seq_id=0
one_run() { # NAME BUNDLE NAIVE RECORD: one timed run -d, appended to $work/NAME.ms when RECORD=1
  local name=$1 bundle=$2 naive=$3 record=$4 id t0 t1 pid
  seq_id=$((seq_id + 1)); id="bench-$seq_id"
  t0=$EPOCHREALTIME
  b run -d --pid-file "$work/pid" --bundle "$bundle" "$id" >/dev/null
  if [ "$naive" = naive ]; then
    read -r pid < "$work/pid" || true # no newline at its end
    naive_attach "$pid"
  fi
  t1=$EPOCHREALTIME
  [ "$record" = 0 ] || ms "$t0" "$t1" >> "$work/$name.ms"
  b delete --force "$id" >/dev/null
  [ "$naive" != naive ] || naive_detach
}
# Rows are interleaved: each iteration runs every row once, in turn, so a change of load
# during the run (other work on the machine) hits all rows alike, and the cost of the
# network is also taken pair by pair (run i of a row minus run i of the empty netns row).
time_rows() { # NAME:BUNDLE[:naive] ...
  local i spec name rest bundle naive
  for spec in "$@"; do : > "$work/${spec%%:*}.ms"; done
  for ((i = 0; i < warmup + runs; i++)); do
    for spec in "$@"; do
      name=${spec%%:*}; rest=${spec#*:}; bundle=${rest%%:*}; naive=${rest#"$bundle"}; naive=${naive#:}
      one_run "$name" "$bundle" "${naive:-no}" "$([ "$i" -lt "$warmup" ] && echo 0 || echo 1)"
    done
  done
  for spec in "$@"; do
    name=${spec%%:*}
    read -r "med_$name" "p95_$name" < <(stats "$work/$name.ms")
  done
}
# The median, over the iterations, of row A's time minus row B's (ms).
paired() { paste "$work/$1.ms" "$work/$2.ms" | awk '{print $1 - $2}' > "$work/$1-$2.diff"; stats "$work/$1-$2.diff" | cut -d' ' -f1; }

time_rows nonet:"$work/nonet" empty:"$work/empty" full:"$work/full" naive:"$work/empty":naive
pair_full=$(paired full empty)
pair_naive=$(paired naive empty)

# ---- scale: the full network with N containers already running on the bridge
declare -A smed sp95 semed sep95 spair
running=0
for n in $scale; do
  while [ "$running" -lt "$n" ]; do
    b run -d --bundle "$work/full" "idle-$running" >/dev/null
    running=$((running + 1))
  done
  time_rows "scale_empty$n:$work/empty" "scale$n:$work/full"
  eval "smed[$n]=\$med_scale$n; sp95[$n]=\$p95_scale$n; semed[$n]=\$med_scale_empty$n; sep95[$n]=\$p95_scale_empty$n"
  spair[$n]=$(paired "scale$n" "scale_empty$n")
done

# ---- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f", a-b}'; }
echo "berth-runtime container start (run -d of sleep), $runs runs after $warmup warm-up; ms"
echo "kernel $(uname -r), $(nproc) cpus, load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %8s %12s\n' "" median p95 "vs empty ns"   # the last column: median of paired differences
printf '%-44s %8s %8s %12s\n' "no network namespace" "$med_nonet" "$p95_nonet" "$(diff_ms "$med_nonet" "$med_empty")"
printf '%-44s %8s %8s %12s\n' "empty network namespace (lo)" "$med_empty" "$p95_empty" "+0.00"
printf '%-44s %8s %8s %12s\n' "full bridge network (berth-runtime)" "$med_full" "$p95_full" "$(diff_ms "$pair_full" 0)"
printf '%-44s %8s %8s %12s\n' "same network by spawning ip/nft commands" "$med_naive" "$p95_naive" "$(diff_ms "$pair_naive" 0)"
echo "network cost (median of paired differences): berth-runtime $(diff_ms "$pair_full" 0) ms, ip/nft commands $(diff_ms "$pair_naive" 0) ms;" \
  "start with network, ip/nft over berth-runtime: x$(ratio "$med_naive" "$med_full")"
echo
echo "with N containers already running on the bridge: empty netns, then full network"
printf '%-44s %8s %8s %12s\n' "" median p95 "network adds"
for n in $scale; do
  printf '%-44s %8s %8s\n' "N = $n, empty network namespace" "${semed[$n]}" "${sep95[$n]}"
  printf '%-44s %8s %8s %12s\n' "N = $n, full bridge network" "${smed[$n]}" "${sp95[$n]}" "$(diff_ms "${spair[$n]}" 0)"
done
first=${scale%% *}; last=${scale##* }
echo "full network, N=$last over N=$first: x$(ratio "${smed[$last]}" "${smed[$first]}");" \
  "what the network adds (paired): $(diff_ms "${spair[$first]}" 0) ms at N=$first, $(diff_ms "${spair[$last]}" 0) ms at N=$last"
