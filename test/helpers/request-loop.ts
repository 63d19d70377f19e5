/**
 * A bounded request loop for zero-downtime tests: GETs at a fixed rate (a fresh connection
 * each, loopback only), at most `max` of them, stopping by itself; each answer's body (or
 * the failure) is recorded with the time it was sent.
 */
import type { ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet } from './http.js';

export interface Sample {
  /** When the request was sent (Date.now()). */
  at: number;
  /** The body, trimmed, of a 200; else `HTTP <status>` or `error: …`. */
  answer: string;
}

export interface RequestLoop {
  samples: Sample[];
  /** Let the loop run `ms` more, then stop it; resolves with every sample once it has stopped. */
  finish(ms: number): Promise<Sample[]>;
}

/** Start GETting `url` with `headers`, `ratePerSecond` a second, at most `max` requests; stopped in teardown too. */
export function startRequestLoop(
  t: ExecutionContext,
  o: { url: string; headers: Record<string, string>; ratePerSecond: number; max: number; timeoutMs?: number },
): RequestLoop {
  const samples: Sample[] = [];
  let stopAt = Infinity;
  const loop = (async () => {
    const start = Date.now();
    for (let i = 0; i < o.max && Date.now() < stopAt; i++) {
      const at = Date.now();
      const answer = await httpGet(o.url, { Connection: 'close', ...o.headers }, o.timeoutMs ?? 3000).then(
        (a) => (a.status === 200 ? a.body.trim() : `HTTP ${a.status}`),
        (err: unknown) => `error: ${String(err)}`,
      );
      samples.push({ at, answer });
      await sleep(Math.max(0, start + ((i + 1) * 1000) / o.ratePerSecond - Date.now()));
    }
  })();
  t.teardown(async () => {
    stopAt = 0;
    await loop;
  });
  return {
    samples,
    finish: async (ms) => {
      stopAt = Date.now() + ms;
      await loop;
      return samples;
    },
  };
}

/** The answers that are not one of `expected`, and how many times consecutive answers changed. */
export function summarize(samples: readonly Sample[], expected: readonly string[]): { failed: Sample[]; switches: number; answers: string[] } {
  const answers = samples.map((s) => s.answer);
  return {
    failed: samples.filter((s) => !expected.includes(s.answer)),
    switches: answers.filter((a, i) => i > 0 && a !== answers[i - 1]).length,
    answers,
  };
}
