/**
 * From an image (and the Procfile it was built from) to what the release engine runs: the
 * process types and each one's argv, the release command, the port the web process listens
 * on, and the scale. Pure functions; docs/deploys.md ("release: process types, port and
 * scale") is the same rules in words. An argv replaces the image's Cmd and keeps its
 * Entrypoint, as `docker run IMAGE argv…` does (release/'s ProcessSpec); an empty one runs the
 * image's own Entrypoint and Cmd.
 *
 * - A buildpack image (label `berth.buildpacks`) names its types in `berth.process-types`
 *   (Procfile, then the buildpacks' defaults); each runs as `/start <type>` and the release
 *   command as `/exec bash -c <command>`, herokuish's launcher (Contract 2).
 * - A Dockerfile image carries the source's Procfile in `berth.process-types` when there was
 *   one (the pipeline adds that label at build time). A Procfile command runs as
 *   `/bin/sh -c <command>` after the image's ENTRYPOINT, exactly as Docker runs a shell-form
 *   CMD, so `$PORT` expands. Without a Procfile the image's own ENTRYPOINT + CMD is `web`.
 */
import { BerthError, formatCommand } from '../core/index.js';
import type { ImageFacts } from './ports.js';

/** The labels the pipeline and the buildpack builder write (Contract 2). */
export const labels = {
  processTypes: 'berth.process-types',
  buildpacks: 'berth.buildpacks',
  commit: 'berth.source-commit',
} as const;

/** Heroku's special type: the release phase's command, never scaled. */
export const RELEASE_TYPE = 'release';

/** The port a buildpack app, or a Dockerfile app exposing none, listens on (Heroku's and Dokku's). */
export const DEFAULT_PORT = 5000;

export interface ProcessModel {
  /** Which launcher the image has. */
  kind: 'buildpacks' | 'dockerfile';
  /** Every type with its command (the `release` type included), for the release record. */
  processTypes: Record<string, string>;
  /** How to run each scalable type (`release` left out). */
  processes: Record<string, { argv: string[] }>;
  /** The Procfile's `release:` command, as argv; undefined without one. */
  releaseCommand?: string[];
}

function parseTypesLabel(image: ImageFacts, text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw badLabel(image, `is not JSON (${(cause as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badLabel(image, 'is not a JSON object of type → command');
  const out: Record<string, string> = {};
  for (const [type, command] of Object.entries(value)) {
    if (typeof command !== 'string' || command.trim() === '') throw badLabel(image, `gives process type ${JSON.stringify(type)} no command`);
    out[type] = command;
  }
  return out;
}

const badLabel = (image: ImageFacts, why: string) =>
  new BerthError('E_DEPLOY_PROCESS_TYPES', `image ${image.id}'s label ${labels.processTypes} ${why}`, { details: { image: image.id } });

/**
 * The process model of `image`. Throws E_DEPLOY_PROCESS_TYPES when the image has nothing to
 * run: no process type at all (no Procfile, no buildpack default, no CMD).
 */
export function processModel(image: ImageFacts): ProcessModel {
  const label = image.labels[labels.processTypes];
  const types = label === undefined ? undefined : parseTypesLabel(image, label);
  const processes: Record<string, { argv: string[] }> = {};
  let releaseCommand: string[] | undefined;
  let processTypes: Record<string, string>;
  if (image.labels[labels.buildpacks] !== undefined) {
    processTypes = types ?? {};
    for (const [type, command] of Object.entries(processTypes)) {
      if (type === RELEASE_TYPE) releaseCommand = ['/exec', 'bash', '-c', command];
      else processes[type] = { argv: ['/start', type] };
    }
    return finish({ kind: 'buildpacks', processTypes, processes, releaseCommand }, image);
  }
  if (types !== undefined) {
    processTypes = types;
    for (const [type, command] of Object.entries(types)) {
      const argv = ['/bin/sh', '-c', command];
      if (type === RELEASE_TYPE) releaseCommand = argv;
      else processes[type] = { argv };
    }
  } else {
    const own = [...image.entrypoint, ...image.cmd];
    processTypes = own.length === 0 ? {} : { web: formatCommand(own[0] as string, own.slice(1)) };
    if (own.length > 0) processes.web = { argv: [] };
  }
  return finish({ kind: 'dockerfile', processTypes, processes, releaseCommand }, image);
}

function finish(parts: ProcessModel, image: ImageFacts): ProcessModel {
  const { releaseCommand, ...model } = parts;
  if (Object.keys(model.processes).length > 0) return releaseCommand === undefined ? model : { ...model, releaseCommand };
  const why =
    model.kind === 'buildpacks'
      ? 'the Procfile and the buildpacks name no process type'
      : 'the source has no Procfile, and the Dockerfile gives neither CMD nor ENTRYPOINT';
  throw new BerthError('E_DEPLOY_PROCESS_TYPES', `there is nothing to run in image ${image.id}: ${why}`, { details: { image: image.id } });
}

/**
 * The release phase's command: the Procfile's `release:` and app.json's
 * `scripts.dokku.predeploy`, the predeploy first when both are given (Dokku's order), each
 * run the way the image runs commands; undefined when there is neither.
 */
export function releaseCommand(model: ProcessModel, predeploy: string | undefined): string[] | undefined {
  if (predeploy === undefined) return model.releaseCommand;
  const release = model.processTypes[RELEASE_TYPE];
  // Newlines, not `;`: a command ending in a comment must not swallow what follows.
  const script = release === undefined ? predeploy : `(\n${predeploy}\n) && (\n${release}\n)`;
  return model.kind === 'buildpacks' ? ['/exec', 'bash', '-c', script] : ['/bin/sh', '-c', script];
}

/**
 * The port the web process listens on: 5000 for a buildpack image; for a Dockerfile image its
 * one EXPOSEd TCP port, 5000 when it exposes none, and when it exposes several the one the
 * app's `PORT` config var names (else E_DEPLOY_PORT_AMBIGUOUS: Berth does not guess).
 */
export function choosePort(model: ProcessModel, image: ImageFacts, env: Record<string, string>): number {
  if (model.kind === 'buildpacks') return DEFAULT_PORT;
  const tcp = [
    ...new Set(
      image.exposedPorts.flatMap((p) => {
        const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(p);
        return m && (m[2] ?? 'tcp').toLowerCase() === 'tcp' && Number(m[1]) >= 1 && Number(m[1]) <= 65535 ? [Number(m[1])] : [];
      }),
    ),
  ].sort((a, b) => a - b);
  if (tcp.length === 0) return DEFAULT_PORT;
  if (tcp.length === 1) return tcp[0] as number;
  const wanted = env.PORT !== undefined && /^\d{1,5}$/.test(env.PORT) ? Number(env.PORT) : undefined;
  if (wanted !== undefined && tcp.includes(wanted)) return wanted;
  throw new BerthError(
    'E_DEPLOY_PORT_AMBIGUOUS',
    `image ${image.id} exposes several TCP ports (${tcp.join(', ')}); Berth cannot tell which one the web process listens on`,
    {
      details: { ports: tcp },
      hint: `Set the app's PORT config var to one of them (berth config:set APP PORT=${tcp[0]}), or EXPOSE only that one; then push again.`,
    },
  );
}

/**
 * The scale of a new release: each scalable type keeps the count the app has; a type the app
 * has no count for gets 1 if it is `web` and 0 otherwise (Dokku's first deploy: web=1, the
 * rest 0). Types the release does not have drop out.
 */
export function scaleFor(model: ProcessModel, current: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of Object.keys(model.processes).sort()) out[type] = current[type] ?? (type === 'web' ? 1 : 0);
  return out;
}

/** The facts the pipeline reads from a stored image (its manifest digest and config). */
export function imageFacts(image: {
  digest: string;
  config: {
    config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; ExposedPorts?: Record<string, unknown> | null; Labels?: Record<string, string> | null };
  };
}): ImageFacts {
  const c = image.config.config ?? {};
  return {
    id: image.digest,
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    labels: { ...(c.Labels ?? {}) },
  };
}
