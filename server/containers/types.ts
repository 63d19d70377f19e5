/**
 * The containers domain's data: what the API takes to create a container, what it shows
 * of one (ContainerView, docs/containers.md), and what the daemon keeps
 * on disk (ContainerRecord, `BERTH_HOME/containers/<id>/container.json`).
 */
import { z } from 'zod';

/** Docker's container states, as Berth keeps them. */
export type ContainerState = 'created' | 'running' | 'exited';

export const publishSchema = z.strictObject({ hostPort: z.number(), containerPort: z.number() });

/** `POST /v1/containers`: the body. Values are checked further (with E_CONTAINER_INVALID) by the manager. */
export const createRequestSchema = z.strictObject({
  image: z.string().min(1),
  cmd: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  env: z.array(z.string()).optional(),
  name: z.string().optional(),
  tty: z.boolean().optional(),
  stdin: z.boolean().optional(),
  rm: z.boolean().optional(),
  workdir: z.string().optional(),
  user: z.string().optional(),
  memory: z.number().optional(),
  cpus: z.number().optional(),
  pids: z.number().optional(),
  publish: z.array(publishSchema).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** The network group to join: containers of one group reach each other. @defaultValue a group of its own */
  networkGroup: z.string().optional(),
});
export type CreateRequest = z.infer<typeof createRequestSchema>;

/**
 * A host directory mounted into one of the daemon's own containers (a buildpack build's
 * source, cache and buildpacks): given by the daemon's code, never taken from the API.
 * `overlay` mounts `lower` read-only under a fresh `upper`, so the container's changes land
 * in `upper` only.
 */
export type HostMount =
  | { type: 'bind'; source: string; destination: string; readonly?: boolean }
  | { type: 'overlay'; destination: string; lower: string; upper: string; work: string };

/** What the API shows of a container (inspect includes `config`). */
export interface ContainerView {
  id: string;
  name: string;
  /** The image reference as given at create. */
  image: string;
  imageDigest: string;
  command: string[];
  created: string;
  state: ContainerState;
  exitCode?: number;
  signal?: string;
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  pid?: number;
  network?: { name: string; address: string };
  /** The network group it joined when asked for one; absent, it is alone in its own. */
  networkGroup?: string;
  ports: { hostPort: number; containerPort: number }[];
  tty: boolean;
  stdin: boolean;
  autoRemove: boolean;
  limits: { memoryBytes?: number; cpus?: number; pids?: number };
  config: { env: string[]; workdir: string; user?: string; labels: Record<string, string> };
}

const limitsSchema = z.strictObject({ memoryBytes: z.number().optional(), cpus: z.number().optional(), pids: z.number().optional() });

/** container.json: the view's fields plus what the daemon needs to create the container again. */
export const containerRecordSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1),
  image: z.string().min(1),
  imageDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** The program as resolved at create: entrypoint + cmd. */
  command: z.array(z.string()).min(1),
  /** Kept apart for commit (Docker bakes them into the new image's config). */
  entrypoint: z.array(z.string()),
  cmd: z.array(z.string()),
  created: z.string(),
  state: z.enum(['created', 'running', 'exited']),
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
  oomKilled: z.boolean().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  pid: z.number().int().optional(),
  network: z.strictObject({ name: z.string(), address: z.string() }).optional(),
  networkGroup: z.string().optional(),
  ports: z.array(publishSchema),
  tty: z.boolean(),
  stdin: z.boolean(),
  autoRemove: z.boolean(),
  limits: limitsSchema,
  config: z.strictObject({ env: z.array(z.string()), workdir: z.string(), user: z.string().optional(), labels: z.record(z.string(), z.string()) }),
  /** The numeric user the program runs as, resolved from the image's /etc/passwd and /etc/group at create. */
  process: z.strictObject({ uid: z.number().int(), gid: z.number().int(), additionalGids: z.array(z.number().int()) }),
});
export type ContainerRecord = z.infer<typeof containerRecordSchema>;

/** How a container (or an exec) ended: the payload of the final type-3 frame. */
export interface ExitStatus {
  exitCode: number;
  signal?: string;
  oomKilled?: boolean;
}

export interface LogOptions {
  /** Keep the stream open until the container has stopped and its log is read. */
  follow?: boolean;
  /** Only the last N lines (of what is there when the call starts). */
  tail?: number;
}

/** One line of the json-file log, as Docker writes it. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  log: string;
  time: string;
}

export interface ExecRequest {
  cmd: string[];
  tty?: boolean;
  /** Keep the program's stdin open for the client's frames. @defaultValue true (the client closes it with a type-5 frame) */
  stdin?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  size?: { rows: number; cols: number };
}

export interface CommitRequest {
  reference?: string;
  message?: string;
  author?: string;
  changes?: {
    cmd?: string[];
    entrypoint?: string[];
    env?: string[];
    workdir?: string;
    exposedPorts?: string[];
    labels?: Record<string, string>;
  };
}
