/**
 * The proxy router: applies per-app routes to the embedded nginx, one change at a time.
 *
 * Every change builds the full candidate: a copy of the live main config and of every file in
 * conf.d, with the changed apps' files replaced, in BERTH_HOME/nginx/candidates/<id>. nginx -t
 * checks that copy (conf.d is included relative to the main config, so the bytes checked are
 * the bytes that go live). Only then are the changed files renamed into conf.d one by one
 * (each rename atomic), and nginx reloaded. conf.d therefore always holds the last good
 * config; the files a swap replaced are kept in previous/, a refused candidate in rejected/.
 *
 * One app's bad config never blocks another's change (Dokku #7277): when nginx -t names a
 * changed app's file, that app alone is refused (it keeps its last good config) and the
 * candidate is checked again without its change; a failure nginx does not pin on one app
 * splits the batch into single changes.
 */
import { copyFile, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BerthError, KeyedLock, toBerthError, validateAppName, writeFileAtomic, type Logger } from '../core/index.js';
import { validateAppRoute, type AppRoute, type AppRouteInput } from './app-route.js';
import { appConfigName, appSnippetName, renderAppConfig } from './render-app.js';
import { testNginxConfig, type EmbeddedNginx } from './embedded.js';
import { nginxPaths } from './main-config.js';
import { waitOldWorkersGone } from './workers.js';

/** A change to apply: a route to set, or an app whose routes go away. */
export type RouteChange = AppRouteInput | { app: string; remove: true };

/** What a batch did: the apps whose change is live, and the refused ones with why. */
export interface ApplyOutcome {
  applied: string[];
  rejected: { app: string; error: BerthError }[];
}

export interface ProxyRouterOptions {
  nginx: EmbeddedNginx;
  log: Logger;
}

/** Where the router keeps its copies, under the nginx prefix (docs/proxy.md, troubleshooting). */
export const routerPaths = (prefix: string) => ({
  candidates: join(prefix, 'candidates'),
  previous: join(prefix, 'previous'),
  rejected: join(prefix, 'rejected'),
  routes: join(prefix, 'routes'),
});

/** One change ready to test: the files it writes (text) or removes (null) in conf.d. */
interface Pending {
  app: string;
  route: AppRoute | undefined;
  files: Map<string, string | null>;
}

/**
 * The order files go live in: writes before removals, a snippet before the config that
 * includes it, and on removal the config before its snippet, so conf.d never includes a
 * missing file even between two renames.
 */
function swapOrder(files: Map<string, string | null>): string[] {
  const rank = (name: string) => (files.get(name) === null ? 2 : 0) + (name.endsWith('.snippet') === (files.get(name) === null) ? 1 : 0);
  return [...files.keys()].sort((a, b) => rank(a) - rank(b));
}

const isRemoval = (c: RouteChange): c is { app: string; remove: true } => 'remove' in c && c.remove === true;
const readOrNull = (path: string) => readFile(path, 'utf8').catch(() => null);

export class ProxyRouter {
  readonly #nginx: EmbeddedNginx;
  readonly #log: Logger;
  readonly #paths: ReturnType<typeof routerPaths>;
  readonly #sites: string;
  /** The live routes by app, for domain ownership. */
  readonly #routes = new Map<string, AppRoute>();
  /** One writer at a time for the whole of conf.d (every change tests the full candidate). */
  readonly #lock = new KeyedLock();

  private constructor(o: ProxyRouterOptions) {
    this.#nginx = o.nginx;
    this.#log = o.log;
    this.#paths = routerPaths(o.nginx.prefix);
    this.#sites = nginxPaths(o.nginx.prefix).sites;
  }

  /** Open the router on a running embedded nginx: clears candidates a crash left, loads the live routes. */
  static async open(o: ProxyRouterOptions): Promise<ProxyRouter> {
    const router = new ProxyRouter(o);
    const p = router.#paths;
    await rm(p.candidates, { recursive: true, force: true });
    for (const dir of [p.candidates, p.previous, p.rejected, p.routes, router.#sites]) await mkdir(dir, { recursive: true, mode: 0o755 });
    for (const name of await readdir(p.routes)) {
      if (!name.endsWith('.json')) continue;
      const app = name.slice(0, -'.json'.length);
      try {
        const route = validateAppRoute(JSON.parse(await readFile(join(p.routes, name), 'utf8')) as AppRouteInput);
        if (route.app === app && (await readOrNull(join(router.#sites, appConfigName(app)))) !== null) router.#routes.set(app, route);
      } catch (err) {
        o.log.warn({ code: toBerthError(err).code, file: join(p.routes, name) }, 'proxy: ignoring an unreadable route record');
      }
    }
    return router;
  }

  /** The apps with a live config, sorted. */
  apps(): string[] {
    return [...this.#routes.keys()].sort();
  }

  /** The live route of `app`, if it has one. */
  route(app: string): AppRoute | undefined {
    return this.#routes.get(app);
  }

  /** Route `input.app` as given; throws the validation error or nginx's refusal (the app keeps its last good config). */
  async apply(input: AppRouteInput): Promise<AppRoute> {
    const route = validateAppRoute(input);
    await this.#single(route);
    return route;
  }

  /** Remove an app's routes (its hosts then get the default 404). Removing an app without routes does nothing. */
  async remove(app: string): Promise<void> {
    validateAppName(app);
    await this.#single({ app, remove: true });
  }

  /**
   * Wait, at most `timeoutMs`, until nginx's workers from before the last reload have
   * finished their requests and exited: after that no request can reach an upstream a
   * change took away, so its containers can be stopped (release/'s wait-to-retire). True
   * when they are gone (or nginx is not running), false when the time ran out.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const pid = this.#nginx.supervisor.pid;
    return pid === undefined ? true : waitOldWorkersGone(pid, timeoutMs);
  }

  /** Apply several changes in one reload; each refused change is reported and the others still go through. */
  applyAll(changes: readonly RouteChange[]): Promise<ApplyOutcome> {
    return this.#lock.run('conf.d', () => this.#applyBatch(changes));
  }

  async #single(change: AppRoute | { app: string; remove: true }): Promise<void> {
    const outcome = await this.applyAll([change]);
    const refused = outcome.rejected[0];
    if (refused) throw refused.error;
  }

  /** Validate and render each change; refuse the invalid ones and those taking another app's domain. */
  #prepare(changes: readonly RouteChange[], outcome: ApplyOutcome): Pending[] {
    const pending: Pending[] = [];
    const owner = new Map<string, string>();
    for (const [app, route] of this.#routes) for (const d of route.domains) owner.set(d, app);
    const changed = new Set(changes.map((c) => c.app));
    for (const [d, app] of owner) if (changed.has(app)) owner.delete(d);
    for (const change of changes) {
      try {
        if (pending.some((p) => p.app === change.app)) throw new BerthError('E_PROXY_OPTION_INVALID', `app ${change.app} is changed twice in one batch`);
        if (isRemoval(change)) {
          validateAppName(change.app);
          pending.push({
            app: change.app,
            route: undefined,
            files: new Map([
              [appConfigName(change.app), null],
              [appSnippetName(change.app), null],
            ]),
          });
          continue;
        }
        const route = validateAppRoute(change);
        const taken = route.domains.find((d) => owner.has(d));
        if (taken) {
          throw new BerthError('E_PROXY_DOMAIN_TAKEN', `domain ${taken} is already served by app ${owner.get(taken)}; app ${route.app} cannot have it too`, {
            details: { domain: taken, app: owner.get(taken) },
          });
        }
        for (const d of route.domains) owner.set(d, route.app);
        const listen = { port: this.#nginx.port, ipv6: this.#nginx.ipv6 };
        const files = new Map<string, string | null>([
          [appConfigName(route.app), renderAppConfig(route, listen)],
          [appSnippetName(route.app), route.options.snippet === '' ? null : route.options.snippet],
        ]);
        pending.push({ app: route.app, route, files });
      } catch (err) {
        outcome.rejected.push({ app: change.app, error: toBerthError(err) });
      }
    }
    return pending;
  }

  async #applyBatch(changes: readonly RouteChange[]): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: [], rejected: [] };
    let pending = this.#prepare(changes, outcome);
    pending = await this.#dropUnchanged(pending, outcome);
    if (pending.length === 0) return outcome;
    if (this.#nginx.supervisor.pid === undefined) {
      const error = new BerthError('E_NGINX_UNAVAILABLE', 'nginx is not running: no route was changed (the supervisor restarts it; try again)');
      for (const p of pending) outcome.rejected.push({ app: p.app, error });
      return outcome;
    }
    const accepted = await this.#testCandidates(pending, outcome);
    if (accepted.length > 0) await this.#swap(accepted, outcome);
    return outcome;
  }

  /** Changes whose files are already live need no reload: they count as applied. */
  async #dropUnchanged(pending: Pending[], outcome: ApplyOutcome): Promise<Pending[]> {
    const left: Pending[] = [];
    for (const p of pending) {
      let same = true;
      for (const [name, text] of p.files) if ((await readOrNull(join(this.#sites, name))) !== text) same = false;
      if (same && (p.route === undefined) === !this.#routes.has(p.app)) {
        await this.#record(p);
        outcome.applied.push(p.app);
      } else {
        left.push(p);
      }
    }
    return left;
  }

  /**
   * nginx -t on full candidates until one passes: each failure nginx pins on a changed app's
   * file refuses that app and the rest is tested again. A failure it pins on no changed app
   * makes the batch go one change at a time, each tested with the ones accepted before it, so
   * the set that goes live is always the set last tested. Returns the changes that passed.
   */
  async #testCandidates(pending: Pending[], outcome: ApplyOutcome): Promise<Pending[]> {
    let left = pending;
    while (left.length > 0) {
      const failure = await this.#check(left);
      if (failure === undefined) return left;
      const culprit = left.find((p) => failure.files.some((f) => p.files.has(f)));
      if (culprit || left.length === 1) {
        const refused = culprit ?? (left[0] as Pending);
        outcome.rejected.push({ app: refused.app, error: await this.#refuse(refused, failure.error) });
        left = left.filter((p) => p !== refused);
        continue;
      }
      const accepted: Pending[] = [];
      for (const p of left) {
        const alone = await this.#check([...accepted, p]);
        if (alone === undefined) accepted.push(p);
        else outcome.rejected.push({ app: p.app, error: await this.#refuse(p, alone.error) });
      }
      return accepted;
    }
    return [];
  }

  /** Build the full candidate for `pending` and run nginx -t on it; undefined when it passes. */
  async #check(pending: Pending[]): Promise<{ error: BerthError; files: string[] } | undefined> {
    const dir = join(this.#paths.candidates, `${Date.now()}-${randomBytes(4).toString('hex')}`);
    const sites = join(dir, 'conf.d');
    try {
      await mkdir(sites, { recursive: true });
      const main = nginxPaths(this.#nginx.prefix).config;
      await copyFile(main, join(dir, 'nginx.conf'));
      for (const entry of await readdir(this.#sites, { withFileTypes: true })) {
        if (entry.isFile() && !entry.name.startsWith('.')) await copyFile(join(this.#sites, entry.name), join(sites, entry.name));
      }
      for (const p of pending) {
        for (const [name, text] of p.files) {
          if (text === null) await rm(join(sites, name), { force: true });
          else await writeFile(join(sites, name), text, { mode: 0o644 });
        }
      }
      await testNginxConfig(this.#nginx.binary, this.#nginx.prefix, join(dir, 'nginx.conf'));
      return undefined;
    } catch (err) {
      const error = toBerthError(err);
      if (error.code !== 'E_NGINX_CONFIG_REJECTED') throw error;
      const words = String(error.details.nginx ?? error.message);
      // nginx names the file and line it stopped at: "… in <candidate>/conf.d/app-b.snippet:1".
      const files = [...words.matchAll(/\/conf\.d\/([^/:\s]+):\d+/g)].map((m) => m[1] ?? '');
      return { error, files };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Keep the refused candidate in rejected/ and say why, in nginx's words. */
  async #refuse(p: Pending, cause: BerthError): Promise<BerthError> {
    const words = String(cause.details.nginx ?? cause.message);
    for (const [name, text] of p.files) {
      const kept = join(this.#paths.rejected, name);
      if (text === null) await rm(kept, { force: true });
      else await writeFile(kept, text, { mode: 0o644 });
    }
    await writeFile(join(this.#paths.rejected, `app-${p.app}.error`), `${words}\n`, { mode: 0o644 });
    this.#log.warn({ app: p.app, code: cause.code, nginx: words }, 'proxy: nginx -t refused the candidate config of this app; it keeps its last good config');
    const live = this.#routes.has(p.app) ? 'it keeps serving its last good config' : 'it has no config yet';
    return new BerthError('E_NGINX_CONFIG_REJECTED', `nginx -t refused the config of app ${p.app}; ${live}. nginx said:\n${words}`, {
      cause,
      details: { app: p.app, nginx: words, rejected: join(this.#paths.rejected, appConfigName(p.app)) },
    });
  }

  /** Rename the tested files into conf.d, reload, record; on a failed reload put the previous files back. */
  async #swap(accepted: Pending[], outcome: ApplyOutcome): Promise<void> {
    const backups = new Map<string, string | null>();
    try {
      for (const p of accepted) {
        for (const name of swapOrder(p.files)) {
          const live = join(this.#sites, name);
          const before = await readOrNull(live);
          backups.set(name, before);
          if (before !== null) await writeFileAtomic(join(this.#paths.previous, name), before);
          const text = p.files.get(name) ?? null;
          if (text === null) await unlink(live).catch(() => undefined);
          else await writeFileAtomic(live, text);
        }
      }
      await this.#nginx.reload();
    } catch (err) {
      await this.#restore(backups);
      const error = toBerthError(err);
      this.#log.error({ code: error.code, apps: accepted.map((p) => p.app) }, 'proxy: the reload failed; the previous config files are back in place');
      // A reload that timed out may still have gone through: load the restored files again.
      if (this.#nginx.supervisor.pid !== undefined) {
        await this.#nginx
          .reload()
          .catch((again: unknown) => this.#log.error({ code: toBerthError(again).code }, 'proxy: reloading the restored config failed too'));
      }
      for (const p of accepted) outcome.rejected.push({ app: p.app, error });
      return;
    }
    for (const p of accepted) await this.#record(p);
    outcome.applied.push(...accepted.map((p) => p.app));
  }

  async #restore(backups: Map<string, string | null>): Promise<void> {
    for (const [name, text] of backups) {
      const live = join(this.#sites, name);
      if (text === null) await unlink(live).catch(() => undefined);
      else await writeFileAtomic(live, text);
    }
  }

  /** The change is live: remember its route (for domain ownership after a restart) and clear old refusals. */
  async #record(p: Pending): Promise<void> {
    const file = join(this.#paths.routes, `${p.app}.json`);
    if (p.route) {
      await writeFileAtomic(file, `${JSON.stringify(p.route, null, 2)}\n`);
      this.#routes.set(p.app, p.route);
    } else {
      await rm(file, { force: true });
      this.#routes.delete(p.app);
      // The app is gone (apps:destroy, rename): its last good copies go with it, else they outlive it.
      for (const name of [appConfigName(p.app), appSnippetName(p.app)]) await rm(join(this.#paths.previous, name), { force: true });
    }
    for (const name of [appConfigName(p.app), appSnippetName(p.app), `app-${p.app}.error`]) await rm(join(this.#paths.rejected, name), { force: true });
  }
}
