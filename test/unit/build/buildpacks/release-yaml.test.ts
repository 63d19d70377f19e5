import test from 'ava';
import { parseRelease } from '../../../../server/build/buildpacks/release-yaml.js';

test('bin/release output as buildpacks print it: types and config vars', (t) => {
  const ruby = [
    '---',
    'addons:',
    '  - heroku-postgresql',
    'config_vars:',
    '  LANG: en_US.UTF-8',
    "  RAILS_ENV: 'production'",
    '  PATH: "/app/bin:/usr/local/bin:/usr/bin:/bin"',
    'default_process_types:',
    '  rake: bundle exec rake',
    '  web: bin/rails server -p ${PORT:-5000} -e $RAILS_ENV # the default',
    '  "console": bin/rails console',
    '',
  ].join('\n');
  t.deepEqual(parseRelease(ruby, 'ruby'), {
    configVars: { LANG: 'en_US.UTF-8', RAILS_ENV: 'production', PATH: '/app/bin:/usr/local/bin:/usr/bin:/bin' },
    defaultProcessTypes: { rake: 'bundle exec rake', web: 'bin/rails server -p ${PORT:-5000} -e $RAILS_ENV', console: 'bin/rails console' },
  });
  t.deepEqual(parseRelease('--- \n', 'x'), { configVars: {}, defaultProcessTypes: {} });
  t.deepEqual(parseRelease('---\naddons: []\ndefault_process_types: {}\n', 'x'), { configVars: {}, defaultProcessTypes: {} });
  t.deepEqual(parseRelease("default_process_types:\n    web: 'it''s'\n", 'x').defaultProcessTypes, { web: "it's" });
  // Every scalar is a string (the failsafe schema); block scalars and anchors are YAML like any other.
  t.deepEqual(parseRelease('config_vars:\n  PORT: 5000\n  ON: yes\n  E: &e x\n  F: *e\n', 'x').configVars, { PORT: '5000', ON: 'yes', E: 'x', F: 'x' });
  t.deepEqual(parseRelease('default_process_types:\n  web: |\n    node server.js\n', 'x').defaultProcessTypes, { web: 'node server.js\n' });
});

for (const [name, text, what] of [
  ['a tab indent', 'config_vars:\n\tA: b\n', /line 2: Tabs are not allowed/],
  ['a nested map', 'config_vars:\n  A:\n    B: c\n', /config_vars\.A: /],
  ['a bad type name', 'default_process_types:\n  web.1: x\n', /default process type name "web\.1" must be/],
  ['a bad var name', 'config_vars:\n  1A: x\n', /config var name "1A" must be an environment variable name/],
  ['a duplicate key', 'config_vars:\n  A: b\n  A: c\n', /line 3: Map keys must be unique/],
  ['a scalar for a map', 'default_process_types: web\n', /default_process_types: /],
  ['a list for the document', '- web\n', /the document: /],
  ['an unterminated string', 'config_vars:\n  A: "b\n', /line 3: Missing closing "quote/],
] as const) {
  test(`bin/release output with ${name} is refused, naming the buildpack`, (t) => {
    const e = t.throws(() => parseRelease(text, 'fixture')) as Error & { code: string; details: Record<string, unknown> };
    t.is(e.code, 'E_BUILD_BUILDPACK_RELEASE_INVALID');
    t.regex(e.message, /^buildpack fixture, release: bin\/release printed invalid YAML/);
    t.regex(e.message, what);
    t.is(e.details.phase, 'release');
  });
}
