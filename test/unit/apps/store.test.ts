/**
 * The apps store on a temp BERTH_HOME: create (record, bare repo, cache, a range of its
 * own), get/list/find, rename, destroy with its hooks, update (one writer per app, checked,
 * fixed fields refused), releases numbered and never reused, purge-cache, recover.
 */
import test from 'ava';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppStore, type AppHooks, type AppRecord } from '../../../server/apps/index.js';
import { BerthError, run } from '../../../server/core/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A store on a fresh home that reserves nothing from /etc/subuid (the host's files are not the test's). */
async function storeOf(t: Parameters<typeof tempDir>[0], hooks: AppHooks[] = [], slots?: number): Promise<{ home: string; store: AppStore }> {
  const home = await tempDir(t, 'berth-apps-');
  const store = new AppStore({ home, hooks, userns: { reservedFiles: [], ...(slots === undefined ? {} : { slots }) } });
  return { home, store };
}

const release = {
  image: `sha256:${'a'.repeat(64)}`,
  builder: 'herokuish' as const,
  env: {},
  processTypes: { web: 'node server.js' },
  scale: { web: 1 },
  description: 'Deploy 1a2b3c4',
};

test('create makes the record, a bare repo on main, an empty cache and releases dir, each private', async (t) => {
  const { home, store } = await storeOf(t);
  const app = await store.create('hello');
  t.is(app.name, 'hello');
  t.deepEqual(
    { ...app, createdAt: 'x' },
    { name: 'hello', createdAt: 'x', buildpacks: [], env: {}, scale: {}, domains: [], userns: { hostId: 0x7000_0000, size: 65_536 } },
  );
  t.true(Math.abs(Date.parse(app.createdAt) - Date.now()) < 60_000);
  const paths = store.paths('hello');
  t.deepEqual(paths, { dir: join(home, 'apps', 'hello'), repo: join(home, 'apps', 'hello', 'repo.git'), cache: join(home, 'apps', 'hello', 'cache') });
  const bare = await run('git', ['rev-parse', '--is-bare-repository'], { cwd: paths.repo });
  t.is(bare.stdout.trim(), 'true');
  const head = await run('git', ['symbolic-ref', 'HEAD'], { cwd: paths.repo });
  t.is(head.stdout.trim(), 'refs/heads/main');
  t.deepEqual(await readdir(paths.cache), []);
  t.is((await stat(join(paths.dir, 'app.json'))).mode & 0o777, 0o600, 'config vars are secrets');
  t.is((await stat(paths.cache)).mode & 0o777, 0o700);
  t.deepEqual((await readdir(join(home, 'apps'))).sort(), ['hello'], 'no temp directory is left');
  t.deepEqual(await store.get('hello'), app);
  t.deepEqual(await store.find('hello'), app);
});

test('create refuses a bad name (naming the character) and an existing app, creating nothing', async (t) => {
  const { home, store } = await storeOf(t);
  const bad = await t.throwsAsync(store.create('Hello'));
  t.is((bad as BerthError).code, 'E_NAME_INVALID');
  t.regex(bad!.message, /character 'H' at position 1 is not allowed/);
  await t.throwsAsync(store.create('../etc'), { message: /invalid app name/ });
  await store.create('hello');
  const again = await t.throwsAsync(store.create('hello'));
  t.is((again as BerthError).code, 'E_APP_EXISTS');
  t.is((again as BerthError).httpStatus, 409);
  t.is(again!.message, 'app hello already exists');
  t.deepEqual(await readdir(join(home, 'apps')), ['hello']);
});

test('a directory in the way that holds no app is E_APP_EXISTS naming it, and left alone', async (t) => {
  const { home, store } = await storeOf(t);
  await mkdir(join(home, 'apps', 'stray'), { recursive: true });
  await writeFile(join(home, 'apps', 'stray', 'keep'), 'x');
  const e = await t.throwsAsync(store.create('stray'));
  t.is((e as BerthError).code, 'E_APP_EXISTS');
  t.regex(e!.message, /apps\/stray exists but holds no app/);
  t.is(await readFile(join(home, 'apps', 'stray', 'keep'), 'utf8'), 'x');
  t.deepEqual(await store.list(), [], 'a directory without app.json is not an app');
});

test('get of an unknown app is E_APP_NOT_FOUND with a hint naming apps:create; find answers undefined', async (t) => {
  const { store } = await storeOf(t);
  const e = await t.throwsAsync(store.get('nope'));
  t.is((e as BerthError).code, 'E_APP_NOT_FOUND');
  t.is((e as BerthError).httpStatus, 404);
  t.is(e!.message, 'app nope does not exist');
  t.regex((e as BerthError).hint, /berth apps:create nope/);
  t.is(await store.find('nope'), undefined);
  t.deepEqual(await store.list(), [], 'no apps directory yet is no apps');
});

test('list is sorted by name and skips what is not an app', async (t) => {
  const { home, store } = await storeOf(t);
  for (const n of ['zeta', 'alpha', 'mid-1']) await store.create(n);
  await mkdir(join(home, 'apps', '.new-half-abc'));
  t.deepEqual(
    (await store.list()).map((a) => a.name),
    ['alpha', 'mid-1', 'zeta'],
  );
});

test('each app gets its own user-namespace range; concurrent creates never share one; a destroyed range is reused', async (t) => {
  const { store } = await storeOf(t);
  const names = Array.from({ length: 12 }, (_, i) => `app-${i}`);
  const apps = await Promise.all(names.map((n) => store.create(n)));
  const ids = apps.map((a) => a.userns.hostId).sort((a, b) => a - b);
  t.deepEqual(
    ids,
    names.map((_, i) => 0x7000_0000 + i * 65_536),
    'the lowest free slots, one each',
  );
  for (const a of apps) t.is(a.userns.size, 65_536);
  const freed = apps.find((a) => a.name === 'app-3')!.userns;
  await store.destroy('app-3');
  t.deepEqual((await store.create('later')).userns, freed, 'the lowest free slot again');
});

test('ranges in /etc/subuid-format files are skipped, and a full window is E_APP_USERNS_EXHAUSTED', async (t) => {
  const home = await tempDir(t, 'berth-apps-');
  const subuid = join(home, 'subuid');
  // Slot 0 reserved by a user entry, slot 1 by an overlapping one; comments and junk carry no range.
  await writeFile(subuid, `# comment\nalice:${0x7000_0000}:65536\nbob:${0x7000_0000 + 65_536 + 10}:5\nbroken line\n`);
  const store = new AppStore({ home, userns: { reservedFiles: [subuid, join(home, 'missing')], slots: 3 } });
  t.is((await store.create('one')).userns.hostId, 0x7000_0000 + 2 * 65_536);
  const e = await t.throwsAsync(store.create('two'));
  t.is((e as BerthError).code, 'E_APP_USERNS_EXHAUSTED');
  t.regex(e!.message, /app two cannot be created: all 3 user-namespace ranges are taken/);
  t.is(await store.find('two'), undefined);
});

test('update: many concurrent writers to one app all land, in order, each write whole', async (t) => {
  const { home, store } = await storeOf(t);
  await store.create('busy');
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      store.update('busy', (app) => {
        order.push(i);
        app.env[`K${i}`] = String(i);
        app.scale.web = i;
      }),
    ),
  );
  const app = await store.get('busy');
  t.is(Object.keys(app.env).length, 40, 'no update was lost');
  t.deepEqual(
    order,
    Array.from({ length: 40 }, (_, i) => i),
    'served in the order they asked',
  );
  t.is(app.scale.web, 39);
  t.deepEqual(
    (await readdir(join(home, 'apps', 'busy'))).filter((n) => n.includes('.berth-tmp-')),
    [],
    'no temp file left',
  );
});

test('update refuses what breaks a rule, writing nothing: a bad config key, a bad buildpack, the fixed fields', async (t) => {
  const { store } = await storeOf(t);
  const before = await store.create('strict');
  const key = await t.throwsAsync(store.update('strict', (a) => void (a.env['1BAD'] = 'x')));
  t.is((key as BerthError).code, 'E_APP_SETTING_INVALID');
  t.regex(key!.message, /env\.1BAD: invalid config key "1BAD"/);
  const pack = await t.throwsAsync(store.update('strict', (a) => a.buildpacks.push('--upload-pack=x')));
  t.regex(pack!.message, /buildpacks\[0\]: invalid buildpack "--upload-pack=x": it starts with "-"/);
  for (const change of [
    (a: AppRecord) => void (a.userns = { hostId: 1, size: 1 }),
    (a: AppRecord) => void (a.lastRelease = 9),
    (a: AppRecord) => void (a.name = 'other'),
  ]) {
    const e = await t.throwsAsync(store.update('strict', change));
    t.is((e as BerthError).code, 'E_BERTH_INTERNAL');
    t.regex(e!.message, /tried to change (userns|lastRelease|name), which only the apps store sets/);
  }
  const current = await t.throwsAsync(store.update('strict', (a) => void (a.currentRelease = 4)));
  t.is((current as BerthError).code, 'E_RELEASE_NOT_FOUND', 'the current release must exist');
  t.deepEqual(await store.get('strict'), before);
  const missing = await t.throwsAsync(store.update('ghost', () => {}));
  t.is((missing as BerthError).code, 'E_APP_NOT_FOUND');
});

test('a damaged app.json is E_APP_RECORD_INVALID naming the file and the field, never repaired', async (t) => {
  const { store } = await storeOf(t);
  await store.create('broken');
  const file = join(store.paths('broken').dir, 'app.json');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('"buildpacks": []', '"buildpacks": [7]'));
  const e = await t.throwsAsync(store.get('broken'));
  t.is((e as BerthError).code, 'E_APP_RECORD_INVALID');
  t.true(e!.message.startsWith(`${file} is not a valid state file: buildpacks[0]:`), e!.message);
  await writeFile(file, '{');
  t.regex((await t.throwsAsync(store.get('broken')))!.message, /app\.json is not valid JSON/);
  await writeFile(file, text);
  t.is((await store.get('broken')).name, 'broken');
});

test('releases are numbered 1, 2, 3…, listed oldest first, and a number is never reused', async (t) => {
  const { store } = await storeOf(t);
  await store.create('rel');
  t.deepEqual(await store.releases('rel'), []);
  const r1 = await store.addRelease('rel', release);
  const r2 = await store.addRelease('rel', { ...release, builder: 'none', description: 'Set FOO', env: { FOO: 'bar' } });
  t.is(r1.number, 1);
  t.is(r2.number, 2);
  t.deepEqual(await store.release('rel', 2), r2);
  t.deepEqual(
    (await store.releases('rel')).map((r) => r.number),
    [1, 2],
  );
  // A release record that disappears (pruned by hand) does not give its number back.
  const { rm } = await import('node:fs/promises');
  await rm(join(store.paths('rel').dir, 'releases', '2.json'));
  t.is((await store.addRelease('rel', release)).number, 3);
  t.is((await store.get('rel')).lastRelease, 3);
  for (let i = 4; i <= 11; i++) await store.addRelease('rel', release);
  t.deepEqual(
    (await store.releases('rel')).map((r) => r.number),
    [1, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    'numeric order, not string order',
  );
  const e = await t.throwsAsync(store.release('rel', 2));
  t.is((e as BerthError).code, 'E_RELEASE_NOT_FOUND');
  t.is(e!.message, 'app rel has no release v2');
  t.regex((e as BerthError).hint, /berth releases rel/);
  t.is((await t.throwsAsync<BerthError>(store.release('rel', 0)))!.code, 'E_RELEASE_NOT_FOUND');
});

test('concurrent addRelease calls get distinct consecutive numbers', async (t) => {
  const { store } = await storeOf(t);
  await store.create('race');
  const got = await Promise.all(Array.from({ length: 15 }, () => store.addRelease('race', release)));
  t.deepEqual(
    got.map((r) => r.number).sort((a, b) => a - b),
    Array.from({ length: 15 }, (_, i) => i + 1),
  );
});

test('a bad release is refused before a number is spent', async (t) => {
  const { store } = await storeOf(t);
  await store.create('rel');
  const e = await t.throwsAsync(store.addRelease('rel', { ...release, commit: 'abc' }));
  t.is((e as BerthError).code, 'E_APP_SETTING_INVALID');
  t.regex(e!.message, /commit: a full commit id/);
  t.is((await store.get('rel')).lastRelease, undefined);
  t.is((await store.addRelease('rel', { ...release, commit: 'f'.repeat(40) })).number, 1);
});

test('setCurrent marks an existing release, and refuses one that does not exist', async (t) => {
  const { store } = await storeOf(t);
  await store.create('cur');
  await store.addRelease('cur', release);
  await store.setCurrent('cur', 1);
  t.is((await store.get('cur')).currentRelease, 1);
  t.is((await t.throwsAsync<BerthError>(store.setCurrent('cur', 2)))!.code, 'E_RELEASE_NOT_FOUND');
  t.is((await store.get('cur')).currentRelease, 1);
});

test('a destroyed then recreated app starts its releases anew', async (t) => {
  const { store } = await storeOf(t);
  await store.create('again');
  await store.addRelease('again', release);
  await store.addRelease('again', release);
  await store.destroy('again');
  await store.create('again');
  t.deepEqual(await store.releases('again'), []);
  t.is((await store.addRelease('again', release)).number, 1);
});

test('hooks: created after the repo exists; a failing created hook undoes the create', async (t) => {
  const seen: string[] = [];
  const { home, store } = await storeOf(t, [
    {
      created: async (app) => {
        seen.push(`created ${app.name} ${(await stat(join(home, 'apps', app.name, 'repo.git', 'HEAD'))).isFile()}`);
        if (app.name === 'fails') throw new BerthError('E_EXEC_FAILED', 'hook install failed');
      },
    },
  ]);
  await store.create('ok');
  const e = await t.throwsAsync(store.create('fails'));
  t.is(e!.message, 'hook install failed');
  t.deepEqual(seen, ['created ok true', 'created fails true']);
  t.deepEqual(await readdir(join(home, 'apps')), ['ok'], 'nothing of the failed app is left');
});

test('destroy runs every destroying hook, then removes everything; a failing hook keeps the app', async (t) => {
  const seen: string[] = [];
  let fail = true;
  const { home, store } = await storeOf(t, [
    {
      destroying: async (app) => {
        seen.push(`containers ${app.name}`);
        if (fail) throw new BerthError('E_RUNTIME_FAILED', 'kill failed');
      },
    },
    { destroying: async (app) => void seen.push(`proxy ${app.name} ${(await store.get(app.name)).name}`) },
  ]);
  await store.create('doomed');
  await writeFile(join(store.paths('doomed').cache, 'big'), 'cache');
  const e = await t.throwsAsync(store.destroy('doomed'));
  t.is(e!.message, 'kill failed');
  t.deepEqual(seen, ['containers doomed', 'proxy doomed doomed'], 'the other hooks still ran');
  t.is((await store.get('doomed')).name, 'doomed', 'kept, so destroy can run again');
  fail = false;
  await store.destroy('doomed');
  t.deepEqual(await readdir(join(home, 'apps')), []);
  const gone = await t.throwsAsync(store.destroy('doomed'));
  t.is((gone as BerthError).code, 'E_APP_NOT_FOUND');
});

test('a changing hook refuses destroy and rename before anything is touched', async (t) => {
  const seen: string[] = [];
  let busy = true;
  const { store } = await storeOf(t, [
    {
      changing: async (app, change) => {
        seen.push(`${change} ${app.name}`);
        if (busy) throw new BerthError('E_APP_DEPLOY_RUNNING', `app ${app.name} deploys`);
      },
      destroying: async () => void seen.push('destroying'),
      renamed: async () => void seen.push('renamed'),
    },
  ]);
  await store.create('busy');
  t.is((await t.throwsAsync<BerthError>(store.destroy('busy')))!.code, 'E_APP_DEPLOY_RUNNING');
  t.is((await t.throwsAsync<BerthError>(store.rename('busy', 'other')))!.code, 'E_APP_DEPLOY_RUNNING');
  t.deepEqual(seen, ['destroy busy', 'rename busy'], 'no other hook ran');
  t.is((await store.get('busy')).name, 'busy');
  t.is(await store.find('other'), undefined);
  busy = false;
  await store.rename('busy', 'other');
  t.deepEqual(seen.slice(2), ['rename busy', 'renamed']);
});

test('while its destroying hooks run, the app reads as E_APP_DESTROYING to everyone but those hooks, and list skips it', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHook = new Promise<void>((resolve) => (entered = resolve));
  const { store } = await storeOf(t, [
    {
      destroying: async (app) => {
        t.is((await store.get(app.name)).name, 'leaving', 'the hook itself still reads the app');
        entered();
        await gate;
      },
    },
  ]);
  await store.create('leaving');
  await store.create('staying');
  const destroyed = store.destroy('leaving');
  await inHook;
  const e = await t.throwsAsync<BerthError>(store.get('leaving'));
  t.is(e!.code, 'E_APP_DESTROYING');
  t.is(e!.message, 'app leaving is being destroyed');
  t.is((await t.throwsAsync<BerthError>(store.find('leaving')))!.code, 'E_APP_DESTROYING');
  t.deepEqual(
    (await store.list()).map((a) => a.name),
    ['staying'],
  );
  release();
  await destroyed;
  t.is(await store.find('leaving'), undefined, 'gone afterwards: a plain not-found again');
});

test('rename moves record, releases, repo and cache; keeps the range; refuses a taken name', async (t) => {
  const seen: string[] = [];
  const { home, store } = await storeOf(t, [{ renamed: async (from, app) => void seen.push(`${from}->${app.name}`) }]);
  const old = await store.create('old');
  await store.create('taken');
  await store.addRelease('old', release);
  await writeFile(join(store.paths('old').cache, 'f'), 'x');
  const renamed = await store.rename('old', 'new');
  t.deepEqual(renamed, { ...old, name: 'new', lastRelease: 1 });
  t.deepEqual(seen, ['old->new']);
  t.is(await store.find('old'), undefined);
  t.is((await store.release('new', 1)).number, 1);
  t.is(await readFile(join(store.paths('new').cache, 'f'), 'utf8'), 'x');
  t.is((await run('git', ['rev-parse', '--is-bare-repository'], { cwd: store.paths('new').repo })).stdout.trim(), 'true');
  const e = await t.throwsAsync(store.rename('new', 'taken'));
  t.is((e as BerthError).code, 'E_APP_EXISTS');
  t.is((await t.throwsAsync<BerthError>(store.rename('ghost', 'x')))!.code, 'E_APP_NOT_FOUND');
  t.is((await t.throwsAsync<BerthError>(store.rename('new', 'Bad')))!.code, 'E_NAME_INVALID');
  t.deepEqual((await readdir(join(home, 'apps'))).sort(), ['new', 'taken']);
});

test('purgeCache empties the cache and keeps its mode', async (t) => {
  const { store } = await storeOf(t);
  await store.create('cached');
  const { cache } = store.paths('cached');
  await mkdir(join(cache, 'node', 'v24'), { recursive: true });
  await writeFile(join(cache, 'node', 'v24', 'bin'), 'x');
  await chmod(cache, 0o750);
  await store.purgeCache('cached');
  t.deepEqual(await readdir(cache), []);
  t.is((await stat(cache)).mode & 0o777, 0o750);
  t.deepEqual(
    (await readdir(store.dir)).filter((n) => n.startsWith('.')),
    [],
    'the old cache is gone',
  );
  t.is((await t.throwsAsync<BerthError>(store.purgeCache('ghost')))!.code, 'E_APP_NOT_FOUND');
});

test('recover removes half-made apps, half-removed ones and stale temp files, and nothing else', async (t) => {
  const { store } = await storeOf(t);
  await store.create('kept');
  await mkdir(join(store.dir, '.new-half-0011'));
  await mkdir(join(store.dir, '.trash-gone-2233', 'deep'), { recursive: true });
  const stale = join(store.paths('kept').dir, '.app.json.berth-tmp-abcdef');
  await writeFile(stale, '{');
  const removed = await store.recover();
  t.deepEqual(removed.sort(), ['.new-half-0011', '.trash-gone-2233', join('kept', '.app.json.berth-tmp-abcdef')].sort());
  t.deepEqual(await readdir(store.dir), ['kept']);
  t.is((await store.get('kept')).name, 'kept');
});
