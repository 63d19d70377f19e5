/**
 * The SSH keys that may push and run Berth commands over SSH (docs/ssh.md): each public key
 * parsed and checked before it is stored (type, base64 blob, the blob's own fields), its
 * SHA256 fingerprint computed as `ssh-keygen -lf` prints it, names and keys unique. The
 * list lives in BERTH_HOME/ssh/keys.json, written atomically; `install` is called with the
 * new list before it is stored, so that the system user's authorized_keys and the stored
 * list never disagree for long (ssh-access.ts).
 */
import { createHash } from 'node:crypto';
import { BerthError, readTextIfExists, validateKeyName, writeFileAtomic } from '../core/index.js';

/** One stored key. `key` is the base64 blob exactly as `ssh-keygen` writes it. */
export interface SshKey {
  name: string;
  type: string;
  key: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The key's size in bits (RSA's modulus; 256 for ed25519; the curve's for ECDSA). */
  bits: number;
  /** The comment after the key in the file given (often user@host), if any. */
  comment?: string;
  addedAt: string;
}

/** A key as the API shows it: everything but the blob. */
export type SshKeyView = Omit<SshKey, 'key'>;

/** The most bytes of key text accepted: an RSA 16384-bit public key is about 2.8 KB. */
export const MAX_KEY_TEXT = 16 * 1024;

/** RSA keys below this many bits are refused (OpenSSH's own floor is 1024; NIST's 2048). */
export const MIN_RSA_BITS = 2048;

type Field = 'string' | 'mpint';
interface KeyType {
  /** The fields of the blob after the type name, in order (RFC 4253 6.6, RFC 5656 3.1, PROTOCOL.u2f). */
  fields: Field[];
  /** The size in bits, from the parsed fields; throws a message when a field is wrong. */
  check(fields: Buffer[]): number;
}

const ecdsa = (curve: string, bits: number, sk = false): KeyType => ({
  fields: sk ? ['string', 'string', 'string'] : ['string', 'string'],
  check: ([name, point]) => {
    if (name!.toString('latin1') !== curve) throw new Error(`its curve is ${JSON.stringify(name!.toString('latin1'))}, not ${curve}`);
    const length = 1 + 2 * Math.ceil(bits / 8);
    if (point!.length !== length || point![0] !== 4) throw new Error(`its public point is not an uncompressed ${curve} point`);
    return bits;
  },
});

const ed25519 = (sk = false): KeyType => ({
  fields: sk ? ['string', 'string'] : ['string'],
  check: ([pk]) => {
    if (pk!.length !== 32) throw new Error(`its public key is ${pk!.length} bytes, not 32`);
    return 256;
  },
});

/** The key types OpenSSH 9 accepts by default (DSA and certificates are not among them here). */
const keyTypes: Record<string, KeyType> = {
  'ssh-ed25519': ed25519(),
  'sk-ssh-ed25519@openssh.com': ed25519(true),
  'ecdsa-sha2-nistp256': ecdsa('nistp256', 256),
  'ecdsa-sha2-nistp384': ecdsa('nistp384', 384),
  'ecdsa-sha2-nistp521': ecdsa('nistp521', 521),
  'sk-ecdsa-sha2-nistp256@openssh.com': ecdsa('nistp256', 256, true),
  'ssh-rsa': {
    fields: ['mpint', 'mpint'],
    check: ([, n]) => {
      const bits = n!.length === 0 ? 0 : (n!.length - 1) * 8 + n![0]!.toString(2).length;
      if (bits < MIN_RSA_BITS) throw new Error(`it is an RSA key of ${bits} bits; Berth accepts ${MIN_RSA_BITS} bits or more`);
      return bits;
    },
  },
};

/** The length-prefixed fields of a key blob (RFC 4251 5: string and mpint); throws a message. */
function readFields(blob: Buffer, type: string, fields: Field[]): Buffer[] {
  let at = 0;
  const next = (what: string): Buffer => {
    if (at + 4 > blob.length) throw new Error(`its blob ends before the ${what}`);
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) throw new Error(`its blob ends inside the ${what}`);
    const value = blob.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  const said = next('key type').toString('latin1');
  if (said !== type) throw new Error(`its blob says it is a ${JSON.stringify(said.slice(0, 40))} key`);
  const out = fields.map((f, i) => {
    const v = next(`field ${i + 1}`);
    if (f === 'mpint' && v.length > 0 && v[0]! & 0x80) throw new Error(`field ${i + 1} is a negative number`);
    return f === 'mpint' && v[0] === 0 ? v.subarray(1) : v;
  });
  if (at !== blob.length) throw new Error(`its blob has ${blob.length - at} bytes after the key`);
  return out;
}

/** `ssh-keygen -lf`'s fingerprint of a key blob. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const invalid = (message: string, hint?: string) => new BerthError('E_GIT_SSH_KEY_INVALID', message, hint ? { hint } : {});

/**
 * Parse one OpenSSH public key line (`type base64 [comment]`): blank lines and `#` comments
 * around it are allowed, anything else (a second key, options before the key, a private
 * key, a type OpenSSH would refuse, a blob that does not hold what its type says) is
 * E_GIT_SSH_KEY_INVALID naming what is wrong.
 */
export function parsePublicKey(text: string): Omit<SshKey, 'name' | 'addedAt'> {
  if (Buffer.byteLength(text) > MAX_KEY_TEXT) throw invalid(`the key text is ${Buffer.byteLength(text)} bytes long; a public key is at most ${MAX_KEY_TEXT}`);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw invalid('this is a PRIVATE key: never give it away', 'Give the public key: the `.pub` file next to it, or `ssh-keygen -y -f KEY` prints it.');
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (lines.length === 0) throw invalid('the key text is empty');
  if (lines.length > 1) throw invalid(`the key text holds ${lines.length} lines; give one key per ssh-keys:add`);
  const [type = '', data = '', ...rest] = lines[0]!.trim().split(/[ \t]+/);
  if (!(type in keyTypes)) {
    const known = Object.keys(keyTypes).join(', ');
    if (/^(ssh-dss|.*-cert-v01@openssh\.com)$/.test(type)) throw invalid(`keys of type ${type} are not accepted; use one of ${known}`);
    if (/[=,"]/.test(type) || Object.keys(keyTypes).some((k) => lines[0]!.includes(` ${k} `)))
      throw invalid('the line starts with options before the key; give the key alone (Berth writes the options itself)');
    throw invalid(`${JSON.stringify(type.slice(0, 40))} is not an SSH public key type; accepted: ${known}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) throw invalid(`the ${type} key's data is not base64`);
  const blob = Buffer.from(data, 'base64');
  let bits: number;
  try {
    bits = keyTypes[type]!.check(readFields(blob, type, keyTypes[type]!.fields));
  } catch (err) {
    throw invalid(`the ${type} key is not valid: ${(err as Error).message}`);
  }
  const comment = rest
    .join(' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .slice(0, 200);
  return { type, key: blob.toString('base64'), fingerprint: fingerprintOf(blob), bits, ...(comment ? { comment } : {}) };
}

export interface SshKeyStoreOptions {
  /** The JSON file the list lives in (BERTH_HOME/ssh/keys.json). */
  file: string;
  /**
   * Called with the whole new list before it is stored, and by `sync`: writes the system
   * user's authorized_keys. When it throws, nothing changes.
   */
  install: (keys: readonly SshKey[]) => Promise<void>;
}

/** The stored keys, one change at a time (in this process), each change installed before it is stored. */
export class SshKeyStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SshKeyStoreOptions) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<SshKey[]> {
    const text = await readTextIfExists(this.o.file);
    if (text === undefined) return [];
    try {
      return (JSON.parse(text) as { keys: SshKey[] }).keys;
    } catch (cause) {
      throw new BerthError('E_BERTH_INTERNAL', `${this.o.file} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }

  /** Install `next`, then store it; if storing fails, put the previous list back in place. */
  private async commit(previous: SshKey[], next: SshKey[]): Promise<void> {
    await this.o.install(next);
    try {
      await writeFileAtomic(this.o.file, `${JSON.stringify({ keys: next }, null, 2)}\n`, { mode: 0o600 });
    } catch (err) {
      await this.o.install(previous).catch(() => undefined);
      throw err;
    }
  }

  /** Every key, sorted by name. */
  list(): Promise<SshKey[]> {
    return this.serial(async () => (await this.read()).sort((a, b) => a.name.localeCompare(b.name)));
  }

  /** Add `text` (one public key) as `name`; the same name or the same key twice is E_GIT_SSH_KEY_EXISTS naming its holder. */
  async add(name: string, text: string): Promise<SshKey> {
    validateKeyName(name);
    const parsed = parsePublicKey(text);
    return this.serial(async () => {
      const keys = await this.read();
      const sameName = keys.find((k) => k.name === name);
      if (sameName) {
        throw new BerthError('E_GIT_SSH_KEY_EXISTS', `a key named ${name} is already added (${sameName.fingerprint})`, {
          hint: `Choose another name, or remove it first: berth ssh-keys:remove ${name}`,
        });
      }
      const sameKey = keys.find((k) => k.key === parsed.key);
      if (sameKey) {
        throw new BerthError('E_GIT_SSH_KEY_EXISTS', `this key (${parsed.fingerprint}) is already added as ${sameKey.name}`, {
          hint: `One key has one name; remove ${sameKey.name} first to add it under another (berth ssh-keys:remove ${sameKey.name}).`,
        });
      }
      const key: SshKey = { name, ...parsed, addedAt: new Date().toISOString() };
      await this.commit(keys, [...keys, key]);
      return key;
    });
  }

  /** Remove the key named `name`; E_GIT_SSH_KEY_NOT_FOUND when there is none. */
  async remove(name: string): Promise<SshKey> {
    validateKeyName(name);
    return this.serial(async () => {
      const keys = await this.read();
      const key = keys.find((k) => k.name === name);
      if (!key) {
        const names = keys.map((k) => k.name);
        throw new BerthError('E_GIT_SSH_KEY_NOT_FOUND', `no SSH key named ${name}${names.length ? ` (there are: ${names.join(', ')})` : ' (none is added)'}`);
      }
      await this.commit(
        keys,
        keys.filter((k) => k !== key),
      );
      return key;
    });
  }

  /** Install the stored list again (at the daemon's start: the system user may have changed). */
  sync(): Promise<void> {
    return this.serial(async () => this.o.install(await this.read()));
  }
}
