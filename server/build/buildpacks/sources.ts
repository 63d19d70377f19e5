/**
 * Which buildpacks a build uses, and where each is on this machine (docs/buildpacks.md,
 * "Detection and order").
 *
 * The list, first found wins: the app's setting (`buildpacks:set`), the source's
 * `.buildpacks` file, the app's `BUILDPACK_URL` config var, app.json's `buildpacks`; without
 * any, every bundled buildpack in BUNDLED_ORDER is offered to detection. An entry is a
 * bundled buildpack's name (`nodejs`, or Heroku's `heroku/nodejs`), an absolute path on the
 * server, or a git URL with an optional `#ref`. Git URLs are cloned here, by the daemon on
 * the host, into the build's own directory: never from inside the build container.
 */
import { constants } from 'node:fs';
import { access, lstat, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, berthVersion, isErrno, run } from '../../core/index.js';

/** The repository's `buildpacks/` folder. */
export const bundledRoot = fileURLToPath(new URL('../../../buildpacks/', import.meta.url));

/** The bundled buildpacks detection tries, in this order (those present in `buildpacks/`). The null buildpack `procfile` comes last. */
export const BUNDLED_ORDER = ['nodejs', 'python', 'static', 'procfile'] as const;

/** One buildpack, ready to be mounted into the build container. */
export interface Buildpack {
  /** What is shown: the bundled name, the directory's name, or the URL without its ref. */
  name: string;
  /** As the app or the source gave it. */
  given: string;
  /** Its directory on the host. */
  dir: string;
  /** A bundled one's Berth version, a clone's commit, a local directory's commit (if it is a git checkout) or `local`. */
  revision: string;
}

/** Where the list came from (shown in the log). */
export type ListSource = 'app' | '.buildpacks' | 'BUILDPACK_URL' | 'app.json' | 'detection';

const GIT_URL = /^(?:https?|git|ssh|file):\/\/[^\s#]+(?:#[^\s#]+)?$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s#]+(?:#[^\s#]+)?$/;
const BUNDLED_NAME = /^(?:heroku\/)?([a-z0-9][a-z0-9._-]*)$/;

function unavailable(given: string, message: string, cause?: unknown): BerthError {
  return new BerthError('E_BUILD_BUILDPACK_UNAVAILABLE', `buildpack ${given}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { buildpack: given, phase: 'fetch' },
  });
}

/** The buildpack list the source and the settings ask for, and where it came from; empty with 'detection'. */
export async function chooseList(
  dir: string,
  settings: { buildpacks?: string[]; env?: Record<string, string> },
): Promise<{ list: string[]; from: ListSource }> {
  if (settings.buildpacks !== undefined && settings.buildpacks.length > 0) return { list: settings.buildpacks, from: 'app' };
  const file = await readSourceFile(dir, '.buildpacks');
  if (file !== undefined) {
    const list = file
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (list.length > 0) return { list, from: '.buildpacks' };
  }
  const url = settings.env?.BUILDPACK_URL?.trim();
  if (url) return { list: [url], from: 'BUILDPACK_URL' };
  const appJson = await readSourceFile(dir, 'app.json');
  if (appJson !== undefined) {
    const list = appJsonBuildpacks(appJson);
    if (list.length > 0) return { list, from: 'app.json' };
  }
  return { list: [], from: 'detection' };
}

/** app.json's `buildpacks`: `[{ "url": "…" }, …]` (Heroku's format). */
export function appJsonBuildpacks(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BerthError('E_BUILD_APP_JSON_INVALID', `app.json is not JSON: ${(e as Error).message}`, { cause: e, details: { file: 'app.json' } });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BerthError('E_BUILD_APP_JSON_INVALID', 'app.json is not a JSON object');
  const list = (doc as { buildpacks?: unknown }).buildpacks;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new BerthError('E_BUILD_APP_JSON_INVALID', 'app.json: buildpacks must be a list of {"url": "…"} objects');
  return list.map((b, i) => {
    const url = (b as { url?: unknown } | null)?.url;
    if (typeof url !== 'string' || url.trim() === '') {
      throw new BerthError('E_BUILD_APP_JSON_INVALID', `app.json: buildpacks[${i}] must be {"url": "…"}, not ${JSON.stringify(b)}`, { details: { index: i } });
    }
    return url.trim();
  });
}

/** A regular file at the top of the source (a symlink is not followed: the source is untrusted). */
async function readSourceFile(dir: string, name: string): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    if (!(await lstat(path)).isFile()) return undefined;
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

/**
 * What keeps `dir` from being a buildpack, undefined when nothing does: a missing or
 * non-executable bin/detect or bin/compile ("executable bin/compile (…)", read after
 * "it has no").
 */
async function isBuildpack(dir: string): Promise<string | undefined> {
  for (const f of ['bin/detect', 'bin/compile']) {
    try {
      await access(join(dir, f), constants.X_OK);
    } catch {
      const s = await stat(join(dir, f)).catch(() => undefined);
      if (s === undefined) return `executable ${f}`;
      if (!s.isFile()) return `executable ${f} (it is not a regular file)`;
      return `executable ${f} (the file is there, mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}: make it executable with chmod +x)`;
    }
  }
  return undefined;
}

/**
 * The bundled buildpacks present, in detection order. One whose folder is there but is not
 * a buildpack (a bin/compile that lost its x bit in a copy) is an error, not skipped: a
 * skipped one would leave its apps to the next buildpack's detection, or to none.
 */
export async function bundledBuildpacks(root = bundledRoot): Promise<Buildpack[]> {
  const out: Buildpack[] = [];
  for (const name of BUNDLED_ORDER) {
    const dir = join(root, name);
    if ((await lstat(dir).catch(() => undefined)) === undefined) continue;
    const missing = await isBuildpack(dir);
    if (missing !== undefined) throw unavailable(name, `the bundled buildpack in ${dir} is broken: it has no ${missing}`);
    out.push({ name, given: name, dir, revision: `berth-${berthVersion}` });
  }
  return out;
}

/** The commit checked out in `dir`, when `dir` is itself the top of a git checkout (not a folder inside one). */
async function gitHead(dir: string): Promise<string | undefined> {
  if ((await lstat(join(dir, '.git')).catch(() => undefined)) === undefined) return undefined;
  const r = await run('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeoutMs: 10_000, allowFailure: true }).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * The buildpack `given` on this machine: a bundled one, a local directory, or a clone of a
 * git URL made in `cloneDir` (which must not exist yet).
 */
export async function fetchBuildpack(given: string, cloneDir: string, root = bundledRoot): Promise<Buildpack> {
  if (given.startsWith('/')) {
    const s = await stat(given).catch((e: unknown) => {
      throw unavailable(given, `cannot read the directory: ${(e as Error).message}`, e);
    });
    if (!s.isDirectory()) throw unavailable(given, 'is not a directory');
    const missing = await isBuildpack(given);
    if (missing !== undefined) throw unavailable(given, `is not a buildpack: it has no ${missing}`);
    return { name: basename(given), given, dir: given, revision: (await gitHead(given)) ?? 'local' };
  }
  const bundled = BUNDLED_NAME.exec(given);
  if (bundled) {
    const name = bundled[1] as string;
    const dir = join(root, name);
    const missing = (await lstat(dir).catch(() => undefined)) === undefined ? 'absent' : await isBuildpack(dir);
    if (missing === undefined) return { name, given, dir, revision: `berth-${berthVersion}` };
    if (missing !== 'absent') throw unavailable(given, `the bundled buildpack in ${dir} is broken: it has no ${missing}`);
    const known = (await bundledBuildpacks(root)).map((b) => b.name);
    throw unavailable(given, `no bundled buildpack of that name (bundled: ${known.join(', ') || 'none'}); give a git URL or an absolute path for another`);
  }
  if (!GIT_URL.test(given)) {
    throw unavailable(given, 'is neither a bundled buildpack name, an absolute path nor a git URL (https://host/repo.git#ref, file://, ssh://, git@host:repo)');
  }
  const hash = given.lastIndexOf('#');
  const url = hash > 0 && !given.slice(hash).includes('/') ? given.slice(0, hash) : given;
  const ref = url === given ? undefined : given.slice(hash + 1);
  return cloneBuildpack(given, url, ref, cloneDir);
}

async function cloneBuildpack(given: string, url: string, ref: string | undefined, dir: string): Promise<Buildpack> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/false', GIT_SSH_COMMAND: 'ssh -o BatchMode=yes' };
  const git = async (args: string[]): Promise<{ ok: boolean; err: string }> => {
    const r = await run('git', args, { timeoutMs: 120_000, env, allowFailure: true, installHint: 'git' });
    return { ok: r.code === 0, err: r.signal ? `git was killed by ${r.signal} (timed out after 120 s?)` : r.stderr.trim() };
  };
  const first = await git(['clone', '--quiet', '--depth', '1', ...(ref === undefined ? [] : ['--branch', ref]), '--', url, dir]);
  if (!first.ok) {
    // A commit id is not a branch: clone it all, then check the commit out.
    const commit = ref !== undefined && /^[0-9a-f]{7,40}$/.test(ref);
    const full = commit ? await git(['clone', '--quiet', '--', url, dir]) : first;
    if (!full.ok) throw unavailable(given, `git clone ${url} failed: ${full.err.split('\n').slice(-3).join(' ')}`);
    const co = await git(['-C', dir, 'checkout', '--quiet', '--detach', ref as string]);
    if (!co.ok) throw unavailable(given, `${url} has no ref ${ref as string}: ${co.err}`);
  }
  const missing = await isBuildpack(dir);
  if (missing !== undefined) throw unavailable(given, `${url} is not a buildpack: it has no ${missing}`);
  const name =
    url
      .replace(/\/+$/, '')
      .replace(/\.git$/, '')
      .split(/[/:]/)
      .pop() || url;
  return { name, given, dir, revision: (await gitHead(dir)) ?? ref ?? 'unknown' };
}
