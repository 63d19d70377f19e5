#!/usr/bin/env python3
"""Read what the Node.js buildpack needs from package.json, as shell assignments.

    package-json.py PATH    → node_range=… npm_range=… package_manager_field=… has_build=… has_start=… has_install_scripts=…

Exit 1 with a message naming the file when it is not JSON or a field has the wrong type.
"""
import json
import shlex
import sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
except (ValueError, UnicodeDecodeError) as e:
    print(f"{path} is not valid JSON: {e}", file=sys.stderr)
    sys.exit(1)
if not isinstance(doc, dict):
    print(f"{path} must hold a JSON object, not {type(doc).__name__}", file=sys.stderr)
    sys.exit(1)


def field(container, key, where):
    value = container.get(key, "")
    if not isinstance(value, str):
        print(f'{path}: "{where}" must be a string, not {json.dumps(value)}', file=sys.stderr)
        sys.exit(1)
    return value.strip()


def obj(key):
    value = doc.get(key, {})
    if not isinstance(value, dict):
        print(f'{path}: "{key}" must be an object, not {json.dumps(value)}', file=sys.stderr)
        sys.exit(1)
    return value


engines, scripts = obj("engines"), obj("scripts")
out = {
    "node_range": field(engines, "node", "engines.node"),
    "npm_range": field(engines, "npm", "engines.npm"),
    "package_manager_field": field(doc, "packageManager", "packageManager"),
    "has_build": "yes" if field(scripts, "build", "scripts.build") else "",
    "has_start": "yes" if field(scripts, "start", "scripts.start") else "",
    # npm ci runs these of the app's own: node_modules from a previous build would skip them.
    "has_install_scripts": "yes" if any(k in scripts for k in ("preinstall", "install", "postinstall", "prepare")) else "",
}
for key, value in out.items():
    print(f"{key}={shlex.quote(value)}")
