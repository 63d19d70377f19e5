/**
 * The bundled buildpacks' shape, checked without a build: each has executable
 * bin/{detect,compile,release} (the builder passes over a folder without them, so a lost
 * executable bit would silently drop a language), and each bin/detect answers for its own
 * sample app in test/fixtures/apps/ and for none of the others, with the name it prints.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fixtures } from './apps.js';

const root = new URL('../../../buildpacks/', import.meta.url).pathname;
const own: Record<string, { app: string; prints: string }> = {
  nodejs: { app: 'node', prints: 'Node.js' },
  python: { app: 'python', prints: 'Python' },
  static: { app: 'static', prints: 'Static HTML' },
};

for (const [name, { app, prints }] of Object.entries(own)) {
  test(`${name}: executable bin/detect, compile and release; detects ${app} only`, (t) => {
    for (const f of ['detect', 'compile', 'release']) t.notThrows(() => accessSync(join(root, name, 'bin', f), constants.X_OK), `${name}/bin/${f}`);
    for (const other of Object.values(own)) {
      const dir = join(fixtures, other.app);
      const r = spawnSync(join(root, name, 'bin', 'detect'), [dir], { cwd: dir, encoding: 'utf8' });
      if (other.app === app) {
        t.is(r.status, 0, r.stderr);
        t.is(r.stdout, `${prints}\n`);
      } else t.is(r.status, 1, `${name} must not detect the ${other.app} app`);
    }
  });
}
