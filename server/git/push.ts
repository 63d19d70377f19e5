/**
 * What happens to one pushed branch before its deploy is queued (docs/git.md): whether it is
 * the app's deploy branch, the pushed objects made durable in the app's repo, and the checks
 * a deployed commit must pass (no symlink leading out of the tree, no file over the limit).
 *
 * Why the objects are copied out of the quarantine: since git 2.11, receive-pack keeps a
 * push's objects in a quarantine directory (`objects/tmp_objdir-incoming-*`) that only the
 * hook can see, until the hook accepts; the deploy reads the commit from another process
 * (the queue's worker), maybe after the pusher went away, when git has removed that
 * directory. So the commit's new objects are packed into the repo's own object store first
 * (`git pack-objects`, which reuses the pushed deltas: a copy, not a recompression).
 */
import { realpath } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { BerthError } from '../core/index.js';
import { cleanGitEnv, git } from './repo.js';
import type { GitAppRecord, PushLimits, PushNotice, PushVerdict } from './types.js';

const commitPattern = /^[0-9a-f]{40}$/;
const branchRef = /^refs\/heads\/([^\0\s~^:?*[\\]+)$/;
/** Links followed while resolving one symlink, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;
/** Problems a message lists before "and N more". */
const LISTED = 20;

function invalid(message: string, details: Record<string, unknown> = {}): BerthError {
  return new BerthError('E_GIT_PUSH_INVALID', message, { details });
}

/** The branch of a pushed ref; E_GIT_PUSH_INVALID for anything but `refs/heads/<branch>`. */
export function branchOf(ref: string): string {
  const m = branchRef.exec(ref);
  if (m === null) throw invalid(`${JSON.stringify(ref)} is not a branch (refs/heads/<name>): only branches deploy`, { ref });
  return m[1]!;
}

/** Check a hook's notice: a 40-hex commit and a branch ref. */
export function checkNotice(notice: PushNotice): void {
  if (typeof notice.commit !== 'string' || !commitPattern.test(notice.commit)) {
    throw invalid(`the pushed commit must be 40 lowercase hex digits, not ${JSON.stringify(notice.commit)}`, { field: 'commit' });
  }
  if (typeof notice.ref !== 'string') throw invalid('the pushed ref must be a string such as refs/heads/main', { field: 'ref' });
  branchOf(notice.ref);
  if (notice.quarantine !== undefined && typeof notice.quarantine !== 'string') throw invalid('quarantine must be a path', { field: 'quarantine' });
  if (notice.old !== undefined && (typeof notice.old !== 'string' || !commitPattern.test(notice.old))) {
    throw invalid(`the old value of the pushed ref must be 40 lowercase hex digits, not ${JSON.stringify(notice.old)}`, { field: 'old' });
  }
}

const zero = '0'.repeat(40);

/**
 * E_GIT_REF_MOVED when the pushed branch is no longer where the push found it: another push
 * moved it while this one waited for the app's push lock (push-lock.ts). git would refuse the
 * ref update at the end anyway (`cannot lock ref`); refused here, nothing is deployed first.
 */
export async function checkRefUnmoved(repo: string, notice: PushNotice): Promise<void> {
  if (notice.old === undefined) return;
  const branch = branchOf(notice.ref);
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${notice.ref}^{commit}`], { allowFailure: true });
  const now = r.code === 0 ? r.stdout.trim() : zero;
  if (now === notice.old) return;
  const was = notice.old === zero ? 'did not exist' : `was at ${notice.old.slice(0, 7)}`;
  const moved = now === zero ? 'was deleted' : `moved to ${now.slice(0, 7)}`;
  throw new BerthError('E_GIT_REF_MOVED', `branch ${branch} ${moved} while this push waited (it ${was} when the push began): nothing was deployed`, {
    hint: `Another push got there first. Fetch it and push again: git pull --rebase <remote> ${branch}, then git push <remote> ${branch}.`,
    details: { ref: notice.ref, old: notice.old, current: now },
  });
}

/**
 * Whether a push to `ref` deploys `app`: its deploy branch (`git:set APP deploy-branch B`), or
 * when unset `main`, or `master` while the repo has no `main` (Dokku deploys `master`; new
 * repos start on `main`).
 */
export async function pushVerdict(app: GitAppRecord, repo: string, ref: string): Promise<PushVerdict> {
  const branch = branchOf(ref);
  let deployBranch = app.deployBranch;
  if (deployBranch === undefined) {
    const hasMain = (await git(repo, ['show-ref', '--verify', '--quiet', 'refs/heads/main'], { allowFailure: true })).code === 0;
    deployBranch = branch === 'master' && !hasMain ? 'master' : 'main';
  }
  return branch === deployBranch ? { deploy: true, branch } : { deploy: false, branch, deployBranch };
}

/** Whether `repo`'s own object store (not a quarantine) has `commit`. */
async function hasCommit(repo: string, commit: string): Promise<boolean> {
  return (await git(repo, ['cat-file', '-e', `${commit}^{commit}`], { allowFailure: true })).code === 0;
}

/**
 * Copy `commit`'s objects that the repo lacks out of the push's quarantine into the repo's
 * object store. The quarantine must be a directory of this repo's objects (the hook passes
 * git's GIT_QUARANTINE_PATH); anything else is refused.
 */
async function keepPushedObjects(repo: string, commit: string, quarantine: string): Promise<void> {
  const objects = await realpath(join(repo, 'objects'));
  const real = await realpath(quarantine).catch(() => undefined);
  if (real === undefined || dirname(real) !== objects || !posix.basename(real).startsWith('tmp_objdir-incoming-')) {
    throw invalid(`${JSON.stringify(quarantine)} is not a quarantine directory of this app's repository`, { field: 'quarantine' });
  }
  const tips = (await git(repo, ['for-each-ref', '--format=%(objectname)'])).stdout.split('\n').filter((s) => commitPattern.test(s));
  await git(repo, ['pack-objects', '--revs', '--quiet', join(objects, 'pack', 'pack')], {
    input: [commit, ...tips.map((t) => `^${t}`), ''].join('\n'),
    env: cleanGitEnv({ GIT_OBJECT_DIRECTORY: real, GIT_ALTERNATE_OBJECT_DIRECTORIES: objects }),
  });
}

interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  size: number | undefined;
  path: string;
}

/** `git ls-tree -r -l -z`: mode, type, object, size (or `-`), a tab, the path. */
async function treeOf(repo: string, commit: string): Promise<TreeEntry[]> {
  const { stdout } = await git(repo, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit]);
  return stdout
    .split('\0')
    .filter((s) => s !== '')
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode = '', type = '', oid = '', size = '-'] = line.slice(0, tab).split(/ +/);
      return { mode, type, oid, size: size === '-' ? undefined : Number(size), path: line.slice(tab + 1) };
    });
}

/** The targets of the symlinks among `entries`, by path (`git cat-file --batch`). */
async function linkTargets(repo: string, links: TreeEntry[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (links.length === 0) return out;
  const { stdout } = await git(repo, ['cat-file', '--batch'], { input: links.map((l) => `${l.oid}\n`).join('') });
  // Each answer: "<oid> blob <size>\n<content>\n"; a target is a path, text without newlines in practice.
  let at = 0;
  for (const link of links) {
    const nl = stdout.indexOf('\n', at);
    const size = Number(stdout.slice(at, nl).split(' ')[2]);
    // A target of `size` bytes has at most `size` characters.
    const bytes = Buffer.from(stdout.slice(nl + 1, nl + 1 + size), 'utf8');
    const target = bytes.subarray(0, size).toString('utf8');
    out.set(link.path, target);
    at = nl + 1 + target.length + 1;
  }
  return out;
}

/**
 * Whether the symlink at `path` resolves outside the tree: its target, and every link met on
 * the way, resolved component by component as the kernel would (a lexical check alone misses
 * `a -> .` followed by `b/c -> ../../a/..`). An absolute target is outside: the tree has no
 * root of its own to anchor it to.
 */
export function leadsOutside(path: string, links: ReadonlyMap<string, string>): boolean {
  const own = links.get(path) ?? '';
  if (own.startsWith('/')) return true;
  const stack = posix.dirname(path) === '.' ? [] : posix.dirname(path).split('/');
  let pending = own.split('/');
  for (let hops = 0; pending.length > 0;) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return true;
      stack.pop();
      continue;
    }
    stack.push(part);
    const target = links.get(stack.join('/'));
    if (target === undefined) continue;
    if (target.startsWith('/') || ++hops > MAX_LINKS) return true;
    stack.pop();
    pending = [...target.split('/'), ...pending];
  }
  return false;
}

function listed(items: string[]): string {
  const more = items.length - LISTED;
  return items.slice(0, LISTED).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** The checks of a deployed commit's tree: E_GIT_SYMLINK_OUTSIDE, E_GIT_FILE_TOO_LARGE. */
export async function checkTree(repo: string, commit: string, limits: PushLimits): Promise<void> {
  const entries = await treeOf(repo, commit);
  const links = await linkTargets(
    repo,
    entries.filter((e) => e.mode === '120000'),
  );
  const short = commit.slice(0, 7);
  const outside = [...links.keys()].filter((p) => leadsOutside(p, links));
  if (outside.length > 0) {
    throw new BerthError(
      'E_GIT_SYMLINK_OUTSIDE',
      `commit ${short} has ${outside.length === 1 ? 'a symlink' : `${outside.length} symlinks`} leading outside the repository: ${listed(outside.map((p) => `${p} -> ${links.get(p)}`))}`,
      { details: { commit, paths: outside.slice(0, LISTED) } },
    );
  }
  const large = entries.filter((e) => e.type === 'blob' && e.size !== undefined && e.size > limits.maxFileBytes);
  if (large.length > 0) {
    throw new BerthError(
      'E_GIT_FILE_TOO_LARGE',
      `commit ${short} has ${large.length === 1 ? 'a file' : `${large.length} files`} larger than ${limits.maxFileBytes} bytes (BERTH_GIT_MAX_FILE_BYTES): ${listed(large.map((e) => `${e.path} (${e.size} bytes)`))}`,
      { details: { commit, paths: large.slice(0, LISTED).map((e) => e.path), max: limits.maxFileBytes } },
    );
  }
}

/**
 * Make a pushed commit deployable: its objects kept in the repo (out of the push's
 * quarantine), then its tree checked. E_GIT_PUSH_INVALID when the commit is not there.
 */
export async function admitPush(repo: string, notice: PushNotice, limits: PushLimits): Promise<void> {
  checkNotice(notice);
  if (!(await hasCommit(repo, notice.commit)) && notice.quarantine !== undefined) await keepPushedObjects(repo, notice.commit, notice.quarantine);
  if (!(await hasCommit(repo, notice.commit))) {
    throw invalid(`commit ${notice.commit} is not in the app's repository`, { commit: notice.commit });
  }
  await checkTree(repo, notice.commit, limits);
}
