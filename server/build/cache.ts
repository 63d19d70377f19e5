/**
 * The build cache: each step's key → the image that step made. A key is the sha256 of the
 * parent image (its manifest digest, which names its whole chain of layers and its config),
 * the instruction after substitution, the build arguments the step used, and for COPY and
 * ADD the content hash of the files it copies (copy.ts). A hit means the step is not run:
 * its image is used as it is.
 *
 * One file per entry under the cache directory (`<key hex>`, holding the image's manifest
 * digest), written atomically but without fsync: a lookup is one read, and a power failure
 * loses at most the entries written just before it (each then a miss). The images entries name are GC roots (`roots()`), until `prune()` drops
 * the entries; an entry whose image is gone from the store is a miss, and is removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/index.js';
import type { ImageStore } from '../images/index.js';

export interface CacheKeyParts {
  /** The parent image's manifest digest, or `scratch`. */
  parent: string;
  /** The instruction as it runs: keyword and arguments after substitution (and the shell, for RUN). */
  instruction: string;
  /** Build arguments the step used (name → value). */
  args?: Record<string, string>;
  /** COPY and ADD: the content hash of what is copied, and its source (context, stage image, image). */
  content?: string;
}

/** The cache key of a step: sha256 hex. */
export function cacheKey(parts: CacheKeyParts): string {
  const args = Object.entries(parts.args ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = JSON.stringify({ v: 1, parent: parts.parent, instruction: parts.instruction, args, content: parts.content ?? null });
  return createHash('sha256').update(text).digest('hex');
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export class BuildCache {
  private constructor(readonly dir: string) {}

  /** The cache kept in `dir` (BERTH_HOME/build-cache), created when missing. */
  static async open(dir: string): Promise<BuildCache> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new BuildCache(dir);
  }

  private path(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return join(this.dir, key);
  }

  /** The image a step with this key made, when the store still has it. */
  async get(key: string, store: ImageStore): Promise<string | undefined> {
    let text: string;
    try {
      text = (await readFile(this.path(key), 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    if (DIGEST.test(text) && (await store.hasBlob(text))) return text;
    await rm(this.path(key), { force: true });
    return undefined;
  }

  /** Without fsync: a power failure may lose the entry (a miss) or leave it empty (a miss too, removed by `get`). */
  async set(key: string, digest: string): Promise<void> {
    await writeFileAtomic(this.path(key), `${digest}\n`, { mode: 0o600, durable: false });
  }

  /** The images entries name and the store has: roots for ImageStore.gc. */
  async roots(store: ImageStore): Promise<string[]> {
    const out = new Set<string>();
    for (const name of await readdir(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const digest = await this.get(name, store);
      if (digest !== undefined) out.add(digest);
    }
    return [...out];
  }

  /** Drop every entry (their images become garbage for the next GC); the number dropped. */
  async prune(): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      await rm(join(this.dir, name), { force: true });
      n++;
    }
    return n;
  }
}
