/**
 * Name validation: reject and name the bad character, never repair (crun's validate_id,
 * not piku's sanitize_app_name).
 */
import { BerthError } from './errors.js';

interface NameRule {
  /** What is being named, for the message ("app name"). */
  readonly kind: string;
  readonly maxLength: number;
  /** Characters allowed anywhere. */
  readonly allowed: RegExp;
  /** Characters allowed first. */
  readonly first: RegExp;
  /** Characters allowed last (defaults to `allowed`). */
  readonly last?: RegExp;
  /** The rule in words, ending every message. */
  readonly rule: string;
}

/** Control, format (bidi, zero-width) and space characters are shown by code point, never raw. */
const unprintable = /[\p{Cc}\p{Cf}\p{Z}]/u;
const codePoint = (ch: string): string => `U+${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}`;
const describeChar = (ch: string): string => (unprintable.test(ch) ? codePoint(ch) : `'${ch}'`);
/** JSON.stringify, also escaping what it leaves raw (C1 controls, bidi overrides, zero-width and odd spaces). */
const quote = (value: string): string =>
  JSON.stringify(value).replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (ch) =>
    ch === ' ' ? ch : [...Array(ch.length).keys()].map((k) => `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`).join(''),
  );

function checkName(value: string, r: NameRule): string {
  const shown = quote(value);
  const fail = (why: string): never => {
    throw new BerthError('E_NAME_INVALID', `invalid ${r.kind} ${shown}: ${why}; ${r.rule}`, {
      details: { kind: r.kind, value },
    });
  };
  if (value.length === 0) fail('it is empty');
  const chars = [...value];
  if (chars.length > r.maxLength) fail(`it is ${chars.length} characters long, more than ${r.maxLength}`);
  chars.forEach((ch, i) => {
    if (!r.allowed.test(ch)) fail(`character ${describeChar(ch)} at position ${i + 1} is not allowed`);
  });
  const first = chars[0] ?? '';
  if (!r.first.test(first)) fail(`it starts with ${describeChar(first)}`);
  const last = chars[chars.length - 1] ?? '';
  if (r.last && !r.last.test(last)) fail(`it ends with ${describeChar(last)}`);
  return value;
}

/**
 * App names become hostname labels (`<app>.<domain>`) and directory names: lowercase
 * letters, digits and dashes, 1 to 63 characters, starting with a letter and, as DNS
 * labels must, not ending with a dash.
 */
export function validateAppName(name: string): string {
  return checkName(name, {
    kind: 'app name',
    maxLength: 63,
    allowed: /^[a-z0-9-]$/,
    first: /^[a-z]$/,
    last: /^[a-z0-9]$/,
    rule: 'app names use lowercase letters, digits and dashes, start with a letter, do not end with a dash, and are 1 to 63 characters long',
  });
}

/** Procfile process types (`web`, `worker`, `release`): as Heroku allows. */
export function validateProcessType(name: string): string {
  return checkName(name, {
    kind: 'process type',
    maxLength: 63,
    allowed: /^[a-zA-Z0-9_-]$/,
    first: /^[a-zA-Z0-9]$/,
    rule: 'process types use letters, digits, "_" and "-", start with a letter or digit, and are 1 to 63 characters long',
  });
}

/** Config var keys: what a POSIX shell accepts as a variable name. */
export function validateConfigKey(name: string): string {
  return checkName(name, {
    kind: 'config key',
    maxLength: 255,
    allowed: /^[A-Za-z0-9_]$/,
    first: /^[A-Za-z_]$/,
    rule: 'config keys use letters, digits and "_", do not start with a digit, and are 1 to 255 characters long',
  });
}

/** Container ids, as berth-runtime accepts them. */
export function validateContainerId(id: string): string {
  return checkName(id, {
    kind: 'container id',
    maxLength: 128,
    allowed: /^[A-Za-z0-9_.-]$/,
    first: /^[A-Za-z0-9]$/,
    rule: 'container ids use letters, digits, "_", "." and "-", start with a letter or digit, and are 1 to 128 characters long',
  });
}

/**
 * The names of SSH keys (`ssh-keys:add NAME`): they end the forced command in the system
 * user's authorized_keys and name the pusher in logs, so no quoting is ever needed.
 */
export function validateKeyName(name: string): string {
  return checkName(name, {
    kind: 'key name',
    maxLength: 64,
    allowed: /^[A-Za-z0-9_.@-]$/,
    first: /^[A-Za-z0-9]$/,
    rule: 'key names use letters, digits, "_", ".", "@" and "-", start with a letter or digit, and are 1 to 64 characters long',
  });
}
