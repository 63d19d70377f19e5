#!/bin/busybox sh
# /init of the pure-cgroup-v2 guest (test/kvm/cgroup-v2-guest.test.ts). Stage 1 copies the
# initramfs into a tmpfs and switches to it (pivot_root, which containers need, refuses the
# initramfs root); stage 2 mounts cgroup2 at /sys/fs/cgroup, as a pure-v2 server has it, runs
# each case with berth-runtime and prints one line per case:
#   BERTH-GUEST <case> <text>
# then powers off. Nothing here talks to a network.
set -u
B=/bin/busybox

if [ "${1:-}" != stage2 ]; then
  $B mount -t proc proc /proc
  $B mount -t devtmpfs dev /dev
  $B mkdir -p /newroot
  $B mount -t tmpfs -o size=400m root /newroot
  for d in bin lib lib64 usr etc guest init overlay.ko; do
    [ -e "/$d" ] && $B cp -a "/$d" /newroot/
  done
  $B mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
  $B umount /proc
  $B mount --move /dev /newroot/dev
  exec $B switch_root /newroot /init stage2
fi

$B --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t cgroup2 none /sys/fs/cgroup
echo "+memory +pids +cpu +cpuset" > /sys/fs/cgroup/cgroup.subtree_control
insmod /overlay.ko 2>/dev/null

rt=/guest/berth-runtime
say() { echo "BERTH-GUEST $*"; }
say kernel "$(uname -r) fs-type=$(stat -f -c %t /sys/fs/cgroup) controllers=$(cat /sys/fs/cgroup/cgroup.controllers | tr ' ' ,)"

# bundle NAME ARGS-JSON RESOURCES-JSON [EXTRA-LINUX-JSON]: a bundle from berth-runtime spec.
bundle() {
  d=/tmp/b-$1
  mkdir -p "$d"
  $rt spec --bundle "$d" >/dev/null
  /guest/edit-config "$d/config.json" "$2" "$3" "${4:-{\}}"
  echo "$d"
}

wait_stopped() {
  i=0
  while [ $i -lt 600 ]; do
    $rt state "$1" | grep -q '"status": "stopped"' && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}

# 1. A memory hog over memory.max: killed, and state says oomKilled.
d=$(bundle oom '["/probe","memhog","256"]' '{"memory":{"limit":33554432,"swap":33554432}}')
$rt run -d --bundle "$d" oom 2>&1 | sed 's/^/BERTH-GUEST oom-run /'
wait_stopped oom
say oom-state "$($rt state oom | tr -d '\n ')"
say oom-stats "$($rt stats oom)"
say oom-files "max=$(cat /sys/fs/cgroup/berth/oom/memory.max) swap=$(cat /sys/fs/cgroup/berth/oom/memory.swap.max)"
$rt delete oom

# 2. Under the limit: not oomKilled.
d=$(bundle calm '["/probe","memhog","8"]' '{"memory":{"limit":67108864}}')
$rt run -d --bundle "$d" calm >/dev/null 2>&1
wait_stopped calm
say calm-state "$($rt state calm | tr -d '\n ')"
$rt delete calm

# 3. A fork bomb against pids.max.
d=$(bundle bomb '["/probe","forkbomb","500","60"]' '{"pids":{"limit":20}}')
$rt run -d --bundle "$d" bomb >/dev/null 2>&1
i=0
while [ $i -lt 300 ] && [ "$(cat /sys/fs/cgroup/berth/bomb/pids.current 2>/dev/null)" != 20 ]; do sleep 0.1; i=$((i+1)); done
say bomb-stats "$($rt stats bomb)"
say bomb-log "$(cat /run/berth/bomb/container.log | head -n 1)"
$rt delete --force bomb

# 4. The device program on pure v2: a node for /dev/kmsg (opened write-only, which needs no
#    capability) is refused; allowed by a rule, it opens.
script='mknod /dev/k c 1 11 && echo berth > /dev/k; echo rc=$?'
d=$(bundle devdeny "[\"/bin/sh\",\"-c\",\"$script\"]" '{}')
say dev-denied "$($rt run --bundle "$d" devdeny 2>&1 | tr '\n' ' ')"
d=$(bundle devallow "[\"/bin/sh\",\"-c\",\"$script\"]" '{"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}')
say dev-allowed "$($rt run --bundle "$d" devallow 2>&1 | tr '\n' ' ')"

# 5. cpu.max.
d=$(bundle spin '["/probe","spin","2"]' '{"cpu":{"quota":25000,"period":100000,"shares":512}}')
t0=$(date +%s)
$rt run -d --bundle "$d" spin >/dev/null 2>&1
say spin-files "max=$(cat /sys/fs/cgroup/berth/spin/cpu.max) weight=$(cat /sys/fs/cgroup/berth/spin/cpu.weight)"
wait_stopped spin
say spin-stats "wall=$(( $(date +%s) - t0 )) $($rt stats spin)"
$rt delete spin

# 6. linux.resources.unified: files written as given; one that does not exist refused by name.
d=$(bundle uni '["/bin/cat","/sys/fs/cgroup/pids.max"]' '{"unified":{"pids.max":"77"}}')
say unified-ok "$($rt run --bundle "$d" uni 2>&1 | tr '\n' ' ')"
d=$(bundle unibad '["/probe","exit","0"]' '{"unified":{"nosuch.max":"1"}}')
say unified-bad "$($rt run --bundle "$d" unibad 2>&1 | tr '\n' ' ')"

# 7. A user namespace on a root whose filesystem (tmpfs on 6.1) cannot be idmapped: refused
#    by name, nothing left.
d=$(bundle userns '["/probe","exit","0"]' '{}' '{"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"userns":true}')
say userns "$($rt run --bundle "$d" userns 2>&1 | tr '\n' ' ')"

say leftovers "cgroups=$(ls /sys/fs/cgroup/berth 2>/dev/null | tr '\n' ,) state=$(ls /run/berth 2>/dev/null | grep -v '^\.' | tr '\n' ,)"

# ---- Phase 2: a hybrid host whose pids and cpu controllers were moved to cgroup2, as the
# development machines can be made: v1 hierarchies for memory, cpuacct, devices and
# freezer under a tmpfs, cgroup2 at unified/ with +pids +cpu.  One container then uses
# both: memory on v1, pids and cpu on v2.
rmdir /sys/fs/cgroup/berth 2>/dev/null
echo "-memory -pids -cpu -cpuset" > /sys/fs/cgroup/cgroup.subtree_control
umount /sys/fs/cgroup
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in memory cpuacct devices freezer; do
  mkdir /sys/fs/cgroup/$c
  mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || say hybrid-setup "mount $c failed"
done
mkdir /sys/fs/cgroup/unified
mount -t cgroup2 none /sys/fs/cgroup/unified
echo "+pids +cpu" > /sys/fs/cgroup/unified/cgroup.subtree_control
say hybrid-layout "$(grep -E '^(memory|pids|cpu)\s' /proc/cgroups | awk '{printf "%s:%s ", $1, $2}')unified=$(cat /sys/fs/cgroup/unified/cgroup.subtree_control)"

d=$(bundle hyb '["/probe","forkbomb","500","60"]' '{"pids":{"limit":15},"cpu":{"quota":30000,"period":100000},"memory":{"limit":67108864}}')
$rt run -d --bundle "$d" hyb 2>&1 | sed 's/^/BERTH-GUEST hybrid-run /'
i=0
while [ $i -lt 300 ] && [ "$(cat /sys/fs/cgroup/unified/berth/hyb/pids.current 2>/dev/null)" != 15 ]; do sleep 0.1; i=$((i+1)); done
say hybrid-files "pids.max=$(cat /sys/fs/cgroup/unified/berth/hyb/pids.max) cpu.max=$(cat /sys/fs/cgroup/unified/berth/hyb/cpu.max) memory.limit_in_bytes=$(cat /sys/fs/cgroup/memory/berth/hyb/memory.limit_in_bytes)"
say hybrid-stats "$($rt stats hyb)"
$rt delete --force hyb
say hybrid-leftovers "unified=$(ls -d /sys/fs/cgroup/unified/berth/* 2>/dev/null | tr '\n' ,) memory=$(ls -d /sys/fs/cgroup/memory/berth/*/ 2>/dev/null | tr '\n' ,)"
say done
poweroff -f
