/**
 * xattrs read by berth-fsutil (Node cannot read them): one long-lived `berth-fsutil serve`
 * per binary, started at the first read and kept, so that a build, which commits a layer
 * per RUN step, starts no process per step (docs/builds.md, "What a RUN step costs").
 * Requests go one at a time, in order. The process keeps Node alive only while a read is
 * in flight, and ends with Node (end of its stdin). If it dies, the reads in flight fail
 * and the next read starts another.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../core/index.js';

/** Every path's xattrs (name → value), by path as asked ("." is the root). */
export type XattrMap = Map<string, Map<string, Buffer>>;

interface Pending {
  root: string;
  resolve(value: XattrMap): void;
  reject(error: Error): void;
}

/** One answer at the start of `buf` (berth-fsutil's `serve`), or undefined until it is all there. */
function parseAnswer(buf: Buffer): { consumed: number; result: XattrMap | string } | undefined {
  let at = 0;
  const field = (): string | undefined => {
    const end = buf.indexOf(0, at);
    if (end < 0) return undefined;
    const text = buf.toString('utf8', at, end);
    at = end + 1;
    return text;
  };
  const status = field();
  if (status === undefined) return undefined;
  if (status === 'error') {
    const message = field();
    return message === undefined ? undefined : { consumed: at, result: message };
  }
  if (status !== 'ok') throw new Error(`berth-fsutil serve answered ${JSON.stringify(status.slice(0, 40))}, not ok or error`);
  const out: XattrMap = new Map();
  for (;;) {
    const path = field();
    if (path === undefined) return undefined;
    if (path === '') return { consumed: at, result: out };
    const count = field();
    if (count === undefined) return undefined;
    const attrs = new Map<string, Buffer>();
    for (let k = 0; k < Number(count); k++) {
      const name = field();
      const value = field();
      if (name === undefined || value === undefined) return undefined;
      attrs.set(name, Buffer.from(value, 'hex'));
    }
    out.set(path, attrs);
  }
}

class XattrServer {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly pending: Pending[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  private stderr = '';
  dead = false;

  constructor(binary: string) {
    this.child = spawn(binary, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.unref();
    this.child.stdout.on('data', (chunk: Buffer) => this.data(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2000)));
    this.child.stdin.on('error', () => undefined); // the process died: 'close' below says so
    this.child.on('error', (e) => this.fail(e.message, e));
    this.child.on('close', (code, signal) => this.fail(`it exited (${signal ?? `status ${code}`})${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`));
    this.idle();
  }

  read(root: string, paths: readonly string[]): Promise<XattrMap> {
    return new Promise((resolve, reject) => {
      if (this.dead) {
        reject(new BerthError('E_IMAGE_LAYER_INVALID', `cannot read the xattrs of ${root}: berth-fsutil serve has ended`));
        return;
      }
      this.pending.push({ root, resolve, reject });
      this.busy();
      this.child.stdin.write(Buffer.from([root, ...paths, ''].map((f) => `${f}\0`).join(''), 'utf8'));
    });
  }

  private data(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      let answer;
      try {
        answer = parseAnswer(this.buffered);
      } catch (e) {
        this.fail((e as Error).message, e);
        this.child.kill();
        return;
      }
      if (answer === undefined) return;
      this.buffered = this.buffered.subarray(answer.consumed);
      const p = this.pending.shift();
      if (p === undefined) {
        this.fail('it answered a request nobody made');
        this.child.kill();
        return;
      }
      if (typeof answer.result === 'string') p.reject(new BerthError('E_IMAGE_LAYER_INVALID', `cannot read the xattrs of ${p.root}: ${answer.result}`));
      else p.resolve(answer.result);
      if (this.pending.length === 0) this.idle();
    }
  }

  private fail(why: string, cause?: unknown): void {
    this.dead = true;
    for (const p of this.pending.splice(0)) {
      p.reject(new BerthError('E_IMAGE_LAYER_INVALID', `cannot read the xattrs of ${p.root}: berth-fsutil serve failed: ${why}`, { cause }));
    }
  }

  /** A read is in flight: the pipes keep Node alive until its answer. */
  private busy(): void {
    this.child.ref();
    (this.child.stdout as Readable & { ref(): void }).ref();
  }

  /** Nothing in flight: the process does not keep Node alive. */
  private idle(): void {
    this.child.unref();
    (this.child.stdout as Readable & { unref(): void }).unref();
    (this.child.stderr as Readable & { unref(): void }).unref();
    (this.child.stdin as Writable & { unref?(): void }).unref?.();
  }
}

const servers = new Map<string, XattrServer>();

/**
 * The xattrs of each of `paths` (relative to `root`, "." for `root` itself; a symlink's own,
 * never its target's), as `berth-fsutil xattrs` reads them: parents are opened beneath
 * `root` without following symlinks.
 */
export function readXattrs(fsutil: string, root: string, paths: readonly string[]): Promise<XattrMap> {
  let server = servers.get(fsutil);
  if (server === undefined || server.dead) {
    server = new XattrServer(fsutil);
    servers.set(fsutil, server);
  }
  return server.read(root, paths);
}
