#!/usr/bin/env python3
"""Remove devDependencies from node_modules, as `npm prune --omit=dev` does, from the lockfile.

    prune-dev.py APP_DIR    (reads package-lock.json or npm-shrinkwrap.json)

A lockfile of version 2 or 3 marks every package only devDependencies need with "dev": true
(a package that is dev or optional is "devOptional" and stays, as npm keeps it). Those
directories go, then the links in node_modules/.bin that pointed into them, and npm's hidden
lockfile (node_modules/.package-lock.json), which no longer describes the tree. It does in
milliseconds what npm does in a second or two; bin/compile falls back to npm prune for a
lockfile of version 1. Prints how many packages it removed; exit 3 for an old lockfile.
"""
import json
import os
import shutil
import sys

app = sys.argv[1]
for name in ("npm-shrinkwrap.json", "package-lock.json"):
    path = os.path.join(app, name)
    if os.path.exists(path):
        break
with open(path, encoding="utf-8") as f:
    lock = json.load(f)
if lock.get("lockfileVersion", 1) < 2 or "packages" not in lock:
    sys.exit(3)

removed = 0
# Deepest first, so a nested dev package goes before its parent is looked at.
for key in sorted(lock["packages"], key=len, reverse=True):
    entry = lock["packages"][key]
    if not key or not entry.get("dev"):
        continue
    target = os.path.join(app, key)
    if os.path.lexists(target):
        if os.path.islink(target) or not os.path.isdir(target):
            os.unlink(target)
        else:
            shutil.rmtree(target)
        removed += 1

for bin_dir, dirs, files in os.walk(os.path.join(app, "node_modules")):
    if os.path.basename(bin_dir) != ".bin":
        continue
    for name in files + dirs:
        link = os.path.join(bin_dir, name)
        if os.path.islink(link) and not os.path.exists(link):
            os.unlink(link)
hidden = os.path.join(app, "node_modules", ".package-lock.json")
if os.path.exists(hidden):
    os.unlink(hidden)
print(f"removed {removed} package{'' if removed == 1 else 's'}")
