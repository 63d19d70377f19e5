/**
 * Variable substitution with Docker's rules (the documented behaviour of BuildKit's shell
 * lexer), edge cases included: defaults, alternatives, required values, quotes, escapes,
 * the backtick escape, word splitting, and what is refused.
 */
import test from 'ava';
import { substituteWord, substituteWords } from '../../../server/build/index.js';

const env = new Map([
  ['NAME', 'world'],
  ['EMPTY', ''],
  ['SPACED', 'a b  c'],
  ['PATH', '/usr/bin'],
]);
const word = (w: string, escape?: string): string => substituteWord(w, { env, ...(escape === undefined ? {} : { escape }) });

test('$VAR and ${VAR}; unset is empty; a lone $ stays', (t) => {
  t.is(word('hello $NAME'), 'hello world');
  t.is(word('${NAME}s'), 'worlds');
  t.is(word('$NAMEs'), '', 'the name runs to the last name character');
  t.is(word('x$UNSET-y'), 'x-y');
  t.is(word('cost: 5$'), 'cost: 5$');
  t.is(word('$ NAME'), '$ NAME');
  t.is(word('$PATH:/bin'), '/usr/bin:/bin');
});

test('${VAR:-word} and ${VAR-word}: unset or empty, and unset only', (t) => {
  t.is(word('${UNSET:-dflt}'), 'dflt');
  t.is(word('${EMPTY:-dflt}'), 'dflt');
  t.is(word('${NAME:-dflt}'), 'world');
  t.is(word('${EMPTY-dflt}'), '', 'set but empty keeps the empty value without the colon');
  t.is(word('${UNSET-dflt}'), 'dflt');
  t.is(word('${UNSET:-$NAME}'), 'world', 'the word is substituted too');
  t.is(word('${UNSET:-a b}'), 'a b');
  t.is(word('${UNSET:-}'), '');
});

test('${VAR:+word} and ${VAR+word}: set and not empty, and set', (t) => {
  t.is(word('${NAME:+yes}'), 'yes');
  t.is(word('${EMPTY:+yes}'), '');
  t.is(word('${UNSET:+yes}'), '');
  t.is(word('${EMPTY+yes}'), 'yes');
  t.is(word('${UNSET+yes}'), '');
});

test('${VAR:?message} fails with the message when unset or empty', (t) => {
  t.is(word('${NAME:?needed}'), 'world');
  t.throws(() => word('${UNSET:?give NAME}'), { message: /UNSET: give NAME/ });
  t.throws(() => word('${EMPTY:?}'), { message: /EMPTY: is not allowed to be unset or empty/ });
  t.is(word('${EMPTY?x}'), '');
});

test('quotes: single keeps everything, double keeps all but $ and its escapes; both are removed', (t) => {
  t.is(word("'$NAME'"), '$NAME');
  t.is(word('"$NAME"'), 'world');
  t.is(word('"a \\"quoted\\" \\$NAME"'), 'a "quoted" $NAME');
  t.is(word('"back\\\\slash"'), 'back\\slash');
  t.is(word('"keep \\n as is"'), 'keep \\n as is', 'other escapes inside double quotes stay');
  t.is(word("'it''s'"), 'its');
  t.is(word('"it\'s"'), "it's");
});

test('escapes outside quotes make the next character literal; one at the end is dropped', (t) => {
  t.is(word('\\$NAME'), '$NAME');
  t.is(word('a\\ b'), 'a b');
  t.is(word('\\"x\\"'), '"x"');
  t.is(word('end\\'), 'end');
});

test('the backtick escape (# escape=`) replaces the backslash, which is then literal', (t) => {
  t.is(word('C:\\path\\$NAME', '`'), 'C:\\path\\world');
  t.is(word('`$NAME', '`'), '$NAME');
  t.throws(() => word('x', '!'), { message: /escape character/ });
});

test('words: unquoted whitespace separates, also from a value; quotes keep words whole', (t) => {
  t.deepEqual(substituteWords('a $SPACED "x y" \'$NAME\'', { env }), ['a', 'a', 'b', 'c', 'x y', '$NAME']);
  t.deepEqual(substituteWords('"" b', { env }), ['', 'b'], 'an empty quoted word is a word');
  t.deepEqual(substituteWords('  ', { env }), []);
  t.deepEqual(substituteWords('a\\ b c', { env }), ['a b', 'c']);
});

test('every variable looked up is recorded (the cache keys a step on the arguments it used)', (t) => {
  const used = new Set<string>();
  substituteWord("$NAME ${UNSET:-$PATH} '$SPACED'", { env, used });
  t.deepEqual([...used].sort(), ['NAME', 'PATH', 'UNSET']);
});

test('bad substitutions are refused, naming the word; pattern forms are refused by name', (t) => {
  for (const bad of ['${NAME', '${}', '${:-x}', '${NAME:}', '${NAME!x}', '"open', "'open"]) {
    const e = t.throws(() => word(bad));
    t.is((e as { code?: string }).code, 'E_BUILD_DOCKERFILE_INVALID', bad);
    t.true(e?.message.includes(JSON.stringify(bad)), `${bad}: ${e?.message}`);
  }
  for (const pattern of ['${NAME#w}', '${NAME%d}', '${NAME/o/0}']) t.throws(() => word(pattern), { message: /not supported/ });
});
