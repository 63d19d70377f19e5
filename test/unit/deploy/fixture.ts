/**
 * What the deploy tests share: a real bare git repo with commits made from file maps (as a
 * push leaves it), an in-memory apps store with Contract 1's behaviour, and a job whose
 * lines and stages are recorded.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { BerthError, run } from '../../../server/core/index.js';
import type { AppView, AppsPort, DeployJob, ReleaseView } from '../../../server/deploy/ports.js';
import { requireBinary } from '../../helpers/prereq.js';
import { tempDir } from '../../helpers/temp-dir.js';

export const git = requireBinary('/usr/bin/git', 'git');

/** A file of a commit: its text, or `{ symlink: target }`, or `{ bytes: n }` (n zero bytes). */
export type RepoFile = string | { symlink: string } | { bytes: number };

export interface Repo {
  /** The bare repo. */
  bare: string;
  /** Commit `files` (the whole tree) on main and push it to the bare repo; the commit's id. */
  commit(files: Record<string, RepoFile>): Promise<string>;
}

const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1' };
const identity = ['-c', 'user.name=Berth Test', '-c', 'user.email=test@berth.invalid', '-c', 'init.defaultBranch=main'];

/** A bare repo at `bare` (created), and a work tree of the test's own that pushes to it. */
export async function makeRepo(t: ExecutionContext, bare: string): Promise<Repo> {
  const work = join(await tempDir(t, 'deploy-work-'), 'work');
  await mkdir(dirname(bare), { recursive: true });
  const g = (args: string[], cwd?: string) => run(git, [...identity, ...args], { env: gitEnv, ...(cwd === undefined ? {} : { cwd }) });
  await g(['init', '-q', '--bare', bare]);
  await g(['init', '-q', work]);
  let n = 0;
  return {
    bare,
    async commit(files) {
      await g(['rm', '-rq', '--ignore-unmatch', '.'], work);
      for (const [name, f] of Object.entries(files)) {
        const path = join(work, name);
        await mkdir(dirname(path), { recursive: true });
        if (typeof f === 'string') await writeFile(path, f);
        else if ('symlink' in f) await symlink(f.symlink, path);
        else await writeFile(path, Buffer.alloc(f.bytes));
      }
      await g(['add', '-A', '.'], work);
      await g(['commit', '-q', '--allow-empty', '-m', `commit ${++n}`], work);
      await g(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
      return (await g(['rev-parse', 'HEAD'], work)).stdout.trim();
    },
  };
}

/** Contract 1's AppStore, in memory, for the apps the test creates. */
export class MemoryApps implements AppsPort {
  readonly apps = new Map<string, AppView>();
  readonly history = new Map<string, ReleaseView[]>();

  constructor(private readonly home: string) {}

  create(name: string, o: Partial<AppView> = {}): AppView {
    const app: AppView = { name, buildpacks: [], env: {}, scale: {}, domains: [], userns: { hostId: 200_000, size: 65_536 }, ...o };
    this.apps.set(name, app);
    this.history.set(name, []);
    return app;
  }
  async get(name: string): Promise<AppView> {
    const app = this.apps.get(name);
    if (app === undefined) throw new BerthError('E_BERTH_INTERNAL', `app ${name} does not exist`);
    return structuredClone(app);
  }
  async update(name: string, change: (app: AppView) => void): Promise<AppView> {
    const app = await this.get(name);
    change(app);
    this.apps.set(name, app);
    return structuredClone(app);
  }
  paths(name: string) {
    const dir = join(this.home, 'apps', name);
    return { dir, repo: join(dir, 'repo.git'), cache: join(dir, 'cache') };
  }
  async addRelease(name: string, release: Omit<ReleaseView, 'number' | 'createdAt'>): Promise<ReleaseView> {
    const list = this.history.get(name) ?? [];
    const record = { ...structuredClone(release), number: list.length + 1, createdAt: new Date().toISOString() };
    list.push(record);
    return structuredClone(record);
  }
  async releases(name: string): Promise<ReleaseView[]> {
    return structuredClone(this.history.get(name) ?? []);
  }
  async release(name: string, number: number): Promise<ReleaseView> {
    const r = this.history.get(name)?.find((x) => x.number === number);
    if (r === undefined) throw new BerthError('E_BERTH_INTERNAL', `app ${name} has no release v${number}`);
    return structuredClone(r);
  }
  async setCurrent(name: string, number: number): Promise<void> {
    await this.release(name, number);
    await this.update(name, (a) => {
      a.currentRelease = number;
    });
  }
}

export interface RecordedJob extends DeployJob {
  lines: string[];
  stages: string[];
  abort: AbortController;
}

let jobs = 0;

/** A job for `app`, its lines and stages recorded. */
export function makeJob(app: string, request: DeployJob['request']): RecordedJob {
  const abort = new AbortController();
  const lines: string[] = [];
  const stages: string[] = [];
  const number = ++jobs;
  return { id: `${app}.${number}`, app, number, request, signal: abort.signal, abort, lines, stages, line: (l) => lines.push(l), stage: (s) => stages.push(s) };
}

export const push = (commit: string) => ({ kind: 'push' as const, commit, ref: 'refs/heads/main', requestedAt: new Date().toISOString() });
