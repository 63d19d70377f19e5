import test from 'ava';
import { parseProcfile } from '../../../server/core/procfile.js';

test('a Procfile: types in order, comments and blank lines skipped, commands kept as written', (t) => {
  const text = '# the app\nweb: node server.js --port $PORT\n\n  worker:bundle exec sidekiq -c 5  \r\nrelease: ./migrate: now\n';
  t.deepEqual(parseProcfile(text), { web: 'node server.js --port $PORT', worker: 'bundle exec sidekiq -c 5', release: './migrate: now' });
  t.deepEqual(Object.keys(parseProcfile(text)), ['web', 'worker', 'release']);
  t.deepEqual(parseProcfile(''), {});
  t.deepEqual(parseProcfile('my_type-2: x'), { 'my_type-2': 'x' });
});

for (const [name, text, line, what] of [
  ['a line without a colon', 'web: ok\nworker node x\n', 2, /not "name: command"/],
  ['a name with a dot', 'web.1: node x\n', 1, /process type "web\.1" may only have letters, digits/],
  ['an empty name', ': node x\n', 1, /process type "" may only have/],
  ['a duplicate', 'web: a\n# x\nweb: b\n', 3, /web is declared twice/],
  ['an empty command', 'web: a\nworker:   \n', 2, /worker has an empty command/],
] as const) {
  test(`a Procfile with ${name} is refused, naming the line`, (t) => {
    const e = t.throws(() => parseProcfile(text)) as Error & { code: string; details: { line: number } };
    t.is(e.code, 'E_BUILD_PROCFILE_INVALID');
    t.regex(e.message, new RegExp(`^Procfile line ${line}: `));
    t.regex(e.message, what);
    t.is(e.details.line, line);
  });
}
