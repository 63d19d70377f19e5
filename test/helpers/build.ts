/**
 * Dockerfile builds for tests: the real builder on a real ContainerManager, image store and
 * build cache of the test's own (useContainers), a context directory written from a file
 * map, the events and Docker's lines of each build, and a run of the built image.
 */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { BuildCache, buildDockerfile, formatEvent, type BuildEvent, type BuildResult, type DockerfileBuildOptions } from '../../server/build/index.js';
import { useContainers, type ContainerEnv } from './containers.js';
import { leftovers } from './runtime.js';
import { tempDir } from './temp-dir.js';

/** A context file: its text, or `{ text, mode }`, or `{ symlink: target }`. */
export type ContextFile = string | { text: string; mode?: number } | { symlink: string };

export interface BuildRun {
  result?: BuildResult;
  error?: Error & { code?: string };
  events: BuildEvent[];
  /** The events as Docker's classic builder prints them. */
  lines: string[];
  /** What the build's RUN containers left on the host (mounts, cgroups, processes), found by their ids. */
  leftovers(): string[];
}

export interface BuildEnv {
  c: ContainerEnv;
  cache: BuildCache;
  /** A fresh context directory holding `files`. */
  context(files: Record<string, ContextFile>): Promise<string>;
  /** Write (or replace) files in an existing context. */
  write(dir: string, files: Record<string, ContextFile>): Promise<void>;
  /** Build `dir`; `onEvent` sees each event as it comes (the build's state can be looked at then). */
  build(dir: string, options?: DockerfileBuildOptions, onEvent?: (e: BuildEvent) => void): Promise<BuildRun>;
  /** Run `cmd` (or the image's own command) in a container of `image`: its output and exit code. */
  runImage(image: string, cmd?: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }>;
}

export async function useBuild(t: ExecutionContext): Promise<BuildEnv> {
  const c = await useContainers(t);
  const base = await tempDir(t, 'bb-');
  const cache = await BuildCache.open(join(c.home, 'build-cache'));
  let n = 0;
  const write = async (dir: string, files: Record<string, ContextFile>): Promise<void> => {
    for (const [name, f] of Object.entries(files)) {
      const path = join(dir, name);
      await mkdir(dirname(path), { recursive: true });
      if (typeof f === 'string') await writeFile(path, f);
      else if ('symlink' in f) await symlink(f.symlink, path);
      else {
        await writeFile(path, f.text);
        if (f.mode !== undefined) await chmod(path, f.mode);
      }
    }
  };
  return {
    c,
    cache,
    write,
    context: async (files) => {
      const dir = join(base, `ctx${n++}`);
      await mkdir(dir);
      await write(dir, files);
      return dir;
    },
    build: async (dir, options = {}, onEvent) => {
      const events: BuildEvent[] = [];
      const out: BuildRun = {
        events,
        lines: [],
        leftovers: () => events.flatMap((e) => (e.type === 'running' ? leftovers(e.container) : [])),
      };
      try {
        out.result = await buildDockerfile({ dir, images: c.store, containers: c.manager, cache }, options, (e) => {
          events.push(e);
          onEvent?.(e);
        });
      } catch (e) {
        out.error = e as Error & { code?: string };
      }
      out.lines = events.map(formatEvent);
      return out;
    },
    runImage: async (image, cmd) => {
      const view = await c.manager.create({ image, ...(cmd === undefined ? {} : { cmd }) });
      try {
        const { session, exit } = await c.manager.attach(view.id);
        let stdout = '';
        let stderr = '';
        session.on('data', (o) => {
          if (o.stream === 'stdout') stdout += o.data.toString();
          else stderr += o.data.toString();
        });
        await c.manager.start(view.id);
        const status = await exit;
        await session.ended;
        return { stdout, stderr, exitCode: status?.exitCode };
      } finally {
        await c.manager.remove(view.id, true);
      }
    },
  };
}
