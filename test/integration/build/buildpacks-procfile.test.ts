/**
 * A Procfile-only app built by the bundled null buildpack in a real build container on the
 * stack image: web and worker types in the image config, `/start <type>` runs each with
 * .profile.d sourced first, and the build leaves nothing behind.
 */
import test from 'ava';
import { useBuildpacks } from '../../helpers/buildpacks.js';

test('a Procfile-only app builds; its types are in the config and .profile.d is sourced at start', async (t) => {
  t.timeout(5 * 60_000);
  const b = await useBuildpacks(t);
  const dir = await b.context({
    Procfile: 'web: echo "web on $PORT with $GREETING"\nworker: echo "worker $HOME $(pwd)"\n',
    '.profile.d/greet.sh': 'export GREETING=hello-from-profile\n',
  });
  const r = await b.build2(dir, { tags: ['demo:latest'], commit: 'a1b2c3d4e5f6' });
  t.is(r.error, undefined, `${r.error?.message}\n${r.text}`);
  t.true(r.lines.includes('-----> Procfile app detected'), r.text);
  t.true(r.lines.includes('-----> Discovering process types'), r.text);
  t.true(r.lines.includes('       Procfile declares types     -> web, worker'), r.text);
  t.regex(r.text, /-----> Compressing\.\.\.\n {7}Done: \d+\.\dM/);
  const config = r.result!.image.config.config!;
  t.deepEqual(JSON.parse(config.Labels!['berth.process-types']!), { web: 'echo "web on $PORT with $GREETING"', worker: 'echo "worker $HOME $(pwd)"' });
  t.deepEqual(JSON.parse(config.Labels!['berth.buildpacks']!), [{ name: 'procfile', revision: `berth-0.1.0` }]);
  t.is(config.Labels!['berth.source-commit'], 'a1b2c3d4e5f6');
  t.deepEqual(config.Cmd, ['/start', 'web']);
  t.is(config.WorkingDir, '/app');
  t.deepEqual(r.result!.tags, ['demo:latest']);
  t.is(r.result!.image.manifest.layers.length, (await b.c.store.resolve('stack:bookworm')).manifest.layers.length + 1, 'one slug layer on the stack');

  const web = await b.runImage('demo:latest');
  t.is(web.exitCode, 0, web.stderr);
  t.is(web.stdout, 'web on 5000 with hello-from-profile\n');
  const worker = await b.runImage('demo:latest', ['/start', 'worker']);
  t.is(worker.stdout, 'worker /app /app\n', worker.stderr);
  const one = await b.runImage('demo:latest', ['/exec', 'bash', '-c', 'echo "$GREETING $PORT"']);
  t.is(one.stdout, 'hello-from-profile 5000\n', one.stderr);
  const bad = await b.runImage('demo:latest', ['/start', 'nope']);
  t.is(bad.exitCode, 127);
  t.regex(bad.stderr, /no process type nope in this image \(it has: web worker\)/);
  t.deepEqual(b.leftovers(), []);
});
