/** image:build's context for a buildpack build: a directory without a Dockerfile is packed as it is when the builder may be buildpacks. */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extract, type Pack } from 'tar-stream';
import { packContext } from '../../../server/cli/commands/image/pack-context.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function names(stream: Pack): Promise<string[]> {
  const out: string[] = [];
  const x = extract();
  x.on('entry', (h, body, next) => {
    out.push(h.name);
    body.on('end', next);
    body.resume();
  });
  const done = new Promise((resolve, reject) => {
    x.on('finish', () => resolve(undefined));
    x.on('error', reject);
  });
  stream.pipe(x);
  await done;
  return out.sort();
}

test('without a Dockerfile: packed with no dockerfile name when optional, refused otherwise', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'Procfile'), 'web: true\n');
  const packed = await packContext(dir, undefined, () => undefined, true);
  t.is(packed.dockerfile, undefined);
  t.deepEqual(await names(packed.stream), ['Procfile']);
  await t.throwsAsync(
    packContext(dir, undefined, () => undefined),
    { message: /the Dockerfile .*Dockerfile is not a file/ },
  );
  await t.throwsAsync(
    packContext(dir, join(dir, 'Nope'), () => undefined, true),
    { message: /Nope is not a file/ },
  );
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
  const withDockerfile = await packContext(dir, undefined, () => undefined, true);
  t.is(withDockerfile.dockerfile, 'Dockerfile');
  t.deepEqual(await names(withDockerfile.stream), ['Dockerfile', 'Procfile']);
});
