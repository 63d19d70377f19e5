/**
 * The buildpack builder (docs/buildpacks.md): the classic buildpack API in ONE build
 * container of the daemon's ContainerManager (default isolation, build limits, the bridge:
 * outbound NAT, host services unreachable) on the `stack` image.
 *
 * The build's directory (in the image store's ingest/, so a daemon killed mid-build leaves
 * nothing there after its next start) holds what the container mounts:
 *   slug/app     a copy of the source, at /tmp/build (BUILD_DIR), read-write
 *   env/         one file per config var, at /tmp/env (ENV_DIR), read-only
 *   berth/       the driver and its plan, at /berth, read-only; each buildpack read-only at
 *                /berth/buildpacks/NN (the driver copies them to a writable place)
 *   out/         what the driver reports, at /berth-out
 *   cache-*      the upper and work directories of the overlay at /cache (CACHE_DIR) over
 *                the app's cache directory (cache-overlay.ts)
 * When the driver succeeds, slug/ (the built app as `app/`, plus the launcher `start` and
 * `exec`) is written as ONE layer on the stack image: the built /tmp/build is /app at run
 * time, as herokuish moves it. Nothing is tagged unless everything succeeded; the container
 * and the build's directory are removed whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, KeyedLock, parseProcfile, run, validateAppName, validateConfigKey } from '../../core/index.js';
import type { ContainerManager, ExitStatus, HostMount } from '../../containers/index.js';
import { defaultFsutilBinary, diffLayer, type Image, type Lease } from '../../images/index.js';
import { shortId, writeStepImage } from '../image.js';
import { checkOptions } from '../options.js';
import type { Builder, BuildProgress, BuildResult } from '../types.js';
import { mergeCache } from './cache-overlay.js';
import { parseRelease, type ReleaseInfo } from './release-yaml.js';
import { writeSlugLayer } from './slug-layer.js';
import { driverScript, execScript, paths, startScript } from './scripts.js';
import { bundledBuildpacks, chooseList, fetchBuildpack, type Buildpack, type ListSource } from './sources.js';
import type { BuildpackSettings, BuildpackSource } from './types.js';

/** The image buildpack builds run on (server/images/stack.ts). */
const STACK = 'stack:bookworm';
/** What a third-party buildpack reads to pick binaries: bookworm runs Heroku-22's (glibc 2.36 ≥ 2.35). */
const STACK_NAME = 'heroku-22';
/** How many of the last output lines a failure quotes. */
const TAIL = 20;
/** The largest report file (release YAML, Procfile) read back. */
const MAX_REPORT = 1024 * 1024;

/** One merge into an app's cache at a time (two builds of one app may finish together). */
const cacheLocks = new KeyedLock();

interface Selected {
  buildpack: Buildpack;
  /** What its bin/detect printed (or its name). */
  label: string;
  release?: ReleaseInfo;
}

class LineSplitter {
  private rest = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(data: Buffer): void {
    const parts = (this.rest + data.toString('utf8')).split('\n');
    this.rest = parts.pop() as string;
    for (const p of parts) this.emit(p.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.rest !== '') this.emit(this.rest);
    this.rest = '';
  }
}

/** A file the build container wrote, read without following a symlink; undefined when absent. */
async function readReport(path: string, what: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new BerthError('E_BUILD_BUILDPACK_FAILED', `${what} is a symlink; the build may not point it elsewhere`);
    throw e;
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new BerthError('E_BUILD_BUILDPACK_FAILED', `${what} is not a regular file`);
    if (s.size > MAX_REPORT) throw new BerthError('E_BUILD_BUILDPACK_FAILED', `${what} is larger than ${MAX_REPORT} bytes`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

function cancelled(): BerthError {
  return new BerthError('E_BUILD_CANCELLED', 'the buildpack build was cancelled; nothing was tagged and the cache is as it was');
}

/** Settings checked before anything runs. */
function checkSettings(s: BuildpackSettings) {
  validateAppName(s.app);
  if (!s.cacheDir.startsWith('/')) {
    throw new BerthError('E_BUILD_OPTIONS_INVALID', `the cache directory ${JSON.stringify(s.cacheDir)} must be an absolute path`, {
      details: { option: 'cacheDir' },
    });
  }
  for (const key of Object.keys(s.env ?? {})) validateConfigKey(key);
  if (s.commit !== undefined && !/^[0-9a-f]{4,64}$/.test(s.commit)) {
    throw new BerthError('E_BUILD_OPTIONS_INVALID', `the source commit ${JSON.stringify(s.commit)} is not a hex commit id`, { details: { option: 'commit' } });
  }
  const o = checkOptions({ ...(s.tags ? { tags: s.tags } : {}), ...(s.limits ? { limits: s.limits } : {}) });
  return { tags: o.tags, limits: o.limits };
}

class BuildpackBuild {
  private readonly id = randomBytes(6).toString('hex');
  private readonly work: string;
  private readonly lease: Lease;
  private readonly tail: string[] = [];

  constructor(
    private readonly source: BuildpackSource,
    private readonly settings: BuildpackSettings,
    private readonly checked: ReturnType<typeof checkSettings>,
    private readonly progress: BuildProgress,
  ) {
    this.work = source.images.ingestPath('buildpack');
    this.lease = source.images.lease();
  }

  private line(text: string): void {
    this.progress({ type: 'line', line: text });
  }

  private get signal(): AbortSignal | undefined {
    return this.settings.signal;
  }

  async run(): Promise<BuildResult> {
    try {
      const stack = await this.stack();
      const sourceTypes = await this.procfile(this.source.dir, 'Procfile');
      const { list, from } = await chooseList(this.source.dir, this.settings);
      await mkdir(join(this.work, 'clones'), { recursive: true, mode: 0o700 });
      const buildpacks = await this.buildpacks(list, from);
      if (this.signal?.aborted) throw cancelled();
      const selected = await this.compile(stack, buildpacks, from === 'detection' ? 'detect' : 'explicit');
      const types = await this.processTypes(selected, sourceTypes);
      return await this.image(stack, selected, types);
    } finally {
      this.lease.release();
      await rm(this.work, { recursive: true, force: true });
    }
  }

  private async stack(): Promise<Image> {
    try {
      const image = await this.source.images.resolve(STACK);
      for (const d of [image.digest, image.configDigest, ...image.manifest.layers.map((l) => l.digest), ...image.config.rootfs.diff_ids]) this.lease.add(d);
      return image;
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== 'E_IMAGE_NOT_FOUND') throw e;
      throw new BerthError('E_BUILD_BASE_NOT_FOUND', `buildpack builds run on the ${STACK} image, which is not in the image store`, {
        cause: e,
        hint: 'Build it once with `berth image:base stack` (debootstrap, a few minutes).',
        details: { image: STACK },
      });
    }
  }

  /** The Procfile at the top of `dir` (a regular file), parsed; undefined without one. */
  private async procfile(dir: string, what: string): Promise<Record<string, string> | undefined> {
    const text = await readReport(join(dir, 'Procfile'), what).catch((e: unknown) => {
      if (e instanceof BerthError) throw new BerthError('E_BUILD_PROCFILE_INVALID', `Procfile: ${e.message}`, { cause: e });
      throw e;
    });
    return text === undefined ? undefined : parseProcfile(text, 'Procfile');
  }

  private async buildpacks(list: string[], from: ListSource): Promise<Buildpack[]> {
    if (from === 'detection') {
      const bundled = await bundledBuildpacks();
      if (bundled.length === 0) {
        throw new BerthError('E_BUILD_BUILDPACK_UNAVAILABLE', 'no bundled buildpack is installed (the buildpacks/ folder is empty) and the app names none', {
          details: { phase: 'detect' },
        });
      }
      return bundled;
    }
    const out: Buildpack[] = [];
    for (const [i, given] of list.entries()) {
      if (/^[a-z]+:\/\/|@/.test(given)) this.line(`-----> Fetching buildpack ${given}`);
      out.push(await fetchBuildpack(given, join(this.work, 'clones', String(i))));
    }
    this.line(`-----> Using the buildpacks of ${from === 'app' ? 'the app (buildpacks:set)' : from}: ${out.map((b) => b.name).join(', ')}`);
    return out;
  }

  private async prepare(buildpacks: Buildpack[]): Promise<HostMount[]> {
    const w = (p: string) => join(this.work, p);
    for (const d of ['berth/buildpacks', 'env', 'out', 'slug', 'cache-upper', 'cache-work']) await mkdir(w(d), { recursive: true, mode: 0o700 });
    await chmod(w('slug'), 0o755);
    await mkdir(this.settings.cacheDir, { recursive: true, mode: 0o700 });
    // The source, copied: the build changes it, the caller's stays as it was.
    const cp = await run('cp', ['-a', '--reflink=auto', '--no-target-directory', '--', this.source.dir, w('slug/app')], { allowFailure: true });
    if (cp.code !== 0) {
      throw new BerthError('E_BUILD_CONTEXT_INVALID', `cannot copy the source ${this.source.dir}: ${cp.stderr.trim()}`, { details: { dir: this.source.dir } });
    }
    await chmod(w('slug/app'), 0o755);
    for (const [k, v] of Object.entries(this.settings.env ?? {})) await writeFile(w(`env/${k}`), v, { mode: 0o600 });
    const plan = buildpacks.map((b, i) => `${num(i)}\t${b.name.replace(/[\t\n]/g, ' ')}\n`).join('');
    await writeFile(w('berth/plan'), plan);
    await writeFile(w('berth/driver.sh'), driverScript, { mode: 0o755 });
    for (const i of buildpacks.keys()) await mkdir(w(`berth/buildpacks/${num(i)}`));
    return [
      { type: 'bind', source: w('berth'), destination: paths.berth, readonly: true },
      ...buildpacks.map((b, i): HostMount => ({ type: 'bind', source: b.dir, destination: `${paths.buildpacks}/${num(i)}`, readonly: true })),
      { type: 'bind', source: w('env'), destination: paths.env, readonly: true },
      { type: 'bind', source: w('out'), destination: paths.out },
      { type: 'bind', source: w('slug/app'), destination: paths.build },
      { type: 'overlay', destination: paths.cache, lower: this.settings.cacheDir, upper: w('cache-upper'), work: w('cache-work') },
    ];
  }

  /** Run the driver in the build container; the buildpacks it used, in order. */
  private async compile(stack: Image, buildpacks: Buildpack[], mode: 'detect' | 'explicit'): Promise<Selected[]> {
    const mounts = await this.prepare(buildpacks);
    const containers: ContainerManager = this.source.containers;
    const { limits } = this.checked;
    const view = await containers.create(
      {
        image: stack.digest,
        entrypoint: [],
        cmd: ['/bin/bash', `${paths.berth}/driver.sh`],
        env: [`BERTH_MODE=${mode}`, `STACK=${STACK_NAME}`, ...(this.settings.commit ? [`SOURCE_VERSION=${this.settings.commit}`] : [])],
        workdir: paths.build,
        memory: limits.memoryBytes,
        cpus: limits.cpus,
        pids: limits.pids,
        labels: { 'berth.build': this.id, 'berth.build.app': this.settings.app },
      },
      { mounts },
    );
    let status: ExitStatus | undefined;
    let abort: (() => void) | undefined;
    try {
      const { session, exit } = await containers.attach(view.id);
      const splitter = new LineSplitter((l) => {
        this.tail.push(l);
        if (this.tail.length > TAIL) this.tail.shift();
        this.line(l);
      });
      // Both streams go to one splitter: buildpacks print to either, and the user reads them as one log.
      session.on('data', (o) => splitter.push(o.data));
      const aborted = new Promise<'aborted'>((resolve) => {
        abort = () => resolve('aborted');
        this.signal?.addEventListener('abort', abort, { once: true });
      });
      if (this.signal?.aborted) throw cancelled();
      await containers.start(view.id);
      const first = await Promise.race([exit, aborted]);
      if (first === 'aborted') {
        await containers.kill(view.id).catch(() => undefined);
        throw cancelled();
      }
      status = first;
      await session.ended;
      splitter.flush();
    } finally {
      if (abort !== undefined) this.signal?.removeEventListener('abort', abort);
      await containers.remove(view.id, true);
    }
    if (this.signal?.aborted) throw cancelled();
    return this.outcome(status, buildpacks);
  }

  private tailText(): string {
    return this.tail.length === 0 ? '' : `; its last lines:\n${this.tail.map((l) => `  ${l}`).join('\n')}`;
  }

  private async outcome(status: ExitStatus | undefined, buildpacks: Buildpack[]): Promise<Selected[]> {
    const out = join(this.work, 'out');
    const failure = await readReport(join(out, 'failure'), 'the build report');
    const byNum = (n: string) => buildpacks[Number(n)];
    if (status?.oomKilled) {
      throw new BerthError(
        'E_BUILD_BUILDPACK_FAILED',
        `the buildpack build was killed by the OOM killer: it needed more than the build's memory limit of ${Math.round(this.checked.limits.memoryBytes / 1048576)} MiB${this.tailText()}`,
        { hint: "Raise the build's memory limit (BERTH_BUILD_MEMORY) or make the build use less.", details: { phase: 'compile', oomKilled: true } },
      );
    }
    if (failure !== undefined) {
      const [phase = '', n = '', code = ''] = failure.trim().split('\t');
      const bp = byNum(n);
      if (phase === 'detect' && bp === undefined) {
        throw new BerthError(
          'E_BUILD_BUILDPACK_NOT_DETECTED',
          `no buildpack detected the app: tried ${buildpacks.map((b) => b.name).join(', ')} (each bin/detect exited non-zero)`,
          { details: { phase: 'detect', tried: buildpacks.map((b) => b.name) } },
        );
      }
      const name = bp?.name ?? `#${n}`;
      if (phase === 'detect') {
        throw new BerthError(
          'E_BUILD_BUILDPACK_NOT_DETECTED',
          `buildpack ${name}, detect: the app names it, but its bin/detect exited with ${code}: it does not recognise the app`,
          {
            details: { buildpack: name, phase: 'detect', exitCode: Number(code) },
          },
        );
      }
      throw new BerthError(
        'E_BUILD_BUILDPACK_FAILED',
        `buildpack ${name}, ${phase}: ${phase === 'copy' ? 'could not be copied' : `bin/${phase} exited with ${code}`}${this.tailText()}`,
        {
          details: { buildpack: name, phase, exitCode: Number(code), output: [...this.tail] },
        },
      );
    }
    if (status === undefined || status.exitCode !== 0) {
      throw new BerthError(
        'E_BUILD_BUILDPACK_FAILED',
        `the buildpack build ended ${status === undefined ? 'without an exit status' : `with ${status.exitCode}`} and no report${this.tailText()}`,
        {
          details: { phase: 'compile' },
        },
      );
    }
    const lines = ((await readReport(join(out, 'selected'), 'the build report')) ?? '').split('\n').filter(Boolean);
    const selected: Selected[] = [];
    for (const l of lines) {
      const [n = '', label = ''] = l.split('\t');
      const bp = byNum(n);
      if (bp === undefined) throw new BerthError('E_BUILD_BUILDPACK_FAILED', `the build report names an unknown buildpack ${JSON.stringify(n)}`);
      const yaml = await readReport(join(out, `release-${n}.yml`), `bin/release output of ${bp.name}`);
      selected.push({ buildpack: bp, label: label || bp.name, ...(yaml === undefined ? {} : { release: parseRelease(yaml, bp.name) }) });
    }
    return selected;
  }

  /** The Procfile's types, then the last buildpack's default_process_types for the types it lacks (Heroku's rule). */
  private async processTypes(selected: Selected[], sourceTypes: Record<string, string> | undefined): Promise<Record<string, string>> {
    this.line('-----> Discovering process types');
    const procfile = (await this.procfile(join(this.work, 'slug/app'), 'Procfile (after the build)')) ?? sourceTypes ?? {};
    const defaults = selected.at(-1)?.release?.defaultProcessTypes ?? {};
    const names = Object.keys(procfile);
    const added = Object.keys(defaults).filter((k) => !Object.hasOwn(procfile, k));
    if (names.length > 0) this.line(`       Procfile declares types     -> ${names.join(', ')}`);
    if (added.length > 0 || names.length === 0) this.line(`       Default types for buildpack -> ${Object.keys(defaults).join(', ') || '(none)'}`);
    return { ...procfile, ...Object.fromEntries(added.map((k) => [k, defaults[k] as string])) };
  }

  private async image(stack: Image, selected: Selected[], types: Record<string, string>): Promise<BuildResult> {
    const slug = join(this.work, 'slug');
    await writeFile(join(slug, 'start'), startScript(types), { mode: 0o755 });
    await writeFile(join(slug, 'exec'), execScript, { mode: 0o755 });
    this.line('-----> Compressing...');
    const { layer, reused } = await writeSlugLayer(this.source.images, this.settings.app, () => diffLayer(slug, { fsutil: defaultFsutilBinary }), this.lease);
    this.lease.add(layer.diffId);
    this.line(`       Done: ${(layer.descriptor.size / 1048576).toFixed(1)}M${reused ? " (the previous build's slug layer: same content, reused)" : ''}`);
    const configVars = Object.assign({}, ...selected.map((s) => s.release?.configVars ?? {})) as Record<string, string>;
    const base = stack.config.config ?? {};
    const env = [
      ...(base.Env ?? []).filter((kv) => !Object.hasOwn(configVars, kv.slice(0, kv.indexOf('=')))),
      ...Object.entries(configVars).map(([k, v]) => `${k}=${v}`),
    ];
    const first = Object.hasOwn(types, 'web') ? 'web' : Object.keys(types)[0];
    const labels: Record<string, string> = {
      ...(base.Labels ?? {}),
      'berth.process-types': JSON.stringify(types),
      'berth.buildpacks': JSON.stringify(selected.map((s) => ({ name: s.buildpack.name, revision: s.buildpack.revision }))),
      ...(this.settings.commit ? { 'berth.source-commit': this.settings.commit } : {}),
    };
    const image = await writeStepImage(
      this.source.images,
      {
        parent: stack,
        layer,
        config: { ...base, Env: env, Cmd: first === undefined ? ['/exec'] : ['/start', first], WorkingDir: '/app', Labels: labels },
        history: { created_by: `berth buildpacks: ${selected.map((s) => s.buildpack.name).join(', ')} (${this.settings.app})` },
      },
      this.lease,
    );
    for (const d of [image.digest, image.configDigest]) this.lease.add(d);
    const id = shortId(image.digest);
    this.progress({ type: 'built', id });
    if (this.signal?.aborted) throw cancelled();
    // The cache takes the build's changes only now, when nothing but the tags is left to do.
    await cacheLocks.run(this.settings.cacheDir, () => mergeCache(join(this.work, 'cache-upper'), this.settings.cacheDir, defaultFsutilBinary));
    for (const tag of this.checked.tags) {
      await this.source.images.tag(image.digest, tag);
      this.progress({ type: 'tagged', tag });
    }
    return { image: await this.source.images.image(image.digest), id, tags: this.checked.tags, steps: selected.length, cached: 0 };
  }
}

function num(i: number): string {
  return String(i).padStart(2, '0');
}

/**
 * Build `source.dir` with buildpacks (Contract 2, docs/buildpacks.md). Progress comes as
 * `{type:'line'}` events in Heroku's words as the build goes, then `built` and `tagged`.
 */
export const buildBuildpacks: Builder<BuildpackSource, BuildpackSettings> = async (source, settings, progress) => {
  const checked = checkSettings(settings);
  const s = await lstat(source.dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new BerthError('E_BUILD_CONTEXT_INVALID', `the source ${source.dir} is not a directory`, { details: { dir: source.dir } });
  return new BuildpackBuild(source, settings, checked, progress).run();
};
