/** KEY=VALUE environment entries: one rule for parsing, checking and merging. */
import test from 'ava';
import { BerthError } from '../../../server/core/errors.js';
import { envRecord, mergeEnv, parseEnvEntry } from '../../../server/core/env.js';

const invalid = { instanceOf: BerthError, code: 'E_NAME_INVALID' } as const;

test('an entry splits at its first "="; the value may be empty or hold "="', (t) => {
  t.deepEqual(parseEnvEntry('A=1'), { key: 'A', value: '1' });
  t.deepEqual(parseEnvEntry('B=x=y'), { key: 'B', value: 'x=y' });
  t.deepEqual(parseEnvEntry('C='), { key: 'C', value: '' });
  // Docker checks nothing more of a name: dots, dashes and spaces are the program's business.
  t.deepEqual(parseEnvEntry('my.var-x=1'), { key: 'my.var-x', value: '1' });
  t.deepEqual(parseEnvEntry('ÜBER=ü'), { key: 'ÜBER', value: 'ü' });
});

test('an entry without "=", with an empty key or with a NUL is refused, naming it', (t) => {
  t.throws(() => parseEnvEntry('NOEQUALS'), { ...invalid, message: /"NOEQUALS".*no "="/ });
  t.throws(() => parseEnvEntry('=x'), { ...invalid, message: /"=x".*KEY is empty/ });
  t.throws(() => parseEnvEntry(''), { ...invalid, message: /""/ });
  t.throws(() => parseEnvEntry('A\0B=1'), { ...invalid, message: /name "A\\u0000B" contains a NUL/ });
  const err = t.throws(() => parseEnvEntry('TOKEN=se\0cret'), { ...invalid, message: /"TOKEN" contains a NUL/ });
  t.false(err?.message.includes('cret'), 'a value, maybe a secret, is not quoted');
  t.truthy(err?.hint);
});

test('mergeEnv: an override replaces in place, new keys are appended in order', (t) => {
  t.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=']), ['PATH=/bin', 'A=2', 'B=']);
  t.deepEqual(mergeEnv(['A=1', 'B=2', 'C=3'], ['Z=26', 'B=two', 'Y=25']), ['A=1', 'B=two', 'C=3', 'Z=26', 'Y=25']);
  t.deepEqual(mergeEnv([], ['X=1', 'X=2']), ['X=2'], 'a key given twice keeps its last value');
  t.deepEqual(mergeEnv(['X=1', 'Y=1', 'X=2'], []), ['X=2', 'Y=1'], 'one entry per key, at its first place');
  t.deepEqual(mergeEnv(['A=1'], []), ['A=1']);
});

test('mergeEnv refuses a bad override and leaves out a base entry no process could get', (t) => {
  t.throws(() => mergeEnv([], ['NOEQUALS']), { ...invalid, message: /NOEQUALS/ });
  t.throws(() => mergeEnv([], ['=x']), invalid);
  t.throws(() => mergeEnv(['A=1'], ['A=\0']), invalid);
  t.deepEqual(mergeEnv(['BARE', '=x', 'N=\0', 'OK=1'], ['NEW=2']), ['OK=1', 'NEW=2']);
});

test('mergeEnv does not change its arguments', (t) => {
  const base = Object.freeze(['A=1']);
  const overrides = Object.freeze(['A=2']);
  t.deepEqual(mergeEnv(base, overrides), ['A=2']);
  t.deepEqual(base, ['A=1']);
});

test('envRecord: entries as a record, the later entry of a key winning', (t) => {
  t.deepEqual(envRecord(['A=1', 'B=x=y', 'A=3', 'E=']), { A: '3', B: 'x=y', E: '' });
  const rec = envRecord(['__proto__=x']);
  t.is(Object.getPrototypeOf(rec), Object.prototype, 'a key named __proto__ is a plain key');
  t.is(Object.getOwnPropertyDescriptor(rec, '__proto__')?.value, 'x');
  t.throws(() => envRecord(['NOPE']), invalid);
});
