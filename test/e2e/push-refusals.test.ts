/**
 * Pushes the real daemon refuses, each with a clear reason on the `git push` terminal and
 * nothing of it left behind: a wrong token (401, nothing stored), an app name that is not
 * valid, a tree no buildpack can build (the buildpacks tried are named), and a release phase
 * that fails (the running release keeps serving).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { workTree } from '../helpers/git-server.js';
import { fixtureTree, nextVersion, push, startPushDaemon } from '../helpers/push-daemon.js';
import { uniqueName } from '../helpers/temp-dir.js';

test('a wrong token, a bad app name, an undetectable tree and a failing release phase are refused, naming why', async (t) => {
  t.timeout(5 * 60_000);
  const d = await startPushDaemon(t);
  const app = uniqueName('app');
  const work = await fixtureTree(t, 'v1');

  const unauthorized = await push(work, d.remote(app, 'not-the-token'));
  t.not(unauthorized.code, 0);
  t.regex(unauthorized.stderr, /Authentication failed for /);
  t.false(existsSync(join(d.home, 'apps', app)), 'nothing stored, no app created');
  t.is((await d.cli('apps:list')).stdout, '=====> My Apps\n');

  const badName = await push(work, d.remote('My_App'));
  t.not(badName.code, 0);
  // git prints an HTTP error's body only when it is text/plain; the API's is JSON.
  t.regex(badName.stderr, /unable to access '.*\/My_App\.git\/': The requested URL returned error: 400/);
  t.is((await d.cli('apps:list')).stdout, '=====> My Apps\n', 'no app created');

  const plain = await workTree(t, { 'README.md': 'nothing to run here\n' });
  const undetectable = await push(plain, d.remote(uniqueName('plain')));
  t.not(undetectable.code, 0);
  t.regex(
    undetectable.stderr,
    /^remote: {2}! {5}the build stage failed: no buildpack detected the app: tried nodejs, python, static, procfile .*\[E_BUILD_BUILDPACK_NOT_DETECTED\]$/m,
  );
  t.regex(undetectable.stderr, /Add a Procfile/);
  t.regex(undetectable.stderr, /pre-receive hook declined/);

  t.is((await push(work, d.remote(app))).code, 0);
  await nextVersion(work, 'v2', { Procfile: 'web: exec busybox httpd -f -p "$PORT" -h /app\nrelease: echo "migrating v2"; exit 3\n' });
  const phase = await push(work, d.remote(app));
  t.not(phase.code, 0);
  t.regex(phase.stderr, /^remote: -----> Running the release phase: /m);
  t.regex(phase.stderr, /^remote: migrating v2$/m, 'its output streams to the push');
  t.regex(phase.stderr, /the release-phase stage failed: .* exited with status 3/);
  t.regex(phase.stderr, /E_RELEASE_PHASE_FAILED/);
  t.regex(phase.stderr, /Release v1 keeps serving, untouched\./);
  t.regex(phase.stderr, /pre-receive hook declined/);
  t.is((await d.get(app)).body, 'v1\n');
  t.deepEqual(await d.containersOf(app), [`${app}.web.1.r1`], 'no container of v2 is left (the one-off included)');
});
