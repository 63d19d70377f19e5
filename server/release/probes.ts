/**
 * The probes health checks are made of, each bounded by a timeout and the deploy's signal:
 * a TCP connect from the host to a container's bridge address (what nginx will do), an HTTP
 * GET there, and a command run in the container (exec, in its namespaces and user).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { LineSplitter } from '../core/index.js';
import type { ContainerManager } from '../containers/index.js';

/** Whether something accepts a TCP connection at `address:port` within `timeoutMs`; the reason when not. */
export function tcpProbe(address: string, port: number, timeoutMs: number): Promise<{ ok: true } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (r: { ok: true } | { ok: false; why: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, why: `no answer to a connect within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, why: e.code === 'ECONNREFUSED' ? 'connection refused' : e.message }));
  });
}

/** Most of an answer's body a check reads (content search) and quotes (failures). */
const MAX_BODY = 64 * 1024;

export interface HttpProbe {
  scheme: 'http' | 'https';
  address: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** One GET; the status and the first 64 KiB of the body, or why there was none. Certificates are not checked (the name is an address). */
export function httpProbe(p: HttpProbe): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const request = p.scheme === 'https' ? httpsRequest : httpRequest;
    const req = request(
      { host: p.address, port: p.port, path: p.path, method: 'GET', headers: { Connection: 'close', ...p.headers }, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          resolve({ error: e.message });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${p.timeoutMs} ms`)), p.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
    req.end();
  });
}

/** How many of a command's last output lines a check keeps. */
const TAIL = 10;

/** Run `argv` in the running container; its exit code (undefined: killed at the timeout) and last lines. */
export async function commandProbe(
  containers: ContainerManager,
  id: string,
  argv: string[],
  timeoutMs: number,
): Promise<{ exitCode?: number; tail: string[] }> {
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL) tail.shift();
  };
  const stream = await containers.exec(id, { cmd: argv, stdin: false });
  const out = new LineSplitter(keep);
  const err = new LineSplitter(keep);
  stream.stdout.on('data', (b: Buffer) => out.write(b));
  stream.stderr.on('data', (b: Buffer) => err.write(b));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const first = await Promise.race([stream.exit, timedOut]);
    if (first === 'timeout') {
      stream.kill();
      await stream.exit.catch(() => undefined);
      return { tail: [...tail, `(killed after ${timeoutMs / 1000} s)`] };
    }
    out.end();
    err.end();
    return { exitCode: first.exitCode, tail };
  } finally {
    clearTimeout(timer);
  }
}
