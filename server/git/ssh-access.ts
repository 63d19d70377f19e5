/**
 * What sshd needs for git over SSH (docs/ssh.md, "Permissions"): the dedicated system user's
 * `~/.ssh/authorized_keys`, one line per key forcing `berth git-shell <key-name>` with
 * `restrict`, and the API settings that user's git-shell reads (BERTH_HOME/ssh/cli.json,
 * owned by the user, mode 0600). The daemon runs as root and writes both; the user can
 * change neither its keys (`~/.ssh` and authorized_keys belong to root) nor any repository:
 * git-shell only relays its stdio to the daemon through the API, and the daemon runs git.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, formatCommand, isErrno, run, writeFileAtomic, type Logger } from '../core/index.js';
import type { SshKey } from './ssh-keys.js';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The passwd entry of `name` (through getent, so NSS sources count), or undefined when there is none. */
export async function lookupUser(name: string): Promise<SystemUser | undefined> {
  const r = await run('getent', ['passwd', name], { allowFailure: true, timeoutMs: 10_000 });
  if (r.code === 2) return undefined; // getent(1): the key was not found
  const fields = r.stdout.trim().split(':');
  if (r.code !== 0 || fields.length !== 7) {
    throw new BerthError('E_EXEC_FAILED', `getent passwd ${name} exited with ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  const [user, , uid, gid, , home, shell] = fields as [string, string, string, string, string, string, string];
  return { name: user, uid: Number(uid), gid: Number(gid), home, shell };
}

/** How sshd starts git-shell: Berth's pinned Node and its CLI, by absolute path. */
export interface ForcedCommand {
  /** The CLI's command, program first (`[node, …/dist/cli/main.js]`); `git-shell …` is appended. */
  argv: string[];
  /** The API settings file git-shell reads (BERTH_HOME/ssh/cli.json). */
  apiConfig: string;
}

/** A path that goes into authorized_keys' `command="…"`: sshd unescapes only `\"` there, and a line ends at a newline. */
function checkPath(what: string, path: string): void {
  if (/["\\\p{Cc}]/u.test(path)) {
    throw new BerthError(
      'E_CONFIG_INVALID',
      `${what} ${JSON.stringify(path)} holds a quote, a backslash or a control character: it cannot go into authorized_keys`,
    );
  }
}

/** authorized_keys' text for `keys`: `command="<node> <cli> git-shell --api-config <file> <name>",restrict <type> <key> <name>`. */
export function authorizedKeysText(keys: readonly SshKey[], command: ForcedCommand): string {
  const [program, ...args] = command.argv;
  if (program === undefined) throw new BerthError('E_CONFIG_INVALID', 'the command sshd runs for a key is empty');
  for (const arg of command.argv) checkPath('the git-shell command', arg);
  checkPath('the API settings file', command.apiConfig);
  const line = (k: SshKey) =>
    `command="${formatCommand(program, [...args, 'git-shell', '--api-config', command.apiConfig, k.name])}",restrict ${k.type} ${k.key} ${k.name}`;
  return ['# Written by Berth: `berth ssh-keys:add` and `ssh-keys:remove` change it; edits here are lost (docs/ssh.md).', ...keys.map(line), ''].join('\n');
}

export interface SshAccessOptions {
  /** The system user sshd runs git-shell as (BERTH_SSH_USER). */
  user: string;
  command: ForcedCommand;
  log: Logger;
}

const unusable = (user: string, why: string, hint?: string) =>
  new BerthError('E_GIT_SSH_USER_UNUSABLE', `git over SSH needs the system user ${user}, but ${why}`, hint ? { hint } : {});

/**
 * Checks a directory on sshd's path to authorized_keys as sshd's StrictModes does: a real
 * directory (no symlink: root writes below it), owned by root or the user, writable by no one else.
 */
async function checkDir(user: SystemUser, dir: string): Promise<void> {
  const st = await lstat(dir);
  if (!st.isDirectory()) throw unusable(user.name, `${dir} is not a directory${st.isSymbolicLink() ? ' (a symlink)' : ''}`);
  if (st.uid !== 0 && st.uid !== user.uid) throw unusable(user.name, `${dir} belongs to uid ${st.uid}, neither root nor ${user.name}`);
  if ((st.mode & 0o022) !== 0) {
    throw unusable(
      user.name,
      `${dir} is writable by its group or others (mode ${(st.mode & 0o777).toString(8)}): sshd refuses keys below it`,
      `chmod go-w ${dir}`,
    );
  }
}

/** The system user's authorized_keys and the API settings its git-shell reads. */
export class SshAccess {
  private api: { url: string; token: string } | undefined;

  constructor(private readonly o: SshAccessOptions) {}

  /** Where git-shell finds the API; written with the next `install` (the daemon knows its URL once it listens). */
  setApi(api: { url: string; token: string }): void {
    this.api = api;
  }

  /** The user, checked: it exists, is not root, has a shell sshd can run the forced command with, and a home sshd trusts. */
  async user(): Promise<SystemUser> {
    const name = this.o.user;
    const hint = `Run scripts/up (it creates the user), or: useradd --system --user-group --create-home --shell /bin/sh -p '*' ${name}; or set BERTH_SSH_USER`;
    const user = await lookupUser(name);
    if (!user) throw unusable(name, 'there is no such user', hint);
    if (user.uid === 0) throw unusable(name, 'it is root: sshd would run git-shell with every privilege', 'Set BERTH_SSH_USER to a dedicated user.');
    if (/\/(nologin|false)$/.test(user.shell) || user.shell === '') {
      throw unusable(name, `its shell is ${user.shell || 'empty'}; sshd runs the forced command through the user's shell`, `usermod --shell /bin/sh ${name}`);
    }
    await checkDir(user, user.home).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) throw unusable(name, `its home ${user.home} does not exist`, `mkdir -m 755 ${user.home} && chown ${name}: ${user.home}`);
      throw err;
    });
    return user;
  }

  /** Write authorized_keys for `keys` (and the API settings); E_GIT_SSH_USER_UNUSABLE when the user cannot take them. */
  async install(keys: readonly SshKey[]): Promise<void> {
    const text = authorizedKeysText(keys, this.o.command);
    const user = await this.user();
    const dir = join(user.home, '.ssh');
    // Root's: the user may read its keys but never change them (sshd accepts a root-owned ~/.ssh).
    await mkdir(dir, { mode: 0o755 }).catch((err: unknown) => {
      if (!isErrno(err, 'EEXIST')) throw err;
    });
    await checkDir(user, dir);
    await writeFileAtomic(join(dir, 'authorized_keys'), text, { mode: 0o644 });
    if (this.api) {
      await writeFileAtomic(this.o.command.apiConfig, `${JSON.stringify(this.api, null, 2)}\n`, { mode: 0o600, owner: { uid: user.uid, gid: user.gid } });
    }
    this.o.log.debug({ user: user.name, keys: keys.length }, 'SSH keys installed');
  }
}
