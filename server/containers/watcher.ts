/**
 * How the daemon learns that a container ended: a connection to its attach socket, which
 * the monitor closes once exit.json is written (docs/runtime.md). Without a socket (the
 * container is ending right now, or an older monitor) the runtime state is polled. A
 * connection that ends while the container still runs (the monitor dropped a slow reader)
 * is made again. `exited` resolves once the caller's `onExit` has recorded the status.
 */
import type { Logger } from '../core/index.js';
import type { AttachExit, AttachSession } from '../runtime/index.js';
import type { ExitStatus } from './types.js';

/** One container while it exists in the runtime. */
export interface Watch {
  /** Resolves once the exit is recorded: its status (undefined: unknown, or removed first). */
  readonly exited: Promise<ExitStatus | undefined>;
}

interface Entry extends Watch {
  resolve(status: ExitStatus | undefined): void;
  session?: AttachSession;
  poll?: NodeJS.Timeout;
  stopped: boolean;
}

export interface WatcherOptions {
  /** A connection to the container's attach socket (RuntimeClient.attach). */
  attach(id: string): Promise<AttachSession>;
  log: Logger;
  /** The runtime's status of the container (undefined: it is not there). */
  state(id: string): Promise<string | undefined>;
  /**
   * The container has stopped in the runtime: record it; the status for `exited`. `exit` is
   * what the monitor's last frame said (exit.json), when the connection carried it.
   */
  onExit(id: string, exit?: AttachExit): Promise<ExitStatus | undefined>;
  /** @defaultValue 250 */
  pollMs?: number;
}

export class ExitWatcher {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly o: WatcherOptions) {}

  /** Watch container `id` (once: a second call returns the same watch). */
  async watch(id: string): Promise<Watch> {
    const existing = this.entries.get(id);
    if (existing) return existing;
    let resolve!: (s: ExitStatus | undefined) => void;
    const exited = new Promise<ExitStatus | undefined>((r) => (resolve = r));
    const entry: Entry = { exited, resolve, stopped: false };
    this.entries.set(id, entry);
    await this.connect(id, entry);
    return entry;
  }

  /** The watch of `id`, while there is one: the container exists in the runtime (created, running, or just ended). */
  watching(id: string): Watch | undefined {
    return this.entries.get(id);
  }

  /** Stop watching `id` (it is being removed); its `exited` resolves with `status`. */
  drop(id: string, status?: ExitStatus): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.stop(entry);
    this.entries.delete(id);
    entry.resolve(status);
  }

  /** Stop watching everything (the daemon stops; the containers keep running). */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) this.stop(entry);
    this.entries.clear();
  }

  private async connect(id: string, entry: Entry): Promise<void> {
    if (entry.stopped) return;
    try {
      const session = await this.o.attach(id);
      entry.session = session;
      void session.ended.then((end) => {
        entry.session = undefined;
        // exitCode -1: the monitor could not read exit.json back; the runtime is asked instead.
        const exit = end.exit !== undefined && end.exit.exitCode >= 0 ? end.exit : undefined;
        if (!entry.stopped) void this.ended(id, entry, exit);
      });
    } catch (err) {
      this.o.log.debug({ err, id }, 'no attach socket; polling the container state');
      entry.poll = setInterval(() => {
        if (entry.stopped) return;
        void this.o.state(id).then(
          (s) => {
            if (s !== 'running' && s !== 'created' && entry.poll) {
              clearInterval(entry.poll);
              entry.poll = undefined;
              void this.ended(id, entry);
            }
          },
          (e: unknown) => this.o.log.warn({ err: e, id }, 'state of a watched container failed'),
        );
      }, this.o.pollMs ?? 250);
    }
  }

  private async ended(id: string, entry: Entry, exit?: AttachExit): Promise<void> {
    if (this.closed || entry.stopped) return;
    let status: ExitStatus | undefined;
    try {
      // The monitor sends the exit frame only once the container has ended: no need to ask.
      const state = exit === undefined ? await this.o.state(id) : 'stopped';
      if (state === 'running' || state === 'created') {
        await this.connect(id, entry); // the connection ended, the container did not
        return;
      }
      status = await this.o.onExit(id, exit);
    } catch (err) {
      this.o.log.error({ err, id }, 'recording a container exit failed');
    }
    this.stop(entry);
    if (this.entries.get(id) === entry) this.entries.delete(id);
    entry.resolve(status);
  }

  private stop(entry: Entry): void {
    entry.stopped = true;
    entry.session?.close();
    if (entry.poll) clearInterval(entry.poll);
    entry.poll = undefined;
  }
}
