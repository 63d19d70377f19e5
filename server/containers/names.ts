/**
 * Container names and references. Names follow Docker's rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`);
 * a container created without one gets a generated `adjective_surname`, as Docker does. A
 * reference is a full id, a unique id prefix of at least 4 characters, or a name.
 */
import { randomInt } from 'node:crypto';
import { BerthError } from '../core/index.js';

const NAME_RULE = 'names use letters, digits, "_", "." and "-", start with a letter or digit, and are 2 to 128 characters long';

/** Check a requested name; reject (never repair) naming the bad character. */
export function validateContainerName(name: string): string {
  const fail = (why: string): never => {
    throw new BerthError('E_CONTAINER_INVALID', `invalid container name ${JSON.stringify(name)}: ${why}; ${NAME_RULE}`, {
      details: { option: 'name', value: name },
    });
  };
  if (name.length < 2) fail(name.length === 0 ? 'it is empty' : 'it is 1 character long');
  if (name.length > 128) fail(`it is ${name.length} characters long`);
  const bad = [...name].findIndex((ch) => !/[A-Za-z0-9_.-]/.test(ch));
  if (bad >= 0) fail(`character ${JSON.stringify([...name][bad])} at position ${bad + 1} is not allowed`);
  if (!/^[A-Za-z0-9]/.test(name)) fail(`it starts with ${JSON.stringify(name[0])}`);
  // A name that looks like an id would shadow id prefixes of other containers.
  if (/^[0-9a-f]{64}$/.test(name)) fail('it is a 64-digit hex id');
  return name;
}

const adjectives = [
  'brave',
  'calm',
  'clever',
  'cosy',
  'curious',
  'daring',
  'eager',
  'elated',
  'fervent',
  'focused',
  'gallant',
  'gentle',
  'happy',
  'hardy',
  'jolly',
  'keen',
  'kind',
  'lively',
  'lucid',
  'merry',
  'modest',
  'nimble',
  'noble',
  'patient',
  'plucky',
  'quiet',
  'quirky',
  'rapid',
  'serene',
  'sharp',
  'steady',
  'sunny',
  'swift',
  'tender',
  'tidy',
  'upbeat',
  'vivid',
  'witty',
  'zealous',
  'zen',
];

const surnames = [
  'agnesi',
  'babbage',
  'bardeen',
  'boole',
  'cannon',
  'curie',
  'darwin',
  'dijkstra',
  'einstein',
  'euler',
  'faraday',
  'fermat',
  'franklin',
  'galois',
  'gauss',
  'germain',
  'hamilton',
  'hopper',
  'hypatia',
  'johnson',
  'kepler',
  'knuth',
  'lamarr',
  'leakey',
  'lovelace',
  'maxwell',
  'meitner',
  'mirzakhani',
  'newton',
  'noether',
  'pascal',
  'ramanujan',
  'ritchie',
  'shannon',
  'somerville',
  'thompson',
  'turing',
  'volta',
  'wozniak',
  'yalow',
];

/** A generated name not in `taken`: `adjective_surname`, with a number added when every pair tried is taken. */
export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 100; i++) {
    const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}${i < 20 ? '' : String(randomInt(10))}`;
    if (!taken(name)) return name;
  }
  for (let n = 1; ; n++) {
    const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}${n}`;
    if (!taken(name)) return name;
  }
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Which of `all` `ref` names: exact id, then exact name, then a unique id prefix (≥ 4 characters). */
export function resolveRef<T extends { id: string; name: string }>(ref: string, all: readonly T[]): T {
  const byId = all.find((c) => c.id === ref);
  if (byId) return byId;
  const byName = all.find((c) => c.name === ref);
  if (byName) return byName;
  if (/^[0-9a-f]{4,63}$/.test(ref)) {
    const matches = all.filter((c) => c.id.startsWith(ref));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new BerthError(
        'E_CONTAINER_AMBIGUOUS',
        `id prefix ${ref} matches ${matches.length} containers: ${matches.map((c) => `${c.id.slice(0, 12)} (${c.name})`).join(', ')}`,
        {
          details: { ref, matches: matches.map((c) => c.id) },
        },
      );
    }
  }
  const close = all
    .map((c) => ({ name: c.name, d: distance(ref, c.name) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(ref.length / 3)))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3);
  const why = /^[0-9a-f]{1,3}$/.test(ref) ? ' (an id prefix needs at least 4 characters)' : '';
  throw new BerthError(
    'E_CONTAINER_NOT_FOUND',
    `no container ${JSON.stringify(ref)}${why}${close.length > 0 ? `; did you mean ${close.map((c) => c.name).join(', ')}?` : ''}`,
    {
      details: { ref, closest: close.map((c) => c.name) },
    },
  );
}
