/**
 * Who holds a TCP port: read /proc/net/tcp{,6} for a listening socket on the port, then
 * find the process that has that socket's inode open. No library reads this on Linux
 * without spawning `ss` or `lsof`, which may not be installed; it is a few lines here.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface PortHolder {
  pid: number;
  command: string;
}

const LISTEN = '0A';

async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== LISTEN) continue;
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The process listening on `port`, if this process may look (root sees all). */
export async function whoListensOn(port: number): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) {
        const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        return { pid: Number(entry), command: cmdline.split('\0').filter(Boolean).join(' ') };
      }
    }
  }
  return undefined;
}

/** "port 80 is held by pid 123 (nginx: master process …)" or "port 80 is in use". */
export async function describePortHolder(port: number): Promise<string> {
  const holder = await whoListensOn(port).catch(() => undefined);
  return holder ? `port ${port} is held by pid ${holder.pid} (${holder.command})` : `port ${port} is in use by another program`;
}

/** A TCP port free on loopback right now (tests and `BERTH_API_PORT=0` callers). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
