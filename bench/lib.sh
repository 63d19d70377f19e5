# What the benchmarks that drive Berth's own TypeScript share (sourced, not run): the built
# parts they need, and a work directory whose containers and files go when the script ends.
# The caller sets `root` (the repository) and `node` (the pinned Node) first.

# Fail, saying how to build it, unless npm ci and make -C native have run.
bench_require_built() {
  [ -x "$node" ] || { echo "$node is missing: run npm ci in $root" >&2; exit 1; }
  for b in berth-runtime berth-fsutil; do
    [ -x "$root/native/build/$b" ] || { echo "native/build/$b is missing: run make -C native" >&2; exit 1; }
  done
}

# Make $work (short: <run root>/<64-hex id>/attach.sock must fit a unix socket path, 107
# bytes) and remove it at exit with every container left under its runtime root; KEEP=1 keeps it.
bench_work() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 711 "$work"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for id in $("$root/native/build/berth-runtime" --root "$work/r" list -q 2>/dev/null || true); do
    "$root/native/build/berth-runtime" --root "$work/r" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
