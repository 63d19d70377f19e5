/**
 * The import rules of server/ (docs/architecture.md, .dependency-cruiser.cjs) catch what they
 * are meant to: a copy of server/ gets one planted file per kind of violation, dependency-cruiser
 * runs on the copy as `npm run check` runs it on the tree, and each planted file must be
 * reported under its rule, and nothing else.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../../helpers/temp-dir.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');

/** Each planted file, the import it makes, and the rule that must catch it. */
const planted = [
  // A low room reaching up: core imports nothing.
  { file: 'server/core/planted-up.ts', source: "import { ImageStore } from '../images/index.js';\nexport const x = ImageStore;\n", rule: 'rooms-core' },
  // A sideways import between peers: runtime may not import images.
  { file: 'server/runtime/planted-side.ts', source: "import { ImageStore } from '../images/index.js';\nexport const x = ImageStore;\n", rule: 'rooms-runtime' },
  // Reaching into another folder's inner file.
  { file: 'server/containers/planted-inner.ts', source: "import { sha256 } from '../images/digest.js';\nexport const x = sha256;\n", rule: 'no-inner-imports' },
  // The CLI takes only types from api/: a value import is caught, a type import is not.
  { file: 'server/cli/planted-value.ts', source: "import { createApi } from '../api/index.js';\nexport const x = createApi;\n", rule: 'rooms-cli-types-only' },
  // A room that does not exist yet already has its rule: build/ may not import git/.
  { file: 'server/build/planted-future.ts', source: "import { x } from '../git/index.js';\nexport const y = x;\n", rule: 'rooms-build' },
  // A folder that is not a room at all.
  { file: 'server/network/planted-room.ts', source: "import { BerthError } from '../core/index.js';\nexport const x = BerthError;\n", rule: 'no-unknown-room' },
];

/** Not a violation: the CLI importing a type from api/. */
const allowed = { file: 'server/cli/planted-type.ts', source: "import type { StatusReport } from '../api/index.js';\nexport type X = StatusReport;\n" };

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

test('npm run check catches each kind of forbidden import, and nothing else in server/', async (t) => {
  const dir = await tempDir(t, 'berth-imports-');
  await cp(join(root, 'server'), join(dir, 'server'), { recursive: true });
  for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) await cp(join(root, f), join(dir, f));
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  await mkdir(join(dir, 'server/git'), { recursive: true });
  await writeFile(join(dir, 'server/git/index.ts'), 'export const x = 1;\n');
  for (const p of [...planted, allowed]) {
    await mkdir(join(dir, p.file, '..'), { recursive: true });
    await writeFile(join(dir, p.file), p.source);
  }

  // The same call as `npm run check`: its exit status is the number of violations.
  const run = await promisify(execFile)(process.execPath, [depcruise, '--config', '.dependency-cruiser.cjs', 'server'], {
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
  t.not(run.code, 0, 'depcruise must fail on the planted imports');
  // Its lines read `  error RULE: FROM → TO`.
  const violations: Violation[] = [...run.stdout.matchAll(/^\s*error (\S+): (\S+) → (\S+)$/gm)].map((m) => ({ rule: { name: m[1]! }, from: m[2]!, to: m[3]! }));
  t.is(violations.length, run.code, `one line per violation counted in the exit status:\n${run.stdout}`);
  const seen = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);

  for (const p of planted) {
    t.true(
      violations.some((v) => v.from === p.file && v.rule.name === p.rule),
      `${p.file} must be reported as ${p.rule}; reported: ${seen.join('; ')}`,
    );
  }
  t.false(
    violations.some((v) => v.from === allowed.file),
    `a type-only import of api/ from cli/ is allowed; reported: ${seen.join('; ')}`,
  );
  const unplanted = violations.filter((v) => !planted.some((p) => p.file === v.from) && v.from !== allowed.file && v.from !== 'server/git/index.ts');
  t.deepEqual(
    unplanted.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`),
    [],
    'the tree itself has no violation',
  );
});
