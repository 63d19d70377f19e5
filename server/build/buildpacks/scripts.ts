/**
 * The two shell programs of a buildpack build (docs/buildpacks.md): the driver, which runs
 * inside the build container and speaks the classic buildpack API to each buildpack, and the
 * launcher written into the slug, which starts a process type (`/start <type>`) or a one-off
 * command (`/exec <command…>`) as herokuish does.
 *
 * The driver's inputs are files under /berth (read-only): `plan` (one `NN<TAB>name` line per
 * buildpack, mounted at /berth/buildpacks/NN) and BERTH_MODE (`detect`: the first whose
 * bin/detect answers is used; `explicit`: each must answer). It reports to /berth-out:
 * `selected` (`NN<TAB>detected name` lines, in order), `release-NN.yml` (bin/release's
 * output) and, on a failure, `failure` (`phase<TAB>NN<TAB>exit code`), then exits 1.
 */

/** Where things are in the build container. */
export const paths = {
  build: '/tmp/build',
  cache: '/cache',
  env: '/tmp/env',
  berth: '/berth',
  out: '/berth-out',
  buildpacks: '/berth/buildpacks',
} as const;

export const driverScript = `#!/bin/bash
# Berth's buildpack driver (docs/buildpacks.md): the classic buildpack API, as herokuish runs it.
shopt -s nullglob
out=${paths.out}
export BUILD_DIR=${paths.build} CACHE_DIR=${paths.cache} ENV_DIR=${paths.env}
fail() { printf '%s\\t%s\\t%s\\n' "$1" "$2" "$3" >"$out/failure"; exit 1; }
# Each buildpack gets a writable copy: bin/compile may leave its export file (or anything
# else) in its own directory; the mounted original stays as it was.
mkdir -p /tmp/buildpacks
nums=() names=()
while IFS=$'\\t' read -r n name; do
  cp -a "${paths.buildpacks}/$n" "/tmp/buildpacks/$n" || fail copy "$n" 1
  nums+=("$n") names+=("$name")
done <${paths.berth}/plan
use=() labels=()
for i in "\${!nums[@]}"; do
  n=\${nums[$i]}
  label=$(cd "$BUILD_DIR" && "/tmp/buildpacks/$n/bin/detect" "$BUILD_DIR")
  code=$?
  if [ "$code" -eq 0 ]; then
    label=\${label%%$'\\n'*}
    use+=("$n") labels+=("\${label:-\${names[$i]}}")
    [ "$BERTH_MODE" = detect ] && break
  elif [ "$BERTH_MODE" = explicit ]; then
    fail detect "$n" "$code"
  fi
done
[ \${#use[@]} -gt 0 ] || fail detect - 1
if [ \${#use[@]} -gt 1 ]; then
  echo "-----> Using buildpacks:"
  for i in "\${!use[@]}"; do echo "       $((i + 1)). \${labels[$i]}"; done
fi
: >"$out/selected"
for i in "\${!use[@]}"; do
  n=\${use[$i]}
  printf '%s\\t%s\\n' "$n" "\${labels[$i]}" >>"$out/selected"
  echo "-----> \${labels[$i]} app detected"
  (cd "$BUILD_DIR" && exec "/tmp/buildpacks/$n/bin/compile" "$BUILD_DIR" "$CACHE_DIR" "$ENV_DIR")
  code=$?
  [ "$code" -eq 0 ] || fail compile "$n" "$code"
  if [ -f "/tmp/buildpacks/$n/export" ]; then . "/tmp/buildpacks/$n/export"; fi
done
for n in "\${use[@]}"; do
  if [ -x "/tmp/buildpacks/$n/bin/release" ]; then
    (cd "$BUILD_DIR" && exec "/tmp/buildpacks/$n/bin/release" "$BUILD_DIR") >"$out/release-$n.yml"
    code=$?
    [ "$code" -eq 0 ] || fail release "$n" "$code"
  fi
done
exit 0
`;

/** A word for bash: single-quoted unless plainly safe. */
function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** What both launchers do first: HOME, PORT, /app, then .profile.d/*.sh and .profile, sourced by bash in name order. */
const prologue = `export HOME=/app PORT="\${PORT:-5000}"
cd /app || exit 1
for f in /app/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done
[ -f /app/.profile ] && . /app/.profile
`;

/** `/start <type>`: the type's command through `exec bash -c`, so that signals reach the app. */
export function startScript(types: Record<string, string>): string {
  const names = Object.keys(types);
  const cases = names.map((name) => `  ${name}) command=${quote(types[name] as string)} ;;\n`).join('');
  return `#!/bin/bash
# Berth's launcher (docs/buildpacks.md, "The launcher"): /start <process type>.
shopt -s nullglob
case "\${1-}" in
${cases}  *) echo "/start: no process type \${1-(none given)} in this image (it has: ${names.join(' ') || 'none'})" >&2; exit 127 ;;
esac
${prologue}exec bash -c "$command"
`;
}

/** `/exec <command…>`: a one-off command with the same environment (a shell without one). */
export const execScript = `#!/bin/bash
# Berth's launcher (docs/buildpacks.md, "The launcher"): /exec <command…>.
shopt -s nullglob
${prologue}[ $# -gt 0 ] || set -- bash
exec "$@"
`;
