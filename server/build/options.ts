/**
 * A build's options checked before anything is read or run: tags, build arguments, labels,
 * limits (defaults on), the Dockerfile's path inside the context. A bad one is
 * E_BUILD_OPTIONS_INVALID naming it.
 */
import { cpus as hostCpus } from 'node:os';
import { BerthError } from '../core/index.js';
import { parseReference, tagOf } from '../images/index.js';
import { cleanPath } from './rootfs.js';
import type { BuildLimits, DockerfileBuildOptions } from './types.js';

/** The limits a RUN step gets when the build names none: 2 GiB, up to 2 CPUs, 1024 processes. */
export const DEFAULT_BUILD_LIMITS: Readonly<Required<BuildLimits>> = Object.freeze({
  memoryBytes: 2 * 1024 * 1024 * 1024,
  cpus: Math.min(2, hostCpus().length),
  pids: 1024,
});

export interface CheckedOptions {
  dockerfile: string;
  tags: string[];
  buildArgs: Map<string, string>;
  labels: Record<string, string>;
  limits: Required<BuildLimits>;
  target: string | undefined;
  noCache: boolean;
  signal: AbortSignal | undefined;
}

function invalid(option: string, message: string, value?: unknown): BerthError {
  return new BerthError('E_BUILD_OPTIONS_INVALID', message, { details: { option, ...(value === undefined ? {} : { value }) } });
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkOptions(o: DockerfileBuildOptions): CheckedOptions {
  const dockerfile = o.dockerfile ?? 'Dockerfile';
  if (dockerfile === '' || dockerfile.includes('\0') || dockerfile.split('/').includes('..') || cleanPath(dockerfile) === '') {
    throw invalid('dockerfile', `the Dockerfile path ${JSON.stringify(dockerfile)} must name a file inside the build context (no "..")`, dockerfile);
  }
  const tags = (o.tags ?? []).map((t) => {
    try {
      const ref = parseReference(t);
      const tag = tagOf(ref);
      if (tag === undefined || ref.digest !== undefined) throw new Error('a digest is not a tag');
      return tag;
    } catch (cause) {
      throw new BerthError('E_BUILD_OPTIONS_INVALID', `the tag ${JSON.stringify(t)} is not NAME[:TAG]: ${(cause as Error).message}`, {
        cause,
        details: { option: 'tags', value: t },
      });
    }
  });
  const buildArgs = new Map<string, string>();
  for (const [k, v] of Object.entries(o.buildArgs ?? {})) {
    if (!NAME.test(k))
      throw invalid('buildArgs', `the build argument name ${JSON.stringify(k)} is not a name (letters, digits and _, not starting with a digit)`, k);
    if (typeof v !== 'string' || v.includes('\0')) throw invalid('buildArgs', `the build argument ${k} must have a string value without NUL bytes`, k);
    buildArgs.set(k, v);
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.labels ?? {})) {
    if (k === '' || typeof v !== 'string') throw invalid('labels', `the label ${JSON.stringify(k)} needs a non-empty name and a string value`, k);
    labels[k] = v;
  }
  const limits = { ...DEFAULT_BUILD_LIMITS, ...(o.limits ?? {}) };
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes < 6 * 1024 * 1024) {
    throw invalid(
      'limits.memoryBytes',
      `the build memory limit ${limits.memoryBytes} is not allowed: give a whole number of bytes, at least 6 MiB`,
      limits.memoryBytes,
    );
  }
  if (!Number.isFinite(limits.cpus) || limits.cpus < 0.01 || limits.cpus > hostCpus().length) {
    throw invalid('limits.cpus', `the build CPU limit ${limits.cpus} is not allowed: give a number from 0.01 to ${hostCpus().length}`, limits.cpus);
  }
  if (!Number.isSafeInteger(limits.pids) || limits.pids < 1)
    throw invalid('limits.pids', `the build pids limit ${limits.pids} is not allowed: give a positive whole number`, limits.pids);
  return {
    dockerfile: cleanPath(dockerfile),
    tags,
    buildArgs,
    labels,
    limits,
    target: o.target === undefined || o.target === '' ? undefined : o.target,
    noCache: o.noCache ?? false,
    signal: o.signal,
  };
}
