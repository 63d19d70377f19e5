/**
 * Moving an app's traffic (docs/releases.md, "Switch" and "Retire"). The switch applies the
 * app's route through the ProxyRouter: its domains to the new web containers, with the
 * options the app's live route has. The router checks the full candidate with `nginx -t`,
 * swaps it in and reloads, and resolves once nginx's old workers no longer accept: a reload
 * finishes the requests it has, so none fails. A refused config changes nothing.
 *
 * An nginx that is down at the switch (the daemon's supervisor restarts it) is waited for, a
 * bounded time, then the deploy fails saying so; the router never leaves a half-applied
 * config (a failed reload puts the previous files back).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, toBerthError } from '../core/index.js';
import type { ProxyRouter, Upstream } from '../proxy/index.js';

/** How often the switch asks again while nginx is down. */
const RETRY_MS = 250;

export async function switchTraffic(
  router: ProxyRouter,
  route: { app: string; domains: string[]; upstreams: Upstream[] },
  o: { waitSeconds: number; line(text: string): void },
): Promise<void> {
  const options = router.route(route.app)?.options;
  const deadline = Date.now() + o.waitSeconds * 1000;
  let told = false;
  for (;;) {
    try {
      await router.apply({ ...route, ...(options ? { options } : {}) });
      if (told) o.line('nginx is back: the switch went through');
      return;
    } catch (e) {
      const err = toBerthError(e);
      if (err.code !== 'E_NGINX_UNAVAILABLE') throw err;
      if (Date.now() >= deadline) {
        throw new BerthError(
          'E_RELEASE_SWITCH_FAILED',
          `nginx was not available at the switch and did not come back within ${o.waitSeconds} s, so app ${route.app}'s route was not changed: ${err.message}`,
          { cause: err, details: { app: route.app, waitedSeconds: o.waitSeconds } },
        );
      }
      if (!told) o.line(`nginx is not available (${err.message.split('\n')[0]}); waiting up to ${o.waitSeconds} s for it to come back`);
      told = true;
      await sleep(RETRY_MS);
    }
  }
}
