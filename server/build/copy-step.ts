/**
 * COPY and ADD before anything is copied: their arguments checked and substituted (sources,
 * destination under WORKDIR, --chmod, --chown, a URL refused), the sources matched in their
 * tree, and a --chown's names looked up in the image. Errors name the line.
 */
import { posix } from 'node:path';
import { BerthError } from '../core/index.js';
import { matchSource, type SourceTree } from './context.js';
import type { CopySource, Owner } from './copy.js';
import type { Instruction } from './dockerfile.js';
import { at, onLine, type Scope } from './instructions.js';
import type { RootfsView } from './rootfs.js';
import { substituteWord } from './substitute.js';

export interface CopyArguments {
  /** The sources as written, substituted. */
  sources: string[];
  /** Absolute (WORKDIR applied); a trailing `/` kept. */
  dest: string;
  chmod?: number;
  chmodText?: string;
  chownText?: string;
  from?: string;
}

/** The arguments of a COPY or ADD in `workdir`. */
export function copyArguments(ins: Instruction, scope: Scope, workdir: string): CopyArguments {
  const flag = (name: string): string | undefined => ins.flags.find((f) => f.name === name)?.value;
  const sub = (w: string): string => onLine(scope, ins, () => substituteWord(w, { env: scope.env, escape: scope.escape, used: scope.used }));
  const words = (ins.json ?? ins.rest.split(/\s+/).filter((w) => w !== '')).map(sub);
  if (words.length < 2) throw at(scope, ins, `needs a source and a destination: ${ins.keyword} SRC... DEST`);
  const dest = words.pop() as string;
  for (const s of words) {
    if (ins.keyword === 'ADD' && /^(https?|ftp):\/\/|^git@|\.git(#.*)?$/.test(s))
      throw at(scope, ins, `ADD ${s}: a build does not download anything`, 'E_BUILD_UNSUPPORTED');
  }
  const chmodText = flag('chmod');
  if (chmodText !== undefined && !/^[0-7]{3,4}$/.test(chmodText))
    throw at(scope, ins, `--chmod=${chmodText} is not an octal mode such as 755 or 0644`, 'E_BUILD_UNSUPPORTED');
  const chown = flag('chown');
  const abs = dest.startsWith('/') ? dest : `${posix.join(workdir, dest)}${dest.endsWith('/') || dest === '.' ? '/' : ''}`;
  if (words.length > 1 && !abs.endsWith('/')) throw at(scope, ins, `with more than one source the destination must be a directory ending with /, not ${dest}`);
  const from = flag('from');
  return {
    sources: words,
    dest: abs,
    ...(chmodText === undefined ? {} : { chmodText, chmod: parseInt(chmodText, 8) }),
    ...(chown === undefined ? {} : { chownText: sub(chown) }),
    ...(from === undefined ? {} : { from }),
  };
}

/** Every source matched in `tree`; one that matches nothing is E_BUILD_COPY_NOT_FOUND. `where` is `Dockerfile:12`. */
export async function matchSources(tree: SourceTree, ins: Instruction, written: string[], where: string, file: string): Promise<CopySource[]> {
  const sources: CopySource[] = [];
  for (const source of written) {
    let matched: string[];
    try {
      matched = await matchSource(tree, source.replace(/^\/+/, ''));
    } catch (e) {
      if (e instanceof BerthError)
        throw new BerthError(e.code, `${where}: ${ins.keyword} ${source}: ${e.message}`, { cause: e, details: { ...e.details, file, line: ins.line } });
      throw e;
    }
    if (matched.length === 0) {
      const abs = source.startsWith('/') && tree.what === 'the build context' ? " (an absolute source is read from the context's root, as Docker does)" : '';
      throw new BerthError('E_BUILD_COPY_NOT_FOUND', `${where}: ${ins.keyword} ${source}: no such file or directory in ${tree.what}${abs}`, {
        details: { file, line: ins.line, source },
      });
    }
    for (const rel of matched) sources.push({ tree, rel, written: source });
  }
  return sources;
}

/** --chown=user[:group]: numbers, or names from the image's /etc/passwd and /etc/group; a user alone gives its uid as gid (Docker's rule). */
export async function resolveOwner(ins: Instruction, chown: string, view: RootfsView | undefined, scope: Pick<Scope, 'file'>): Promise<Owner> {
  const m = /^([^:]+)(?::([^:]+))?$/.exec(chown);
  if (!m) throw at(scope, ins, `--chown=${chown} is not USER[:GROUP] (names or numbers)`);
  const lookup = async (file: string, name: string, what: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    const text = (await view?.readFile(file))?.toString('utf8') ?? '';
    const entry = text
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name && f.length >= 3);
    if (entry === undefined) throw at(scope, ins, `--chown=${chown}: the ${what} ${name} is not in the image's /${file}`);
    return Number(entry[2]);
  };
  const uid = await lookup('etc/passwd', m[1] as string, 'user');
  const gid = m[2] === undefined ? uid : await lookup('etc/group', m[2], 'group');
  return { uid, gid };
}
