# Heroku's build output: "-----> " starts a step, seven spaces indent what the step says,
# " !     " marks an error. Sourced by bin/compile.

header() { echo "-----> $*"; }
info() { echo "       $*"; }
warn() { echo " !     $*"; }

# Print a clear error on stderr and stop the build.
fail() {
  local line
  for line in "$@"; do echo " !     $line" >&2; done
  exit 1
}

# Indent a command's output as it comes (sed -u: line by line, never held back).
indent() { sed -u 's/^/       /'; }

# Export the app's config vars (one file per variable in ENV_DIR), except those that
# would break the build itself, as Heroku's buildpacks do.
export_env_dir() {
  local env_dir=$1 file name
  [[ -d $env_dir ]] || return 0
  for file in "$env_dir"/*; do
    [[ -f $file ]] || continue
    name=${file##*/}
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case $name in PATH | GIT_DIR | CPATH | CPPATH | LD_PRELOAD | LIBRARY_PATH | BUILD_DIR | CACHE_DIR | ENV_DIR) continue ;; esac
    export "$name=$(cat "$file")"
  done
}
