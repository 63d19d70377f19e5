/**
 * bench/deploy.sh's body (run it through the script). The real daemon (dist/), driven as a
 * user drives it: `POST /v1/apps`, then `git push` over HTTP. For a Procfile-only app
 * (buildpacks, on the stack image) and a small Dockerfile app (busybox httpd):
 * - push-to-live: from the start of `git push` to the first 200 of the new version through
 *   nginx (polled every 10 ms, loopback), for the first deploy and RUNS redeploys (p50, max);
 * - each stage's time (the job's `timings`) and the queue wait (`startedAt - enqueuedAt`),
 *   medians over the redeploys, so the slowest stage is plain;
 * - failed requests during one more redeploy under a bounded request loop (50 a second, at
 *   most 3,000, loopback only);
 * then APPS Procfile apps deployed side by side: the daemon's memory (RSS) with them all
 * running, and the memory of one idle web container (its processes' RSS).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../server/core/index.js';
import { ensureBusyboxImage, ImageStore } from '../server/images/index.js';
import { httpGet, waitFor } from '../test/helpers/http.js';
import { runtimeBinary } from '../test/helpers/runtime.js';
import { useStackImage } from '../test/helpers/stack.js';
import { cleanDaemonRuntime, spawnDaemon } from '../test/helpers/start-daemon.js';

const work = process.argv[2] ?? '';
if (!work) throw new Error('usage: bench/deploy.sh (it passes a work directory)');
const runs = Number(process.env.RUNS ?? 5);
const appCount = Number(process.env.APPS ?? 20);
const RATE = 50;
const MAX_REQUESTS = 3000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const row = (name: string, value: string, note = ''): void => console.log(`${name.padEnd(50)} ${value.padStart(12)}  ${note}`);
const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '-');
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

// The store gets busybox (FROM busybox) and the stack (buildpack builds) before the daemon opens it.
const home = join(work, 'home');
const seed = await ImageStore.open(join(home, 'images'));
await ensureBusyboxImage(seed);
await useStackImage(seed, work);
await seed.close();

const httpPort = await freePort();
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_'))),
  BERTH_HOME: home,
  BERTH_CONFIG: join(work, 'berth.conf'),
  BERTH_API_HOST: '127.0.0.1',
  BERTH_API_PORT: '0',
  BERTH_HTTP_PORT: String(httpPort),
  BERTH_RUNTIME_ROOT: join(work, 'r'),
  BERTH_NETWORK: `bd${randomBytes(3).toString('hex')}`,
  BERTH_NETWORK_NAT: 'false',
  BERTH_LOG_LEVEL: 'warn',
};
await writeFile(env.BERTH_CONFIG as string, '# every value comes from the environment\n');
const daemon = spawnDaemon(env);
const stopDaemon = async (): Promise<void> => {
  if (daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  cleanDaemonRuntime(env);
};
process.on('exit', () => void daemon.child.kill('SIGKILL'));

try {
  const cli = await waitFor(
    'the daemon to write cli.json',
    async () => {
      if (daemon.child.exitCode !== null) throw new Error(`the daemon exited:\n${daemon.output()}`);
      const text = await readFile(join(home, 'cli.json'), 'utf8').catch(() => undefined);
      return text === undefined ? undefined : (JSON.parse(text) as { url: string; token: string });
    },
    60_000,
  );
  const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${cli.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${cli.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  const remote = (app: string) => `${cli.url.replace('http://', `http://berth:${cli.token}@`)}/${app}.git`;
  const git = (cwd: string, args: string[]) => {
    const r = spawnSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: work,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@b',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@b',
      },
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
    return r.stdout;
  };
  const get = (app: string) => httpGet(`http://127.0.0.1:${httpPort}/`, { Host: `${app}.localhost`, Connection: 'close' }, 3000);

  /** One push of `version`: push-to-live, and the job's stage timings and queue wait. */
  async function deploy(app: string, dir: string, version: string, files: (v: string) => Record<string, string>) {
    for (const [name, text] of Object.entries(files(version))) await writeFile(join(dir, name), text);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-qm', version]);
    const start = performance.now();
    let live = NaN;
    const poll = (async () => {
      for (let i = 0; i < 60_000 / 10 && Number.isNaN(live); i++) {
        const a = await get(app).catch(() => undefined);
        if (a?.status === 200 && a.body.trim() === version) live = performance.now() - start;
        else await sleep(10);
      }
    })();
    const push = spawnSync('git', ['push', '-q', remote(app), 'HEAD:main'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: work, GIT_TERMINAL_PROMPT: '0' },
    });
    const pushMs = performance.now() - start;
    await poll;
    if (push.status !== 0) throw new Error(`git push of ${app} ${version} failed:\n${push.stderr}`);
    const [job] = (await api('GET', `/v1/apps/${app}/deploys`)) as { enqueuedAt: string; startedAt?: string; result?: { timings?: Record<string, number> } }[];
    const wait = job?.startedAt ? Date.parse(job.startedAt) - Date.parse(job.enqueuedAt) : NaN;
    return { live, pushMs, wait, timings: job?.result?.timings ?? {} };
  }

  const kinds = {
    procfile: (v: string) => ({ Procfile: 'web: cd www && exec python3 -m http.server $PORT\n', 'www/index.html': `${v}\n` }),
    dockerfile: (v: string) => ({
      Dockerfile: 'FROM busybox\nCOPY www /www\nCMD ["sh", "-c", "exec httpd -f -p $PORT -h /www"]\n',
      'www/index.html': `${v}\n`,
    }),
  };

  console.log(`push-to-live through the real daemon; ${runs} redeploys each; load before: ${process.env.LOAD_BEFORE ?? '?'}`);
  for (const [kind, files] of Object.entries(kinds)) {
    const app = `bench-${kind}`;
    await api('POST', '/v1/apps', { name: app });
    const dir = join(work, 'src', app);
    await mkdir(join(dir, 'www'), { recursive: true });
    git(dir, ['init', '-q', '-b', 'main']);
    const first = await deploy(app, dir, 'v0', files);
    const again = [];
    for (let i = 1; i <= runs; i++) again.push(await deploy(app, dir, `v${i}`, files));
    console.log(`\n${kind} app`);
    row('first deploy: push-to-live', ms(first.live), `git push returned after ${ms(first.pushMs)}`);
    row(
      'redeploy: push-to-live p50',
      ms(median(again.map((r) => r.live))),
      `max ${ms(Math.max(...again.map((r) => r.live)))}; goal: first ≤ 3 s, redeploy ≤ 2 s`,
    );
    row('  queue wait (p50)', ms(median(again.map((r) => r.wait))));
    for (const stage of ['receive', 'build', 'release', 'release-phase', 'start', 'checks', 'switch', 'retire', 'record', 'total']) {
      const xs = again.map((r) => r.timings[stage]).filter((x): x is number => x !== undefined);
      if (xs.length > 0) row(`  ${stage} (p50)`, ms(median(xs)), stage === 'retire' ? 'after the switch: not in push-to-live' : '');
    }
    // One more redeploy under the bounded request loop.
    const answers: string[] = [];
    let stop = false;
    const loop = (async () => {
      const t0 = Date.now();
      for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
        answers.push(
          await get(app).then(
            (a) => (a.status === 200 ? a.body.trim() : `HTTP ${a.status}`),
            (e: unknown) => `error: ${String(e)}`,
          ),
        );
        await sleep(Math.max(0, t0 + ((i + 1) * 1000) / RATE - Date.now()));
      }
    })();
    await sleep(500);
    await deploy(app, dir, 'loaded', files);
    await sleep(500);
    stop = true;
    await loop;
    const failed = answers.filter((a) => a !== `v${runs}` && a !== 'loaded');
    row('requests failed during a redeploy', `${failed.length}/${answers.length}`, failed.slice(0, 3).join('; '));
  }

  // APPS Procfile apps at once: the daemon's memory, and an idle web container's.
  for (let i = 0; i < appCount; i++) {
    const app = `bench-m${i}`;
    await api('POST', '/v1/apps', { name: app });
    const dir = join(work, 'src', app);
    await mkdir(join(dir, 'www'), { recursive: true });
    git(dir, ['init', '-q', '-b', 'main']);
    await deploy(app, dir, 'v1', kinds.procfile);
  }
  await sleep(2000);
  const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }).stdout)?.[1] ?? 0);
  const tree = (pid: number): number[] => {
    const ps = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    const out = [pid];
    for (let k = 0; k < out.length; k++) for (const [p, pp] of ps) if (pp === out[k] && p !== undefined) out.push(p);
    return out;
  };
  const containers = spawnSync(runtimeBinary, ['--root', env.BERTH_RUNTIME_ROOT as string, 'list', '--format', 'json'], { encoding: 'utf8' });
  const running = (JSON.parse(containers.stdout || '[]') as { id: string; pid?: number; status: string }[]).filter((c) => c.status === 'running' && c.pid);
  const perContainer = running.map((c) => tree(c.pid as number).reduce((n, p) => n + rss(p), 0));
  console.log(`\nmemory with ${appCount + 2} apps deployed (${running.length} containers running)`);
  row('daemon RSS', mib(rss(daemon.child.pid as number)));
  row('idle web container (its processes) p50', mib(median(perContainer)), 'the processes of its container: init and python3 -m http.server');
  console.log(
    `\nload after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await stopDaemon();
}
