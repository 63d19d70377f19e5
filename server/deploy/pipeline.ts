/**
 * The pipeline: a push goes through every stage (receive → build → release → release phase →
 * start → checks → switch → retire → record); a config change, a scale or a rollback makes a
 * release from an image that already exists and goes through the same stages from `release`
 * on. docs/deploys.md is this file in words.
 *
 * What a failure leaves: the received tree is removed (finally), the release engine removes
 * the containers it started (Contract 3), the release serving before keeps serving; the
 * release record of a deploy that failed after the release stage stays in the history, never
 * current.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, formatBytes, writeFileAtomic } from '../core/index.js';
import type { AppRecord, BuilderName, ReleaseRecord } from '../apps/index.js';
import { formatEvent, parseProcfile, selectBuilder, type BuildEvent } from '../build/index.js';
import type { ReleasePlan } from '../release/index.js';
import { parseAppJson, type AppJson } from './app-json.js';
import { choosePort, labels, processModel, releaseCommand, scaleFor } from './process-types.js';
import { receiveTree } from './receive.js';
import { readCommitFile, readSourceFile } from './source.js';
import { StageRunner } from './stage-runner.js';
import { isStage } from './stages.js';
import type { DeployJob, DeployPorts, ImageFacts, JsonObject } from './ports.js';

const DEFAULT_GIT = '/usr/bin/git';

type PushRequest = Extract<DeployJob['request'], { kind: 'push' }>;

/** Where one job keeps its received tree and its state (the release it made), by job id. */
export function workPaths(workDir: string, jobId: string) {
  const dir = join(workDir, jobId);
  return { dir, src: join(dir, 'src'), state: join(dir, 'state.json') };
}

/** What a job records before it starts containers, so that cleanup after a crash knows what to remove. */
export interface WorkState {
  app: string;
  release: number;
}

/** The domains an app answers on: its own, else `<app>.<BERTH_DOMAIN>`. */
export function appDomains(app: Pick<AppRecord, 'name' | 'domains'>, domain: string): string[] {
  return app.domains.length > 0 ? [...app.domains] : [`${app.name}.${domain}`];
}

/** The URL a deploy answers: the first domain, on nginx's port. */
export function appUrl(domains: readonly string[], httpPort: number): string {
  return `http://${domains[0] ?? 'localhost'}${httpPort === 80 ? '' : `:${httpPort}`}/`;
}

/**
 * The builder setting the pipeline passes to selectBuilder: the app's `builder:set` wins;
 * else buildpacks the app names (`buildpacks:set`, BUILDPACK_URL, a `.buildpacks` file)
 * mean herokuish, as in Dokku, even beside a Dockerfile; else undefined (a Dockerfile decides).
 */
export function builderSetting(app: Pick<AppRecord, 'builder' | 'buildpacks' | 'env'>, hasBuildpacksFile: boolean): BuilderName | undefined {
  if (app.builder !== undefined) return app.builder;
  if (app.buildpacks.length > 0 || (app.env.BUILDPACK_URL ?? '') !== '' || hasBuildpacksFile) return 'herokuish';
  return undefined;
}

/** What a release is made of, whichever job made it. */
interface ReleaseInput {
  app: AppRecord;
  image: ImageFacts;
  builder: BuilderName | 'none';
  commit?: string;
  env: Record<string, string>;
  description: string;
  appJson: AppJson;
  /** The scale to run; default: the app's, completed by scaleFor. */
  scale?: Record<string, number>;
  /** Whether the release phase runs (not for a scale change). */
  releasePhase: boolean;
  /** Whether the app's config vars become the release's (a rollback brings its config back). */
  restoreEnv: boolean;
}

export class Pipeline {
  readonly #git: string;

  constructor(private readonly ports: DeployPorts) {
    this.#git = ports.settings.git ?? DEFAULT_GIT;
  }

  /** Run one job; its error is a BerthError naming the stage. */
  async run(job: DeployJob): Promise<JsonObject> {
    const runner = new StageRunner(job);
    const work = workPaths(this.ports.settings.workDir, job.id);
    let serving: number | undefined;
    try {
      const app = await this.ports.apps.get(job.app);
      serving = app.currentRelease;
      await rm(work.dir, { recursive: true, force: true });
      await mkdir(work.src, { recursive: true, mode: 0o700 });
      const request = job.request;
      const input = request.kind === 'push' ? await this.#build(job, request, runner, app, work.src) : await this.#withoutBuild(request, runner, app);
      if (input === undefined) return { release: null, note: `app ${app.name} has no release yet: the change applies at its first deploy` };
      return await this.#release(job, runner, input, work.state);
    } catch (err) {
      throw runner.failure(err, serving);
    } finally {
      await rm(work.dir, { recursive: true, force: true });
    }
  }

  /** receive and build: a pushed commit to an image. */
  async #build(job: DeployJob, request: PushRequest, runner: StageRunner, app: AppRecord, src: string): Promise<ReleaseInput> {
    const { commit, ref } = request;
    const { settings } = this.ports;
    const paths = this.ports.apps.paths(app.name);
    runner.begin('receive', `commit ${commit.slice(0, 7)} of ${ref.replace(/^refs\/heads\//, '')}`);
    const tree = await receiveTree({
      git: this.#git,
      repo: paths.repo,
      commit,
      dir: src,
      maxBytes: settings.maxSourceBytes,
      maxFileBytes: settings.maxFileBytes,
      signal: job.signal,
    });
    runner.detail(`${tree.files} files, ${formatBytes(tree.bytes)}`);
    const procfileText = await readSourceFile(src, 'Procfile');
    const procfile = procfileText === undefined ? undefined : parseProcfile(procfileText);
    const appJson = parseAppJson(await readSourceFile(src, 'app.json'));
    const hasBuildpacksFile = (await readSourceFile(src, '.buildpacks')) !== undefined;

    job.signal.throwIfAborted();
    const builder = await selectBuilder(src, builderSetting(app, hasBuildpacksFile));
    runner.begin('build', builder === 'dockerfile' ? `${app.name} from its Dockerfile` : `${app.name} with buildpacks`);
    const progress = (e: BuildEvent) => job.line(formatEvent(e));
    const built =
      builder === 'dockerfile'
        ? await this.ports.build.dockerfile(
            src,
            {
              labels: { [labels.commit]: commit, ...(procfile === undefined ? {} : { [labels.processTypes]: JSON.stringify(procfile) }) },
              signal: job.signal,
            },
            progress,
          )
        : await this.ports.build.buildpacks(
            src,
            {
              app: app.name,
              cacheDir: paths.cache,
              env: app.env,
              ...(app.buildpacks.length > 0 ? { buildpacks: app.buildpacks } : {}),
              commit,
              signal: job.signal,
            },
            progress,
          );
    job.signal.throwIfAborted();
    return {
      app,
      image: await this.ports.images.inspect(built.image.digest),
      builder,
      commit,
      env: { ...app.env },
      description: `Deploy ${commit.slice(0, 7)}`,
      appJson,
      releasePhase: true,
      restoreEnv: false,
    };
  }

  /** A config change, a scale or a rollback: the image of an existing release; undefined when there is none yet. */
  async #withoutBuild(request: Exclude<DeployJob['request'], PushRequest>, runner: StageRunner, app: AppRecord): Promise<ReleaseInput | undefined> {
    const current = app.currentRelease;
    if (current === undefined && request.kind !== 'rollback') {
      if (request.kind === 'scale') await this.ports.apps.update(app.name, (a) => void Object.assign(a.scale, request.scale));
      return undefined;
    }
    runner.begin('release');
    const base: ReleaseRecord = await this.ports.apps.release(app.name, request.kind === 'rollback' ? request.release : (current as number));
    const image = await this.ports.images.inspect(base.image);
    const appJson =
      base.commit === undefined ? {} : parseAppJson(await readCommitFile(this.#git, this.ports.apps.paths(app.name).repo, base.commit, 'app.json'));
    const common = { app, image, builder: 'none' as const, appJson, ...(base.commit === undefined ? {} : { commit: base.commit }) };
    switch (request.kind) {
      case 'config':
        return { ...common, env: { ...app.env }, description: describeConfig(base.env, app.env, request.keys), releasePhase: true, restoreEnv: false };
      case 'scale': {
        const model = processModel(image);
        const scale = { ...scaleFor(model, app.scale), ...request.scale };
        const unknown = Object.keys(request.scale).filter((t) => model.processes[t] === undefined);
        if (unknown.length > 0) {
          throw new BerthError('E_DEPLOY_SCALE_INVALID', `release v${base.number} has no process type ${unknown.join(', ')} to scale`, {
            details: { types: unknown },
            hint: `Its process types are ${Object.keys(model.processes).join(', ') || 'none'}; add the type to the Procfile and push, or scale one of those.`,
          });
        }
        const description = `Scale ${Object.entries(request.scale)
          .map(([t, n]) => `${t}=${n}`)
          .join(' ')}`;
        return { ...common, env: { ...base.env }, description, scale, releasePhase: false, restoreEnv: false };
      }
      case 'rollback':
        return { ...common, env: { ...base.env }, description: `Rollback to v${base.number}`, releasePhase: true, restoreEnv: true };
    }
  }

  /** release → … → record: a numbered release, served by the release engine, made current. */
  async #release(job: DeployJob, runner: StageRunner, input: ReleaseInput, stateFile: string): Promise<JsonObject> {
    const { app, image } = input;
    const { settings } = this.ports;
    job.signal.throwIfAborted();
    runner.begin('release');
    const model = processModel(image);
    const port = choosePort(model, image, input.env);
    const scale = input.scale ?? scaleFor(model, app.scale);
    const command = input.releasePhase ? releaseCommand(model, input.appJson.predeploy) : undefined;
    const record = await this.ports.apps.addRelease(app.name, {
      image: image.id,
      ...(input.commit === undefined ? {} : { commit: input.commit }),
      builder: input.builder,
      env: input.env,
      processTypes: model.processTypes,
      scale,
      description: input.description,
    });
    const state: WorkState = { app: app.name, release: record.number };
    await writeFileAtomic(stateFile, `${JSON.stringify(state)}\n`);
    await this.ports.images.tag(image.id, releaseTag(app.name, record.number));
    runner.detail(`v${record.number}: ${input.description}`);
    runner.detail(
      `process types: ${Object.entries(scale)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ')}; port ${port}`,
    );
    const domains = appDomains(app, settings.domain);
    const plan: ReleasePlan = {
      app: app.name,
      release: record.number,
      image: image.id,
      processes: model.processes,
      scale,
      env: input.env,
      port,
      domains,
      userns: app.userns,
      ...(input.appJson.healthchecks === undefined ? {} : { healthchecks: input.appJson.healthchecks }),
      ...(command === undefined ? {} : { releaseCommand: command }),
    };
    job.signal.throwIfAborted();
    await this.ports.release.deploy(plan, {
      line: (text) => job.line(text),
      // The engine prints its own `----->` headings, with what it does (the command, the counts).
      stage: (name) => (isStage(name) ? runner.begin(name, undefined, { heading: false }) : runner.detail(name)),
      signal: job.signal,
    });
    // Serving now: nothing below may be cancelled, or the record would lag what serves.
    runner.begin('record');
    await this.ports.apps.update(app.name, (a) => {
      a.scale = { ...scale };
      if (input.restoreEnv) a.env = { ...input.env };
    });
    await this.ports.apps.setCurrent(app.name, record.number);
    const url = appUrl(domains, settings.httpPort);
    runner.detail(`v${record.number} is live: ${url}`);
    return { release: record.number, image: image.id, url, timings: runner.timings() };
  }
}

/** The tag that keeps a release's image from the image store's GC: `berth/<app>:v<n>`. */
export const releaseTag = (app: string, release: number): string => `berth/${app}:v${release}`;

/** "Set FOO, BAR; unset BAZ": the keys of a config change, by what happened to each. */
export function describeConfig(before: Record<string, string>, after: Record<string, string>, keys: readonly string[]): string {
  const set = keys.filter((k) => after[k] !== undefined);
  const unset = keys.filter((k) => after[k] === undefined && before[k] !== undefined);
  const parts = [...(set.length > 0 ? [`Set ${set.join(', ')}`] : []), ...(unset.length > 0 ? [`unset ${unset.join(', ')}`] : [])];
  const text = parts.join('; ');
  return text === '' ? 'Config change' : text.charAt(0).toUpperCase() + text.slice(1);
}
