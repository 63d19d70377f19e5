/**
 * The release engine (docs/releases.md): puts a release in service in Dokku's order,
 * release phase → start → checks → switch → retire, each announced through `io.stage`.
 *
 * Until the switch nothing of the running release is touched: a failure (or a cancel)
 * removes the new containers and the old release keeps serving. After the switch the new
 * release serves; retiring the old containers is best effort (a failure is reported, not
 * thrown). Every step is safe to run again: a deploy of a release first removes what an
 * earlier, interrupted deploy of the same release left.
 */
import { BerthError, markers, toBerthError, type Logger } from '../core/index.js';
import type { ContainerManager } from '../containers/index.js';
import type { ImageStore } from '../images/index.js';
import type { ProxyRouter, Upstream } from '../proxy/index.js';
import { runChecks, type NewContainer } from './checks.js';
import { checksFor, dockerHealthcheck, parseHealthchecks } from './healthchecks.js';
import { validatePlan } from './plan.js';
import { appContainers, releaseOf, removeAll, startProcesses } from './processes.js';
import { runReleasePhase } from './release-phase.js';
import { switchTraffic } from './switch.js';
import {
  defaultReleaseSettings,
  labels,
  type CleanupOutcome,
  type DeployOutcome,
  type ReleaseEngine,
  type ReleaseIo,
  type ReleasePlan,
  type ReleaseServices,
  type ReleaseSettings,
} from './types.js';

const step = (text: string) => `${markers.step}${text}`;
const detail = (text: string) => `${markers.detail}${text}`;

function cancelled(plan: ReleasePlan, cause: unknown): BerthError {
  return new BerthError('E_RELEASE_CANCELLED', `the deploy of release ${plan.release} of app ${plan.app} was cancelled; its containers were removed`, {
    cause,
    details: { app: plan.app, release: plan.release },
  });
}

class Engine implements ReleaseEngine {
  readonly #containers: ContainerManager;
  readonly #images: ImageStore;
  readonly #router: ProxyRouter;
  readonly #log: Logger;
  readonly #settings: ReleaseSettings;

  constructor(s: ReleaseServices) {
    this.#containers = s.containers;
    this.#images = s.images;
    this.#router = s.router;
    this.#log = s.log;
    this.#settings = { ...defaultReleaseSettings, ...s.settings };
  }

  async deploy(input: ReleasePlan, io: ReleaseIo): Promise<DeployOutcome> {
    const plan = validatePlan(input);
    const healthchecks = parseHealthchecks(plan.healthchecks);
    const image = await this.#images.resolve(plan.image);
    const imageCheck = dockerHealthcheck(image.config.config as Record<string, unknown> | undefined);
    // A retry of this release (after a crash) starts clean.
    await this.#removeRelease(plan.app, plan.release);
    const log = this.#log.child({ app: plan.app, release: plan.release });

    if (plan.releaseCommand) {
      io.stage('release-phase');
      io.line(step(`Running the release phase: ${plan.releaseCommand.join(' ')}`));
      await runReleasePhase(this.#containers, plan, plan.releaseCommand, io).catch((e: unknown) => {
        throw io.signal.aborted ? cancelled(plan, e) : e;
      });
    }

    io.stage('start');
    if (io.signal.aborted) throw cancelled(plan, io.signal.reason);
    const counts = Object.entries(plan.scale).filter(([, n]) => n > 0);
    io.line(step(`Starting ${counts.map(([t, n]) => `${t}=${n}`).join(' ') || 'no process'} (release ${plan.release})`));
    const started = await startProcesses(this.#containers, plan, log);
    const web: Upstream[] = started.filter((c) => c.type === 'web').map((c) => ({ address: c.address as string, port: plan.port }));
    try {
      io.stage('checks');
      await this.#check(plan, started, { healthchecks, imageCheck }, io);
      io.stage('switch');
      io.line(step(`Switching ${plan.domains.join(', ')} to release ${plan.release}`));
      await switchTraffic(
        this.#router,
        { app: plan.app, domains: plan.domains, upstreams: web },
        { waitSeconds: this.#settings.switchWaitSeconds, line: (t) => io.line(detail(t)) },
      );
    } catch (e) {
      await removeAll(
        this.#containers,
        started.map((c) => c.id),
        0,
        log,
      );
      log.warn({ code: toBerthError(e).code }, 'release: the deploy failed before the switch; its containers were removed');
      throw io.signal.aborted ? cancelled(plan, e) : e;
    }
    log.info({ containers: started.map((c) => c.name) }, 'release: serving');

    io.stage('retire');
    const retired = await this.#retire(plan.app, plan.release, (t) => io.line(detail(t)));
    return { containers: started.map((c) => c.id), upstreams: web, retired };
  }

  async #check(
    plan: ReleasePlan,
    started: NewContainer[],
    o: { healthchecks: ReturnType<typeof parseHealthchecks>; imageCheck: ReturnType<typeof dockerHealthcheck> },
    io: ReleaseIo,
  ): Promise<void> {
    const work = started.map((container) => ({
      container,
      checks: checksFor(container.type, { healthchecks: o.healthchecks, port: plan.port, image: o.imageCheck, settings: this.#settings }),
    }));
    const names = [...new Set(work.flatMap((w) => w.checks.map((c) => c.name)))];
    io.line(step(`Checking ${started.length} container${started.length === 1 ? '' : 's'}: ${names.join(', ') || 'nothing to check'}`));
    const t0 = Date.now();
    await runChecks({ containers: this.#containers, signal: io.signal, warn: (t) => io.line(detail(t)) }, work);
    io.line(detail(`healthy after ${((Date.now() - t0) / 1000).toFixed(1)} s`));
  }

  /** Stop and remove every container of the app but those of `keep`, after requests in flight to them are done. */
  async #retire(app: string, keep: number, line: (text: string) => void): Promise<string[]> {
    // A release-phase container of `keep` is left only by a crash: it goes too.
    const old = appContainers(this.#containers, app).filter((c) => releaseOf(c) !== keep || labels.phase in c.config.labels);
    if (old.length === 0) return [];
    const waitS = this.#settings.waitToRetireSeconds;
    const t0 = Date.now();
    const drained = await this.#router.drain(waitS * 1000);
    line(
      drained
        ? `old requests done after ${((Date.now() - t0) / 1000).toFixed(1)} s; retiring ${old.length} old container${old.length === 1 ? '' : 's'}`
        : `requests still in flight after ${waitS} s (wait-to-retire); retiring ${old.length} old container${old.length === 1 ? '' : 's'} anyway`,
    );
    const removed = await removeAll(
      this.#containers,
      old.map((c) => c.id),
      this.#settings.stopTimeoutSeconds,
      this.#log,
    );
    if (removed.length < old.length) line(`${old.length - removed.length} old container(s) could not be removed; the daemon log says why`);
    return removed;
  }

  async #removeRelease(app: string, release: number): Promise<string[]> {
    const left = appContainers(this.#containers, app).filter((c) => releaseOf(c) === release);
    return removeAll(
      this.#containers,
      left.map((c) => c.id),
      0,
      this.#log,
    );
  }

  async stopApp(app: string): Promise<void> {
    await this.#router.remove(app);
    const all = appContainers(this.#containers, app);
    const removed = await removeAll(
      this.#containers,
      all.map((c) => c.id),
      this.#settings.stopTimeoutSeconds,
      this.#log,
    );
    if (removed.length < all.length) {
      throw new BerthError('E_RELEASE_STOP_FAILED', `${all.length - removed.length} container(s) of app ${app} could not be removed; the daemon log says why`, {
        details: { app },
      });
    }
  }

  async cleanupInterrupted(app: string, release: number): Promise<CleanupOutcome> {
    const all = appContainers(this.#containers, app);
    const routed = new Set((this.#router.route(app)?.upstreams ?? []).map((u) => u.address));
    const serving = all.find((c) => c.state === 'running' && c.network && routed.has(c.network.address));
    const servingRelease = serving === undefined ? undefined : releaseOf(serving);
    const log = this.#log.child({ app, release });
    if (servingRelease === release) {
      // The switch went through before the crash: the new release serves; finish its retire.
      const removed = await this.#retire(app, release, (t) => log.info(t));
      log.warn({ removed: removed.length }, 'release: the interrupted deploy had switched; the new release keeps serving');
      return { removed, serving: release };
    }
    const removed = await this.#removeRelease(app, release);
    log.warn({ removed: removed.length, serving: servingRelease }, 'release: removed what the interrupted deploy started; the old release keeps serving');
    return { removed, ...(servingRelease === undefined ? {} : { serving: servingRelease }) };
  }
}

/** The release engine on the daemon's containers, images and proxy router. */
export function createReleaseEngine(services: ReleaseServices): ReleaseEngine {
  return new Engine(services);
}
