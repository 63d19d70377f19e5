/**
 * The CLI reads the API's wire shapes as types only: no module of the daemon's (express,
 * the image store, the container manager) may load in the CLI through server/api.
 */
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = fileURLToPath(new URL('../../../server/cli/', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await sources(join(dir, e.name))));
    else if (e.name.endsWith('.ts')) out.push(join(dir, e.name));
  }
  return out;
}

test('server/cli imports server/api with `import type` only', async (t) => {
  const files = await sources(cliDir);
  t.true(files.length > 20, 'the walk finds the CLI');
  let typeImports = 0;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    // Every static import or re-export, and every dynamic import(), naming a module under server/api/.
    for (const m of text.matchAll(/(?:^|\n)\s*((?:import|export)\b[^;]*?from\s*'([^']+)'|[^\n]*\bimport\(\s*'([^']+)'\s*\))/g)) {
      const spec = m[2] ?? m[3] ?? '';
      if (!/(^|\/)api\//.test(spec)) continue;
      const where = `${relative(cliDir, file)}: ${m[1]!.trim().slice(0, 80)}`;
      t.true(m[3] === undefined && /^(import|export)\s+type\b/.test(m[1]!.trim()), where);
      typeImports++;
    }
  }
  t.true(typeImports > 10, `${typeImports} type imports of the wire found`);
});
