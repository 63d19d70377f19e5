/**
 * Where COPY and ADD read from: the build context (a directory, less what `.dockerignore`
 * excludes, with @balena/dockerignore for Docker's exact pattern rules) or the file tree of
 * a stage or an image (rootfs.ts). Both are a `SourceTree`; sources are matched against it
 * with Docker's wildcards (Go's filepath.Match: `*`, `?`, `[a-z]`, `[^a]`, `\` escapes; a
 * wildcard never crosses a `/`).
 *
 * Nothing outside the context is ever read: a source path with `..` leading out, or a
 * symlink on the way to a source that points out (an absolute target, or `..` past the
 * context's root), is E_BUILD_COPY_OUTSIDE_CONTEXT. An absolute source path is read from the
 * context's root, as Docker does.
 */
import type { Stats } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, dockerignoreMatcher, ignorePatterns } from '../core/index.js';
import { cleanPath, lstatOrUndefined, type RootfsView, type TreeEntry } from './rootfs.js';

/** The patterns of a `.dockerignore` text (core's, shared with the CLI). */
export { ignorePatterns };

export interface SourceTree {
  /** Names the tree in errors: "the build context", "stage build". */
  what: string;
  lstat(rel: string): Promise<TreeEntry | undefined>;
  /** The names in a directory, less ignored ones, sorted. */
  readdir(rel: string): Promise<string[]>;
  /** `rel` with symlinks resolved inside the tree (the last one too, when followLast). */
  resolve(rel: string, followLast: boolean): Promise<string>;
}

function outside(source: string, why: string): BerthError {
  return new BerthError('E_BUILD_COPY_OUTSIDE_CONTEXT', `${source} ${why}, outside the build context`, { details: { source } });
}

/** The context directory `dir` as a source tree, `.dockerignore` applied (the patterns given, or the file's). */
export async function contextTree(dir: string, patterns?: string[]): Promise<SourceTree> {
  let list = patterns;
  if (list === undefined) {
    const st = await lstatOrUndefined(join(dir, '.dockerignore'));
    if (st !== undefined && !st.isFile()) {
      throw new BerthError('E_BUILD_CONTEXT_INVALID', `.dockerignore in the build context ${dir} is not a regular file (a symlink is not followed)`, {
        details: { dir },
      });
    }
    list = st === undefined ? [] : ignorePatterns(await readFile(join(dir, '.dockerignore'), 'utf8'));
  }
  const matcher = dockerignoreMatcher(list);
  // An excluded directory an exception brings something back from stays, with only that below it.
  const hidden = (clean: string, stat: Stats | undefined): boolean =>
    matcher.ignores(clean) && !(stat?.isDirectory() === true && matcher.reincludesBelow(clean));
  const tree: SourceTree = {
    what: 'the build context',
    lstat: async (rel) => {
      const clean = cleanPath(rel);
      const host = join(dir, clean);
      const stat = await lstatOrUndefined(host);
      return stat === undefined || hidden(clean, stat) ? undefined : { host, stat };
    },
    readdir: async (rel) => {
      const clean = cleanPath(rel);
      const names = (await readdir(join(dir, clean))).sort();
      const shown = await Promise.all(
        names.map(async (n) => {
          const path = clean === '' ? n : `${clean}/${n}`;
          return !matcher.ignores(path) || !hidden(path, await lstatOrUndefined(join(dir, path)));
        }),
      );
      return names.filter((_, i) => shown[i]);
    },
    resolve: async (rel, followLast) => {
      let todo = rel.split('/').filter((p) => p !== '' && p !== '.');
      let done: string[] = [];
      for (let hops = 0; todo.length > 0;) {
        const part = todo.shift() as string;
        if (part === '..') {
          if (done.length === 0) throw outside(rel, 'goes up with ".."');
          done.pop();
          continue;
        }
        const candidate = [...done, part].join('/');
        const st = await lstatOrUndefined(join(dir, candidate));
        if (st?.isSymbolicLink() && (followLast || todo.length > 0)) {
          if (++hops > 40) throw new BerthError('E_BUILD_COPY_NOT_FOUND', `too many levels of symbolic links at ${candidate}`);
          const target = await readlink(join(dir, candidate));
          if (target.startsWith('/')) throw outside(rel, `goes through the symlink ${candidate}, which points to ${target}`);
          const next = [...done, ...target.split('/')];
          let depth = 0;
          for (const p of next) {
            if (p === '..') depth--;
            else if (p !== '' && p !== '.') depth++;
            if (depth < 0) throw outside(rel, `goes through the symlink ${candidate}, which points to ${target}`);
          }
          todo = [...next, ...todo];
          done = [];
          continue;
        }
        done.push(part);
      }
      return done.join('/');
    },
  };
  return tree;
}

/** A stage's or an image's file tree as a source tree. */
export function imageTree(what: string, view: RootfsView): SourceTree {
  return {
    what,
    lstat: (rel) => view.lstat(rel),
    readdir: (rel) => view.readdir(rel),
    resolve: (rel, followLast) => view.resolve(rel, followLast),
  };
}

const hasWildcard = (s: string): boolean => /[*?[]/.test(s.replaceAll(/\\./g, ''));

/** One path component of a pattern as a regular expression, with Go's filepath.Match rules. */
export function componentRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRegex(pattern[++i] as string);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new BerthError('E_BUILD_DOCKERFILE_INVALID', `the pattern ${JSON.stringify(pattern)} has a "[" without "]"`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^') || body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replaceAll(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRegex(ch);
  }
  return new RegExp(`^${re}$`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The paths in `tree` a source names: itself when it has no wildcard (a missing path gives
 * none), else every path whose components match. Sorted, relative to the tree's root.
 */
export async function matchSource(tree: SourceTree, source: string): Promise<string[]> {
  const parts = source.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    const depth = parts.reduce((d, p) => (d < 0 ? d : p === '..' ? d - 1 : d + 1), 0);
    if (depth < 0 || parts.slice(0, parts.indexOf('..')).some(hasWildcard)) throw outside(source, 'goes up with ".."');
  }
  if (!parts.some(hasWildcard)) {
    const rel = await tree.resolve(parts.join('/'), true);
    return (await tree.lstat(rel)) === undefined ? [] : [rel];
  }
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of current) {
      const resolved = await tree.resolve(dir, true);
      if (!hasWildcard(part)) {
        const p = dir === '' ? part.replaceAll(/\\(.)/g, '$1') : `${dir}/${part.replaceAll(/\\(.)/g, '$1')}`;
        if ((await tree.lstat(await tree.resolve(p, false))) !== undefined) next.push(p);
        continue;
      }
      const st = await tree.lstat(resolved);
      if (!st?.stat.isDirectory()) continue;
      const re = componentRegex(part);
      for (const name of await tree.readdir(resolved)) if (re.test(name)) next.push(dir === '' ? name : `${dir}/${name}`);
    }
    current = next;
  }
  const out: string[] = [];
  for (const p of current) out.push(await tree.resolve(p, true));
  return [...new Set(out)].sort();
}
