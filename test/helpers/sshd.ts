/**
 * A private OpenSSH server for the git-over-SSH tests, and everything it needs, each undone
 * in teardown: a unique system user (its home in a temp dir), a host key, a config of its
 * own on a random loopback port, and a client key pair with a known_hosts file. The host's
 * own sshd, its keys and its config are never touched. /run/sshd (sshd's privilege
 * separation directory, which the openssh-server package expects) is created if missing and
 * left in place: sshds of other test processes may be using it, and removing it under them
 * makes their connections fail at key exchange (a CI run did).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../server/core/index.js';
import { requireBinary, requireRoot } from './prereq.js';
import { tempDir } from './temp-dir.js';

const sshdBinary = '/usr/sbin/sshd';
const privsepDir = '/run/sshd';

function check(what: string, r: ReturnType<typeof spawnSync>): void {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}: ${String(r.stderr ?? '')}`);
}

export interface TestUser {
  name: string;
  uid: number;
  home: string;
  /** Remove the user (idempotent; teardown calls it too). */
  remove(): void;
}

/** A system user `bt<hex>` with /bin/sh, no password (`*`: not locked, nothing to log in with), its home in a temp dir. */
export async function createTestUser(t: ExecutionContext): Promise<TestUser> {
  requireRoot('creating a system user');
  const dir = await tempDir(t, 'berth-sshuser-');
  const name = `bt${randomBytes(4).toString('hex')}`;
  const home = join(dir, 'home');
  check(
    `useradd ${name}`,
    spawnSync('useradd', ['--system', '--user-group', '--create-home', '--home-dir', home, '--shell', '/bin/sh', '--password', '*', name], {
      encoding: 'utf8',
      timeout: 30_000,
    }),
  );
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    check(`userdel ${name}`, spawnSync('userdel', [name], { encoding: 'utf8', timeout: 30_000 }));
  };
  t.teardown(remove);
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid, home, remove };
}

/** Whether `name` is a user of this host. */
export const userExists = (name: string): boolean => spawnSync('getent', ['passwd', name]).status === 0;

export interface TestSshd {
  port: number;
  pid: number;
  /** Everything sshd logged (-e: to stderr). */
  log(): string;
  /** Stop it (idempotent; teardown calls it too). */
  stop(): Promise<void>;
  /** ssh's options for this server (known_hosts, batch mode, the port), without the key: add `-i <key>`. */
  sshOptions: string[];
  /** The client's key pair: `<dir>/client` and `<dir>/client.pub`. */
  clientKey: string;
  dir: string;
}

function keygen(file: string, comment: string): void {
  check(`ssh-keygen ${file}`, spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { encoding: 'utf8' }));
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`sshd did not listen on ${port} in 5 s:\n${log()}`);
}

/** Start sshd for `user` only, public keys only, on a random loopback port. */
export async function startSshd(t: ExecutionContext, user: string): Promise<TestSshd> {
  requireRoot('a private sshd');
  requireBinary(sshdBinary, 'openssh-server');
  requireBinary('/usr/bin/ssh', 'openssh-client');
  const dir = await tempDir(t, 'berth-sshd-');
  keygen(join(dir, 'host_key'), 'host');
  keygen(join(dir, 'client'), 'client@test');
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    'PidFile none',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin no',
    `AllowUsers ${user}`,
    'StrictModes yes',
    'AcceptEnv GIT_PROTOCOL',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), config);
  const hostPub = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  if (!existsSync(privsepDir))
    await mkdir(privsepDir, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  const child = spawn(sshdBinary, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  t.teardown(stop);
  await listening(port, child, () => log);
  return {
    port,
    pid: child.pid!,
    log: () => log,
    stop,
    clientKey: join(dir, 'client'),
    dir,
    sshOptions: [
      '-F',
      '/dev/null',
      '-p',
      String(port),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
    ],
  };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to its end with `env`; bounded by `timeoutMs` (then SIGKILL). */
export function runProgram(file: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: o.env ?? process.env,
      cwd: o.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 90_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
