/**
 * Buildpack builds for tests: the real builder on a real ContainerManager and image store of
 * the test's own (useContainers) with the stack image imported, source directories written
 * from a file map, the events and lines of each build, runs of the built image, and what a
 * build left behind (containers, mounts, the build's directory).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { buildBuildpacks, formatEvent, type BuildEvent, type BuildpackSettings, type BuildResult } from '../../server/build/index.js';
import { useBuild, type BuildEnv, type ContextFile } from './build.js';
import { leftovers } from './runtime.js';
import { useStackImage } from './stack.js';
import { tempDir } from './temp-dir.js';

export interface BuildpackRun {
  result?: BuildResult;
  error?: Error & { code?: string; details?: Record<string, unknown> };
  events: BuildEvent[];
  lines: string[];
  /** The build's whole output, one string. */
  text: string;
}

export interface BuildpackEnv extends BuildEnv {
  /** The app's cache directory (CACHE_DIR), kept between this test's builds. */
  cacheDir: string;
  build2(dir: string, settings?: Partial<BuildpackSettings>, onEvent?: (e: BuildEvent) => void): Promise<BuildpackRun>;
  /** What builds left: containers of the runtime, mounts and directories in ingest/. */
  leftovers(): string[];
}

export async function useBuildpacks(t: ExecutionContext): Promise<BuildpackEnv> {
  const b = await useBuild(t);
  await useStackImage(b.c.store, await tempDir(t, 'bstack-'));
  const cacheDir = join(b.c.home, 'apps', 'demo', 'cache');
  await mkdir(cacheDir, { recursive: true });
  const ingest = join(b.c.home, 'images', 'ingest');
  return {
    ...b,
    cacheDir,
    build2: async (dir, settings = {}, onEvent) => {
      const events: BuildEvent[] = [];
      const out: BuildpackRun = { events, lines: [], text: '' };
      try {
        out.result = await buildBuildpacks({ dir, images: b.c.store, containers: b.c.manager }, { app: 'demo', cacheDir, ...settings }, (e) => {
          events.push(e);
          onEvent?.(e);
        });
      } catch (e) {
        out.error = e as BuildpackRun['error'];
      }
      out.lines = events.map(formatEvent);
      out.text = out.lines.join('\n');
      return out;
    },
    leftovers: () => {
      const found = [...b.c.leftovers()];
      for (const c of b.c.manager.list({ all: true })) found.push(`container ${c.name} (${c.state})`, ...leftovers(c.id));
      for (const name of existsSync(ingest) ? readdirSync(ingest) : []) if (name.startsWith('buildpack-')) found.push(`ingest/${name}`);
      return found;
    },
  };
}

export type { ContextFile };
