# The npm registry, reached with curl: package documents (kept in CACHE_DIR and revalidated
# with their ETag, so a warm build downloads none) and tarballs checked against their
# integrity. Sourced by bin/compile, after lib/output.sh; uses REGISTRY and CACHE_DIR.

# fetch_documents NAME…: registry_document for each, at once (one round trip, not one each).
fetch_documents() {
  local name pids=() pid
  for name in "$@"; do
    registry_document "$name" >/dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || exit 1; done
}

# Documents already revalidated by this build: fetch_documents reads them at once, and
# resolve, which asks again, must not pay a second round trip for each (a file per name:
# fetch_documents runs registry_document in subshells).
REGISTRY_FRESH=$(mktemp -d)

# registry_document NAME: prints the path of the registry's JSON document for package NAME.
registry_document() {
  local name=$1 dir="$CACHE_DIR/registry" file status err
  mkdir -p "$dir"
  file="$dir/$name.json"
  if [[ -e $REGISTRY_FRESH/$name && -s $file ]]; then
    echo "$file"
    return 0
  fi
  [[ -s $file && -s $file.etag ]] || { rm -f "$file" "$file.etag"; : >"$file.etag"; }
  err=$(mktemp)
  if ! status=$(curl -sS --retry 2 --connect-timeout 10 --max-time 300 -H 'Accept: application/json' \
    --etag-compare "$file.etag" --etag-save "$file.etag.new" -o "$file.new" -w '%{http_code}' \
    "$REGISTRY/$name" 2>"$err"); then
    fail "Cannot reach the npm registry $REGISTRY to read $name: $(head -n1 "$err")" \
      "Check the server's outbound network, or set NPM_CONFIG_REGISTRY to a registry the build can reach."
  fi
  rm -f "$err"
  case $status in
    200)
      rm -f "$file".resolved-*
      mv "$file.new" "$file" && mv "$file.etag.new" "$file.etag"
      ;;
    304) rm -f "$file.new" "$file.etag.new" ;;
    *) fail "The npm registry $REGISTRY answered HTTP $status for $name." ;;
  esac
  : >"$REGISTRY_FRESH/$name"
  echo "$file"
}

# download URL INTEGRITY FILE: download a package tarball to FILE once its integrity
# (sha512-<base64>, as the registry publishes it) is checked.
download() {
  local url=$1 integrity=$2 file=$3
  mkdir -p "$(dirname "$file")"
  curl -fsS --retry 2 --connect-timeout 10 --max-time 600 -o "$file.partial" "$url" ||
    fail "Cannot download $url"
  python3 - "$file.partial" "$integrity" <<'PY' || fail "$url does not match its integrity $integrity: download it again (a proxy may have altered it)."
import base64, hashlib, sys
path, integrity = sys.argv[1], sys.argv[2]
algorithm, expected = integrity.split("-", 1)
h = hashlib.new(algorithm)
with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
sys.exit(0 if base64.b64encode(h.digest()).decode() == expected else 1)
PY
  mv "$file.partial" "$file"
}

# unpack FILE DIR [MEMBER…]: a package tarball's package/ (or those members of it) into DIR.
unpack() {
  local file=$1 dir=$2
  shift 2
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$file" -C "$dir" --strip-components=1 --no-same-owner "${@/#/package/}"
}

# resolve NAME RANGE [NODE_VERSION]: prints "VERSION TARBALL INTEGRITY", the highest
# version of NAME that satisfies RANGE (and whose engines.node accepts NODE_VERSION). The
# answer is remembered beside the document until the registry sends a new one. Returns 1
# when the registry cannot be read (the error is printed), 2 when no version satisfies,
# 3 when RANGE is not a semver range.
resolve() {
  local name=$1 range=$2 node=${3:-} doc memo rc=0 out
  doc=$(registry_document "$name") || return 1
  memo=$doc.resolved-$(printf '%s\n%s' "$range" "$node" | sha256sum | cut -c1-16)
  if [[ -s $memo && $memo -nt $doc ]]; then
    cat "$memo"
    return 0
  fi
  out=$(python3 "$BP_DIR/lib/semver.py" "$range" ${node:+--node "$node"} <"$doc") || rc=$?
  case $rc in
    0) echo "$out" | tee "$memo" ;;
    2) return 2 ;;
    *) return 3 ;;
  esac
}
