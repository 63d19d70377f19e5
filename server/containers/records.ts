/**
 * The containers the daemon keeps (docs/containers.md): one `container.json` per container
 * under `<dir>/<id>/`, written atomically, held in memory once loaded. Lookups by
 * reference (id, id prefix, name), names reserved while a create runs, and the views the
 * API shows, filtered by state and labels.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, isErrno, writeFileAtomic, type Logger } from '../core/index.js';
import { generateName, resolveRef, validateContainerName } from './names.js';
import { containerRecordSchema, type ContainerRecord, type ContainerView } from './types.js';

/** What `list` shows. */
export interface ListOptions {
  /** Stopped and created containers too. @defaultValue false: running ones only */
  all?: boolean;
  /**
   * Only containers with every one of these labels, Docker's `--filter label=`: `key`
   * (the label is set, to any value) or `key=value` (set to exactly that value).
   */
  labels?: readonly string[];
}

/** What the API shows of a record: everything but what only the daemon needs. */
export function viewOf(rec: ContainerRecord): ContainerView {
  const { version: _v, entrypoint: _e, cmd: _c, process: _p, transient: _t, ...view } = rec;
  return structuredClone(view);
}

/** `key` / `key=value` filters, checked: a filter without a key is E_CONTAINER_INVALID. */
export function parseLabelFilters(filters: readonly string[]): { key: string; value?: string }[] {
  return filters.map((f) => {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (key === '') {
      throw new BerthError('E_CONTAINER_INVALID', `label filter ${JSON.stringify(f)} has no key: give key or key=value`, {
        details: { option: 'label', value: f },
      });
    }
    return eq < 0 ? { key } : { key, value: f.slice(eq + 1) };
  });
}

function hasLabels(rec: ContainerRecord, filters: readonly { key: string; value?: string }[]): boolean {
  const labels = rec.config.labels;
  return filters.every((f) => Object.hasOwn(labels, f.key) && (f.value === undefined || labels[f.key] === f.value));
}

export class ContainerRecords {
  private readonly byId = new Map<string, ContainerRecord>();
  /** Names of containers being created (not yet in `byId`). */
  private readonly pendingNames = new Set<string>();

  constructor(
    /** Where containers live: BERTH_HOME/containers. */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Read every container.json. Returns the ids of directories without one (a create that
   * crashed before writing it: nothing refers to them) for the caller to clean up; a
   * record that is not valid is logged and ignored.
   */
  async load(): Promise<string[]> {
    const orphans: string[] = [];
    for (const id of await readdir(this.dir)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const path = join(this.dir, id, 'container.json');
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
        orphans.push(id);
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        // A transient container's record is written without fsync: a power failure can leave it empty.
        this.log.error({ path, err: e }, 'container.json is not JSON; the container is ignored');
        continue;
      }
      const parsed = containerRecordSchema.safeParse(json);
      if (!parsed.success) {
        this.log.error({ path, issues: parsed.error.issues }, 'container.json is not valid; the container is ignored');
        continue;
      }
      this.byId.set(id, parsed.data);
    }
    return orphans;
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  logPath(id: string): string {
    return join(this.dir, id, 'container.log');
  }

  /** Write the record (durably, unless the container is transient) and keep it. */
  async save(rec: ContainerRecord): Promise<void> {
    await writeFileAtomic(join(this.containerDir(rec.id), 'container.json'), `${JSON.stringify(rec, null, 2)}\n`, {
      mode: 0o600,
      durable: rec.transient !== true,
    });
    this.byId.set(rec.id, rec);
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  /** The record `ref` names (id, unique id prefix, name); E_CONTAINER_NOT_FOUND otherwise. */
  find(ref: string): ContainerRecord {
    return resolveRef(ref, [...this.byId.values()]);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  /**
   * A name for a new container: `wanted` checked and free, or a generated one. It stays
   * taken until `releaseName` (the create then has saved its record, or failed).
   */
  reserveName(wanted: string | undefined): string {
    const records = [...this.byId.values()];
    const taken = (n: string): boolean => this.pendingNames.has(n) || records.some((r) => r.name === n);
    const name = wanted === undefined ? generateName(taken) : validateContainerName(wanted);
    if (taken(name)) {
      const other = records.find((r) => r.name === name);
      throw new BerthError('E_CONTAINER_NAME_IN_USE', `the name ${name} is in use by container ${other ? other.id.slice(0, 12) : '(being created)'}`, {
        details: { name, ...(other ? { id: other.id } : {}) },
      });
    }
    this.pendingNames.add(name);
    return name;
  }

  releaseName(name: string): void {
    this.pendingNames.delete(name);
  }

  /** The containers' views, newest first. */
  list(o: ListOptions = {}): ContainerView[] {
    const filters = parseLabelFilters(o.labels ?? []);
    return [...this.byId.values()]
      .filter((r) => (o.all || r.state === 'running') && hasLabels(r, filters))
      .sort((a, b) => b.created.localeCompare(a.created))
      .map(viewOf);
  }

  /** Image manifest digests containers use: roots for ImageStore.gc. */
  imageRoots(): string[] {
    return [...new Set([...this.byId.values()].map((r) => r.imageDigest))];
  }

  /** The containers that use the image with manifest `digest`. */
  usersOf(digest: string): ContainerView[] {
    return [...this.byId.values()].filter((r) => r.imageDigest === digest).map(viewOf);
  }
}
