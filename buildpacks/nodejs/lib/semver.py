#!/usr/bin/env python3
"""Pick a package version from npm registry metadata with node-semver's range rules.

    semver.py RANGE [--node VERSION] < METADATA.json

METADATA.json is the registry's document for one package (GET https://registry.npmjs.org/NAME).
Prints "VERSION TARBALL INTEGRITY" for the highest published version that satisfies RANGE
(and, with --node, whose own engines.node accepts that Node.js version, as npm's own
install does). Exit 2: nothing satisfies; exit 3: RANGE is not a semver range.

The range grammar is node-semver's (https://github.com/npm/node-semver#ranges): `1.2.3`,
`=1.2.3`, `v1.2.3`, comparators `<` `<=` `>` `>=` (a space after the operator is allowed),
x-ranges `1.x` `1.2.*` `1` `*` `""`, tilde `~1.2`, caret `^1.2.3`, hyphen ranges
`1.2 - 2.3.4`, comparators joined by spaces (and) and `||` (or). A prerelease version
(`24.0.0-rc.1`) is picked only by a range that names a prerelease of the same x.y.z, as
semver.maxSatisfying does without includePrerelease. Test: test/integration/buildpacks/semver.test.ts compares it
with the npm `semver` package on many ranges.
"""
import json
import re
import sys

INF = 10**9
XR = r"(?:x|X|\*|0|[1-9]\d*)"
PRE = r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?"
PARTIAL = re.compile(rf"^v?({XR})(?:\.({XR})(?:\.({XR}){PRE})?)?$")
VERSION = re.compile(rf"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*){PRE}$")
# A version is (major, minor, patch, pre): pre is (1,) for a release, which sorts after any
# prerelease (0, ids…) of the same x.y.z; (0,) is "x.y.z-0", below every prerelease of it.
RELEASE, LOWEST_PRE = (1,), (0,)


def prerelease(text):
    if text is None:
        return RELEASE
    return (0,) + tuple((0, int(i)) if i.isdigit() else (1, i) for i in text.split("."))


class RangeError(Exception):
    pass


def partial(text):
    """'1.2' -> [1, 2, None]; x, X and * are None (any)."""
    m = PARTIAL.match(text)
    if not m:
        raise RangeError(f"{text!r} is not a version")
    parts = [None if p is None or p in "xX*" else int(p) for p in m.groups()[:3]]
    # An x stops the version: 1.x.3 means 1.x
    for i, p in enumerate(parts):
        if p is None:
            parts[i + 1:] = [None] * (2 - i)
            break
    return parts + [prerelease(m.group(4)) if parts[2] is not None else RELEASE]


def floor(p):
    """The lowest version the partial p covers: 1 -> 1.0.0-0 ... as node-semver, 1.0.0."""
    return tuple(0 if v is None else v for v in p[:3]) + (p[3],)


def bump(p):
    """The first version after every version the partial p covers: 1 -> 2.0.0-0, 1.2 -> 1.3.0-0."""
    if p[0] is None:
        return (INF, 0, 0, LOWEST_PRE)
    if p[1] is None:
        return (p[0] + 1, 0, 0, LOWEST_PRE)
    if p[2] is None:
        return (p[0], p[1] + 1, 0, LOWEST_PRE)
    return (p[0], p[1], p[2] + 1, LOWEST_PRE)


def comparator(token):
    """One comparator token -> a list of (op, version tuple) that must all hold."""
    m = re.match(r"^(<=|>=|<|>|=|~>|~|\^)?(.*)$", token)
    op, rest = m.group(1) or "", m.group(2)
    p = partial(rest)
    if op in ("", "="):
        return [(">=", floor(p)), ("<", bump(p))] if None in p else [("=", floor(p))]
    if op in ("~", "~>"):
        upper = bump(p[:1] + [None, None, RELEASE]) if p[1] is None else bump(p[:2] + [None, RELEASE])
        return [(">=", floor(p)), ("<", upper)]
    if op == "^":
        if p[0] is None:
            return [(">=", (0, 0, 0, RELEASE))]
        if p[0] > 0 or p[1] is None:
            upper = bump([p[0], None, None, RELEASE])
        elif p[1] > 0 or p[2] is None:
            upper = bump([p[0], p[1], None, RELEASE])
        else:
            upper = bump(p)
        return [(">=", floor(p)), ("<", upper)]
    if op == ">=":
        return [(">=", floor(p))]
    if op == "<":
        return [("<", floor(p))]
    if op == ">":
        return [(">=", bump(p))] if None in p else [(">", floor(p))]
    if op == "<=":
        return [("<", bump(p))] if None in p else [("<=", floor(p))]
    raise RangeError(f"unknown operator in {token!r}")


def parse(text):
    """A range -> a list of alternatives, each a list of (op, version) that must all hold."""
    alternatives = []
    for part in text.split("||"):
        part = re.sub(r"(<=|>=|<|>|=|~>|~|\^)\s+", r"\1", part.strip())
        hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", part)
        if hyphen:
            low, high = partial(hyphen.group(1)), partial(hyphen.group(2))
            high_cmp = [("<", bump(high))] if None in high else [("<=", floor(high))]
            if high[0] is None:
                high_cmp = []
            alternatives.append([(">=", floor(low))] + high_cmp)
            continue
        comparators = []
        for token in part.split():
            comparators += comparator(token)
        alternatives.append(comparators or [(">=", (0, 0, 0, RELEASE))])
    return alternatives


def satisfies(version, alternatives):
    ops = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    for alt in alternatives:
        if not all(ops[op](version, bound) for op, bound in alt):
            continue
        # A prerelease only where the range names a prerelease of the same x.y.z.
        if version[3] == RELEASE or any(b[:3] == version[:3] and len(b[3]) > 1 for _, b in alt):
            return True
    return False


def release(text):
    """'1.2.3' -> (1, 2, 3, (1,)); '1.2.3-rc.1' -> (1, 2, 3, (0, (1, 'rc'), (0, 1))); None for anything else."""
    m = VERSION.match(text)
    return tuple(int(g) for g in m.groups()[:3]) + (prerelease(m.group(4)),) if m else None


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--node"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 64
    try:
        wanted = parse(argv[1])
        node = None
        if len(argv) == 4:
            node = release(argv[3].lstrip("v"))
            if node is None:
                raise RangeError(f"{argv[3]!r} is not a Node.js version")
    except RangeError as e:
        print(f"{argv[1]!r} is not a semver range: {e}", file=sys.stderr)
        return 3
    doc = json.load(sys.stdin)
    best = None
    for text, meta in doc.get("versions", {}).items():
        v = release(text)
        if v is None or not satisfies(v, wanted):
            continue
        if node is not None:
            engines = (meta.get("engines") or {}) if isinstance(meta.get("engines"), dict) else {}
            try:
                if "node" in engines and not satisfies(node, parse(engines["node"])):
                    continue
            except RangeError:
                continue
        if best is None or v > best[0]:
            best = (v, text, meta)
    if best is None:
        return 2
    dist = best[2].get("dist", {})
    print(best[1], dist.get("tarball", ""), dist.get("integrity", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
