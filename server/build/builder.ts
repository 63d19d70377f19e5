/**
 * The Dockerfile builder: stages in order (up to --target), every instruction a step that
 * makes an image (Docker's classic builder), each step looked up in the cache first.
 * Filesystem steps add one layer: RUN through a container (run-step.ts), COPY and ADD and a
 * WORKDIR that makes its directory written directly (copy.ts); the others change the config
 * only (instructions.ts). The build holds a lease on everything it makes until the end; only
 * then, when every step has succeeded, are the tags set.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { BerthError } from '../core/index.js';
import {
  defaultFsutilBinary,
  parseReference,
  pullImage,
  writeLayerStream,
  type ContainerConfig,
  type Descriptor,
  type Image,
  type Lease,
} from '../images/index.js';
import { cacheKey, type CacheKeyParts } from './cache.js';
import { contextTree, imageTree, type SourceTree } from './context.js';
import { copyArguments, matchSources, resolveOwner } from './copy-step.js';
import { copyLayer, mkdirPlan, planCopy, type CopyPlan, type Owner } from './copy.js';
import { makeInstruction, parseDockerfile, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { shortId, writeStepImage } from './image.js';
import { applyConfig, at, onLine, type Scope } from './instructions.js';
import { checkOptions, type CheckedOptions } from './options.js';
import { RootfsView } from './rootfs.js';
import { cancelled, runStep } from './run-step.js';
import { substituteWord } from './substitute.js';
import type { Builder, BuildContext, BuildProgress, BuildResult, DockerfileBuildOptions } from './types.js';
import { splitWords } from './words.js';

/** Build arguments every build knows without an ARG (Docker's predefined ones): passed to RUN, kept out of the history and the cache key. */
const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
/** The platform arguments FROM may use; Berth builds for this machine only. */
const PLATFORM_ARGS: [string, string][] = [
  ['TARGETPLATFORM', 'linux/amd64'],
  ['TARGETOS', 'linux'],
  ['TARGETARCH', 'amd64'],
  ['TARGETVARIANT', ''],
  ['BUILDPLATFORM', 'linux/amd64'],
  ['BUILDOS', 'linux'],
  ['BUILDARCH', 'amd64'],
  ['BUILDVARIANT', ''],
];
const DEFAULT_SHELL = ['/bin/sh', '-c'];

interface StageState {
  stage: Stage;
  image: Image | undefined;
  config: ContainerConfig;
  /** ARGs declared in this stage: name → value (undefined: declared without one). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  author?: string;
}

type StepResult = { config: ContainerConfig; createdBy: string; layer?: { descriptor: Descriptor; diffId: string }; author?: string };

class DockerfileBuild {
  private readonly lease: Lease;
  private readonly id = randomBytes(6).toString('hex');
  private readonly results = new Map<number, Image | undefined>();
  private readonly globals = new Map<string, string | undefined>();
  private readonly consumed = new Set<string>();
  private step = 0;
  private total = 0;
  private cachedSteps = 0;
  private readonly now = new Date();

  constructor(
    private readonly ctx: BuildContext,
    private readonly o: CheckedOptions,
    private readonly df: ParsedDockerfile,
    /** The context, `.dockerignore` applied. */
    private readonly tree: SourceTree,
    private readonly progress: BuildProgress,
  ) {
    this.lease = ctx.images.lease();
  }

  private where(ins: Instruction): string {
    return `${this.df.file}:${ins.line}`;
  }

  private checkAbort(ins: Instruction): void {
    if (this.o.signal?.aborted) throw cancelled(this.where(ins));
  }

  private hold(image: Image): void {
    for (const d of [image.digest, image.configDigest, ...image.manifest.layers.map((l) => l.digest), ...image.config.rootfs.diff_ids]) this.lease.add(d);
  }

  private targetIndex(): number {
    const { stages } = this.df;
    if (this.o.target === undefined) return stages.length - 1;
    const t = this.o.target.toLowerCase();
    const i = stages.findIndex((s) => s.name === t);
    if (i >= 0) return i;
    throw new BerthError(
      'E_BUILD_STAGE_NOT_FOUND',
      `the target stage ${JSON.stringify(this.o.target)} is not in ${this.df.file} (its stages: ${stages.map((s) => s.name ?? String(s.index)).join(', ')})`,
      {
        details: { target: this.o.target },
      },
    );
  }

  async run(): Promise<BuildResult> {
    try {
      const last = this.targetIndex();
      const stages = this.df.stages.slice(0, last + 1);
      const labels = Object.entries(this.o.labels);
      this.total = this.df.globalArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + (labels.length > 0 ? 1 : 0);
      for (const ins of this.df.globalArgs) {
        this.announce(ins.original, ins);
        for (const [name, value] of this.declareArgs(ins, this.globalEnv())) this.globals.set(name, value);
      }
      for (const stage of stages) this.results.set(stage.index, await this.runStage(stage, stage.index === last ? labels : []));
      let image = this.results.get(last);
      image ??= await writeStepImage(this.ctx.images, { parent: undefined, config: {}, history: { created_by: 'berth: FROM scratch' } }, this.lease);
      this.hold(image);
      const unused = [...this.o.buildArgs.keys()].filter((k) => !this.consumed.has(k) && !PROXY_ARGS.includes(k));
      if (unused.length > 0) this.progress({ type: 'warning', message: `One or more build-args [${unused.join(' ')}] were not consumed` });
      const id = shortId(image.digest);
      this.progress({ type: 'built', id });
      if (this.o.signal?.aborted) throw new BerthError('E_BUILD_CANCELLED', 'the build was cancelled before its image was tagged; nothing was tagged');
      for (const tag of this.o.tags) {
        await this.ctx.images.tag(image.digest, tag);
        this.progress({ type: 'tagged', tag });
      }
      image = await this.ctx.images.image(image.digest);
      return { image, id, tags: this.o.tags, steps: this.step, cached: this.cachedSteps };
    } finally {
      this.lease.release();
    }
  }

  private announce(text: string, ins: Instruction): void {
    this.step++;
    this.progress({ type: 'step', step: this.step, total: this.total, instruction: text, line: ins.line });
  }

  private globalEnv(): Map<string, string> {
    const env = new Map<string, string>(PLATFORM_ARGS);
    for (const [k, v] of this.globals) if (v !== undefined) env.set(k, v);
    return env;
  }

  /** ARG NAME[=default]…: each name's value (a --build-arg, else the default substituted, else a global's). */
  private declareArgs(ins: Instruction, env: ReadonlyMap<string, string>): [string, string | undefined][] {
    const out: [string, string | undefined][] = [];
    for (const word of splitWords(ins.rest, this.df.escape)) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw at({ file: this.df.file }, ins, `${JSON.stringify(name)} is not a name (letters, digits and _)`);
      const given = this.o.buildArgs.get(name);
      if (given !== undefined) this.consumed.add(name);
      const fallback =
        eq < 0 ? this.globals.get(name) : onLine({ file: this.df.file }, ins, () => substituteWord(word.slice(eq + 1), { env, escape: this.df.escape }));
      out.push([name, given ?? fallback]);
    }
    return out;
  }

  private async baseImage(stage: Stage): Promise<Image | undefined> {
    const file = { file: this.df.file };
    const env = this.globalEnv();
    const ref = onLine(file, stage.from, () => substituteWord(stage.base, { env, escape: this.df.escape }));
    if (stage.platform !== undefined) {
      const platform = onLine(file, stage.from, () => substituteWord(stage.platform as string, { env, escape: this.df.escape }));
      if (platform !== 'linux/amd64')
        throw at(file, stage.from, `--platform=${platform}: Berth builds for this machine's platform, linux/amd64, only`, 'E_BUILD_UNSUPPORTED');
    }
    if (ref === '') throw at(file, stage.from, `the image ${JSON.stringify(stage.base)} is empty once substituted`);
    if (ref.toLowerCase() === 'scratch') return undefined;
    const earlier = this.df.stages.find((s) => s.index < stage.index && s.name === ref.toLowerCase());
    if (earlier !== undefined) return this.results.get(earlier.index);
    try {
      const image = await this.storedOrPulled(ref, stage);
      if (image.config.os !== 'linux' || image.config.architecture !== 'amd64') {
        throw at(file, stage.from, `${ref} is for ${image.config.os}/${image.config.architecture}; Berth builds for linux/amd64 only`, 'E_BUILD_UNSUPPORTED');
      }
      this.hold(image);
      return image;
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== 'E_IMAGE_NOT_FOUND') throw e;
      throw new BerthError(
        'E_BUILD_BASE_NOT_FOUND',
        `${this.where(stage.from)}: FROM ${ref}: ${e.message}; it names no registry to pull it from (write host[:port]/name[:tag]; Berth has no default registry)`,
        { cause: e, details: { file: this.df.file, line: stage.from.line, image: ref } },
      );
    }
  }

  /** The image in the store, else pulled from the registry its reference names (a reference without one is not pulled). */
  private async storedOrPulled(ref: string, stage: Stage): Promise<Image> {
    try {
      return await this.ctx.images.resolve(ref);
    } catch (e) {
      if (!(e instanceof BerthError) || e.code !== 'E_IMAGE_NOT_FOUND') throw e;
      const parsed = parseReference(ref);
      if (parsed.registry === undefined) throw e;
      this.progress({ type: 'pulling', image: ref });
      let image: Image;
      try {
        image = await pullImage(this.ctx.images, ref);
      } catch (cause) {
        throw new BerthError(
          'E_BUILD_BASE_NOT_FOUND',
          `${this.where(stage.from)}: FROM ${ref}: not in the store, and pulling it from ${parsed.registry} failed: ${(cause as Error).message}`,
          { cause, details: { file: this.df.file, line: stage.from.line, image: ref } },
        );
      }
      this.progress({ type: 'pulled', image: ref, id: shortId(image.digest) });
      return image;
    }
  }

  private async runStage(stage: Stage, labels: [string, string][]): Promise<Image | undefined> {
    this.announce(stage.from.original, stage.from);
    this.checkAbort(stage.from);
    const base = await this.baseImage(stage);
    if (base !== undefined) this.progress({ type: 'image', id: shortId(base.digest) });
    const config: ContainerConfig = structuredClone(base?.config.config ?? {});
    const triggers = ((config as Record<string, unknown>).OnBuild as string[] | null | undefined) ?? [];
    delete (config as Record<string, unknown>).OnBuild;
    const state: StageState = { stage, image: base, config, args: new Map(), cmdSet: false };
    if (triggers.length > 0) {
      this.progress({ type: 'triggers', count: triggers.length });
      for (const trigger of triggers) {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(trigger.trim());
        if (!m) continue;
        const ins = onLine({ file: this.df.file }, stage.from, () =>
          makeInstruction(
            `${this.df.file} (ONBUILD of ${stage.base})`,
            (m[1] as string).toUpperCase() as Instruction['keyword'],
            m[2] as string,
            stage.from.line,
            stage.from.line,
            trigger,
          ),
        );
        await this.execute(state, ins);
      }
    }
    for (const ins of stage.instructions) {
      this.announce(ins.original, ins);
      await this.execute(state, ins);
    }
    if (labels.length > 0) {
      const text = `LABEL ${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`;
      this.announce(text, stage.from);
      const c = { ...state.config, Labels: { ...(state.config.Labels ?? {}), ...Object.fromEntries(labels) } };
      await this.commit(state, { instruction: JSON.stringify(['LABEL', labels]) }, async () => ({ config: c, createdBy: `/bin/sh -c #(nop)  ${text}` }));
    }
    return state.image;
  }

  private scope(state: StageState, used: Set<string>): Scope {
    const env = new Map<string, string>();
    for (const [k, v] of state.args) if (v !== undefined) env.set(k, v);
    for (const kv of state.config.Env ?? []) {
      const i = kv.indexOf('=');
      if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
    }
    const shell = ((state.config as Record<string, unknown>).Shell as string[] | undefined) ?? DEFAULT_SHELL;
    return { file: this.df.file, escape: this.df.escape, env, used, shell, cmdSet: state.cmdSet };
  }

  /** The stage's ARG values a step used (ENV of the same name wins, as in Docker). */
  private argsUsed(state: StageState, used: Set<string>): Record<string, string> {
    const envKeys = new Set((state.config.Env ?? []).map((kv) => kv.slice(0, kv.indexOf('='))));
    const out: Record<string, string> = {};
    for (const [k, v] of state.args) if (v !== undefined && used.has(k) && !envKeys.has(k)) out[k] = v;
    return out;
  }

  private async execute(state: StageState, ins: Instruction): Promise<void> {
    this.checkAbort(ins);
    const used = new Set<string>();
    const scope = this.scope(state, used);
    switch (ins.keyword) {
      case 'ARG': {
        const declared = this.declareArgs(ins, scope.env);
        for (const [k, v] of declared) state.args.set(k, v);
        const text = `ARG ${ins.rest}`;
        await this.commit(state, { instruction: JSON.stringify(['ARG', declared]) }, async () => ({
          config: state.config,
          createdBy: `/bin/sh -c #(nop)  ${text}`,
        }));
        return;
      }
      case 'RUN':
        return this.runInstruction(state, ins, scope);
      case 'COPY':
      case 'ADD':
        return this.copy(state, ins, scope);
      case 'WORKDIR':
        return this.workdir(state, ins, scope);
      default: {
        const r = applyConfig(scope, ins, state.config);
        if (r.cmdSet) state.cmdSet = true;
        await this.commit(state, { instruction: r.key, args: this.argsUsed(state, used) }, async () => ({
          config: r.config,
          createdBy: r.createdBy,
          ...(r.author === undefined ? {} : { author: r.author }),
        }));
      }
    }
  }

  /** The step's image: from the cache, or made by `make` and remembered. */
  private async commit(state: StageState, parts: Omit<CacheKeyParts, 'parent'>, make: () => Promise<StepResult>): Promise<void> {
    const key = cacheKey({ parent: state.image?.digest ?? 'scratch', ...parts });
    const cache = this.ctx.cache;
    if (cache !== undefined && !this.o.noCache) {
      const hit = await cache.get(key, this.ctx.images);
      if (hit !== undefined) {
        const image = await this.ctx.images.image(hit);
        this.hold(image);
        state.image = image;
        state.config = structuredClone(image.config.config ?? {});
        this.cachedSteps++;
        this.progress({ type: 'cache' });
        this.progress({ type: 'image', id: shortId(image.digest) });
        return;
      }
    }
    const r = await make();
    const image = await writeStepImage(
      this.ctx.images,
      {
        parent: state.image,
        ...(r.layer ? { layer: r.layer } : {}),
        config: r.config,
        history: { created_by: r.createdBy },
        ...(r.author === undefined ? {} : { author: r.author }),
      },
      this.lease,
    );
    this.hold(image);
    await cache?.set(key, image.digest);
    state.image = image;
    state.config = structuredClone(r.config);
    this.progress({ type: 'image', id: shortId(image.digest) });
  }

  private async runInstruction(state: StageState, ins: Instruction, scope: Scope): Promise<void> {
    const argv = ins.json ?? [...scope.shell, ins.rest];
    const envKeys = new Set((state.config.Env ?? []).map((kv) => kv.slice(0, kv.indexOf('='))));
    const args = [...state.args].filter(([k, v]) => v !== undefined && !envKeys.has(k)) as [string, string][];
    const prefix = args.length === 0 ? '' : `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(' ')} `;
    const createdBy = `${prefix}${argv.join(' ')}`;
    const proxies = PROXY_ARGS.filter((k) => this.o.buildArgs.has(k)).map((k) => `${k}=${this.o.buildArgs.get(k) as string}`);
    await this.commit(state, { instruction: JSON.stringify(['RUN', argv]), args: Object.fromEntries(args) }, async () => {
      const parent = state.image;
      if (parent === undefined)
        throw at(scope, ins, 'there is nothing to run it in: the stage is FROM scratch and has no files yet', 'E_BUILD_DOCKERFILE_INVALID');
      const layer = await withLine(this, ins, () =>
        runStep({
          containers: this.ctx.containers,
          image: parent.digest,
          argv,
          env: [...args.map(([k, v]) => `${k}=${v}`), ...proxies],
          limits: this.o.limits,
          labels: { 'berth.build': this.id, 'berth.build.step': this.where(ins) },
          signal: this.o.signal,
          progress: this.progress,
          where: this.where(ins),
          shown: argv.join(' '),
          lease: this.lease,
        }),
      );
      return { config: state.config, createdBy, layer };
    });
  }

  private async viewOf(image: Image | undefined): Promise<RootfsView | undefined> {
    if (image === undefined) return undefined;
    return new RootfsView(await this.ctx.images.unpackImage(image), defaultFsutilBinary);
  }

  /** The tree a COPY reads: the context, or `--from`'s stage or image. */
  private async sourceTree(ins: Instruction, from: string | undefined, scope: Scope): Promise<{ tree: SourceTree; id: string }> {
    if (from === undefined) {
      return { tree: this.tree, id: 'context' };
    }
    const name = onLine(scope, ins, () => substituteWord(from, { env: scope.env, escape: scope.escape, used: scope.used })).toLowerCase();
    const current = this.df.stages.findIndex((s) => s.instructions.includes(ins) || s.from === ins);
    const stage = this.df.stages.find((s) => s.name === name || String(s.index) === name);
    let image: Image | undefined;
    let what: string;
    if (stage !== undefined) {
      if (current >= 0 && stage.index >= current)
        throw new BerthError('E_BUILD_STAGE_NOT_FOUND', `${this.where(ins)}: COPY --from=${name}: a stage can only copy from a stage before it`, {
          details: { line: ins.line },
        });
      image = this.results.get(stage.index);
      what = `stage ${name}`;
    } else {
      try {
        image = await this.ctx.images.resolve(name);
        this.hold(image);
      } catch (e) {
        if (!(e instanceof BerthError) || (e.code !== 'E_IMAGE_NOT_FOUND' && e.code !== 'E_IMAGE_REFERENCE_INVALID')) throw e;
        const names = this.df.stages.map((s) => s.name ?? String(s.index)).join(', ');
        throw new BerthError(
          'E_BUILD_STAGE_NOT_FOUND',
          `${this.where(ins)}: ${ins.keyword} --from=${name}: no stage of that name (the stages: ${names}) and no such image in the store`,
          {
            cause: e,
            details: { file: this.df.file, line: ins.line, from: name },
          },
        );
      }
      what = `image ${name}`;
    }
    const view = await this.viewOf(image);
    const empty: SourceTree = { what, lstat: async () => undefined, readdir: async () => [], resolve: async (r) => r };
    return { tree: view === undefined ? empty : imageTree(what, view), id: image?.digest ?? 'scratch' };
  }

  private async copy(state: StageState, ins: Instruction, scope: Scope): Promise<void> {
    const a = copyArguments(ins, scope, state.config.WorkingDir || '/');
    const { tree, id } = await this.sourceTree(ins, a.from, scope);
    const sources = await matchSources(tree, ins, a.sources, this.where(ins), this.df.file);
    const base = {
      sources,
      dest: a.dest,
      ...(a.chmod === undefined ? {} : { chmod: a.chmod }),
      extract: ins.keyword === 'ADD',
      keepOwners: id !== 'context',
      now: this.now,
      keyword: ins.keyword as 'COPY' | 'ADD',
    };
    const probe = await withLine(this, ins, () => planCopy({ ...base, view: undefined }));
    const flags = [a.chownText === undefined ? '' : `--chown=${a.chownText} `, a.chmodText === undefined ? '' : `--chmod=${a.chmodText} `].join('');
    await this.commit(
      state,
      { instruction: `${ins.keyword} ${flags}${probe.summary} in ${a.dest}`, args: this.argsUsed(state, scope.used), content: `${id}:${probe.contentHash}` },
      async () => {
        const view = await this.viewOf(state.image);
        const chown = a.chownText === undefined ? undefined : await resolveOwner(ins, a.chownText, view, scope);
        const plan = await withLine(this, ins, () => planCopy({ ...base, view, ...(chown === undefined ? {} : { chown }) }));
        return { config: state.config, createdBy: `/bin/sh -c #(nop) ${ins.keyword} ${plan.summary} in ${a.dest} `, layer: await this.layer(plan, chown) };
      },
    );
  }

  private async layer(plan: CopyPlan, chown: Owner | undefined): Promise<{ descriptor: Descriptor; diffId: string }> {
    const layer = await writeLayerStream(this.ctx.images, copyLayer(plan, chown), 'gzip', this.lease);
    this.lease.add(layer.diffId);
    return layer;
  }

  private async workdir(state: StageState, ins: Instruction, scope: Scope): Promise<void> {
    const path = onLine(scope, ins, () => substituteWord(ins.rest, { env: scope.env, escape: scope.escape, used: scope.used }));
    const dir = posix.resolve(state.config.WorkingDir || '/', path);
    await this.commit(state, { instruction: `WORKDIR ${dir}`, args: this.argsUsed(state, scope.used) }, async () => {
      const plan = await withLine(this, ins, async () => mkdirPlan(await this.viewOf(state.image), dir, this.now));
      return {
        config: { ...state.config, WorkingDir: dir },
        createdBy: `/bin/sh -c #(nop) WORKDIR ${dir}`,
        ...(plan === undefined ? {} : { layer: await this.layer(plan, undefined) }),
      };
    });
  }

  lineOf(ins: Instruction): string {
    return this.where(ins);
  }
}

/** Run part of a step, naming the line in its errors. */
async function withLine<T>(build: DockerfileBuild, ins: Instruction, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BerthError && !e.message.includes(build.lineOf(ins))) {
      throw new BerthError(e.code, `${build.lineOf(ins)}: ${ins.keyword}: ${e.message}`, { cause: e, hint: e.hint, details: { ...e.details, line: ins.line } });
    }
    throw e;
  }
}

/** The Dockerfile's text: its path resolved inside the context (a symlink pointing out of it is refused, never read). */
async function readDockerfile(dir: string, path: string): Promise<string> {
  const missing = (cause?: unknown): BerthError =>
    new BerthError('E_BUILD_CONTEXT_INVALID', `the build context ${dir} has no ${path}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { dir, dockerfile: path },
    });
  let tree: SourceTree;
  let entry;
  try {
    tree = await contextTree(dir, []);
    entry = await tree.lstat(await tree.resolve(path, true));
  } catch (cause) {
    if (cause instanceof BerthError && cause.code === 'E_BUILD_COPY_OUTSIDE_CONTEXT') {
      throw new BerthError('E_BUILD_CONTEXT_INVALID', `the Dockerfile ${path} is a symlink leading outside the build context; it was not read`, {
        cause,
        details: { dir, dockerfile: path },
      });
    }
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' || (cause as NodeJS.ErrnoException).code === 'ENOTDIR') throw missing(cause);
    throw cause;
  }
  if (entry === undefined) throw missing();
  if (!entry.stat.isFile())
    throw new BerthError('E_BUILD_CONTEXT_INVALID', `${path} in the build context ${dir} is not a file`, { details: { dir, dockerfile: path } });
  return readFile(entry.host, 'utf8');
}

/**
 * Build the image a Dockerfile describes, in `context.dir`. Progress events come as the
 * build goes; the result names the image, which carries `options.tags` once everything has
 * succeeded (a failed or cancelled build tags nothing).
 */
export const buildDockerfile: Builder<BuildContext, DockerfileBuildOptions> = async (context, options, progress) => {
  const o = checkOptions(options);
  const df = parseDockerfile(await readDockerfile(context.dir, o.dockerfile), o.dockerfile);
  const tree = await contextTree(context.dir);
  return new DockerfileBuild(context, o, df, tree, progress).run();
};
