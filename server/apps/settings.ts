/**
 * The values an app's settings take (docs/apps.md, "Settings"), each checked once here:
 * a buildpack, the builder, the deploy branch. Rejected, never repaired, each error naming
 * the value and the command that sets it.
 */
import { BerthError } from '../core/index.js';
import type { BuilderName } from './types.js';

export const builderNames: readonly BuilderName[] = ['dockerfile', 'herokuish'];

/** The branches a push deploys when the app sets none (`git:set APP deploy-branch`): main, else master, as Dokku. */
export const DEFAULT_DEPLOY_BRANCHES: readonly string[] = ['main', 'master'];

function invalid(what: string, value: string, why: string, hint: string): BerthError {
  return new BerthError('E_APP_SETTING_INVALID', `invalid ${what} ${JSON.stringify(value)}: ${why}`, { hint, details: { setting: what, value } });
}

const buildpackHint =
  'Give a bundled buildpack by name (nodejs, python, static, procfile), an absolute path on the server, or a git URL (https://host/repo.git#ref), with `berth buildpacks:set APP BUILDPACK`.';

/**
 * A buildpack as `buildpacks:set|add` takes it: a name (`nodejs`, or a shorthand such as
 * `heroku/nodejs`), an absolute path on the server, or a URL whose scheme git clones
 * (https, http, ssh, git, file), optionally ending in `#ref`. Whitespace and control
 * characters are refused, and so is a leading dash (it would read as a flag to git).
 */
export function validateBuildpack(value: string): string {
  const fail = (why: string): never => {
    throw invalid('buildpack', value, why, buildpackHint);
  };
  if (value === '') fail('it is empty');
  if (value.length > 1024) fail(`it is ${value.length} characters long, more than 1024`);
  const bad = /[\s\p{Cc}\p{Cf}]/u.exec(value);
  if (bad) fail(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()} is not allowed`);
  if (value.startsWith('-')) fail('it starts with "-"');
  if (value.startsWith('/')) {
    if (value.split('/').includes('..')) fail('a path may not contain ".."');
    return value;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) {
    if (!['https', 'http', 'ssh', 'git', 'file'].includes(scheme[1]!.toLowerCase()))
      fail(`URL scheme ${scheme[1]}: is not one git clones (https, http, ssh, git, file)`);
    return value;
  }
  if (/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?$/.test(value)) return value;
  return fail('it is neither a name (lowercase letters, digits, ".", "_", "-", one "/"), an absolute path, nor a URL');
}

/** The builder of `builder:set APP selected X`: dockerfile or herokuish. */
export function validateBuilder(value: string): BuilderName {
  if ((builderNames as readonly string[]).includes(value)) return value as BuilderName;
  throw invalid(
    'builder',
    value,
    `choose ${builderNames.join(' or ')}`,
    'Run `berth builder:set APP selected dockerfile|herokuish`, or `selected ""` for automatic.',
  );
}

/**
 * A deploy branch as `git:set APP deploy-branch B` takes it: a branch name git accepts
 * (git-check-ref-format(1)), without the `refs/heads/` prefix.
 */
export function validateDeployBranch(value: string): string {
  const fail = (why: string): never => {
    throw invalid('deploy branch', value, why, 'Give a branch name as git accepts it (`main`, `release/2`), with `berth git:set APP deploy-branch BRANCH`.');
  };
  if (value === '') fail('it is empty');
  if (value.length > 255) fail(`it is ${value.length} characters long, more than 255`);
  const bad = /[\s\p{Cc}~^:?*[\\\x7f]/u.exec(value);
  if (bad)
    fail(
      `character ${/[\s\p{Cc}]/u.test(bad[0]) ? `U+${(bad[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}` : `'${bad[0]}'`} is not allowed`,
    );
  if (value.startsWith('-')) fail('it starts with "-"');
  if (value.startsWith('refs/')) fail('give the branch name without refs/heads/');
  if (value === '@') fail('"@" alone is not a branch name');
  if (value.includes('..')) fail('it contains ".."');
  if (value.includes('@{')) fail('it contains "@{"');
  if (value.endsWith('/') || value.endsWith('.')) fail(`it ends with "${value.slice(-1)}"`);
  for (const part of value.split('/')) {
    if (part === '') fail('it has an empty path component ("//" or a leading "/")');
    if (part.startsWith('.')) fail(`its component "${part}" starts with "."`);
    if (part.endsWith('.lock')) fail(`its component "${part}" ends with ".lock"`);
  }
  return value;
}
