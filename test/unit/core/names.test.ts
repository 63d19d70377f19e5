/**
 * Name validation rejects and names the offending character and its position (crun's
 * validate_id), and never repairs a name.
 */
import test, { type ExecutionContext } from 'ava';
import { BerthError, validateAppName, validateConfigKey, validateContainerId, validateProcessType } from '../../../server/core/index.js';

type Validator = (name: string) => string;

function accepts(t: ExecutionContext, validate: Validator, name: string): void {
  t.is(validate(name), name, `${JSON.stringify(name)} is accepted unchanged`);
}

/** The name as messages quote it: JSON, with every control, format and odd space character escaped. */
function quoted(name: string): string {
  return JSON.stringify(name).replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (ch) => (ch === ' ' ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** `validate(name)` must throw E_NAME_INVALID whose message contains every one of `says`. */
function rejects(t: ExecutionContext, validate: Validator, name: string, ...says: string[]): BerthError {
  const err = t.throws(() => validate(name), { instanceOf: BerthError }, JSON.stringify(name));
  if (!(err instanceof BerthError)) throw new Error(`${JSON.stringify(name)} was not rejected with a BerthError`);
  t.is(err.code, 'E_NAME_INVALID');
  t.is(err.httpStatus, 400);
  t.true(err.message.includes(quoted(name)), `the message quotes the name: ${err.message}`);
  for (const s of says) t.true(err.message.includes(s), `${JSON.stringify(s)} in: ${err.message}`);
  t.is(err.details.value, name);
  return err;
}

// ------------------------------------------------------------------ app names

const appRule = 'app names use lowercase letters, digits and dashes, start with a letter, do not end with a dash, and are 1 to 63 characters long';

test('app names: valid names are accepted unchanged', (t) => {
  for (const name of ['a', 'hello', 'a1-b2', 'my-app-2', 'a--b', 'a'.repeat(63), `x${'-9'.repeat(31)}`]) accepts(t, validateAppName, name);
});

test('app names: empty is rejected', (t) => {
  rejects(t, validateAppName, '', 'invalid app name ""', 'it is empty', appRule);
});

test('app names: 64 characters are rejected', (t) => {
  rejects(t, validateAppName, 'a'.repeat(64), 'it is 64 characters long, more than 63', appRule);
});

test('app names: an uppercase letter is named with its position', (t) => {
  rejects(t, validateAppName, 'Hello', "character 'H' at position 1 is not allowed", appRule);
  rejects(t, validateAppName, 'helloWorld', "character 'W' at position 6 is not allowed");
});

test('app names: an underscore is named with its position', (t) => {
  rejects(t, validateAppName, 'my_app', "character '_' at position 3 is not allowed", appRule);
});

test('app names: a digit or dash first is rejected', (t) => {
  rejects(t, validateAppName, '1app', "it starts with '1'", appRule);
  rejects(t, validateAppName, '-app', "it starts with '-'", appRule);
});

test('app names: a dash last is rejected', (t) => {
  rejects(t, validateAppName, 'app-', "it ends with '-'", appRule);
});

test('app names: whitespace and control characters are named by code point', (t) => {
  rejects(t, validateAppName, 'a b', 'character U+0020 at position 2 is not allowed');
  rejects(t, validateAppName, 'ab\t', 'character U+0009 at position 3 is not allowed');
  rejects(t, validateAppName, 'a\nb', 'character U+000A at position 2 is not allowed');
  rejects(t, validateAppName, 'a\u007fb', 'character U+007F at position 2 is not allowed', '"a\\u007fb"');
  // Bidi overrides and zero-width characters never reach a terminal raw.
  const bidi = rejects(t, validateAppName, 'a\u202eb\u200b', 'character U+202E at position 2', '"a\\u202eb\\u200b"');
  t.false(/[\u202e\u200b]/.test(bidi.message));
  rejects(t, validateAppName, 'a\u00a0b', 'character U+00A0 at position 2 is not allowed');
});

test('app names: unicode is rejected, counting positions in characters', (t) => {
  rejects(t, validateAppName, 'café', "character 'é' at position 4 is not allowed");
  rejects(t, validateAppName, 'аpp', "character 'а' at position 1 is not allowed"); // Cyrillic а
  rejects(t, validateAppName, 'a😀b', "character '😀' at position 2 is not allowed");
  rejects(t, validateAppName, '😀x', "character '😀' at position 1 is not allowed");
});

test('app names: path and shell characters are rejected', (t) => {
  rejects(t, validateAppName, '../etc', "character '.' at position 1 is not allowed");
  rejects(t, validateAppName, 'a/b', "character '/' at position 2 is not allowed");
  rejects(t, validateAppName, 'a;b', "character ';' at position 2 is not allowed");
  rejects(t, validateAppName, 'a.b', "character '.' at position 2 is not allowed");
});

// ------------------------------------------------------------------ process types

const processRule = 'process types use letters, digits, "_" and "-", start with a letter or digit, and are 1 to 63 characters long';

test('process types: valid types are accepted unchanged', (t) => {
  for (const name of ['web', 'worker', 'release', 'Web_2', 'clock-1', '1st', 'w'.repeat(63)]) accepts(t, validateProcessType, name);
});

test('process types: invalid types are rejected, naming the problem', (t) => {
  rejects(t, validateProcessType, '', 'it is empty', processRule);
  rejects(t, validateProcessType, 'w'.repeat(64), 'it is 64 characters long, more than 63');
  rejects(t, validateProcessType, '_web', "it starts with '_'", processRule);
  rejects(t, validateProcessType, '-web', "it starts with '-'");
  rejects(t, validateProcessType, 'web.1', "character '.' at position 4 is not allowed");
  rejects(t, validateProcessType, 'web worker', 'character U+0020 at position 4 is not allowed');
  rejects(t, validateProcessType, 'wéb', "character 'é' at position 2 is not allowed");
});

// ------------------------------------------------------------------ config keys

const configRule = 'config keys use letters, digits and "_", do not start with a digit, and are 1 to 255 characters long';

test('config keys: valid keys are accepted unchanged', (t) => {
  for (const name of ['PATH', 'DATABASE_URL', '_X', 'database_url', 'A1', 'K'.repeat(255)]) accepts(t, validateConfigKey, name);
});

test('config keys: invalid keys are rejected, naming the problem', (t) => {
  rejects(t, validateConfigKey, '', 'it is empty', configRule);
  rejects(t, validateConfigKey, 'K'.repeat(256), 'it is 256 characters long, more than 255');
  rejects(t, validateConfigKey, '1A', "it starts with '1'", configRule);
  rejects(t, validateConfigKey, 'A-B', "character '-' at position 2 is not allowed");
  rejects(t, validateConfigKey, 'A=B', "character '=' at position 2 is not allowed");
  rejects(t, validateConfigKey, 'MY KEY', 'character U+0020 at position 3 is not allowed');
  rejects(t, validateConfigKey, 'KEY$', "character '$' at position 4 is not allowed");
});

// ------------------------------------------------------------------ container ids

const containerRule = 'container ids use letters, digits, "_", "." and "-", start with a letter or digit, and are 1 to 128 characters long';

test('container ids: valid ids are accepted unchanged', (t) => {
  for (const name of ['hello.web.1', 'abc_DEF-1', '0abc', 'c'.repeat(128)]) accepts(t, validateContainerId, name);
});

test('container ids: invalid ids are rejected, naming the problem', (t) => {
  rejects(t, validateContainerId, '', 'it is empty', containerRule);
  rejects(t, validateContainerId, 'c'.repeat(129), 'it is 129 characters long, more than 128');
  rejects(t, validateContainerId, '.hidden', "it starts with '.'", containerRule);
  rejects(t, validateContainerId, '-x', "it starts with '-'");
  rejects(t, validateContainerId, '../x', "character '/' at position 3 is not allowed");
  rejects(t, validateContainerId, 'a/b', "character '/' at position 2 is not allowed");
  rejects(t, validateContainerId, 'a\0b', 'character U+0000 at position 2 is not allowed');
});

test('every message names what kind of name it is', (t) => {
  t.regex(rejects(t, validateAppName, 'A').message, /^invalid app name /);
  t.regex(rejects(t, validateProcessType, '.').message, /^invalid process type /);
  t.regex(rejects(t, validateConfigKey, '.').message, /^invalid config key /);
  t.regex(rejects(t, validateContainerId, '/').message, /^invalid container id /);
});
